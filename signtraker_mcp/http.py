"""The MCP server over streamable HTTP: stateless, with bearer tokens, Host and Origin checks, and a health check.

Every request is served on its own, so any process behind a load balancer can
serve any request: handshake-era (2025-11-25) clients get no session, and
2026-07-28 clients have none anyway. Processes that share
SIGNTRAKER_CONFIRMATION_KEY accept each other's confirmation tokens and
elicitation state, and with SIGNTRAKER_REDIS_URL they also share which tokens
were used. This module is imported only when the HTTP transport is chosen, so
stdio start-up does not load uvicorn.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
from urllib.parse import urlsplit

import anyio
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .config import Settings, is_loopback_host
from .errors import ConfigurationError
from .server import SignTrakerServer, build_ledger, build_server, client_api_key_scope

__all__ = [
    "API_KEY_HEADER",
    "HEALTH_PATH",
    "MCP_PATH",
    "ClientApiKeyMiddleware",
    "StaticTokenVerifier",
    "build_http_app",
    "serve_http",
]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/health"
API_KEY_HEADER = "X-SignTraker-Api-Key"

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class StaticTokenVerifier:
    """A `TokenVerifier` that accepts the bearer tokens the operator configured, compared in constant time.

    Each token's principal (`client_id`) is `token-` and the first 12 hex digits of
    its SHA-256, the same on every replica, so it identifies a token in logs and
    binds elicitation state without revealing the token.
    """

    def __init__(self, tokens: tuple[SecretStr, ...]) -> None:
        self._digests = [hashlib.sha256(token.get_secret_value().encode()).digest() for token in tokens]

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        matched: bytes | None = None
        # Compare against every configured token, without stopping early, so timing reveals nothing about which matched.
        for digest in self._digests:
            if hmac.compare_digest(presented, digest):
                matched = digest
        if matched is None:
            return None
        return AccessToken(token=token, client_id=f"token-{matched.hex()[:12]}", scopes=[])


class ClientApiKeyMiddleware:
    """Take the SignTraker API key a request brings in `X-SignTraker-Api-Key`, when the operator allows it.

    The key applies to that request alone. A malformed key, or any key when the
    option is off, is refused with HTTP 400 before the request reaches the MCP
    server, so a user never acts with the operator's key by mistake.
    """

    def __init__(self, app: ASGIApp, *, allowed: bool) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = API_KEY_HEADER.lower().encode("latin-1")
        values = [value for name, value in scope["headers"] if name == header]
        if not values:
            await self.app(scope, receive, send)
            return
        problem = _client_key_problem(values, allowed=self.allowed)
        if problem is not None:
            await PlainTextResponse(problem, status_code=400)(scope, receive, send)
            return
        with client_api_key_scope(SecretStr(values[0].decode("latin-1").strip())):
            await self.app(scope, receive, send)


def _client_key_problem(values: list[bytes], *, allowed: bool) -> str | None:
    """Describe what is wrong with the request's API key header, or return None when it can be used."""
    if not allowed:
        return (
            f"This server does not accept a SignTraker API key in the {API_KEY_HEADER} header "
            "(SIGNTRAKER_ALLOW_CLIENT_API_KEY is off); remove the header, or ask the operator to allow it."
        )
    if len(values) > 1:
        return f"The request has {len(values)} {API_KEY_HEADER} headers; send exactly one."
    key = values[0].strip()
    if not key or not all(0x21 <= byte <= 0x7E for byte in key):
        return (
            f"The {API_KEY_HEADER} header is empty or contains spaces, control or non-ASCII characters; "
            "send the key exactly as SignTraker shows it under My Profile."
        )
    return None


def resource_url(settings: Settings) -> str:
    """Return the public address of the MCP endpoint: SIGNTRAKER_HTTP_PUBLIC_URL, else the bind address."""
    if settings.http_public_url is not None:
        return settings.http_public_url
    host = f"[{settings.http_host}]" if ":" in settings.http_host else settings.http_host
    return f"http://{host}:{settings.http_port}{MCP_PATH}"


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """List the Host and Origin values the server accepts; everything else gets 421 or 403.

    A host named without a port is accepted with any port. Loopback names are
    accepted when the server listens on loopback, and the host of
    SIGNTRAKER_HTTP_PUBLIC_URL always is.
    """
    hosts = list(settings.http_allowed_hosts)
    origins = list(settings.http_allowed_origins)
    if settings.http_public_url is not None:
        public = urlsplit(settings.http_public_url)
        hosts.append(public.netloc)
    if is_loopback_host(settings.http_host):
        hosts.extend(_LOOPBACK_HOSTS)
        origins.extend(f"http://{name}" for name in _LOOPBACK_HOSTS)
    allowed_hosts: list[str] = []
    for host in hosts:
        allowed_hosts.append(host)
        if not host.endswith(("]", ":*")) and ":" not in host.split("]")[-1]:
            allowed_hosts.append(f"{host}:*")
    allowed_origins: list[str] = []
    for origin in origins:
        allowed_origins.append(origin)
        if urlsplit(origin).port is None:
            allowed_origins.append(f"{origin}:*")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(allowed_hosts)),
        allowed_origins=list(dict.fromkeys(allowed_origins)),
    )


def check_http_settings(settings: Settings) -> None:
    """Refuse settings that would expose the server: no tokens off loopback, or no host names to accept."""
    if is_loopback_host(settings.http_host):
        return
    if not settings.http_bearer_tokens:
        raise ConfigurationError(
            f"The HTTP address {settings.http_host} (--host or SIGNTRAKER_HTTP_HOST) is not a loopback address, "
            "and SIGNTRAKER_HTTP_BEARER_TOKENS is not set; "
            "anyone who can reach the port could use your SignTraker key. Set SIGNTRAKER_HTTP_BEARER_TOKENS "
            "to one or more long random tokens, or listen on 127.0.0.1 behind a proxy that authenticates users."
        )
    if not settings.http_allowed_hosts and settings.http_public_url is None:
        raise ConfigurationError(
            f"The HTTP address {settings.http_host} (--host or SIGNTRAKER_HTTP_HOST) is not a loopback address, "
            "and neither SIGNTRAKER_HTTP_ALLOWED_HOSTS nor "
            "SIGNTRAKER_HTTP_PUBLIC_URL names the host clients use, so every request would be refused; set "
            "SIGNTRAKER_HTTP_PUBLIC_URL=https://mcp.example.com/mcp or SIGNTRAKER_HTTP_ALLOWED_HOSTS=mcp.example.com."
        )


def _auth(settings: Settings) -> tuple[AuthSettings, StaticTokenVerifier] | tuple[None, None]:
    if not settings.http_bearer_tokens:
        return None, None
    resource = resource_url(settings)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(resource))
    # NOTE: the tokens are the operator's own, so there is no OAuth authorization server. The
    # protected-resource metadata must name one, and names this server's origin, which serves none.
    auth = AuthSettings(
        issuer_url=AnyHttpUrl(origin),
        resource_server_url=AnyHttpUrl(resource),
        validate_token_resource=False,
    )
    return auth, StaticTokenVerifier(settings.http_bearer_tokens)


def build_mcp_server(settings: Settings) -> SignTrakerServer:
    """Create the MCP server with bearer authentication (when tokens are set) and the health endpoint."""
    auth, verifier = _auth(settings)
    server = build_server(settings, auth=auth, token_verifier=verifier)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    server.custom_route(HEALTH_PATH, methods=["GET"])(health)
    return server


def build_http_app(settings: Settings) -> ASGIApp:
    """Build the ASGI app: `/mcp` (stateless streamable HTTP), `/health`, and protected-resource metadata."""
    server = build_mcp_server(settings)
    app: Starlette = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        max_request_body_size=settings.http_max_body_bytes,
        transport_security=transport_security(settings),
        host=settings.http_host,
    )
    return ClientApiKeyMiddleware(app, allowed=settings.allow_client_api_key)


def _bind(host: str, port: int) -> socket.socket:
    """Open the listening socket here, so that a busy port is a clear configuration error."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, protocol)
    except OSError as error:
        raise ConfigurationError(
            f"--host {host!r} cannot be resolved ({error}); give an IP address or host name."
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ConfigurationError(
            f"Listening on {host}:{port} failed ({error.strerror or error}); choose another --port, "
            "or stop the program that uses it."
        ) from None
    return sock


async def _check_redis(settings: Settings) -> None:
    """Ping Redis before serving, with a ledger of its own: the server's ledger connects inside uvicorn's loop."""
    ledger = build_ledger(settings)
    check = getattr(ledger, "check", None)
    close = getattr(ledger, "aclose", None)
    if check is None or close is None:
        return
    try:
        await check()
    finally:
        await close()


def serve_http(settings: Settings) -> None:
    """Serve MCP over streamable HTTP until interrupted, refusing unsafe settings first."""
    check_http_settings(settings)
    if not logger.isEnabledFor(logging.DEBUG):
        # The SDK logs the end of every stateless request at INFO ("Terminating session: None").
        logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
    anyio.run(_check_redis, settings)
    app = build_http_app(settings)
    sock = _bind(settings.http_host, settings.http_port)
    config = uvicorn.Config(
        app,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    logger.info(
        "Serving MCP over streamable HTTP at %s (bearer tokens: %s; used confirmations: %s; "
        "client API keys: %s) against %s%s",
        resource_url(settings),
        len(settings.http_bearer_tokens) or "none",
        "Redis" if settings.redis_url is not None else "this process only",
        "accepted" if settings.allow_client_api_key else "refused",
        settings.base_url,
        " (read-only)" if settings.read_only else "",
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
