"""The persistent trie agrees with the one-pass root of ``harmony.encoding.trie`` and persists its nodes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.encoding.trie import EMPTY_TRIE_ROOT, secure_trie_root, trie_root
from harmony.state.trie import (
    MissingTrieNode,
    Trie,
    TrieError,
    decode_node,
    encode_node,
    trie_get,
    trie_update,
)


class Store:
    """A dict as a node store."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


keys = st.binary(min_size=0, max_size=5)
values = st.binary(min_size=0, max_size=40)
changes = st.dictionaries(keys, values, max_size=25)


@settings(max_examples=300, deadline=None)
@given(st.lists(changes, min_size=1, max_size=6), st.lists(st.booleans(), min_size=6, max_size=6))
def test_batches_agree_with_trie_root(batches: list[dict[bytes, bytes]], persist: list[bool]) -> None:
    store = Store()
    trie = Trie(store)
    model: dict[bytes, bytes] = {}
    for batch, flush in zip(batches, persist, strict=False):
        trie.update(batch)
        for k, v in batch.items():
            if v:
                model[k] = v
            else:
                model.pop(k, None)
        assert trie.root == trie_root(model)
        if flush:
            store.data.update(trie.take_nodes())
        for k, v in model.items():
            assert trie.get(k) == v
    store.data.update(trie.take_nodes())
    reopened = Trie(store, trie.root)
    for k, v in model.items():
        assert reopened.get(k) == v


@settings(max_examples=200, deadline=None)
@given(st.lists(changes, min_size=1, max_size=5))
def test_new_nodes_enter_the_shared_cache_as_decoded(batches: list[dict[bytes, bytes]]) -> None:
    """An update puts each node it makes into the shared cache as ``decode_node`` reads it back, so the
    next batch walks them undecoded, and reads and roots over the cache are those of a cold store."""
    store = Store()
    cache: dict[bytes, object] = {}
    root = EMPTY_TRIE_ROOT
    model: dict[bytes, bytes] = {}
    for batch in batches:
        root, new = trie_update(store, root, batch, cache=cache)  # type: ignore[arg-type]
        store.data.update(new)
        for k, v in batch.items():
            if v:
                model[k] = v
            else:
                model.pop(k, None)
        for node_hash, rlp in new.items():
            if len(rlp) >= 32 or node_hash == root:
                assert cache[node_hash] == decode_node(rlp)
        assert root == trie_root(model)
        for k, v in model.items():
            assert trie_get(store, root, k, cache=cache) == v  # type: ignore[arg-type]
            assert trie_get(store, root, k) == v


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.binary(min_size=1, max_size=3), st.binary(min_size=1, max_size=3), max_size=40))
def test_delete_everything_gives_empty_root(items: dict[bytes, bytes]) -> None:
    root, nodes = trie_update(Store(), EMPTY_TRIE_ROOT, items)
    store = Store()
    store.data.update(nodes)
    root2, _ = trie_update(store, root, dict.fromkeys(items, b""))
    assert root2 == EMPTY_TRIE_ROOT


def test_secure_keys_match_secure_trie_root() -> None:
    items = {i.to_bytes(20, "big"): bytes([i % 250 + 1]) * (i % 70 + 1) for i in range(500)}
    root, _ = trie_update(Store(), EMPTY_TRIE_ROOT, {keccak256(k): v for k, v in items.items()})
    assert root == secure_trie_root(items)


def test_small_nodes_are_embedded_not_stored() -> None:
    items = {bytes([1, i]): bytes([i + 1]) for i in range(16)}
    root, nodes = trie_update(Store(), EMPTY_TRIE_ROOT, items)
    assert root == trie_root(items)
    for node_hash, rlp in nodes.items():
        assert keccak256(rlp) == node_hash
        assert len(rlp) >= 32 or node_hash == root


def test_root_shorter_than_32_bytes_is_stored() -> None:
    root, nodes = trie_update(Store(), EMPTY_TRIE_ROOT, {b"\x01": b"\x02"})
    assert len(nodes[root]) < 32
    store = Store()
    store.data.update(nodes)
    assert trie_get(store, root, b"\x01") == b"\x02"
    assert trie_get(store, root, b"\x02") == b""


def test_empty_batch_and_absent_deletes_change_nothing() -> None:
    root, nodes = trie_update(Store(), EMPTY_TRIE_ROOT, {b"ab": b"x" * 40, b"ac": b"y" * 40})
    store = Store()
    store.data.update(nodes)
    assert trie_update(store, root, {}) == (root, {})
    assert trie_update(store, root, {b"zz": b"", b"a": b"", b"abc": b""})[0] == root


def test_prefix_keys_live_in_branch_values() -> None:
    items = {b"": b"root", b"\x12": b"a", b"\x12\x34": b"b", b"\x12\x34\x56": b"c"}
    trie = Trie(Store())
    trie.update(items)
    assert trie.root == trie_root(items)
    trie.update({b"\x12\x34": b""})
    del items[b"\x12\x34"]
    assert trie.root == trie_root(items)
    assert trie.get(b"\x12\x34\x56") == b"c"
    assert trie.get(b"") == b"root"


def test_missing_node_is_a_typed_error() -> None:
    root, _ = trie_update(Store(), EMPTY_TRIE_ROOT, {bytes([i]) * 32: b"v" * 40 for i in range(20)})
    with pytest.raises(MissingTrieNode):
        trie_get(Store(), root, b"\x01" * 32)
    with pytest.raises(MissingTrieNode):
        trie_update(Store(), root, {b"\x01" * 32: b""})


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x80", b"\xc0", b"\xc3\x80\x80\x80", b"\xc2\x80", b"\xc5\x20\x82\x01", b"\xc2\x40\x80"],
)
def test_malformed_nodes_are_typed_errors(bad: bytes) -> None:
    with pytest.raises(TrieError):
        decode_node(bad)


def test_corrupt_store_is_a_typed_error() -> None:
    store = Store()
    bad_root = keccak256(b"\xc3\x80\x80\x80")
    store.data[bad_root] = b"\xc3\x80\x80\x80"
    with pytest.raises(TrieError):
        trie_get(store, bad_root, b"k")


def test_node_codec_round_trip() -> None:
    _root, nodes = trie_update(
        Store(), EMPTY_TRIE_ROOT, {bytes([i, j]): b"v" * 33 for i in range(3) for j in (1, 2)}
    )
    for rlp in nodes.values():
        assert encode_node(decode_node(rlp)) == rlp
