"""The MCP tools: validated arguments in, one call to the API client, a typed result out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from .api import SignTrakerClient
from .arguments import (
    AddressSearch,
    AgentEmail,
    AgentId,
    AgentIdFilter,
    AgentName,
    AgentSearchName,
    Apartment,
    City,
    CityFilter,
    Confirm,
    ConfirmationToken,
    DateFrom,
    DateTo,
    Directions,
    DueDate,
    ExternalId,
    ListingFilter,
    ListingNumber,
    Notes,
    ODataFilter,
    ODataOrderBy,
    ODataSelect,
    OfficeSearch,
    OrderId,
    PageSize,
    PostalCode,
    PostalCodeFilter,
    PresetId,
    Region,
    RegionFilter,
    Skip,
    Statuses,
    StreetName,
    StreetNumber,
    View,
    format_due_date,
)
from .budget import fit_page, keep_leading, shorten_record
from .confirmation import WriteRequest
from .errors import BadRequestError, InvalidArgumentError, NotFoundError
from .gate import NotAsked, approval_question, gate
from .models import AgentList, Approval, OrderPage, OrderResult, PresetList, WriteOutcome
from .odata import (
    DateRange,
    OrderFilters,
    check_filter,
    check_orderby,
    check_select,
    compile_agent_filter,
    compile_order_filter,
)
from .views import SUMMARY_SELECT, summarize_agent, summarize_order
from .writes import (
    CreateOrderFields,
    creation_request,
    preview_creation,
    preview_removal,
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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


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
    status: Statuses = [],  # noqa: B006 - validated into a new list on every call
    agent_id: AgentIdFilter = None,
    agent_name: AgentName = None,
    city: CityFilter = None,
    state: RegionFilter = None,
    zip: PostalCodeFilter = None,
    listing_number: ListingFilter = None,
    address: AddressSearch = None,
    created_from: DateFrom = None,
    created_to: DateTo = None,
    due_from: DateFrom = None,
    due_to: DateTo = None,
    installed_from: DateFrom = None,
    installed_to: DateTo = None,
    removal_due_from: DateFrom = None,
    removal_due_to: DateTo = None,
    filter: ODataFilter = None,
    orderby: ODataOrderBy = None,
    select: ODataSelect = None,
    view: View = "summary",
    top: PageSize = 25,
    skip: Skip = 0,
) -> Annotated[CallToolResult, OrderPage]:
    """Search signage orders a page at a time: the tool for questions about orders.

    Typed filters are combined with and; filter adds raw OData. Fields for filter, orderby and select: Id,
    OrderNumber, Status, Created, DueDate, DateInstalled, RemovalRequestDate, RemovalDueDate, RemovalDate,
    JobSite/City, JobSite/StreetAddress, Agent/Name. If has_more, call again with next_arguments.
    """
    warnings: list[str] = []
    if filter is not None:
        warnings += check_filter(filter)
    if orderby is not None:
        warnings += check_orderby(orderby)[1]
    if select is not None:
        warnings += check_select(select)
    ranges = {
        "Created": DateRange(created_from, created_to),
        "DueDate": DateRange(due_from, due_to),
        "DateInstalled": DateRange(installed_from, installed_to),
        "RemovalDueDate": DateRange(removal_due_from, removal_due_to),
    }
    for path, bounds in ranges.items():
        if bounds.is_inverted():
            raise InvalidArgumentError(f"The {path} range starts after it ends; swap the from and to dates.")
    filters = OrderFilters(
        statuses=status,
        agent_id=agent_id,
        agent_name=agent_name,
        city=city,
        state=state,
        zip=zip,
        listing_number=listing_number,
        address=address,
        ranges={path: bounds for path, bounds in ranges.items() if bounds.start or bounds.end},
    )
    params = {"$top": str(top + 1), "$skip": str(skip), "$orderby": _stable_orderby(orderby)}
    compiled = compile_order_filter(filters, filter)
    if compiled is not None:
        params["$filter"] = compiled
    if select is not None:
        params["$select"] = select
    elif view == "summary":
        params["$select"] = SUMMARY_SELECT

    try:
        records = await api_client(ctx).list_orders(params)
    except BadRequestError as error:
        if warnings:
            error.message += " Possible cause: " + " ".join(warnings)
        raise
    page = records[:top]
    if select is None and view == "summary":
        page = [summarize_order(record) for record in page]
    # Cut by whole records to the size budget, also when the API ignored $top.
    fit = fit_page(page, received=len(records), top=top, skip=skip)
    page, has_more = fit.records, fit.has_more
    warnings += fit.notes
    next_arguments = None
    if has_more:
        arguments = {
            "status": status,
            "agent_id": agent_id,
            "agent_name": agent_name,
            "city": city,
            "state": state,
            "zip": zip,
            "listing_number": listing_number,
            "address": address,
            "created_from": created_from,
            "created_to": created_to,
            "due_from": due_from,
            "due_to": due_to,
            "installed_from": installed_from,
            "installed_to": installed_to,
            "removal_due_from": removal_due_from,
            "removal_due_to": removal_due_to,
            "filter": filter,
            "orderby": orderby,
            "select": select,
            "view": view,
            "top": top,
        }
        next_arguments = {key: _jsonable(value) for key, value in arguments.items() if value not in (None, [], "")}
        next_arguments["skip"] = fit.next_skip
    result = OrderPage(
        orders=page,
        count=len(page),
        has_more=has_more,
        next_skip=fit.next_skip,
        next_arguments=next_arguments,
        query=dict(params, **{"$top": str(top)}),
        warnings=warnings or None,
    )
    more = f"; more match, next page with skip={fit.next_skip}" if has_more else ""
    return _result(result, f"{_count(len(page), 'order')}{more}.")


def _jsonable(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    return value


async def get_order(ctx: Context[Any, Any], order_id: OrderId) -> Annotated[CallToolResult, OrderResult]:
    """Read one order by Id, with every field."""
    client = api_client(ctx)
    try:
        record = await client.get_order(order_id)
    except NotFoundError as error:
        # People quote order numbers ("order #100222"); point from one to the Id.
        matches = await client.list_orders({"$filter": f"OrderNumber eq {order_id}", "$top": "1", "$select": "Id"})
        if matches:
            error.message += (
                f" {order_id} is the OrderNumber of the order whose Id is {matches[0].get('Id')}; "
                "call get_order with that Id."
            )
        raise
    order, warnings = shorten_record(record)
    return _result(OrderResult(order=order, warnings=warnings or None), f"Order {order_id}.")


# The first line of the text content of each kind of write outcome.
_WRITE_TEXT = {
    "preview": "Preview only; nothing was sent.",
    "submitted": "Sent once to SignTraker.",
    "already_submitted": "Already sent earlier; nothing was sent again.",
    "declined": "Declined by the user; nothing was sent.",
}


def _write_result(outcome: WriteOutcome) -> CallToolResult:
    return _result(outcome, _WRITE_TEXT[outcome.status])


def _removal(order_id: int, due_date: datetime | None, notes: str | None) -> WriteRequest:
    return removal_request(order_id, format_due_date(due_date) if due_date is not None else None, notes)


async def _removal_approval(
    ctx: Context[Any, Any],
    order_id: int,
    due_date: datetime | None,
    notes: str | None,
    confirm: bool,
    confirmation_token: str | None,
) -> Elicit[Approval] | NotAsked:
    request = _removal(order_id, due_date, notes)
    client = api_client(ctx)
    return await approval_question(
        ctx,
        app_state(ctx),
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
    """Ask SignTraker to take down one order's sign.

    Call without confirm first: nothing is sent; you get a preview (order, address, status, agent, due date)
    and a confirmation_token. Show it to the user. Only after they approve, call again with the same
    arguments, confirm=true and the token. Never confirm on your own: a wrong removal pulls the sign off an
    active listing.
    """
    client = api_client(ctx)
    request = _removal(order_id, due_date, notes)
    outcome = await gate(
        ctx,
        app_state(ctx),
        client,
        "request_removal",
        request,
        lambda: preview_removal(client, order_id, request),
        confirm,
        confirmation_token,
        approval,
        send=lambda: client.request_removal(order_id, request.body),
    )
    return _write_result(outcome)


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


def _creation_fields(
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
) -> CreateOrderFields:
    """Gather the create_order arguments under their API names; resolved once per call for the body and the question."""
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
        "notes": notes,
    }
    missing = [name for name in ("street_name", "city", "state") if given[name] is None]
    if missing:
        raise InvalidArgumentError(
            f"create_order needs the address where the sign goes; {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing. Nothing was sent."
        )
    optional = {_CREATE_FIELDS[name]: value for name, value in given.items() if value is not None}
    if due_date is not None:
        optional["DueDate"] = format_due_date(due_date)
    return CreateOrderFields(agent_id=agent_id, preset_id=preset_id, optional=optional)


async def _creation_approval(
    ctx: Context[Any, Any],
    fields: Annotated[CreateOrderFields, Resolve(_creation_fields)],
    confirm: bool,
    confirmation_token: str | None,
) -> Elicit[Approval] | NotAsked:
    client = api_client(ctx)
    return await approval_question(
        ctx,
        app_state(ctx),
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
    fields: Annotated[CreateOrderFields, Resolve(_creation_fields)],
    approval: Annotated[ElicitationResult[Approval], Resolve(_creation_approval)],
    street_name: StreetName,
    city: City,
    state: Region,
    street_number: StreetNumber = None,
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
    """Order a sign post for a listing (National Accounts only; each order is billed).

    Get agent_id from find_agents and preset_id from list_order_presets. Two steps as for request_removal:
    a preview without confirm, then, after the user approves, the same arguments with confirm=true and the
    confirmation_token.
    """
    request = creation_request(fields)
    client = api_client(ctx)
    outcome = await gate(
        ctx,
        app_state(ctx),
        client,
        "create_order",
        request,
        lambda: preview_creation(client, fields),
        confirm,
        confirmation_token,
        approval,
        send=lambda: client.create_order(request.body),
    )
    return _write_result(outcome)


async def find_agents(
    ctx: Context[Any, Any],
    name: AgentSearchName = None,
    email: AgentEmail = None,
    office: OfficeSearch = None,
    top: PageSize = 25,
) -> Annotated[CallToolResult, AgentList]:
    """Find agents by name, email or office, active agents first; returns their Id for create_order and filters."""
    params: dict[str, str] = {"$top": str(top + 1), "$orderby": "IsInactive,LastName,FirstName,Id"}
    if email is not None:
        params["email"] = email
    compiled = compile_agent_filter(name, office)
    if compiled is not None:
        params["$filter"] = compiled
    records = await api_client(ctx).list_agents(params)
    agents, warnings = keep_leading([summarize_agent(record) for record in records[:top]], "agents")
    has_more = len(records) > top or bool(warnings)
    result = AgentList(agents=agents, count=len(agents), has_more=has_more, warnings=warnings or None)
    return _result(result, f"{_count(len(agents), 'agent')}.")


async def list_order_presets(ctx: Context[Any, Any]) -> Annotated[CallToolResult, PresetList]:
    """List the account's order presets (Id and Name), which create_order needs; only National Accounts have any."""
    presets, warnings = keep_leading(await api_client(ctx).list_order_presets(), "presets")
    result = PresetList(presets=presets, count=len(presets), warnings=warnings or None)
    note = "" if presets else " This account has no presets, so it cannot create orders."
    return _result(result, f"{_count(len(presets), 'preset')}.{note}")


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
        ToolSpec(find_agents, "Find agents", _READ),
        ToolSpec(list_order_presets, "List order presets", _READ),
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
