"""Validate the JSON bodies of the order-creation and removal-request endpoints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from .dates import parse_datetime
from .errors import InvalidRequestError

__all__ = ["CreateOrderRequest", "RemovalRequest", "parse_create_body", "parse_removal_body"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
CREATE_STRING_FIELDS = (
    "StreetNumber",
    "StreetName",
    "City",
    "State",
    "Zip",
    "Apartment",
    "Directions",
    "ListingNumber",
    "ExternalID",
    "Notes",
)


@dataclass(frozen=True)
class CreateOrderRequest:
    """A type-checked order-creation body; the store checks that the agent and preset exist."""

    agent_id: int
    preset_id: int
    strings: Mapping[str, str | None]
    due_date: dt.datetime | None


@dataclass(frozen=True)
class RemovalRequest:
    """A type-checked removal-request body."""

    due_date: dt.datetime | None
    notes: str | None


def _require_object(body: object) -> Mapping[str, object]:
    if not isinstance(body, dict):
        raise InvalidRequestError(f"The request body must be a JSON object, not {type(body).__name__}.")
    return body


def _required_integer(body: Mapping[str, object], name: str) -> int:
    if body.get(name) is None:
        raise InvalidRequestError(f"The {name} field is required.")
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int) or not INT64_MIN <= value <= INT64_MAX:
        raise InvalidRequestError(f"The {name} value {value!r} is not a valid integer.")
    return value


def _optional_string(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequestError(f"The {name} value {value!r} is not a string.")


def _optional_datetime(body: Mapping[str, object], name: str) -> dt.datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            pass
    raise InvalidRequestError(
        f"The {name} value {value!r} is not a valid ISO 8601 date-time such as '2026-03-14T15:00:00Z'."
    )


def parse_create_body(body: object) -> CreateOrderRequest:
    """Check the field types of a ``POST /api/orders`` body; raise InvalidRequestError."""
    fields = _require_object(body)
    return CreateOrderRequest(
        agent_id=_required_integer(fields, "AgentId"),
        preset_id=_required_integer(fields, "PresetId"),
        strings={name: _optional_string(fields, name) for name in CREATE_STRING_FIELDS},
        due_date=_optional_datetime(fields, "DueDate"),
    )


def parse_removal_body(body: object) -> RemovalRequest:
    """Check a ``requestremoval`` body, where None (no body) means no options."""
    fields = _require_object({} if body is None else body)
    return RemovalRequest(
        due_date=_optional_datetime(fields, "DueDate"),
        notes=_optional_string(fields, "Notes"),
    )
