"""The MCP Bundle: manifest.json validates and packs with the mcpb CLI, and hosts can start the server from it.

A host such as Claude Desktop reads manifest.json, prompts the user for the `user_config` settings, substitutes
them into `server.mcp_config` and starts `uv run --directory <bundle> signtraker-mcp` with that environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from pydantic import SecretStr

from signtraker_mcp import __version__
from signtraker_mcp.config import ConfirmationPolicy, Settings, load_settings
from signtraker_mcp.server import build_server

from .tools import ROOT, run_tool

pytestmark = pytest.mark.anyio

MANIFEST_PATH = ROOT / "manifest.json"
MANIFEST: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
# The installed package's metadata, which pyproject.toml produced.
PACKAGE = metadata.metadata("signtraker-mcp")
CONSOLE_SCRIPTS = {entry.name for entry in metadata.entry_points(group="console_scripts")}
BUNDLE_TOP_LEVEL = {"manifest.json", "pyproject.toml", "README.md", "signtraker_mcp"}
# The installed console script, as `uv run signtraker-mcp` starts it inside the bundle's environment.
SERVER_SCRIPT = Path(sys.executable).with_name("signtraker-mcp")


async def _tools_by_name() -> dict[str, bool]:
    """Map every tool the server offers to whether it only reads."""
    server = build_server(Settings(api_key=SecretStr("unused"), base_url="https://example.signtraker.com"))
    return {tool.name: bool(tool.annotations and tool.annotations.read_only_hint) for tool in await server.list_tools()}


def _resolve(user_config: dict[str, Any], home: Path) -> dict[str, Any]:
    """Return the mcp_config a host builds from the manifest and these settings, using mcpb's own code."""
    completed = run_tool(
        "node",
        [
            str(ROOT / "tests" / "tools" / "resolve-mcp-config.mjs"),
            str(MANIFEST_PATH),
            "/bundle",
            json.dumps(user_config),
        ],
        home=home,
    )
    assert completed.returncode == 0, completed.stderr
    resolved: dict[str, Any] = json.loads(completed.stdout)
    return resolved


def test_manifest_validates_with_mcpb(tmp_path: Path) -> None:
    completed = run_tool("mcpb", ["validate", str(MANIFEST_PATH)], home=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Manifest schema validation passes" in completed.stdout


def test_bundle_pack_holds_package_only(tmp_path: Path) -> None:
    bundle = tmp_path / "signtraker-mcp.mcpb"
    completed = run_tool("mcpb", ["pack", str(ROOT), str(bundle)], home=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr

    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    assert {name.split("/")[0] for name in names} == BUNDLE_TOP_LEVEL
    assert not any(name.startswith(("tests/", ".venv/", ".ci/", "node_modules/")) for name in names)
    assert not any("__pycache__" in name or name.endswith((".pyc", ".sqlite3")) for name in names)

    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "signtraker_mcp").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources - names == set(), "package sources missing from the bundle"


def test_manifest_version_matches_package() -> None:
    assert MANIFEST["version"] == PACKAGE["Version"]
    assert MANIFEST["version"] == __version__


async def test_manifest_tools_match_server() -> None:
    assert {tool["name"] for tool in MANIFEST["tools"]} == set(await _tools_by_name())


def test_manifest_starts_console_script() -> None:
    server = MANIFEST["server"]
    assert server["type"] == "uv"
    assert server["mcp_config"]["command"] == "uv"
    assert server["mcp_config"]["args"] == ["run", "--directory", "${__dirname}", "signtraker-mcp"]
    assert "signtraker-mcp" in CONSOLE_SCRIPTS
    assert (ROOT / server["entry_point"]).is_file()


def test_manifest_python_matches_pyproject() -> None:
    assert MANIFEST["compatibility"]["runtimes"]["python"] == PACKAGE["Requires-Python"]


def test_manifest_env_variables_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for variable in MANIFEST["server"]["mcp_config"]["env"]:
        assert f"`{variable}`" in readme, f"{variable} is not documented in the README"


def test_manifest_api_key_is_sensitive() -> None:
    settings = MANIFEST["user_config"]
    assert settings["api_key"]["sensitive"] is True
    assert not any(option.get("required") for option in settings.values()), "the sandbox must need no setting"


def test_manifest_confirmation_default_is_policy() -> None:
    default = MANIFEST["user_config"]["confirmation"]["default"]
    assert default in {policy.value for policy in ConfirmationPolicy}
    for policy in ConfirmationPolicy:
        assert f"{policy.value}:" in MANIFEST["user_config"]["confirmation"]["description"]


@pytest.mark.parametrize(
    ("user_config", "expected_env"),
    [
        pytest.param(
            {"sandbox": True},
            {
                "SIGNTRAKER_SANDBOX": "true",
                "SIGNTRAKER_API_KEY": "",
                "SIGNTRAKER_SUBDOMAIN": "",
                "SIGNTRAKER_READ_ONLY": "false",
                "SIGNTRAKER_CONFIRMATION": "auto",
            },
            id="sandbox-only",
        ),
        pytest.param(
            {},
            {
                "SIGNTRAKER_SANDBOX": "false",
                "SIGNTRAKER_API_KEY": "",
                "SIGNTRAKER_SUBDOMAIN": "",
                "SIGNTRAKER_READ_ONLY": "false",
                "SIGNTRAKER_CONFIRMATION": "auto",
            },
            id="nothing-set",
        ),
        pytest.param(
            {"api_key": "key-123", "subdomain": "acme", "read_only": True, "confirmation": "human"},
            {
                "SIGNTRAKER_SANDBOX": "false",
                "SIGNTRAKER_API_KEY": "key-123",
                "SIGNTRAKER_SUBDOMAIN": "acme",
                "SIGNTRAKER_READ_ONLY": "true",
                "SIGNTRAKER_CONFIRMATION": "human",
            },
            id="tenant",
        ),
    ],
)
def test_resolved_config_env(user_config: dict[str, Any], expected_env: dict[str, str], tmp_path: Path) -> None:
    resolved = _resolve(user_config, tmp_path)
    assert resolved["command"] == "uv"
    assert resolved["args"] == ["run", "--directory", "/bundle", "signtraker-mcp"]
    assert resolved["env"] == expected_env


def test_resolved_tenant_config_loads_settings(tmp_path: Path) -> None:
    resolved = _resolve({"api_key": "key-123", "subdomain": "acme"}, tmp_path)
    settings = load_settings(resolved["env"])
    assert settings.base_url == "https://acme.signtraker.com"
    assert settings.api_key.get_secret_value() == "key-123"
    assert settings.read_only is False
    assert settings.confirmation is ConfirmationPolicy.AUTO
    assert settings.sandbox is False


@pytest.mark.parametrize("read_only", [pytest.param(False, id="sandbox"), pytest.param(True, id="sandbox-read-only")])
async def test_resolved_sandbox_config_serves_tools(read_only: bool, tmp_path: Path) -> None:
    """Start the server with the environment a host passes; the sandbox needs no key or subdomain.

    The installed `signtraker-mcp` stands in for `uv run signtraker-mcp`, because uv would install the
    dependencies from PyPI on every run; the environment, which is what the manifest decides, is the host's.
    """
    resolved = await anyio.to_thread.run_sync(_resolve, {"sandbox": True, "read_only": read_only}, tmp_path)
    assert resolved["args"][3] == "signtraker-mcp"
    parameters = StdioServerParameters(
        command=str(SERVER_SCRIPT),
        args=resolved["args"][4:],
        env={**resolved["env"], "SIGNTRAKER_SANDBOX_DB": str(tmp_path / "sandbox.sqlite3")},
    )
    with (tmp_path / "stderr.log").open("w+", encoding="utf-8") as errors:
        async with Client(stdio_client(parameters, errlog=errors)) as client:
            listed = await client.list_tools()

    tools = await _tools_by_name()
    expected = {name for name, reads_only in tools.items() if reads_only or not read_only}
    assert {tool.name for tool in listed.tools} == expected


def test_resolved_default_config_names_missing_setting(tmp_path: Path) -> None:
    resolved = _resolve({}, tmp_path)
    completed = subprocess.run(
        [str(SERVER_SCRIPT)],
        input="",
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **resolved["env"]},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "SIGNTRAKER_SUBDOMAIN is not set" in completed.stderr
    assert "--sandbox" in completed.stderr
    assert "Traceback" not in completed.stderr
