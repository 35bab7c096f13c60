"""Serving MCP over stdin and stdout until stdin closes or the process is asked to stop.

The SDK's stdio transport reads stdin in a worker thread. A thread blocked in
`read()` cannot be cancelled, so on SIGTERM or SIGINT, while the client keeps the
pipe open, the process would wait for input forever. Here stdin is read through
the event loop instead, so a signal cancels everything and the process exits
with status 0. The SDK still frames the messages and keeps stdout for the
protocol alone (it points file descriptor 1 at stderr while serving).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

__all__ = ["serve_stdio"]

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 64 * 1024


class _PipeLines:
    """The lines of a pipe as UTF-8 text, read through the event loop so that a read can be cancelled."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = bytearray()

    def __aiter__(self) -> _PipeLines:
        return self

    async def __anext__(self) -> str:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line.decode("utf-8", errors="replace")
            chunk = await self._reader.read(_CHUNK_BYTES)
            if not chunk:
                if self._buffer:
                    rest = bytes(self._buffer)
                    self._buffer.clear()
                    return rest.decode("utf-8", errors="replace")
                raise StopAsyncIteration
            self._buffer.extend(chunk)


def _is_pipe_like(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    # Of character devices only terminals: epoll refuses /dev/null with EPERM.
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or (stat.S_ISCHR(mode) and os.isatty(fd))


@asynccontextmanager
async def _stdin_lines() -> AsyncIterator[_PipeLines | None]:
    """Yield stdin as cancellable lines, or None where only the SDK's threaded reader works.

    Regular files and /dev/null (input redirected from them) never block, and Windows
    has no pipe support in the event loop, so those keep the SDK's reader.
    """
    if sys.platform == "win32" or not _is_pipe_like(0):
        yield None
        return
    loop = asyncio.get_running_loop()
    duplicate = os.dup(0)
    was_blocking = os.get_blocking(duplicate)
    # os.fdopen wraps the descriptor without any file system access; the transport closes it.
    pipe = os.fdopen(duplicate, "rb", buffering=0)
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        yield _PipeLines(reader)
    finally:
        transport.close()
        # The event loop made the shared pipe non-blocking; give it back as it was found.
        try:
            os.set_blocking(0, was_blocking)
        except OSError:
            logger.debug("Could not restore the blocking mode of stdin")


async def _cancel_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for received in signals:
            logger.info("Received %s; stopping", signal.Signals(received).name)
            scope.cancel()
            return


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve `server` over stdio until stdin closes, SIGTERM or SIGINT; requests in flight are cancelled."""
    async with anyio.create_task_group() as group:
        if sys.platform != "win32":
            group.start_soon(_cancel_on_signal, group.cancel_scope)
        async with _stdin_lines() as lines:
            stdin = cast("anyio.AsyncFile[str] | None", lines)
            async with stdio_server(stdin=stdin) as (read_stream, write_stream):
                # MCPServer.run_stdio_async offers no way to pass stdin, so this repeats its one call.
                lowlevel = server._lowlevel_server
                await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
        logger.info("The client closed stdin; stopping")
        group.cancel_scope.cancel()
