"""The MCP tools: validated arguments in, one call to the API client, a typed result out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult, Resolve
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from .api import SignTrakerClient
from .arguments import (
    AgentId,
    Apartment,
    City,
    Confirm,
    ConfirmationToken,
    Directions,
    DueDate,
    ExternalId,
    ListingNumber,
    Notes,
    ODataFilter,
    ODataOrderBy,
    ODataSelect,
    OrderId,
    PageSize,
    PostalCode,
    PresetId,
    Region,
    Skip,
    StreetName,
    StreetNumber,
    format_due_date,
)
from .config import ConfirmationPolicy
from .confirmation import TokenProblem, WriteRequest
from .errors import ConfirmationError
from .models import Approval, OrderPage, OrderResult, WriteOutcome
from .writes import (
    CreateOrderFields,
    WritePreview,
    commit,
    creation_request,
    make_preview,
    preview_creation,
    preview_removal,
    refuse_token,
    removal_request,
)

if TYPE_CHECKING:
    from .server import AppState

__all__ = ["MUTATING_TOOLS", "ToolSpec", "tool_specs"]

MUTATING_TOOLS = frozenset({"create_order", "request_removal"})


def app_state(ctx: Context[Any, Any]) -> AppState:
    """Return the per-server state that the lifespan created."""
    state: AppState = ctx.request_context.lifespan_context
    return state


def api_client(ctx: Context[Any, Any]) -> SignTrakerClient:
    """Return the API client for this request."""
    return app_state(ctx).client_for(ctx)


def _result(model: BaseModel, text: str) -> CallToolResult:
    """Build a tool result whose text is a short line followed by compact JSON, not a pretty-printed copy."""
    data = model.model_dump(mode="json")
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=f"{text}\n{compact}")], structured_content=data)


def _stable_orderby(orderby: str | None) -> str:
    """Append Id as the last sort key, so that pages neither skip nor repeat orders."""
    if orderby is None:
        return "Id"
    keys = [part.strip().split()[0] for part in orderby.split(",") if part.strip()]
    if "Id" in keys:
        return orderby
    return f"{orderby},Id"


async def list_orders(
    ctx: Context[Any, Any],
    filter: ODataFilter = None,
    top: PageSize = 25,
    skip: Skip = 0,
    orderby: ODataOrderBy = None,
    select: ODataSelect = None,
) -> Annotated[CallToolResult, OrderPage]:
    """Search signage orders with OData query options, one page at a time.

    Use it to answer questions about orders: which signs are up, for which agent, in which city, due when.
    Records use the API's field names (Id, OrderNumber, Status, Created, DueDate, DateInstalled,
    RemovalRequestDate, RemovalDueDate, RemovalDate, JobSite/City, JobSite/State, JobSite/StreetName,
    Agent/Id, Agent/Name), which are also the names to filter and sort on. When has_more is true, call again
    with skip=next_skip. Use get_order for one order by Id.
    """
    params = {"$top": str(top + 1), "$skip": str(skip), "$orderby": _stable_orderby(orderby)}
    if filter is not None:
        params["$filter"] = filter
    if select is not None:
        params["$select"] = select
    records = await api_client(ctx).list_orders(params)
    has_more = len(records) > top
    page = records[:top]
    sent = dict(params, **{"$top": str(top)})
    result = OrderPage(
        orders=page,
        count=len(page),
        has_more=has_more,
        next_skip=skip + top if has_more else None,
        query=sent,
    )
    more = f"; more match, next page with skip={skip + top}" if has_more else ""
    return _result(result, f"{len(page)} orders{more}.")


async def get_order(ctx: Context[Any, Any], order_id: OrderId) -> Annotated[CallToolResult, OrderResult]:
    """Read one signage order by its Id, with every field the API returns.

    Use the Id from list_orders (not the OrderNumber). Read an order before describing its state to the user
    or asking for its removal.
    """
    order = await api_client(ctx).get_order(order_id)
    return _result(OrderResult(order=order), f"Order {order_id}.")


class _NotAsked(BaseModel):
    """The approval question was not put to the user, because the policy or the call did not call for it."""


NOT_ASKED = _NotAsked()
Inspect = Callable[[], Awaitable[WritePreview]]


def _client_can_ask(ctx: Context[Any, Any]) -> bool:
    """Tell whether the client declared form elicitation, so the user can be asked directly."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def _approval_question(
    ctx: Context[Any, Any],
    tool: str,
    request: WriteRequest,
    confirm: bool,
    confirmation_token: str | None,
    inspect: Inspect,
) -> Elicit[Approval] | _NotAsked:
    """Ask the user to approve a write, when the call is a commit with a valid, unused token."""
    state = app_state(ctx)
    if not confirm or state.settings.confirmation is ConfirmationPolicy.TOKEN or not _client_can_ask(ctx):
        return NOT_ASKED
    verified = state.signer.verify(confirmation_token, tool, request)
    if isinstance(verified, TokenProblem) or await state.ledger.peek(verified.nonce) is not None:
        return NOT_ASKED
    preview = await inspect()
    return Elicit(preview.question, Approval)


async def _gate(
    ctx: Context[Any, Any],
    tool: str,
    request: WriteRequest,
    inspect: Inspect,
    confirm: bool,
    confirmation_token: str | None,
    approval: ElicitationResult[Approval],
    send: Callable[[], Awaitable[dict[str, Any]]],
) -> CallToolResult:
    """Return a preview, or commit a confirmed write once, according to the confirmation policy.

    The token is checked against the request built from the arguments alone, so a
    repeat of a used token returns the first outcome before anything is read or sent.
    """
    state = app_state(ctx)
    policy = state.settings.confirmation
    can_ask = _client_can_ask(ctx)
    if not confirm:
        note = ""
        if policy is ConfirmationPolicy.HUMAN and not can_ask:
            note = (
                " This server requires the user's approval inside the client (SIGNTRAKER_CONFIRMATION=human), "
                "and this client cannot show approval requests, so the commit will be refused."
            )
        elif policy is not ConfirmationPolicy.TOKEN and can_ask:
            note = " On commit, the client will also ask the user to approve."
        outcome = make_preview(await inspect(), state.signer, note=note)
        return _result(outcome, "Preview only; nothing was sent.")

    verified = state.signer.verify(confirmation_token, tool, request)
    if isinstance(verified, TokenProblem):
        raise refuse_token(verified, await inspect(), state.signer)
    earlier = await state.ledger.peek(verified.nonce)
    if earlier is not None:
        return _replay(earlier.result, earlier.is_error)

    if policy is ConfirmationPolicy.HUMAN and not can_ask:
        raise ConfirmationError(
            "Nothing was sent: this server requires the user's approval inside the client "
            "(SIGNTRAKER_CONFIRMATION=human), and this client cannot show approval requests (MCP elicitation). "
            "Use a client that supports elicitation, or ask the server's administrator to set "
            "SIGNTRAKER_CONFIRMATION=auto."
        )
    # Read the current state again right before sending: a request that can no longer
    # succeed (the order was removed meanwhile) is refused here, not after the POST.
    preview = await inspect()
    if policy is not ConfirmationPolicy.TOKEN and can_ask:
        approved = (
            isinstance(approval, AcceptedElicitation) and isinstance(approval.data, Approval) and approval.data.approve
        )
        if not approved:
            outcome = WriteOutcome(
                status="declined",
                message="The user did not approve this request, so nothing was sent. Do not retry unless "
                "the user asks again.",
                summary=preview.summary,
                request=preview.request.as_dict(),
            )
            return _result(outcome, "Declined by the user; nothing was sent.")

    claimed = await state.ledger.claim(verified.nonce, verified.expires_at)
    if claimed is not None:
        return _replay(claimed.result, claimed.is_error)
    outcome = await commit(preview, verified, state.ledger, api_client(ctx), send)
    return _result(outcome, "Sent once to SignTraker.")


def _replay(result: dict[str, Any] | None, is_error: bool) -> CallToolResult:
    """Return the stored outcome of a token's first use, without sending anything."""
    if result is None:
        raise ConfirmationError(
            "Nothing was sent: another call is committing this confirmation right now. Wait for it, then read "
            "the order back with get_order or list_orders."
        )
    if is_error:
        raise ConfirmationError(
            f"Nothing was sent again: this confirmation was already used. The first attempt reported: "
            f"{result.get('message')}"
        )
    earlier = WriteOutcome.model_validate(result)
    outcome = earlier.model_copy(
        update={
            "status": "already_submitted",
            "message": "This confirmation was already used, so nothing was sent again. The first call's "
            "result follows; do not call again.",
        }
    )
    return _result(outcome, "Already sent earlier; nothing was sent again.")


def _removal(order_id: int, due_date: datetime | None, notes: str | None) -> WriteRequest:
    return removal_request(order_id, format_due_date(due_date) if due_date is not None else None, notes)


async def _removal_approval(
    ctx: Context[Any, Any],
    order_id: int,
    due_date: datetime | None,
    notes: str | None,
    confirm: bool,
    confirmation_token: str | None,
) -> Elicit[Approval] | _NotAsked:
    request = _removal(order_id, due_date, notes)
    client = api_client(ctx)
    return await _approval_question(
        ctx,
        "request_removal",
        request,
        confirm,
        confirmation_token,
        lambda: preview_removal(client, order_id, request),
    )


async def request_removal(
    ctx: Context[Any, Any],
    order_id: OrderId,
    approval: Annotated[ElicitationResult[Approval], Resolve(_removal_approval)],
    due_date: DueDate = None,
    notes: Notes = None,
    confirm: Confirm = False,
    confirmation_token: ConfirmationToken = None,
) -> Annotated[CallToolResult, WriteOutcome]:
    """Ask SignTraker to send a crew to take down the sign of one order, after the user approves.

    Two steps. First call without confirm: nothing is sent; you get a summary (order number, address,
    status, agent, due date) and a confirmation_token. Show the summary to the user. Only if they approve,
    call again with the same arguments, confirm=true and the token. The client may also ask the user
    directly. An order already removed or awaiting removal is refused. A wrong removal pulls a sign off an
    active listing, so never confirm on your own.
    """
    client = api_client(ctx)
    request = _removal(order_id, due_date, notes)
    return await _gate(
        ctx,
        "request_removal",
        request,
        lambda: preview_removal(client, order_id, request),
        confirm,
        confirmation_token,
        approval,
        send=lambda: client.request_removal(order_id, request.body),
    )


_CREATE_FIELDS = {
    "street_number": "StreetNumber",
    "street_name": "StreetName",
    "city": "City",
    "state": "State",
    "zip": "Zip",
    "apartment": "Apartment",
    "directions": "Directions",
    "listing_number": "ListingNumber",
    "external_id": "ExternalID",
    "notes": "Notes",
}


def _creation_fields(agent_id: int, preset_id: int, given: dict[str, Any]) -> CreateOrderFields:
    optional = {_CREATE_FIELDS[name]: given[name] for name in _CREATE_FIELDS if given.get(name) is not None}
    due_date = given.get("due_date")
    if isinstance(due_date, datetime):
        optional["DueDate"] = format_due_date(due_date)
    return CreateOrderFields(agent_id=agent_id, preset_id=preset_id, optional=optional)


async def _creation_approval(
    ctx: Context[Any, Any],
    agent_id: int,
    preset_id: int,
    street_number: str | None,
    street_name: str | None,
    city: str | None,
    state: str | None,
    zip: str | None,
    apartment: str | None,
    directions: str | None,
    listing_number: str | None,
    external_id: str | None,
    due_date: datetime | None,
    notes: str | None,
    confirm: bool,
    confirmation_token: str | None,
) -> Elicit[Approval] | _NotAsked:
    given = dict(locals())
    fields = _creation_fields(agent_id, preset_id, given)
    client = api_client(ctx)
    return await _approval_question(
        ctx,
        "create_order",
        creation_request(fields),
        confirm,
        confirmation_token,
        lambda: preview_creation(client, fields),
    )


async def create_order(
    ctx: Context[Any, Any],
    agent_id: AgentId,
    preset_id: PresetId,
    approval: Annotated[ElicitationResult[Approval], Resolve(_creation_approval)],
    street_number: StreetNumber = None,
    street_name: StreetName = None,
    city: City = None,
    state: Region = None,
    zip: PostalCode = None,
    apartment: Apartment = None,
    directions: Directions = None,
    listing_number: ListingNumber = None,
    external_id: ExternalId = None,
    due_date: DueDate = None,
    notes: Notes = None,
    confirm: Confirm = False,
    confirmation_token: ConfirmationToken = None,
) -> Annotated[CallToolResult, WriteOutcome]:
    """Order a sign post for a listing (National Accounts only), after the user approves.

    Needs an agent Id and an order preset Id. Two steps, as for request_removal: first call without confirm
    to get a summary (agent, preset, address) and a confirmation_token, show it to the user, and only if they
    approve call again with the same arguments, confirm=true and the token. Each order is billed.
    """
    given = {
        "street_number": street_number,
        "street_name": street_name,
        "city": city,
        "state": state,
        "zip": zip,
        "apartment": apartment,
        "directions": directions,
        "listing_number": listing_number,
        "external_id": external_id,
        "due_date": due_date,
        "notes": notes,
    }
    fields = _creation_fields(agent_id, preset_id, given)
    request = creation_request(fields)
    client = api_client(ctx)
    return await _gate(
        ctx,
        "create_order",
        request,
        lambda: preview_creation(client, fields),
        confirm,
        confirmation_token,
        approval,
        send=lambda: client.create_order(request.body),
    )


@dataclass(frozen=True)
class ToolSpec:
    """A tool function with its registration metadata."""

    fn: Any
    title: str
    annotations: ToolAnnotations

    @property
    def name(self) -> str:
        name: str = self.fn.__name__
        return name


_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)


def tool_specs() -> list[ToolSpec]:
    """Return every tool in the order it is listed to clients."""
    return [
        ToolSpec(list_orders, "List signage orders", _READ),
        ToolSpec(get_order, "Get a signage order", _READ),
        ToolSpec(
            create_order,
            "Create a signage order",
            ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True),
        ),
        ToolSpec(
            request_removal,
            "Request sign removal",
            ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True),
        ),
    ]
