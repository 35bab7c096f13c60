"""The whole flow over a real stdio subprocess of `signtraker-mcp --sandbox`, as a desktop client runs it."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from .helpers import text_of

pytestmark = pytest.mark.anyio

SERVER = [sys.executable, "-m", "signtraker_mcp"]


def _parameters(tmp_path: Path, *args: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=SERVER[0],
        args=[*SERVER[1:], *args],
        env={"SIGNTRAKER_SANDBOX_DB": str(tmp_path / "sandbox.sqlite3"), **env},
    )


@pytest.mark.parametrize("era", [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
async def test_stdio_sandbox_full_flow(tmp_path: Path, era: str) -> None:
    errors = (tmp_path / "stderr.log").open("w+", encoding="utf-8")
    with errors:
        transport = stdio_client(_parameters(tmp_path, "--sandbox"), errlog=errors)
        async with Client(transport, mode=era) as client:  # type: ignore[arg-type]
            names = sorted(tool.name for tool in (await client.list_tools()).tools)
            assert names == [
                "create_order",
                "find_agents",
                "get_order",
                "list_order_presets",
                "list_orders",
                "request_removal",
            ]

            listed = await client.call_tool(
                "list_orders", {"filter": "Status eq 'Installed'", "orderby": "OrderNumber", "top": 5}
            )
            assert listed.is_error is False, text_of(listed)
            order_id = listed.structured_content["orders"][0]["Id"]  # type: ignore[index]

            read = await client.call_tool("get_order", {"order_id": order_id})
            assert read.structured_content["order"]["Status"] == "Installed"  # type: ignore[index]

            preview = await client.call_tool("request_removal", {"order_id": order_id, "notes": "Listing sold"})
            assert preview.structured_content["status"] == "preview"  # type: ignore[index]
            token = preview.structured_content["confirmation_token"]  # type: ignore[index]

            done = await client.call_tool(
                "request_removal",
                {"order_id": order_id, "notes": "Listing sold", "confirm": True, "confirmation_token": token},
            )
            assert done.is_error is False, text_of(done)
            assert done.structured_content["status"] == "submitted"  # type: ignore[index]

            after = await client.call_tool("get_order", {"order_id": order_id})
            order: dict[str, Any] = after.structured_content["order"]  # type: ignore[index]
            assert order["Status"] == "RemovalRequested"
            assert order["RemovalRequestDate"]
        errors.seek(0)
        assert "Traceback" not in errors.read()
    # The removal request went to the database named by SIGNTRAKER_SANDBOX_DB.
    assert (tmp_path / "sandbox.sqlite3").stat().st_size > 0


def test_stdio_missing_configuration_exits_with_message(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")}
    completed = subprocess.run(
        SERVER, env=environment, stdin=subprocess.PIPE, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "SIGNTRAKER_SUBDOMAIN is not set" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param(
            {"SIGNTRAKER_SUBDOMAIN": "acme.evil.example", "SIGNTRAKER_API_KEY": "k"},
            "SIGNTRAKER_SUBDOMAIN='acme.evil.example' is not a valid host label",
            id="subdomain",
        ),
        pytest.param({"SIGNTRAKER_SUBDOMAIN": "acme"}, "SIGNTRAKER_API_KEY is not set", id="key"),
        pytest.param(
            {"SIGNTRAKER_SUBDOMAIN": "acme", "SIGNTRAKER_API_KEY": "k", "SIGNTRAKER_TIMEOUT_SECONDS": "soon"},
            "SIGNTRAKER_TIMEOUT_SECONDS='soon' is not a number",
            id="timeout",
        ),
    ],
)
def test_stdio_invalid_configuration_names_variable(variables: dict[str, str], expected: str) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")}
    completed = subprocess.run(
        SERVER,
        env={**environment, **variables},
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert expected in completed.stderr
    assert completed.stdout == ""


def test_stdio_pipe_prints_only_protocol(tmp_path: Path) -> None:
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")},
        "SIGNTRAKER_SANDBOX_DB": str(tmp_path / "sandbox.sqlite3"),
    }
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    completed = subprocess.run(
        [*SERVER, "--sandbox"],
        env=environment,
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    reply = json.loads(lines[0])
    assert reply["id"] == 1
    assert reply["result"]["serverInfo"]["name"] == "signtraker"
    assert "MCP server over stdio" not in completed.stderr


async def test_stdio_read_only_option_hides_writes(tmp_path: Path) -> None:
    async with Client(_parameters(tmp_path, "--sandbox", "--read-only")) as client:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        refused = await client.call_tool("request_removal", {"order_id": 1})
    assert names == ["find_agents", "get_order", "list_order_presets", "list_orders"]
    assert refused.is_error is True
    assert "read-only mode" in text_of(refused)


def test_stdio_terminal_start_prints_note(tmp_path: Path) -> None:
    """Start the server with a pseudo-terminal as stdin, as a person does, and read its note on stderr."""
    primary, secondary = pty.openpty()
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")},
        "SIGNTRAKER_SANDBOX_DB": str(tmp_path / "sandbox.sqlite3"),
    }
    process = subprocess.Popen(
        [*SERVER, "--sandbox"], stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )
    os.close(secondary)
    try:
        time.sleep(0.5)
        os.write(primary, b"\x04")  # end of input on a terminal
        stdout, stderr = process.communicate(timeout=30)
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()
            process.wait()
    note = stderr.decode()
    assert "MCP server over stdio, against a local sandbox with sample data" in note
    assert "claude_desktop_config.json" in note
    assert stdout == b""


def test_stdio_dev_null_input_exits_cleanly(tmp_path: Path) -> None:
    """Start the server with /dev/null as stdin, as a service manager or `cmd </dev/null &` does."""
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")},
        "SIGNTRAKER_SANDBOX_DB": str(tmp_path / "sandbox.sqlite3"),
    }
    with Path(os.devnull).open("rb") as empty:
        completed = subprocess.run(
            [*SERVER, "--sandbox"],
            stdin=empty,
            capture_output=True,
            text=True,
            env=environment,
            timeout=30,
            check=False,
        )
    assert completed.returncode == 0
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
