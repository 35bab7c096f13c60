"""Small helpers shared by the tests: reading the sandbox directly and reading tool results."""

from __future__ import annotations

from typing import Any

import httpx
from mcp_types import CallToolResult

from signtraker_mcp.sandbox import RunningSandbox

# A fixed confirmation key, so tests can mint tokens the server accepts or rejects on purpose.
CONFIRMATION_KEY = "test-confirmation-key-0123456789abcdef"


def sandbox_get(sandbox: RunningSandbox, path: str, params: dict[str, str] | None = None) -> Any:
    """GET a sandbox endpoint directly, bypassing the MCP server."""
    response = httpx.get(
        sandbox.base_url + path,
        params=params,
        headers={"Authorization": f"ST-API {sandbox.api_key}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def all_orders(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """Return every order in the sandbox, read directly."""
    orders: list[dict[str, Any]] = sandbox_get(sandbox, "/api/orders", {"$orderby": "Id"})
    return orders


def order_with_status(sandbox: RunningSandbox, status: str) -> dict[str, Any]:
    """Return the first sandbox order with the given status."""
    return next(order for order in all_orders(sandbox) if order["Status"] == status)


def posts(sandbox: RunningSandbox) -> list[Any]:
    """Return the POST requests that reached the sandbox."""
    return [request for request in sandbox.app.state.request_log if request.method == "POST"]


def text_of(result: CallToolResult) -> str:
    """Join the text blocks of a tool result."""
    return "\n".join(block.text for block in result.content if block.type == "text")
