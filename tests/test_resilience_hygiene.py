"""The stdio process as a client sees it: only JSON-RPC on stdout, clean exits, exact UTF-8 and no leaked key.

These tests drive `python -m signtraker_mcp` with raw JSON-RPC lines instead of
the SDK client, so that every byte the process writes to stdout is checked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from .conftest import RESILIENCE_API_KEY
from .helpers import text_of
from .upstream import Fault, Upstream, make_order, server_environment, stdio_session

HTML_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
EXIT_SECONDS = 2.0
"""How soon the process must exit once stdin closes or a signal arrives."""
ANSWER_TIMEOUT = 20.0


class RawServer:
    """`python -m signtraker_mcp` with pipes, fed JSON-RPC lines, with everything it writes kept."""

    def __init__(self, upstream: Upstream, python_options: tuple[str, ...] = (), **overrides: str) -> None:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")}
        environment.update(server_environment(upstream.base_url, RESILIENCE_API_KEY, **overrides))
        self.process = subprocess.Popen(
            [sys.executable, *python_options, "-m", "signtraker_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        self.stdout_lines: list[bytes] = []
        self.stderr = bytearray()
        self._arrived = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self._next_id = 0

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._arrived:
                self.stdout_lines.append(line)
                self._arrived.notify_all()

    def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        for chunk in iter(lambda: os.read(stderr.fileno(), 65536), b""):
            self.stderr.extend(chunk)

    def send(self, message: dict[str, Any]) -> None:
        """Write one JSON-RPC message as a line."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Send a request and return its id."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self._next_id

    def answer(self, request_id: int, timeout: float = ANSWER_TIMEOUT) -> dict[str, Any]:
        """Wait for the response to `request_id`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for line in self.stdout_lines:
                    message = json.loads(line)
                    if message.get("id") == request_id and ("result" in message or "error" in message):
                        return message  # type: ignore[no-any-return]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"No answer to request {request_id} within {timeout} s")
                self._arrived.wait(left)

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool and return the JSON-RPC result of the call."""
        reply = self.answer(self.request("tools/call", {"name": name, "arguments": arguments}))
        result: dict[str, Any] = reply["result"]
        return result

    def initialize(self) -> None:
        """Open a 2025-11-25 session."""
        self.answer(
            self.request(
                "initialize",
                {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
            )
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def close_stdin(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit and for its output to be read; return the exit status."""
        status = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return status

    def stop(self) -> None:
        """Kill the process if it still runs and close the pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")


@pytest.fixture
def raw_servers() -> Any:
    """Start `RawServer`s for a test and kill any that still run at its end."""
    started: list[RawServer] = []

    def start(upstream: Upstream, python_options: tuple[str, ...] = (), **overrides: str) -> RawServer:
        server = RawServer(upstream, python_options, **overrides)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _wait_for_request(upstream: Upstream, path: str) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while not any(seen.path == path for seen in upstream.requests):
        assert time.monotonic() < deadline, f"The server never requested {path}"
        time.sleep(0.01)


def _assert_jsonrpc_lines(lines: list[bytes]) -> None:
    """Check that every line is one JSON-RPC 2.0 message."""
    assert lines
    for line in lines:
        message = json.loads(line)
        assert message["jsonrpc"] == "2.0", line
        is_response = "id" in message and ("result" in message or "error" in message)
        is_request_or_notification = "method" in message
        assert is_response or is_request_or_notification, line


def _drive_faults(server: RawServer, upstream: Upstream) -> list[dict[str, Any]]:
    """Make calls that meet a healthy API and each kind of fault; return the results."""
    results = [server.call("list_orders", {"top": 3})]
    faults = [
        Fault(status=503, body=HTML_PAGE, headers={"content-type": "text/html"}, times=3),
        Fault(body=b"\x00\xff garbage"),
        Fault(status=429, headers={"retry-after": "120"}),
        Fault(status=400, body=b'{"Message": "Bad request"}'),
        Fault(status=404),
        Fault(drop=True, body=b'{"Id": 1}', times=3),
    ]
    for fault in faults:
        upstream.script(fault)
        results.append(server.call("get_order", {"order_id": 1}))
    results.append(server.call("get_order", {"order_id": "not a number"}))
    results.append(server.call("get_order", {"order_id": 2}))
    return results


@pytest.mark.parametrize(
    ("python_options", "overrides"),
    [
        pytest.param((), {}, id="debug-logging"),
        pytest.param((), {"PYTHONWARNINGS": "always"}, id="warnings-always"),
        pytest.param(("-W", "error"), {}, id="warnings-error"),
        pytest.param(("-X", "dev"), {}, id="dev-mode"),
    ],
)
def test_stdout_carries_only_jsonrpc(
    upstream: Upstream, raw_servers: Any, python_options: tuple[str, ...], overrides: dict[str, str]
) -> None:
    server: RawServer = raw_servers(upstream, python_options, **overrides)
    server.initialize()
    server.answer(server.request("tools/list"))
    results = _drive_faults(server, upstream)
    server.close_stdin()
    assert server.wait(10) == 0
    _assert_jsonrpc_lines(server.stdout_lines)
    assert results[-1]["isError"] is False
    assert "Traceback" not in server.stderr_text
    assert "DEBUG" in server.stderr_text


def test_stdin_close_exits_during_request(upstream: Upstream, raw_servers: Any) -> None:
    upstream.script(Fault(hang=True, path="/api/orders/1", times=5))
    server: RawServer = raw_servers(upstream, SIGNTRAKER_CALL_BUDGET_SECONDS="30", SIGNTRAKER_TIMEOUT_SECONDS="30")
    server.initialize()
    server.request("tools/call", {"name": "get_order", "arguments": {"order_id": 1}})
    _wait_for_request(upstream, "/api/orders/1")
    closed = time.monotonic()
    server.close_stdin()
    status = server.wait(10)
    assert time.monotonic() - closed < EXIT_SECONDS
    assert status == 0
    assert "Traceback" not in server.stderr_text
    _assert_jsonrpc_lines(server.stdout_lines)


@pytest.mark.parametrize(
    "signal_number", [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]
)
def test_signal_exits_cleanly(upstream: Upstream, raw_servers: Any, signal_number: int) -> None:
    upstream.script(Fault(hang=True, path="/api/orders/1", times=5))
    server: RawServer = raw_servers(upstream, SIGNTRAKER_CALL_BUDGET_SECONDS="30", SIGNTRAKER_TIMEOUT_SECONDS="30")
    server.initialize()
    server.request("tools/call", {"name": "get_order", "arguments": {"order_id": 1}})
    _wait_for_request(upstream, "/api/orders/1")
    signalled = time.monotonic()
    server.process.send_signal(signal_number)
    status = server.wait(10)
    assert time.monotonic() - signalled < EXIT_SECONDS
    assert status == 0
    assert "Traceback" not in server.stderr_text
    assert f"Received {signal.Signals(signal_number).name}; stopping" in server.stderr_text
    _assert_jsonrpc_lines(server.stdout_lines)


def test_signal_while_idle_exits_cleanly(upstream: Upstream, raw_servers: Any) -> None:
    server: RawServer = raw_servers(upstream)
    server.initialize()
    server.process.send_signal(signal.SIGTERM)
    assert server.wait(10) == 0
    assert "Traceback" not in server.stderr_text


def test_api_key_never_leaves(upstream: Upstream, raw_servers: Any) -> None:
    server: RawServer = raw_servers(upstream)
    server.initialize()
    results = []
    faults = [
        Fault(status=400, body=b'{"Message": "Key rejected: {authorization}"}', echo_authorization=True),
        Fault(status=401, body=b'{"Message": "Denied for {authorization}"}', echo_authorization=True),
        Fault(status=404, body=b'{"Message": "Nothing for {authorization}"}', echo_authorization=True),
        Fault(status=429, headers={"retry-after": "{authorization}"}, echo_authorization=True, times=3),
        Fault(status=500, body=b'{"Message": "Crashed with {authorization}"}', echo_authorization=True),
        Fault(status=502, body=HTML_PAGE + b"{authorization}", echo_authorization=True, times=3),
        Fault(status=503, body=b'{"detail": "Upstream said {authorization}"}', echo_authorization=True, times=3),
        Fault(body=b"not json {authorization}", echo_authorization=True),
        Fault(body=b'{"Id": 1, "Notes": "{authorization}"}', echo_authorization=True, drop=True, times=3),
        Fault(body=b'"just a string with {authorization}"', echo_authorization=True),
        Fault(hang=True, times=3),
    ]
    for fault in faults:
        upstream.script(fault)
        results.append(server.call("get_order", {"order_id": 1}))
    upstream.script(Fault(body=b'[{"Id": 1, "Notes": "{authorization}"}]', echo_authorization=True))
    results.append(server.call("list_orders", {"top": 1}))
    preview = server.call("request_removal", {"order_id": 4})
    token = preview["structuredContent"]["confirmation_token"]
    upstream.script(
        Fault(
            status=503, body=b'{"Message": "Proxy error for {authorization}"}', method="POST", echo_authorization=True
        )
    )
    results.append(server.call("request_removal", {"order_id": 4, "confirm": True, "confirmation_token": token}))
    results.append(server.call("get_order", {"order_id": 2}))
    server.close_stdin()
    assert server.wait(10) == 0

    assert upstream.pending_faults() == 0
    errors = [result for result in results if result["isError"]]
    assert len(errors) == len(faults) + 1
    # The echoes reached the server and were replaced: in quoted API messages, in the 429 wait and in records.
    redacted = [result for result in results if "[redacted]" in json.dumps(result)]
    assert len(redacted) == 5
    output = b"".join(server.stdout_lines).decode() + server.stderr_text
    assert RESILIENCE_API_KEY not in output
    assert "[redacted]" in server.stderr_text


NON_ASCII_NOTES = "Café “vendu” — 🏡 Straße, naïve façade, 東京 ✅"
NON_ASCII_STREET = "Rue Saint-Honoré 🌳"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "encoding_environment",
    [
        pytest.param({"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "latin-1"}, id="latin-1"),
        pytest.param({"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "ascii"}, id="ascii"),
        pytest.param({"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"}, id="c-locale"),
    ],
)
async def test_non_ascii_round_trips(upstream: Upstream, tmp_path: Path, encoding_environment: dict[str, str]) -> None:
    upstream.records = [
        make_order(1, Notes=NON_ASCII_NOTES, JobSite={"Id": 1, "StreetName": NON_ASCII_STREET}),
        make_order(2),
    ]
    with (tmp_path / "server.log").open("w", encoding="utf-8") as errlog:
        async with stdio_session(upstream.base_url, RESILIENCE_API_KEY, errlog, **encoding_environment) as client:
            with anyio.fail_after(ANSWER_TIMEOUT):
                read = await client.call_tool("get_order", {"order_id": 1})
                order = read.structured_content["order"]  # type: ignore[index]
                assert order["Notes"] == NON_ASCII_NOTES
                assert order["JobSite"]["StreetName"] == NON_ASCII_STREET
                assert NON_ASCII_NOTES in text_of(read)

                notes = "Sold ✅ “thanks” — à bientôt 🎉"
                preview = await client.call_tool("request_removal", {"order_id": 2, "notes": notes})
                assert preview.structured_content["summary"]["notes"] == notes  # type: ignore[index]
                token = preview.structured_content["confirmation_token"]  # type: ignore[index]
                done = await client.call_tool(
                    "request_removal", {"order_id": 2, "notes": notes, "confirm": True, "confirmation_token": token}
                )
                assert done.is_error is False, text_of(done)
    posted = [seen for seen in upstream.requests if seen.method == "POST"]
    assert json.loads(posted[0].body.decode("utf-8"))["Notes"] == notes
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "Logging error" not in log
    assert "UnicodeEncodeError" not in log
