"""The consensus write-ahead log (style: cometbft ``consensus/wal.go``).

Frame: ``crc32 (4 bytes BE) | length (4 bytes BE) | payload``, the CRC (zlib CRC-32) over the payload.
Replay reads frames until the first one that is incomplete or fails its CRC (a torn tail from a crash)
and stops there; :meth:`WriteAheadLog.open` then rewrites the log without the torn tail, so later appends
follow the last good record.

Payloads are RLP ``[kind, height, view, data]`` (:class:`WalRecord`): ``VIEW`` (the node entered a view),
``LOCK`` (a prepared certificate it commit-voted on, ``data`` = RLP of block, signature, bitmap), ``SENT``
(an own vote message, ``data`` = recipient key ‖ message; empty key for a broadcast). Each is appended and
fsynced before the vote it protects leaves the node. At a height boundary the log is replaced by nothing.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

from harmony.consensus.api import LogStore
from harmony.encoding.schema import UINT8, UINT64, Binary, Sedes, Serializable
from harmony.errors import DecodeError

MAX_RECORD_SIZE = 4 * 1024 * 1024
"""A frame claiming more than this is treated as torn."""

KIND_VIEW = 1
KIND_LOCK = 2
KIND_SENT = 3


@dataclass(frozen=True, slots=True)
class WalRecord(Serializable):
    """One WAL entry (see the module docstring)."""

    kind: int
    height: int
    view: int
    data: bytes = b""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("kind", UINT8),
        ("height", UINT64),
        ("view", UINT64),
        ("data", Binary(0, MAX_RECORD_SIZE)),
    )


def frame(payload: bytes) -> bytes:
    """``crc32 | length | payload``."""
    return struct.pack(">II", zlib.crc32(payload), len(payload)) + payload


def unframe(data: bytes) -> tuple[list[bytes], int]:
    """The complete, CRC-valid payloads from the start of ``data`` and the byte length they span."""
    out: list[bytes] = []
    pos = 0
    while pos + 8 <= len(data):
        crc, length = struct.unpack_from(">II", data, pos)
        end = pos + 8 + length
        if length > MAX_RECORD_SIZE or end > len(data):
            break
        payload = data[pos + 8 : end]
        if zlib.crc32(payload) != crc:
            break
        out.append(payload)
        pos = end
    return out, pos


class WriteAheadLog:
    """Framed records over a :class:`~harmony.consensus.api.LogStore`."""

    def __init__(self, store: LogStore) -> None:
        self._store = store

    def open(self) -> list[WalRecord]:
        """Replay: every good record in order; a torn or corrupt tail is cut off (and removed)."""
        data = self._store.read()
        payloads, good = unframe(data)
        records: list[WalRecord] = []
        for payload in payloads:
            try:
                records.append(WalRecord.decode(payload))
            except DecodeError:
                break
        if good != len(data) or len(records) != len(payloads):
            self._store.replace(b"".join(frame(r.encode()) for r in records))
        return records

    def append(self, record: WalRecord) -> None:
        """Append one record, durable on return."""
        self._store.append(frame(record.encode()))

    def reset(self) -> None:
        """Empty the log (a new height begins)."""
        self._store.replace(b"")
