"""The MCP Inspector's CLI against `signtraker-mcp --sandbox` over stdio: list and call every tool.

The Inspector is the reference MCP client of the protocol's maintainers. Its `--strict` mode adds a report
on tool schemas that some clients cannot map onto their model's function-calling format. It exits 6 when
that report has an error, and 5 when a tool result has `isError`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from signtraker_mcp.config import Settings
from signtraker_mcp.sandbox import start_sandbox
from signtraker_mcp.server import build_server

from .helpers import all_orders, order_with_status, sandbox_get
from .tools import run_tool

SERVER_SCRIPT = Path(sys.executable).with_name("signtraker-mcp")
EXIT_TOOL_ERROR = 5
EXIT_SCHEMA_UNPORTABLE = 6
ERAS = [pytest.param("legacy", id="2025-11-25"), pytest.param("modern", id="2026-07-28")]


@dataclass(frozen=True)
class SeedIds:
    """Ids from the sandbox's seed data that valid tool arguments need."""

    installed_order_id: int
    agent_id: int
    agent_first_name: str
    preset_id: int


# Valid arguments for every tool. The write tools are called without `confirm`, which returns a preview
# and sends nothing.
TOOL_ARGUMENTS: dict[str, Callable[[SeedIds], dict[str, Any]]] = {
    "list_orders": lambda ids: {"status": ["Installed"], "top": 3},
    "get_order": lambda ids: {"order_id": ids.installed_order_id},
    "find_agents": lambda ids: {"name": ids.agent_first_name},
    "list_order_presets": lambda ids: {},
    "create_order": lambda ids: {
        "agent_id": ids.agent_id,
        "preset_id": ids.preset_id,
        "street_number": "1204",
        "street_name": "Barton Springs Rd",
        "city": "Austin",
        "state": "TX",
        "zip": "78704",
    },
    "request_removal": lambda ids: {"order_id": ids.installed_order_id, "notes": "Listing sold"},
}
WRITE_TOOLS = {"create_order", "request_removal"}


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A seeded sandbox database that the server under test opens with --sandbox."""
    return tmp_path / "sandbox.sqlite3"


@pytest.fixture
def seed_ids(database: Path) -> SeedIds:
    with start_sandbox(database) as sandbox:
        agent = next(agent for agent in sandbox_get(sandbox, "/api/agents") if not agent["IsInactive"])
        return SeedIds(
            installed_order_id=order_with_status(sandbox, "Installed")["Id"],
            agent_id=agent["Id"],
            agent_first_name=agent["FirstName"],
            preset_id=sandbox_get(sandbox, "/api/orderpresets")[0]["Id"],
        )


def _orders(database: Path) -> list[dict[str, Any]]:
    with start_sandbox(database) as sandbox:
        return all_orders(sandbox)


def _inspect(database: Path, home: Path, era: str, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run the Inspector CLI against the sandbox server; return its exit code, JSON output and stderr."""
    completed = run_tool(
        "mcp-inspector",
        [
            "--cli",
            "--format",
            "json",
            "--protocol-era",
            era,
            *args,
            "-e",
            f"SIGNTRAKER_SANDBOX_DB={database}",
            str(SERVER_SCRIPT),
            "--sandbox",
        ],
        home=home,
    )
    assert completed.stdout.strip(), f"the Inspector printed nothing; stderr:\n{completed.stderr}"
    output: dict[str, Any] = json.loads(completed.stdout)
    return completed.returncode, output, completed.stderr


async def _advertised_tool_names() -> set[str]:
    server = build_server(Settings(api_key=SecretStr("unused"), base_url="https://example.signtraker.com"))
    return {tool.name for tool in await server.list_tools()}


@pytest.mark.parametrize("era", ERAS)
def test_inspector_tools_list_strict_clean(era: str, database: Path, tmp_path: Path) -> None:
    code, output, stderr = _inspect(database, tmp_path, era, "--method", "tools/list", "--strict")
    assert code != EXIT_SCHEMA_UNPORTABLE, f"the Inspector found unportable tool schemas:\n{stderr}"
    assert code == 0, stderr
    assert "schemaFindings" not in output, json.dumps(output["schemaFindings"], indent=2)
    assert "Schema portability" not in stderr
    assert {tool["name"] for tool in output["result"]["tools"]} == set(TOOL_ARGUMENTS)


@pytest.mark.anyio
async def test_inspector_arguments_cover_every_tool() -> None:
    assert set(TOOL_ARGUMENTS) == await _advertised_tool_names(), "add valid arguments for every tool"


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("tool", sorted(TOOL_ARGUMENTS))
def test_inspector_calls_tool(tool: str, era: str, database: Path, seed_ids: SeedIds, tmp_path: Path) -> None:
    before = _orders(database)
    arguments = TOOL_ARGUMENTS[tool](seed_ids)

    code, output, stderr = _inspect(
        database,
        tmp_path,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        tool,
        "--tool-args-json",
        json.dumps(arguments),
    )

    assert code != EXIT_TOOL_ERROR, f"{tool} returned isError: {json.dumps(output)}"
    assert code == 0, stderr
    result = output["result"]
    assert result.get("isError") is not True
    assert isinstance(result.get("structuredContent"), dict), f"{tool} returned no structured content"
    if tool in WRITE_TOOLS:
        assert result["structuredContent"]["status"] == "preview"
    assert _orders(database) == before, f"{tool} changed the sandbox's orders"
