"""Length-prefixed frames for request/response streams (our wire format, design.md §3 rule 5).

A request is ``u32 big-endian length ‖ payload``. A response is ``status byte ‖ u32 length ‖ body`` where the
status is :data:`STATUS_OK`, :data:`STATUS_ERROR` (the handler failed; the body is a short UTF-8 message) or
:data:`STATUS_BAD_REQUEST` (the request was refused as garbage). Every length is checked against the
reader's cap before a single body byte is read.
"""

from __future__ import annotations

from typing import Protocol

from harmony.p2p.errors import P2PBadResponse, P2PConnectionError, P2PTooLarge

STATUS_OK = 0
STATUS_ERROR = 1
STATUS_BAD_REQUEST = 2
_STATUSES = (STATUS_OK, STATUS_ERROR, STATUS_BAD_REQUEST)
MAX_ERROR_MESSAGE_BYTES = 1024
"""An error frame's message is cut to this length by the writer and refused above it by the reader."""


class ByteStream(Protocol):
    """The two calls of a libp2p stream that framing needs."""

    async def read(self, n: int | None = None) -> bytes: ...

    async def write(self, data: bytes) -> None: ...


class FrameTooLarge(P2PTooLarge):
    """A frame header announces more bytes than the reader accepts."""


async def read_exact(stream: ByteStream, n: int) -> bytes:
    """Read exactly ``n`` bytes or raise :class:`P2PConnectionError` if the stream ends first."""
    chunks: list[bytes] = []
    remaining = n
    while remaining > 0:
        try:
            chunk = await stream.read(remaining)
        except Exception as exc:  # libp2p raises StreamEOF, StreamReset, ValueError, trio errors…
            raise P2PConnectionError(f"stream ended after {n - remaining} of {n} bytes: {exc!r}") from exc
        if not chunk:
            raise P2PConnectionError(f"stream ended after {n - remaining} of {n} bytes")
        if len(chunk) > remaining:
            raise P2PConnectionError("stream returned more bytes than asked for")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


async def _write(stream: ByteStream, data: bytes) -> None:
    try:
        await stream.write(data)
    except Exception as exc:
        raise P2PConnectionError(f"cannot write to stream: {exc!r}") from exc


async def write_frame(stream: ByteStream, payload: bytes) -> None:
    """Write one length-prefixed frame."""
    if len(payload) >= 1 << 32:
        raise P2PTooLarge("frame longer than 4 GiB")
    await _write(stream, len(payload).to_bytes(4, "big") + payload)


async def read_frame(stream: ByteStream, max_bytes: int) -> bytes:
    """Read one length-prefixed frame of at most ``max_bytes`` (checked before reading the body)."""
    length = int.from_bytes(await read_exact(stream, 4), "big")
    if length > max_bytes:
        raise FrameTooLarge(f"frame of {length} bytes is above the cap of {max_bytes}")
    return await read_exact(stream, length)


async def write_response(stream: ByteStream, status: int, body: bytes) -> None:
    """Write a response: a status byte, then a length-prefixed body."""
    if status not in _STATUSES:
        raise ValueError(f"unknown status {status}")
    if status != STATUS_OK:
        body = body[:MAX_ERROR_MESSAGE_BYTES]
    await _write(stream, bytes([status]) + len(body).to_bytes(4, "big") + body)


async def read_response(stream: ByteStream, max_bytes: int) -> tuple[int, bytes]:
    """Read a response; an unknown status raises :class:`P2PBadResponse`, an oversized body
    :class:`FrameTooLarge`."""
    status = (await read_exact(stream, 1))[0]
    if status not in _STATUSES:
        raise P2PBadResponse(f"unknown response status {status}")
    cap = max_bytes if status == STATUS_OK else MAX_ERROR_MESSAGE_BYTES
    return status, await read_frame(stream, cap)


def error_text(body: bytes) -> str:
    """A peer's error message, made safe to log (printable, bounded)."""
    text = body[:MAX_ERROR_MESSAGE_BYTES].decode("utf-8", errors="replace")
    return "".join(ch if ch.isprintable() else "?" for ch in text)
