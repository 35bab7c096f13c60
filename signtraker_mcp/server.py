"""Assembly of the MCP server: tools, shared state, and the one boundary where errors become tool errors."""

from __future__ import annotations

import difflib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from . import __version__
from .api import SignTrakerClient, build_http_client
from .config import Settings
from .confirmation import ConfirmationSigner, MemoryTokenLedger, TokenLedger
from .errors import ReadOnlyModeError, SignTrakerError
from .tools import MUTATING_TOOLS, tool_specs

__all__ = ["SERVER_NAME", "AppState", "SignTrakerServer", "build_server"]

logger = logging.getLogger(__name__)

SERVER_NAME = "signtraker"

INSTRUCTIONS = """\
Work with SignTraker yard-sign orders for real-estate listings. Read with list_orders and get_order. \
create_order and request_removal change real orders and cost money: call them first without confirm to get a \
preview and a confirmation_token, show the preview to the user, and call again with confirm=true and that \
token only after the user said yes. Never confirm on the user's behalf."""


@dataclass(frozen=True)
class AppState:
    """What every tool call shares: settings, the API client and the confirmation state."""

    settings: Settings
    client: SignTrakerClient
    signer: ConfirmationSigner
    ledger: TokenLedger

    def client_for(self, ctx: Context[Any, Any]) -> SignTrakerClient:
        """Return the API client that serves the request of `ctx`."""
        return self.client


class SignTrakerServer(MCPServer[AppState]):
    """`MCPServer` with argument-name checks, read-only mode and the mapping of errors to tool results."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        # Tokens and the ledger belong to the process, not to one connection, so that a
        # confirmation survives a reconnect and HTTP requests share them.
        key = settings.confirmation_key
        signer = (
            ConfirmationSigner(key.get_secret_value().encode(), settings.tenant)
            if key is not None
            else ConfirmationSigner.with_random_key(settings.tenant)
        )
        ledger: TokenLedger = MemoryTokenLedger()

        @asynccontextmanager
        async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
            async with build_http_client(settings, transport=transport) as http:
                yield AppState(settings=settings, client=SignTrakerClient(http), signer=signer, ledger=ledger)

        super().__init__(
            SERVER_NAME,
            title="SignTraker",
            description="Yard-sign orders for real-estate listings: search, read, order and request removal.",
            instructions=INSTRUCTIONS,
            version=__version__,
            lifespan=lifespan,
        )
        self.signtraker_settings = settings
        for spec in tool_specs():
            if settings.read_only and spec.name in MUTATING_TOOLS:
                continue
            self.add_tool(spec.fn, title=spec.title, annotations=spec.annotations)
            tool = self._tool_manager.get_tool(spec.name)
            if tool is not None:
                # Every client pays for the tool list in context on every conversation, so
                # the generated titles (which repeat the property names) are left out.
                # Validation is unaffected: the SDK validates with the pydantic models.
                tool.parameters = compact_schema(tool.parameters)
                if tool.fn_metadata.output_schema is not None:
                    # Models read a tool's description and input schema; the output schema
                    # serves clients that validate results, so it goes out without prose.
                    output = compact_schema(tool.fn_metadata.output_schema, descriptions=False)
                    tool.fn_metadata.output_schema = output

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run a tool, turning every anticipated failure into a tool error with a clear message."""
        if self.signtraker_settings.read_only and name in MUTATING_TOOLS:
            raise ToolError(
                str(
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
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, SignTrakerError):
                raise ToolError(_with_retry_hint(cause)) from cause
            if isinstance(cause, ValidationError):
                raise ToolError(_describe_validation_error(name, cause)) from cause
            raise


def compact_schema(schema: dict[str, Any], *, descriptions: bool = True) -> dict[str, Any]:
    """Return a copy of a JSON Schema without titles, null defaults and `additionalProperties: true`.

    With `descriptions=False`, descriptions are left out too.
    """
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "additionalProperties" and value is True):
            continue
        if (key == "default" and value is None) or (key == "description" and not descriptions):
            continue
        if key == "properties" and isinstance(value, dict):
            compact[key] = {name: compact_schema(child, descriptions=descriptions) for name, child in value.items()}
        elif isinstance(value, dict):
            compact[key] = compact_schema(value, descriptions=descriptions)
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
            f"{name} has no argument {argument!r}.{hint} Its arguments are: {', '.join(known)}. Nothing was sent."
        )


def _with_retry_hint(error: SignTrakerError) -> str:
    message = error.message
    if error.retryable and "try again" not in message.lower():
        message += " Retrying later may help."
    return message


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
    return f"Invalid arguments for {name}: {'; '.join(problems)}. Nothing was sent."


def build_server(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> SignTrakerServer:
    """Create the MCP server for `settings`; `transport` replaces the network for tests."""
    return SignTrakerServer(settings, transport=transport)
