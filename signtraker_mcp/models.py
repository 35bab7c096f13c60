"""Structured results of the tools, with JSON Schemas that every common client accepts.

Order records keep the API's PascalCase keys, so the field names a model reads
are the names it can filter and sort on. Optional result fields are left out
when empty instead of being sent as null, so each schema stays a plain type.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, WithJsonSchema, model_serializer

__all__ = [
    "Approval",
    "OrderPage",
    "OrderResult",
    "WriteOutcome",
]

Record = dict[str, Any]


class _Result(BaseModel):
    """Base of tool results: drops fields whose value is None from the output."""

    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


def _optional(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema(schema)


class OrderPage(_Result):
    """One page of orders."""

    orders: list[Record] = Field(description="Order records, with the API's field names.")
    count: int = Field(description="Number of orders on this page.")
    has_more: bool = Field(description="True when more orders match; fetch them with skip=next_skip.")
    next_skip: Annotated[int | None, _optional({"type": "integer"})] = Field(
        default=None, description="The skip value for the next page, present when has_more is true."
    )
    query: dict[str, str] = Field(description="The OData query options sent to the API.")


class OrderResult(_Result):
    """One order."""

    order: Record = Field(description="The order record, with the API's field names.")


WriteStatus = Literal["preview", "submitted", "already_submitted", "declined"]


class WriteOutcome(_Result):
    """The result of a mutating tool: a preview to approve, or what was sent and what came back."""

    status: WriteStatus = Field(
        description=(
            "preview: nothing was sent yet; submitted: the request was sent once; already_submitted: this "
            "confirmation was used before and nothing was sent again; declined: the user said no and nothing "
            "was sent."
        )
    )
    message: str = Field(description="What happened and what to do next.")
    summary: Record = Field(description="What the user approves: the order, address, agent and dates.")
    request: Record = Field(description="The exact request sent, or to be sent: method, path and JSON body.")
    confirmation_token: Annotated[str | None, _optional({"type": "string"})] = Field(
        default=None, description="Pass back with confirm=true after the user approves this preview."
    )
    expires_at: Annotated[str | None, _optional({"type": "string"})] = Field(
        default=None, description="When the confirmation_token expires (ISO 8601, UTC)."
    )
    response: Annotated[Record | None, _optional({"type": "object"})] = Field(
        default=None, description="The API's answer to the request."
    )
    order: Annotated[Record | None, _optional({"type": "object"})] = Field(
        default=None, description="The order as the API shows it after the request."
    )


class Approval(BaseModel):
    """The question shown to the user before a write is sent."""

    approve: bool = Field(description="Yes to send this request to SignTraker now.")
