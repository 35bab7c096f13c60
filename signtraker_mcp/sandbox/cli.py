"""The ``signtraker-sandbox`` command: serve the sandbox API until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from types import FrameType

from .paths import default_database_path
from .runner import start_sandbox

__all__ = ["main"]

logger = logging.getLogger(__name__)

DATABASE_ENVIRONMENT_VARIABLE = "SIGNTRAKER_SANDBOX_DB"
API_KEY_ENVIRONMENT_VARIABLE = "SIGNTRAKER_SANDBOX_API_KEY"
USAGE_ERROR = 2


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected an integer from 0 to 65535") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {value}: expected an integer from 0 to 65535")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signtraker-sandbox",
        description="Serve a local stand-in of the SignTraker REST API backed by a SQLite file.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=_port, default=8765, help="TCP port to listen on, 0 for a free port (default: %(default)s)"
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help=f"SQLite database file, created and seeded when missing (default: ${DATABASE_ENVIRONMENT_VARIABLE}, "
        f"else {default_database_path()})",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"API key that clients must send (default: ${API_KEY_ENVIRONMENT_VARIABLE}, else a random key)",
    )
    return parser


def _check_database_path(path: Path) -> str | None:
    """Return why the database file cannot be created or written, or None when it can."""
    if path.is_dir():
        return f"the database path {path} is a directory"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot create the database directory {path.parent}: {error.strerror or error}"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"the database {path} is not writable"
    return None


def _fail(message: str, status: int = USAGE_ERROR) -> int:
    print(f"signtraker-sandbox: error: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox server until Ctrl-C or SIGTERM and return the exit status."""
    parser = _build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or an invalid option that argparse reported
        return exit_request.code if isinstance(exit_request.code, int) else USAGE_ERROR
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db_path: Path = arguments.db or Path(os.environ.get(DATABASE_ENVIRONMENT_VARIABLE) or default_database_path())
    problem = _check_database_path(db_path)
    if problem is not None:
        return _fail(problem)
    api_key = arguments.api_key or os.environ.get(API_KEY_ENVIRONMENT_VARIABLE) or None

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("Received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    # Ctrl-C and SIGTERM both stop the server cleanly, also while it is starting.
    previous_handlers = {number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _serve(arguments.host, arguments.port, db_path, api_key, stop_requested)
    finally:
        for number, handler in previous_handlers.items():
            signal.signal(number, handler)


def _serve(host: str, port: int, db_path: Path, api_key: str | None, stop_requested: threading.Event) -> int:
    try:
        sandbox = start_sandbox(db_path, api_key=api_key, host=host, port=port)
    except sqlite3.Error as error:
        return _fail(f"cannot open the database {db_path}: {error}")
    except OSError as error:
        return _fail(f"cannot listen on {host}:{port}: {error.strerror or error}", status=1)

    with sandbox:
        print(
            f"SignTraker sandbox API: {sandbox.base_url}/api\n"
            f"Database: {db_path}\n"
            f"API key: {sandbox.api_key}\n"
            f"Try: curl -H 'Authorization: {sandbox.authorization_header}' "
            f"'{sandbox.base_url}/api/orders?$top=2'\n"
            "Press Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )
        while sandbox.is_alive() and not stop_requested.wait(0.5):
            pass
        if not stop_requested.is_set():
            logger.error("The sandbox server stopped unexpectedly")
            return 1
    return 0
