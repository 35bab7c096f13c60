"""Settings of the MCP server, read from the environment and the command line.

The variable names are the ones the existing SignTraker Python client reads,
so a user of that client can reuse their environment as it is.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_CALL_BUDGET_SECONDS",
    "DEFAULT_CONNECT_TIMEOUT_SECONDS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_BACKOFF_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "ConfirmationPolicy",
    "Settings",
    "is_loopback_host",
    "load_settings",
    "read_bool",
]

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 300.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
# Common MCP clients give up on a tool call after 60 s, so the API work of one call,
# retries and waits included, ends well before that by default.
DEFAULT_CALL_BUDGET_SECONDS = 40.0
DEFAULT_MAX_RETRIES = 2
MAX_RETRIES_LIMIT = 10
DEFAULT_RETRY_BACKOFF_SECONDS = 0.5
MAX_RETRY_BACKOFF_SECONDS = 30.0
TRANSPORTS = ("stdio", "http")
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8000
# A tool call is a few kilobytes of JSON; 1 MiB is also nginx's default client_max_body_size.
DEFAULT_HTTP_MAX_BODY_BYTES = 1024 * 1024
MIN_BEARER_TOKEN_LENGTH = 32

# A DNS label: letters, digits and inner hyphens, at most 63 characters. Anything
# else (dots, slashes, "@", ports) could point requests at another host.
# re.ASCII keeps IGNORECASE from matching look-alikes such as the Kelvin sign (U+212A) as "k".
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE | re.ASCII)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ConfirmationPolicy(str, enum.Enum):
    """The policy by which a mutating tool call proves that a person approved it."""

    AUTO = "auto"
    """A confirmation token always, and the user's approval too when the client can ask."""
    HUMAN = "human"
    """A confirmation token and the user's approval; clients that cannot ask are refused."""
    TOKEN = "token"  # noqa: S105 - a policy name, not a secret
    """A confirmation token only, for unattended pipelines."""


@dataclass(frozen=True)
class Settings:
    """Validated server settings."""

    api_key: SecretStr
    base_url: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    read_only: bool = False
    confirmation: ConfirmationPolicy = ConfirmationPolicy.AUTO
    confirmation_key: SecretStr | None = None
    sandbox: bool = False
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    call_budget_seconds: float = DEFAULT_CALL_BUDGET_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_backoff_seconds: float = DEFAULT_RETRY_BACKOFF_SECONDS
    transport: str = "stdio"
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int = DEFAULT_HTTP_PORT
    http_bearer_tokens: tuple[SecretStr, ...] = ()
    http_allowed_hosts: tuple[str, ...] = ()
    http_allowed_origins: tuple[str, ...] = ()
    http_public_url: str | None = None
    http_max_body_bytes: int = DEFAULT_HTTP_MAX_BODY_BYTES
    allow_client_api_key: bool = False
    redis_url: SecretStr | None = None

    @property
    def tenant(self) -> str:
        """The API host that requests go to, for messages and for binding confirmations."""
        return urlsplit(self.base_url).netloc


def is_loopback_host(host: str) -> bool:
    """Tell whether `host` names this machine (localhost or a loopback address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_bool(name: str, raw: str) -> bool:
    """Read a boolean setting: true/false, 1/0, yes/no, on/off; blank is false."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean; use true or false.")


def _read_timeout(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a number; give the timeout in seconds, for example 30."
        ) from None
    if not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise ConfigurationError(
            f"{name}={raw!r} is out of range; give a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS:g}."
        )
    return value


def _read_retries(name: str, raw: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_RETRIES_LIMIT:
        raise ConfigurationError(
            f"{name}={raw!r} is invalid; give a whole number of retries from 0 to {MAX_RETRIES_LIMIT}, for example 2."
        )
    return int(text)


def _read_backoff(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a number; give the first retry's wait in seconds, for example 0.5."
        ) from None
    if not 0 <= value <= MAX_RETRY_BACKOFF_SECONDS:
        raise ConfigurationError(
            f"{name}={raw!r} is out of range; give a number of seconds from 0 to {MAX_RETRY_BACKOFF_SECONDS:g}."
        )
    return value


def _read_policy(name: str, raw: str) -> ConfirmationPolicy:
    try:
        return ConfirmationPolicy(raw.strip().lower())
    except ValueError:
        choices = ", ".join(policy.value for policy in ConfirmationPolicy)
        raise ConfigurationError(f"{name}={raw!r} is not a confirmation policy; use one of {choices}.") from None


def normalize_base_url(name: str, raw: str) -> str:
    """Validate a base URL and return it without a trailing slash or `/api` suffix.

    The key is sent only over HTTPS, or over plain HTTP to a loopback address
    such as the sandbox, so a typo cannot send it in clear text across a network.
    """
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{name}={raw!r} is not an http(s) URL; use the tenant's address, for example https://acme.signtraker.com."
        )
    if parts.username or parts.password:
        raise ConfigurationError(f"{name} must not contain a user name or password; set SIGNTRAKER_API_KEY.")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name}={raw!r} must not contain a query or fragment.")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"{name}={raw!r} uses plain HTTP to a host that is not this machine, which would send the API key "
            "unencrypted; use https://."
        )
    path = parts.path.rstrip("/")
    if path.lower().endswith("/api"):
        path = path[: -len("/api")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, str | None] | None = None,
) -> Settings:
    """Build `Settings` from environment variables, with command-line values taking precedence.

    `overrides` maps variable names to values given on the command line; a None
    value means the option was not given.
    """
    source = dict(os.environ if environ is None else environ)
    for key, value in (overrides or {}).items():
        if value is not None:
            source[key] = value

    def get(name: str) -> str | None:
        value = source.get(name)
        return value if value is not None and value.strip() else None

    base_url_raw = get("SIGNTRAKER_BASE_URL")
    subdomain = get("SIGNTRAKER_SUBDOMAIN")
    if base_url_raw is not None:
        base_url = normalize_base_url("SIGNTRAKER_BASE_URL", base_url_raw)
    elif subdomain is not None:
        label = subdomain.strip()
        if not _HOST_LABEL.fullmatch(label):
            raise ConfigurationError(
                f"SIGNTRAKER_SUBDOMAIN={subdomain!r} is not a valid host label; give only the first part of "
                "the tenant's address (acme for https://acme.signtraker.com): letters, digits and hyphens."
            )
        base_url = f"https://{label.lower()}.signtraker.com"
    else:
        raise ConfigurationError(
            "SIGNTRAKER_SUBDOMAIN is not set; set it to your tenant (acme for https://acme.signtraker.com), "
            "or set SIGNTRAKER_BASE_URL, or start with --sandbox to try the server on sample data."
        )

    api_key = get("SIGNTRAKER_API_KEY")
    if api_key is None:
        raise ConfigurationError(
            "SIGNTRAKER_API_KEY is not set. A user finds their API key in SignTraker under My Profile."
        )
    if any(character.isspace() for character in api_key.strip()) or not api_key.strip().isprintable():
        raise ConfigurationError(
            "SIGNTRAKER_API_KEY contains spaces or control characters; paste the key alone, without quotes."
        )
    if not api_key.strip().isascii():
        # HTTP header values are ASCII; the error httpx raises later would quote part of the key.
        raise ConfigurationError(
            "SIGNTRAKER_API_KEY contains characters outside ASCII; paste the key exactly as SignTraker shows it."
        )

    timeout_raw = get("SIGNTRAKER_TIMEOUT_SECONDS")
    timeout = (
        DEFAULT_TIMEOUT_SECONDS if timeout_raw is None else _read_timeout("SIGNTRAKER_TIMEOUT_SECONDS", timeout_raw)
    )
    read_only_raw = source.get("SIGNTRAKER_READ_ONLY", "")
    policy_raw = get("SIGNTRAKER_CONFIRMATION")
    confirmation_key = get("SIGNTRAKER_CONFIRMATION_KEY")
    if confirmation_key is not None and len(confirmation_key.strip()) < 32:
        raise ConfigurationError(
            "SIGNTRAKER_CONFIRMATION_KEY is shorter than 32 characters; use a long random value, "
            "for example the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'."
        )

    return Settings(
        api_key=SecretStr(api_key.strip()),
        base_url=base_url,
        timeout_seconds=timeout,
        read_only=read_bool("SIGNTRAKER_READ_ONLY", read_only_raw),
        confirmation=ConfirmationPolicy.AUTO
        if policy_raw is None
        else _read_policy("SIGNTRAKER_CONFIRMATION", policy_raw),
        confirmation_key=None if confirmation_key is None else SecretStr(confirmation_key.strip()),
        sandbox=read_bool("SIGNTRAKER_SANDBOX", source.get("SIGNTRAKER_SANDBOX", "")),
        **_resilience_settings(get),
        **_http_settings(get),
    )


def _resilience_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """Read the connect timeout, the call budget and the retry policy, keeping defaults for unset variables."""
    readers: dict[str, tuple[str, Callable[[str, str], Any]]] = {
        "connect_timeout_seconds": ("SIGNTRAKER_CONNECT_TIMEOUT_SECONDS", _read_timeout),
        "call_budget_seconds": ("SIGNTRAKER_CALL_BUDGET_SECONDS", _read_timeout),
        "max_retries": ("SIGNTRAKER_MAX_RETRIES", _read_retries),
        "retry_backoff_seconds": ("SIGNTRAKER_RETRY_BACKOFF_SECONDS", _read_backoff),
    }
    values: dict[str, Any] = {}
    for field_name, (variable, reader) in readers.items():
        raw = get(variable)
        if raw is not None:
            values[field_name] = reader(variable, raw)
    return values


def _split_list(raw: str | None) -> list[str]:
    """Split a comma- or whitespace-separated list, dropping empty items."""
    return [item for item in re.split(r"[,\s]+", raw or "") if item]


def _read_port(name: str, raw: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise ConfigurationError(f"{name}={raw!r} is not a TCP port; use a number from 1 to 65535, for example 8000.")
    return int(text)


def _read_byte_count(name: str, raw: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1024:
        raise ConfigurationError(f"{name}={raw!r} is not a size in bytes of at least 1024; use for example 1048576.")
    return int(text)


def _read_bearer_tokens(name: str, raw: str | None) -> tuple[SecretStr, ...]:
    tokens = _split_list(raw)
    for position, token in enumerate(tokens, start=1):
        if len(token) < MIN_BEARER_TOKEN_LENGTH or not (token.isascii() and token.isprintable()):
            raise ConfigurationError(
                f"{name}: token {position} is shorter than {MIN_BEARER_TOKEN_LENGTH} characters or contains "
                "characters other than printable ASCII; use long random values separated by commas, for example "
                "the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'."
            )
    return tuple(SecretStr(token) for token in tokens)


def _read_allowed_origins(name: str, raw: str | None) -> tuple[str, ...]:
    origins = _split_list(raw)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ConfigurationError(
                f"{name} contains {origin!r}, which is not an origin; give the scheme and host only, "
                "for example https://assistant.example.com."
            )
    return tuple(origins)


def _read_public_url(name: str, raw: str) -> str:
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{name}={raw!r} is not the public address of the MCP endpoint; give it as clients reach it, "
            "for example https://mcp.example.com/mcp."
        )
    return text.rstrip("/")


def _read_redis_url(name: str, raw: str) -> SecretStr:
    scheme = urlsplit(raw.strip()).scheme
    if scheme not in ("redis", "rediss", "unix"):
        # The value may carry a password, so only its scheme is quoted.
        raise ConfigurationError(
            f"{name} has the scheme {scheme!r}; use redis://host:6379/0, rediss:// for TLS, or unix:///path."
        )
    return SecretStr(raw.strip())


def _http_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """Read the settings of the streamable HTTP transport and of the shared confirmation ledger."""
    transport = (get("SIGNTRAKER_TRANSPORT") or "stdio").strip().lower()
    if transport not in TRANSPORTS:
        raise ConfigurationError(
            f"SIGNTRAKER_TRANSPORT={transport!r} is not a transport; use one of {', '.join(TRANSPORTS)}."
        )
    values: dict[str, Any] = {
        "transport": transport,
        "http_host": (get("SIGNTRAKER_HTTP_HOST") or DEFAULT_HTTP_HOST).strip(),
        "http_bearer_tokens": _read_bearer_tokens(
            "SIGNTRAKER_HTTP_BEARER_TOKENS", get("SIGNTRAKER_HTTP_BEARER_TOKENS")
        ),
        "http_allowed_hosts": tuple(_split_list(get("SIGNTRAKER_HTTP_ALLOWED_HOSTS"))),
        "http_allowed_origins": _read_allowed_origins(
            "SIGNTRAKER_HTTP_ALLOWED_ORIGINS", get("SIGNTRAKER_HTTP_ALLOWED_ORIGINS")
        ),
        "allow_client_api_key": read_bool(
            "SIGNTRAKER_ALLOW_CLIENT_API_KEY", get("SIGNTRAKER_ALLOW_CLIENT_API_KEY") or ""
        ),
    }
    readers: dict[str, tuple[str, Callable[[str, str], Any]]] = {
        "http_port": ("SIGNTRAKER_HTTP_PORT", _read_port),
        "http_public_url": ("SIGNTRAKER_HTTP_PUBLIC_URL", _read_public_url),
        "http_max_body_bytes": ("SIGNTRAKER_HTTP_MAX_BODY_BYTES", _read_byte_count),
        "redis_url": ("SIGNTRAKER_REDIS_URL", _read_redis_url),
    }
    for field_name, (variable, reader) in readers.items():
        raw = get(variable)
        if raw is not None:
            values[field_name] = reader(variable, raw)
    return values
