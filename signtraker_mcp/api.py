"""An async client for the SignTraker REST API.

One `httpx.AsyncClient` carries the key, the timeouts and the connection pool
for the whole life of the server. GET requests are retried on transient
failures; POST requests never are, because a POST whose answer was lost may
already have created an order or a removal request.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import httpx

from . import __version__
from .config import Settings
from .errors import (
    ApiError,
    NetworkError,
    RateLimitedError,
    UnexpectedResponseError,
    UpstreamServerError,
    error_from_response,
    error_from_transport,
)

__all__ = [
    "MAX_RESPONSE_BYTES",
    "SignTrakerClient",
    "build_http_client",
]

logger = logging.getLogger(__name__)

# Largest response body read from the API. A page of 100 full order records is
# about 150 KB, so this leaves room for records with long notes while keeping a
# misbehaving upstream from filling memory.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
Record = dict[str, Any]


def build_http_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Create the shared HTTP client: base URL, `ST-API` key, JSON headers, timeouts and pool."""
    timeout = settings.timeout_seconds
    return httpx.AsyncClient(
        base_url=settings.base_url,
        headers={
            "Authorization": f"ST-API {settings.api_key.get_secret_value()}",
            "Accept": "application/json",
            "User-Agent": f"signtraker-mcp/{__version__}",
        },
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=20, keepalive_expiry=30.0),
        follow_redirects=False,
        transport=transport,
    )


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    """Read a `Retry-After` header (seconds or an HTTP date); None when absent or malformed."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
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
        self._http = http
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds
        self._budget_seconds = budget_seconds

    async def list_orders(self, params: Mapping[str, str]) -> list[Record]:
        """GET /api/orders with OData query options."""
        return _records(await self._get("/api/orders", params), "/api/orders")

    async def get_order(self, order_id: int) -> Record:
        """GET /api/orders/{id}."""
        path = f"/api/orders/{order_id}"
        return _record(await self._get(path, None, order_id=order_id), path)

    async def create_order(self, body: Mapping[str, Any]) -> Record:
        """POST /api/orders; returns the API's `{Status, Message, RequestId, OrderId}` answer."""
        return _record(await self._post("/api/orders", body), "/api/orders")

    async def request_removal(self, order_id: int, body: Mapping[str, Any]) -> Record:
        """POST /api/orders/{id}/requestremoval; returns the API's answer, typically `{DueDate}`."""
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
        """Send a GET, retrying connection failures, 429, 502, 503 and 504 within the time budget."""
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send("GET", path, params=params, order_id=order_id)
            except (NetworkError, RateLimitedError, UpstreamServerError) as error:
                if not _is_retryable_get(error) or attempt > self._max_retries:
                    if attempt > 1:
                        error.message += f" ({attempt} attempts were made.)"
                    raise
                wait = self._backoff_seconds * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311
                requested = _retry_after_seconds(getattr(error, "retry_after", None), time.time())
                if requested is not None:
                    wait = requested
                remaining = self._budget_seconds - (time.monotonic() - started)
                if wait > remaining:
                    error.message += (
                        f" The API asked to wait {wait:.0f} s, longer than this call can wait;"
                        f" try again after {_clock_after(wait)}."
                        if requested is not None
                        else f" ({attempt} attempts were made.)"
                    )
                    raise
                logger.warning(
                    "Retrying GET %s after %s (attempt %d of %d, waiting %.2f s)",
                    path,
                    error.status_code or type(error.__cause__).__name__,
                    attempt,
                    self._max_retries + 1,
                    wait,
                )
                await asyncio.sleep(wait)

    async def _post(self, path: str, body: Mapping[str, Any], *, order_id: int | None = None) -> Any:
        """Send a POST once. Never retried: a lost answer may hide an applied write."""
        return await self._send("POST", path, json_body=body, order_id=order_id)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        order_id: int | None = None,
    ) -> Any:
        started = time.perf_counter()
        request = self._http.build_request(
            method,
            path,
            params=dict(params) if params else None,
            json=dict(json_body) if json_body is not None else None,
        )
        try:
            response = await self._http.send(request, stream=True)
            try:
                content = await _read_limited(response, method, path)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            logger.info("%s %s failed after %.0f ms: %s", method, path, _elapsed_ms(started), type(exc).__name__)
            raise error_from_transport(exc, method=method, path=path) from exc
        logger.info("%s %s -> %d in %.0f ms", method, path, response.status_code, _elapsed_ms(started))

        if response.status_code >= 400 or response.status_code < 200:
            # The streamed response is closed; hand the mapping a copy with the body already read.
            loaded = httpx.Response(response.status_code, headers=response.headers, content=content, request=request)
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
                f"The SignTraker API answered {method} {path} with a body that is not JSON ({content_type}).",
                method=method,
                path=path,
                status_code=response.status_code,
            ) from None


def _is_retryable_get(error: ApiError) -> bool:
    if isinstance(error, NetworkError):
        return True
    return error.status_code in _RETRY_STATUSES


async def _read_limited(response: httpx.Response, method: str, path: str) -> bytes:
    """Read a response body, refusing one larger than `MAX_RESPONSE_BYTES`."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise _too_large(method, path, response.status_code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _too_large(method, path, response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(method: str, path: str, status: int) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"The SignTraker API answered {method} {path} with more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB; "
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
            f"The SignTraker API answered GET {path} with something other than a list of records.",
            method="GET",
            path=path,
        )
    return payload


def _record(payload: Any, path: str) -> Record:
    if not isinstance(payload, dict):
        raise UnexpectedResponseError(
            f"The SignTraker API answered {path} with something other than a JSON object.",
            method="GET",
            path=path,
        )
    return payload


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _clock_after(seconds: float) -> str:
    moment = datetime.fromtimestamp(time.time() + seconds, tz=timezone.utc)
    return moment.strftime("%H:%M:%S UTC")
