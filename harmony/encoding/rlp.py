"""Recursive Length Prefix encoding (Ethereum yellow paper, appendix B), strict and bounded.

An RLP item is ``bytes`` or a list of items. :func:`decode` accepts only the canonical encoding of exactly
one item: a single byte below 0x80 must not be wrapped, lengths must use the short form when they fit and
carry no leading zero bytes, and no bytes may follow the item. It refuses input larger than ``max_size``
and nesting deeper than ``max_depth`` before doing any work on it, and raises only :class:`RLPError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from harmony.errors import RLPError

Item: TypeAlias = bytes | Sequence["Item"]
"""A decoded RLP value: a byte string or a (possibly nested) list of them."""

DecodedItem: TypeAlias = bytes | list["DecodedItem"]
"""What :func:`decode` returns: byte strings and Python lists."""

MAX_RLP_SIZE = 32 * 1024 * 1024
"""Default bound on an encoded item, far above any block the protocol allows (gossip caps at 2 MiB)."""

MAX_DEPTH = 64
"""Default bound on list nesting; no protocol type nests deeper than a handful of levels."""


def encode(item: Item) -> bytes:
    """Encode bytes or nested lists of bytes as RLP (yellow paper eq. 179-183).

    Written for speed (every state write encodes a record): ``bytes`` and short lengths first, children
    joined from a list rather than a generator; the output is the same as the plain recursion's."""
    if type(item) is bytes:
        size = len(item)
        if size == 1 and item[0] < 0x80:
            return item
        return (bytes((0x80 + size,)) if size < 56 else _length_prefix(size, 0x80)) + item
    if isinstance(item, (list, tuple)):
        payload = b"".join([encode(child) for child in item])
        size = len(payload)
        return (bytes((0xC0 + size,)) if size < 56 else _length_prefix(size, 0xC0)) + payload
    if isinstance(item, (bytes, bytearray, memoryview)):  # a bytes subclass, or a buffer
        return encode(bytes(item))
    raise TypeError(f"cannot RLP-encode {type(item).__name__}")


def encode_list_of_encoded(encoded_items: Sequence[bytes]) -> bytes:
    """The RLP list of items given already encoded: the same bytes as :func:`encode` of the decoded items
    (RLP is compositional), without decoding or re-encoding them."""
    payload = b"".join(encoded_items)
    return _length_prefix(len(payload), 0xC0) + payload


def list_payload(data: bytes) -> bytes:
    """The payload of one encoded RLP list (its items, still encoded); :class:`RLPError` if ``data`` is
    not exactly one list. With :func:`encode_list_of_encoded` it re-frames stored lists without decoding."""
    is_list, start, length = _header(data, 0, len(data))
    if not is_list or start + length != len(data):
        raise RLPError("expected exactly one RLP list")
    return data[start:]


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def encode_uint(value: int) -> bytes:
    """The RLP byte string of a non-negative integer: big-endian with no leading zeros (0 is empty)."""
    if value < 0:
        raise ValueError("RLP integers are non-negative")
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def decode_uint(data: bytes, *, bits: int = 256, field: str = "integer") -> int:
    """Decode a canonical big-endian integer of at most ``bits`` bits; a leading zero byte is an error."""
    if data[:1] == b"\x00":
        raise RLPError(f"{field}: non-canonical integer (leading zero byte)")
    if len(data) * 8 > bits + 7 or (data and int.from_bytes(data, "big").bit_length() > bits):
        raise RLPError(f"{field}: integer wider than {bits} bits")
    return int.from_bytes(data, "big")


def decode(data: bytes, *, max_size: int = MAX_RLP_SIZE, max_depth: int = MAX_DEPTH) -> DecodedItem:
    """Decode exactly one canonical RLP item from ``data``; anything else raises :class:`RLPError`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise RLPError(f"RLP input must be bytes, not {type(data).__name__}")
    buf = bytes(data)
    if len(buf) > max_size:
        raise RLPError(f"RLP input of {len(buf)} bytes exceeds the limit of {max_size}")
    if not buf:
        raise RLPError("RLP input is empty")
    item, end = _decode_at(buf, 0, len(buf), max_depth)
    if end != len(buf):
        raise RLPError(f"{len(buf) - end} trailing bytes after the RLP item")
    return item


def _header(buf: bytes, pos: int, limit: int) -> tuple[bool, int, int]:
    """Read the prefix at ``pos``: (is_list, payload start, payload length), checked against ``limit``."""
    if pos >= limit:
        raise RLPError("RLP input truncated: expected an item")
    b0 = buf[pos]
    if b0 < 0x80:
        return False, pos, 1
    if b0 < 0xB8:
        length = b0 - 0x80
        if length == 1 and pos + 1 < limit and buf[pos + 1] < 0x80:
            raise RLPError("non-canonical RLP: single byte below 0x80 must not be prefixed")
        start = pos + 1
        is_list = False
    elif b0 < 0xC0:
        start, length = _long_length(buf, pos, limit, b0 - 0xB7)
        is_list = False
    elif b0 < 0xF8:
        start, length, is_list = pos + 1, b0 - 0xC0, True
    else:
        start, length = _long_length(buf, pos, limit, b0 - 0xF7)
        is_list = True
    if start + length > limit:
        raise RLPError(f"RLP input truncated: item needs {length} bytes, {max(limit - start, 0)} remain")
    return is_list, start, length


def _long_length(buf: bytes, pos: int, limit: int, size_of_size: int) -> tuple[int, int]:
    start = pos + 1 + size_of_size
    if start > limit:
        raise RLPError("RLP input truncated inside a length prefix")
    raw = buf[pos + 1 : start]
    if raw[0] == 0:
        raise RLPError("non-canonical RLP: length prefix has a leading zero byte")
    length = int.from_bytes(raw, "big")
    if length < 56:
        raise RLPError("non-canonical RLP: long form used for a length below 56")
    return start, length


def _decode_at(buf: bytes, pos: int, limit: int, depth: int) -> tuple[DecodedItem, int]:
    is_list, start, length = _header(buf, pos, limit)
    end = start + length
    if not is_list:
        return buf[start:end], end
    if depth <= 0:
        raise RLPError("RLP lists nested too deeply")
    items: list[DecodedItem] = []
    append = items.append
    cursor = start
    while cursor < end:
        # byte strings of up to 55 bytes (every field of a transaction or header but the data) read inline:
        # the same checks as _header, without two calls per item
        b0 = buf[cursor]
        if b0 < 0x80:
            append(buf[cursor : cursor + 1])
            cursor += 1
        elif b0 < 0xB8:
            first = cursor + 1
            cursor = first + b0 - 0x80
            if cursor > end:
                raise RLPError(
                    f"RLP input truncated: item needs {b0 - 0x80} bytes, {max(end - first, 0)} remain"
                )
            if cursor == first + 1 and buf[first] < 0x80:
                raise RLPError("non-canonical RLP: single byte below 0x80 must not be prefixed")
            append(buf[first:cursor])
        else:
            child, cursor = _decode_at(buf, cursor, end, depth - 1)
            append(child)
    return items, end
