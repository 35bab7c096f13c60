"""Sandbox order endpoints over HTTP: auth, read, create, removal requests and the request log.

Tests that change data use the function-scoped ``sandbox``; the others share one per module.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from signtraker_mcp.sandbox import RunningSandbox

UNAUTHORIZED = {"Message": "Authorization has been denied for this request."}
Order = dict[str, Any]


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _orders(client: httpx.Client, expression: str) -> list[Order]:
    response = client.get("/api/orders", params={"$filter": expression})
    response.raise_for_status()
    orders: list[Order] = response.json()
    return orders


def _first(client: httpx.Client, expression: str) -> Order:
    return _orders(client, expression)[0]


def _create(client: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"AgentId": 1001, "PresetId": 302} | fields
    return client.post("/api/orders", json=body)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "ST-API wrong-key"}, id="wrong-key"),
        pytest.param({"Authorization": "Bearer {key}"}, id="wrong-scheme"),
        pytest.param({"Authorization": "ST-API"}, id="empty-key"),
    ],
)
@pytest.mark.parametrize("path", ["/api/orders", "/api/orders/48211", "/api/agents", "/api/orderpresets"])
def test_auth_rejects_without_valid_key(sandbox_shared: RunningSandbox, headers: dict[str, str], path: str) -> None:
    filled = {name: value.format(key=sandbox_shared.api_key) for name, value in headers.items()}
    response = httpx.get(sandbox_shared.base_url + path, headers=filled, timeout=10)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_auth_rejects_post_without_key(sandbox: RunningSandbox) -> None:
    response = httpx.post(sandbox.base_url + "/api/orders", json={"AgentId": 1001, "PresetId": 301}, timeout=10)
    assert response.status_code == 401
    assert len(sandbox.app.state.request_log) == 1


def test_auth_rejected_post_creates_nothing(sandbox: RunningSandbox, sandbox_client: httpx.Client) -> None:
    before = len(sandbox_client.get("/api/orders").json())
    httpx.post(sandbox.base_url + "/api/orders", json={"AgentId": 1001, "PresetId": 301}, timeout=10)
    assert len(sandbox_client.get("/api/orders").json()) == before


def test_get_order_returns_record(sandbox_shared_client: httpx.Client) -> None:
    listed = sandbox_shared_client.get("/api/orders", params={"$top": "1"}).json()[0]
    response = sandbox_shared_client.get(f"/api/orders/{listed['Id']}")
    assert response.status_code == 200
    assert response.json() == listed


@pytest.mark.parametrize("order_id", ["1", "99999999", "9223372036854775808"])
def test_get_order_unknown_is_404_empty(sandbox_shared_client: httpx.Client, order_id: str) -> None:
    response = sandbox_shared_client.get(f"/api/orders/{order_id}")
    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize("path", ["/api/nothing", "/api/orders/abc", "/", "/api/orders/1/cancel"])
def test_unknown_path_is_404_empty(sandbox_shared_client: httpx.Client, path: str) -> None:
    response = sandbox_shared_client.get(path)
    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("DELETE", "/api/orders", id="delete-orders"),
        pytest.param("PUT", "/api/orders/48211", id="put-order"),
        pytest.param("GET", "/api/orders/48211/requestremoval", id="get-removal"),
        pytest.param("POST", "/api/agents", id="post-agents"),
    ],
)
def test_wrong_method_is_405(sandbox_shared_client: httpx.Client, method: str, path: str) -> None:
    response = sandbox_shared_client.request(method, path)
    assert response.status_code == 405


def test_create_order_success(sandbox_client: httpx.Client) -> None:
    response = _create(
        sandbox_client,
        StreetNumber="77",
        StreetName="Rue de l'Église",
        City="Montréal",
        State="QC",
        Zip="H2X 1Y4",
        Apartment="Unit #4",
        ListingNumber="MLS-2026-004512",
        Notes="Côté jardin.",
        DueDate="2026-12-10T09:30:00-05:00",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["Status"] == "Success"
    assert body["Message"]
    assert len(body["RequestId"]) == 36
    assert isinstance(body["OrderId"], int)


def test_create_order_is_readable(sandbox_client: httpx.Client) -> None:
    order_id = _create(
        sandbox_client, StreetNumber="77", StreetName="Rue de l'Église", City="Montréal", State="QC",
        Apartment="Unit #4", Notes="Côté jardin.", DueDate="2026-12-10T09:30:00-05:00",
    ).json()["OrderId"]  # fmt: skip
    order = sandbox_client.get(f"/api/orders/{order_id}").json()
    assert order["Status"] == "Scheduled"
    assert order["DueDate"] == "2026-12-10T14:30:00Z"
    assert order["IsDueDateDefinitive"] is True
    assert order["Notes"] == "Côté jardin."
    assert order["Agent"] == {"Id": 1001, "Name": "Dana Whitfield"}
    assert order["PostType"] == {"Id": 1, "Name": "Standard Post"}
    assert order["JobSite"]["StreetAddress"] == "77 Rue de l'Église"
    assert order["JobSite"]["StreetLine2"] == "Unit #4"
    assert order["JobSite"]["City"] == "Montréal"
    assert order["JobSite"]["CountryCode"] == "CA"


def test_create_order_gets_new_ids(sandbox_client: httpx.Client) -> None:
    before = sandbox_client.get("/api/orders").json()
    order_id = _create(sandbox_client).json()["OrderId"]
    order = sandbox_client.get(f"/api/orders/{order_id}").json()
    assert order_id > max(o["Id"] for o in before)
    assert order["OrderNumber"] > max(o["OrderNumber"] for o in before)


def test_create_order_default_due_date(sandbox_client: httpx.Client) -> None:
    order_id = _create(sandbox_client).json()["OrderId"]
    order = sandbox_client.get(f"/api/orders/{order_id}").json()
    due = _utc(order["DueDate"])
    assert order["IsDueDateDefinitive"] is False
    assert due > _utc(order["Created"])
    assert due.weekday() < 5
    assert (due.hour, due.minute) == (17, 0)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b"{not json", "JSON", id="not-json"),
        pytest.param(b"", "AgentId", id="empty-body"),
        pytest.param(b"[1, 2]", "JSON object", id="array-body"),
        pytest.param(b'{"PresetId": 301}', "AgentId", id="missing-agent"),
        pytest.param(b'{"AgentId": 1001}', "PresetId", id="missing-preset"),
        pytest.param(b'{"AgentId": "1001", "PresetId": 301}', "AgentId", id="string-agent"),
        pytest.param(b'{"AgentId": 1001.5, "PresetId": 301}', "AgentId", id="fractional-agent"),
        pytest.param(b'{"AgentId": true, "PresetId": 301}', "AgentId", id="boolean-agent"),
        pytest.param(b'{"AgentId": 1001, "PresetId": "x"}', "PresetId", id="string-preset"),
        pytest.param(b'{"AgentId": 424242, "PresetId": 301}', "424242", id="unknown-agent"),
        pytest.param(b'{"AgentId": 1008, "PresetId": 301}', "inactive", id="inactive-agent"),
        pytest.param(b'{"AgentId": 1001, "PresetId": 999}', "999", id="unknown-preset"),
        pytest.param(b'{"AgentId": 1001, "PresetId": 301, "DueDate": "next week"}', "next week", id="bad-due-date"),
        pytest.param(b'{"AgentId": 1001, "PresetId": 301, "DueDate": 20261210}', "DueDate", id="numeric-due-date"),
        pytest.param(b'{"AgentId": 1001, "PresetId": 301, "Zip": 78704}', "Zip", id="numeric-zip"),
    ],
)
def test_create_order_invalid_is_400(sandbox_shared_client: httpx.Client, content: bytes, field: str) -> None:
    response = sandbox_shared_client.post("/api/orders", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert field in response.json()["Message"]


def test_create_order_invalid_stores_nothing(sandbox_client: httpx.Client) -> None:
    before = sandbox_client.get("/api/orders").json()
    _create(sandbox_client, AgentId=1008)
    assert sandbox_client.get("/api/orders").json() == before


def test_removal_default_due_date(sandbox_client: httpx.Client) -> None:
    order = _first(sandbox_client, "Status eq 'Installed'")
    started = dt.datetime.now(dt.timezone.utc)
    response = sandbox_client.post(f"/api/orders/{order['Id']}/requestremoval", json={})
    assert response.status_code == 200
    due = _utc(response.json()["DueDate"])
    assert due > started
    assert due.weekday() < 5
    assert (due.hour, due.minute, due.second) == (17, 0, 0)
    assert (due.date() - started.date()).days <= 3


def test_removal_updates_order(sandbox_client: httpx.Client) -> None:
    order = _first(sandbox_client, "Status eq 'Installed' and Notes ne null")
    due = sandbox_client.post(f"/api/orders/{order['Id']}/requestremoval", json={"Notes": "Lockbox 2231."}).json()
    updated = sandbox_client.get(f"/api/orders/{order['Id']}").json()
    assert updated["Status"] == "RemovalRequested"
    assert updated["RemovalDueDate"] == due["DueDate"]
    assert updated["IsRemovalDueDateDefinitive"] is False
    assert updated["RemovalRequestDate"] is not None
    assert updated["Notes"] == f"{order['Notes']}\nLockbox 2231."


def test_removal_given_due_date(sandbox_client: httpx.Client) -> None:
    order = _first(sandbox_client, "Status eq 'Installed'")
    response = sandbox_client.post(
        f"/api/orders/{order['Id']}/requestremoval", json={"DueDate": "2026-12-18T10:00:00-07:00"}
    )
    assert response.json() == {"DueDate": "2026-12-18T17:00:00Z"}
    updated = sandbox_client.get(f"/api/orders/{order['Id']}").json()
    assert updated["IsRemovalDueDateDefinitive"] is True


def test_removal_without_body(sandbox_client: httpx.Client) -> None:
    order = _first(sandbox_client, "Status eq 'Installed'")
    response = sandbox_client.post(f"/api/orders/{order['Id']}/requestremoval")
    assert response.status_code == 200
    assert set(response.json()) == {"DueDate"}


def test_removal_twice_is_400_awaiting(sandbox_client: httpx.Client) -> None:
    order = _first(sandbox_client, "Status eq 'Installed'")
    sandbox_client.post(f"/api/orders/{order['Id']}/requestremoval", json={})
    response = sandbox_client.post(f"/api/orders/{order['Id']}/requestremoval", json={})
    assert response.status_code == 400
    assert "awaiting removal" in response.json()["Message"]


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        pytest.param("Removed", "already removed", id="removed"),
        pytest.param("RemovalRequested", "awaiting removal", id="awaiting"),
        pytest.param("Scheduled", "'Scheduled'", id="scheduled"),
        pytest.param("Draft", "'Draft'", id="draft"),
        pytest.param("Designing", "'Designing'", id="designing"),
        pytest.param("PaymentRequired", "'PaymentRequired'", id="payment-required"),
        pytest.param("Cancelled", "'Cancelled'", id="cancelled"),
    ],
)
def test_removal_refused_by_status(sandbox_shared_client: httpx.Client, status: str, phrase: str) -> None:
    order = _first(sandbox_shared_client, f"Status eq '{status}'")
    response = sandbox_shared_client.post(f"/api/orders/{order['Id']}/requestremoval", json={})
    assert response.status_code == 400
    assert phrase in response.json()["Message"]
    assert sandbox_shared_client.get(f"/api/orders/{order['Id']}").json() == order


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"DueDate": "soon"}, "DueDate", id="bad-due-date"),
        pytest.param({"Notes": 5}, "Notes", id="numeric-notes"),
    ],
)
def test_removal_invalid_body_is_400(sandbox_shared_client: httpx.Client, body: dict[str, Any], field: str) -> None:
    order = _first(sandbox_shared_client, "Status eq 'Installed'")
    response = sandbox_shared_client.post(f"/api/orders/{order['Id']}/requestremoval", json=body)
    assert response.status_code == 400
    assert field in response.json()["Message"]


def test_removal_unknown_order_is_404_empty(sandbox_shared_client: httpx.Client) -> None:
    response = sandbox_shared_client.post("/api/orders/1/requestremoval", json={})
    assert response.status_code == 404
    assert response.content == b""


def test_request_log_records_each_request(sandbox: RunningSandbox, sandbox_client: httpx.Client) -> None:
    sandbox_client.get("/api/orders", params={"$top": "2", "$filter": "JobSite/City eq 'Montréal'"})
    sandbox_client.post("/api/orders", json={"AgentId": 1001, "PresetId": 301, "Notes": "Chloé"})
    sandbox_client.get("/api/missing")
    log = list(sandbox.app.state.request_log)
    assert [(entry.method, entry.path) for entry in log] == [
        ("GET", "/api/orders"),
        ("POST", "/api/orders"),
        ("GET", "/api/missing"),
    ]
    assert log[0].query == {"$top": "2", "$filter": "JobSite/City eq 'Montréal'"}
    assert log[0].body is None
    assert log[1].body == {"AgentId": 1001, "PresetId": 301, "Notes": "Chloé"}


def test_request_log_entries_are_frozen(sandbox: RunningSandbox, sandbox_client: httpx.Client) -> None:
    sandbox_client.get("/api/orderpresets")
    entry = sandbox.app.state.request_log[0]
    with pytest.raises(AttributeError):
        entry.method = "POST"
