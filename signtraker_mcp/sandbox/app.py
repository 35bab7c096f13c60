"""The Starlette application that serves the SignTraker REST API from a SandboxStore."""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .entities import AGENT_TYPE, ORDER_TYPE, PRESET_TYPE
from .errors import InvalidQueryError, InvalidRequestError, OrderNotFoundError
from .query import parse_query_options
from .store import SandboxStore

__all__ = ["AUTH_SCHEME", "LoggedRequest", "create_app"]

logger = logging.getLogger(__name__)

AUTH_SCHEME = "ST-API"
UNAUTHORIZED_MESSAGE = "Authorization has been denied for this request."
INT64_MAX = 2**63 - 1
# The bound keeps a long-running demo server's memory flat. Older entries are dropped first.
REQUEST_LOG_SIZE = 10_000

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class LoggedRequest:
    """One request that reached the app: method, path, decoded query and parsed JSON body."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


class RequestLogMiddleware:
    """Record every HTTP request in a log before the app handles it."""

    def __init__(self, app: ASGIApp, log: deque[LoggedRequest]) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        query = dict(QueryParams(scope.get("query_string", b"")))
        self.log.append(LoggedRequest(scope["method"], scope["path"], query, _parse_json(body)))

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _parse_json(body: bytes) -> Any:
    """Return the parsed JSON body, or None when it is empty or not JSON."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _message(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"Message": message}, status_code=status_code)


async def _read_json_body(request: Request) -> Any:
    """Return the request's JSON body, or None when the body is empty."""
    body = await request.body()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError as error:
        raise InvalidRequestError(f"The request body is not valid JSON: {error}.") from error


def create_app(store: SandboxStore, api_key: str) -> Starlette:
    """Create the sandbox API app over ``store``, accepting requests that carry ``api_key``."""
    expected_key = api_key.encode("utf-8")

    def authorized(request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == AUTH_SCHEME.lower() and hmac.compare_digest(key.strip().encode("utf-8"), expected_key)

    def api_endpoint(handler: Endpoint) -> Endpoint:
        """Wrap a handler with the key check and the mapping of sandbox errors to responses."""

        async def endpoint(request: Request) -> Response:
            if not authorized(request):
                return _message(401, UNAUTHORIZED_MESSAGE)
            try:
                return await handler(request)
            except OrderNotFoundError as error:
                logger.info("%s %s: %s", request.method, request.url.path, error.message)
                return Response(status_code=404)
            except (InvalidQueryError, InvalidRequestError) as error:
                logger.info("Rejected %s %s: %s", request.method, request.url.path, error.message)
                return _message(400, error.message)

        return endpoint

    @api_endpoint
    async def orders(request: Request) -> Response:
        if request.method == "POST":
            body = await _read_json_body(request)
            if body is None:
                raise InvalidRequestError("The request body must be a JSON object with AgentId and PresetId.")
            record = await run_in_threadpool(store.create_order, body)
            return JSONResponse(
                {
                    "Status": "Success",
                    "Message": f"Order {record['OrderNumber']} was created.",
                    "RequestId": str(uuid.uuid4()),
                    "OrderId": record["Id"],
                }
            )
        options = parse_query_options(request.query_params.multi_items(), ORDER_TYPE)
        return JSONResponse(await run_in_threadpool(store.list_orders, options))

    @api_endpoint
    async def order(request: Request) -> Response:
        order_id: int = request.path_params["order_id"]
        record = None if order_id > INT64_MAX else await run_in_threadpool(store.get_order, order_id)
        if record is None:
            raise OrderNotFoundError(order_id)
        return JSONResponse(record)

    @api_endpoint
    async def request_removal(request: Request) -> Response:
        order_id: int = request.path_params["order_id"]
        if order_id > INT64_MAX:
            raise OrderNotFoundError(order_id)
        body = await _read_json_body(request)
        record = await run_in_threadpool(store.request_removal, order_id, body)
        return JSONResponse({"DueDate": record["RemovalDueDate"]})

    @api_endpoint
    async def agents(request: Request) -> Response:
        options = parse_query_options(request.query_params.multi_items(), AGENT_TYPE)
        email = request.query_params.get("email")
        return JSONResponse(await run_in_threadpool(lambda: store.list_agents(options, email=email)))

    @api_endpoint
    async def presets(request: Request) -> Response:
        options = parse_query_options(request.query_params.multi_items(), PRESET_TYPE)
        return JSONResponse(await run_in_threadpool(store.list_presets, options))

    async def not_found(request: Request, exc: Exception) -> Response:
        return Response(status_code=404)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        headers = exc.headers if isinstance(exc, HTTPException) else None
        return JSONResponse(
            {"Message": f"The requested resource does not support http method '{request.method}'."},
            status_code=405,
            headers=headers,
        )

    request_log: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
    app = Starlette(
        routes=[
            Route("/api/orders", orders, methods=["GET", "POST"]),
            Route("/api/orders/{order_id:int}", order, methods=["GET"]),
            Route("/api/orders/{order_id:int}/requestremoval", request_removal, methods=["POST"]),
            Route("/api/agents", agents, methods=["GET"]),
            Route("/api/orderpresets", presets, methods=["GET"]),
        ],
        middleware=[Middleware(RequestLogMiddleware, log=request_log)],
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.request_log = request_log
    app.state.store = store
    return app
