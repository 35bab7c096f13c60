"""Assembly of the MCP server: tools, shared state, and the one boundary where errors become tool errors."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import hmac
import inspect
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.request_state import RequestStateSecurity, authenticated_principal
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import SecretStr, ValidationError

from . import __version__
from .api import SignTrakerClient, build_connection_pool, build_http_client
from .config import Settings
from .confirmation import ConfirmationSigner, MemoryTokenLedger, TokenLedger, TokenProblem, VerifiedToken, WriteRequest
from .deadline import call_budget
from .errors import RETRY_WILL_NOT_HELP, ConfigurationError, ReadOnlyModeError, SignTrakerError, with_retry_advice
from .tools import MUTATING_TOOLS, tool_specs

__all__ = ["SERVER_NAME", "AppState", "SignTrakerServer", "build_server", "client_api_key_scope"]

logger = logging.getLogger(__name__)

SERVER_NAME = "signtraker"

INSTRUCTIONS = """\
Work with SignTraker yard-sign orders for real-estate listings. Read with list_orders and get_order; \
find_agents and list_order_presets give the ids that create_order needs. \
create_order and request_removal change real orders and cost money: call them first without confirm to get a \
preview and a confirmation_token, show the preview to the user, and call again with confirm=true and that \
token only after the user said yes. Never confirm on the user's behalf."""


@dataclass(frozen=True)
class AppState:
    """The state that every tool call shares: settings, the API client and the confirmation state."""

    settings: Settings
    client: SignTrakerClient
    signer: ConfirmationSigner
    ledger: TokenLedger
    http_transport: httpx.AsyncBaseTransport | None = None
    """The connection pool that per-request API clients share; set only when requests may bring their own key."""

    def client_for(self, ctx: Context[Any, Any]) -> SignTrakerClient:
        """Return the API client that serves the request of `ctx`.

        With SIGNTRAKER_ALLOW_CLIENT_API_KEY, a request that brought its own key gets a new
        client that sends only that key, over the shared connection pool. A client is never
        reused for another request, so keys cannot leak between users.
        """
        key = _client_api_key.get()
        if key is None or self.http_transport is None or not self.settings.allow_client_api_key:
            return self.client
        keyed = dataclasses.replace(self.settings, api_key=key)
        # Not closed after the call on purpose: closing an httpx client closes its transport,
        # which is the pool shared by all requests and closed by the lifespan.
        return _api_client(keyed, build_http_client(keyed, transport=self.http_transport))


# The SignTraker API key that the current HTTP request brought in its header, when the
# operator allows that. Set by the HTTP transport for the duration of one request.
_client_api_key: ContextVar[SecretStr | None] = ContextVar("signtraker_client_api_key", default=None)


@contextmanager
def client_api_key_scope(key: SecretStr) -> Iterator[None]:
    """Serve everything that runs inside with `key` as the request's SignTraker API key."""
    token = _client_api_key.set(key)
    try:
        yield
    finally:
        _client_api_key.reset(token)


def _key_fingerprint(key: SecretStr) -> str:
    return hashlib.sha256(key.get_secret_value().encode()).hexdigest()


class KeyBoundSigner(ConfirmationSigner):
    """A `ConfirmationSigner` whose tokens are bound to the API key the request acts with.

    Used when requests may bring their own key: the key's SHA-256 joins the tenant in
    the sealed message, so a token previewed by one user is refused for every other key.
    """

    def __init__(self, secret: bytes, tenant: str, default_key: SecretStr) -> None:
        super().__init__(secret, tenant)
        self._secret = secret
        self._tenant_name = tenant
        self._default_key = default_key

    def _for_request(self) -> ConfirmationSigner:
        key = _client_api_key.get() or self._default_key
        return ConfirmationSigner(self._secret, f"{self._tenant_name} api-key-sha256:{_key_fingerprint(key)}")

    def issue(self, tool: str, request: WriteRequest) -> tuple[str, float]:
        return self._for_request().issue(tool, request)

    def verify(self, token: str | None, tool: str, request: WriteRequest) -> VerifiedToken | TokenProblem:
        return self._for_request().verify(token, tool, request)


def _build_signer(settings: Settings) -> ConfirmationSigner:
    key = settings.confirmation_key
    secret = key.get_secret_value().encode() if key is not None else secrets.token_bytes(32)
    if settings.allow_client_api_key:
        return KeyBoundSigner(secret, settings.tenant, settings.api_key)
    return ConfirmationSigner(secret, settings.tenant)


def build_ledger(settings: Settings) -> TokenLedger:
    """Keep used tokens in Redis when SIGNTRAKER_REDIS_URL is set, else in this process."""
    if settings.redis_url is None:
        return MemoryTokenLedger()
    try:
        from .redis_ledger import RedisTokenLedger
    except ImportError:
        raise ConfigurationError(
            "SIGNTRAKER_REDIS_URL is set, but the redis package is not installed; "
            "install it with: pip install 'signtraker-mcp[redis]'."
        ) from None
    return RedisTokenLedger(settings.redis_url.get_secret_value())


def _request_principal(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """Bind elicitation state to the bearer token's principal and to the request's own API key, if any."""
    principal = authenticated_principal(ctx)
    key = _client_api_key.get()
    if key is None:
        return principal
    return json.dumps([principal, _key_fingerprint(key)])


def _request_state_security(settings: Settings) -> RequestStateSecurity:
    """Seal elicitation state with a key derived from the confirmation key, so every replica can open it."""
    key = settings.confirmation_key
    if key is None:
        secret = secrets.token_bytes(32)
    else:
        secret = hmac.new(key.get_secret_value().encode(), b"signtraker-mcp request-state v1", hashlib.sha256).digest()
    return RequestStateSecurity(keys=[secret], bind_principal=_request_principal)


def _api_client(settings: Settings, http: httpx.AsyncClient) -> SignTrakerClient:
    """Create the API client over `http`; the one place both the shared and per-request clients are made."""
    return SignTrakerClient.from_settings(http, settings)


class SignTrakerServer(MCPServer[AppState]):
    """`MCPServer` with argument-name checks, read-only mode and the mapping of errors to tool results."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: AuthSettings | None = None,
        token_verifier: TokenVerifier | None = None,
    ) -> None:
        # Tokens and the ledger belong to the process, not to one connection, so that a
        # confirmation survives a reconnect and HTTP requests share them.
        signer = _build_signer(settings)
        ledger = build_ledger(settings)

        @asynccontextmanager
        async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
            pool = transport
            if settings.allow_client_api_key and pool is None:
                # One pool for the server's client and every per-request client.
                # NOTE: httpx reads HTTP_PROXY/HTTPS_PROXY only for a transport it makes itself, so
                # in this mode the API is reached directly.
                pool = build_connection_pool()
            try:
                async with build_http_client(settings, transport=pool) as http:
                    yield AppState(
                        settings=settings,
                        client=_api_client(settings, http),
                        signer=signer,
                        ledger=ledger,
                        http_transport=pool if settings.allow_client_api_key else None,
                    )
            finally:
                close = getattr(ledger, "aclose", None)
                if close is not None:
                    await close()

        super().__init__(
            SERVER_NAME,
            title="SignTraker",
            description="Yard-sign orders for real-estate listings: search, read, order and request removal.",
            instructions=INSTRUCTIONS,
            version=__version__,
            lifespan=lifespan,
            auth=auth,
            token_verifier=token_verifier,
            request_state_security=_request_state_security(settings),
        )
        self.signtraker_settings = settings
        for spec in tool_specs():
            if settings.read_only and spec.name in MUTATING_TOOLS:
                continue
            # cleandoc: the SDK sends a docstring as written, indentation included.
            description = inspect.cleandoc(spec.fn.__doc__ or "")
            self.add_tool(spec.fn, title=spec.title, description=description, annotations=spec.annotations)
            tool = self._tool_manager.get_tool(spec.name)
            if tool is not None:
                # Every client pays for the tool list in context on every conversation, so
                # the generated titles (which repeat the property names) are left out.
                # Validation is unaffected: the SDK validates with the pydantic models.
                tool.parameters = compact_schema(tool.parameters)
                if tool.fn_metadata.output_schema is not None:
                    output = compact_schema(tool.fn_metadata.output_schema)
                    # The tool's own description already tells what it returns.
                    output.pop("description", None)
                    tool.fn_metadata.output_schema = output

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run a tool, turning every anticipated failure into a tool error with a clear message."""
        if self.signtraker_settings.read_only and name in MUTATING_TOOLS:
            raise ToolError(
                _with_retry_hint(
                    ReadOnlyModeError(
                        f"{name} is disabled because this server runs in read-only mode "
                        "(SIGNTRAKER_READ_ONLY=true or --read-only). Nothing was sent."
                    )
                )
            )
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            _reject_unknown_arguments(name, arguments, tool.parameters)
        try:
            # One time budget for all the API requests of this call, retries and waits included.
            with call_budget(self.signtraker_settings.call_budget_seconds):
                return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, SignTrakerError):
                raise ToolError(_with_retry_hint(cause)) from cause
            if isinstance(cause, ValidationError):
                raise ToolError(_describe_validation_error(name, cause)) from cause
            if isinstance(exc, UnexpectedToolError):
                # A defect in the server: keep the details in the log, and the result free of them.
                logger.error("Tool %s raised an unexpected exception", name, exc_info=cause or exc)
                raise ToolError(
                    f"{name} failed with an internal error of the server; the details are in its log. "
                    f"{RETRY_WILL_NOT_HELP} Report the problem to the server's administrator."
                ) from exc
            raise


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a JSON Schema without titles, null defaults and `additionalProperties: true`."""
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "additionalProperties" and value is True):
            continue
        if key == "default" and value is None:
            continue
        if key == "properties" and isinstance(value, dict):
            compact[key] = {name: compact_schema(child) for name, child in value.items()}
        elif isinstance(value, dict):
            compact[key] = compact_schema(value)
        else:
            compact[key] = value
    return compact


def _reject_unknown_arguments(name: str, arguments: dict[str, Any], schema: dict[str, Any]) -> None:
    """Refuse an argument name the tool does not have, suggesting the closest one."""
    known = list(schema.get("properties", {}))
    for argument in arguments:
        if argument in known:
            continue
        close = difflib.get_close_matches(argument, known, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ToolError(
            f"{name} has no argument {argument!r}.{hint} Its arguments are: {', '.join(known)}. Nothing was sent. "
            + RETRY_WILL_NOT_HELP
        )


def _with_retry_hint(error: SignTrakerError) -> str:
    return with_retry_advice(error.message, error.retryable)


def _describe_validation_error(name: str, error: ValidationError) -> str:
    """Rewrite pydantic's report as one line per argument: the name, the rule and the value."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        argument = ".".join(str(part) for part in item["loc"]) or "arguments"
        text = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            problems.append(f"{argument} is required")
        elif text.startswith(("must", "has", "is")):
            problems.append(f"{argument} {text}")
        else:
            problems.append(f"{argument}: {text} (got {item.get('input')!r})")
    return f"Invalid arguments for {name}: {'; '.join(problems)}. Nothing was sent. {RETRY_WILL_NOT_HELP}"


def build_server(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> SignTrakerServer:
    """Create the MCP server for `settings`; `transport` replaces the network for tests.

    `auth` and `token_verifier` turn on bearer authentication, which only the HTTP transport uses.
    """
    return SignTrakerServer(settings, transport=transport, auth=auth, token_verifier=token_verifier)
