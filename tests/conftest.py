"""Shared fixtures: a sandbox API on loopback, settings that point at it, and MCP clients."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp import Client
from pydantic import SecretStr

from signtraker_mcp.config import Settings
from signtraker_mcp.sandbox import RunningSandbox, start_sandbox
from signtraker_mcp.server import build_server

from .helpers import CONFIRMATION_KEY
from .upstream import Upstream


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A sandbox API with fresh seed data, served over HTTP on a free loopback port."""
    with start_sandbox(tmp_path / "sandbox.sqlite3") as running:
        yield running


@pytest.fixture
def settings(sandbox: RunningSandbox) -> Settings:
    return Settings(
        api_key=SecretStr(sandbox.api_key),
        base_url=sandbox.base_url,
        timeout_seconds=10,
        confirmation_key=SecretStr(CONFIRMATION_KEY),
        sandbox=True,
    )


@pytest.fixture(params=[pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
def era(request: pytest.FixtureRequest) -> str:
    """The client's connection mode: the initialize handshake, or the stateless 2026-07-28 protocol."""
    mode: str = request.param
    return mode


@pytest.fixture
async def client(settings: Settings, era: str) -> AsyncIterator[Client]:
    async with Client(build_server(settings), mode=era) as connected:  # type: ignore[arg-type]
        yield connected


@pytest.fixture
def unused_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def sandbox_client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """An HTTP client for the function-scoped sandbox, sending its API key."""
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": sandbox.authorization_header}, timeout=10
    ) as http_client:
        yield http_client


@pytest.fixture(scope="module")
def sandbox_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox shared by a module's tests, which must only read from it."""
    with start_sandbox(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3") as running:
        yield running


@pytest.fixture(scope="module")
def sandbox_shared_client(sandbox_shared: RunningSandbox) -> Iterator[httpx.Client]:
    """An HTTP client for the module's shared sandbox, sending its API key."""
    with httpx.Client(
        base_url=sandbox_shared.base_url, headers={"Authorization": sandbox_shared.authorization_header}, timeout=10
    ) as http_client:
        yield http_client


# Servers over streamable HTTP, run as real processes, and a real Redis for their shared ledger.

HTTP_STARTUP_SECONDS = 30.0


def free_loopback_port() -> int:
    """Return a loopback port that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class HttpServerProcess:
    """A `signtraker-mcp --transport http` process on a loopback port, with its stderr in a file."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/mcp"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_http_server(directory: Path, environment: dict[str, str], *args: str) -> HttpServerProcess:
    """Start `python -m signtraker_mcp --transport http` and wait until /health answers.

    The child sees none of the caller's SIGNTRAKER_* variables, only `environment`.
    """
    port = free_loopback_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")}
    env.update(environment)
    log_path = directory / f"server-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "signtraker_mcp", "--transport", "http", "--port", str(port), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = HttpServerProcess(port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + HTTP_STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The HTTP server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"The HTTP server did not answer /health within {HTTP_STARTUP_SECONDS:g} s:\n{server.log()}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (Debian's package) on a free loopback port, without persistence."""
    executable = shutil.which("redis-server")
    assert executable is not None, "redis-server is not installed; run: apt-get install -y redis-server"
    directory = tmp_path_factory.mktemp("redis")
    port = free_loopback_port()
    command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(directory), "--daemonize", "no", "--logfile", str(directory / "redis.log")]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


# A misbehaving stand-in of the SignTraker API, for the resilience tests.

RESILIENCE_API_KEY = "SECRET-st-4f2c9a71e3b8-do-not-print"
"""A key that is easy to search for in every output."""


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """The scriptable API stand-in on a free loopback port, expecting `RESILIENCE_API_KEY`."""
    running = Upstream(RESILIENCE_API_KEY).start()
    try:
        yield running
    finally:
        running.stop()
