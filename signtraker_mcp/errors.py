"""Errors raised by signtraker-mcp, and the one mapping from HTTP failures onto them.

Every message is written for two readers: the model that called a tool and the
person behind it. It names what was attempted, quotes the offending value, and
tells what to do next. No message carries the API key, a traceback or a raw
upstream body.

    SignTrakerError                  base; `retryable` tells whether trying later can help
    ├── ConfigurationError           invalid or missing settings, raised at start-up
    ├── InvalidArgumentError         a tool argument failed validation; nothing was sent
    ├── ConfirmationError            a mutating call was not confirmed properly; nothing was sent
    ├── ReadOnlyModeError            a mutating tool was called on a read-only server
    └── ApiError                     a request to the SignTraker API failed
        ├── BadRequestError          400: the API rejected the request, with its message
        ├── AuthenticationError      401 or 403: the API key was rejected
        ├── NotFoundError            404: the order or path does not exist
        ├── RateLimitedError         429: the API asked to slow down
        ├── UpstreamServerError      5xx: the API or a proxy in front of it failed
        ├── UnexpectedResponseError  another status, or a body that is not the expected JSON
        └── NetworkError             no HTTP response: connection refused, DNS, timeout
            └── OutcomeUnknownError  a write was sent but its outcome is unknown
"""

from __future__ import annotations

import json
import re

import httpx

__all__ = [
    "RETRY_MAY_HELP",
    "RETRY_WILL_NOT_HELP",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConfirmationError",
    "InvalidArgumentError",
    "NetworkError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "ReadOnlyModeError",
    "SignTrakerError",
    "UnexpectedResponseError",
    "UpstreamServerError",
    "error_from_response",
    "error_from_transport",
    "quote_upstream_text",
    "with_retry_advice",
]

# Maximum length, in characters, of upstream text quoted back to the model.
MAX_QUOTED_TEXT = 300

API_KEY_HELP = "A user finds their API key in SignTraker under My Profile; set it in SIGNTRAKER_API_KEY."

# The closing sentence of every tool error, so a model can tell whether calling again later is worth it.
RETRY_MAY_HELP = "Retrying later may help."
RETRY_WILL_NOT_HELP = "Retrying the same call will not help."


class SignTrakerError(Exception):
    """Base of every error this package raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class ConfigurationError(SignTrakerError):
    """A setting is missing or invalid; the server cannot start."""


class InvalidArgumentError(SignTrakerError):
    """A tool argument is invalid; the message names it and the rule it broke."""


class ConfirmationError(SignTrakerError):
    """A mutating call lacked a valid confirmation; nothing was sent."""


class ReadOnlyModeError(SignTrakerError):
    """A mutating tool was called while the server runs in read-only mode."""


class ApiError(SignTrakerError):
    """A request to the SignTraker API failed."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status_code: int | None = None,
        retryable: bool | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.method = method
        self.path = path
        self.status_code = status_code
        # The Retry-After header of the response, when it had one (429 and 503 usually do).
        self.retry_after = retry_after


class BadRequestError(ApiError):
    """The API responded 400: the request is invalid as sent."""

    def __init__(self, message: str, *, method: str, path: str, api_message: str | None) -> None:
        super().__init__(message, method=method, path=path, status_code=400)
        self.api_message = api_message


class AuthenticationError(ApiError):
    """The API responded 401 or 403: the key is wrong, expired or lacks access."""


class NotFoundError(ApiError):
    """The API responded 404."""


class RateLimitedError(ApiError):
    """The API responded 429."""

    retryable = True

    def __init__(self, message: str, *, method: str, path: str, retry_after: str | None) -> None:
        super().__init__(message, method=method, path=path, status_code=429, retry_after=retry_after)


class UpstreamServerError(ApiError):
    """The API, or a proxy in front of it, responded with a 5xx status."""

    retryable = True


class UnexpectedResponseError(ApiError):
    """The API responded with a status or a body this client does not expect."""


class NetworkError(ApiError):
    """No HTTP response arrived: the connection failed or timed out."""

    retryable = True


class OutcomeUnknownError(NetworkError):
    """A write request may have reached the API, but no usable response came back."""

    # Sending the write again could apply it twice; the order must be checked first.
    retryable = False


def with_retry_advice(message: str, retryable: bool) -> str:
    """Return `message` ending with the sentence that tells whether retrying later can help."""
    advice = RETRY_MAY_HELP if retryable else RETRY_WILL_NOT_HELP
    # Some messages already state it, more precisely ("Retrying will not help until the key is fixed.").
    if advice in message or (not retryable and "will not help" in message):
        return message
    return f"{message} {advice}"


_WHITESPACE = re.compile(r"\s+")
_MESSAGE_KEYS = ("Message", "message", "error", "detail", "title")


def quote_upstream_text(text: str) -> str:
    """Return upstream text as one quoted, shortened line, to be read as data and not as an instruction."""
    flat = _WHITESPACE.sub(" ", text).strip()
    if len(flat) > MAX_QUOTED_TEXT:
        flat = flat[: MAX_QUOTED_TEXT - 1] + "…"
    return json.dumps(flat, ensure_ascii=False)


def _api_message(response: httpx.Response) -> str | None:
    """Extract the API's own error message from a JSON body, or None when there is none."""
    if "json" not in response.headers.get("content-type", "") and not response.content.startswith(b"{"):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, str):
        return body or None
    if not isinstance(body, dict):
        return None
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            message = value.strip()
            break
    else:
        message = ""
    details = _validation_details(body.get("errors"))
    if details:
        message = f"{message} ({details})" if message else details
    return message or None


def _validation_details(errors: object) -> str:
    """Flatten an ASP.NET-style `errors` map ({"Field": ["problem", ...]}) into one line."""
    if not isinstance(errors, dict):
        return ""
    parts: list[str] = []
    for field, problems in errors.items():
        text = "; ".join(str(problem) for problem in problems) if isinstance(problems, list) else str(problems)
        parts.append(f"{field}: {text}")
    return "; ".join(parts)


def _describe(method: str, path: str) -> str:
    return f"{method} {path}"


def error_from_response(response: httpx.Response, *, order_id: int | None = None) -> ApiError:
    """Map an unsuccessful HTTP response onto the error hierarchy.

    `order_id` names the order in a 404 message when the request was about one.
    """
    method = response.request.method
    path = response.request.url.path
    status = response.status_code
    attempted = _describe(method, path)
    api_message = _api_message(response)

    if status == 400:
        if api_message:
            text = f"The SignTraker API rejected {attempted}: {quote_upstream_text(api_message)}."
        else:
            text = f"The SignTraker API rejected {attempted} as invalid, without saying why."
        return BadRequestError(
            text + " Correct the arguments before trying again.",
            method=method,
            path=path,
            api_message=api_message,
        )
    if status in (401, 403):
        verb = "rejected" if status == 401 else "refused access with"
        return AuthenticationError(
            f"The SignTraker API {verb} the configured API key (HTTP {status}) on {attempted}. "
            f"{API_KEY_HELP} Retrying will not help until the key is fixed.",
            method=method,
            path=path,
            status_code=status,
        )
    if status == 404:
        if order_id is not None:
            text = f"Order {order_id} was not found. Check the id with list_orders; ids are the Id field."
        else:
            text = f"The SignTraker API has no resource at {attempted} (HTTP 404)."
        return NotFoundError(text, method=method, path=path, status_code=404)
    if status == 429:
        retry_after = response.headers.get("retry-after")
        wait = f" It asked to wait {quote_upstream_text(retry_after)}." if retry_after else ""
        return RateLimitedError(
            f"The SignTraker API is rate limiting requests (HTTP 429) on {attempted}.{wait} Try again later.",
            method=method,
            path=path,
            retry_after=retry_after,
        )
    if status >= 500:
        detail = f": {quote_upstream_text(api_message)}" if api_message else ""
        return UpstreamServerError(
            f"The SignTraker API failed on {attempted} with HTTP {status}{detail}. "
            "This is a problem on the API side; try again in a minute.",
            method=method,
            path=path,
            status_code=status,
            retry_after=response.headers.get("retry-after"),
        )
    return UnexpectedResponseError(
        f"The SignTraker API responded to {attempted} with an unexpected HTTP {status}.",
        method=method,
        path=path,
        status_code=status,
    )


def error_from_transport(exc: httpx.TransportError, *, method: str, path: str) -> NetworkError:
    """Map an httpx transport failure (no response) onto the error hierarchy.

    For a write request, an error that may occur after the request left this
    machine becomes `OutcomeUnknownError`: the write may have been applied.
    """
    attempted = _describe(method, path)
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(exc, httpx.ConnectTimeout):
        failure = "timed out while connecting"
    elif isinstance(exc, httpx.ConnectError):
        failure = "could not connect (connection refused or host not found)"
    elif isinstance(exc, httpx.PoolTimeout):
        failure = "timed out waiting for a free connection"
    elif isinstance(exc, httpx.TimeoutException):
        failure = "timed out waiting for the response"
    elif isinstance(exc, httpx.RemoteProtocolError):
        failure = "lost the connection before a complete answer arrived"
    else:
        failure = f"failed with a network error ({type(exc).__name__})"

    if method != "GET" and not never_sent:
        return OutcomeUnknownError(
            f"The request {attempted} {failure}, so it is unknown whether SignTraker applied it.",
            method=method,
            path=path,
        )
    return NetworkError(
        f"The request {attempted} {failure}. Check the network and SIGNTRAKER_BASE_URL or "
        "SIGNTRAKER_SUBDOMAIN, then try again.",
        method=method,
        path=path,
    )
