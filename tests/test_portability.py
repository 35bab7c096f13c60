"""The advertised tool schemas against the rules of two function-calling formats that clients map them onto.

Clients hand an MCP tool to a model as a function declaration, in one of two common formats:

- OpenAI function calling. Its API reference allows function names of letters, digits, underscores and
  dashes, at most 64 characters. In strict mode every object must be closed (`additionalProperties:
  false`), so a free-form object argument cannot be expressed.
- Gemini function declarations, a subset of the OpenAPI 3.0 schema with one `type` per schema and
  string enums. The Vertex AI `FunctionDeclaration` reference
  (cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/FunctionDeclaration) sets the name rules:
  a function name starts with a letter or an underscore and goes on with letters, digits, underscores,
  dots, colons or dashes, at most 64 characters. A parameter name has only letters, digits and
  underscores, starts with a letter or an underscore, and has at most 64 characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client
from pydantic import SecretStr

from signtraker_mcp.config import Settings
from signtraker_mcp.server import build_server

pytestmark = pytest.mark.anyio

Schema = dict[str, Any]
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
COMPOSITION_KEYWORDS = ("anyOf", "oneOf", "allOf", "not")
OPENAI_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
GEMINI_FUNCTION_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}")
GEMINI_PARAMETER_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,63}")


def _subschemas(schema: Schema, path: str = "#") -> Iterator[tuple[str, Schema]]:
    """Yield every schema inside `schema`, itself included, with its JSON Pointer path."""
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _subschemas(child, f"{path}/properties/{name}")
    for keyword in ("items", "additionalProperties", "not"):
        child = schema.get(keyword)
        if isinstance(child, dict):
            yield from _subschemas(child, f"{path}/{keyword}")
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, child in enumerate(schema.get(keyword, [])):
            yield from _subschemas(child, f"{path}/{keyword}/{index}")
    for keyword in ("$defs", "definitions"):
        for name, child in schema.get(keyword, {}).items():
            yield from _subschemas(child, f"{path}/{keyword}/{name}")


def _no_reference(schema: Schema) -> list[str]:
    return [path for path, node in _subschemas(schema) if "$ref" in node or "$defs" in node or "definitions" in node]


def _no_composition(schema: Schema) -> list[str]:
    return [
        f"{path}/{keyword}" for path, node in _subschemas(schema) for keyword in COMPOSITION_KEYWORDS if keyword in node
    ]


def _single_known_type(schema: Schema) -> list[str]:
    return [
        path
        for path, node in _subschemas(schema)
        if not isinstance(node.get("type"), str) or node["type"] not in JSON_TYPES
    ]


def _typed_items(schema: Schema) -> list[str]:
    return [
        path
        for path, node in _subschemas(schema)
        if node.get("type") == "array"
        and not (isinstance(node.get("items"), dict) and node["items"].get("type") in JSON_TYPES)
    ]


def _string_enums(schema: Schema) -> list[str]:
    return [
        path
        for path, node in _subschemas(schema)
        if "enum" in node and not all(isinstance(value, str) for value in node["enum"])
    ]


def _required_declared(schema: Schema) -> list[str]:
    return [
        f"{path}/required/{name}"
        for path, node in _subschemas(schema)
        for name in node.get("required", [])
        if name not in node.get("properties", {})
    ]


def _closed_objects(schema: Schema) -> list[str]:
    """Find objects that strict mode cannot close: any nested object must list its properties."""
    return [
        path
        for path, node in _subschemas(schema)
        if node.get("type") == "object"
        and path != "#"
        and (not node.get("properties") or node.get("additionalProperties"))
    ]


def _parameter_names(schema: Schema) -> list[str]:
    return [
        f"{path}/properties/{name}"
        for path, node in _subschemas(schema)
        for name in node.get("properties", {})
        if not GEMINI_PARAMETER_NAME.fullmatch(name)
    ]


@dataclass(frozen=True)
class Rule:
    """One portability rule: a check that returns the paths breaking it, and a schema that breaks it."""

    check: Callable[[Schema], list[str]]
    violation: Schema


RULES = [
    pytest.param(
        Rule(_no_reference, {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {}}}),
        id="no-ref-or-defs",
    ),
    pytest.param(
        Rule(_no_composition, {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}]}}}),
        id="no-anyof-oneof-allof-not",
    ),
    pytest.param(
        Rule(_single_known_type, {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}),
        id="one-type-per-schema",
    ),
    pytest.param(Rule(_typed_items, {"type": "object", "properties": {"a": {"type": "array"}}}), id="typed-items"),
    pytest.param(
        Rule(_string_enums, {"type": "object", "properties": {"a": {"type": "integer", "enum": [1, 2]}}}),
        id="string-enums",
    ),
    pytest.param(
        Rule(_required_declared, {"type": "object", "properties": {}, "required": ["a"]}), id="required-declared"
    ),
    pytest.param(
        Rule(_closed_objects, {"type": "object", "properties": {"a": {"type": "object"}}}),
        id="no-free-form-objects",
    ),
    pytest.param(
        Rule(_parameter_names, {"type": "object", "properties": {"due-date": {"type": "string"}}}),
        id="parameter-names",
    ),
]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def input_schemas() -> dict[str, Schema]:
    """The input schema of every tool, as a client receives it from tools/list."""
    settings = Settings(api_key=SecretStr("unused"), base_url="https://example.signtraker.com")
    async with Client(build_server(settings)) as client:
        return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}


@pytest.mark.parametrize("rule", RULES)
async def test_input_schemas_follow_rule(rule: Rule, input_schemas: dict[str, Schema]) -> None:
    violations = {name: rule.check(schema) for name, schema in input_schemas.items()}
    assert {name: paths for name, paths in violations.items() if paths} == {}


@pytest.mark.parametrize("rule", RULES)
def test_rule_flags_its_violation(rule: Rule) -> None:
    assert rule.check(rule.violation) != []


@pytest.mark.parametrize(
    "pattern",
    [pytest.param(OPENAI_FUNCTION_NAME, id="openai"), pytest.param(GEMINI_FUNCTION_NAME, id="gemini")],
)
async def test_tool_names_fit_function_name_rules(pattern: re.Pattern[str], input_schemas: dict[str, Schema]) -> None:
    assert [name for name in input_schemas if not pattern.fullmatch(name)] == []


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        pytest.param(OPENAI_FUNCTION_NAME, "a" * 65, id="openai-too-long"),
        pytest.param(OPENAI_FUNCTION_NAME, "orders.list", id="openai-dot"),
        pytest.param(GEMINI_FUNCTION_NAME, "1st_tool", id="gemini-leading-digit"),
    ],
)
def test_function_name_rule_rejects(pattern: re.Pattern[str], name: str) -> None:
    assert pattern.fullmatch(name) is None
