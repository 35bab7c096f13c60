"""Settings of the MCP server, read from the environment and the command line.

The variable names are the ones the existing SignTraker Python client reads,
so a user of that client can reuse their environment as it is.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "ConfirmationPolicy",
    "Settings",
    "is_loopback_host",
    "load_settings",
]

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 300.0

# A DNS label: letters, digits and inner hyphens, at most 63 characters. Anything
# else (dots, slashes, "@", ports) could point requests at another host.
_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ConfirmationPolicy(str, enum.Enum):
    """How a mutating tool call proves that a person approved it."""

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


def _read_bool(name: str, raw: str) -> bool:
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
        if not _HOST_LABEL.match(label):
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
        read_only=_read_bool("SIGNTRAKER_READ_ONLY", read_only_raw),
        confirmation=ConfirmationPolicy.AUTO
        if policy_raw is None
        else _read_policy("SIGNTRAKER_CONFIRMATION", policy_raw),
        confirmation_key=None if confirmation_key is None else SecretStr(confirmation_key.strip()),
        sandbox=_read_bool("SIGNTRAKER_SANDBOX", source.get("SIGNTRAKER_SANDBOX", "")),
    )
