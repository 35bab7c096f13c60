"""OData canonical functions that ``$filter`` expressions may call in the sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidQueryError

__all__ = ["EDM_NAMES", "FUNCTIONS", "Expression", "Getter", "Record", "apply_optional"]

Record = Mapping[str, Any]
Getter = Callable[[Record], Any]

EDM_NAMES = {
    "string": "Edm.String",
    "int": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "null": "null",
    "complex": "a complex type",
}


@dataclass(frozen=True)
class Expression:
    """A compiled sub-expression: its OData type kind and how to evaluate it on a record."""

    kind: str
    evaluate: Getter


def apply_optional(function: Callable[..., object], *values: object) -> object:
    """Apply ``function`` unless a value is null, which propagates as null."""
    if any(value is None for value in values):
        return None
    return function(*values)


@dataclass(frozen=True)
class Function:
    """A canonical function: its parameter kinds, result kind and implementation."""

    parameters: tuple[str, ...]
    result: str
    implementation: Callable[..., Any]
    optional_parameters: int = 0

    def compile(self, name: str, arguments: Sequence[Expression]) -> Expression:
        """Check the argument kinds of a call to ``name`` and return the call's expression."""
        required = len(self.parameters) - self.optional_parameters
        if not required <= len(arguments) <= len(self.parameters):
            raise InvalidQueryError(f"The function '{name}' takes {len(self.parameters)} arguments.")
        expected_kinds = self.parameters[: len(arguments)]
        for position, (argument, expected) in enumerate(zip(arguments, expected_kinds, strict=True), start=1):
            if argument.kind not in {expected, "null"}:
                raise InvalidQueryError(
                    f"Argument {position} of the function '{name}' must be {EDM_NAMES[expected]}, "
                    f"not {EDM_NAMES[argument.kind]}."
                )
        implementation = self.implementation
        getters = [argument.evaluate for argument in arguments]
        return Expression(self.result, lambda record: apply_optional(implementation, *(get(record) for get in getters)))


def _substring(text: str, start: int, length: int | None = None) -> str:
    """Return a substring, clamping out-of-range positions instead of failing."""
    start = max(start, 0)
    if length is None:
        return text[start:]
    return text[start : start + max(length, 0)]


def _utc_part(attribute: str) -> Callable[[dt.datetime], int]:
    def part(value: dt.datetime) -> int:
        result: int = getattr(value.astimezone(dt.timezone.utc), attribute)
        return result

    return part


FUNCTIONS: dict[str, Function] = {
    "contains": Function(("string", "string"), "bool", lambda text, part: part in text),
    "startswith": Function(("string", "string"), "bool", lambda text, part: text.startswith(part)),
    "endswith": Function(("string", "string"), "bool", lambda text, part: text.endswith(part)),
    "tolower": Function(("string",), "string", str.lower),
    "toupper": Function(("string",), "string", str.upper),
    "trim": Function(("string",), "string", str.strip),
    "length": Function(("string",), "int", len),
    "indexof": Function(("string", "string"), "int", lambda text, part: text.find(part)),
    "concat": Function(("string", "string"), "string", lambda left, right: left + right),
    "substring": Function(("string", "int", "int"), "string", _substring, optional_parameters=1),
    "year": Function(("datetime",), "int", _utc_part("year")),
    "month": Function(("datetime",), "int", _utc_part("month")),
    "day": Function(("datetime",), "int", _utc_part("day")),
    "hour": Function(("datetime",), "int", _utc_part("hour")),
    "minute": Function(("datetime",), "int", _utc_part("minute")),
    "second": Function(("datetime",), "int", _utc_part("second")),
}
