"""Unit tests for harmony.encoding.trie: known roots, hex-prefix, and a naive yellow-paper reference."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.trie import (
    EMPTY_TRIE_ROOT,
    TrieError,
    derive_sha,
    hex_prefix_decode,
    hex_prefix_encode,
    secure_trie_root,
    trie_root,
)
from harmony.errors import HarmonyError

# --- a naive reference: the yellow paper's definition (appendix D) read literally -----------------------


def _nibbles(key: bytes) -> list[int]:
    out: list[int] = []
    for b in key:
        out += [b >> 4, b & 15]
    return out


def _hp(nibbles: list[int], leaf: bool) -> bytes:
    flags = 2 * leaf + len(nibbles) % 2
    seq = [flags, *nibbles] if len(nibbles) % 2 else [flags, 0, *nibbles]
    return bytes(seq[i] * 16 + seq[i + 1] for i in range(0, len(seq), 2))


def _c(pairs: list[tuple[list[int], bytes]], i: int) -> rlp.Item:
    """The structural composition c(I, i) of YP eq. 191 over nibble-keyed pairs."""
    if len(pairs) == 1:
        key, value = pairs[0]
        return [_hp(key[i:], True), value]
    j = i
    while all(len(k) > j for k, _ in pairs) and len({k[j] for k, _ in pairs}) == 1:
        j += 1
    if j > i:
        return [_hp(pairs[0][0][i:j], False), _n(pairs, j)]
    slots: list[rlp.Item] = [
        _n([(k, v) for k, v in pairs if len(k) > i and k[i] == x], i + 1) for x in range(16)
    ]
    ends = [v for k, v in pairs if len(k) == i]
    return [*slots, ends[0] if ends else b""]


def _n(pairs: list[tuple[list[int], bytes]], i: int) -> rlp.Item:
    """The node cap function n(I, i) of YP eq. 190."""
    if not pairs:
        return b""
    encoded = rlp.encode(_c(pairs, i))
    return _c(pairs, i) if len(encoded) < 32 else keccak256(encoded)


def naive_root(items: dict[bytes, bytes]) -> bytes:
    pairs = [(_nibbles(k), v) for k, v in items.items() if v]
    if not pairs:
        return keccak256(rlp.encode(b""))
    return keccak256(rlp.encode(_c(pairs, 0)))


# --- tests ----------------------------------------------------------------------------------------------


def test_empty_root() -> None:
    assert EMPTY_TRIE_ROOT.hex() == "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
    assert trie_root({}) == EMPTY_TRIE_ROOT
    assert secure_trie_root({}) == EMPTY_TRIE_ROOT
    assert derive_sha([]) == EMPTY_TRIE_ROOT


def test_empty_values_are_absent() -> None:
    base = {b"do": b"verb", b"dog": b"puppy"}
    assert trie_root({**base, b"doge": b""}) == trie_root(base)
    assert trie_root({b"x": b""}) == EMPTY_TRIE_ROOT


def test_known_roots() -> None:
    # The "dogs" and "puppy" roots of ethereum/tests TrieTests/trieanyorder.json.
    dogs = {b"doe": b"reindeer", b"dog": b"puppy", b"dogglesworth": b"cat"}
    assert trie_root(dogs).hex() == "8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3"
    puppy = {b"do": b"verb", b"horse": b"stallion", b"doge": b"coin", b"dog": b"puppy"}
    assert trie_root(puppy).hex() == "5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84"


def test_empty_key_and_prefix_keys() -> None:
    items = {b"": b"root", b"\x00": b"a", b"\x00\x01": b"b", b"\x10": b"c"}
    assert trie_root(items) == naive_root(items)
    assert trie_root({b"": b"only"}) == naive_root({b"": b"only"})


def test_derive_sha_matches_keyed_trie() -> None:
    items = [bytes([i % 256]) * (i % 40 + 1) for i in range(300)]
    expected = trie_root({rlp.encode(rlp.encode_uint(i)): item for i, item in enumerate(items)})
    assert derive_sha(items) == expected
    assert derive_sha(items[:3]) == naive_root(
        {rlp.encode(rlp.encode_uint(i)): v for i, v in enumerate(items[:3])}
    )


def test_derive_sha_is_order_sensitive() -> None:
    assert derive_sha([b"a", b"b"]) != derive_sha([b"b", b"a"])


def test_secure_root_hashes_keys() -> None:
    items = {b"alpha": b"1", b"beta": b"2"}
    assert secure_trie_root(items) == trie_root({keccak256(k): v for k, v in items.items()})


def test_large_map_matches_reference() -> None:
    rng = random.Random(7)
    items = {rng.randbytes(rng.randint(0, 6)): rng.randbytes(rng.randint(1, 40)) for _ in range(400)}
    assert trie_root(items) == naive_root(items)


def test_hex_prefix_round_trip_and_errors() -> None:
    assert hex_prefix_encode([], False) == b"\x00"
    assert hex_prefix_encode([], True) == b"\x20"
    assert hex_prefix_encode([0xF], True) == b"\x3f"
    assert hex_prefix_decode(b"\x3f") == ([0xF], True)
    with pytest.raises(TrieError, match="not a nibble"):
        hex_prefix_encode([16], False)
    with pytest.raises(TrieError, match="empty"):
        hex_prefix_decode(b"")
    with pytest.raises(TrieError, match="flag"):
        hex_prefix_decode(b"\x40")
    with pytest.raises(TrieError, match="padding"):
        hex_prefix_decode(b"\x01")


@given(st.lists(st.integers(0, 15), max_size=20), st.booleans())
def test_hex_prefix_property(nibbles: list[int], leaf: bool) -> None:
    assert hex_prefix_encode(nibbles, leaf) == _hp(nibbles, leaf)
    assert hex_prefix_decode(hex_prefix_encode(nibbles, leaf)) == (nibbles, leaf)


@given(st.binary(max_size=16))
def test_hex_prefix_decode_random_bytes(data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        hex_prefix_decode(data)


_maps = st.dictionaries(st.binary(max_size=5), st.binary(max_size=40), max_size=24)


@settings(max_examples=150)
@given(_maps)
def test_matches_naive_reference(items: dict[bytes, bytes]) -> None:
    assert trie_root(items) == naive_root(items)


@given(_maps, st.randoms(use_true_random=False))
def test_independent_of_insertion_order(items: dict[bytes, bytes], rnd: random.Random) -> None:
    pairs = list(items.items())
    rnd.shuffle(pairs)
    assert trie_root(dict(pairs)) == trie_root(items)
