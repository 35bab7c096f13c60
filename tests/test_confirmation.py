"""Confirmation tokens and the ledger of used tokens."""

from __future__ import annotations

import pytest

from signtraker_mcp.confirmation import ConfirmationSigner, MemoryTokenLedger, TokenProblem, VerifiedToken, WriteRequest

pytestmark = pytest.mark.anyio

KEY = b"k" * 32
REQUEST = WriteRequest("POST", "/api/orders/5/requestremoval", {"Notes": "Sold"})


def test_signer_accepts_own_token() -> None:
    signer = ConfirmationSigner(KEY, "acme.signtraker.com")
    token, _ = signer.issue("request_removal", REQUEST)
    assert isinstance(signer.verify(token, "request_removal", REQUEST), VerifiedToken)


def test_signer_rejects_other_tool() -> None:
    signer = ConfirmationSigner(KEY, "acme.signtraker.com")
    token, _ = signer.issue("request_removal", REQUEST)
    assert signer.verify(token, "create_order", REQUEST) is TokenProblem.FORGED


def test_signer_rejects_other_tenant() -> None:
    token, _ = ConfirmationSigner(KEY, "acme.signtraker.com").issue("request_removal", REQUEST)
    other = ConfirmationSigner(KEY, "other.signtraker.com")
    assert other.verify(token, "request_removal", REQUEST) is TokenProblem.FORGED


def test_signer_rejects_changed_body() -> None:
    signer = ConfirmationSigner(KEY, "acme.signtraker.com")
    token, _ = signer.issue("request_removal", REQUEST)
    changed = WriteRequest(REQUEST.method, REQUEST.path, {"Notes": "Sold!"})
    assert signer.verify(token, "request_removal", changed) is TokenProblem.MISMATCH


def test_signer_rejects_expired_token() -> None:
    now = [1_000_000.0]
    signer = ConfirmationSigner(KEY, "acme.signtraker.com", clock=lambda: now[0])
    token, expires_at = signer.issue("request_removal", REQUEST)
    now[0] = expires_at + 1
    assert signer.verify(token, "request_removal", REQUEST) is TokenProblem.EXPIRED


def test_signer_token_is_short() -> None:
    token, _ = ConfirmationSigner(KEY, "acme.signtraker.com").issue("request_removal", REQUEST)
    assert len(token) < 64


async def test_ledger_claims_once() -> None:
    ledger = MemoryTokenLedger()
    assert await ledger.claim("n1", expires_at=9e9) is None
    entry = await ledger.claim("n1", expires_at=9e9)
    assert entry is not None
    assert entry.result is None


async def test_ledger_release_allows_new_claim() -> None:
    ledger = MemoryTokenLedger()
    await ledger.claim("n1", expires_at=9e9)
    await ledger.release("n1")
    assert await ledger.claim("n1", expires_at=9e9) is None


async def test_ledger_forgets_expired_entries() -> None:
    now = [100.0]
    ledger = MemoryTokenLedger(clock=lambda: now[0])
    await ledger.claim("n1", expires_at=150.0)
    now[0] = 200.0
    await ledger.claim("n2", expires_at=300.0)
    assert await ledger.peek("n1") is None


def test_signer_reports_made_up_token_as_malformed() -> None:
    signer = ConfirmationSigner(KEY, "acme.signtraker.com")
    assert signer.verify("abc.def.ghi.jkl", "request_removal", REQUEST) is TokenProblem.MALFORMED
