"""OData query options: literals written by the server, and raw options checked before they are sent.

Models write OData unreliably: they forget quotes, double quotes the wrong way,
and invent field names. Typed arguments are compiled here into correct OData,
with every literal quoted and escaped by this module. A raw `$filter` is parsed
locally with the `odata-query` parser, so a syntax error comes back at once,
with its position, without a request to the API. Unknown field names only
produce a warning, because the API may have fields its documentation omits.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from .errors import InvalidArgumentError

__all__ = [
    "ORDER_FIELDS",
    "DateRange",
    "OrderFilters",
    "check_filter",
    "check_orderby",
    "check_select",
    "compile_agent_filter",
    "compile_order_filter",
    "datetime_literal",
    "string_literal",
]

ORDER_FIELDS: frozenset[str] = frozenset(
    {
        "Id",
        "OrderNumber",
        "Status",
        "Notes",
        "Created",
        "DueDate",
        "IsDueDateDefinitive",
        "DateInstalled",
        "RemovalRequestDate",
        "RemovalDueDate",
        "IsRemovalDueDateDefinitive",
        "RemovalDate",
        "RebillInterval",
        "NextRebillDate",
        "SalesOrder",
        "SalesOrder/Id",
        "SalesOrder/OrderTotal",
        "JobSite",
        "JobSite/Id",
        "JobSite/StreetAddress",
        "JobSite/StreetNumber",
        "JobSite/StreetName",
        "JobSite/StreetLine2",
        "JobSite/City",
        "JobSite/State",
        "JobSite/Zip",
        "JobSite/CountryCode",
        "JobSite/Latitude",
        "JobSite/Longitude",
        "JobSite/Directions",
        "JobSite/ListingNumber",
        "PostType",
        "PostType/Id",
        "PostType/Name",
        "Agent",
        "Agent/Id",
        "Agent/Name",
    }
)
TOP_LEVEL_ORDER_FIELDS = frozenset(name for name in ORDER_FIELDS if "/" not in name)

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*$")


def string_literal(value: str) -> str:
    """Write an OData string literal: single quotes, with each quote inside doubled."""
    return "'" + value.replace("'", "''") + "'"


def datetime_literal(moment: datetime) -> str:
    """Write an OData DateTimeOffset literal in UTC."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class DateRange:
    """Bounds on one date field. A date alone covers that whole day in UTC."""

    start: date | datetime | None = None
    end: date | datetime | None = None

    def clauses(self, path: str) -> list[str]:
        """Write the bounds as OData comparisons on `path`."""
        clauses: list[str] = []
        if self.start is not None:
            clauses.append(f"{path} ge {datetime_literal(_as_moment(self.start))}")
        if isinstance(self.end, datetime):
            clauses.append(f"{path} le {datetime_literal(self.end)}")
        elif self.end is not None:
            clauses.append(f"{path} lt {datetime_literal(_midnight(self.end + timedelta(days=1)))}")
        return clauses

    def is_inverted(self) -> bool:
        """Tell whether the start lies after the end, so that nothing can match."""
        if self.start is None or self.end is None:
            return False
        first = _as_moment(self.start)
        if isinstance(self.end, datetime):
            return first > self.end
        return first >= _midnight(self.end + timedelta(days=1))


def _as_moment(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else _midnight(value)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc)


@dataclass(frozen=True)
class OrderFilters:
    """The typed filters of list_orders, before they are compiled to `$filter`."""

    statuses: Sequence[str] = ()
    agent_id: int | None = None
    agent_name: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    listing_number: str | None = None
    address: str | None = None
    ranges: dict[str, DateRange] = field(default_factory=dict)


def _text_match(path: str, value: str) -> str:
    """Compare text without regard to case, as people type city and street names."""
    return f"tolower({path}) eq {string_literal(value.lower())}"


def _contains(path: str, value: str) -> str:
    return f"contains(tolower({path}),{string_literal(value.lower())})"


def compile_order_filter(filters: OrderFilters, raw: str | None) -> str | None:
    """Compile typed filters into one `$filter`, joined by `and` with a raw filter when both are given."""
    clauses: list[str] = []
    if filters.statuses:
        # Statuses are compared without regard to case too: the full set of values is not
        # documented, so a model may well write "installed".
        alternatives = [_text_match("Status", status) for status in filters.statuses]
        clauses.append(alternatives[0] if len(alternatives) == 1 else "(" + " or ".join(alternatives) + ")")
    if filters.agent_id is not None:
        clauses.append(f"Agent/Id eq {filters.agent_id}")
    if filters.agent_name is not None:
        clauses.extend(_contains("Agent/Name", word) for word in filters.agent_name.split())
    if filters.city is not None:
        clauses.append(_text_match("JobSite/City", filters.city))
    if filters.state is not None:
        clauses.append(_text_match("JobSite/State", filters.state))
    if filters.zip is not None:
        clauses.append(f"JobSite/Zip eq {string_literal(filters.zip)}")
    if filters.listing_number is not None:
        clauses.append(f"JobSite/ListingNumber eq {string_literal(filters.listing_number)}")
    if filters.address is not None:
        clauses.append(
            f"({_contains('JobSite/StreetAddress', filters.address)} or "
            f"{_contains('JobSite/StreetName', filters.address)})"
        )
    for path, bounds in filters.ranges.items():
        clauses.extend(bounds.clauses(path))
    if raw is not None:
        clauses.append(f"({raw})" if clauses else raw)
    return " and ".join(clauses) if clauses else None


def compile_agent_filter(name: str | None, office: str | None) -> str | None:
    """Compile an agent search: every word of `name` in the first or last name, `office` in the office name."""
    clauses: list[str] = []
    for word in (name or "").split():
        clauses.append(f"({_contains('FirstName', word)} or {_contains('LastName', word)})")
    if office is not None:
        clauses.append(_contains("Office/Name", office))
    return " and ".join(clauses) if clauses else None


def _syntax_hint(text: str) -> str:
    if '"' in text:
        return "Write text values in single quotes, not double quotes: City eq 'Austin'."
    if re.search(r"==|!=|&&|\|\||>=|<=|(?<![a-z])[<>](?![a-z])", text):
        return "Use OData operators: eq, ne, gt, ge, lt, le, and, or, not."
    if text.count("'") % 2:
        return "A text value is not closed; write a quote inside text as two quotes: 'O''Brien'."
    if text.count("(") != text.count(")"):
        return "Parentheses do not match."
    return "Example: Status eq 'Installed' and contains(JobSite/City,'Austin')."


def check_filter(text: str, known: Iterable[str] = ORDER_FIELDS) -> list[str]:
    """Parse a raw `$filter`; raise on a syntax error, return warnings about unknown field names."""
    # Imported here: building the parser's grammar costs about 40 ms, which every start of
    # the server would pay, while only calls with a raw filter need it.
    from odata_query.exceptions import ODataException, ParsingException, TokenizingException, UnknownFunctionException
    from odata_query.grammar import ODataLexer, ODataParser

    try:
        tree = ODataParser().parse(ODataLexer().tokenize(text))
    except (TokenizingException, ParsingException) as error:
        index = getattr(error.token, "index", None)
        where = f"at position {index + 1} ({text[index : index + 12]!r})" if index is not None else "at its end"
        raise InvalidArgumentError(
            f"filter {text!r} is not valid OData: the parser stopped {where}. {_syntax_hint(text)} Nothing was sent."
        ) from None
    except UnknownFunctionException as error:
        raise InvalidArgumentError(
            f"filter {text!r} uses the unknown function {error.function_name!r}; use contains, startswith, "
            "endswith, tolower, toupper, year, month or day. Nothing was sent."
        ) from None
    except ODataException as error:
        raise InvalidArgumentError(f"filter {text!r} is not valid OData: {error}. Nothing was sent.") from None
    return _unknown_field_warnings(_field_paths(tree), known, "filter")


def _field_paths(node: object) -> Iterator[str]:
    """Yield every field path (Agent/Name) that a parsed filter refers to."""
    from odata_query import ast

    if isinstance(node, ast.Identifier):
        yield node.name
    elif isinstance(node, ast.Attribute):
        owner = next(iter(_field_paths(node.owner)), None)
        if owner is not None:
            yield f"{owner}/{node.attr}"
    elif isinstance(node, ast.Call):
        for argument in node.args:
            yield from _field_paths(argument)
    elif isinstance(node, ast.Compare | ast.BoolOp):
        yield from _field_paths(node.left)
        yield from _field_paths(node.right)
    elif isinstance(node, ast.UnaryOp):
        yield from _field_paths(node.operand)
    elif isinstance(node, ast.BinOp):
        yield from _field_paths(node.left)
        yield from _field_paths(node.right)


def _unknown_field_warnings(paths: Iterable[str], known: Iterable[str], option: str) -> list[str]:
    known_fields = sorted(known)
    warnings: list[str] = []
    for path in dict.fromkeys(paths):
        if path in known_fields:
            continue
        # A bare name of a nested field (City for JobSite/City) is the likeliest slip.
        nested = [known_path for known_path in known_fields if known_path.endswith("/" + path)]
        close = nested or difflib.get_close_matches(path, known_fields, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        quoted = "" if "/" in path or option != "filter" else f" If {path!r} is a text value, put it in single quotes."
        warnings.append(f"{option} uses {path!r}, which is not a documented order field.{hint}{quoted}")
    return warnings


def _items(text: str) -> Iterator[tuple[int, str]]:
    """Yield each comma-separated item of an option with its 1-based position in the text."""
    start = 0
    for item in text.split(","):
        stripped = item.strip()
        yield start + (len(item) - len(item.lstrip())) + 1, stripped
        start += len(item) + 1


def check_orderby(text: str, known: Iterable[str] = ORDER_FIELDS) -> tuple[list[str], list[str]]:
    """Check a raw `$orderby`; return its field paths and warnings about unknown ones."""
    paths: list[str] = []
    for position, item in _items(text):
        words = item.split()
        if not words or len(words) > 2 or not _PATH.match(words[0]):
            raise InvalidArgumentError(
                f"orderby {text!r} is not valid at position {position} ({item!r}): write fields separated by "
                "commas, each optionally followed by asc or desc, e.g. 'Created desc,OrderNumber'. Nothing was sent."
            )
        if len(words) == 2 and words[1].lower() not in ("asc", "desc"):
            where = position + item.index(words[1], len(words[0]))
            raise InvalidArgumentError(
                f"orderby {text!r} has the direction {words[1]!r} at position {where}; use asc or desc. "
                "Nothing was sent."
            )
        paths.append(words[0])
    return paths, _unknown_field_warnings(paths, known, "orderby")


def check_select(text: str, known: Iterable[str] = TOP_LEVEL_ORDER_FIELDS) -> list[str]:
    """Check a raw `$select` of top-level fields; return warnings about unknown ones."""
    names: list[str] = []
    for position, name in _items(text):
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise InvalidArgumentError(
                f"select {text!r} is not valid at position {position} ({name!r}): list top-level fields separated "
                "by commas, e.g. 'Id,OrderNumber,Status,JobSite'. Nothing was sent."
            )
        names.append(name)
    return _unknown_field_warnings(names, known, "select")
