"""The `signtraker-mcp` command: the MCP server over stdio, against a tenant or a local sandbox."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio

from . import __version__
from .api import preload_tls_context
from .config import TRANSPORTS, Settings, load_settings, read_bool
from .errors import ConfigurationError
from .redaction import redact_logs

__all__ = ["main"]

logger = logging.getLogger(__name__)

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signtraker-mcp",
        description=(
            "MCP server for SignTraker yard-sign orders. Desktop clients start it over stdio; "
            "settings come from SIGNTRAKER_* environment variables, and these options override them."
        ),
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="start a local sandbox API with sample data on a free loopback port and serve against it",
    )
    parser.add_argument(
        "--sandbox-db",
        metavar="PATH",
        help="SQLite file of the sandbox (default: SIGNTRAKER_SANDBOX_DB, else a file in the user's data folder)",
    )
    parser.add_argument("--base-url", metavar="URL", help="API address, e.g. https://acme.signtraker.com")
    parser.add_argument("--subdomain", metavar="NAME", help="tenant name, e.g. acme for acme.signtraker.com")
    parser.add_argument("--timeout", metavar="SECONDS", help="timeout of each API request, in seconds")
    parser.add_argument(
        "--read-only", action="store_true", help="offer only the read tools and refuse create and removal"
    )
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        help="stdio for desktop clients, or http for streamable HTTP at /mcp "
        "(default: SIGNTRAKER_TRANSPORT, else stdio)",
    )
    parser.add_argument(
        "--host",
        metavar="ADDRESS",
        help="address the HTTP transport listens on (default: SIGNTRAKER_HTTP_HOST, else 127.0.0.1)",
    )
    parser.add_argument(
        "--port", metavar="PORT", help="TCP port of the HTTP transport (default: SIGNTRAKER_HTTP_PORT, else 8000)"
    )
    parser.add_argument(
        "--log-level",
        choices=_LOG_LEVELS,
        type=str.upper,
        help="log level on stderr (default: SIGNTRAKER_LOG_LEVEL, else INFO)",
    )
    parser.add_argument("--version", action="version", version=f"signtraker-mcp {__version__}")
    return parser


def _configure_logging(level_name: str) -> None:
    """Send all logs to stderr, because stdout carries the MCP protocol."""
    # Under LANG=C or PYTHONIOENCODING=ascii, a log line with an accent would otherwise
    # fail to encode and print a logging error instead of the line.
    if hasattr(sys.stderr, "reconfigure"):
        sys.stderr.reconfigure(errors="backslashreplace")
    logging.basicConfig(
        stream=sys.stderr,
        level=level_name,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # httpx logs every request at INFO, with the full URL; this package already logs
    # one line per API call, so keep httpx for warnings unless debugging.
    if level_name != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)


def _log_level(option: str | None) -> str:
    level = (option or os.environ.get("SIGNTRAKER_LOG_LEVEL") or "INFO").strip().upper()
    if level not in _LOG_LEVELS:
        raise ConfigurationError(
            f"SIGNTRAKER_LOG_LEVEL={level!r} is not a log level; use one of {', '.join(_LOG_LEVELS)}."
        )
    return level


@contextlib.contextmanager
def _sandbox_overrides(db_option: str | None) -> Iterator[dict[str, str | None]]:
    """Start the sandbox API and yield the settings that point the server at it."""
    from .sandbox import default_database_path, start_sandbox

    path = Path(db_option or os.environ.get("SIGNTRAKER_SANDBOX_DB") or default_database_path())
    with start_sandbox(path) as sandbox:
        logger.info("Sandbox API at %s, database %s", sandbox.base_url, path)
        yield {
            "SIGNTRAKER_BASE_URL": sandbox.base_url,
            "SIGNTRAKER_API_KEY": sandbox.api_key,
            "SIGNTRAKER_SANDBOX": "true",
        }


def _print_terminal_note(settings: Settings) -> None:
    """Tell a person who started the server by hand what it is doing; clients never see this."""
    target = "a local sandbox with sample data" if settings.sandbox else f"the SignTraker tenant {settings.tenant}"
    mode = " in read-only mode" if settings.read_only else ""
    # Desktop clients start the command without the user's shell PATH, so the note shows the full path.
    command = json.dumps(str(Path(sys.argv[0]).resolve()))
    print(
        f"signtraker-mcp {__version__}: MCP server over stdio{mode}, against {target}.\n"
        "It expects an MCP client on stdin; add it to a client instead, for example in Claude Desktop's "
        f'claude_desktop_config.json: {{"mcpServers": {{"signtraker": {{"command": {command}, '
        '"args": ["--sandbox"]}}}. See the README. Press Ctrl-C to stop.',
        file=sys.stderr,
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the MCP server; return the process exit status."""
    args = _parser().parse_args(argv)
    # The CA bundle loads on another core while the MCP SDK is imported below, not after it.
    preload_tls_context()
    # Until the server installs its own handlers, SIGTERM stops start-up the way Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _configure_logging(_log_level(args.log_level))
        overrides: dict[str, str | None] = {
            "SIGNTRAKER_BASE_URL": args.base_url,
            "SIGNTRAKER_SUBDOMAIN": args.subdomain,
            "SIGNTRAKER_TIMEOUT_SECONDS": args.timeout,
            "SIGNTRAKER_READ_ONLY": "true" if args.read_only else None,
            "SIGNTRAKER_TRANSPORT": args.transport,
            "SIGNTRAKER_HTTP_HOST": args.host,
            "SIGNTRAKER_HTTP_PORT": args.port,
        }
        sandbox = args.sandbox or read_bool("SIGNTRAKER_SANDBOX", os.environ.get("SIGNTRAKER_SANDBOX", ""))
        with contextlib.ExitStack() as stack:
            if sandbox:
                overrides.update(stack.enter_context(_sandbox_overrides(args.sandbox_db)))
            settings = load_settings(overrides=overrides)
            redact_logs([settings.api_key.get_secret_value()])
            _serve(settings)
    except ConfigurationError as error:
        print(f"signtraker-mcp: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(settings: Settings) -> None:
    if settings.transport == "http":
        from .http import serve_http

        serve_http(settings)
        return
    from .server import build_server
    from .stdio import serve_stdio

    if sys.stdin.isatty():
        _print_terminal_note(settings)
    server = build_server(settings)
    logger.info(
        "Serving %d tools over stdio against %s%s",
        len(server._tool_manager.list_tools()),
        settings.base_url,
        " (read-only)" if settings.read_only else "",
    )
    anyio.run(serve_stdio, server)


if __name__ == "__main__":
    sys.exit(main())
