"""A `TokenLedger` in Redis, so that single use of a confirmation token applies across server processes.

Each used token is one key, `signtraker-mcp:confirmation:<nonce>`, created with
`SET NX` (the atomic claim) and an expiry past the token's own. The value is the
JSON form of the `LedgerEntry`: a null result while the commit is in flight, then
the stored outcome that every repeat gets back.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis import asyncio as redis_asyncio
from redis.exceptions import RedisError

from .confirmation import LedgerEntry
from .errors import ConfigurationError, ConfirmationError

__all__ = ["KEY_PREFIX", "RedisTokenLedger", "redact_redis_url"]

logger = logging.getLogger(__name__)

KEY_PREFIX = "signtraker-mcp:confirmation:"

# Entries outlive their token by this long, so that a replica whose clock runs behind
# the one that claimed the token still finds the entry while it accepts the token.
CLOCK_SKEW_MARGIN_SECONDS = 300

# A claim whose key disappears between SET NX and GET (a release in between) is retried this often.
_CLAIM_ATTEMPTS = 3


def redact_redis_url(url: str) -> str:
    """Return `url` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisTokenLedger:
    """A `TokenLedger` shared by every server process that uses the same Redis database."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self._client: redis_asyncio.Redis = redis_asyncio.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=5.0, decode_responses=True
        )
        self._where = redact_redis_url(url)
        self._clock = clock

    async def check(self) -> None:
        """Ping Redis once, raising `ConfigurationError` when it cannot be reached."""
        try:
            await self._client.ping()
        except RedisError as error:
            raise ConfigurationError(
                f"SIGNTRAKER_REDIS_URL: Redis at {self._where} did not respond ({type(error).__name__}: {error}); "
                "start Redis or correct the address, or unset SIGNTRAKER_REDIS_URL to keep used tokens in memory."
            ) from None

    async def aclose(self) -> None:
        """Close the connections to Redis."""
        await self._client.aclose()

    async def claim(self, nonce: str, expires_at: float) -> LedgerEntry | None:
        key = KEY_PREFIX + nonce
        pending = _encode(LedgerEntry(result=None, is_error=False, expires_at=expires_at))
        lifetime = max(1, math.ceil(expires_at - self._clock())) + CLOCK_SKEW_MARGIN_SECONDS
        try:
            for _ in range(_CLAIM_ATTEMPTS):
                if await self._client.set(key, pending, nx=True, ex=lifetime):
                    return None
                existing = _decode(await self._client.get(key))
                if existing is not None:
                    return existing
        except RedisError as error:
            raise self._unreachable(error) from None
        # The key kept vanishing between the two commands; treat the token as busy rather than send twice.
        return LedgerEntry(result=None, is_error=False, expires_at=expires_at)

    async def peek(self, nonce: str) -> LedgerEntry | None:
        try:
            return _decode(await self._client.get(KEY_PREFIX + nonce))
        except RedisError as error:
            raise self._unreachable(error) from None

    async def finish(self, nonce: str, result: dict[str, Any], *, is_error: bool) -> None:
        key = KEY_PREFIX + nonce
        try:
            current = _decode(await self._client.get(key))
            expires_at = current.expires_at if current is not None else self._clock()
            entry = LedgerEntry(result=result, is_error=is_error, expires_at=expires_at)
            # XX with KEEPTTL updates the claimed entry in place and never creates one without expiry.
            await self._client.set(key, _encode(entry), xx=True, keepttl=True)
        except RedisError as error:
            # The write was already sent, so its caller must still get its result; a repeat of the
            # token then finds the entry in flight and sends nothing.
            logger.error(
                "Storing the outcome of confirmation %s in Redis at %s failed: %s: %s",
                nonce,
                self._where,
                type(error).__name__,
                error,
            )

    async def release(self, nonce: str) -> None:
        try:
            await self._client.delete(KEY_PREFIX + nonce)
        except RedisError as error:
            # The token stays claimed until it expires: safe, because nothing is sent for a claimed token.
            logger.error(
                "Releasing confirmation %s in Redis at %s failed: %s: %s",
                nonce,
                self._where,
                type(error).__name__,
                error,
            )

    def _unreachable(self, error: RedisError) -> ConfirmationError:
        logger.error("Redis at %s failed: %s: %s", self._where, type(error).__name__, error)
        return ConfirmationError(
            f"Nothing was sent: the store of used confirmations (Redis at {self._where}) could not be reached "
            f"({type(error).__name__}). Try the same call again in a moment; the confirmation_token stays valid "
            "until it expires.",
            retryable=True,
        )


def _encode(entry: LedgerEntry) -> str:
    return json.dumps(
        {"result": entry.result, "is_error": entry.is_error, "expires_at": entry.expires_at},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _decode(raw: bytes | str | None) -> LedgerEntry | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # Unreadable, so treat the token as in flight: nothing is sent for it again.
        logger.error("A confirmation entry in Redis is not the JSON this server writes: %.80r", raw)
        return LedgerEntry(result=None, is_error=False, expires_at=0.0)
    result = data.get("result")
    return LedgerEntry(
        result=result if isinstance(result, dict) else None,
        is_error=bool(data.get("is_error")),
        expires_at=float(data.get("expires_at", 0.0)),
    )
