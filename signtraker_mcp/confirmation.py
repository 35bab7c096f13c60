"""Confirmation tokens that bind a user's approval to one exact write request.

A preview of a mutating call returns a token sealed with HMAC-SHA256 over the
tool name, the tenant, a digest of the exact request that would be sent, an
expiry and a random nonce. The commit call must bring a token that matches the
request it would send now, so a model cannot approve one request and send
another. Each token is used once: the ledger remembers the outcome of the
first commit and returns it to any repeat.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "TOKEN_LIFETIME_SECONDS",
    "ConfirmationSigner",
    "LedgerEntry",
    "MemoryTokenLedger",
    "TokenLedger",
    "TokenProblem",
    "VerifiedToken",
    "WriteRequest",
]

TOKEN_LIFETIME_SECONDS = 600
_DIGEST_PREFIX_LENGTH = 12


@dataclass(frozen=True)
class WriteRequest:
    """The exact HTTP request a mutating tool sends: method, path and JSON body."""

    method: str
    path: str
    body: Mapping[str, Any]

    def digest(self) -> str:
        """Hash the canonical JSON form of the request."""
        canonical = json.dumps(
            {"method": self.method, "path": self.path, "body": self.body},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        """Return the request as a JSON-ready mapping for a preview."""
        return {"method": self.method, "path": self.path, "body": dict(self.body)}


class TokenProblem(enum.Enum):
    """The reason a confirmation token was rejected, phrased for the model and the user."""

    MISSING = "confirm was true but no confirmation_token was given"
    MALFORMED = "the confirmation_token is not one this server issued"
    MISMATCH = "the arguments differ from the ones in the preview the token was issued for"
    FORGED = "the confirmation_token was not issued by this server for this tenant and tool"
    EXPIRED = "the confirmation_token has expired"


@dataclass(frozen=True)
class VerifiedToken:
    """A token that matched its request; `nonce` identifies it in the ledger."""

    nonce: str
    expires_at: float


class ConfirmationSigner:
    """Mint and check confirmation tokens with one secret key."""

    def __init__(
        self,
        key: bytes,
        tenant: str,
        *,
        lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._tenant = tenant
        self._lifetime = lifetime_seconds
        self._clock = clock

    def issue(self, tool: str, request: WriteRequest) -> tuple[str, float]:
        """Return a token for `request` and the time it expires (seconds since the epoch)."""
        expires_at = int(self._clock()) + self._lifetime
        nonce = secrets.token_urlsafe(9)
        digest = request.digest()
        mac = self._mac(tool, digest, expires_at, nonce)
        token = f"{expires_at:x}.{nonce}.{digest[:_DIGEST_PREFIX_LENGTH]}.{mac}"
        return token, float(expires_at)

    def verify(self, token: str | None, tool: str, request: WriteRequest) -> VerifiedToken | TokenProblem:
        """Check `token` against the request the call would send now."""
        if not token:
            return TokenProblem.MISSING
        parts = token.strip().split(".")
        if len(parts) != 4:
            return TokenProblem.MALFORMED
        expires_hex, nonce, digest_prefix, mac = parts
        try:
            expires_at = int(expires_hex, 16)
        except ValueError:
            return TokenProblem.MALFORMED
        if len(digest_prefix) != _DIGEST_PREFIX_LENGTH or not all(c in "0123456789abcdef" for c in digest_prefix):
            return TokenProblem.MALFORMED
        digest = request.digest()
        if not hmac.compare_digest(digest_prefix, digest[:_DIGEST_PREFIX_LENGTH]):
            return TokenProblem.MISMATCH
        if not hmac.compare_digest(mac, self._mac(tool, digest, expires_at, nonce)):
            return TokenProblem.FORGED
        if self._clock() > expires_at:
            return TokenProblem.EXPIRED
        return VerifiedToken(nonce=nonce, expires_at=float(expires_at))

    def _mac(self, tool: str, digest: str, expires_at: int, nonce: str) -> str:
        message = "\n".join(("signtraker-confirmation-v1", tool, self._tenant, digest, str(expires_at), nonce))
        raw = hmac.new(self._key, message.encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class LedgerEntry:
    """The state of one used token: in flight, or finished with a stored result."""

    result: dict[str, Any] | None
    is_error: bool
    expires_at: float


class TokenLedger(Protocol):
    """The store of used tokens and of the outcome of their commit.

    `claim` must be atomic: of several concurrent claims of one nonce, exactly
    one returns None and may send the write.
    """

    async def claim(self, nonce: str, expires_at: float) -> LedgerEntry | None:
        """Claim a token; return None when this call may send, or the entry of an earlier use."""
        ...

    async def peek(self, nonce: str) -> LedgerEntry | None:
        """Return the entry of a token that was already used, or None."""
        ...

    async def finish(self, nonce: str, result: dict[str, Any], *, is_error: bool) -> None:
        """Store the outcome of a commit, returned to every repeat of the same token."""
        ...

    async def release(self, nonce: str) -> None:
        """Give a token back after a commit that certainly changed nothing, so it may be tried again."""
        ...


class MemoryTokenLedger:
    """A `TokenLedger` in this process's memory, so single use applies per process.

    Entries are dropped once their token has expired, since an expired token is
    refused before the ledger is read.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._entries: dict[str, LedgerEntry] = {}
        self._clock = clock

    async def claim(self, nonce: str, expires_at: float) -> LedgerEntry | None:
        self._forget_expired()
        existing = self._entries.get(nonce)
        if existing is not None:
            return existing
        self._entries[nonce] = LedgerEntry(result=None, is_error=False, expires_at=expires_at)
        return None

    async def peek(self, nonce: str) -> LedgerEntry | None:
        return self._entries.get(nonce)

    async def finish(self, nonce: str, result: dict[str, Any], *, is_error: bool) -> None:
        entry = self._entries.get(nonce)
        if entry is not None:
            entry.result = result
            entry.is_error = is_error

    async def release(self, nonce: str) -> None:
        self._entries.pop(nonce, None)

    def _forget_expired(self) -> None:
        now = self._clock()
        expired = [nonce for nonce, entry in self._entries.items() if entry.expires_at < now]
        for nonce in expired:
            del self._entries[nonce]
