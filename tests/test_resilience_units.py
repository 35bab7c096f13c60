"""The parts behind resilient calls, one at a time: settings, size budget, body limits, redaction, call budget."""

from __future__ import annotations

import email.utils
import gzip
import json
import logging
import time

import httpx
import pytest

from signtraker_mcp.api import MAX_RESPONSE_BYTES, SignTrakerClient, _retry_after_seconds
from signtraker_mcp.body import BodyTooLargeError, MalformedBodyError, read_limited_body
from signtraker_mcp.budget import MAX_PAGE_BYTES, fit_page, json_size
from signtraker_mcp.config import load_settings
from signtraker_mcp.deadline import CallBudget, call_budget, current_call_budget
from signtraker_mcp.errors import (
    RETRY_MAY_HELP,
    RETRY_WILL_NOT_HELP,
    ConfigurationError,
    NetworkError,
    OutcomeUnknownError,
    with_retry_advice,
)
from signtraker_mcp.redaction import REDACTED, RedactingFormatter, Redactor

from .conftest import RESILIENCE_API_KEY
from .upstream import Fault, Upstream, make_order

BASE = {"SIGNTRAKER_API_KEY": "abc123abc123", "SIGNTRAKER_SUBDOMAIN": "acme"}


def test_load_settings_resilience_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.max_retries == 2
    assert settings.retry_backoff_seconds == 0.5
    assert settings.connect_timeout_seconds == 10
    assert settings.call_budget_seconds == 40
    assert settings.timeout_seconds == 30


def test_load_settings_reads_resilience_variables() -> None:
    settings = load_settings(
        {
            **BASE,
            "SIGNTRAKER_MAX_RETRIES": "5",
            "SIGNTRAKER_RETRY_BACKOFF_SECONDS": "0",
            "SIGNTRAKER_CONNECT_TIMEOUT_SECONDS": "2.5",
            "SIGNTRAKER_CALL_BUDGET_SECONDS": "20",
        }
    )
    assert settings.max_retries == 5
    assert settings.retry_backoff_seconds == 0
    assert settings.connect_timeout_seconds == 2.5
    assert settings.call_budget_seconds == 20


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"SIGNTRAKER_MAX_RETRIES": "-1"}, "SIGNTRAKER_MAX_RETRIES='-1' is invalid", id="negative-retries"),
        pytest.param({"SIGNTRAKER_MAX_RETRIES": "11"}, "from 0 to 10", id="many-retries"),
        pytest.param({"SIGNTRAKER_MAX_RETRIES": "two"}, "whole number of retries", id="text-retries"),
        pytest.param({"SIGNTRAKER_MAX_RETRIES": "1.5"}, "whole number of retries", id="fraction-retries"),
        pytest.param({"SIGNTRAKER_MAX_RETRIES": "²"}, "whole number of retries", id="superscript-retries"),
        pytest.param({"SIGNTRAKER_RETRY_BACKOFF_SECONDS": "-0.1"}, "out of range", id="negative-backoff"),
        pytest.param({"SIGNTRAKER_RETRY_BACKOFF_SECONDS": "fast"}, "is not a number", id="text-backoff"),
        pytest.param({"SIGNTRAKER_CONNECT_TIMEOUT_SECONDS": "0"}, "out of range", id="zero-connect"),
        pytest.param({"SIGNTRAKER_CONNECT_TIMEOUT_SECONDS": "soon"}, "is not a number", id="text-connect"),
        pytest.param({"SIGNTRAKER_CALL_BUDGET_SECONDS": "0"}, "out of range", id="zero-budget"),
        pytest.param({"SIGNTRAKER_CALL_BUDGET_SECONDS": "nan"}, "out of range", id="nan-budget"),
        pytest.param({"SIGNTRAKER_API_KEY": "clé-secrète-123"}, "outside ASCII", id="non-ascii-key"),
        pytest.param({"SIGNTRAKER_SUBDOMAIN": "acme\u212a"}, "not a valid host label", id="kelvin-sign"),
    ],
)
def test_load_settings_rejects_resilience_values(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({**BASE, **changes})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("7", 7.0, id="seconds"),
        pytest.param(" 0 ", 0.0, id="zero"),
        pytest.param("soon", None, id="text"),
        pytest.param("-5", None, id="negative"),
        pytest.param("1.5", None, id="fraction"),
        pytest.param("٣", None, id="arabic-digit"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_retry_after_seconds_parses(value: str | None, expected: float | None) -> None:
    assert _retry_after_seconds(value, time.time()) == expected


def test_retry_after_seconds_reads_http_date() -> None:
    now = time.time()
    wait = _retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now)
    assert wait is not None
    assert 29 <= wait <= 30


def test_retry_after_seconds_past_date_is_zero() -> None:
    now = time.time()
    assert _retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now) == 0


@pytest.mark.parametrize(
    ("message", "retryable", "expected"),
    [
        pytest.param("Failed.", True, f"Failed. {RETRY_MAY_HELP}", id="retryable"),
        pytest.param("Failed.", False, f"Failed. {RETRY_WILL_NOT_HELP}", id="final"),
        pytest.param(f"Failed. {RETRY_MAY_HELP}", True, f"Failed. {RETRY_MAY_HELP}", id="already-said"),
        pytest.param(
            "Retrying will not help until the key is fixed.",
            False,
            "Retrying will not help until the key is fixed.",
            id="said-precisely",
        ),
    ],
)
def test_with_retry_advice_appends_once(message: str, retryable: bool, expected: str) -> None:
    assert with_retry_advice(message, retryable) == expected


def test_outcome_unknown_error_is_not_retryable() -> None:
    assert OutcomeUnknownError("lost", method="POST", path="/api/orders").retryable is False
    assert NetworkError("lost", method="GET", path="/api/orders").retryable is True


def _records(count: int, notes_length: int = 0) -> list[dict[str, object]]:
    return [make_order(order_id, Notes="n" * notes_length) for order_id in range(1, count + 1)]


def test_fit_page_keeps_small_page() -> None:
    page = _records(5)
    fit = fit_page(page, received=5, top=5, skip=0)
    assert fit.records == page
    assert fit.has_more is False
    assert fit.next_skip is None
    assert fit.notes == []


def test_fit_page_reports_more_when_api_returned_extra() -> None:
    records = _records(6)
    fit = fit_page(records[:5], received=6, top=5, skip=10)
    assert len(fit.records) == 5
    assert fit.has_more is True
    assert fit.next_skip == 15
    assert fit.notes == []


def test_fit_page_notes_ignored_top() -> None:
    records = _records(3000)
    fit = fit_page(records[:5], received=3000, top=5, skip=0)
    assert [record["Id"] for record in fit.records] == [1, 2, 3, 4, 5]
    assert fit.has_more is True
    assert fit.next_skip == 5
    assert "returned 3000 orders where at most 6 were requested" in fit.notes[0]


def test_fit_page_cuts_by_whole_records() -> None:
    page = _records(100, notes_length=1500)
    fit = fit_page(page, received=101, top=100, skip=0)
    assert 0 < len(fit.records) < 100
    assert fit.records == page[: len(fit.records)]
    assert json_size(fit.records) <= MAX_PAGE_BYTES
    assert json_size(page[: len(fit.records) + 1]) > MAX_PAGE_BYTES
    assert fit.has_more is True
    assert fit.next_skip == len(fit.records)
    assert f"call again with skip={len(fit.records)}" in fit.notes[0].lower()
    assert "smaller top" in fit.notes[0]
    assert "select" in fit.notes[0]


def test_fit_page_cut_keeps_has_more() -> None:
    page = _records(50, notes_length=3000)
    fit = fit_page(page, received=50, top=50, skip=20)
    assert fit.has_more is True
    assert fit.next_skip == 20 + len(fit.records)


def test_fit_page_skips_one_oversized_record() -> None:
    page = [make_order(7, Notes="n" * (MAX_PAGE_BYTES + 1)), make_order(8)]
    fit = fit_page(page, received=2, top=2, skip=40)
    assert fit.records == []
    assert fit.has_more is True
    assert fit.next_skip == 41
    assert "Id 7 alone is larger" in fit.notes[0]
    assert "get_order" in fit.notes[0]


def test_fit_page_measures_utf8_bytes() -> None:
    emoji_record = {"Id": 1, "Notes": "🏡" * 1000}
    assert json_size(emoji_record) == len('{"Id":1,"Notes":""}') + 4000
    fit = fit_page([emoji_record, {"Id": 2, "Notes": "🏡" * 1000}], received=2, top=2, skip=0, max_bytes=5000)
    assert len(fit.records) == 1


def test_redactor_replaces_plain_and_json_escaped_forms() -> None:
    redactor = Redactor(['abc/def"ghi123'])
    assert redactor.text('key abc/def"ghi123 end') == f"key {REDACTED} end"
    assert redactor.text(json.dumps({"k": 'abc/def"ghi123'})) == '{"k": "' + REDACTED + '"}'
    assert redactor.text('abc\\/def\\"ghi123') == REDACTED
    assert redactor.data(b'x abc/def"ghi123 y') == f"x {REDACTED} y".encode()


def test_redactor_ignores_short_values() -> None:
    redactor = Redactor(["k", ""])
    assert not redactor
    assert redactor.text("key") == "key"


def test_redacting_formatter_covers_arguments_and_tracebacks() -> None:
    formatter = RedactingFormatter(logging.Formatter("%(message)s"), Redactor([RESILIENCE_API_KEY]))
    try:
        raise ValueError(f"bad {RESILIENCE_API_KEY}")
    except ValueError as error:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "got %s", (RESILIENCE_API_KEY,), (type(error), error, error.__traceback__)
        )
    line = formatter.format(record)
    assert RESILIENCE_API_KEY not in line
    assert line.count(REDACTED) == 2


def test_call_budget_counts_only_spending_blocks() -> None:
    budget = CallBudget(10)
    with budget.spending():
        time.sleep(0.05)
    time.sleep(0.05)
    assert 9.9 < budget.remaining() <= 9.95


def test_call_budget_nested_blocks_count_once() -> None:
    budget = CallBudget(10)
    with budget.spending(), budget.spending():
        time.sleep(0.05)
    assert 9.9 < budget.remaining() <= 9.95


def test_call_budget_never_negative() -> None:
    budget = CallBudget(0.01)
    with budget.spending():
        time.sleep(0.03)
    assert budget.remaining() == 0


def test_call_budget_scope_sets_and_restores() -> None:
    assert current_call_budget() is None
    with call_budget(5) as budget:
        assert current_call_budget() is budget
    assert current_call_budget() is None


async def _read(upstream: Upstream, fault: Fault, limit: int) -> bytes:
    fault.path = "/api/orders/1"
    upstream.script(fault)
    async with (
        httpx.AsyncClient(base_url=upstream.base_url, headers={"Accept-Encoding": "gzip"}) as http,
        http.stream("GET", "/api/orders/1") as response,
    ):
        return await read_limited_body(response, limit)


@pytest.mark.anyio
async def test_read_limited_body_decodes_gzip(upstream: Upstream) -> None:
    body = json.dumps(make_order(1)).encode()
    fault = Fault(body=gzip.compress(body), headers={"content-encoding": "gzip"})
    assert await _read(upstream, fault, 10_000) == body


@pytest.mark.anyio
async def test_read_limited_body_accepts_exact_limit(upstream: Upstream) -> None:
    assert await _read(upstream, Fault(body=b"x" * 1000), 1000) == b"x" * 1000


@pytest.mark.anyio
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(body=b"x" * 1001), id="declared"),
        pytest.param(Fault(body=b"x" * 1001, chunked=True), id="chunked"),
        pytest.param(
            Fault(body=gzip.compress(b"x" * 10_000_000), headers={"content-encoding": "gzip"}), id="gzip-bomb"
        ),
    ],
)
async def test_read_limited_body_rejects_over_limit(upstream: Upstream, fault: Fault) -> None:
    with pytest.raises(BodyTooLargeError):
        await _read(upstream, fault, 1000)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        pytest.param(
            Fault(body=b"plain", headers={"content-encoding": "deflate"}),
            "'deflate', which was not requested",
            id="deflate",
        ),
        pytest.param(Fault(body=b"not gzip", headers={"content-encoding": "gzip"}), "corrupt", id="corrupt"),
        pytest.param(
            Fault(body=gzip.compress(b"[1]") + b"tail", headers={"content-encoding": "gzip"}),
            "data after its end",
            id="trailing",
        ),
    ],
)
async def test_read_limited_body_rejects_malformed(upstream: Upstream, fault: Fault, message: str) -> None:
    with pytest.raises(MalformedBodyError, match=message):
        await _read(upstream, fault, 10_000)


@pytest.mark.anyio
async def test_client_budget_applies_outside_tool_calls(upstream: Upstream) -> None:
    upstream.script(Fault(hang=True, path="/api/orders/1"))
    settings = load_settings({"SIGNTRAKER_BASE_URL": upstream.base_url, "SIGNTRAKER_API_KEY": RESILIENCE_API_KEY})
    async with httpx.AsyncClient(base_url=settings.base_url) as http:
        client = SignTrakerClient(http, max_retries=0, budget_seconds=0.3)
        started = time.monotonic()
        with pytest.raises(NetworkError, match=r"time budget of 0\.3 s"):
            await client.get_order(1)
    assert time.monotonic() - started < 1.5


def test_max_response_bytes_is_8_mib() -> None:
    assert MAX_RESPONSE_BYTES == 8 * 1024 * 1024
