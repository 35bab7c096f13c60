"""Run the sandbox API with uvicorn in a daemon thread on a loopback port."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import AUTH_SCHEME, create_app
from .paths import default_database_path
from .store import SandboxStore

__all__ = ["RunningSandbox", "default_database_path", "start_sandbox"]

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0


class RunningSandbox:
    """A sandbox API server running in a background thread, stopped by ``stop()`` or a ``with`` block."""

    def __init__(self, store: SandboxStore, api_key: str, sock: socket.socket) -> None:
        self.store = store
        self.api_key = api_key
        self.app: Starlette = create_app(store, api_key)
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"signtraker-sandbox-{self.port}", daemon=True)
        self._error: BaseException | None = None
        self._stopped = False

    @property
    def base_url(self) -> str:
        """The server's root URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def authorization_header(self) -> str:
        """The ``Authorization`` header value that the server accepts."""
        return f"{AUTH_SCHEME} {self.api_key}"

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # a SystemExit from uvicorn must not vanish in the thread
            self._error = error
            logger.exception("The sandbox server on %s stopped with an error", self.base_url)

    def start(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Start serving and wait until the server accepts connections, raising RuntimeError on failure."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"The sandbox server on {self.base_url} failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The sandbox server on {self.base_url} did not start within {timeout:g} s.")
            time.sleep(0.01)
        logger.info("Sandbox API serving %s at %s", self.store.path, self.base_url)

    def is_alive(self) -> bool:
        """Return whether the server thread is still running."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop the server, wait for its thread and close the socket and the database."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(SHUTDOWN_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                logger.warning(
                    "The sandbox server on %s did not stop within %g s", self.base_url, SHUTDOWN_TIMEOUT_SECONDS
                )
        self._socket.close()
        self.store.close()
        logger.info("Sandbox API at %s stopped", self.base_url)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket, where port 0 lets the system pick a free port."""
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def start_sandbox(
    db_path: str | Path,
    *,
    api_key: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningSandbox:
    """Open (and seed when new) the database at ``db_path`` and serve the API on ``host:port``.

    The server is running when this returns; use the result in a ``with`` block or
    call ``stop()``. Without ``api_key`` a random key is generated. Uvicorn logs go to
    the root logger and nothing is written to stdout, so the server can run inside a
    process whose stdout carries a protocol.
    """
    store = SandboxStore(db_path)
    try:
        sock = _bind(host, port)
    except BaseException:
        store.close()
        raise
    sandbox = RunningSandbox(store, api_key or secrets.token_urlsafe(24), sock)
    sandbox.start()
    return sandbox
