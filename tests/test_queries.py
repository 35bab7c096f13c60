"""Typed filters, query checks, views and paging of list_orders, and the lookup tools, against the sandbox.

Each expected result is computed in Python from every order read directly from
the sandbox, so a filter that compiles to the wrong OData fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from mcp import Client
from pydantic import SecretStr

from signtraker_mcp.config import Settings
from signtraker_mcp.sandbox import RunningSandbox
from signtraker_mcp.server import build_server

from .conftest import RESILIENCE_API_KEY
from .helpers import all_orders, sandbox_get, text_of
from .upstream import Upstream

pytestmark = pytest.mark.anyio

Order = dict[str, Any]


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _in_day_range(field: str, start: str, end: str) -> Callable[[Order], bool]:
    first = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
    after = datetime.fromisoformat(end).replace(tzinfo=timezone.utc).replace(hour=23, minute=59, second=59)

    def check(order: Order) -> bool:
        moment = _moment(order[field])
        return moment is not None and first <= moment <= after

    return check


async def _ids(client: Client, arguments: dict[str, Any]) -> list[int]:
    ids: list[int] = []
    arguments = {**arguments, "top": 100}
    while True:
        result = await client.call_tool("list_orders", arguments)
        assert result.is_error is False, text_of(result)
        page = result.structured_content
        assert page is not None
        ids.extend(order["Id"] for order in page["orders"])
        if not page["has_more"]:
            return ids
        arguments = page["next_arguments"]


def _dana(sandbox: RunningSandbox) -> Order:
    agents: list[Order] = sandbox_get(sandbox, "/api/agents", {"$filter": "FirstName eq 'Dana'"})
    return agents[0]


TYPED_FILTERS = [
    pytest.param({"status": "Installed"}, lambda o: o["Status"] == "Installed", id="status"),
    pytest.param({"status": "installed"}, lambda o: o["Status"] == "Installed", id="status-any-case"),
    pytest.param(
        {"status": ["Removed", "RemovalRequested"]},
        lambda o: o["Status"] in ("Removed", "RemovalRequested"),
        id="statuses",
    ),
    pytest.param({"agent_name": "whitfield"}, lambda o: o["Agent"]["Name"] == "Dana Whitfield", id="agent-name"),
    pytest.param({"city": "AUSTIN"}, lambda o: o["JobSite"]["City"] == "Austin", id="city-any-case"),
    pytest.param({"city": "montréal"}, lambda o: o["JobSite"]["City"] == "Montréal", id="city-accented"),
    pytest.param({"state": "qld"}, lambda o: o["JobSite"]["State"] == "QLD", id="state"),
    pytest.param(
        {"address": "john's"}, lambda o: "john's" in (o["JobSite"]["StreetAddress"] or "").lower(), id="apostrophe"
    ),
    pytest.param(
        {"created_from": "2026-06-01", "created_to": "2026-08-31"},
        _in_day_range("Created", "2026-06-01", "2026-08-31"),
        id="created-range",
    ),
    pytest.param(
        {"due_from": "2026-11-01", "due_to": "2026-12-31"},
        _in_day_range("DueDate", "2026-11-01", "2026-12-31"),
        id="due-range",
    ),
    pytest.param(
        {"installed_from": "2026-09-01", "installed_to": "2026-10-15"},
        _in_day_range("DateInstalled", "2026-09-01", "2026-10-15"),
        id="installed-range",
    ),
    pytest.param(
        {"removal_due_from": "2026-11-01"},
        lambda o: (
            (_moment(o["RemovalDueDate"]) or datetime.min.replace(tzinfo=timezone.utc))
            >= datetime(2026, 11, 1, tzinfo=timezone.utc)
        ),
        id="removal-due-from",
    ),
    pytest.param(
        {"created_from": "2026-06-01T00:00:00-05:00"},
        lambda o: (
            (_moment(o["Created"]) or datetime.min.replace(tzinfo=timezone.utc))
            >= datetime(2026, 6, 1, 5, tzinfo=timezone.utc)
        ),
        id="date-time-offset",
    ),
    pytest.param(
        {"status": "Installed", "city": "Austin", "agent_name": "Dana"},
        lambda o: (
            o["Status"] == "Installed" and o["JobSite"]["City"] == "Austin" and o["Agent"]["Name"].startswith("Dana")
        ),
        id="combined",
    ),
    pytest.param(
        {"status": "Installed", "filter": "OrderNumber gt 100100"},
        lambda o: o["Status"] == "Installed" and o["OrderNumber"] > 100100,
        id="typed-and-raw",
    ),
]


@pytest.mark.parametrize(("arguments", "expected"), TYPED_FILTERS)
async def test_list_orders_typed_filter(
    client: Client, sandbox: RunningSandbox, arguments: dict[str, Any], expected: Callable[[Order], bool]
) -> None:
    wanted = sorted(order["Id"] for order in all_orders(sandbox) if expected(order))
    assert wanted, "the seed data should contain matching orders"
    assert sorted(await _ids(client, arguments)) == wanted


async def test_list_orders_agent_id_filter(client: Client, sandbox: RunningSandbox) -> None:
    dana = _dana(sandbox)
    wanted = sorted(order["Id"] for order in all_orders(sandbox) if order["Agent"]["Id"] == dana["Id"])
    assert sorted(await _ids(client, {"agent_id": dana["Id"]})) == wanted


async def test_list_orders_zip_and_listing_filters(client: Client, sandbox: RunningSandbox) -> None:
    sample = next(order for order in all_orders(sandbox) if order["JobSite"]["ListingNumber"])
    by_zip = sorted(o["Id"] for o in all_orders(sandbox) if o["JobSite"]["Zip"] == sample["JobSite"]["Zip"])
    assert sorted(await _ids(client, {"zip": sample["JobSite"]["Zip"]})) == by_zip
    assert await _ids(client, {"listing_number": sample["JobSite"]["ListingNumber"]}) == [sample["Id"]]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Coeur d'Alene", id="apostrophe"),
        pytest.param("Smith & Sons", id="ampersand"),
        pytest.param("Unit #4", id="hash"),
        pytest.param("100% + 1", id="percent-plus"),
        pytest.param("Trois-Rivières ✓", id="non-ascii"),
    ],
)
async def test_list_orders_values_reach_api_intact(client: Client, sandbox: RunningSandbox, value: str) -> None:
    result = await client.call_tool("list_orders", {"city": value})
    assert result.is_error is False, text_of(result)
    sent = [entry for entry in sandbox.app.state.request_log if entry.path == "/api/orders"][-1]
    literal = "'" + value.lower().replace("'", "''") + "'"
    assert sent.query["$filter"] == f"tolower(JobSite/City) eq {literal}"
    assert result.structured_content["query"]["$filter"] == sent.query["$filter"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"filter": "Status eq 'Installed"}, "position 11", id="open-quote"),
        pytest.param({"filter": "(Status eq 'Installed'"}, "Parentheses do not match", id="parenthesis"),
        pytest.param({"filter": 'City eq "Austin"'}, "single quotes", id="double-quotes"),
        pytest.param({"filter": "Status == 'Installed'"}, "eq, ne, gt", id="operator"),
        pytest.param({"filter": "lower(Status) eq 'x'"}, "unknown function 'lower'", id="function"),
        pytest.param({"orderby": "Created downward"}, "use asc or desc", id="orderby-direction"),
        pytest.param({"select": "Id,JobSite/City"}, "top-level fields", id="select-path"),
        pytest.param({"created_from": "2026-06-01T08:00:00"}, "has no UTC offset", id="naive-date-time"),
        pytest.param({"created_from": "2026-07-01", "created_to": "2026-06-01"}, "starts after it ends", id="inverted"),
    ],
)
async def test_list_orders_bad_query_fails_before_request(
    client: Client, sandbox: RunningSandbox, arguments: dict[str, Any], expected: str
) -> None:
    before = len(sandbox.app.state.request_log)
    result = await client.call_tool("list_orders", arguments)
    assert result.is_error is True
    assert expected in text_of(result)
    assert len(sandbox.app.state.request_log) == before


@pytest.mark.parametrize(
    ("arguments", "suggestion"),
    [
        pytest.param({"filter": "JobSite/Cty eq 'Austin'"}, "Did you mean 'JobSite/City'?", id="filter"),
        pytest.param({"orderby": "DateInstaled desc"}, "Did you mean 'DateInstalled'?", id="orderby"),
        pytest.param({"filter": "Status eq Installed"}, "put it in single quotes", id="unquoted-text"),
    ],
)
async def test_list_orders_rejected_unknown_field_suggests(
    client: Client, arguments: dict[str, Any], suggestion: str
) -> None:
    result = await client.call_tool("list_orders", arguments)
    assert result.is_error is True
    assert "rejected GET /api/orders" in text_of(result)
    assert suggestion in text_of(result)


async def test_list_orders_default_paging_returns_each_order_once(client: Client, sandbox: RunningSandbox) -> None:
    ids: list[int] = []
    arguments: dict[str, Any] = {}
    while True:
        result = await client.call_tool("list_orders", arguments)
        page = result.structured_content
        assert page is not None
        ids.extend(order["Id"] for order in page["orders"])
        if not page["has_more"]:
            break
        arguments = page["next_arguments"]
    expected = sorted(order["Id"] for order in all_orders(sandbox))
    assert sorted(ids) == expected
    assert len(ids) == len(set(ids))


async def test_list_orders_echoes_compiled_query(client: Client) -> None:
    result = await client.call_tool("list_orders", {"status": "Installed", "orderby": "Created desc", "top": 2})
    query = result.structured_content["query"]  # type: ignore[index]
    assert query["$filter"] == "tolower(Status) eq 'installed'"
    assert query["$orderby"] == "Created desc,Id"


async def test_find_agents_by_name_returns_id(client: Client, sandbox: RunningSandbox) -> None:
    result = await client.call_tool("find_agents", {"name": "dana whit"})
    assert result.is_error is False, text_of(result)
    agents = result.structured_content["agents"]  # type: ignore[index]
    assert [agent["Id"] for agent in agents] == [_dana(sandbox)["Id"]]
    assert agents[0]["Office/Name"]


async def test_find_agents_by_email(client: Client, sandbox: RunningSandbox) -> None:
    dana = _dana(sandbox)
    result = await client.call_tool("find_agents", {"email": dana["Email"].upper()})
    assert [agent["Id"] for agent in result.structured_content["agents"]] == [dana["Id"]]  # type: ignore[index]


async def test_find_agents_by_office_with_apostrophe_free_words(client: Client, sandbox: RunningSandbox) -> None:
    office = _dana(sandbox)["Office"]["Name"]
    result = await client.call_tool("find_agents", {"office": office.split()[0]})
    agents = result.structured_content["agents"]  # type: ignore[index]
    assert agents
    assert all(office.split()[0].lower() in agent["Office/Name"].lower() for agent in agents)


async def test_find_agents_active_first(client: Client, sandbox: RunningSandbox) -> None:
    everyone: list[Order] = sandbox_get(sandbox, "/api/agents")
    inactive = {agent["Id"] for agent in everyone if agent["IsInactive"]}
    assert inactive
    result = await client.call_tool("find_agents", {"top": 100})
    agents = result.structured_content["agents"]  # type: ignore[index]
    flags = [agent["IsInactive"] for agent in agents]
    assert flags == sorted(flags)
    assert {agent["Id"] for agent in agents if agent["IsInactive"]} == inactive
    assert len(agents) == len(everyone)


async def test_find_agents_name_with_apostrophe(client: Client) -> None:
    result = await client.call_tool("find_agents", {"name": "O'Brien"})
    assert [agent["LastName"] for agent in result.structured_content["agents"]] == ["O'Brien"]  # type: ignore[index]


async def test_list_order_presets_lists_all(client: Client, sandbox: RunningSandbox) -> None:
    result = await client.call_tool("list_order_presets", {})
    assert result.is_error is False, text_of(result)
    presets = result.structured_content["presets"]  # type: ignore[index]
    assert presets == sandbox_get(sandbox, "/api/orderpresets")
    assert result.structured_content["count"] == len(presets)  # type: ignore[index]


async def test_list_orders_unknown_field_warns_on_success(upstream: Upstream) -> None:
    """The stand-in accepts any filter, like an API with fields its documentation omits."""
    settings = Settings(api_key=SecretStr(RESILIENCE_API_KEY), base_url=upstream.base_url)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("list_orders", {"filter": "Colour eq 'Red'", "top": 2})
    assert result.is_error is False, text_of(result)
    warnings = result.structured_content["warnings"]  # type: ignore[index]
    assert len(warnings) == 1
    assert "'Colour', which is not a documented order field" in warnings[0]
