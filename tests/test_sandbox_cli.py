"""The ``signtraker-sandbox`` command: option errors in-process, and a real run in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from signtraker_mcp.sandbox.cli import main

STARTUP_TIMEOUT_SECONDS = 20
RUN_CLI = "import sys; from signtraker_mcp.sandbox.cli import main; sys.exit(main())"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--port", "70000"], id="port-too-high"),
        pytest.param(["--port", "-1"], id="port-negative"),
        pytest.param(["--port", "http"], id="port-not-integer"),
        pytest.param(["--verbose"], id="unknown-option"),
    ],
)
def test_cli_bad_option_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error:" in captured.err
    assert "Traceback" not in captured.err


def test_cli_port_message_names_range(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--port", "70000"])
    assert "0 to 65535" in capsys.readouterr().err


def test_cli_db_under_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    assert main(["--db", str(blocker / "sandbox.sqlite3"), "--port", "0"]) == 2
    captured = capsys.readouterr()
    assert str(blocker) in captured.err
    assert "Traceback" not in captured.err


def test_cli_db_is_directory_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--db", str(tmp_path), "--port", "0"]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_cli_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--api-key" in capsys.readouterr().out


def _read_lines(stream: object, lines: list[str], ready: threading.Event) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            ready.set()
    ready.set()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_cli_serves_until_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    environment = os.environ | {
        "SIGNTRAKER_SANDBOX_DB": str(tmp_path / "env" / "sandbox.sqlite3"),
        "SIGNTRAKER_SANDBOX_API_KEY": "env-key",
    }
    with subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    ) as process:
        lines: list[str] = []
        ready = threading.Event()
        reader = threading.Thread(target=_read_lines, args=(process.stderr, lines, ready), daemon=True)
        reader.start()
        try:
            assert ready.wait(STARTUP_TIMEOUT_SECONDS), "".join(lines)
            banner = "".join(lines)
            match = re.search(r"http://127\.0\.0\.1:\d+", banner)
            assert match is not None, banner
            response = httpx.get(
                match.group(0) + "/api/orderpresets", headers={"Authorization": "ST-API env-key"}, timeout=10
            )
            assert response.status_code == 200
            process.send_signal(stop_signal)
            assert process.wait(timeout=STARTUP_TIMEOUT_SECONDS) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(5)
        assert process.stdout is not None
        assert process.stdout.read() == ""
    assert "API key: env-key" in banner
    assert str(tmp_path / "env" / "sandbox.sqlite3") in banner
    assert "curl" in banner
    assert (tmp_path / "env" / "sandbox.sqlite3").is_file()
