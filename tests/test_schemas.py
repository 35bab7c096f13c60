"""The advertised tool schemas: equal to the files in schemas/, valid, and portable across clients."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from signtraker_mcp.schema_export import advertised_schemas, render

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
REGISTRY_SCHEMA = Path(__file__).resolve().parent / "data" / "server.schema.2025-12-11.json"
ADVERTISED = advertised_schemas()


def _properties(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, child in schema.get("properties", {}).items():
        yield f"{path}{name}", child
        yield from _properties(child, f"{path}{name}.")


@pytest.mark.parametrize("name", sorted(ADVERTISED))
def test_schema_file_matches_advertised(name: str) -> None:
    path = SCHEMAS / name
    assert path.exists(), f"{path} is missing; run python -m signtraker_mcp.schema_export"
    assert path.read_text(encoding="utf-8") == render(ADVERTISED[name]), (
        f"{path} differs from the advertised schema; run python -m signtraker_mcp.schema_export"
    )


def test_schema_folder_has_no_stray_files() -> None:
    assert sorted(path.name for path in SCHEMAS.glob("*.json")) == sorted(ADVERTISED)


@pytest.mark.parametrize("name", sorted(ADVERTISED))
def test_schema_file_is_valid_json_schema(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(ADVERTISED))
def test_schema_is_portable(name: str) -> None:
    schema = ADVERTISED[name]
    text = json.dumps(schema)
    assert "$ref" not in text
    assert "$defs" not in text
    assert "anyOf" not in text
    assert "oneOf" not in text
    assert schema["type"] == "object"
    for path, child in _properties(schema):
        assert isinstance(child.get("type"), str), f"{name}: {path} needs a single type"
        assert child.get("description"), f"{name}: {path} needs a description"
        if child["type"] == "array":
            assert isinstance(child.get("items", {}).get("type"), str), f"{name}: {path} needs typed items"


@pytest.mark.parametrize("name", sorted(name for name in ADVERTISED if name.endswith(".input.json")))
def test_input_schema_optional_arguments_not_required(name: str) -> None:
    schema = ADVERTISED[name]
    for argument, child in schema["properties"].items():
        if argument not in schema.get("required", []):
            assert child.get("default") is not None or "default" not in child, f"{name}: {argument} has a null default"


def test_tool_names_fit_function_calling_rules() -> None:
    for name in ADVERTISED:
        tool = name.split(".")[0]
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", tool)


def test_server_json_is_valid_registry_entry() -> None:
    schema = json.loads(REGISTRY_SCHEMA.read_text(encoding="utf-8"))
    entry = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(entry)


def test_server_json_marks_secrets_and_matches_readme() -> None:
    entry = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    variables = {item["name"]: item for item in entry["packages"][0]["environmentVariables"]}
    assert variables["SIGNTRAKER_API_KEY"]["isSecret"] is True
    assert variables["SIGNTRAKER_CONFIRMATION_KEY"]["isSecret"] is True
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {entry['name']}" in readme
    for variable in variables:
        assert variable in readme, f"{variable} is not documented in the README"
