"""One deployment serving users who each bring their own SignTraker API key in a request header."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from signtraker_mcp.sandbox import RunningSandbox, start_sandbox

from .conftest import HttpServerProcess, start_http_server
from .helpers import CONFIRMATION_KEY, all_orders, text_of

pytestmark = pytest.mark.anyio

ALICE_KEY = "alice-signtraker-key-0001"
BOB_KEY = "bob-signtraker-key-0002"
SERVER_KEY = "operator-signtraker-key-0003"
USERS = {ALICE_KEY: "alice", BOB_KEY: "bob", SERVER_KEY: "operator"}


class UserGateway:
    """A SignTraker API with three users' keys, in front of the sandbox, recording who sent each request.

    The sandbox accepts exactly one key, and telling users apart needs several: this
    gateway maps each user's key to the sandbox key and forwards the request over real HTTP.
    """

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self._sandbox = sandbox
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port: int = self._socket.getsockname()[1]
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _forward(self, request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        user = USERS.get(key.strip()) if scheme == "ST-API" else None
        self.calls.append((user or "unknown", request.method, request.url.path))
        if user is None:
            return JSONResponse({"Message": "Authorization has been denied for this request."}, status_code=401)
        async with httpx.AsyncClient(base_url=self._sandbox.base_url, timeout=10) as upstream:
            answer = await upstream.request(
                request.method,
                request.url.path,
                params=request.query_params,
                content=await request.body(),
                headers={"Authorization": self._sandbox.authorization_header, "Content-Type": "application/json"},
            )
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()

    def users_for(self, path_fragment: str) -> set[str]:
        return {user for user, _, path in self.calls if path_fragment in path}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with start_sandbox(tmp_path_factory.mktemp("api") / "sandbox.sqlite3") as running:
        yield running


@pytest.fixture(scope="module")
def installed(api: RunningSandbox) -> Iterator[int]:
    """Ids of installed orders, a different one for each use, so tests do not share an order."""
    return iter([order["Id"] for order in all_orders(api) if order["Status"] == "Installed"])


@pytest.fixture(scope="module")
def gateway(api: RunningSandbox) -> Iterator[UserGateway]:
    running = UserGateway(api)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, gateway: UserGateway) -> Iterator[HttpServerProcess]:
    """A server that lets requests bring their own key, and acts with the operator's key otherwise."""
    running = start_http_server(
        tmp_path_factory.mktemp("multi-user"),
        {
            "SIGNTRAKER_BASE_URL": gateway.base_url,
            "SIGNTRAKER_API_KEY": SERVER_KEY,
            "SIGNTRAKER_ALLOW_CLIENT_API_KEY": "true",
            "SIGNTRAKER_CONFIRMATION_KEY": CONFIRMATION_KEY,
            "SIGNTRAKER_LOG_LEVEL": "DEBUG",
        },
    )
    yield running
    running.stop()


@asynccontextmanager
async def connect(server: HttpServerProcess, key: str | None, mode: str = "auto") -> AsyncIterator[Client]:
    headers = {"X-SignTraker-Api-Key": key} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(server.url, http_client=http)
        async with Client(transport, mode=mode) as client:  # type: ignore[arg-type]
            yield client


@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
async def test_client_key_reaches_api(
    server: HttpServerProcess, gateway: UserGateway, installed: Iterator[int], mode: str
) -> None:
    order_id = next(installed)
    async with connect(server, ALICE_KEY, mode) as client:
        result = await client.call_tool("get_order", {"order_id": order_id})
    assert result.is_error is False, text_of(result)
    assert gateway.users_for(f"/api/orders/{order_id}") == {"alice"}


async def test_client_key_absent_uses_server_key(
    server: HttpServerProcess, gateway: UserGateway, installed: Iterator[int]
) -> None:
    order_id = next(installed)
    async with connect(server, None) as client:
        result = await client.call_tool("get_order", {"order_id": order_id})
    assert result.is_error is False, text_of(result)
    assert gateway.users_for(f"/api/orders/{order_id}") == {"operator"}


async def test_client_key_unknown_gets_api_error(
    server: HttpServerProcess, gateway: UserGateway, installed: Iterator[int]
) -> None:
    order_id = next(installed)
    async with connect(server, "nobody-knows-this-key") as client:
        result = await client.call_tool("get_order", {"order_id": order_id})
    assert result.is_error is True
    assert gateway.users_for(f"/api/orders/{order_id}") == {"unknown"}
    assert "nobody-knows-this-key" not in text_of(result)


async def test_client_keys_never_mixed_under_concurrency(
    server: HttpServerProcess, gateway: UserGateway, installed: Iterator[int]
) -> None:
    order_ids = [next(installed) for _ in range(12)]

    async def read(order_id: int, key: str) -> None:
        async with connect(server, key) as client:
            await client.call_tool("get_order", {"order_id": order_id})

    async with anyio.create_task_group() as group:
        for position, order_id in enumerate(order_ids):
            group.start_soon(read, order_id, ALICE_KEY if position % 2 == 0 else BOB_KEY)

    for position, order_id in enumerate(order_ids):
        expected = "alice" if position % 2 == 0 else "bob"
        assert gateway.users_for(f"/api/orders/{order_id}") == {expected}, order_id


async def test_client_key_token_refused_for_other_user(
    server: HttpServerProcess, gateway: UserGateway, installed: Iterator[int]
) -> None:
    order_id = next(installed)
    arguments: dict[str, Any] = {"order_id": order_id, "notes": "Alice's listing sold"}
    async with connect(server, ALICE_KEY) as client:
        preview = await client.call_tool("request_removal", arguments)
    assert preview.structured_content is not None, text_of(preview)
    confirmed = {**arguments, "confirm": True, "confirmation_token": preview.structured_content["confirmation_token"]}

    for other in (BOB_KEY, None):
        async with connect(server, other) as client:
            stolen = await client.call_tool("request_removal", confirmed)
        assert stolen.is_error is True
        assert "not issued by this server" in text_of(stolen)

    posts = [call for call in gateway.calls if call[1] == "POST" and f"/api/orders/{order_id}/" in call[2]]
    assert posts == []


async def test_client_key_token_accepted_for_same_user(
    server: HttpServerProcess, gateway: UserGateway, installed: Iterator[int]
) -> None:
    order_id = next(installed)
    arguments: dict[str, Any] = {"order_id": order_id}
    async with connect(server, BOB_KEY) as client:
        preview = await client.call_tool("request_removal", arguments)
    assert preview.structured_content is not None, text_of(preview)
    confirmed = {**arguments, "confirm": True, "confirmation_token": preview.structured_content["confirmation_token"]}
    async with connect(server, BOB_KEY) as client:
        committed = await client.call_tool("request_removal", confirmed)
    assert committed.is_error is False, text_of(committed)
    posts = [call for call in gateway.calls if call[1] == "POST" and f"/api/orders/{order_id}/" in call[2]]
    assert posts == [("bob", "POST", f"/api/orders/{order_id}/requestremoval")]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("two words", id="space"),
        pytest.param("", id="empty"),
        pytest.param("key\u00e9", id="non-ascii"),
    ],
)
def test_client_key_malformed_rejected(server: HttpServerProcess, value: str) -> None:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
        "X-SignTraker-Api-Key": value.encode(),  # type: ignore[dict-item]
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    response = httpx.post(server.url, json=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert "X-SignTraker-Api-Key" in response.text


def test_client_key_never_logged(server: HttpServerProcess, gateway: UserGateway, tmp_path: Path) -> None:
    """Runs after the other tests of this module, which sent both users' keys at DEBUG log level."""
    assert any(user in {"alice", "bob"} for user, _, _ in gateway.calls)
    log = server.log()
    for key in (ALICE_KEY, BOB_KEY, SERVER_KEY):
        assert key not in log
    assert "Traceback" not in log
