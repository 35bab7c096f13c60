"""The sandbox's SQLite store, seed data and date rules, used directly and across reopening."""

from __future__ import annotations

import collections
import datetime as dt
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from signtraker_mcp.sandbox import SandboxStore, default_database_path, start_sandbox
from signtraker_mcp.sandbox.dates import next_business_day_due
from signtraker_mcp.sandbox.errors import InvalidRequestError, OrderNotFoundError

UTC = dt.timezone.utc


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, tzinfo=UTC)


def _fixed_clock(moment: dt.datetime) -> SandboxStore:
    return SandboxStore(":memory:", clock=lambda: moment)


def _installed_id(store: SandboxStore) -> int:
    order_id: int = next(order["Id"] for order in store.list_orders() if order["Status"] == "Installed")
    return order_id


def _dump(path: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        rows: list[tuple[object, ...]] = []
        for table in ("offices", "agents", "presets", "orders"):
            rows += connection.execute(f"SELECT '{table}', * FROM {table} ORDER BY id").fetchall()
        return rows
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(_at(2, 9), _at(3, 17), id="wednesday"),
        pytest.param(_at(4, 20), _at(7, 17), id="friday"),
        pytest.param(_at(5, 8), _at(7, 17), id="saturday"),
        pytest.param(_at(6, 23), _at(7, 17), id="sunday"),
        pytest.param(
            dt.datetime(2026, 12, 4, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            _at(7, 17),
            id="offset-crosses-into-saturday",
        ),
    ],
)
def test_next_business_day_due(now: dt.datetime, expected: dt.datetime) -> None:
    assert next_business_day_due(now) == expected


def test_store_removal_default_due_uses_clock() -> None:
    with _fixed_clock(dt.datetime(2026, 12, 4, 15, 30, tzinfo=UTC)) as store:
        record = store.request_removal(_installed_id(store), {})
    assert record["RemovalRequestDate"] == "2026-12-04T15:30:00Z"
    assert record["RemovalDueDate"] == "2026-12-07T17:00:00Z"


def test_store_create_default_due_uses_clock() -> None:
    with _fixed_clock(dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)) as store:
        record = store.create_order({"AgentId": 1001, "PresetId": 301})
    assert record["Created"] == "2026-12-01T10:00:00Z"
    assert record["DueDate"] == "2026-12-02T17:00:00Z"


def test_store_unknown_order_raises_not_found() -> None:
    with SandboxStore(":memory:") as store, pytest.raises(OrderNotFoundError):
        store.request_removal(1, {})


def test_store_rejected_removal_changes_nothing() -> None:
    with SandboxStore(":memory:") as store:
        removed = next(order for order in store.list_orders() if order["Status"] == "Removed")
        with pytest.raises(InvalidRequestError):
            store.request_removal(removed["Id"], {"Notes": "again"})
        assert store.get_order(removed["Id"]) == removed


def test_store_reopen_keeps_created_order(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    with SandboxStore(path) as store:
        created = store.create_order({"AgentId": 1002, "PresetId": 303, "City": "Perth", "State": "WA"})
    with SandboxStore(path) as reopened:
        assert reopened.get_order(created["Id"]) == created


def test_store_reopen_keeps_removal(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    with SandboxStore(path) as store:
        order_id = _installed_id(store)
        store.request_removal(order_id, {"DueDate": "2026-12-11"})
    with SandboxStore(path) as reopened:
        record = reopened.get_order(order_id)
    assert record is not None
    assert record["Status"] == "RemovalRequested"
    assert record["RemovalDueDate"] == "2026-12-11T00:00:00Z"


def test_store_reopen_does_not_reseed(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    with SandboxStore(path) as store:
        count = len(store.list_orders())
        store.create_order({"AgentId": 1001, "PresetId": 301})
    with SandboxStore(path) as reopened:
        assert len(reopened.list_orders()) == count + 1


def test_store_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "sandbox.sqlite3"
    with SandboxStore(path) as store:
        assert store.list_presets()
    assert path.is_file()


def test_store_uses_wal_for_files(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    with SandboxStore(path):
        connection = sqlite3.connect(path)
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            connection.close()


def test_store_concurrent_creates_get_distinct_ids() -> None:
    with SandboxStore(":memory:") as store:
        created: list[int] = []

        def create() -> None:
            for _ in range(5):
                created.append(store.create_order({"AgentId": 1001, "PresetId": 301})["OrderNumber"])

        threads = [threading.Thread(target=create) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(created)) == 20


def test_seed_is_deterministic(tmp_path: Path) -> None:
    SandboxStore(tmp_path / "one.sqlite3").close()
    SandboxStore(tmp_path / "two.sqlite3").close()
    assert _dump(tmp_path / "one.sqlite3") == _dump(tmp_path / "two.sqlite3")


def test_seed_size_and_statuses() -> None:
    with SandboxStore(":memory:") as store:
        orders = store.list_orders()
        agents = store.list_agents()
        presets = store.list_presets()
    statuses = collections.Counter(order["Status"] for order in orders)
    assert len(orders) >= 240
    assert 28 <= len(agents) <= 32
    assert len({agent["Office"]["Id"] for agent in agents}) == 8
    assert sum(agent["IsInactive"] for agent in agents) >= 2
    assert len(presets) == 5
    assert set(statuses) == {
        "Draft", "PaymentRequired", "Designing", "Scheduled", "Installed", "RemovalRequested", "Removed", "Cancelled",
    }  # fmt: skip


def test_seed_ids_are_distinct() -> None:
    with SandboxStore(":memory:") as store:
        orders = store.list_orders()
    assert len({order["Id"] for order in orders}) == len(orders)
    assert len({order["OrderNumber"] for order in orders}) == len(orders)
    assert min(order["OrderNumber"] for order in orders) == 100001


def test_seed_covers_three_countries() -> None:
    with SandboxStore(":memory:") as store:
        orders = store.list_orders()
    cities = {(order["JobSite"]["City"], order["JobSite"]["CountryCode"]) for order in orders}
    for expected in [("Austin", "US"), ("Montréal", "CA"), ("Halifax", "CA"), ("Brisbane", "AU"), ("Perth", "AU")]:
        assert expected in cities


def test_seed_dana_has_installed_and_removed_in_austin() -> None:
    with SandboxStore(":memory:") as store:
        orders = [o for o in store.list_orders() if o["Agent"]["Name"] == "Dana Whitfield"]
    installed = [o for o in orders if o["Status"] == "Installed" and o["JobSite"]["City"] == "Austin"]
    removed = [o for o in orders if o["Status"] == "Removed"]
    assert len(installed) >= 3
    assert len(removed) >= 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("StreetName", "St. John's Rd", id="apostrophe-street"),
        pytest.param("StreetLine2", "Unit #4", id="hash-line2"),
        pytest.param("City", "Montréal", id="accented-city"),
    ],
)
def test_seed_contains_awkward_text(field: str, value: str) -> None:
    with SandboxStore(":memory:") as store:
        values = {order["JobSite"][field] for order in store.list_orders()}
    assert value in values


def test_seed_contains_awkward_agent_names() -> None:
    with SandboxStore(":memory:") as store:
        names = {order["Agent"]["Name"] for order in store.list_orders()}
    assert "Siobhan O'Brien" in names
    assert "Chloé Tremblay" in names


def test_seed_statuses_match_dates() -> None:
    with SandboxStore(":memory:") as store:
        orders = store.list_orders()
    for order in orders:
        status = order["Status"]
        installed = status in {"Installed", "RemovalRequested", "Removed"}
        assert (order["DateInstalled"] is not None) == installed, order["Id"]
        assert (order["RemovalRequestDate"] is not None) == (status in {"RemovalRequested", "Removed"}), order["Id"]
        assert (order["RemovalDueDate"] is not None) == (status in {"RemovalRequested", "Removed"}), order["Id"]
        assert (order["RemovalDate"] is not None) == (status == "Removed"), order["Id"]


def test_seed_dates_use_utc_wire_format() -> None:
    with SandboxStore(":memory:") as store:
        order = store.list_orders()[0]
    assert order["Created"].endswith("Z")
    assert dt.datetime.strptime(order["Created"], "%Y-%m-%dT%H:%M:%SZ")


def test_seed_listing_numbers_follow_mls_pattern() -> None:
    with SandboxStore(":memory:") as store:
        numbers = [o["JobSite"]["ListingNumber"] for o in store.list_orders() if o["JobSite"]["ListingNumber"]]
    assert numbers
    for number in numbers:
        prefix, year, serial = number.split("-")
        assert (prefix, len(year), len(serial)) == ("MLS", 4, 6)


def test_sandbox_persists_across_restart(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    with start_sandbox(path, api_key="first-key") as first:
        headers = {"Authorization": first.authorization_header}
        created = httpx.post(first.base_url + "/api/orders", json={"AgentId": 1003, "PresetId": 305}, headers=headers)
        order_id = created.json()["OrderId"]
    with start_sandbox(path, api_key="second-key") as second:
        response = httpx.get(f"{second.base_url}/api/orders/{order_id}", headers={"Authorization": "ST-API second-key"})
    assert response.status_code == 200
    assert response.json()["Agent"]["Id"] == 1003


def test_sandbox_random_key_when_none_given(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "a.sqlite3") as first, start_sandbox(tmp_path / "b.sqlite3") as second:
        assert len(first.api_key) >= 20
        assert first.api_key != second.api_key
        assert first.base_url.startswith("http://127.0.0.1:")
        assert first.base_url != second.base_url


def test_default_database_path_uses_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_database_path() == tmp_path / "signtraker-mcp" / "sandbox.sqlite3"


@pytest.mark.parametrize("value", [pytest.param("", id="empty"), pytest.param("relative/dir", id="relative")])
def test_default_database_path_ignores_bad_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", value)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_database_path() == tmp_path / ".local" / "share" / "signtraker-mcp" / "sandbox.sqlite3"
