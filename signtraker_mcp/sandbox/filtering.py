"""Compile an OData ``$filter`` expression into a predicate over JSON records.

Filters run in Python over records loaded from SQLite rather than as SQL over
``json_extract``. Typed OData semantics are easier to get exactly right this way:
date-times compared in UTC across offsets, case-sensitive strings, null propagation,
and type errors reported before any row is read. SQLite's own case folding is ASCII-only.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException, ParsingException, TokenizingException
from odata_query.grammar import ODataLexer, ODataParser

from .dates import parse_datetime, parse_wire_datetime
from .entities import EntityType
from .errors import InvalidQueryError
from .functions import EDM_NAMES, FUNCTIONS, Expression, Getter, Record, apply_optional

__all__ = ["Predicate", "compile_filter", "resolve_property"]

Predicate = Callable[[Record], bool]

NUMERIC_KINDS = frozenset({"int", "decimal"})
ORDERED_KINDS = frozenset({"string", "int", "decimal", "datetime"})
OPERATOR_NAMES = {
    ast.Eq: "Equal",
    ast.NotEq: "NotEqual",
    ast.Lt: "LessThan",
    ast.LtE: "LessThanOrEqual",
    ast.Gt: "GreaterThan",
    ast.GtE: "GreaterThanOrEqual",
    ast.In: "In",
}
ORDERING_FUNCTIONS: dict[type[ast._Node], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def compile_filter(text: str, entity: EntityType) -> Predicate:
    """Parse and type-check ``text`` against ``entity``, raising InvalidQueryError when it is invalid."""
    if not text.strip():
        raise InvalidQueryError("The $filter query option must not be empty.")
    try:
        tree = ODataParser().parse(iter(_tokens(text)))
    except (ParsingException, TokenizingException) as error:
        detail = _syntax_detail(text, error.token)
        raise InvalidQueryError(f"Syntax error in $filter '{text}': {detail}.") from error
    except ODataException as error:
        raise InvalidQueryError(f"Syntax error in $filter '{text}': {error}") from error
    if tree is None:
        raise InvalidQueryError(f"Syntax error in $filter '{text}'.")

    expression = _Compiler(entity).compile(tree)
    if expression.kind not in {"bool", "null"}:
        raise InvalidQueryError(f"The $filter expression '{text}' must evaluate to a boolean value.")
    evaluate = expression.evaluate
    return lambda record: evaluate(record) is True


def _syntax_detail(text: str, token: object) -> str:
    """Describe where parsing failed, quoting the source text rather than the token object."""
    index = getattr(token, "index", None)
    if not isinstance(index, int):
        return "the expression ends too early"
    words = text[index:].split()
    found = words[0] if words else text[index:]
    return f"unexpected '{found}' at position {index}"


def _tokens(text: str) -> list[Any]:
    """Tokenize ``text``, letting a one-item list after ``in`` parse as OData allows.

    The odata-query 0.10 grammar reads ``(x)`` as a parenthesized expression and only
    accepts ``(x,)`` as a list, so a comma token is inserted in ``in (x)``.
    """
    tokens = [token for token in ODataLexer().tokenize(text) if token.type != "WS"]
    result: list[Any] = []
    for index, token in enumerate(tokens):
        result.append(token)
        window = tokens[index - 3 : index + 1] if index >= 3 else []
        if [t.type for t in window[:2]] == ["IN", "("] and token.type == ")" and window[2].type != ")":
            comma = copy.copy(token)
            comma.type = ","
            comma.value = ","
            result.insert(len(result) - 1, comma)
    return result


def resolve_property(path: Sequence[str], entity: EntityType) -> tuple[str, Getter]:
    """Return the kind and a getter of a property path such as ``("JobSite", "City")``."""
    current: EntityType = entity
    for position, name in enumerate(path):
        property_type = current.properties.get(name)
        if property_type is None:
            raise InvalidQueryError(f"Could not find a property named '{name}' on type '{current.name}'.")
        if isinstance(property_type, EntityType):
            current = property_type
            continue
        if position != len(path) - 1:
            raise InvalidQueryError(f"The property '{name}' of type '{current.name}' has no properties.")
        return property_type, functools.partial(_read_path, tuple(path), property_type == "datetime")
    return "complex", functools.partial(_read_path, tuple(path), False)


def _read_path(path: tuple[str, ...], is_datetime: bool, record: Record) -> object:
    value: Any = record
    for name in path:
        if value is None:
            return None
        value = value.get(name)
    if is_datetime:
        return _cached_wire_datetime(value)
    return value


@functools.lru_cache(maxsize=4096)
def _cached_wire_datetime(text: str | None) -> dt.datetime | None:
    return parse_wire_datetime(text)


def _property_path(node: ast._Node) -> Iterator[str]:
    if isinstance(node, ast.Identifier):
        if node.namespace:
            raise InvalidQueryError(f"Could not find a property named '{_full_name(node)}'.")
        yield node.name
    elif isinstance(node, ast.Attribute):
        yield from _property_path(node.owner)
        yield node.attr
    else:
        raise InvalidQueryError("A property path may contain only property names.")


class _Compiler:
    """Type-check an odata-query AST and build closures that evaluate it."""

    def __init__(self, entity: EntityType) -> None:
        self.entity = entity

    def compile(self, node: ast._Node) -> Expression:
        method = getattr(self, f"_compile_{type(node).__name__}", None)
        if method is None:
            raise InvalidQueryError(f"The sandbox does not support {type(node).__name__} expressions in $filter.")
        result: Expression = method(node)
        return result

    def _compile_Identifier(self, node: ast.Identifier) -> Expression:  # noqa: N802
        kind, getter = resolve_property(list(_property_path(node)), self.entity)
        return Expression(kind, getter)

    _compile_Attribute = _compile_Identifier  # noqa: N815

    def _compile_Null(self, node: ast.Null) -> Expression:  # noqa: N802
        return _constant("null", None)

    def _compile_String(self, node: ast.String) -> Expression:  # noqa: N802
        return _constant("string", node.val)

    def _compile_Integer(self, node: ast.Integer) -> Expression:  # noqa: N802
        return _constant("int", int(node.val))

    def _compile_Float(self, node: ast.Float) -> Expression:  # noqa: N802
        return _constant("decimal", float(node.val))

    def _compile_Boolean(self, node: ast.Boolean) -> Expression:  # noqa: N802
        return _constant("bool", node.val.lower() == "true")

    def _compile_DateTime(self, node: ast.DateTime) -> Expression:  # noqa: N802
        return _constant("datetime", _parse_literal(node.val, "date-time"))

    def _compile_Date(self, node: ast.Date) -> Expression:  # noqa: N802
        return _constant("datetime", _parse_literal(node.val, "date"))

    def _compile_Compare(self, node: ast.Compare) -> Expression:  # noqa: N802
        left = self.compile(node.left)
        name = OPERATOR_NAMES[type(node.comparator)]
        if isinstance(node.comparator, ast.In):
            items = [self.compile(item) for item in _list_items(node.right)]
            for item in items:
                _check_comparable(name, left, item, ordering=False)
            return Expression("bool", lambda r: any(left.evaluate(r) == item.evaluate(r) for item in items))

        right = self.compile(node.right)
        if isinstance(node.comparator, (ast.Eq, ast.NotEq)):
            _check_comparable(name, left, right, ordering=False)
            equal = isinstance(node.comparator, ast.Eq)
            return Expression("bool", lambda r: (left.evaluate(r) == right.evaluate(r)) is equal)

        _check_comparable(name, left, right, ordering=True)
        compare = ORDERING_FUNCTIONS[type(node.comparator)]
        return Expression("bool", lambda r: _ordered(compare, left.evaluate(r), right.evaluate(r)))

    def _compile_BoolOp(self, node: ast.BoolOp) -> Expression:  # noqa: N802
        left = self.compile(node.left)
        right = self.compile(node.right)
        keyword = "and" if isinstance(node.op, ast.And) else "or"
        for side in (left, right):
            if side.kind not in {"bool", "null"}:
                raise InvalidQueryError(f"The operands of '{keyword}' must be boolean, not {EDM_NAMES[side.kind]}.")
        combine = _and if keyword == "and" else _or
        return Expression("bool", lambda r: combine(left.evaluate(r), right.evaluate(r)))

    def _compile_UnaryOp(self, node: ast.UnaryOp) -> Expression:  # noqa: N802
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            if operand.kind not in {"bool", "null"}:
                raise InvalidQueryError(f"The operand of 'not' must be boolean, not {EDM_NAMES[operand.kind]}.")
            return Expression("bool", lambda r: _negate(operand.evaluate(r)))
        if operand.kind not in NUMERIC_KINDS:
            raise InvalidQueryError(f"The operand of '-' must be numeric, not {EDM_NAMES[operand.kind]}.")
        return Expression(operand.kind, lambda r: apply_optional(operator.neg, operand.evaluate(r)))

    def _compile_BinOp(self, node: ast.BinOp) -> Expression:  # noqa: N802
        left = self.compile(node.left)
        right = self.compile(node.right)
        for side in (left, right):
            if side.kind not in NUMERIC_KINDS | {"null"}:
                raise InvalidQueryError(f"Arithmetic needs numeric operands, not {EDM_NAMES[side.kind]}.")
        kind = "int" if left.kind == right.kind == "int" else "decimal"
        arithmetic = _arithmetic_function(node.op, integral=kind == "int")
        return Expression(kind, lambda r: apply_optional(arithmetic, left.evaluate(r), right.evaluate(r)))

    def _compile_Call(self, node: ast.Call) -> Expression:  # noqa: N802
        name = _full_name(node.func)
        function = FUNCTIONS.get(name)
        if function is None:
            raise InvalidQueryError(f"The function '{name}' is not supported by the sandbox.")
        arguments = [self.compile(argument) for argument in node.args]
        return function.compile(name, arguments)


def _full_name(identifier: ast.Identifier) -> str:
    return ".".join((*identifier.namespace, identifier.name))


def _constant(kind: str, value: object) -> Expression:
    return Expression(kind, lambda _record: value)


def _parse_literal(text: str, description: str) -> dt.datetime:
    try:
        return parse_datetime(text)
    except ValueError as error:
        raise InvalidQueryError(f"The {description} literal '{text}' is not valid.") from error


def _list_items(node: ast._Node) -> list[ast._Node]:
    if isinstance(node, ast.List):
        return list(node.val)
    return [node]


def _check_comparable(name: str, left: Expression, right: Expression, *, ordering: bool) -> None:
    kinds = {left.kind, right.kind}
    if "null" in kinds:
        compatible = ordering is False or kinds <= ORDERED_KINDS | {"null"}
    elif kinds <= NUMERIC_KINDS:
        compatible = True
    else:
        compatible = len(kinds) == 1 and "complex" not in kinds
        if ordering:
            compatible = compatible and kinds <= ORDERED_KINDS
    if not compatible:
        raise InvalidQueryError(
            "A binary operator with incompatible types was detected. Found operand types "
            f"'{EDM_NAMES[left.kind]}' and '{EDM_NAMES[right.kind]}' for operator kind '{name}'."
        )


def _ordered(compare: Callable[[Any, Any], bool], left: object, right: object) -> bool:
    # Ordering a null against anything is false, as with lifted comparisons in .NET.
    if left is None or right is None:
        return False
    return compare(left, right)


def _and(left: bool | None, right: bool | None) -> bool | None:
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True


def _or(left: bool | None, right: bool | None) -> bool | None:
    if left is True or right is True:
        return True
    if left is None or right is None:
        return None
    return False


def _negate(value: bool | None) -> bool | None:
    return None if value is None else not value


def _arithmetic_function(token: ast._Node, *, integral: bool) -> Callable[..., Any]:
    if isinstance(token, ast.Add):
        return operator.add
    if isinstance(token, ast.Sub):
        return operator.sub
    if isinstance(token, ast.Mult):
        return operator.mul
    return functools.partial(_divide, isinstance(token, ast.Mod), integral)


def _divide(modulo: bool, integral: bool, left: float, right: float) -> float | None:
    """Divide like .NET: integers truncate toward zero, and division by zero gives null."""
    if right == 0:
        return None
    if not integral:
        return math.fmod(left, right) if modulo else left / right
    quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
    return left - quotient * right if modulo else quotient
