"""Parse and apply the OData query options ``$filter``, ``$orderby``, ``$top``, ``$skip`` and ``$select``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .entities import EntityType
from .errors import InvalidQueryError
from .filtering import Predicate, compile_filter, resolve_property
from .functions import Getter

__all__ = ["InvalidQueryError", "QueryOptions", "SortKey", "parse_query_options"]

SUPPORTED_OPTIONS = frozenset({"$filter", "$orderby", "$top", "$skip", "$select"})
INT32_MAX = 2**31 - 1
NON_NEGATIVE_INTEGER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class SortKey:
    """One ``$orderby`` item: the property path, its getter and the direction."""

    path: tuple[str, ...]
    getter: Getter
    descending: bool


@dataclass(frozen=True)
class QueryOptions:
    """Parsed query options, applied in OData order: filter, order, skip, top, select."""

    predicate: Predicate | None = None
    order_by: tuple[SortKey, ...] = ()
    skip: int = 0
    top: int | None = None
    select: tuple[str, ...] | None = None

    def apply(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the records that the options keep, in order, with only the selected keys."""
        predicate = self.predicate
        selected = [record for record in records if predicate is None or predicate(record)]

        # Stable sorts from the last key to the first give a multi-key sort.
        # Nulls rank below every value, so they come first ascending and last descending.
        for key in reversed(self.order_by):
            selected.sort(key=functools.partial(_sort_value, key.getter), reverse=key.descending)

        end = None if self.top is None else self.skip + self.top
        page = selected[self.skip : end]
        if self.select is None:
            return page
        return [{name: record[name] for name in record if name in self.select} for record in page]


def _sort_value(getter: Getter, record: dict[str, Any]) -> tuple[bool, Any]:
    value = getter(record)
    return (value is not None, value if value is not None else 0)


def parse_query_options(params: Sequence[tuple[str, str]], entity: EntityType) -> QueryOptions:
    """Parse the ``$`` query parameters of a request for records of ``entity``.

    Parameters without a ``$`` prefix are left to the endpoint. Raises InvalidQueryError.
    """
    options: dict[str, str] = {}
    for name, value in params:
        if not name.startswith("$"):
            continue
        if name not in SUPPORTED_OPTIONS:
            raise InvalidQueryError(f"The query parameter '{name}' is not supported.")
        if name in options:
            raise InvalidQueryError(f"The query parameter '{name}' is specified more than once.")
        options[name] = value

    return QueryOptions(
        predicate=compile_filter(options["$filter"], entity) if "$filter" in options else None,
        order_by=_parse_order_by(options["$orderby"], entity) if "$orderby" in options else (),
        skip=_parse_count("$skip", options["$skip"]) if "$skip" in options else 0,
        top=_parse_count("$top", options["$top"]) if "$top" in options else None,
        select=_parse_select(options["$select"], entity) if "$select" in options else None,
    )


def _parse_count(name: str, text: str) -> int:
    value = text.strip()
    if not NON_NEGATIVE_INTEGER.fullmatch(value) or int(value) > INT32_MAX:
        raise InvalidQueryError(
            f"Invalid value '{text}' for {name} query option found. "
            f"The {name} query option requires a non-negative integer value."
        )
    return int(value)


def _parse_order_by(text: str, entity: EntityType) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    for item in text.split(","):
        words = item.split()
        if not 1 <= len(words) <= 2:
            raise InvalidQueryError(f"The $orderby item '{item.strip()}' is not 'Property [asc|desc]'.")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in {"asc", "desc"}:
            raise InvalidQueryError(f"The $orderby direction '{words[1]}' is not 'asc' or 'desc'.")
        path = tuple(words[0].split("/"))
        kind, getter = resolve_property(path, entity)
        if kind == "complex":
            raise InvalidQueryError(f"The $orderby property '{words[0]}' is not of a primitive type.")
        keys.append(SortKey(path, getter, direction == "desc"))
    return tuple(keys)


def _parse_select(text: str, entity: EntityType) -> tuple[str, ...] | None:
    names: list[str] = []
    for item in text.split(","):
        name = item.strip()
        if name == "*":
            return None
        if "/" in name:
            raise InvalidQueryError(f"The sandbox supports only top-level properties in $select, not '{name}'.")
        if name not in entity.properties:
            raise InvalidQueryError(f"Could not find a property named '{name}' on type '{entity.name}'.")
        names.append(name)
    return tuple(names)
