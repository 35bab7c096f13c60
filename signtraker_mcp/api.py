"""An async client for the SignTraker REST API.

One `httpx.AsyncClient` carries the key, the timeouts and the connection pool
for the whole life of the server. GET requests are retried on transient
failures; POST requests never are, because a POST whose response was lost may
already have created an order or a removal request.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import anyio
import httpx

from . import __version__
from .body import ACCEPT_ENCODING, BodyTooLargeError, MalformedBodyError, read_limited_body
from .config import Settings
from .deadline import CallBudget, current_call_budget
from .errors import (
    ApiError,
    NetworkError,
    OutcomeUnknownError,
    SignTrakerError,
    UnexpectedResponseError,
    error_from_response,
    error_from_transport,
    quote_upstream_text,
)
from .redaction import Redactor

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_RESPONSE_BYTES",
    "POOL_LIMITS",
    "SignTrakerClient",
    "build_connection_pool",
    "build_http_client",
    "preload_tls_context",
    "shared_tls_context",
]

logger = logging.getLogger(__name__)

# Largest response body read from the API. A page of 100 full order records is
# about 150 KB, so this leaves room for records with long notes while keeping a
# misbehaving upstream from filling memory.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

# Size of the connection pool to the API, shared by all concurrent tool calls.
# Calls beyond it wait for a free connection instead of opening more.
MAX_CONNECTIONS = 20
POOL_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS, keepalive_expiry=30.0
)

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
Record = dict[str, Any]

_tls_lock = threading.Lock()
_tls_context: ssl.SSLContext | None = None


def shared_tls_context() -> ssl.SSLContext:
    """Return the TLS context of every API client in this process, creating it on first use.

    Creating one loads the whole CA bundle, about 20 ms on a 2-core AMD EPYC VM
    (measured with Python 3.11), so the process does it once instead of per client.
    It uses httpx's defaults: certifi's bundle, or SSL_CERT_FILE or SSL_CERT_DIR as
    set when this first runs.
    """
    global _tls_context
    with _tls_lock:
        if _tls_context is None:
            _tls_context = httpx.create_ssl_context()
        return _tls_context


def preload_tls_context() -> None:
    """Start creating the shared TLS context in a background thread.

    Loading the certificates releases the GIL, so when this runs before the MCP SDK
    is imported, the load overlaps with the import instead of delaying the server's
    first reply. A client built before the load ends waits for it.
    """
    threading.Thread(target=shared_tls_context, name="signtraker-tls-preload", daemon=True).start()


def build_connection_pool() -> httpx.AsyncHTTPTransport:
    """Create a connection pool with the limits and TLS settings that `build_http_client` uses for its own."""
    return httpx.AsyncHTTPTransport(limits=POOL_LIMITS, verify=shared_tls_context())


def build_http_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Create the shared HTTP client: base URL, `ST-API` key, JSON headers, timeouts and pool.

    `timeout_seconds` bounds each wait for the API (reading, writing, a free pooled
    connection), and `connect_timeout_seconds` bounds the connection set-up. The call
    budget of `SignTrakerClient` bounds their sum.
    """
    timeout = settings.timeout_seconds
    return httpx.AsyncClient(
        base_url=settings.base_url,
        headers={
            "Authorization": f"ST-API {settings.api_key.get_secret_value()}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": f"signtraker-mcp/{__version__}",
        },
        timeout=httpx.Timeout(timeout, connect=settings.connect_timeout_seconds),
        limits=POOL_LIMITS,
        follow_redirects=False,
        verify=shared_tls_context(),
        transport=transport,
    )


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    """Read a `Retry-After` header (seconds or an HTTP date); None when absent or malformed."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now)


class SignTrakerClient:
    """Typed calls to the SignTraker endpoints that the tools use."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        max_retries: int = 2,
        backoff_seconds: float = 0.5,
        budget_seconds: float = 40.0,
    ) -> None:
        """Wrap `http`; outside a tool call, each API call gets its own budget of `budget_seconds`."""
        self._http = http
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds
        self._budget_seconds = budget_seconds
        self._redactor = Redactor(_secrets_of(http))

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, settings: Settings) -> SignTrakerClient:
        """Wrap `http` with the retry policy and call budget of `settings`."""
        return cls(
            http,
            max_retries=settings.max_retries,
            backoff_seconds=settings.retry_backoff_seconds,
            budget_seconds=settings.call_budget_seconds,
        )

    async def list_orders(self, params: Mapping[str, str]) -> list[Record]:
        """GET /api/orders with OData query options."""
        return _records(await self._get("/api/orders", params), "/api/orders")

    async def get_order(self, order_id: int) -> Record:
        """GET /api/orders/{id}."""
        path = f"/api/orders/{order_id}"
        return _record(await self._get(path, None, order_id=order_id), path)

    async def create_order(self, body: Mapping[str, Any]) -> Record:
        """POST /api/orders; returns the API's `{Status, Message, RequestId, OrderId}` response."""
        return _record(await self._post("/api/orders", body), "/api/orders")

    async def request_removal(self, order_id: int, body: Mapping[str, Any]) -> Record:
        """POST /api/orders/{id}/requestremoval; returns the API's response, typically `{DueDate}`."""
        path = f"/api/orders/{order_id}/requestremoval"
        answer = await self._post(path, body, order_id=order_id)
        return answer if isinstance(answer, dict) else {}

    async def list_agents(self, params: Mapping[str, str]) -> list[Record]:
        """GET /api/agents with OData query options (and `email=` for an exact email)."""
        return _records(await self._get("/api/agents", params), "/api/agents")

    async def get_agent(self, agent_id: int) -> Record | None:
        """Find one agent by id through the list endpoint, which is the documented way."""
        agents = await self.list_agents({"$filter": f"Id eq {agent_id}", "$top": "1"})
        return agents[0] if agents else None

    async def list_order_presets(self, params: Mapping[str, str] | None = None) -> list[Record]:
        """GET /api/orderpresets."""
        return _records(await self._get("/api/orderpresets", params), "/api/orderpresets")

    async def _get(self, path: str, params: Mapping[str, str] | None, *, order_id: int | None = None) -> Any:
        """Send a GET, retrying connection failures, 429, 502, 503 and 504 within the call's time budget."""
        budget = current_call_budget() or CallBudget(self._budget_seconds)
        with budget.spending():
            attempt = 0
            while True:
                attempt += 1
                try:
                    return await self._send("GET", path, params=params, order_id=order_id, budget=budget)
                except ApiError as error:
                    wait = self._retry_wait(error, attempt, budget)
                    if wait is None:
                        raise
                    logger.warning(
                        "GET %s failed with %s (attempt %d of %d); retrying in %.2f s",
                        path,
                        _failure_label(error),
                        attempt,
                        self._max_retries + 1,
                        wait,
                    )
                    await anyio.sleep(wait)

    def _retry_wait(self, error: ApiError, attempt: int, budget: CallBudget) -> float | None:
        """Return how long to wait before retrying a failed GET, or None after completing the error's message."""
        retryable = _is_retryable_get(error)
        requested = _retry_after_seconds(error.retry_after, time.time())
        if retryable and attempt <= self._max_retries:
            if requested is not None:
                wait = requested
            else:
                wait = self._backoff_seconds * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311
            if wait < budget.remaining():
                return wait
        if requested is not None and requested >= budget.remaining():
            error.message += (
                f" The API asked to wait {requested:.0f} s, longer than this call can wait;"
                f" try again after {_clock_after(requested)}."
            )
        elif requested is not None:
            error.message += f" Try again after {_clock_after(requested)}."
        if retryable or attempt > 1:
            error.message += f" ({_attempts(attempt)} made.)"
        _set_message(error, error.message)
        return None

    async def _post(self, path: str, body: Mapping[str, Any], *, order_id: int | None = None) -> Any:
        """Send a POST once. Never retried: a lost response may hide an applied write."""
        budget = current_call_budget() or CallBudget(self._budget_seconds)
        with budget.spending():
            return await self._send("POST", path, json_body=body, order_id=order_id, budget=budget)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        order_id: int | None = None,
        budget: CallBudget,
    ) -> Any:
        try:
            return await self._exchange(
                method, path, params=params, json_body=json_body, order_id=order_id, budget=budget
            )
        except SignTrakerError as error:
            # An upstream or proxy may echo request headers, the key among them, in what it returns.
            if self._redactor:
                _set_message(error, self._redactor.text(error.message))
            raise

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        order_id: int | None,
        budget: CallBudget,
    ) -> Any:
        """Send one request within the remaining budget and return its parsed JSON body."""
        remaining = budget.remaining()
        if remaining <= 0:
            raise NetworkError(
                f"The request {method} {path} was not sent: this call used up its time budget of "
                f"{budget.seconds:g} s (SIGNTRAKER_CALL_BUDGET_SECONDS) on earlier requests.",
                method=method,
                path=path,
            )
        started = time.perf_counter()
        request = self._http.build_request(
            method,
            path,
            params=dict(params) if params else None,
            json=dict(json_body) if json_body is not None else None,
        )
        try:
            # The per-read timeouts of httpx do not bound a body that trickles in byte by
            # byte; this deadline bounds the whole exchange.
            with anyio.fail_after(remaining):
                response = await self._http.send(request, stream=True)
                try:
                    content = await read_limited_body(response, MAX_RESPONSE_BYTES)
                finally:
                    await response.aclose()
        except TimeoutError:
            logger.info("%s %s ran out of time after %.0f ms", method, path, _elapsed_ms(started))
            raise _budget_exhausted(method, path, budget) from None
        except httpx.TransportError as exc:
            logger.info("%s %s failed after %.0f ms: %s", method, path, _elapsed_ms(started), type(exc).__name__)
            raise error_from_transport(exc, method=method, path=path) from exc
        except BodyTooLargeError:
            raise _too_large(method, path, response.status_code) from None
        except MalformedBodyError as exc:
            raise UnexpectedResponseError(
                f"The SignTraker API responded to {method} {path} with a body that cannot be read: {exc}.",
                method=method,
                path=path,
                status_code=response.status_code,
                retryable=True,
            ) from None
        logger.info("%s %s -> %d in %.0f ms", method, path, response.status_code, _elapsed_ms(started))
        if self._redactor:
            content = self._redactor.data(content)

        if response.status_code >= 400 or response.status_code < 200:
            # The streamed response is closed, so the mapping gets a copy with the body already
            # read and decoded. The copy drops the headers that describe the encoded body.
            headers = [
                (name, value)
                for name, value in response.headers.multi_items()
                if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
            ]
            loaded = httpx.Response(response.status_code, headers=headers, content=content, request=request)
            raise error_from_response(loaded, order_id=order_id)
        if response.status_code >= 300:
            raise UnexpectedResponseError(
                f"The SignTraker API redirected {method} {path} (HTTP {response.status_code}); "
                "check SIGNTRAKER_BASE_URL or SIGNTRAKER_SUBDOMAIN.",
                method=method,
                path=path,
                status_code=response.status_code,
            )
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except (ValueError, RecursionError):
            content_type = response.headers.get("content-type", "no content type")
            raise UnexpectedResponseError(
                f"The SignTraker API responded to {method} {path} with a body that is not JSON "
                f"({quote_upstream_text(content_type)}). A proxy in front of the API may be failing.",
                method=method,
                path=path,
                status_code=response.status_code,
                retryable=True,
            ) from None


def _is_retryable_get(error: ApiError) -> bool:
    if isinstance(error, NetworkError):
        return True
    return error.status_code in _RETRY_STATUSES


def _secrets_of(http: httpx.AsyncClient) -> list[str]:
    """Return the credentials that `http` sends: the `Authorization` value and the key inside it."""
    value = http.headers.get("authorization")
    if not value:
        return []
    return [value, value.partition(" ")[2].strip()]


def _set_message(error: SignTrakerError, message: str) -> None:
    error.message = message
    error.args = (message,)


def _attempts(count: int) -> str:
    return "1 attempt was" if count == 1 else f"{count} attempts were"


def _failure_label(error: ApiError) -> str:
    if error.status_code is not None:
        return f"HTTP {error.status_code}"
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else "a timeout"


def _budget_exhausted(method: str, path: str, budget: CallBudget) -> NetworkError:
    """Describe a request cut off by the call's time budget; for a write, its outcome is unknown."""
    if method != "GET":
        return OutcomeUnknownError(
            f"The request {method} {path} did not complete within this call's time budget of {budget.seconds:g} s, "
            "so it is unknown whether SignTraker applied it.",
            method=method,
            path=path,
        )
    return NetworkError(
        f"The request {method} {path} timed out: the API did not respond within this call's time budget of "
        f"{budget.seconds:g} s (SIGNTRAKER_CALL_BUDGET_SECONDS).",
        method=method,
        path=path,
    )


def _too_large(method: str, path: str, status: int) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"The SignTraker API responded to {method} {path} with more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB; "
        "ask for fewer records with a smaller top or a narrower filter.",
        method=method,
        path=path,
        status_code=status,
    )


def _records(payload: Any, path: str) -> list[Record]:
    if isinstance(payload, dict) and isinstance(payload.get("value"), list):
        # Tolerate an OData envelope, which the documented API does not send.
        payload = payload["value"]
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        raise UnexpectedResponseError(
            f"The SignTraker API responded to GET {path} with something other than a list of records.",
            method="GET",
            path=path,
        )
    return payload


def _record(payload: Any, path: str) -> Record:
    if not isinstance(payload, dict):
        raise UnexpectedResponseError(
            f"The SignTraker API responded to {path} with something other than a JSON object.",
            method="GET",
            path=path,
        )
    return payload


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _clock_after(seconds: float) -> str:
    moment = datetime.fromtimestamp(time.time() + seconds, tz=timezone.utc)
    return moment.strftime("%H:%M:%S UTC")
