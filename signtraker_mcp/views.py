"""Compact views of order records, for results that a model reads in its context."""

from __future__ import annotations

from typing import Any

__all__ = ["SUMMARY_SELECT", "summarize_agent", "summarize_order"]

# The top-level fields the summary view needs; sent as $select so the API sends less.
SUMMARY_SELECT = (
    "Id,OrderNumber,Status,Created,DueDate,DateInstalled,RemovalRequestDate,RemovalDueDate,RemovalDate,JobSite,Agent"
)

_DATES = ("Created", "DueDate", "DateInstalled", "RemovalRequestDate", "RemovalDueDate", "RemovalDate")
_JOB_SITE = ("StreetAddress", "StreetLine2", "City", "State", "Zip")


def summarize_order(record: dict[str, Any]) -> dict[str, Any]:
    """Keep the fields a person needs to recognise an order, under the paths a filter uses, without nulls.

    Nested fields are flattened to their OData paths (JobSite/City, Agent/Name),
    so every key of the summary is also a name to filter and sort on.
    """
    summary: dict[str, Any] = {}
    for key in ("Id", "OrderNumber", "Status"):
        if record.get(key) is not None:
            summary[key] = record[key]
    job_site = record.get("JobSite")
    if isinstance(job_site, dict):
        for key in _JOB_SITE:
            value = job_site.get(key)
            if value not in (None, ""):
                summary[f"JobSite/{key}"] = value
    agent = record.get("Agent")
    if isinstance(agent, dict) and agent.get("Name"):
        summary["Agent/Name"] = agent["Name"]
    for key in _DATES:
        if record.get(key) is not None:
            summary[key] = record[key]
    return summary


def summarize_agent(record: dict[str, Any]) -> dict[str, Any]:
    """Keep an agent's Id, names, contact and office, without nulls."""
    summary = {
        key: record[key]
        for key in ("Id", "FirstName", "LastName", "Email", "Phone", "IsInactive")
        if record.get(key) not in (None, "")
    }
    office = record.get("Office")
    if isinstance(office, dict) and office.get("Name"):
        summary["Office/Name"] = office["Name"]
    return summary
