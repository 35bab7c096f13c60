"""Tool argument types: one `Annotated` type per domain concept, reused by every tool.

Clients differ in how they send values: some send booleans and numbers as
strings, some send null or "" for an argument they mean to leave out. Each type
here accepts those forms on purpose and rejects everything else with a message
that quotes the value, so nothing is guessed. The advertised JSON Schema of
each type is a plain `type` (no `anyOf` with null), which every client accepts.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

__all__ = [
    "AddressSearch",
    "AgentEmail",
    "AgentId",
    "AgentIdFilter",
    "AgentName",
    "AgentSearchName",
    "Apartment",
    "City",
    "CityFilter",
    "Confirm",
    "ConfirmationToken",
    "DateFrom",
    "DateTo",
    "Directions",
    "DueDate",
    "ExternalId",
    "ListingFilter",
    "ListingNumber",
    "Notes",
    "ODataFilter",
    "ODataOrderBy",
    "ODataSelect",
    "OfficeSearch",
    "OrderId",
    "PageSize",
    "PostalCode",
    "PostalCodeFilter",
    "PresetId",
    "Region",
    "RegionFilter",
    "Skip",
    "Statuses",
    "StreetName",
    "StreetNumber",
    "View",
    "format_due_date",
    "is_blank",
]

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_INT64 = 2**63 - 1
MAX_NOTES_LENGTH = 2000

# A date alone is sent as noon UTC on that day: noon UTC falls on the same
# calendar day in every US, Canadian and Australian time zone (UTC-10 to UTC+11).
DATE_ONLY_TIME = time(12, 0, tzinfo=timezone.utc)

_DIGITS = re.compile(r"^\s*[0-9]+\s*$")


def is_blank(value: object) -> bool:
    """Tell whether a value means "not given": None or a string of whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def _drop_null_default(schema: dict[str, Any]) -> None:
    if "default" in schema and schema["default"] is None:
        del schema["default"]


def _positive_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be a positive whole number such as 100123, not {value!r}")
    if isinstance(value, str):
        if not _DIGITS.match(value):
            raise ValueError(f"must be a positive whole number such as 100123, not {value!r}")
        value = int(value)
    if not 0 < value <= MAX_INT64:
        raise ValueError(f"must be a positive whole number such as 100123, not {value!r}")
    return value


def _confirm(value: object) -> bool:
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"must be true or false, not {value!r}")


def _optional_text(max_length: int) -> Any:
    def validate(value: object) -> str | None:
        if is_blank(value):
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {value!r}")
        text = value.strip()
        if len(text) > max_length:
            raise ValueError(f"must be at most {max_length} characters, not {len(text)}")
        return text

    return BeforeValidator(validate)


def _page_size(value: object) -> int:
    if is_blank(value):
        return DEFAULT_PAGE_SIZE
    number = _whole_number(value)
    if not 1 <= number <= MAX_PAGE_SIZE:
        raise ValueError(f"must be between 1 and {MAX_PAGE_SIZE}, not {value!r}; page with skip for more")
    return number


def _skip(value: object) -> int:
    if is_blank(value):
        return 0
    number = _whole_number(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, not {value!r}")
    return number


def _whole_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be a whole number, not {value!r}")
    if isinstance(value, str):
        if not re.match(r"^\s*-?[0-9]+\s*$", value):
            raise ValueError(f"must be a whole number, not {value!r}")
        return int(value)
    return value


def _due_date(value: object) -> datetime | None:
    """Read a date (2026-12-07) or a date-time with an offset (2026-12-07T17:00:00-06:00)."""
    if is_blank(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a date such as 2026-12-07 or a date-time with an offset, not {value!r}")
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"must be a valid date such as 2026-12-07, not {value!r}") from None
        moment = datetime.combine(day, DATE_ONLY_TIME)
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"must be a date such as 2026-12-07 or a date-time with an offset such as "
                f"2026-12-07T17:00:00-06:00, not {value!r}"
            ) from None
        if moment.tzinfo is None:
            raise ValueError(
                f"has no UTC offset ({value!r}); add one, such as 2026-12-07T17:00:00-06:00, or give the date alone"
            )
    moment = moment.astimezone(timezone.utc)
    if moment < datetime.now(timezone.utc) - timedelta(days=1):
        raise ValueError(f"is in the past ({value!r}); give today's date or a later one")
    return moment


def format_due_date(moment: datetime) -> str:
    """Write a due date as the API expects it: ISO 8601 in UTC."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id_type(description: str) -> Any:
    return Annotated[
        int,
        BeforeValidator(_positive_id),
        WithJsonSchema({"type": "integer", "minimum": 1}),
        Field(description=description),
    ]


OrderId = _id_type("The order's Id (not OrderNumber).")
AgentId = _id_type("From find_agents.")
PresetId = _id_type("From list_order_presets.")

Confirm = Annotated[
    bool,
    BeforeValidator(_confirm),
    WithJsonSchema({"type": "boolean"}),
    Field(
        description=("true only after the user approved the preview; with confirmation_token."),
    ),
]

ConfirmationToken = Annotated[
    str | None,
    _optional_text(512),
    WithJsonSchema({"type": "string"}),
    Field(description="From the approved preview.", json_schema_extra=_drop_null_default),
]

PageSize = Annotated[
    int,
    BeforeValidator(_page_size),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
    Field(description="Page size."),
]

Skip = Annotated[
    int,
    BeforeValidator(_skip),
    WithJsonSchema({"type": "integer", "minimum": 0}),
    Field(description="Records to skip."),
]

DueDate = Annotated[
    datetime | None,
    BeforeValidator(_due_date),
    WithJsonSchema({"type": "string"}),
    Field(
        description=("A date (2026-12-07) or a date-time with offset (2026-12-07T17:00:00-06:00)."),
        json_schema_extra=_drop_null_default,
    ),
]


# The length limits are enforced and reported by the validators; leaving them out of
# the advertised schema keeps the tool list short.
_TEXT = WithJsonSchema({"type": "string"})


def _described(description: str) -> Any:
    return Field(description=description, json_schema_extra=_drop_null_default)


# Optional text arguments: blank means not given. Each is spelled out so type checkers see a plain alias.
ODataFilter = Annotated[
    str | None,
    _optional_text(2000),
    _TEXT,
    _described(
        "Raw OData $filter for anything else, e.g. contains(JobSite/Directions,'gate'). Text in single "
        "quotes, inner quotes doubled: 'O''Brien'."
    ),
]
ODataOrderBy = Annotated[
    str | None,
    _optional_text(500),
    _TEXT,
    _described("OData $orderby, e.g. Created desc,OrderNumber."),
]
ODataSelect = Annotated[
    str | None,
    _optional_text(500),
    _TEXT,
    _described("OData $select of top-level fields, e.g. Id,Status,JobSite."),
]
StreetNumber = Annotated[str | None, _optional_text(20), _TEXT, _described("e.g. 1204.")]
StreetName = Annotated[str | None, _optional_text(200), _TEXT, _described("e.g. Barton Springs Rd.")]
City = Annotated[str | None, _optional_text(100), _TEXT, _described("e.g. Austin.")]
Region = Annotated[str | None, _optional_text(20), _TEXT, _described("e.g. TX, ON, QLD.")]
PostalCode = Annotated[str | None, _optional_text(20), _TEXT, _described("ZIP or postal code.")]
Apartment = Annotated[str | None, _optional_text(50), _TEXT, _described("e.g. Unit 4.")]
Directions = Annotated[str | None, _optional_text(1000), _TEXT, _described("For the installer.")]
ListingNumber = Annotated[str | None, _optional_text(50), _TEXT, _described("MLS number.")]
ExternalId = Annotated[str | None, _optional_text(100), _TEXT, _described("Your own reference.")]
Notes = Annotated[
    str | None,
    _optional_text(MAX_NOTES_LENGTH),
    _TEXT,
    _described("Notes for the installer."),
]


def _statuses(value: object) -> list[str]:
    if is_blank(value):
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f'must be a status or a list of statuses such as ["Installed"], not {value!r}')
    return [item.strip() for item in items if item.strip()]


def _optional_id(value: object) -> int | None:
    return None if is_blank(value) else _positive_id(value)


def _date_bound(value: object) -> date | datetime | None:
    """Read a date (2026-03-01) or a date-time with an offset, for a range bound."""
    if is_blank(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a date such as 2026-03-01 or a date-time with an offset, not {value!r}")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"must be a date such as 2026-03-01 or a date-time with an offset such as 2026-03-01T08:00:00-06:00, "
            f"not {value!r}"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"has no UTC offset ({value!r}); add one, such as -06:00 or Z, or give the date alone")
    return moment


def _view(value: object) -> str:
    if is_blank(value):
        return "summary"
    if value not in ("summary", "full"):
        raise ValueError(f"must be summary or full, not {value!r}")
    return str(value)


Statuses = Annotated[
    list[str],
    BeforeValidator(_statuses),
    WithJsonSchema({"type": "array", "items": {"type": "string"}}),
    Field(description='One or more statuses, e.g. ["Installed"].'),
]
AgentIdFilter = Annotated[
    int | None,
    BeforeValidator(_optional_id),
    WithJsonSchema({"type": "integer", "minimum": 1}),
    _described("Agent/Id."),
]
AgentName = Annotated[str | None, _optional_text(100), _TEXT, _described("Words of Agent/Name, e.g. Dana.")]
CityFilter = Annotated[str | None, _optional_text(100), _TEXT, _described("City, any case.")]
RegionFilter = Annotated[str | None, _optional_text(20), _TEXT, _described("State or province code, e.g. TX.")]
PostalCodeFilter = Annotated[str | None, _optional_text(20), _TEXT, _described("Exact ZIP or postal code.")]
ListingFilter = Annotated[str | None, _optional_text(50), _TEXT, _described("Exact listing (MLS) number.")]
AddressSearch = Annotated[str | None, _optional_text(100), _TEXT, _described("Words of the street address.")]


DateFrom = Annotated[
    date | datetime | None,
    BeforeValidator(_date_bound),
    WithJsonSchema({"type": "string"}),
    _described("From: a date or a date-time with offset."),
]
DateTo = Annotated[
    date | datetime | None,
    BeforeValidator(_date_bound),
    WithJsonSchema({"type": "string"}),
    _described("To, inclusive; a date means the whole UTC day."),
]
View = Annotated[
    str,
    BeforeValidator(_view),
    WithJsonSchema({"type": "string", "enum": ["summary", "full"]}),
    Field(description="summary: key fields; full: whole records."),
]

AgentSearchName = Annotated[
    str | None, _optional_text(100), _TEXT, _described("Words of the first or last name, e.g. Dana.")
]
AgentEmail = Annotated[str | None, _optional_text(200), _TEXT, _described("Exact email address.")]
OfficeSearch = Annotated[str | None, _optional_text(100), _TEXT, _described("Words of the office name.")]
