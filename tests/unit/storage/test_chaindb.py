"""The chain database (design §3.4): round trips of every table, the head pointer that moves only with
``write_block``, one atomic write per block (a failure part-way leaves the database exactly unchanged), and
typed errors for corrupted stored bytes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmony.abc import KVStore, KVWriteTxn
from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.errors import HarmonyError
from harmony.storage import (
    ChainDB,
    CorruptData,
    LMDBStore,
    MemoryStore,
    NotChildOfHead,
    StorageError,
    schema,
)
from harmony.storage.chaindb import TX_KIND_PLAIN, TxLocation, _plain_location
from harmony.types.block import Block
from harmony.types.crosslink import decode_crosslinks
from harmony.types.header import Header

from .chain_fixtures import SIG, BlockData, chain, child, genesis, shard_state


def write(db: ChainDB, data: BlockData) -> None:
    db.write_block(
        data.block,
        data.receipts,
        data.nodes,
        cx_receipts=data.cx,
        commit_sig=data.commit_sig,
        validator_snapshots=data.snapshots,
    )


@pytest.fixture(params=["memory", "lmdb"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    store: KVStore = (
        MemoryStore() if request.param == "memory" else LMDBStore(tmp_path / "db", map_size=1 << 20)
    )
    yield store
    store.close()


@pytest.fixture(scope="module")
def blocks() -> list[BlockData]:
    return chain(6)


def snapshot(kv: KVStore) -> list[tuple[bytes, bytes]]:
    return list(kv.iterate(b""))


def test_empty_database(kv: KVStore) -> None:
    db = ChainDB(kv)
    assert db.head_hash() is None
    assert db.head_header() is None
    assert db.head_block() is None
    assert db.head_number() is None
    assert db.genesis_hash() is None
    assert db.get_block_by_number(0) is None
    assert db.get_header(b"\x00" * 32) is None
    assert db.get_transaction_location(b"\x00" * 32) is None
    assert db.get_receipt_by_tx_hash(b"\x00" * 32) is None
    assert db.get_transaction(b"\x00" * 32) is None


def test_blocks_round_trip(kv: KVStore, blocks: list[BlockData]) -> None:
    db = ChainDB(kv)
    for data in blocks:
        write(db, data)
        assert db.head_hash() == data.block.hash()
    head = blocks[-1].block
    assert db.head_block() == head
    assert db.head_header() == head.header
    assert db.head_number() == head.number
    assert db.genesis_hash() == blocks[0].block.hash()
    for data in blocks:
        block = data.block
        assert db.get_block_by_hash(block.hash()) == block
        assert db.get_block_by_number(block.number) == block
        assert db.get_header_by_number(block.number) == block.header
        assert db.get_header(block.hash()) == block.header
        assert db.get_block_number(block.hash()) == block.number
        assert db.get_canonical_hash(block.number) == block.hash()
        assert db.get_receipts(block.hash()) == tuple(data.receipts)
    assert db.get_canonical_hash(head.number + 1) is None
    assert db.get_block_by_number(head.number + 1) is None


def test_receipts_are_kept_compact_and_the_consensus_form_still_read(
    kv: KVStore, blocks: list[BlockData]
) -> None:
    """A block's receipts are stored without their blooms (``Receipt.encode_compact``); a database written
    before, with consensus receipts, reads the same."""
    db = ChainDB(kv)
    for data in blocks:
        write(db, data)
    for data in blocks:
        key = schema.receipts_key(data.block.hash())
        compact = rlp.encode_list_of_encoded([r.encode_compact() for r in data.receipts])
        assert kv.get(key) == compact
        put_raw(kv, key, rlp.encode_list_of_encoded([r.encode() for r in data.receipts]))
        assert db.get_receipts(data.block.hash()) == tuple(data.receipts)


def test_transaction_lookups(kv: KVStore, blocks: list[BlockData]) -> None:
    db = ChainDB(kv)
    for data in blocks:
        write(db, data)
    for data in blocks[1:]:
        block = data.block
        for i, tx in enumerate(block.transactions):
            found = db.get_transaction(tx.hash())
            assert found is not None
            assert found[0] == tx
            loc = found[1]
            assert (loc.block_hash, loc.block_number, loc.index, loc.staking) == (
                block.hash(),
                block.number,
                i,
                False,
            )
            got = db.get_receipt_by_tx_hash(tx.hash())
            assert got is not None
            assert got[0] == data.receipts[i]
        eth_tx = block.transactions[1]
        assert eth_tx.is_eth_compatible
        assert db.get_transaction_location(eth_tx.eth_hash()) == db.get_transaction_location(eth_tx.hash())
        assert db.get_transaction_location(block.transactions[0].eth_hash()) is None
        offset = len(block.transactions)
        for i, stx in enumerate(block.staking_transactions):
            found_s = db.get_transaction(stx.hash())
            assert found_s is not None
            assert found_s[0] == stx
            assert found_s[1].staking
            assert found_s[1].receipt_index == offset + i
            got = db.get_receipt_by_tx_hash(stx.hash())
            assert got is not None
            assert got[0] == data.receipts[offset + i]


def test_cross_shard_crosslinks_signatures_committees(kv: KVStore, blocks: list[BlockData]) -> None:
    db = ChainDB(kv)
    for data in blocks:
        write(db, data)
    for data in blocks[1:]:
        block = data.block
        n = block.number
        assert db.get_outgoing_cx_receipts(1, n) == tuple(data.cx)
        assert db.get_outgoing_cx_receipts(2, n) is None
        proof = block.incoming_receipts[0].merkle_proof
        assert db.is_cx_spent(proof.shard_id, proof.block_num)
        assert not db.is_cx_spent(proof.shard_id, proof.block_num + 1000)
        (link,) = decode_crosslinks(block.header.cross_links)
        assert db.get_crosslink(link.shard_id, link.block_number) == link
        assert db.get_validator_snapshot(n, b"\x09" * 20) == b"snap%d" % n
    last = decode_crosslinks(blocks[-1].block.header.cross_links)[0]
    assert db.get_last_crosslink(1) == last
    assert db.get_last_crosslink(3) is None
    head = blocks[-1].block.number
    assert db.get_commit_sig(head) == (b"\x77" * 96, b"\x01\x02")  # given with the head block
    for n in range(head):  # recorded from the child's LastCommit fields
        assert db.get_commit_sig(n) == (SIG, b"\x0f")
    assert db.get_commit_sig(head + 1) is None
    assert db.get_shard_state(0) == shard_state(0)  # genesis: its own epoch
    assert db.get_shard_state(1) == shard_state(1)  # block 2, last of epoch 0: for epoch 1
    assert db.get_shard_state(2) == shard_state(2)  # block 5
    assert db.get_shard_state(3) is None
    db.write_commit_sig(head, b"\x11" * 96, b"\xff")
    assert db.get_commit_sig(head) == (b"\x11" * 96, b"\xff")
    with pytest.raises(StorageError):
        db.write_commit_sig(head, b"\x11" * 95, b"\xff")


def test_state_nodes_view(kv: KVStore, blocks: list[BlockData]) -> None:
    db = ChainDB(kv)
    write(db, blocks[0])
    view = db.state_nodes()
    for node_hash, node in blocks[0].nodes.items():
        assert view.get(node_hash) == node
        assert kv.get(schema.STATE_NODE + node_hash) == node
    assert view.get(b"\x00" * 32) is None
    bad_hash = keccak256(b"good")
    with kv.write() as txn:
        txn.put(schema.state_node_key(bad_hash), b"evil")
    assert db.state_nodes().get(bad_hash) == b"evil"  # unverified view: raw bytes
    with pytest.raises(CorruptData):
        db.state_nodes(verify=True).get(bad_hash)


def test_durable_across_reopen(tmp_path: Path, blocks: list[BlockData]) -> None:
    with LMDBStore(tmp_path) as store:
        db = ChainDB(store)
        for data in blocks:
            write(db, data)
    with LMDBStore(tmp_path) as store:
        db = ChainDB(store)
        assert db.head_block() == blocks[-1].block
        assert db.get_block_by_number(1) == blocks[1].block


def test_head_moves_only_with_write_block(kv: KVStore, blocks: list[BlockData]) -> None:
    db = ChainDB(kv)
    with pytest.raises(NotChildOfHead):
        write(db, blocks[1])  # not genesis on an empty database
    assert snapshot(kv) == []
    for data in blocks[:3]:
        write(db, data)
    before = snapshot(kv)
    sibling = child(blocks[1].block, seed=1)  # a second block at height 2
    skip = child(blocks[3].block)  # height 4 on top of a block we never wrote
    for bad in (blocks[0], blocks[1], blocks[2], sibling, skip, genesis()):
        with pytest.raises(NotChildOfHead):
            write(db, bad)
        assert snapshot(kv) == before
    assert db.head_hash() == blocks[2].block.hash()
    write(db, blocks[3])
    assert db.head_hash() == blocks[3].block.hash()


def test_malformed_arguments_write_nothing(kv: KVStore, blocks: list[BlockData]) -> None:
    db = ChainDB(kv)
    write(db, blocks[0])
    before = snapshot(kv)
    data = blocks[1]
    with pytest.raises(StorageError):
        db.write_block(data.block, data.receipts[:-1], data.nodes)
    with pytest.raises(StorageError):
        db.write_block(data.block, data.receipts, {b"short": b"x"})
    with pytest.raises(StorageError):
        db.write_block(data.block, data.receipts, data.nodes, commit_sig=(b"\x01" * 10, b""))
    bad_links = data.block.with_header(data.block.header.replace(cross_links=b"\xc3\x01\x02\x03"))
    with pytest.raises(HarmonyError):
        db.write_block(bad_links, data.receipts, data.nodes)
    assert snapshot(kv) == before


class Injected(Exception):
    """The failure injected into a block write."""


class FailingTxn:
    """A write transaction that raises on its ``fail_at``-th put or delete."""

    def __init__(self, inner: KVWriteTxn, fail_at: int) -> None:
        self.inner = inner
        self.left = fail_at
        self.count = 0

    def get(self, key: bytes) -> bytes | None:
        return self.inner.get(key)

    def _tick(self) -> None:
        self.count += 1
        if self.count > self.left:
            raise Injected

    def put(self, key: bytes, value: bytes) -> None:
        self._tick()
        self.inner.put(key, value)

    def delete(self, key: bytes) -> None:
        self._tick()
        self.inner.delete(key)


class FailingStore:
    """A KV store whose next write transaction fails after ``fail_at`` operations."""

    def __init__(self, inner: KVStore, fail_at: int = 10**9) -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.last: FailingTxn | None = None

    def get(self, key: bytes) -> bytes | None:
        return self.inner.get(key)

    @contextmanager
    def write(self) -> Iterator[KVWriteTxn]:
        with self.inner.write() as txn:
            self.last = FailingTxn(txn, self.fail_at)
            yield self.last

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self.inner.iterate(prefix)

    def close(self) -> None:
        self.inner.close()


def test_block_write_failing_part_way_changes_nothing(kv: KVStore, blocks: list[BlockData]) -> None:
    failing = FailingStore(kv)
    db = ChainDB(failing)
    write(db, blocks[0])
    write(db, blocks[1])
    assert failing.last is not None
    total = failing.last.count  # operations a full block write makes
    assert total > 15
    before = snapshot(kv)
    for fail_at in range(total):
        failing.fail_at = fail_at
        with pytest.raises(Injected):
            write(db, blocks[2])
        assert snapshot(kv) == before, f"failure after {fail_at} puts left data behind"
    assert db.head_hash() == blocks[1].block.hash()
    failing.fail_at = 10**9
    write(db, blocks[2])
    assert db.head_block() == blocks[2].block


def put_raw(kv: KVStore, key: bytes, value: bytes) -> None:
    with kv.write() as txn:
        txn.put(key, value)


def test_corrupt_stored_bytes_raise_typed(kv: KVStore, blocks: list[BlockData]) -> None:
    db = ChainDB(kv)
    for data in blocks[:3]:
        write(db, data)
    block = blocks[2].block
    h = block.hash()
    tx = block.transactions[0]

    put_raw(kv, schema.header_key(h), block.header.encode() + b"\x00")
    with pytest.raises(CorruptData):
        db.head_header()
    with pytest.raises(CorruptData):
        db.get_block_by_number(2)
    put_raw(kv, schema.header_key(h), block.header.encode())
    assert db.head_block() == block

    put_raw(kv, schema.body_key(h), b"\xc0")
    with pytest.raises(CorruptData):
        db.head_block()
    with pytest.raises(CorruptData):
        db.get_transaction(tx.hash())
    put_raw(kv, schema.receipts_key(h), b"\xc1\xff")
    with pytest.raises(CorruptData):
        db.get_receipts(h)
    put_raw(kv, schema.tx_lookup_key(tx.hash()), b"\x01\x02")
    with pytest.raises(CorruptData):
        db.get_receipt_by_tx_hash(tx.hash())
    put_raw(kv, schema.number_key(h), b"\x02")
    with pytest.raises(CorruptData):
        db.head_number()
    put_raw(kv, schema.canonical_key(1), b"\x01" * 31)
    with pytest.raises(CorruptData):
        db.get_block_by_number(1)
    put_raw(kv, schema.canonical_key(1), h)  # points at a block of another number
    with pytest.raises(CorruptData):
        db.get_header_by_number(1)
    put_raw(kv, schema.commit_sig_key(0), b"\x01" * 5)
    with pytest.raises(CorruptData):
        db.get_commit_sig(0)
    put_raw(kv, schema.shard_state_key(0), b"\x80\x80")
    with pytest.raises(CorruptData):
        db.get_shard_state(0)
    put_raw(kv, schema.crosslink_key(1, 20), b"")
    with pytest.raises(CorruptData):
        db.get_crosslink(1, 20)
    put_raw(kv, schema.last_crosslink_key(1), b"\xc0")
    with pytest.raises(CorruptData):
        db.get_last_crosslink(1)
    # a corrupted last-crosslink entry also refuses the next beacon block instead of being overwritten
    before = snapshot(kv)
    with pytest.raises(CorruptData):
        write(db, blocks[3])
    assert snapshot(kv) == before
    put_raw(kv, schema.outgoing_cx_key(1, 2), b"\xc2\xc1\x00")
    with pytest.raises(CorruptData):
        db.get_outgoing_cx_receipts(1, 2)
    put_raw(kv, schema.HEAD_KEY, b"\x01")
    with pytest.raises(CorruptData):
        db.head_hash()
    put_raw(kv, schema.HEAD_KEY, b"\x01" * 32)
    with pytest.raises(CorruptData):
        db.head_header()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300))
def test_random_junk_never_escapes_as_untyped(junk: bytes) -> None:
    kv = MemoryStore()
    db = ChainDB(kv)
    h = keccak256(junk)
    tables = [
        schema.header_key(h),
        schema.body_key(h),
        schema.receipts_key(h),
        schema.tx_lookup_key(h),
        schema.shard_state_key(0),
        schema.crosslink_key(0, 0),
        schema.outgoing_cx_key(0, 0),
    ]
    with kv.write() as txn:
        for key in tables:
            txn.put(key, junk)
        txn.put(schema.number_key(h), (0).to_bytes(8, "big"))
        txn.put(schema.canonical_key(0), h)
        txn.put(schema.HEAD_KEY, h)
    for call in (
        db.head_block,
        lambda: db.get_receipts(h),
        lambda: db.get_transaction(h),
        lambda: db.get_receipt_by_tx_hash(h),
        lambda: db.get_shard_state(0),
        lambda: db.get_crosslink(0, 0),
        lambda: db.get_outgoing_cx_receipts(0, 0),
        lambda: db.get_block_by_number(0),
    ):
        with suppress(CorruptData):
            call()


def test_header_of_wrong_hash_is_corrupt(kv: KVStore) -> None:
    db = ChainDB(kv)
    header = Header(number=0)
    put_raw(kv, schema.header_key(b"\x01" * 32), header.encode())
    with pytest.raises(CorruptData):
        db.get_header(b"\x01" * 32)


def test_body_with_uncles_and_empty_lists_round_trips(kv: KVStore) -> None:
    db = ChainDB(kv)
    block = Block(Header(number=0), uncles=(Header(number=7), Header(number=8, extra=b"u")))
    db.write_block(block, [], {})
    assert db.head_block() == block
    assert db.get_block_by_number(0) == block


@pytest.mark.parametrize("index", [0, 1, 127, 128, 255, 256, 5_000])
@pytest.mark.parametrize("number", [0, 1, 2**40])
def test_plain_locations_are_the_tx_location_encoding(index: int, number: int) -> None:
    block_hash = bytes(range(32))
    head = rlp.encode(block_hash) + rlp.encode(rlp.encode_uint(number))
    expected = TxLocation(block_hash, number, index, TX_KIND_PLAIN, index).encode()
    assert _plain_location(head, index) == expected
