"""Merkle Patricia trie roots (yellow paper, appendix D), computed in one pass from a whole mapping.

The root commits to a set of (key, value) pairs: keys are read as sequences of 4-bit nibbles; a node is a
leaf ``[HP(rest, leaf), value]``, an extension ``[HP(shared, not leaf), child]`` or a 17-slot branch
(one child per nibble plus a value); a child whose RLP is shorter than 32 bytes is embedded in its parent,
a longer one is referred to by its Keccak-256 hash; the root is always hashed. An empty value means the
key is absent, as a deletion does in Ethereum's and Harmony's tries.

Blocks commit to their transactions and receipts through :func:`derive_sha` (the Go ``DeriveSha``: key
``rlp(i)``, value the item's encoding). The state trie (persistent, with proofs) lives in a higher layer;
this module only computes roots. Nodes are built bottom-up as RLP bytes over a sorted list of hex-string
keys, with no per-node objects, so a root over ``n`` items costs about ``n`` hashes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

from sha3 import keccak_256

from harmony.encoding.rlp import encode, encode_uint
from harmony.errors import DecodeError


class TrieError(DecodeError):
    """A nibble sequence or hex-prefix encoding is malformed."""


def _keccak256(data: bytes) -> bytes:
    return keccak_256(data).digest()


EMPTY_TRIE_ROOT = _keccak256(b"\x80")
"""Root of the empty trie: keccak256(rlp(b"")) = 0x56e81f…b421."""

_HEX_NIBBLES = "0123456789abcdef"


def _length_prefix(length: int, offset: int) -> bytes:
    """The RLP length header of a string (offset 0x80) or list (offset 0xC0) payload (YP eq. 180-183)."""
    if length < 56:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size


def _rlp_bytes(data: bytes) -> bytes:
    """RLP of a byte string."""
    if len(data) == 1 and data[0] < 0x80:
        return data
    return _length_prefix(len(data), 0x80) + data


def _hp_hex(nibbles: str, is_leaf: bool) -> bytes:
    """Hex-prefix encoding of nibbles written as a lowercase hex string (YP appendix C, eq. 186)."""
    flag = 2 if is_leaf else 0
    if len(nibbles) & 1:
        return bytes.fromhex(_HEX_NIBBLES[flag + 1] + nibbles)
    return bytes.fromhex(_HEX_NIBBLES[flag] + "0" + nibbles)


def hex_prefix_encode(nibbles: Sequence[int], is_leaf: bool) -> bytes:
    """Hex-prefix ("compact") encoding of a nibble sequence with the leaf flag (YP appendix C, HP).

    The first nibble holds the flags (2 if a leaf, +1 if the length is odd); an even-length sequence
    gets a zero nibble after it.
    """
    for n in nibbles:
        if not isinstance(n, int) or not 0 <= n < 16:
            raise TrieError(f"hex-prefix: {n!r} is not a nibble")
    return _hp_hex("".join(_HEX_NIBBLES[n] for n in nibbles), is_leaf)


def hex_prefix_decode(data: bytes) -> tuple[list[int], bool]:
    """Inverse of :func:`hex_prefix_encode`: the nibbles and the leaf flag (YP appendix C).

    Raises :class:`TrieError` for empty input, an unknown flag nibble or a non-zero pad nibble.
    """
    if not data:
        raise TrieError("hex-prefix: empty encoding")
    flag, first = data[0] >> 4, data[0] & 0x0F
    if flag > 3:
        raise TrieError(f"hex-prefix: unknown flag nibble {flag}")
    nibbles = [first] if flag & 1 else []
    if not flag & 1 and first:
        raise TrieError("hex-prefix: non-zero padding nibble")
    for byte in data[1:]:
        nibbles.extend((byte >> 4, byte & 0x0F))
    return nibbles, bool(flag & 2)


def _shared_length(a: str, b: str, start: int) -> int:
    """How many nibbles ``a`` and ``b`` share from ``start`` on."""
    end = min(len(a), len(b))
    i = start
    while i < end and a[i] == b[i]:
        i += 1
    return i - start


def _ref(node: bytes) -> bytes:
    """How a parent holds a child node's RLP: embedded when shorter than 32 bytes, else rlp(hash) (YP n)."""
    if len(node) < 32:
        return node
    return b"\xa0" + _keccak256(node)


def _node(keys: list[str], values: list[bytes], lo: int, hi: int, depth: int) -> bytes:
    """RLP of the node over sorted ``keys[lo:hi]``, which all share their first ``depth`` nibbles (YP c)."""
    if hi - lo == 1:
        payload = _rlp_bytes(_hp_hex(keys[lo][depth:], True)) + _rlp_bytes(values[lo])
        return _length_prefix(len(payload), 0xC0) + payload
    first, last = keys[lo], keys[hi - 1]
    shared = _shared_length(first, last, depth)
    if shared > 0:
        child = _ref(_node(keys, values, lo, hi, depth + shared))
        payload = _rlp_bytes(_hp_hex(first[depth : depth + shared], False)) + child
        return _length_prefix(len(payload), 0xC0) + payload
    value = b"\x80"
    if len(first) == depth:
        value = _rlp_bytes(values[lo])
        lo += 1
    prefix = first[:depth]
    parts: list[bytes] = []
    start = lo
    for nibble in _HEX_NIBBLES:
        if start < hi and keys[start][depth] == nibble:
            end = (
                start + 1 if hi - start == 1 else bisect_left(keys, prefix + chr(ord(nibble) + 1), start, hi)
            )
            parts.append(_ref(_node(keys, values, start, end, depth + 1)))
            start = end
        else:
            parts.append(b"\x80")
    parts.append(value)
    payload = b"".join(parts)
    return _length_prefix(len(payload), 0xC0) + payload


def trie_root(items: Mapping[bytes, bytes]) -> bytes:
    """Root hash of the Merkle Patricia trie holding ``items`` (YP appendix D); empty values are absent."""
    pairs = sorted((bytes(k).hex(), bytes(v)) for k, v in items.items() if v)
    if not pairs:
        return EMPTY_TRIE_ROOT
    keys = [k for k, _ in pairs]
    values = [v for _, v in pairs]
    return _keccak256(_node(keys, values, 0, len(keys), 0))


def secure_trie_root(items: Mapping[bytes, bytes]) -> bytes:
    """Root of the "secure" trie: each key replaced by its Keccak-256 hash, as the state trie does (YP D)."""
    return trie_root({_keccak256(bytes(k)): v for k, v in items.items()})


def derive_sha(encoded_items: Sequence[bytes]) -> bytes:
    """Root committing to an ordered list (Go ``DeriveSha``): trie of ``rlp(uint(i)) -> item i``.

    Used for a header's transactions, staking transactions and receipts roots.
    """
    return trie_root({encode(encode_uint(i)): item for i, item in enumerate(encoded_items)})
