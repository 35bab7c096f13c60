"""A scriptable stand-in of the SignTraker API for fault tests, served by uvicorn on loopback in a thread.

The sandbox behaves like a healthy API; this one misbehaves on request. A test
queues `Fault`s, and each request that matches the first queued fault gets that
fault instead of the normal answer: a delay, a hang, a dropped connection, a
status with any body and headers, a body that trickles in, or a list that
ignores `$top`. Requests without a matching fault get ordinary JSON answers over
a small set of orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

__all__ = ["FAST_SETTINGS", "Fault", "Seen", "Upstream", "make_order", "server_environment", "stdio_session"]

logger = logging.getLogger(__name__)

AUTH_SCHEME = "ST-API"


def make_order(order_id: int, **changes: Any) -> dict[str, Any]:
    """Return an order record shaped like the API's, with `changes` applied on top."""
    record: dict[str, Any] = {
        "Id": order_id,
        "OrderNumber": 100000 + order_id,
        "Status": "Installed",
        "Notes": None,
        "Created": "2026-03-02T15:04:00Z",
        "DueDate": "2026-03-06T17:00:00Z",
        "DateInstalled": "2026-03-05T18:30:00Z",
        "RemovalRequestDate": None,
        "RemovalDueDate": None,
        "RemovalDate": None,
        "JobSite": {
            "Id": 90000 + order_id,
            "StreetAddress": f"{order_id} Barton Springs Rd",
            "StreetNumber": str(order_id),
            "StreetName": "Barton Springs Rd",
            "City": "Austin",
            "State": "TX",
            "Zip": "78704",
            "ListingNumber": f"MLS-{order_id:06d}",
        },
        "Agent": {"Id": 1001, "Name": "Dana Whitfield"},
    }
    record.update(changes)
    return record


@dataclass
class Fault:
    """One scripted misbehaviour, used for `times` matching requests."""

    status: int = 200
    body: bytes | None = None
    """The body to send; None sends the normal answer with `status`."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering."""
    hang: bool = False
    """Never answer; the request is held until the stand-in stops."""
    drop: bool = False
    """Send the headers and part of the body, then close the connection."""
    trickle: float | None = None
    """Send the body one byte at a time, this many seconds apart."""
    retry_after_date_in: float | None = None
    """Send `Retry-After` as the HTTP date this many seconds after the answer."""
    chunked: bool = False
    """Send the body in 64 KiB chunks without a `Content-Length`."""
    ignore_top: bool = False
    """Answer a list request with every record, whatever `$top` and `$skip` say."""
    echo_authorization: bool = False
    """Echo the received `Authorization` header in a response header and in place of `{authorization}` in
    the body, as a careless proxy might."""
    method: str | None = None
    path: str | None = None
    """Match only requests whose path starts with this; None matches every path."""
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        """Tell whether this fault applies to a request."""
        if self.method is not None and method != self.method:
            return False
        return self.path is None or path.startswith(self.path)


@dataclass(frozen=True)
class Seen:
    """A request as the stand-in received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float


class Upstream:
    """The stand-in API: a Starlette app on a free loopback port, scripted by the test."""

    def __init__(self, api_key: str, records: list[dict[str, Any]] | None = None) -> None:
        self.api_key = api_key
        self.records: list[dict[str, Any]] = records if records is not None else [make_order(i) for i in range(1, 31)]
        self.requests: list[Seen] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped_in_loop: asyncio.Event | None = None
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port: int = self._socket.getsockname()[1]
        app = Starlette(
            routes=[
                Route("/api/orders", self._list_orders, methods=["GET"]),
                Route("/api/orders/{order_id:int}", self._get_order, methods=["GET"]),
                Route("/api/orders/{order_id:int}/requestremoval", self._request_removal, methods=["POST"]),
                Route("/api/agents", self._list_agents, methods=["GET"]),
                Route("/api/orderpresets", self._list_presets, methods=["GET"]),
            ]
        )
        self._app = app
        config = uvicorn.Config(
            self._asgi,
            interface="asgi3",
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"upstream-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        """The root URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Upstream:
        """Serve in a background thread and return once connections are accepted."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"The upstream stand-in on {self.base_url} did not start.")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Release held requests, stop serving and close the socket."""
        self._stopping.set()
        if self._loop is not None and self._stopped_in_loop is not None:
            # Wake held requests at once; the event belongs to the server's loop, so it is set from there.
            self._loop.call_soon_threadsafe(self._stopped_in_loop.set)
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()

    def script(self, *faults: Fault) -> None:
        """Queue faults; each is used for its `times` matching requests, in order."""
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        """Forget queued faults and recorded requests."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()

    def pending_faults(self) -> int:
        """Return how many scripted fault uses are left."""
        with self._lock:
            return sum(fault.times for fault in self._faults)

    def _serve(self) -> None:
        asyncio.run(self._serve_in_loop())

    async def _serve_in_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[self._socket])

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[index]
                    return fault
        return None

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        seen = Seen(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={key.lower(): value for key, value in request.headers.items()},
            body=body,
            at=time.monotonic(),
        )
        self.requests.append(seen)
        fault = self._take_fault(seen.method, seen.path)
        replay = _replay_body(receive, body)
        if fault is not None:
            await self._misbehave(fault, seen, scope, replay, send)
            return
        if seen.headers.get("authorization") != f"{AUTH_SCHEME} {self.api_key}":
            await JSONResponse({"Message": "Authorization has been denied for this request."}, 401)(scope, replay, send)
            return
        await self._app(scope, replay, send)

    async def _misbehave(self, fault: Fault, seen: Seen, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.hang:
            await self._sleep(None)
            return
        if fault.delay:
            await self._sleep(fault.delay)
        if fault.ignore_top and fault.body is None:
            await JSONResponse(self.records, fault.status)(scope, receive, send)
            return
        if fault.body is None:
            if fault.status == 200:
                await self._app(scope, receive, send)
                return
            body = json.dumps({"Message": f"Scripted HTTP {fault.status}"}).encode()
        else:
            body = fault.body
        headers = dict(fault.headers)
        if fault.retry_after_date_in is not None:
            headers["retry-after"] = email.utils.formatdate(time.time() + fault.retry_after_date_in, usegmt=True)
        if fault.echo_authorization:
            received = seen.headers.get("authorization", "")
            body = body.replace(b"{authorization}", received.encode())
            headers = {name: value.replace("{authorization}", received) for name, value in headers.items()}
            headers["x-echo-authorization"] = received
        if fault.drop:
            await _drop_midway(send, fault.status, body)
            return
        if fault.chunked:
            chunks = [body[start : start + 65536] for start in range(0, len(body), 65536)]
            await StreamingResponse(_iterate(chunks), fault.status, headers=headers)(scope, receive, send)
            return
        if fault.trickle is not None:
            await StreamingResponse(self._trickle(body, fault.trickle), fault.status, headers=headers, media_type=None)(
                scope, receive, send
            )
            return
        headers.setdefault("content-type", "application/json")
        await Response(body, fault.status, headers=headers)(scope, receive, send)

    async def _sleep(self, seconds: float | None) -> None:
        """Wait `seconds` (None: forever), or less when the stand-in stops."""
        if self._stopped_in_loop is None:
            self._stopped_in_loop = asyncio.Event()
            if self._stopping.is_set():
                self._stopped_in_loop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped_in_loop.wait(), seconds)

    async def _trickle(self, body: bytes, interval: float) -> AsyncIterator[bytes]:
        for index in range(len(body)):
            if self._stopping.is_set():
                return
            yield body[index : index + 1]
            await self._sleep(interval)

    async def _list_orders(self, request: Request) -> Response:
        top = int(request.query_params.get("$top", "100"))
        skip = int(request.query_params.get("$skip", "0"))
        return JSONResponse(self.records[skip : skip + top])

    async def _get_order(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        for record in self.records:
            if record["Id"] == order_id:
                return JSONResponse(record)
        return JSONResponse({"Message": f"No order with Id {order_id}."}, 404)

    async def _request_removal(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        payload = json.loads(await request.body() or b"{}")
        for record in self.records:
            if record["Id"] == order_id:
                record["Status"] = "RemovalRequested"
                record["RemovalRequestDate"] = "2026-03-09T12:00:00Z"
                if payload.get("Notes") is not None:
                    record["Notes"] = payload["Notes"]
                return JSONResponse({"DueDate": payload.get("DueDate") or "2026-03-12T12:00:00Z"})
        return JSONResponse({"Message": f"No order with Id {order_id}."}, 404)

    async def _list_agents(self, request: Request) -> Response:
        return JSONResponse([{"Id": 1001, "FirstName": "Dana", "LastName": "Whitfield", "IsInactive": False}])

    async def _list_presets(self, request: Request) -> Response:
        return JSONResponse([{"Id": 301, "Name": "Standard Post - Single Sign"}])


async def _iterate(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _replay_body(receive: Receive, body: bytes) -> Receive:
    """Return a `receive` that hands the already-read body to the app again."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _drop_midway(send: Send, status: int, body: bytes) -> None:
    """Promise a body longer than what is sent, then return, so the server closes the connection."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body) + 1000).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})


# Running the MCP server as a stdio subprocess against the stand-in.

SERVER_MODULE = "signtraker_mcp"

# Small timeouts and backoffs keep fault tests fast; each value is still well above
# what a loopback request needs.
FAST_SETTINGS = {
    "SIGNTRAKER_MAX_RETRIES": "2",
    "SIGNTRAKER_RETRY_BACKOFF_SECONDS": "0.05",
    "SIGNTRAKER_CONNECT_TIMEOUT_SECONDS": "1",
    "SIGNTRAKER_TIMEOUT_SECONDS": "1",
    "SIGNTRAKER_CALL_BUDGET_SECONDS": "3",
    "SIGNTRAKER_LOG_LEVEL": "DEBUG",
    "SIGNTRAKER_CONFIRMATION": "token",
}


def server_environment(base_url: str, api_key: str, **overrides: str) -> dict[str, str]:
    """Return the variables that point a server at `base_url`, with the fast settings and `overrides`."""
    return {"SIGNTRAKER_BASE_URL": base_url, "SIGNTRAKER_API_KEY": api_key, **FAST_SETTINGS, **overrides}


@asynccontextmanager
async def stdio_session(
    base_url: str,
    api_key: str,
    errlog: TextIO,
    *,
    mode: str = "legacy",
    python_options: Sequence[str] = (),
    **overrides: str,
) -> AsyncIterator[Client]:
    """Start `python -m signtraker_mcp` over stdio against `base_url` and connect the SDK client to it."""
    parameters = StdioServerParameters(
        command=sys.executable,
        args=[*python_options, "-m", SERVER_MODULE],
        env=server_environment(base_url, api_key, **overrides),
    )
    async with Client(stdio_client(parameters, errlog=errlog), mode=mode) as client:  # type: ignore[arg-type]
        yield client
