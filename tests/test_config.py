"""Settings from the environment: what is accepted, and the message for what is not."""

from __future__ import annotations

import pytest

from signtraker_mcp.config import ConfirmationPolicy, load_settings
from signtraker_mcp.errors import ConfigurationError

BASE = {"SIGNTRAKER_API_KEY": "abc123", "SIGNTRAKER_SUBDOMAIN": "acme"}


def test_load_settings_from_subdomain() -> None:
    settings = load_settings(BASE)
    assert settings.base_url == "https://acme.signtraker.com"
    assert settings.api_key.get_secret_value() == "abc123"
    assert settings.timeout_seconds == 30
    assert settings.read_only is False
    assert settings.confirmation is ConfirmationPolicy.AUTO


def test_load_settings_base_url_wins_and_is_normalized() -> None:
    settings = load_settings({**BASE, "SIGNTRAKER_BASE_URL": "https://signs.example.com/api/"})
    assert settings.base_url == "https://signs.example.com"


def test_load_settings_overrides_take_precedence() -> None:
    settings = load_settings(BASE, overrides={"SIGNTRAKER_SUBDOMAIN": "other", "SIGNTRAKER_TIMEOUT_SECONDS": None})
    assert settings.base_url == "https://other.signtraker.com"


def test_load_settings_allows_plain_http_to_loopback() -> None:
    settings = load_settings({**BASE, "SIGNTRAKER_BASE_URL": "http://127.0.0.1:8765"})
    assert settings.base_url == "http://127.0.0.1:8765"


def test_settings_repr_hides_key() -> None:
    assert "abc123" not in repr(load_settings(BASE))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"SIGNTRAKER_API_KEY": ""}, "SIGNTRAKER_API_KEY is not set", id="no-key"),
        pytest.param({"SIGNTRAKER_SUBDOMAIN": " "}, "SIGNTRAKER_SUBDOMAIN is not set", id="no-tenant"),
        pytest.param({"SIGNTRAKER_SUBDOMAIN": "acme.evil.com"}, "not a valid host label", id="dotted"),
        pytest.param({"SIGNTRAKER_SUBDOMAIN": "evil.com/x?"}, "not a valid host label", id="path"),
        pytest.param({"SIGNTRAKER_SUBDOMAIN": "a@b"}, "not a valid host label", id="userinfo"),
        pytest.param({"SIGNTRAKER_BASE_URL": "http://signs.example.com"}, "unencrypted; use https://", id="plain-http"),
        pytest.param({"SIGNTRAKER_BASE_URL": "ftp://x"}, "is not an http(s) URL", id="scheme"),
        pytest.param({"SIGNTRAKER_BASE_URL": "https://u:p@x.com"}, "must not contain a user name", id="userinfo-url"),
        pytest.param({"SIGNTRAKER_TIMEOUT_SECONDS": "0"}, "out of range", id="zero-timeout"),
        pytest.param({"SIGNTRAKER_TIMEOUT_SECONDS": "ten"}, "is not a number", id="text-timeout"),
        pytest.param({"SIGNTRAKER_READ_ONLY": "maybe"}, "SIGNTRAKER_READ_ONLY='maybe' is not a boolean", id="bool"),
        pytest.param({"SIGNTRAKER_CONFIRMATION": "never"}, "not a confirmation policy", id="policy"),
        pytest.param({"SIGNTRAKER_CONFIRMATION_KEY": "short"}, "shorter than 32 characters", id="short-key"),
        pytest.param({"SIGNTRAKER_API_KEY": "ab c"}, "contains spaces", id="spaced-key"),
        pytest.param({"SIGNTRAKER_HTTP_PORT": "³"}, "is not a TCP port", id="superscript-port"),
        pytest.param({"SIGNTRAKER_HTTP_MAX_BODY_BYTES": "²"}, "is not a size in bytes", id="superscript-size"),
    ],
)
def test_load_settings_rejects(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        load_settings({**BASE, **changes})


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("no", False), ("", False)])
def test_load_settings_reads_read_only(raw: str, expected: bool) -> None:
    assert load_settings({**BASE, "SIGNTRAKER_READ_ONLY": raw}).read_only is expected
