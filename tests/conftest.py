"""Shared fixtures: a sandbox API on loopback, settings that point at it, and MCP clients."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from pydantic import SecretStr

from signtraker_mcp.config import Settings
from signtraker_mcp.sandbox import RunningSandbox, start_sandbox
from signtraker_mcp.server import build_server

from .helpers import CONFIRMATION_KEY


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
