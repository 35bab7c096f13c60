"""Property types of the API's record types, used to check and evaluate OData queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "AGENT_TYPE",
    "ORDER_STATUSES",
    "ORDER_TYPE",
    "PRESET_TYPE",
    "EntityType",
    "PrimitiveType",
    "PropertyType",
]

PrimitiveType = Literal["string", "int", "decimal", "bool", "datetime"]

ORDER_STATUSES = (
    "Draft",
    "PaymentRequired",
    "Designing",
    "Scheduled",
    "Installed",
    "RemovalRequested",
    "Removed",
    "Cancelled",
)


@dataclass(frozen=True)
class EntityType:
    """A record type: its OData name and the type of each property."""

    name: str
    properties: Mapping[str, PropertyType]


PropertyType: TypeAlias = PrimitiveType | EntityType

NAMED_REFERENCE_TYPE = EntityType("SignTraker.NamedReference", {"Id": "int", "Name": "string"})

JOB_SITE_TYPE = EntityType(
    "SignTraker.JobSite",
    {
        "Id": "int",
        "StreetAddress": "string",
        "StreetNumber": "string",
        "StreetName": "string",
        "StreetLine2": "string",
        "City": "string",
        "State": "string",
        "Zip": "string",
        "CountryCode": "string",
        "Latitude": "decimal",
        "Longitude": "decimal",
        "Directions": "string",
        "ListingNumber": "string",
    },
)

SALES_ORDER_TYPE = EntityType("SignTraker.SalesOrder", {"Id": "int", "OrderTotal": "decimal"})

ORDER_TYPE = EntityType(
    "SignTraker.SignageOrder",
    {
        "Id": "int",
        "OrderNumber": "int",
        "Status": "string",
        "Notes": "string",
        "Created": "datetime",
        "DueDate": "datetime",
        "IsDueDateDefinitive": "bool",
        "DateInstalled": "datetime",
        "RemovalRequestDate": "datetime",
        "RemovalDueDate": "datetime",
        "IsRemovalDueDateDefinitive": "bool",
        "RemovalDate": "datetime",
        "RebillInterval": "int",
        "NextRebillDate": "datetime",
        "SalesOrder": SALES_ORDER_TYPE,
        "JobSite": JOB_SITE_TYPE,
        "PostType": NAMED_REFERENCE_TYPE,
        "Agent": NAMED_REFERENCE_TYPE,
    },
)

AGENT_TYPE = EntityType(
    "SignTraker.Agent",
    {
        "Id": "int",
        "FirstName": "string",
        "LastName": "string",
        "Email": "string",
        "Phone": "string",
        "Office": NAMED_REFERENCE_TYPE,
        "IsInactive": "bool",
    },
)

PRESET_TYPE = EntityType("SignTraker.OrderPreset", {"Id": "int", "Name": "string"})
