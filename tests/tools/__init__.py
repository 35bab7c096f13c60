"""Run the npm tools that some tests need: Node 22, the mcpb CLI and the MCP Inspector CLI.

tests/tools/install-node-tools.sh installs them, at the versions pinned in tests/tools/package-lock.json,
into .ci/node/; CI runs it before the tests.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / ".ci" / "node" / "bin"
INSTALL_COMMAND = "bash tests/tools/install-node-tools.sh"

# A run takes seconds; the limit only keeps a hung tool from stalling the suite.
TIMEOUT_SECONDS = 120


def node_tool(name: str) -> Path:
    """Return the launcher of an installed npm tool, or fail the test with the command that installs it."""
    path = NODE_BIN / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing, so this test cannot run. Install Node 22 and the pinned npm tools with "
            f"`{INSTALL_COMMAND}` from the repository root, then run the tests again.",
            pytrace=False,
        )
    return path


def run_tool(
    name: str, args: Sequence[str], *, home: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an npm tool with a private HOME, so it reads and writes no settings of the user's."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **(env or {})}
    return subprocess.run(
        [str(node_tool(name)), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
