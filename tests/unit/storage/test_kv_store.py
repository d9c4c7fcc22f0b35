"""Both KV backends honour the same contract (harmony.abc.KVStore, design §3.3-3.4): atomic write
transactions, reads of one's own writes, prefix iteration in key order, typed errors on misuse."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmony.abc import KVStore
from harmony.storage import LMDBStore, MemoryStore, StorageError, StoreClosed
from harmony.storage.write_buffer import MAX_KEY_SIZE


class Boom(Exception):
    """Raised on purpose inside a write transaction."""


@pytest.fixture(params=["memory", "lmdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    kv: KVStore = MemoryStore() if request.param == "memory" else LMDBStore(tmp_path / "db", map_size=1 << 20)
    yield kv
    kv.close()


def test_put_get_delete(store: KVStore) -> None:
    assert store.get(b"a") is None
    with store.write() as txn:
        txn.put(b"a", b"1")
        txn.put(b"b", b"")
    assert store.get(b"a") == b"1"
    assert store.get(b"b") == b""  # an empty value is a value, not absence
    with store.write() as txn:
        txn.delete(b"a")
        txn.delete(b"never-there")
    assert store.get(b"a") is None
    assert store.get(b"b") == b""


def test_writes_invisible_until_commit_and_txn_reads_its_own(store: KVStore) -> None:
    with store.write() as txn:
        txn.put(b"k", b"v")
        assert txn.get(b"k") == b"v"
        assert store.get(b"k") is None
        txn.delete(b"k")
        assert txn.get(b"k") is None
        txn.put(b"k", b"w")
    assert store.get(b"k") == b"w"


def test_exception_inside_write_leaves_nothing(store: KVStore) -> None:
    with store.write() as txn:
        txn.put(b"keep", b"1")
    with pytest.raises(Boom), store.write() as txn:
        txn.put(b"new", b"2")
        txn.put(b"keep", b"changed")
        txn.delete(b"keep")
        raise Boom
    assert store.get(b"new") is None
    assert store.get(b"keep") == b"1"
    assert list(store.iterate(b"")) == [(b"keep", b"1")]


def test_txn_unusable_after_its_block(store: KVStore) -> None:
    with store.write() as txn:
        txn.put(b"a", b"1")
    with pytest.raises(StoreClosed):
        txn.put(b"b", b"2")
    with pytest.raises(StoreClosed):
        txn.get(b"a")
    assert store.get(b"b") is None


def test_iterate_prefix_in_key_order(store: KVStore) -> None:
    keys = [b"p\x00", b"p\xff", b"p", b"q", b"o\xff", b"p\x01\x02", b"pp"]
    with store.write() as txn:
        for i, key in enumerate(keys):
            txn.put(key, bytes([i]))
    assert [k for k, _ in store.iterate(b"p")] == [b"p", b"p\x00", b"p\x01\x02", b"pp", b"p\xff"]
    assert [k for k, _ in store.iterate(b"")] == sorted(keys)
    assert list(store.iterate(b"z")) == []
    assert dict(store.iterate(b"q")) == {b"q": bytes([3])}


def test_iterate_many_crosses_batches(store: KVStore) -> None:
    with store.write() as txn:
        for i in range(3000):
            txn.put(b"x" + i.to_bytes(4, "big"), i.to_bytes(4, "big"))
        txn.put(b"y", b"after")
    got = list(store.iterate(b"x"))
    assert len(got) == 3000
    assert all(k[1:] == v for k, v in got)
    assert [k for k, _ in got] == sorted(k for k, _ in got)


@pytest.mark.parametrize("key", [b"", b"k" * (MAX_KEY_SIZE + 1)])
def test_bad_keys_rejected_typed(store: KVStore, key: bytes) -> None:
    with pytest.raises(StorageError), store.write() as txn:
        txn.put(key, b"v")
    assert list(store.iterate(b"")) == []


def test_non_bytes_rejected(store: KVStore) -> None:
    with pytest.raises(StorageError), store.write() as txn:
        txn.put("text", b"v")  # type: ignore[arg-type]
    with pytest.raises(StorageError), store.write() as txn:
        txn.put(b"k", "text")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"", b"k" * 600])
def test_lookup_of_unstorable_key_is_absent(store: KVStore, key: bytes) -> None:
    assert store.get(key) is None
    with store.write() as txn:
        assert txn.get(key) is None
        txn.put(b"a", b"1")
    assert store.get(key) is None


def test_longest_key_accepted(store: KVStore) -> None:
    key = b"k" * MAX_KEY_SIZE
    with store.write() as txn:
        txn.put(key, b"v")
    assert store.get(key) == b"v"


def test_use_after_close_is_typed(store: KVStore) -> None:
    store.close()
    with pytest.raises(StoreClosed):
        store.get(b"a")
    with pytest.raises(StoreClosed), store.write():
        pass
    with pytest.raises(StoreClosed):
        list(store.iterate(b""))


_keys = st.binary(min_size=1, max_size=6)
_ops = st.lists(
    st.tuples(st.sampled_from(["put", "delete"]), _keys, st.binary(max_size=20), st.booleans()), max_size=40
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(_ops, max_size=6))
def test_matches_a_dict_model(store: KVStore, batches: list[list[tuple[str, bytes, bytes, bool]]]) -> None:
    """Random batches, some aborted, leave the store equal to a dict that applied only the committed ones."""
    with store.write() as txn:  # reset what earlier examples left
        for key, _ in list(store.iterate(b"")):
            txn.delete(key)
    model: dict[bytes, bytes] = {}
    for batch in batches:
        abort = any(flag for *_, flag in batch[:1])
        staged = dict(model)
        with pytest.raises(Boom) if abort else contextlib.nullcontext(), store.write() as txn:
            for op, key, value, _ in batch:
                if op == "put":
                    txn.put(key, value)
                    staged[key] = value
                else:
                    txn.delete(key)
                    staged.pop(key, None)
                assert txn.get(key) == staged.get(key)
            if abort:
                raise Boom
        if not abort:
            model = staged
        assert list(store.iterate(b"")) == sorted(model.items())
