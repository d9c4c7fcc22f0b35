"""History expiry on a real LMDB chain (harmony.storage.prune, ChainDB.expire_history): below the history
floor a block keeps only what the schema names (an epoch end's header and commit signature, a cross-shard
sender's proof), everything from the floor on stays whole, the indexes agree with what is left, the floor
survives a restart and an interrupted write, and the sync and state-sync servers announce and serve what
they hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.state_sync import ChainStateSource
from harmony.node.sync import ChainSyncSource
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.storage import chaindb, prune, schema
from harmony.storage.chaindb import ChainDB, TxDirection
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.prune import Pruner, history_target
from tests.e2e import crash_writer, history_writer
from tests.unit.rpc.test_dispatch import result

EPOCH = history_writer.EPOCH
WINDOW = history_writer.WINDOW
SHARD, SENDER, RECIPIENT = history_writer.SHARD, history_writer.SENDER, history_writer.RECIPIENT
_grow = history_writer.grow


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Blockchain]:
    monkeypatch.setattr(prune, "HISTORY_BLOCKS", WINDOW)
    monkeypatch.setattr(prune, "KEEP_RECENT", 16)
    store = LMDBStore(tmp_path / "chain")
    yield Blockchain.open(ChainDB(store), crash_writer.GENESIS, SHARD)
    store.close()


def test_the_history_floor_keeps_every_block_a_state_sync_or_a_lagging_node_asks() -> None:
    ends = [8, 16, 24, 32, 40]
    assert history_target(30, ends) == 0  # fewer than four epochs ended: keep everything
    assert history_target(45, ends) == 0  # the oldest pivot (24) has 256 blocks before it
    ends = [n * 1000 for n in range(1, 11)]  # long epochs, as on mainnet
    assert history_target(10_500, ends) == 7001  # the last four epochs whole, and what came after
    ends = [n * 32 for n in range(1, 400)]  # localnet's 32-block epochs
    head = 399 * 32 + 5
    assert history_target(head, ends) == 397 * 32 - 255  # the oldest pivot and its 256 blocks
    assert history_target(head, [*ends, head + 1]) == history_target(head, ends)  # ends above the head


def test_expired_blocks_keep_only_what_the_schema_names(chain: Blockchain) -> None:
    _grow(chain, 7 * EPOCH + 3)
    db = chain.db
    head = chain.head.number
    ends = list(db.epoch_ends())
    assert ends == [EPOCH * k for k in range(1, 8)]
    assert db.epoch_last_block(2) == 3 * EPOCH
    before = {n: db.get_block_by_number(n) for n in range(head + 1)}
    receipts_before = {n: db.get_receipts(block.hash()) for n, block in before.items() if block}
    count_before = db.address_transaction_count(SENDER.address)
    progress = Pruner(db).run()
    floor = history_target(head, ends)
    assert floor == min(head - WINDOW + 1, ends[-4] + 1, ends[-3] - WINDOW + 1) > 1
    assert db.history_floor() == progress.history_floor == floor
    assert progress.expired == floor - 1
    for number in range(1, floor):
        block = before[number]
        assert block is not None
        sent = number % 5 == 0 and number % 4 != 0
        assert db.get_receipts(block.hash()) is None
        for tx in block.transactions:
            assert db.get_transaction_location(tx.hash()) is None
        if sent:  # the proof a destination shard may ask for again stays
            assert db.get_block_by_number(number) == block
            assert db.get_cx_receipts_proof(crash_writer.OTHER_SHARD, number) is not None
        elif number % EPOCH == 0:  # the epoch chain stays
            assert db.get_block_by_number(number) is None
            assert db.get_header_by_number(number) == block.header
            assert db.get_commit_sig(number) is not None
        else:
            assert db.get_header_by_number(number) is None
            assert db.get_block_by_number(number) is None
            assert db.get_commit_sig(number) is None
            assert db.get_block_by_hash(block.hash()) is None
    for number in range(floor, head + 1):
        block = before[number]
        assert block is not None and db.get_block_by_number(number) == block
        assert db.get_receipts(block.hash()) == receipts_before[number]
        for tx in block.transactions:
            assert db.get_transaction(tx.hash()) is not None
    assert db.get_block_by_number(0) == before[0]  # genesis stays whole
    # the address index lists the kept transactions only, and its count is still every transaction's
    assert db.address_transaction_count(SENDER.address) == count_before
    listed = db.address_transactions(SENDER.address, limit=1000)
    kept = [
        tx.hash()
        for n in range(floor, head + 1)
        for tx in before[n].transactions  # type: ignore[union-attr]
        if tx.sender() == SENDER.address
    ]
    assert listed == kept and kept
    received = db.address_transactions(RECIPIENT, direction=TxDirection.RECEIVED, limit=1000)
    assert all(db.get_transaction(h) is not None for h in received)
    # the chain goes on, and a second round expires what the head's progress allows, from where it was
    _grow(chain, 2 * EPOCH)
    Pruner(db).run()
    assert db.history_floor() == history_target(chain.head.number, list(db.epoch_ends())) > floor


def test_the_servers_announce_and_serve_what_they_hold(chain: Blockchain) -> None:
    _grow(chain, 7 * EPOCH + 3)
    Pruner(chain.db).run()
    floor = chain.db.history_floor()
    sync = ChainSyncSource(chain)
    assert sync.lowest_number() == floor
    assert sync.block_with_commit(floor) is not None
    assert sync.block_with_commit(floor - 1 if (floor - 1) % 5 else floor - 2) is None
    states = ChainStateSource(chain)
    for epoch in range(7):  # every epoch end still proves its epoch
        served = states.epoch_header(epoch)
        assert served is not None
        assert chain.db.get_header_by_number(EPOCH * (epoch + 1)).encode() == served[0]  # type: ignore[union-attr]
    assert states.epoch_header(7) is None  # not ended


def test_rpc_answers_null_for_expired_blocks_and_transactions(chain: Blockchain) -> None:
    _grow(chain, 7 * EPOCH + 3)
    old = chain.db.get_block_by_number(1)
    assert old is not None and old.transactions
    Pruner(chain.db).run()
    chain = Blockchain.open(chain.db, crash_writer.GENESIS, SHARD)  # as a restarted node
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(chain.state()))
    d = Dispatcher(RPCBackend(chain, pool))
    assert result(d, "eth_getBlockByNumber", "0x1", False) is None
    assert result(d, "eth_getBlockByNumber", hex(EPOCH), False) is None  # its header alone is kept
    assert result(d, "eth_getTransactionByHash", "0x" + old.transactions[0].hash().hex()) is None
    assert result(d, "eth_getTransactionReceipt", "0x" + old.transactions[0].hash().hex()) is None
    head = result(d, "eth_getBlockByNumber", "latest", True)
    assert int(head["number"], 16) == chain.head.number
    history = result(
        d, "hmyv2_getTransactionsHistory", {"address": "0x" + SENDER.address.hex(), "pageSize": 1000}
    )
    assert history["transactions"]
    assert result(d, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"}) == []
    assert result(d, "hmyv2_getBlocks", 1, chain.head.number, {"fullTx": True})
    assert result(d, "hmyv2_getBlockByNumber", EPOCH, {"fullTx": False}) is None


def test_an_interrupted_expiry_leaves_every_block_whole_or_expired(
    chain: Blockchain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _grow(chain, 7 * EPOCH + 3)
    db = chain.db
    blocks = {n: db.get_block_by_number(n) for n in range(chain.head.number + 1)}
    real = ChainDB._expire_block
    calls = []

    def failing(self: ChainDB, txn: object, number: int, first_kept: dict[tuple[int, bytes], int]) -> int:
        calls.append(number)
        if len(calls) == 5:
            raise OSError("killed in the middle of a write")
        return real(self, txn, number, first_kept)  # type: ignore[arg-type]

    monkeypatch.setattr(ChainDB, "_expire_block", failing)
    with pytest.raises(OSError):
        Pruner(db).run()
    assert db.history_floor() == 0  # the write that failed changed nothing
    assert all(db.get_block_by_number(n) == block for n, block in blocks.items())
    monkeypatch.setattr(ChainDB, "_expire_block", real)
    monkeypatch.setattr(chaindb, "EXPIRE_TRANSACTIONS", 4)
    Pruner(db).run()  # in many small writes this time
    assert db.history_floor() == history_target(chain.head.number, list(db.epoch_ends()))
    assert db.kv.get(schema.HISTORY_KEY) is not None


def test_a_database_from_before_the_epoch_index_gets_it_at_open(tmp_path: Path) -> None:
    """An older build wrote no ``E`` entries: the pruner would keep no epoch end's state and never expire
    history. :meth:`ChainDB.index_epoch_ends` (called where a node or ``db prune`` opens a database) finds
    them once by binary search over the headers' epochs."""
    with LMDBStore(tmp_path / "chain") as store:
        grown = Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD)
        assert grown.db.index_epoch_ends() == 0  # a fresh database: complete, marked so
        history_writer.grow(grown, 5 * history_writer.EPOCH + 3)
        ends = list(grown.db.epoch_ends())
        assert ends == [8, 16, 24, 32, 40]
        with store.write() as txn:  # as an older build left it
            for key, _ in store.iterate(schema.EPOCH_LAST):
                txn.delete(key)
            txn.delete(schema.EPOCH_INDEX_KEY)
        assert list(grown.db.epoch_ends()) == []
        assert grown.db.index_epoch_ends() == len(ends)
        assert list(grown.db.epoch_ends()) == ends
        assert grown.db.index_epoch_ends() == 0  # once
        with store.write() as txn:  # an epoch end the build after wrote itself is kept, the rest found
            for key, _ in store.iterate(schema.EPOCH_LAST):
                if key != schema.epoch_last_key(4):
                    txn.delete(key)
            txn.delete(schema.EPOCH_INDEX_KEY)
        assert grown.db.index_epoch_ends() == len(ends) - 1 and list(grown.db.epoch_ends()) == ends


def test_expiry_looks_for_address_entries_only_while_some_are_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node that never kept the index recovers no sender to expire a block; one that stopped keeping it
    still deletes the entries written before, then stops looking once they are gone."""
    monkeypatch.setattr(prune, "HISTORY_BLOCKS", WINDOW)
    monkeypatch.setattr(prune, "KEEP_RECENT", 16)
    recovered: list[bytes] = []
    real_entries = chaindb._address_entries

    def counting(*args: object) -> list[tuple[int, bytes, bytes]]:
        entries = real_entries(*args)  # type: ignore[arg-type]
        recovered.extend(tx_hash for _, _, tx_hash in entries)
        return entries

    monkeypatch.setattr(chaindb, "_address_entries", counting)
    never = LMDBStore(tmp_path / "never")
    chain = Blockchain.open(ChainDB(never, tx_history=False), crash_writer.GENESIS, SHARD)
    _grow(chain, 7 * EPOCH + 3)
    recovered.clear()
    assert Pruner(chain.db).run().expired > 0
    assert recovered == []
    never.close()

    stopped = LMDBStore(tmp_path / "stopped")
    chain = Blockchain.open(ChainDB(stopped), crash_writer.GENESIS, SHARD)
    _grow(chain, 7 * EPOCH + 3)
    assert next(iter(stopped.iterate(schema.ADDRESS_TX)), None) is not None
    switched_at = chain.head.number
    chain = Blockchain.open(ChainDB(stopped, tx_history=False), crash_writer.GENESIS, SHARD)
    chain.db.record_tx_history()
    Pruner(chain.db).run()
    assert recovered  # the expired blocks' stored entries were looked for
    stored = [value for _, value in stopped.iterate(schema.ADDRESS_TX)]
    assert stored and all(chain.db.get_transaction(tx_hash) is not None for tx_hash in stored)
    _grow(chain, switched_at)  # every block that had entries expires: none is left, and none is looked for
    Pruner(chain.db).run()
    assert chain.db.history_floor() > switched_at
    assert next(iter(stopped.iterate(schema.ADDRESS_TX)), None) is None
    recovered.clear()
    _grow(chain, EPOCH)
    Pruner(chain.db).run()
    assert recovered == []
    stopped.close()
