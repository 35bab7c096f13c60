"""The read tools and the argument rules, through the SDK's in-memory client against the sandbox over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from signtraker_mcp.sandbox import RunningSandbox

from .helpers import all_orders

pytestmark = pytest.mark.anyio


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def test_client_negotiates_each_protocol_era(client: Client, era: str) -> None:
    expected = "2025-11-25" if era == "legacy" else "2026-07-28"
    assert client.protocol_version == expected


async def test_list_tools_names_and_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert sorted(tools) == [
        "create_order",
        "find_agents",
        "get_order",
        "list_order_presets",
        "list_orders",
        "request_removal",
    ]
    for name in ("list_orders", "get_order", "find_agents", "list_order_presets"):
        assert tools[name].annotations is not None
        assert tools[name].annotations.read_only_hint is True
    assert tools["request_removal"].annotations is not None
    assert tools["request_removal"].annotations.destructive_hint is True
    assert tools["create_order"].annotations is not None
    assert tools["create_order"].annotations.read_only_hint is False
    for tool in tools.values():
        assert tool.annotations is not None
        assert tool.annotations.open_world_hint is True
        assert tool.title
        assert tool.description
        assert tool.output_schema is not None


async def test_list_orders_default_page(client: Client) -> None:
    result = await client.call_tool("list_orders", {})
    assert result.is_error is False
    page = result.structured_content
    assert page is not None
    assert page["count"] == 25
    assert len(page["orders"]) == 25
    assert page["has_more"] is True
    assert page["next_skip"] == 25
    assert page["query"]["$top"] == "25"
    assert page["query"]["$orderby"] == "Id"


async def test_list_orders_full_view_keeps_api_records(client: Client) -> None:
    result = await client.call_tool("list_orders", {"top": 1, "view": "full"})
    order = result.structured_content["orders"][0]  # type: ignore[index]
    assert {"Id", "OrderNumber", "Status", "JobSite", "Agent", "SalesOrder", "PostType"} <= set(order)
    assert "City" in order["JobSite"]


async def test_list_orders_summary_view_uses_filter_paths(client: Client) -> None:
    result = await client.call_tool("list_orders", {"top": 5})
    for order in result.structured_content["orders"]:  # type: ignore[index]
        assert {"Id", "OrderNumber", "Status", "JobSite/City", "Agent/Name"} <= set(order)
        assert None not in order.values()
        assert "SalesOrder" not in order


async def test_list_orders_filters_with_odata(client: Client) -> None:
    result = await client.call_tool(
        "list_orders",
        {"filter": "Status eq 'Installed' and JobSite/City eq 'Austin'", "top": 100},
    )
    orders = result.structured_content["orders"]  # type: ignore[index]
    assert orders
    for order in orders:
        assert order["Status"] == "Installed"
        assert order["JobSite/City"] == "Austin"


async def test_list_orders_pages_return_each_order_once(client: Client, sandbox: RunningSandbox) -> None:
    seen: list[int] = []
    skip = 0
    while True:
        result = await client.call_tool("list_orders", {"top": 100, "skip": skip, "orderby": "Created desc"})
        page = result.structured_content
        assert page is not None
        seen.extend(order["Id"] for order in page["orders"])
        if not page["has_more"]:
            break
        skip = page["next_skip"]
    total = len(all_orders(sandbox))
    assert len(seen) == total
    assert len(set(seen)) == total


async def test_list_orders_select_limits_fields(client: Client) -> None:
    result = await client.call_tool("list_orders", {"top": 3, "select": "Id,Status"})
    for order in result.structured_content["orders"]:  # type: ignore[index]
        assert set(order) == {"Id", "Status"}


async def test_list_orders_text_content_is_compact(client: Client) -> None:
    result = await client.call_tool("list_orders", {"top": 2})
    text = _text(result)
    assert text.startswith("2 orders")
    assert "\n  " not in text


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"top": 500}, "top must be between 1 and 100", id="top-too-large"),
        pytest.param({"top": 0}, "top must be between 1 and 100", id="top-zero"),
        pytest.param({"skip": -1}, "skip must be 0 or more", id="negative-skip"),
        pytest.param({"top": "ten"}, "top must be a whole number", id="top-text"),
    ],
)
async def test_list_orders_rejects_bad_paging(client: Client, arguments: dict[str, Any], expected: str) -> None:
    result = await client.call_tool("list_orders", arguments)
    assert result.is_error is True
    assert expected in _text(result)


async def test_list_orders_blank_arguments_mean_not_given(client: Client) -> None:
    result = await client.call_tool("list_orders", {"filter": "", "orderby": None, "top": None, "select": " "})
    assert result.is_error is False
    assert result.structured_content["count"] == 25  # type: ignore[index]
    assert "$filter" not in result.structured_content["query"]  # type: ignore[index]


async def test_list_orders_api_400_returns_api_message(client: Client) -> None:
    result = await client.call_tool("list_orders", {"filter": "Colour eq 'Red'"})
    assert result.is_error is True
    text = _text(result)
    assert "rejected GET /api/orders" in text
    assert "The query specified in the URI is not valid" in text
    assert "Traceback" not in text


async def test_get_order_returns_full_record(client: Client, sandbox: RunningSandbox) -> None:
    order_id = all_orders(sandbox)[0]["Id"]
    result = await client.call_tool("get_order", {"order_id": order_id})
    assert result.is_error is False
    order = result.structured_content["order"]  # type: ignore[index]
    assert order["Id"] == order_id
    assert "RemovalDueDate" in order


async def test_get_order_accepts_digit_string(client: Client, sandbox: RunningSandbox) -> None:
    order_id = all_orders(sandbox)[0]["Id"]
    result = await client.call_tool("get_order", {"order_id": str(order_id)})
    assert result.is_error is False
    assert result.structured_content["order"]["Id"] == order_id  # type: ignore[index]


async def test_get_order_unknown_id_names_it(client: Client) -> None:
    result = await client.call_tool("get_order", {"order_id": 987654321})
    assert result.is_error is True
    assert "Order 987654321 was not found" in _text(result)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="boolean"),
        pytest.param(1.5, id="fraction"),
        pytest.param(-3, id="negative"),
        pytest.param(0, id="zero"),
        pytest.param("12a", id="text"),
        pytest.param("", id="empty"),
    ],
)
async def test_get_order_rejects_bad_id(client: Client, value: object, sandbox: RunningSandbox) -> None:
    before = len(sandbox.app.state.request_log)
    result = await client.call_tool("get_order", {"order_id": value})
    assert result.is_error is True
    assert "order_id" in _text(result)
    assert len(sandbox.app.state.request_log) == before


async def test_unknown_argument_is_named_with_suggestion(client: Client) -> None:
    result = await client.call_tool("get_order", {"orderId": 5})
    assert result.is_error is True
    text = _text(result)
    assert "'orderId'" in text
    assert "Did you mean 'order_id'?" in text


async def test_unknown_tool_is_an_error_result(client: Client) -> None:
    result = await client.call_tool("delete_everything", {})
    assert result.is_error is True


async def test_get_order_by_order_number_points_to_id(client: Client, sandbox: RunningSandbox) -> None:
    order = all_orders(sandbox)[3]
    result = await client.call_tool("get_order", {"order_id": order["OrderNumber"]})
    assert result.is_error is True
    assert f"{order['OrderNumber']} is the OrderNumber of the order whose Id is {order['Id']}" in _text(result)


async def test_list_orders_single_result_reads_naturally(client: Client, sandbox: RunningSandbox) -> None:
    order = all_orders(sandbox)[0]
    result = await client.call_tool("list_orders", {"filter": f"Id eq {order['Id']}"})
    assert _text(result).startswith("1 order.")
