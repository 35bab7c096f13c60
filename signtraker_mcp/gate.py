"""The confirmation gate of the mutating tools: preview, token check, the user's approval, one commit.

A `confirm: true` argument is written by the model, so on its own it proves
nothing. A commit must also bring the token of a preview of exactly the same
request. Where the client can ask the user (MCP elicitation) and the policy
wants it, the user approves in the client too. The ledger makes each token
send its write at most once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from pydantic import BaseModel

from .api import SignTrakerClient
from .config import ConfirmationPolicy
from .confirmation import TokenProblem, WriteRequest
from .errors import ConfirmationError
from .models import Approval, WriteOutcome
from .writes import WritePreview, commit, make_preview, refuse_token

if TYPE_CHECKING:
    from .server import AppState

__all__ = ["NOT_ASKED", "Inspect", "NotAsked", "approval_question", "client_can_ask", "gate"]

Inspect = Callable[[], Awaitable[WritePreview]]


class NotAsked(BaseModel):
    """The approval question was not put to the user, because the policy or the call did not call for it."""


NOT_ASKED = NotAsked()


def client_can_ask(ctx: Context[Any, Any]) -> bool:
    """Tell whether the client declared form elicitation, so the user can be asked directly."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def approval_question(
    ctx: Context[Any, Any],
    state: AppState,
    tool: str,
    request: WriteRequest,
    confirm: bool,
    confirmation_token: str | None,
    inspect: Inspect,
) -> Elicit[Approval] | NotAsked:
    """Ask the user to approve a write, when the call is a commit with a valid, unused token."""
    if not confirm or state.settings.confirmation is ConfirmationPolicy.TOKEN or not client_can_ask(ctx):
        return NOT_ASKED
    verified = state.signer.verify(confirmation_token, tool, request)
    if isinstance(verified, TokenProblem) or await state.ledger.peek(verified.nonce) is not None:
        return NOT_ASKED
    preview = await inspect()
    return Elicit(preview.question, Approval)


async def gate(
    ctx: Context[Any, Any],
    state: AppState,
    client: SignTrakerClient,
    tool: str,
    request: WriteRequest,
    inspect: Inspect,
    confirm: bool,
    confirmation_token: str | None,
    approval: ElicitationResult[Approval],
    send: Callable[[], Awaitable[dict[str, Any]]],
) -> WriteOutcome:
    """Return a preview, or commit a confirmed write once, according to the confirmation policy.

    The token is checked against the request built from the arguments alone, so a
    repeat of a used token returns the first outcome before anything is read or sent.
    """
    policy = state.settings.confirmation
    can_ask = client_can_ask(ctx)
    if not confirm:
        note = ""
        if policy is ConfirmationPolicy.HUMAN and not can_ask:
            note = (
                " This server requires the user's approval inside the client (SIGNTRAKER_CONFIRMATION=human), "
                "and this client cannot show approval requests, so the commit will be refused."
            )
        elif policy is not ConfirmationPolicy.TOKEN and can_ask:
            note = " On commit, the client will also ask the user to approve."
        return make_preview(await inspect(), state.signer, note=note)

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
            return WriteOutcome(
                status="declined",
                message="The user did not approve this request, so nothing was sent. Do not retry unless "
                "the user asks again.",
                summary=preview.summary,
                request=preview.request.as_dict(),
            )

    claimed = await state.ledger.claim(verified.nonce, verified.expires_at)
    if claimed is not None:
        return _replay(claimed.result, claimed.is_error)
    return await commit(preview, verified, state.ledger, client, send)


def _replay(result: dict[str, Any] | None, is_error: bool) -> WriteOutcome:
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
    return earlier.model_copy(
        update={
            "status": "already_submitted",
            "message": "This confirmation was already used, so nothing was sent again. The first call's "
            "result follows; do not call again.",
        }
    )
