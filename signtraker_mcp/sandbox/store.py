"""SQLite storage of the sandbox's offices, agents, presets and orders."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from .dates import format_datetime, next_business_day_due
from .errors import InvalidRequestError, OrderNotFoundError
from .query import QueryOptions
from .records import country_for_state, job_site_record, order_record
from .seed import generate_seed
from .validation import parse_create_body, parse_removal_body

__all__ = ["MEMORY_DATABASE", "SandboxStore"]

logger = logging.getLogger(__name__)

MEMORY_DATABASE = ":memory:"
SCHEMA_VERSION = 1
NEW_ORDER_STATUS = "Scheduled"

SCHEMA = """
CREATE TABLE IF NOT EXISTS offices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agents (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    office_id INTEGER NOT NULL REFERENCES offices (id),
    is_inactive INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS presets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    post_type_id INTEGER NOT NULL,
    post_type_name TEXT NOT NULL,
    price REAL NOT NULL,
    rebill_interval INTEGER NOT NULL
);
-- Each order is stored as its API record (JSON text) beside the columns used to find it.
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    order_number INTEGER NOT NULL UNIQUE,
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    preset_id INTEGER NOT NULL REFERENCES presets (id),
    external_id TEXT,
    record TEXT NOT NULL
);
"""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _encode(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class SandboxStore:
    """Sandbox data in one SQLite database, seeded on first open and safe to share across threads.

    One connection serves all threads behind a lock, which also makes ``:memory:``
    databases work. Every write runs in one ``BEGIN IMMEDIATE`` transaction.
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.path = path if str(path) == MEMORY_DATABASE else Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            self._initialize()
        except BaseException:
            self._connection.close()
            raise

    def _initialize(self) -> None:
        connection = self._connection
        if isinstance(self.path, Path):
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        with self._transaction() as cursor:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    cursor.execute(statement)
            cursor.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if cursor.execute("SELECT count(*) FROM agents").fetchone()[0] == 0:
                self._insert_seed(cursor)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()

    def __enter__(self) -> SandboxStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            else:
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def _fetch_all(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            rows: list[tuple[Any, ...]] = self._connection.execute(sql, parameters).fetchall()
            return rows

    def _insert_seed(self, cursor: sqlite3.Cursor) -> None:
        seed = generate_seed()
        cursor.executemany(
            "INSERT INTO offices (id, name) VALUES (?, ?)", [(office.id, office.name) for office in seed.offices]
        )
        cursor.executemany(
            "INSERT INTO agents VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(a.id, a.first_name, a.last_name, a.email, a.phone, a.office.id, int(a.is_inactive)) for a in seed.agents],
        )
        cursor.executemany(
            "INSERT INTO presets VALUES (?, ?, ?, ?, ?, ?)",
            [(p.id, p.name, p.post_type_id, p.post_type_name, p.price, p.rebill_interval) for p in seed.presets],
        )
        cursor.executemany(
            "INSERT INTO orders (id, order_number, agent_id, preset_id, record) VALUES (?, ?, ?, ?, ?)",
            [
                (o.record["Id"], o.record["OrderNumber"], o.agent_id, o.preset_id, _encode(o.record))
                for o in seed.orders
            ],
        )
        logger.info("Seeded the sandbox database %s with %d orders", self.path, len(seed.orders))

    # Orders

    def list_orders(self, options: QueryOptions | None = None) -> list[dict[str, Any]]:
        """Return the order records that ``options`` select, by ascending Id unless ordered."""
        records = [json.loads(row[0]) for row in self._fetch_all("SELECT record FROM orders ORDER BY id")]
        return (options or QueryOptions()).apply(records)

    def get_order(self, order_id: int) -> dict[str, Any] | None:
        """Return one order record, or None when no order has ``order_id``."""
        rows = self._fetch_all("SELECT record FROM orders WHERE id = ?", (order_id,))
        return json.loads(rows[0][0]) if rows else None

    def create_order(self, body: object) -> dict[str, Any]:
        """Validate a ``POST /api/orders`` body, store the new order and return its record.

        Raises InvalidRequestError for an invalid body or an unknown or inactive agent or preset.
        """
        request = parse_create_body(body)
        now = self._clock()
        with self._transaction() as cursor:
            agent = cursor.execute(
                "SELECT first_name, last_name, is_inactive FROM agents WHERE id = ?", (request.agent_id,)
            ).fetchone()
            if agent is None:
                raise InvalidRequestError(
                    f"The AgentId value {request.agent_id} does not match any agent. GET /api/agents lists them."
                )
            if agent[2]:
                raise InvalidRequestError(
                    f"The agent with AgentId {request.agent_id} ({agent[0]} {agent[1]}) is inactive."
                )
            preset = cursor.execute(
                "SELECT post_type_id, post_type_name, price, rebill_interval FROM presets WHERE id = ?",
                (request.preset_id,),
            ).fetchone()
            if preset is None:
                raise InvalidRequestError(
                    f"The PresetId value {request.preset_id} does not match any order preset."
                    " GET /api/orderpresets lists them."
                )

            next_ids = cursor.execute(
                "SELECT max(id) + 1, max(order_number) + 1, max(json_extract(record, '$.JobSite.Id')) + 1,"
                " max(json_extract(record, '$.SalesOrder.Id')) + 1 FROM orders"
            ).fetchone()
            order_id, order_number, job_site_id, sales_order_id = (value or 1 for value in next_ids)
            strings = request.strings
            record = order_record(
                order_id=order_id,
                order_number=order_number,
                status=NEW_ORDER_STATUS,
                notes=strings["Notes"],
                created=now,
                due_date=request.due_date or next_business_day_due(now),
                is_due_date_definitive=request.due_date is not None,
                rebill_interval=preset[3],
                job_site=job_site_record(
                    job_site_id=job_site_id,
                    street_number=strings["StreetNumber"],
                    street_name=strings["StreetName"],
                    street_line2=strings["Apartment"],
                    city=strings["City"],
                    state=strings["State"],
                    zip_code=strings["Zip"],
                    country_code=country_for_state(strings["State"]),
                    directions=strings["Directions"],
                    listing_number=strings["ListingNumber"],
                ),
                post_type={"Id": preset[0], "Name": preset[1]},
                agent={"Id": request.agent_id, "Name": f"{agent[0]} {agent[1]}"},
                sales_order={"Id": sales_order_id, "OrderTotal": preset[2]},
            )
            cursor.execute(
                "INSERT INTO orders (id, order_number, agent_id, preset_id, external_id, record)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (order_id, order_number, request.agent_id, request.preset_id, strings["ExternalID"], _encode(record)),
            )
        logger.info("Created order %d (order number %d)", order_id, order_number)
        return record

    def request_removal(self, order_id: int, body: object) -> dict[str, Any]:
        """Mark an installed order as awaiting removal and return its updated record.

        Raises OrderNotFoundError for an unknown id and InvalidRequestError for an invalid
        body or an order that is removed, already awaiting removal or not installed.
        """
        request = parse_removal_body(body)
        now = self._clock()
        with self._transaction() as cursor:
            row = cursor.execute("SELECT record FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None:
                raise OrderNotFoundError(order_id)
            record: dict[str, Any] = json.loads(row[0])
            if record["RemovalDate"] is not None:
                raise InvalidRequestError(f"Order {order_id} was already removed on {record['RemovalDate']}.")
            if record["RemovalRequestDate"] is not None:
                raise InvalidRequestError(
                    f"Order {order_id} is already awaiting removal, requested on {record['RemovalRequestDate']}"
                    f" and due on {record['RemovalDueDate']}."
                )
            if record["Status"] != "Installed":
                raise InvalidRequestError(
                    f"Order {order_id} has status '{record['Status']}', so no sign is installed to remove."
                )

            due = request.due_date or next_business_day_due(now)
            record["Status"] = "RemovalRequested"
            record["RemovalRequestDate"] = format_datetime(now)
            record["RemovalDueDate"] = format_datetime(due)
            record["IsRemovalDueDateDefinitive"] = request.due_date is not None
            if request.notes:
                record["Notes"] = f"{record['Notes']}\n{request.notes}" if record["Notes"] else request.notes
            cursor.execute("UPDATE orders SET record = ? WHERE id = ?", (_encode(record), order_id))
        logger.info("Requested removal of order %d, due %s", order_id, record["RemovalDueDate"])
        return record

    # Agents and presets

    def list_agents(self, options: QueryOptions | None = None, *, email: str | None = None) -> list[dict[str, Any]]:
        """Return agent records, only the one with ``email`` (case-insensitive) when given."""
        rows = self._fetch_all(
            "SELECT agents.id, first_name, last_name, email, phone, offices.id, offices.name, is_inactive"
            " FROM agents JOIN offices ON offices.id = agents.office_id ORDER BY agents.id"
        )
        records = [
            {
                "Id": row[0],
                "FirstName": row[1],
                "LastName": row[2],
                "Email": row[3],
                "Phone": row[4],
                "Office": {"Id": row[5], "Name": row[6]},
                "IsInactive": bool(row[7]),
            }
            for row in rows
        ]
        if email is not None:
            expected_email = email.strip().casefold()
            records = [record for record in records if record["Email"].casefold() == expected_email]
        return (options or QueryOptions()).apply(records)

    def list_presets(self, options: QueryOptions | None = None) -> list[dict[str, Any]]:
        """Return the order preset records."""
        rows = self._fetch_all("SELECT id, name FROM presets ORDER BY id")
        return (options or QueryOptions()).apply([{"Id": row[0], "Name": row[1]} for row in rows])
