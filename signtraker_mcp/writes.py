"""Previews and commits of the two mutating operations: order creation and removal requests.

A preview reads what a person needs to approve the right thing and refuses a
request that cannot succeed, before anyone approves it. A commit sends the
previewed request once, records the outcome against the confirmation token,
and reads the order back so the result shows the record as it now stands.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .api import SignTrakerClient
from .arguments import DATE_ONLY_TIME
from .confirmation import ConfirmationSigner, TokenLedger, TokenProblem, VerifiedToken, WriteRequest
from .errors import (
    ApiError,
    ConfirmationError,
    InvalidArgumentError,
    OutcomeUnknownError,
    SignTrakerError,
    UnexpectedResponseError,
    UpstreamServerError,
)
from .models import WriteOutcome

__all__ = [
    "CreateOrderFields",
    "WritePreview",
    "commit",
    "creation_request",
    "make_preview",
    "preview_creation",
    "preview_removal",
    "refuse_token",
    "removal_request",
]

logger = logging.getLogger(__name__)

Record = dict[str, Any]


@dataclass(frozen=True)
class WritePreview:
    """A validated write request and what a person needs to see to approve it."""

    tool: str
    request: WriteRequest
    summary: Record
    question: str
    order_id: int | None = None
    agent_id: int | None = None
    street_name: str | None = None


@dataclass(frozen=True)
class CreateOrderFields:
    """The create-order arguments, by their API names."""

    agent_id: int
    preset_id: int
    optional: dict[str, str] = field(default_factory=dict)

    def body(self) -> Record:
        body: Record = {"AgentId": self.agent_id, "PresetId": self.preset_id}
        body.update(self.optional)
        return body


def format_address(job_site: object) -> str | None:
    """Write a job site as one address line, or None when it has none."""
    if not isinstance(job_site, dict):
        return None
    street = job_site.get("StreetAddress") or " ".join(
        str(part) for part in (job_site.get("StreetNumber"), job_site.get("StreetName")) if part
    )
    line2 = job_site.get("StreetLine2")
    region = " ".join(str(part) for part in (job_site.get("State"), job_site.get("Zip")) if part)
    parts = [str(part) for part in (street, line2, job_site.get("City"), region) if part]
    return ", ".join(parts) or None


def _name_of(reference: object) -> str | None:
    if isinstance(reference, dict):
        name = reference.get("Name")
        return str(name) if name else None
    return None


def removal_request(order_id: int, due_date: str | None, notes: str | None) -> WriteRequest:
    """Build the removal request exactly as it will be sent."""
    body: Record = {}
    if due_date is not None:
        body["DueDate"] = due_date
    if notes is not None:
        body["Notes"] = notes
    return WriteRequest("POST", f"/api/orders/{order_id}/requestremoval", body)


def creation_request(fields: CreateOrderFields) -> WriteRequest:
    """Build the create-order request exactly as it will be sent."""
    return WriteRequest("POST", "/api/orders", fields.body())


async def preview_removal(client: SignTrakerClient, order_id: int, request: WriteRequest) -> WritePreview:
    """Read the order and describe the removal request, refusing an order that cannot be removed."""
    order = await client.get_order(order_id)
    number = order.get("OrderNumber", order_id)
    address = format_address(order.get("JobSite")) or "no address on record"
    if order.get("RemovalDate"):
        raise InvalidArgumentError(
            f"Order {order_id} (#{number}, {address}) was already removed on {order['RemovalDate']}; "
            "there is nothing to request."
        )
    if order.get("RemovalRequestDate"):
        due = order.get("RemovalDueDate") or "no due date yet"
        raise InvalidArgumentError(
            f"Order {order_id} (#{number}, {address}) is already awaiting removal: requested on "
            f"{order['RemovalRequestDate']}, due {due}. Do not request it again."
        )

    due_date = request.body.get("DueDate")
    notes = request.body.get("Notes")
    summary: Record = {
        "order_id": order_id,
        "order_number": number,
        "address": address,
        "status": order.get("Status"),
        "agent": _name_of(order.get("Agent")),
        "removal_due": due_date or "SignTraker's default (set by the API)",
    }
    if notes is not None:
        summary["notes"] = notes
    question = (
        f"Send a sign removal request to SignTraker for order #{number} at {address} "
        f"(status {summary['status']}, agent {summary['agent'] or 'unknown'}), due {_readable(due_date)}?"
    )
    return WritePreview(
        tool="request_removal",
        request=request,
        summary=summary,
        question=question,
        order_id=order_id,
    )


async def preview_creation(client: SignTrakerClient, fields: CreateOrderFields) -> WritePreview:
    """Look up the agent and the preset and build the create request, refusing unknown ones."""
    agent = await client.get_agent(fields.agent_id)
    if agent is None:
        raise InvalidArgumentError(
            f"agent_id {fields.agent_id} matches no agent. Look the agent up with find_agents and use its Id."
        )
    agent_name = " ".join(str(part) for part in (agent.get("FirstName"), agent.get("LastName")) if part)
    if agent.get("IsInactive") is True:
        raise InvalidArgumentError(
            f"Agent {fields.agent_id} ({agent_name}) is inactive, so SignTraker will not take orders for them. "
            "Choose an active agent with find_agents."
        )
    presets = await client.list_order_presets()
    preset = next((item for item in presets if item.get("Id") == fields.preset_id), None)
    if preset is None:
        if presets:
            known = "; ".join(f"{item.get('Id')}: {item.get('Name')}" for item in presets[:10])
            hint = f" This account's presets are: {known}."
        else:
            hint = " This account has no order presets; only National Accounts can create orders."
        raise InvalidArgumentError(f"preset_id {fields.preset_id} matches no order preset.{hint}")

    body = fields.body()
    job_site = {
        "StreetNumber": body.get("StreetNumber"),
        "StreetName": body.get("StreetName"),
        "StreetLine2": body.get("Apartment"),
        "City": body.get("City"),
        "State": body.get("State"),
        "Zip": body.get("Zip"),
    }
    address = format_address(job_site) or "no address given"
    summary: Record = {
        "agent": agent_name or f"agent {fields.agent_id}",
        "agent_id": fields.agent_id,
        "preset": preset.get("Name"),
        "preset_id": fields.preset_id,
        "address": address,
    }
    for key, label in (("DueDate", "due"), ("ListingNumber", "listing_number"), ("Notes", "notes")):
        if key in body:
            summary[label] = body[key]
    question = (
        f"Create a SignTraker sign order ({summary['preset']}) for {summary['agent']} at {address}? "
        "It will be billed to the account."
    )
    return WritePreview(
        tool="create_order",
        request=creation_request(fields),
        summary=summary,
        question=question,
        agent_id=fields.agent_id,
        street_name=body.get("StreetName"),
    )


def _readable(due_date: object) -> str:
    """Write a due date for a person: a date given alone (sent as noon UTC) without its time."""
    if not isinstance(due_date, str):
        return "on the date SignTraker sets by default"
    return due_date.removesuffix(DATE_ONLY_TIME.strftime("T%H:%M:%SZ"))


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_preview(preview: WritePreview, signer: ConfirmationSigner, *, note: str = "") -> WriteOutcome:
    """Mint a token for `preview` and describe the next step."""
    token, expires_at = signer.issue(preview.tool, preview.request)
    message = (
        "Nothing was sent. Show this summary to the user. If they approve it, call "
        f"{preview.tool} again with the same arguments plus confirm=true and this confirmation_token "
        f"(valid until {_iso(expires_at)})."
    )
    return WriteOutcome(
        status="preview",
        message=message + note,
        summary=preview.summary,
        request=preview.request.as_dict(),
        confirmation_token=token,
        expires_at=_iso(expires_at),
    )


def _compact(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def refuse_token(problem: TokenProblem, preview: WritePreview, signer: ConfirmationSigner) -> ConfirmationError:
    """Build the error for a refused token, carrying a fresh preview and token for these arguments."""
    fresh = make_preview(preview, signer)
    return ConfirmationError(
        f"Nothing was sent: {problem.value}. Here is a fresh preview for the arguments given. Show it to "
        f"the user and, if they approve, call again with confirm=true and confirmation_token="
        f"{fresh.confirmation_token}. Preview: {_compact(fresh.summary)}"
    )


Send = Callable[[], Awaitable[Record]]


async def commit(
    preview: WritePreview,
    verified: VerifiedToken,
    ledger: TokenLedger,
    client: SignTrakerClient,
    send: Send,
) -> WriteOutcome:
    """Send a confirmed write once and record its outcome under the token's nonce.

    The token must already be claimed in the ledger by the caller.
    """
    try:
        response = await send()
    except (OutcomeUnknownError, UpstreamServerError, UnexpectedResponseError) as error:
        # The request may have been applied. Look, report, and never send again.
        found = await _check_after_unknown_outcome(preview, client)
        message = (
            f"{error.message} The outcome of this write is unknown. {found} It was not sent again; "
            "do not repeat it without checking with the user."
        )
        await ledger.finish(verified.nonce, {"message": message}, is_error=True)
        raise OutcomeUnknownError(message, method=preview.request.method, path=preview.request.path) from error
    except ApiError:
        # A 4xx response or a connection that never opened: nothing was applied, so the
        # token may be used again once the cause is fixed.
        await ledger.release(verified.nonce)
        raise

    order_id = preview.order_id or _created_order_id(response)
    order: Record | None = None
    read_back_note = ""
    if order_id is not None:
        try:
            order = await client.get_order(order_id)
        except SignTrakerError as error:
            read_back_note = f" Reading the order back failed: {error.message}"
    now = f" The order's status is now {order.get('Status')}." if order is not None else ""
    outcome = WriteOutcome(
        status="submitted",
        message=f"Sent once to SignTraker and accepted.{now}{read_back_note}",
        summary=preview.summary,
        request=preview.request.as_dict(),
        response=response,
        order=order,
    )
    await ledger.finish(verified.nonce, outcome.model_dump(mode="json"), is_error=False)
    logger.info("%s sent %s %s", preview.tool, preview.request.method, preview.request.path)
    return outcome


def _created_order_id(response: Record) -> int | None:
    value = response.get("OrderId")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _check_after_unknown_outcome(preview: WritePreview, client: SignTrakerClient) -> str:
    """Look for the effect of a write whose response was lost, and describe what was found."""
    try:
        if preview.order_id is not None:
            order = await client.get_order(preview.order_id)
            if order.get("RemovalRequestDate"):
                return (
                    f"The order now shows a removal request dated {order['RemovalRequestDate']}, "
                    "so the request most likely went through."
                )
            return "The order shows no removal request yet, so the request most likely did not go through."
        since = datetime.fromtimestamp(time.time(), tz=timezone.utc) - timedelta(minutes=15)
        query = f"Agent/Id eq {preview.agent_id} and Created ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        if preview.street_name:
            escaped = preview.street_name.replace("'", "''")
            query += f" and JobSite/StreetName eq '{escaped}'"
        matches = await client.list_orders({"$filter": query, "$top": "5", "$orderby": "Created desc"})
    except SignTrakerError as error:
        return f"Checking for its effect failed too: {error.message}"
    if matches:
        ids = ", ".join(str(match.get("Id")) for match in matches)
        return f"Orders created in the last 15 minutes for this agent and street: {ids}; one may be this order."
    return "No order created in the last 15 minutes matches this agent and street."
