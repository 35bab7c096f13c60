"""Build API records (``SignageOrder`` and its parts) with every key present."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .dates import format_datetime

__all__ = ["country_for_state", "job_site_record", "order_record"]

CANADIAN_PROVINCES = frozenset({"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"})
AUSTRALIAN_STATES = frozenset({"ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"})


def country_for_state(state: str | None) -> str:
    """Return the ISO country code (US, CA or AU) of a state or province code, US by default.

    ``NT`` is both a Canadian territory and an Australian territory, and it maps to AU.
    """
    code = (state or "").strip().upper()
    if code in AUSTRALIAN_STATES:
        return "AU"
    if code in CANADIAN_PROVINCES:
        return "CA"
    return "US"


def _optional_datetime(value: dt.datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def job_site_record(
    *,
    job_site_id: int,
    street_number: str | None,
    street_name: str | None,
    street_line2: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
    country_code: str,
    latitude: float | None = None,
    longitude: float | None = None,
    directions: str | None = None,
    listing_number: str | None = None,
) -> dict[str, Any]:
    """Build a ``JobSite`` record whose ``StreetAddress`` joins the street number and name."""
    street_address = " ".join(part for part in (street_number, street_name) if part) or None
    return {
        "Id": job_site_id,
        "StreetAddress": street_address,
        "StreetNumber": street_number,
        "StreetName": street_name,
        "StreetLine2": street_line2,
        "City": city,
        "State": state,
        "Zip": zip_code,
        "CountryCode": country_code,
        "Latitude": latitude,
        "Longitude": longitude,
        "Directions": directions,
        "ListingNumber": listing_number,
    }


def order_record(
    *,
    order_id: int,
    order_number: int,
    status: str,
    notes: str | None,
    created: dt.datetime,
    due_date: dt.datetime | None,
    is_due_date_definitive: bool,
    rebill_interval: int,
    job_site: dict[str, Any],
    post_type: dict[str, Any],
    agent: dict[str, Any],
    sales_order: dict[str, Any] | None,
    date_installed: dt.datetime | None = None,
    removal_request_date: dt.datetime | None = None,
    removal_due_date: dt.datetime | None = None,
    is_removal_due_date_definitive: bool = False,
    removal_date: dt.datetime | None = None,
    next_rebill_date: dt.datetime | None = None,
) -> dict[str, Any]:
    """Build a ``SignageOrder`` record with its keys in the API's order."""
    return {
        "Id": order_id,
        "OrderNumber": order_number,
        "Status": status,
        "Notes": notes,
        "Created": format_datetime(created),
        "DueDate": _optional_datetime(due_date),
        "IsDueDateDefinitive": is_due_date_definitive,
        "DateInstalled": _optional_datetime(date_installed),
        "RemovalRequestDate": _optional_datetime(removal_request_date),
        "RemovalDueDate": _optional_datetime(removal_due_date),
        "IsRemovalDueDateDefinitive": is_removal_due_date_definitive,
        "RemovalDate": _optional_datetime(removal_date),
        "RebillInterval": rebill_interval,
        "NextRebillDate": _optional_datetime(next_rebill_date),
        "SalesOrder": sales_order,
        "JobSite": job_site,
        "PostType": post_type,
        "Agent": agent,
    }
