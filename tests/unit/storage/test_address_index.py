"""The per-address transaction index (schema ``a``/``A``; reference §9.2 ``getTransactionsHistory`` and
``getTransactionsCount``): written in the block's one write transaction, listed under sender and recipient
(a self-transfer once in ALL), staking transactions under their signer and the validator they name, in chain
order from either end, paged by sequence number, with O(1) counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from harmony.abc import KVStore, KVWriteTxn
from harmony.crypto.secp256k1 import PrivateKey
from harmony.storage import (
    ChainDB,
    CorruptData,
    HistoryNotKept,
    LMDBStore,
    MemoryStore,
    StorageError,
    schema,
)
from harmony.storage.chaindb import TxDirection
from harmony.types.block import Block, make_block
from harmony.types.header import Header
from harmony.types.receipt import Receipt
from harmony.types.staking import CollectRewards, Delegate, StakingTransaction
from harmony.types.transaction import Transaction

from .chain_fixtures import CHAIN_ID, ETH_CHAIN_ID

KEY_A = PrivateKey(b"\x0a" * 32)
KEY_B = PrivateKey(b"\x0b" * 32)
KEY_C = PrivateKey(b"\x0c" * 32)
A, B, C = KEY_A.address, KEY_B.address, KEY_C.address
ALL, SENT, RECEIVED = TxDirection.ALL, TxDirection.SENT, TxDirection.RECEIVED


def _tx(key: PrivateKey, nonce: int, to: bytes | None, *, eth: bool = False) -> Transaction:
    return Transaction(nonce, 10**9, 60_000, 0, 0, to, 5).sign(key, ETH_CHAIN_ID if eth else CHAIN_ID)


def _block(
    parent: Block, txs: list[Transaction], stakes: list[StakingTransaction] | None = None
) -> tuple[Block, list[Receipt]]:
    stakes = stakes or []
    n_txs = len(txs) + len(stakes)
    receipts = [Receipt.make(success=True, cumulative_gas_used=21_000 * (i + 1)) for i in range(n_txs)]
    header = Header(number=parent.header.number + 1, parent_hash=parent.hash(), gas_limit=80_000_000)
    block = make_block(header, transactions=txs, staking_transactions=stakes, receipts=receipts)
    return block, receipts


GENESIS = Block(Header(number=0))
TX_AB = _tx(KEY_A, 0, B)
TX_AA = _tx(KEY_A, 1, A, eth=True)  # a self-transfer, signed for the Ethereum chain ID
TX_BC = _tx(KEY_B, 0, C)
TX_CREATE = _tx(KEY_A, 2, None)
STX_DELEGATE = StakingTransaction(Delegate(A, C, 100), 3, 10**9, 30_000).sign(KEY_A, CHAIN_ID)
STX_COLLECT = StakingTransaction(CollectRewards(A), 4, 10**9, 30_000).sign(KEY_A, CHAIN_ID)
BLOCK1, RECEIPTS1 = _block(GENESIS, [TX_AB, TX_AA, TX_BC, TX_CREATE], [STX_DELEGATE, STX_COLLECT])
TX_CA = _tx(KEY_C, 0, A)
BLOCK2, RECEIPTS2 = _block(BLOCK1, [TX_CA])
SENDERS1 = [A, A, B, A]


@pytest.fixture(params=["memory", "lmdb"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    store: KVStore = (
        MemoryStore() if request.param == "memory" else LMDBStore(tmp_path / "db", map_size=1 << 20)
    )
    yield store
    store.close()


def _filled(kv: KVStore, *, senders: bool = True, tx_history: bool = True) -> ChainDB:
    db = ChainDB(kv, tx_history=tx_history)
    db.write_block(GENESIS, [], {})
    db.write_block(BLOCK1, RECEIPTS1, {}, senders=SENDERS1 if senders else None)
    db.write_block(BLOCK2, RECEIPTS2, {}, senders=[C] if senders else None)
    return db


def test_sender_and_recipient_in_chain_order(kv: KVStore) -> None:
    db = _filled(kv)
    hashes = db.address_transactions
    assert hashes(A) == [TX_AB.hash(), TX_AA.hash(), TX_CREATE.hash(), TX_CA.hash()]
    assert hashes(A, direction=SENT) == [TX_AB.hash(), TX_AA.hash(), TX_CREATE.hash()]
    assert hashes(A, direction=RECEIVED) == [TX_AA.hash(), TX_CA.hash()]
    assert hashes(B) == [TX_AB.hash(), TX_BC.hash()]
    assert hashes(B, direction=SENT) == [TX_BC.hash()]
    assert hashes(B, direction=RECEIVED) == [TX_AB.hash()]
    assert hashes(C) == [TX_BC.hash(), TX_CA.hash()]
    assert hashes(b"\x99" * 20) == []


def test_counts_self_transfer_once(kv: KVStore) -> None:
    db = _filled(kv)
    count = db.address_transaction_count
    assert (count(A), count(A, direction=SENT), count(A, direction=RECEIVED)) == (4, 3, 2)
    assert (count(B), count(B, direction=SENT), count(B, direction=RECEIVED)) == (2, 1, 1)
    assert count(b"\x99" * 20) == 0


def test_pages_from_either_end(kv: KVStore) -> None:
    db = _filled(kv)
    all_a = db.address_transactions(A)
    assert db.address_transactions(A, start=1, limit=2) == all_a[1:3]
    assert db.address_transactions(A, newest_first=True) == all_a[::-1]
    assert db.address_transactions(A, newest_first=True, start=1, limit=2) == all_a[::-1][1:3]
    assert db.address_transactions(A, start=3, limit=10) == all_a[3:]
    assert db.address_transactions(A, newest_first=True, start=3, limit=10) == all_a[:1]
    assert db.address_transactions(A, start=4) == []
    assert db.address_transactions(A, newest_first=True, start=10**12) == []
    assert db.address_transactions(A, limit=0) == []


def test_staking_streams(kv: KVStore) -> None:
    db = _filled(kv)
    stake = STX_DELEGATE.hash(), STX_COLLECT.hash()
    assert db.address_transactions(A, staking=True) == list(stake)
    assert db.address_transactions(A, staking=True, direction=SENT) == list(stake)
    assert db.address_transaction_count(A, staking=True, direction=RECEIVED) == 0
    assert db.address_transactions(C, staking=True) == [stake[0]]
    assert db.address_transactions(C, staking=True, direction=RECEIVED) == [stake[0]]
    assert db.address_transaction_count(C, staking=True, direction=SENT) == 0
    # plain and staking streams are apart
    assert db.address_transaction_count(A) == 4
    assert db.address_transaction_count(A, staking=True) == 2


def test_recovered_senders_index_the_same(tmp_path: Path) -> None:
    given, recovered = MemoryStore(), MemoryStore()
    _filled(given, senders=True)
    _filled(recovered, senders=False)
    assert list(given.iterate(b"")) == list(recovered.iterate(b""))


class CountingStore:
    """A store that counts its write transactions."""

    def __init__(self, inner: KVStore) -> None:
        self.inner = inner
        self.writes = 0

    def get(self, key: bytes) -> bytes | None:
        return self.inner.get(key)

    def write(self) -> AbstractContextManager[KVWriteTxn]:
        self.writes += 1
        return self.inner.write()

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self.inner.iterate(prefix)

    def close(self) -> None:
        self.inner.close()


def test_index_written_in_the_block_transaction(kv: KVStore) -> None:
    counting = CountingStore(kv)
    db = ChainDB(counting)
    db.write_block(GENESIS, [], {})
    before = counting.writes
    db.write_block(BLOCK1, RECEIPTS1, {}, senders=SENDERS1)
    assert counting.writes == before + 1
    assert db.address_transaction_count(A) == 3


def test_bad_senders_write_nothing(kv: KVStore) -> None:
    db = ChainDB(kv)
    db.write_block(GENESIS, [], {})
    before = list(kv.iterate(b""))
    for senders in ([A], [A, A, B, A, C], [A, A, B, b"\x01" * 19]):
        with pytest.raises(StorageError, match="senders"):
            db.write_block(BLOCK1, RECEIPTS1, {}, senders=senders)
    assert list(kv.iterate(b"")) == before


def test_bad_arguments_and_corrupt_index_are_typed(kv: KVStore) -> None:
    db = _filled(kv)
    with pytest.raises(StorageError, match="20 bytes"):
        db.address_transaction_count(b"\x01" * 19)
    for start, limit in ((-1, 10), (0, -1), (0, 10**9)):
        with pytest.raises(StorageError, match="out of range"):
            db.address_transactions(A, start=start, limit=limit)
    with kv.write() as txn:
        txn.put(schema.address_tx_count_key(schema.STREAM_ALL, B), b"\x05")
        txn.put(schema.address_tx_key(schema.STREAM_ALL, C, 1), b"short")
    with pytest.raises(CorruptData, match="count"):
        db.address_transaction_count(B)
    with pytest.raises(CorruptData, match="address index"):
        db.address_transactions(C)


def _index(kv: KVStore) -> list[tuple[bytes, bytes]]:
    return list(kv.iterate(schema.ADDRESS_TX)) + list(kv.iterate(schema.ADDRESS_TX_COUNT))


def test_a_node_without_tx_history_writes_no_index_and_says_so(kv: KVStore) -> None:
    db = _filled(kv, tx_history=False)
    assert _index(kv) == []
    assert db.get_block_by_number(2) == BLOCK2  # the rest of the block write is unchanged
    for read in (db.address_transaction_count, db.address_transactions):
        with pytest.raises(HistoryNotKept, match=r"tx_history = true"):
            read(A)


def test_record_tx_history_across_openings(kv: KVStore) -> None:
    kept = ChainDB(kv)
    kept.write_block(GENESIS, [], {})
    assert kept.record_tx_history() == 0  # kept from the start: every block
    assert kv.get(schema.TX_HISTORY_KEY) is None
    kept.write_block(BLOCK1, RECEIPTS1, {}, senders=SENDERS1)
    # reopened without it: recorded, and block 2 goes unindexed
    dropped = ChainDB(kv, tx_history=False)
    assert dropped.record_tx_history() is None
    assert dropped.record_tx_history() is None
    assert kv.get(schema.TX_HISTORY_KEY) == b""
    dropped.write_block(BLOCK2, RECEIPTS2, {}, senders=[C])
    # kept again: from the block after the head on; the entries of block 1 are still there
    again = ChainDB(kv)
    assert again.record_tx_history() == 3
    assert again.record_tx_history() == 3
    assert again.address_transactions(C) == [TX_BC.hash()]  # TX_CA of block 2 was never indexed


def test_corrupt_tx_history_marker_is_typed(kv: KVStore) -> None:
    db = ChainDB(kv)
    db.write_block(GENESIS, [], {})
    with kv.write() as txn:
        txn.put(schema.TX_HISTORY_KEY, b"\x01\x02")
    with pytest.raises(CorruptData, match="history marker"):
        db.record_tx_history()
    with pytest.raises(CorruptData, match="history marker"):
        ChainDB(kv, tx_history=False).record_tx_history()
