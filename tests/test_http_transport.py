"""The HTTP transport as a load balancer, a proxy and an operator see it: health, Host and Origin checks, limits."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client

from signtraker_mcp.sandbox import RunningSandbox

from .conftest import HttpServerProcess, free_loopback_port, start_http_server

PUBLIC_HOST = "mcp.brokerage.test"
ALLOWED_ORIGIN = "https://assistant.brokerage.test"
MAX_BODY_BYTES = 4096
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sandbox_shared: RunningSandbox) -> Iterator[HttpServerProcess]:
    """One server on loopback that also accepts the public host name and one browser origin."""
    running = start_http_server(
        tmp_path_factory.mktemp("http"),
        {
            "SIGNTRAKER_BASE_URL": sandbox_shared.base_url,
            "SIGNTRAKER_API_KEY": sandbox_shared.api_key,
            "SIGNTRAKER_HTTP_ALLOWED_HOSTS": PUBLIC_HOST,
            "SIGNTRAKER_HTTP_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
            "SIGNTRAKER_HTTP_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        },
    )
    yield running
    running.stop()


def _ping(server: HttpServerProcess, **headers: str) -> httpx.Response:
    return httpx.post(server.url, json=PING, headers={**MCP_HEADERS, **headers}, timeout=10)


def test_http_health_answers_ok(server: HttpServerProcess) -> None:
    response = httpx.get(f"{server.base_url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_http_health_needs_no_host_name(server: HttpServerProcess) -> None:
    """Load balancers probe by address, so the health check accepts any Host."""
    response = httpx.get(f"{server.base_url}/health", headers={"Host": "10.0.0.7:8000"}, timeout=10)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, 200, id="loopback-host"),
        pytest.param({"Host": PUBLIC_HOST}, 200, id="listed-host"),
        pytest.param({"Host": f"{PUBLIC_HOST}:443"}, 200, id="listed-host-with-port"),
        pytest.param({"Host": "attacker.test"}, 421, id="unknown-host"),
        pytest.param({"Host": f"{PUBLIC_HOST}.attacker.test"}, 421, id="suffixed-host"),
        pytest.param({"Origin": ALLOWED_ORIGIN}, 200, id="listed-origin"),
        pytest.param({"Origin": "https://attacker.test"}, 403, id="foreign-origin"),
        pytest.param({"Origin": "http://localhost:3000"}, 200, id="loopback-origin"),
        pytest.param({"Host": PUBLIC_HOST, "Origin": "https://attacker.test"}, 403, id="listed-host-foreign-origin"),
    ],
)
def test_http_host_and_origin_checks(server: HttpServerProcess, headers: dict[str, str], expected: int) -> None:
    assert _ping(server, **headers).status_code == expected


def test_http_body_over_limit_rejected(server: HttpServerProcess) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"padding": "x" * MAX_BODY_BYTES}}}
    response = httpx.post(server.url, json=body, headers=MCP_HEADERS, timeout=10)
    assert response.status_code == 413


def test_http_body_under_limit_accepted(server: HttpServerProcess) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"padding": "x" * 1000}}}
    response = httpx.post(server.url, json=body, headers=MCP_HEADERS, timeout=10)
    assert response.status_code == 200


def test_http_api_key_header_rejected_when_not_allowed(server: HttpServerProcess) -> None:
    response = _ping(server, **{"X-SignTraker-Api-Key": "someone-elses-key"})
    assert response.status_code == 400
    assert "SIGNTRAKER_ALLOW_CLIENT_API_KEY is off" in response.text
    assert "someone-elses-key" not in response.text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
async def test_http_tools_listed_over_http(server: HttpServerProcess, mode: str) -> None:
    async with Client(server.url, mode=mode) as client:  # type: ignore[arg-type]
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"list_orders", "get_order", "create_order", "request_removal"} <= names


def test_http_requests_carry_no_session(server: HttpServerProcess) -> None:
    """Handshake-era clients get no session, so any replica can take their next request."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    response = httpx.post(server.url, json=initialize, headers=headers, timeout=10)
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers


def _run_cli(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")}
    environment.update({"SIGNTRAKER_BASE_URL": "http://127.0.0.1:9", "SIGNTRAKER_API_KEY": "unused-key", **variables})
    return subprocess.run(
        [sys.executable, "-m", "signtraker_mcp", "--transport", "http", *args],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


def test_http_non_loopback_without_tokens_refused(tmp_path: Path) -> None:
    completed = _run_cli(tmp_path, "--host", "0.0.0.0", "--port", str(free_loopback_port()))
    assert completed.returncode == 2
    assert "SIGNTRAKER_HTTP_BEARER_TOKENS is not set" in completed.stderr
    assert "0.0.0.0" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_http_non_loopback_without_host_names_refused(tmp_path: Path) -> None:
    completed = _run_cli(
        tmp_path,
        "--host",
        "0.0.0.0",
        "--port",
        str(free_loopback_port()),
        SIGNTRAKER_HTTP_BEARER_TOKENS="t" * 40,
    )
    assert completed.returncode == 2
    assert "SIGNTRAKER_HTTP_ALLOWED_HOSTS" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_http_short_bearer_token_refused(tmp_path: Path) -> None:
    completed = _run_cli(tmp_path, "--port", str(free_loopback_port()), SIGNTRAKER_HTTP_BEARER_TOKENS="short")
    assert completed.returncode == 2
    assert "shorter than 32 characters" in completed.stderr
    assert "short" not in completed.stderr.replace("shorter", "")


def test_http_busy_port_refused(tmp_path: Path, server: HttpServerProcess) -> None:
    completed = _run_cli(tmp_path, "--port", str(server.port))
    assert completed.returncode == 2
    assert f"127.0.0.1:{server.port}" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_http_unreachable_redis_refused(tmp_path: Path) -> None:
    completed = _run_cli(
        tmp_path,
        "--port",
        str(free_loopback_port()),
        SIGNTRAKER_REDIS_URL=f"redis://:secret-password@127.0.0.1:{free_loopback_port()}/0",
    )
    assert completed.returncode == 2
    assert "Redis at redis://:***@127.0.0.1" in completed.stderr
    assert "secret-password" not in completed.stderr
    assert "Traceback" not in completed.stderr
