"""The mapping of HTTP answers and transport failures onto the error hierarchy."""

from __future__ import annotations

import httpx
import pytest

from signtraker_mcp.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    NetworkError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    UnexpectedResponseError,
    UpstreamServerError,
    error_from_response,
    error_from_transport,
)


def _response(status: int, body: bytes = b"", content_type: str = "application/json") -> httpx.Response:
    request = httpx.Request("GET", "https://acme.signtraker.com/api/orders/5")
    return httpx.Response(status, content=body, headers={"content-type": content_type}, request=request)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(403, AuthenticationError, id="403"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(409, UnexpectedResponseError, id="409"),
        pytest.param(429, RateLimitedError, id="429"),
        pytest.param(500, UpstreamServerError, id="500"),
        pytest.param(502, UpstreamServerError, id="502"),
        pytest.param(504, UpstreamServerError, id="504"),
    ],
)
def test_error_from_response_maps_status(status: int, kind: type[ApiError]) -> None:
    error = error_from_response(_response(status))
    assert type(error) is kind
    assert error.status_code == status


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'{"Message": "Bad filter"}', '"Bad filter"', id="Message"),
        pytest.param(b'{"message": "lower"}', '"lower"', id="message"),
        pytest.param(
            b'{"title": "One or more errors", "errors": {"AgentId": ["required"]}}', "AgentId: required", id="errors"
        ),
        pytest.param(b'{"detail": "from detail"}', '"from detail"', id="detail"),
    ],
)
def test_error_from_response_quotes_api_message(body: bytes, expected: str) -> None:
    error = error_from_response(_response(400, body))
    assert expected in error.message


def test_error_from_response_404_names_order() -> None:
    assert "Order 5 was not found" in error_from_response(_response(404), order_id=5).message


def test_error_from_response_html_5xx_is_not_quoted() -> None:
    error = error_from_response(_response(502, b"<html><h1>Bad gateway</h1></html>", "text/html"))
    assert "<html>" not in error.message
    assert "HTTP 502" in error.message
    assert error.retryable is True


def test_error_from_response_shortens_long_message() -> None:
    body = ('{"Message": "' + "x" * 5000 + '"}').encode()
    assert len(error_from_response(_response(400, body)).message) < 600


@pytest.mark.parametrize(
    ("exception", "method", "kind"),
    [
        pytest.param(httpx.ConnectError("refused"), "POST", NetworkError, id="connect-post"),
        pytest.param(httpx.ReadTimeout("slow"), "GET", NetworkError, id="read-timeout-get"),
        pytest.param(httpx.ReadTimeout("slow"), "POST", OutcomeUnknownError, id="read-timeout-post"),
        pytest.param(httpx.RemoteProtocolError("cut"), "POST", OutcomeUnknownError, id="cut-post"),
    ],
)
def test_error_from_transport_maps_failure(exception: httpx.TransportError, method: str, kind: type[ApiError]) -> None:
    error = error_from_transport(exception, method=method, path="/api/orders")
    assert type(error) is kind
