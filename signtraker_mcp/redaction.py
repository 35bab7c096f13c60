"""Removing the API key from text that leaves the process: error messages, upstream bodies and log lines.

The key travels only in the `Authorization` header, but an upstream or a proxy
can echo request headers in an error page, and a debug log of a library can
print what it received. Every such path runs through a `Redactor`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "RedactingFormatter", "Redactor", "redact_logs"]

REDACTED = "[redacted]"

# Shorter values are not real API keys (SignTraker keys are long random strings), and
# replacing a short string everywhere would garble ordinary text and JSON.
MIN_SECRET_LENGTH = 8


class Redactor:
    """Replaces each secret, as written and as escaped inside JSON strings, with `[redacted]`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) < MIN_SECRET_LENGTH:
                continue
            forms.add(secret)
            forms.add(json.dumps(secret)[1:-1])
            forms.add(json.dumps(secret).replace("/", "\\/")[1:-1])
        # Longest first, so that a form containing another is replaced whole.
        self._texts = sorted(forms, key=len, reverse=True)
        self._bytes = [form.encode() for form in self._texts]

    def __bool__(self) -> bool:
        return bool(self._texts)

    def text(self, value: str) -> str:
        """Return `value` with every secret replaced."""
        for form in self._texts:
            value = value.replace(form, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        """Return the bytes `value` with every secret, encoded as UTF-8, replaced."""
        for form in self._bytes:
            value = value.replace(form, REDACTED.encode())
        return value


class RedactingFormatter(logging.Formatter):
    """A formatter that removes secrets from the finished line, message, arguments and traceback included."""

    def __init__(self, inner: logging.Formatter, redactor: Redactor) -> None:
        super().__init__()
        self._inner = inner
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.text(self._inner.format(record))


def redact_logs(secrets: Iterable[str], logger: logging.Logger | None = None) -> None:
    """Make every handler of `logger` (the root logger by default) remove `secrets` from what it writes."""
    redactor = Redactor(secrets)
    if not redactor:
        return
    target = logger or logging.getLogger()
    for handler in target.handlers:
        inner = handler.formatter or logging.Formatter()
        handler.setFormatter(RedactingFormatter(inner, redactor))
