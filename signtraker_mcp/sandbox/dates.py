"""Date-time parsing and formatting in the API's UTC wire format."""

from __future__ import annotations

import datetime as dt

__all__ = ["format_datetime", "next_business_day_due", "parse_datetime", "parse_wire_datetime"]

WIRE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DUE_HOUR_UTC = 17


def format_datetime(value: dt.datetime) -> str:
    """Format an aware date-time as UTC, e.g. ``2026-03-14T15:00:00Z``."""
    return value.astimezone(dt.timezone.utc).strftime(WIRE_FORMAT)


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 date or date-time into an aware UTC date-time.

    A value without an offset is taken as UTC, and a bare date means midnight UTC.
    Raises ValueError when the text is not ISO 8601.
    """
    stripped = text.strip()
    if stripped.endswith(("Z", "z")):
        stripped = stripped[:-1] + "+00:00"
    if len(stripped) == 10:
        day = dt.date.fromisoformat(stripped)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    value = dt.datetime.fromisoformat(stripped)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def parse_wire_datetime(text: str | None) -> dt.datetime | None:
    """Parse a stored ``...Z`` date-time, passing None through."""
    if text is None:
        return None
    return dt.datetime.strptime(text, WIRE_FORMAT).replace(tzinfo=dt.timezone.utc)


def next_business_day_due(now: dt.datetime) -> dt.datetime:
    """Return 17:00 UTC on the first Monday-to-Friday day after the UTC date of ``now``."""
    day = now.astimezone(dt.timezone.utc).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, DUE_HOUR_UTC, tzinfo=dt.timezone.utc)
