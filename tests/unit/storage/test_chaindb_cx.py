"""Cross-shard data in the chain database (reference §6.3, §6.4): spent markers in the block's own write
transaction, crosslinks and the last one per shard, shard states by epoch, the outgoing receipts and the
proofs built from them, all surviving a reopen of a real LMDB."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harmony.abc import KVStore, KVWriteTxn
from harmony.storage import ChainDB, LMDBStore, MemoryStore, schema
from harmony.storage.chaindb import CXReceiptLocation
from harmony.types.block import Block
from harmony.types.crosslink import CrossLink, decode_crosslinks, encode_crosslinks
from harmony.types.cx import check_proof_structure

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


def with_links(data: BlockData, links: list[CrossLink]) -> BlockData:
    header = data.block.header.replace(cross_links=encode_crosslinks(links))
    return dataclasses.replace(data, block=dataclasses.replace(data.block, header=header))


def link(shard: int, number: int) -> CrossLink:
    return CrossLink(bytes([shard, number % 256]) * 16, number, number + 1, SIG, b"\x07", shard, 0)


class RecordingStore:
    """A KV store that records the keys each write transaction put, and fails a put when told to."""

    def __init__(self, inner: KVStore) -> None:
        self.inner = inner
        self.txns: list[list[bytes]] = []
        self.fail_on: bytes | None = None

    def get(self, key: bytes) -> bytes | None:
        return self.inner.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self.inner.iterate(prefix)

    def close(self) -> None:
        self.inner.close()

    @contextmanager
    def write(self) -> Iterator[KVWriteTxn]:
        keys: list[bytes] = []
        self.txns.append(keys)
        outer = self

        class Txn:
            def get(self, key: bytes) -> bytes | None:
                return txn.get(key)

            def put(self, key: bytes, value: bytes) -> None:
                if key == outer.fail_on:
                    raise OSError("disk full")
                keys.append(key)
                txn.put(key, value)

            def delete(self, key: bytes) -> None:
                txn.delete(key)

        with self.inner.write() as txn:
            yield Txn()


@pytest.fixture
def lmdb(tmp_path: Path) -> Iterator[LMDBStore]:
    store = LMDBStore(tmp_path / "db", map_size=1 << 22)
    yield store
    store.close()


def test_spent_markers_go_in_the_blocks_own_write(lmdb: LMDBStore) -> None:
    store = RecordingStore(lmdb)
    db = ChainDB(store)  # type: ignore[arg-type]
    blocks = chain(3)
    write(db, blocks[0])
    write(db, blocks[1])
    source = blocks[2].block.incoming_receipts[0].merkle_proof
    assert not db.is_cx_spent(source.shard_id, source.block_num)
    # a write that fails at the very last put (the head pointer) leaves no spent marker behind
    store.fail_on = schema.HEAD_KEY
    with pytest.raises(OSError, match="disk full"):
        write(db, blocks[2])
    assert not db.is_cx_spent(source.shard_id, source.block_num)
    assert db.head_hash() == blocks[1].block.hash()
    store.fail_on = None
    store.txns.clear()
    write(db, blocks[2])
    assert db.is_cx_spent(source.shard_id, source.block_num)
    assert not db.is_cx_spent(source.shard_id + 1, source.block_num)
    assert not db.is_cx_spent(source.shard_id, source.block_num + 1)
    (keys,) = store.txns  # one write transaction, holding the marker and the head
    assert schema.cx_spent_key(source.shard_id, source.block_num) in keys
    assert keys[-1] == schema.HEAD_KEY


def test_crosslinks_by_number_and_the_last_per_shard() -> None:
    db = ChainDB(MemoryStore())
    write(db, genesis())
    parent: Block = db.head_block()  # type: ignore[assignment]
    beacon_blocks = [
        [link(1, 10), link(1, 11), link(2, 4)],
        [link(2, 3)],  # an older link of shard 2 arrives later: stored, but not the last
        [link(1, 12), link(3, 1)],
    ]
    for links in beacon_blocks:
        data = with_links(child(parent), links)
        write(db, data)
        parent = data.block
    for links in beacon_blocks:
        for item in links:
            assert db.read_crosslink(item.shard_id, item.block_number) == item
            assert db.get_crosslink(item.shard_id, item.block_number) == item
    assert db.read_crosslink(1, 13) is None
    assert db.last_crosslink(1) == link(1, 12)
    assert db.last_crosslink(2) == link(2, 4)
    assert db.last_crosslink(3) == link(3, 1)
    assert db.last_crosslink(4) is None


def test_shard_state_by_epoch_and_committee_lookup() -> None:
    db = ChainDB(MemoryStore())
    for data in chain(6):  # blocks 2 and 5 end epochs 0 and 1
        write(db, data)
    for epoch in (0, 1, 2):
        assert db.shard_state_for_epoch(epoch) == shard_state(epoch)
        assert db.committee_for(1, epoch) == shard_state(epoch).committee(1)
    assert db.shard_state_for_epoch(3) is None
    assert db.committee_for(1, 3) is None
    assert db.committee_for(7, 1) is None  # no such shard in the state


def test_outgoing_receipts_lookups_and_resend_proof() -> None:
    db = ChainDB(MemoryStore())
    blocks = chain(4)
    for data in blocks:
        write(db, data)
    for data in blocks[1:]:
        number = data.block.header.number
        assert db.get_block_outgoing_cx_receipts(number) == tuple(data.cx)
        cross, same = data.block.transactions[0], data.block.transactions[1]
        found = db.get_cx_receipt_by_tx_hash(cross.hash())
        assert found == CXReceiptLocation(data.cx[0], data.block.hash(), number)
        assert db.get_cx_receipt_by_tx_hash(same.hash()) is None
        # the proof a node resends to shard 1: commit signature from the block write or the child header
        proof = db.get_cx_receipts_proof(1, number)
        assert proof is not None
        check_proof_structure(proof, 1)
        assert proof.header == data.block.header
        assert (proof.commit_sig, proof.commit_bitmap) == db.get_commit_sig(number)
        assert db.get_cx_receipts_proof(2, number) is None
    assert db.get_cx_receipt_by_tx_hash(b"\x00" * 32) is None
    assert db.get_block_outgoing_cx_receipts(0) == ()
    assert db.get_block_outgoing_cx_receipts(99) is None
    assert db.get_cx_receipts_proof(1, 99) is None


def test_proof_waits_for_the_commit_signature() -> None:
    db = ChainDB(MemoryStore())
    blocks = chain(2)
    write(db, blocks[0])
    data = blocks[1]
    db.write_block(data.block, data.receipts, data.nodes, cx_receipts=data.cx)
    assert db.get_cx_receipts_proof(1, 1) is None
    db.write_commit_sig(1, b"\x66" * 96, b"\x0f")
    proof = db.get_cx_receipts_proof(1, 1)
    assert proof is not None
    assert (proof.commit_sig, proof.commit_bitmap) == (b"\x66" * 96, b"\x0f")


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    blocks = chain(6)
    path = tmp_path / "chain"
    with LMDBStore(path) as store:
        db = ChainDB(store)
        for data in blocks:
            write(db, data)
    with LMDBStore(path) as store:
        db = ChainDB(store)
        for data in blocks[1:]:
            number = data.block.header.number
            source = data.block.incoming_receipts[0].merkle_proof
            assert db.is_cx_spent(source.shard_id, source.block_num)
            item = link_of(data)
            assert db.read_crosslink(item.shard_id, item.block_number) == item
            assert db.get_cx_receipt_by_tx_hash(data.block.transactions[0].hash()) is not None
            assert db.get_cx_receipts_proof(1, number) is not None
        assert db.last_crosslink(1) == link_of(blocks[-1])
        assert db.shard_state_for_epoch(2) == shard_state(2)


def link_of(data: BlockData) -> CrossLink:
    (item,) = decode_crosslinks(data.block.header.cross_links)
    return item


def test_shard_state_learnt_from_the_beacon_chain() -> None:
    """A non-beacon node stores a committee the beacon announced before its own chain carries it."""
    from harmony.storage.errors import StorageError  # noqa: PLC0415

    db = ChainDB(MemoryStore())
    db.write_shard_state(4, shard_state(4).encode())
    assert db.committee_for(1, 4) == shard_state(4).committee(1)
    with pytest.raises(StorageError, match="epoch 5 stored as epoch 6"):
        db.write_shard_state(6, shard_state(5).encode())
    with pytest.raises(StorageError, match="shard state of epoch 7"):
        db.write_shard_state(7, b"\xc1\x80garbage")
    assert db.shard_state_for_epoch(6) is None and db.shard_state_for_epoch(7) is None
