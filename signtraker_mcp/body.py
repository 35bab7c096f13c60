"""Reading API response bodies with a hard size limit, compressed ones included.

httpx decompresses a gzip body one network chunk at a time without an output
limit, so a small compressed chunk can expand to tens of megabytes before any
size check runs. Here the raw bytes are decompressed with zlib's `max_length`,
so no more than the limit (plus one byte) of decoded body is ever held.
"""

from __future__ import annotations

import zlib

import httpx

__all__ = ["ACCEPT_ENCODING", "BodyTooLargeError", "MalformedBodyError", "read_limited_body"]

# The only compression this client asks for, and so the only one it decodes.
ACCEPT_ENCODING = "gzip"


class BodyTooLargeError(Exception):
    """The decoded body is larger than the limit."""


class MalformedBodyError(Exception):
    """The body cannot be decoded: a corrupt or truncated stream, or an encoding that was not requested."""


async def read_limited_body(response: httpx.Response, limit: int) -> bytes:
    """Read the body of a streamed response, decoded, raising `BodyTooLargeError` past `limit` bytes."""
    if response.is_stream_consumed:
        # A transport handed over a response that is already in memory (and decoded).
        if len(response.content) > limit:
            raise BodyTooLargeError
        return response.content
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise BodyTooLargeError
        return await _read_plain(response, limit)
    if encoding in ("gzip", "x-gzip"):
        return await _read_gzip(response, limit)
    raise MalformedBodyError(f"the body uses the content encoding {encoding!r}, which was not requested")


async def _read_plain(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_gzip(response: httpx.Response, limit: int) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    chunks: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            pending = raw
            while pending:
                if decompressor.eof:
                    raise MalformedBodyError("the gzip body has data after its end")
                # Asking for one byte more than is allowed tells "exactly at the limit" from "over it".
                output = decompressor.decompress(pending, limit - size + 1)
                size += len(output)
                if size > limit:
                    raise BodyTooLargeError
                chunks.append(output)
                pending = decompressor.unconsumed_tail
        if not decompressor.eof:
            raise MalformedBodyError("the gzip body ends before its end marker")
        if decompressor.unused_data:
            raise MalformedBodyError("the gzip body has data after its end")
    except zlib.error as error:
        raise MalformedBodyError(f"the gzip body is corrupt ({error})") from None
    return b"".join(chunks)
