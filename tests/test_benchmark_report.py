"""The benchmark's report formatting, run on fixed numbers (the benchmark itself runs apart from pytest)."""

from __future__ import annotations

import datetime as dt

from .benchmark import Machine, Row, format_report

MACHINE = Machine(cpu="Test CPU", cores=2, python="CPython 3.11.7", system="Test OS", load="0.10, 0.20, 0.30")
ROWS = [
    Row("Cold start", "480 ms", "minimal MCPServer: 450 ms (+7%)", "within 10%", True),
    Row("Call overhead", "median 1.90 ms", "httpx: median 0.69 ms | p90 0.88 ms", "≤ 1 ms added", False),
    Row("Context", "393 B", "837 B", "none (reported)", None),
]


def test_benchmark_report_formats_rows() -> None:
    page = format_report(
        ROWS, MACHINE, dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.timezone.utc), ["Call overhead: not met."], ["How."]
    )
    lines = page.splitlines()

    assert lines[0] == "# Benchmarks"
    assert "- Date: 2026-12-04 20:00 UTC" in lines
    assert "- CPU: Test CPU, 2 cores" in lines
    assert "- Load average at the start (1, 5, 15 min): 0.10, 0.20, 0.30" in lines
    assert "| Cold start | 480 ms | minimal MCPServer: 450 ms (+7%) | within 10% | yes |" in lines
    assert "| Call overhead | median 1.90 ms | httpx: median 0.69 ms \\| p90 0.88 ms | ≤ 1 ms added | **no** |" in lines
    assert "| Context | 393 B | 837 B | none (reported) | no target |" in lines
    assert "- Call overhead: not met." in lines
    assert "- How." in lines
