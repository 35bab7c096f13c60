"""Two server processes behind one API, sharing a confirmation key and a real Redis, as replicas behind a balancer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ElicitResult, InputRequiredResult

from signtraker_mcp.sandbox import RunningSandbox, start_sandbox

from .conftest import HttpServerProcess, start_http_server
from .helpers import CONFIRMATION_KEY, all_orders, text_of

pytestmark = pytest.mark.anyio

BEARER_TOKEN = "replica-test-bearer-token-0123456789abcdef"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox API for both replicas; each test writes to an order of its own."""
    with start_sandbox(tmp_path_factory.mktemp("api") / "sandbox.sqlite3") as running:
        yield running


def _replicas(directory: Path, api: RunningSandbox, redis_url: str, **extra: str) -> list[HttpServerProcess]:
    environment = {
        "SIGNTRAKER_BASE_URL": api.base_url,
        "SIGNTRAKER_API_KEY": api.api_key,
        "SIGNTRAKER_CONFIRMATION_KEY": CONFIRMATION_KEY,
        "SIGNTRAKER_REDIS_URL": redis_url,
        **extra,
    }
    servers: list[HttpServerProcess] = []
    try:
        for _ in range(2):
            servers.append(start_http_server(directory, environment))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@pytest.fixture(scope="module", params=[pytest.param(False, id="open"), pytest.param(True, id="bearer")])
def replicas(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, api: RunningSandbox, redis_url: str
) -> Iterator[tuple[list[HttpServerProcess], str | None]]:
    """Two replicas, without authentication or requiring a bearer token, and the token clients send."""
    token = BEARER_TOKEN if request.param else None
    extra = {"SIGNTRAKER_HTTP_BEARER_TOKENS": BEARER_TOKEN} if token else {}
    servers = _replicas(tmp_path_factory.mktemp("replicas"), api, redis_url, **extra)
    try:
        yield servers, token
    finally:
        for server in servers:
            server.stop()


@asynccontextmanager
async def connect(
    server: HttpServerProcess, mode: str, token: str | None, *, can_ask: bool = False
) -> AsyncIterator[Client]:
    """Connect an MCP client over HTTP, sending the bearer token when one is given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def approve(_context: Any, _params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"approve": True})

    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(server.url, http_client=http)
        async with Client(
            transport,  # type: ignore[arg-type]
            mode=mode,  # type: ignore[arg-type]
            elicitation_callback=approve if can_ask else None,
        ) as client:
            yield client


_order_cursor = iter(range(1000))


def _next_installed_order(api: RunningSandbox) -> int:
    """Return a different installed order on each call, so tests on the shared API do not collide."""
    installed = [order["Id"] for order in all_orders(api) if order["Status"] == "Installed"]
    order_id: int = installed[next(_order_cursor)]
    return order_id


def _posts_to(api: RunningSandbox, order_id: int) -> list[Any]:
    path = f"/api/orders/{order_id}/requestremoval"
    return [item for item in api.app.state.request_log if item.method == "POST" and item.path == path]


def _structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, text_of(result)
    return result.structured_content


@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
async def test_http_replicas_commit_once_across_processes(
    replicas: tuple[list[HttpServerProcess], str | None], api: RunningSandbox, mode: str
) -> None:
    (first, second), token = replicas
    order_id = _next_installed_order(api)
    arguments: dict[str, Any] = {"order_id": order_id, "notes": "Listing sold"}

    async with connect(first, mode, token) as client:
        preview = _structured(await client.call_tool("request_removal", arguments))
    assert preview["status"] == "preview"
    confirmed = {**arguments, "confirm": True, "confirmation_token": preview["confirmation_token"]}

    async with connect(second, mode, token) as client:
        committed = await client.call_tool("request_removal", confirmed)
    assert committed.is_error is False, text_of(committed)
    assert _structured(committed)["status"] == "submitted"

    for server in (first, second):
        async with connect(server, mode, token) as client:
            replayed = await client.call_tool("request_removal", confirmed)
        assert replayed.is_error is False, text_of(replayed)
        assert _structured(replayed)["status"] == "already_submitted"

    assert len(_posts_to(api, order_id)) == 1


async def test_http_replicas_concurrent_commits_send_once(
    replicas: tuple[list[HttpServerProcess], str | None], api: RunningSandbox
) -> None:
    (first, second), token = replicas
    order_id = _next_installed_order(api)
    arguments: dict[str, Any] = {"order_id": order_id}
    async with connect(first, "auto", token) as client:
        preview = _structured(await client.call_tool("request_removal", arguments))
    confirmed = {**arguments, "confirm": True, "confirmation_token": preview["confirmation_token"]}
    results: list[CallToolResult] = []

    async def commit(server: HttpServerProcess) -> None:
        async with connect(server, "auto", token) as client:
            results.append(await client.call_tool("request_removal", confirmed))

    async with anyio.create_task_group() as group:
        for server in (first, second, first, second):
            group.start_soon(commit, server)

    assert len(results) == 4
    submitted = [result for result in results if not result.is_error and _structured(result)["status"] == "submitted"]
    assert len(submitted) == 1
    assert len(_posts_to(api, order_id)) == 1


async def test_http_replicas_approval_answered_on_other_replica(
    replicas: tuple[list[HttpServerProcess], str | None], api: RunningSandbox
) -> None:
    """The approval question comes from one replica and its answer, with the sealed state, goes to the other."""
    (first, second), token = replicas
    order_id = _next_installed_order(api)
    arguments: dict[str, Any] = {"order_id": order_id}
    async with connect(first, "auto", token, can_ask=True) as client:
        preview = _structured(await client.call_tool("request_removal", arguments))
        confirmed = {**arguments, "confirm": True, "confirmation_token": preview["confirmation_token"]}
        question = await client.session.call_tool("request_removal", confirmed, allow_input_required=True)
    assert isinstance(question, InputRequiredResult)
    assert question.request_state
    assert question.input_requests is not None
    answers = {key: ElicitResult(action="accept", content={"approve": True}) for key in question.input_requests}

    async with connect(second, "auto", token, can_ask=True) as client:
        answered = await client.session.call_tool(
            "request_removal", confirmed, input_responses=answers, request_state=question.request_state
        )
    assert answered.is_error is False, text_of(answered)
    assert _structured(answered)["status"] == "submitted"
    assert len(_posts_to(api, order_id)) == 1


async def test_http_replicas_reject_missing_bearer_token(
    replicas: tuple[list[HttpServerProcess], str | None],
) -> None:
    (first, _), token = replicas
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(first.url, json=body, headers=headers)
    if token is None:
        assert response.status_code == 200
        return
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{first.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge


async def test_http_replicas_reject_wrong_bearer_token(
    replicas: tuple[list[HttpServerProcess], str | None],
) -> None:
    (first, _), token = replicas
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
        "Authorization": "Bearer " + "x" * 40,
    }
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(first.url, json=body, headers=headers)
    assert response.status_code == (401 if token else 200)


async def test_http_replicas_serve_protected_resource_metadata(
    replicas: tuple[list[HttpServerProcess], str | None],
) -> None:
    (first, _), token = replicas
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{first.base_url}/.well-known/oauth-protected-resource/mcp")
    if token is None:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["resource"] == first.url
    assert metadata["bearer_methods_supported"] == ["header"]


async def test_http_replicas_never_log_secrets(
    replicas: tuple[list[HttpServerProcess], str | None], api: RunningSandbox
) -> None:
    servers, _ = replicas
    for server in servers:
        log = server.log()
        assert BEARER_TOKEN not in log
        assert CONFIRMATION_KEY not in log
        assert api.api_key not in log
        assert "Traceback" not in log
