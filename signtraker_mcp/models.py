"""Structured results of the tools, with JSON Schemas that every common client accepts.

Order records keep the API's PascalCase keys, so the field names a model reads
are the names it can filter and sort on. Optional result fields are left out
when empty instead of being sent as null, so each schema stays a plain type.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, WithJsonSchema, model_serializer

__all__ = [
    "AgentList",
    "Approval",
    "OrderPage",
    "OrderResult",
    "PresetList",
    "WriteOutcome",
]

Record = dict[str, Any]


class _Result(BaseModel):
    """Base of tool results: drops fields whose value is None from the output."""

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


def _optional(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema(schema)


class OrderPage(_Result):
    """One page of orders."""

    orders: list[Record] = Field(description="Orders; summary keys are filter paths such as JobSite/City.")
    count: int = Field(description="Orders on this page.")
    has_more: bool = Field(description="True when more orders match.")
    next_skip: Annotated[int | None, _optional({"type": "integer"})] = Field(
        default=None, description="skip of the next page."
    )
    next_arguments: Annotated[Record | None, _optional({"type": "object"})] = Field(
        default=None, description="Arguments for the next page."
    )
    query: dict[str, str] = Field(description="OData options sent, with the compiled $filter.")
    warnings: Annotated[list[str] | None, _optional({"type": "array", "items": {"type": "string"}})] = Field(
        default=None, description="Possible mistakes, such as unknown fields."
    )


class AgentList(_Result):
    """Agents that match a search."""

    agents: list[Record] = Field(description="Agents, active ones first.")
    count: int = Field(description="Agents in this list.")
    has_more: bool = Field(description="True when more agents match; narrow the search.")
    warnings: Annotated[list[str] | None, _optional({"type": "array", "items": {"type": "string"}})] = Field(
        default=None, description="Agents left out to fit the result limit."
    )


class PresetList(_Result):
    """The account's order presets."""

    presets: list[Record] = Field(description="Presets: Id, Name.")
    count: int = Field(description="Presets in this list.")
    warnings: Annotated[list[str] | None, _optional({"type": "array", "items": {"type": "string"}})] = Field(
        default=None, description="Presets left out to fit the result limit."
    )


class OrderResult(_Result):
    """One order."""

    order: Record = Field(description="The order record.")
    warnings: Annotated[list[str] | None, _optional({"type": "array", "items": {"type": "string"}})] = Field(
        default=None, description="Fields shortened to fit the result limit."
    )


WriteStatus = Literal["preview", "submitted", "already_submitted", "declined"]


class WriteOutcome(_Result):
    """A preview to approve, or what was sent and what came back."""

    status: WriteStatus = Field(
        description=(
            "preview and declined: nothing sent; submitted: sent once; already_submitted: token used before, "
            "nothing sent again."
        )
    )
    message: str = Field(description="What happened and what to do next.")
    summary: Record = Field(description="What the user approves.")
    request: Record = Field(description="The exact request: method, path, body.")
    confirmation_token: Annotated[str | None, _optional({"type": "string"})] = Field(
        default=None, description="Send back with confirm=true once the user approves."
    )
    expires_at: Annotated[str | None, _optional({"type": "string"})] = Field(
        default=None, description="Token expiry, UTC."
    )
    response: Annotated[Record | None, _optional({"type": "object"})] = Field(
        default=None, description="The API's response."
    )
    order: Annotated[Record | None, _optional({"type": "object"})] = Field(
        default=None, description="The order as read back afterwards."
    )


class Approval(BaseModel):
    """The question shown to the user before a write is sent."""

    approve: bool = Field(description="Yes to send this request to SignTraker now.")
