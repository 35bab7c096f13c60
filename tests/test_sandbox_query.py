"""OData query options of the sandbox's list endpoints, over HTTP against seeded data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

UTC = dt.timezone.utc
QUERY_ERROR_PREFIX = "The query specified in the URI is not valid. "
Order = dict[str, Any]


def _utc(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ids(records: list[Order]) -> list[int]:
    return [record["Id"] for record in records]


@pytest.fixture(scope="module")
def all_orders(sandbox_shared_client: httpx.Client) -> list[Order]:
    response = sandbox_shared_client.get("/api/orders")
    response.raise_for_status()
    orders: list[Order] = response.json()
    return orders


def _list(client: httpx.Client, path: str = "/api/orders", **params: str) -> list[Order]:
    response = client.get(path, params={f"${name}": value for name, value in params.items()})
    assert response.status_code == 200, response.text
    records: list[Order] = response.json()
    return records


def test_list_orders_returns_bare_array(all_orders: list[Order]) -> None:
    assert isinstance(all_orders, list)
    assert len(all_orders) >= 240


def test_list_orders_default_order_is_ascending_id(all_orders: list[Order]) -> None:
    assert _ids(all_orders) == sorted(_ids(all_orders))


def test_list_orders_records_have_every_key(all_orders: list[Order]) -> None:
    keys = {
        "Id", "OrderNumber", "Status", "Notes", "Created", "DueDate", "IsDueDateDefinitive", "DateInstalled",
        "RemovalRequestDate", "RemovalDueDate", "IsRemovalDueDateDefinitive", "RemovalDate", "RebillInterval",
        "NextRebillDate", "SalesOrder", "JobSite", "PostType", "Agent",
    }  # fmt: skip
    for order in all_orders:
        assert set(order) == keys


FILTER_CASES = [
    pytest.param("Status eq 'Installed'", lambda o: o["Status"] == "Installed", id="eq-string"),
    pytest.param("Status ne 'Removed'", lambda o: o["Status"] != "Removed", id="ne-string"),
    pytest.param("Status eq 'installed'", lambda o: False, id="eq-case-sensitive"),
    pytest.param("OrderNumber gt 100200", lambda o: o["OrderNumber"] > 100200, id="gt-int"),
    pytest.param("OrderNumber le 100010", lambda o: o["OrderNumber"] <= 100010, id="le-int"),
    pytest.param("RebillInterval ge 120", lambda o: o["RebillInterval"] >= 120, id="ge-int"),
    pytest.param("OrderNumber lt 100005 or OrderNumber gt 100260", lambda o: not 100005 <= o["OrderNumber"] <= 100260,
                 id="or"),
    pytest.param("Status eq 'Installed' and JobSite/City eq 'Austin'",
                 lambda o: o["Status"] == "Installed" and o["JobSite"]["City"] == "Austin", id="and-navigation"),
    pytest.param("not (Status eq 'Removed')", lambda o: o["Status"] != "Removed", id="not-parenthesized"),
    pytest.param("(Status eq 'Draft' or Status eq 'Scheduled') and OrderNumber gt 100100",
                 lambda o: o["Status"] in {"Draft", "Scheduled"} and o["OrderNumber"] > 100100, id="parentheses"),
    pytest.param("Status in ('Draft', 'Designing')", lambda o: o["Status"] in {"Draft", "Designing"}, id="in"),
    pytest.param("Status in ('Cancelled')", lambda o: o["Status"] == "Cancelled", id="in-single-item"),
    pytest.param("RemovalDate eq null", lambda o: o["RemovalDate"] is None, id="eq-null"),
    pytest.param("RemovalDate ne null", lambda o: o["RemovalDate"] is not None, id="ne-null"),
    pytest.param("SalesOrder eq null", lambda o: o["SalesOrder"] is None, id="complex-eq-null"),
    pytest.param("IsDueDateDefinitive eq true", lambda o: o["IsDueDateDefinitive"] is True, id="eq-bool"),
    pytest.param("Agent/Id eq 1001", lambda o: o["Agent"]["Id"] == 1001, id="navigation-int"),
    pytest.param("Agent/Name eq 'Dana Whitfield'", lambda o: o["Agent"]["Name"] == "Dana Whitfield",
                 id="navigation-string"),
    pytest.param("Agent/Name eq 'Siobhan O''Brien'", lambda o: o["Agent"]["Name"] == "Siobhan O'Brien",
                 id="doubled-quote"),
    pytest.param("JobSite/StreetName eq 'St. John''s Rd'", lambda o: o["JobSite"]["StreetName"] == "St. John's Rd",
                 id="doubled-quote-street"),
    pytest.param("JobSite/City eq 'Montréal'", lambda o: o["JobSite"]["City"] == "Montréal", id="non-ascii-eq"),
    pytest.param("startswith(Agent/Name, 'Chloé')", lambda o: o["Agent"]["Name"].startswith("Chloé"),
                 id="non-ascii-startswith"),
    pytest.param("JobSite/StreetLine2 eq 'Unit #4'", lambda o: o["JobSite"]["StreetLine2"] == "Unit #4",
                 id="hash-in-literal"),
    pytest.param("contains(Notes, 'gate')", lambda o: "gate" in (o["Notes"] or ""), id="contains"),
    pytest.param("not contains(Notes, 'gate')", lambda o: o["Notes"] is not None and "gate" not in o["Notes"],
                 id="not-contains-null-propagates"),
    pytest.param("endswith(JobSite/ListingNumber, '7')", lambda o: (o["JobSite"]["ListingNumber"] or "").endswith("7"),
                 id="endswith"),
    pytest.param("tolower(JobSite/City) eq 'austin'", lambda o: o["JobSite"]["City"] == "Austin", id="tolower"),
    pytest.param("toupper(JobSite/State) eq 'QLD'", lambda o: o["JobSite"]["State"] == "QLD", id="toupper"),
    pytest.param("contains(tolower(Agent/Name), 'dana')", lambda o: "dana" in o["Agent"]["Name"].lower(),
                 id="nested-functions"),
    pytest.param("JobSite/CountryCode eq 'AU'", lambda o: o["JobSite"]["CountryCode"] == "AU", id="country"),
    pytest.param("SalesOrder/OrderTotal gt 100", lambda o: (o["SalesOrder"] or {}).get("OrderTotal", 0) > 100,
                 id="decimal-vs-int"),
    pytest.param("Created ge 2026-11-01", lambda o: _utc(o["Created"]) >= dt.datetime(2026, 11, 1, tzinfo=UTC),
                 id="date-literal"),
    pytest.param("Created lt 2026-06-01T00:00:00Z",
                 lambda o: _utc(o["Created"]) < dt.datetime(2026, 6, 1, tzinfo=UTC), id="datetime-utc"),
    pytest.param("RemovalDate gt 2026-06-01T00:00:00-05:00",
                 lambda o: o["RemovalDate"] is not None
                 and _utc(o["RemovalDate"]) > dt.datetime(2026, 6, 1, 5, tzinfo=UTC),
                 id="datetime-offset-null-excluded"),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "predicate"), FILTER_CASES)
def test_filter_matches_python_reference(
    sandbox_shared_client: httpx.Client,
    all_orders: list[Order],
    expression: str,
    predicate: Callable[[Order], bool],
) -> None:
    expected = [order["Id"] for order in all_orders if predicate(order)]
    assert _ids(_list(sandbox_shared_client, filter=expression)) == expected


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("Status eq 'Installed'", id="eq"),
        pytest.param("JobSite/City eq 'Montréal'", id="non-ascii"),
        pytest.param("Agent/Name eq 'Siobhan O''Brien'", id="doubled-quote"),
        pytest.param("JobSite/StreetLine2 eq 'Unit #4'", id="hash"),
        pytest.param("Status in ('Removed')", id="in"),
        pytest.param("contains(tolower(Agent/Name), 'dana')", id="function"),
    ],
)
def test_filter_cases_are_not_vacuous(
    sandbox_shared_client: httpx.Client, all_orders: list[Order], expression: str
) -> None:
    matched = _list(sandbox_shared_client, filter=expression)
    assert 0 < len(matched) < len(all_orders)


def test_filter_datetime_offset_equals_same_instant(
    sandbox_shared_client: httpx.Client, all_orders: list[Order]
) -> None:
    due = next(_utc(order["DueDate"]) for order in all_orders if order["DueDate"] is not None)
    assert due is not None
    eastern = due.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat()
    expected = [order["Id"] for order in all_orders if _utc(order["DueDate"]) == due]
    assert _ids(_list(sandbox_shared_client, filter=f"DueDate eq {eastern}")) == expected


def test_filter_non_ascii_round_trips(sandbox_shared_client: httpx.Client) -> None:
    orders = _list(sandbox_shared_client, filter="Agent/Name eq 'Chloé Tremblay'")
    assert orders
    assert {order["Agent"]["Name"] for order in orders} == {"Chloé Tremblay"}


def test_orderby_multiple_keys(sandbox_shared_client: httpx.Client, all_orders: list[Order]) -> None:
    ordered = _list(sandbox_shared_client, orderby="JobSite/City desc, OrderNumber asc")
    expected = sorted(all_orders, key=lambda o: o["OrderNumber"])
    expected.sort(key=lambda o: o["JobSite"]["City"], reverse=True)
    assert _ids(ordered) == _ids(expected)


def test_orderby_nulls_first_ascending(sandbox_shared_client: httpx.Client, all_orders: list[Order]) -> None:
    ordered = _list(sandbox_shared_client, orderby="RemovalDate")
    nulls = sum(1 for order in all_orders if order["RemovalDate"] is None)
    assert nulls > 0
    assert all(order["RemovalDate"] is None for order in ordered[:nulls])
    dates = [order["RemovalDate"] for order in ordered[nulls:]]
    assert dates == sorted(dates)


def test_orderby_nulls_last_descending(sandbox_shared_client: httpx.Client) -> None:
    ordered = _list(sandbox_shared_client, orderby="RemovalDate desc")
    assert ordered[0]["RemovalDate"] is not None
    assert ordered[-1]["RemovalDate"] is None


def test_top_and_skip_page(sandbox_shared_client: httpx.Client, all_orders: list[Order]) -> None:
    page = _list(sandbox_shared_client, orderby="OrderNumber desc", top="5", skip="3")
    expected = sorted(all_orders, key=lambda o: o["OrderNumber"], reverse=True)[3:8]
    assert _ids(page) == _ids(expected)


@pytest.mark.parametrize(
    ("params", "count"),
    [
        pytest.param({"top": "0"}, 0, id="top-zero"),
        pytest.param({"top": "1"}, 1, id="top-one"),
        pytest.param({"skip": "100000"}, 0, id="skip-past-end"),
    ],
)
def test_top_skip_counts(sandbox_shared_client: httpx.Client, params: dict[str, str], count: int) -> None:
    assert len(_list(sandbox_shared_client, **params)) == count


def test_top_applies_after_filter(sandbox_shared_client: httpx.Client) -> None:
    orders = _list(sandbox_shared_client, filter="Status eq 'Removed'", top="3")
    assert len(orders) == 3
    assert {order["Status"] for order in orders} == {"Removed"}


def test_select_returns_only_named_keys(sandbox_shared_client: httpx.Client) -> None:
    orders = _list(sandbox_shared_client, select="Id, Status,JobSite", top="4")
    assert len(orders) == 4
    for order in orders:
        assert set(order) == {"Id", "Status", "JobSite"}


def test_select_with_filter_on_unselected_field(sandbox_shared_client: httpx.Client) -> None:
    orders = _list(sandbox_shared_client, select="Id", filter="JobSite/City eq 'Perth'")
    assert orders
    assert all(set(order) == {"Id"} for order in orders)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"$filter": "("}, id="unbalanced-parenthesis"),
        pytest.param({"$filter": "Status eq"}, id="missing-operand"),
        pytest.param({"$filter": "Status eq 'Installed"}, id="unterminated-string"),
        pytest.param({"$filter": "frobnicate(Status)"}, id="unknown-function"),
        pytest.param({"$filter": "Colour eq 'red'"}, id="unknown-property"),
        pytest.param({"$filter": "JobSite/Colour eq 'red'"}, id="unknown-navigation-property"),
        pytest.param({"$filter": "Status eq 5"}, id="type-mismatch"),
        pytest.param({"$filter": "Created gt 2026-02-30"}, id="bad-date-literal"),
        pytest.param({"$filter": "Status"}, id="not-boolean"),
        pytest.param({"$filter": ""}, id="empty-filter"),
        pytest.param({"$top": "-1"}, id="negative-top"),
        pytest.param({"$top": "abc"}, id="non-integer-top"),
        pytest.param({"$skip": "1.5"}, id="non-integer-skip"),
        pytest.param({"$orderby": "Colour"}, id="unknown-orderby-field"),
        pytest.param({"$orderby": "Status sideways"}, id="bad-direction"),
        pytest.param({"$orderby": "JobSite"}, id="orderby-complex"),
        pytest.param({"$select": "Id,Colour"}, id="unknown-select-field"),
        pytest.param({"$count": "true"}, id="unsupported-option"),
    ],
)
def test_malformed_query_returns_400(sandbox_shared_client: httpx.Client, params: dict[str, str]) -> None:
    response = sandbox_shared_client.get("/api/orders", params=params)
    assert response.status_code == 400
    assert response.json()["Message"].startswith(QUERY_ERROR_PREFIX)


def test_malformed_query_message_names_property(sandbox_shared_client: httpx.Client) -> None:
    response = sandbox_shared_client.get("/api/orders", params={"$filter": "Colour eq 'red'"})
    assert "'Colour'" in response.json()["Message"]


def test_agents_list_records(sandbox_shared_client: httpx.Client) -> None:
    agents = _list(sandbox_shared_client, "/api/agents")
    assert len(agents) == 30
    assert set(agents[0]) == {"Id", "FirstName", "LastName", "Email", "Phone", "Office", "IsInactive"}
    assert set(agents[0]["Office"]) == {"Id", "Name"}


def test_agents_email_lookup_is_case_insensitive(sandbox_shared_client: httpx.Client) -> None:
    agents = _list(sandbox_shared_client, "/api/agents")
    dana = next(agent for agent in agents if agent["FirstName"] == "Dana")
    response = sandbox_shared_client.get("/api/agents", params={"email": dana["Email"].upper()})
    assert response.status_code == 200
    assert response.json() == [dana]


def test_agents_email_lookup_unknown_is_empty(sandbox_shared_client: httpx.Client) -> None:
    response = sandbox_shared_client.get("/api/agents", params={"email": "nobody@nowhere.example"})
    assert response.json() == []


def test_agents_filter_inactive(sandbox_shared_client: httpx.Client) -> None:
    inactive = _list(sandbox_shared_client, "/api/agents", filter="IsInactive eq true", orderby="LastName")
    assert [agent["LastName"] for agent in inactive] == ["Hamilton", "Holloway", "Menon"]


def test_agents_filter_office_navigation(sandbox_shared_client: httpx.Client) -> None:
    agents = _list(sandbox_shared_client, "/api/agents", filter="Office/Name eq 'Rive-Nord Immobilier'")
    assert {agent["FirstName"] for agent in agents} == {"Chloé", "Étienne", "Mathieu"}


def test_presets_list(sandbox_shared_client: httpx.Client) -> None:
    presets = _list(sandbox_shared_client, "/api/orderpresets")
    assert len(presets) == 5
    assert all(set(preset) == {"Id", "Name"} for preset in presets)


def test_presets_filter_and_select(sandbox_shared_client: httpx.Client) -> None:
    presets = _list(sandbox_shared_client, "/api/orderpresets", filter="startswith(Name, 'Standard')", select="Name")
    assert presets == [{"Name": "Standard Post - Single Sign"}, {"Name": "Standard Post + Rider"}]


def test_presets_unknown_property_returns_400(sandbox_shared_client: httpx.Client) -> None:
    response = sandbox_shared_client.get("/api/orderpresets", params={"$filter": "Price gt 1"})
    assert response.status_code == 400
    assert response.json()["Message"].startswith(QUERY_ERROR_PREFIX)
