"""The Redis ledger of used confirmation tokens, against a real redis-server."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator

import anyio
import pytest
import redis

from signtraker_mcp.errors import ConfirmationError
from signtraker_mcp.redis_ledger import CLOCK_SKEW_MARGIN_SECONDS, KEY_PREFIX, RedisTokenLedger, redact_redis_url

from .conftest import free_loopback_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ledger(redis_url: str) -> AsyncIterator[RedisTokenLedger]:
    opened = RedisTokenLedger(redis_url)
    yield opened
    await opened.aclose()


def _nonce() -> str:
    return secrets.token_urlsafe(9)


async def test_redis_ledger_first_claim_wins(ledger: RedisTokenLedger) -> None:
    nonce = _nonce()
    assert await ledger.claim(nonce, time.time() + 600) is None
    second = await ledger.claim(nonce, time.time() + 600)
    assert second is not None
    assert second.result is None


async def test_redis_ledger_concurrent_claims_one_winner(redis_url: str) -> None:
    """Ten processes' worth of ledgers claim one token at once; exactly one may send."""
    nonce = _nonce()
    ledgers = [RedisTokenLedger(redis_url) for _ in range(10)]
    outcomes: list[bool] = []

    async def claim(ledger: RedisTokenLedger) -> None:
        outcomes.append(await ledger.claim(nonce, time.time() + 600) is None)

    async with anyio.create_task_group() as group:
        for ledger in ledgers:
            group.start_soon(claim, ledger)
    for ledger in ledgers:
        await ledger.aclose()
    assert outcomes.count(True) == 1


async def test_redis_ledger_finish_returns_result_to_repeats(redis_url: str, ledger: RedisTokenLedger) -> None:
    nonce = _nonce()
    await ledger.claim(nonce, time.time() + 600)
    await ledger.finish(nonce, {"status": "submitted"}, is_error=False)
    other = RedisTokenLedger(redis_url)
    try:
        entry = await other.peek(nonce)
    finally:
        await other.aclose()
    assert entry is not None
    assert entry.result == {"status": "submitted"}
    assert entry.is_error is False


async def test_redis_ledger_entry_expires_after_token(redis_url: str, ledger: RedisTokenLedger) -> None:
    nonce = _nonce()
    await ledger.claim(nonce, time.time() + 60)
    await ledger.finish(nonce, {"message": "lost"}, is_error=True)
    with redis.Redis.from_url(redis_url) as direct:
        remaining = direct.ttl(KEY_PREFIX + nonce)
    assert 60 < remaining <= 60 + CLOCK_SKEW_MARGIN_SECONDS + 1


async def test_redis_ledger_release_allows_new_claim(ledger: RedisTokenLedger) -> None:
    nonce = _nonce()
    await ledger.claim(nonce, time.time() + 600)
    await ledger.release(nonce)
    assert await ledger.peek(nonce) is None
    assert await ledger.claim(nonce, time.time() + 600) is None


async def test_redis_ledger_finish_without_claim_creates_nothing(ledger: RedisTokenLedger) -> None:
    nonce = _nonce()
    await ledger.finish(nonce, {"status": "submitted"}, is_error=False)
    assert await ledger.peek(nonce) is None


async def test_redis_ledger_unreachable_sends_nothing() -> None:
    unreachable = RedisTokenLedger(f"redis://127.0.0.1:{free_loopback_port()}/0")
    try:
        with pytest.raises(ConfirmationError, match="Nothing was sent") as raised:
            await unreachable.claim(_nonce(), time.time() + 600)
    finally:
        await unreachable.aclose()
    assert raised.value.retryable is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", id="no-password"),
        pytest.param("redis://:hunter2@cache:6380/1", "redis://:***@cache:6380/1", id="password"),
        pytest.param("rediss://app:hunter2@cache/0", "rediss://app:***@cache/0", id="user-and-password"),
    ],
)
def test_redis_ledger_redacts_password(url: str, expected: str) -> None:
    assert redact_redis_url(url) == expected
