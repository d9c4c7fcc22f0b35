"""State pruning on a real LMDB chain (harmony.storage.prune): the node table stops growing while an archive
keeps growing, every kept state stays whole even with blocks written in the middle of a round, a pruned
state answers the RPC's typed error. History expiry: test_history.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.state.reach import mark_state
from harmony.state.trie import MissingTrieNode
from harmony.storage import prune, schema
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.prune import KEEP_RECENT, Pruner, kept_numbers
from tests.e2e import crash_writer
from tests.unit.rpc.test_dispatch import error, result


def _grow(chain: Blockchain, blocks: int) -> None:
    for _ in range(blocks):
        block = crash_writer.produce_block(chain)
        chain.import_block(block, commit_sig=crash_writer.commit_sig(block.header.number))


def _node_count(db: ChainDB) -> int:
    return sum(1 for _ in db.kv.iterate(schema.STATE_NODE))


def _assert_whole(db: ChainDB, numbers: list[int]) -> None:
    """Every state named is complete: the walk over it finds every node and code blob."""
    nodes = db.state_nodes(verify=True)
    for number in numbers:
        header = db.get_header_by_number(number)
        assert header is not None
        for _ in mark_state(nodes, header.root, set()):
            pass


RECENT = 32
"""The kept window in these tests (the node keeps 128): the same rule on shorter chains."""


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Blockchain]:
    monkeypatch.setattr(prune, "KEEP_RECENT", RECENT)
    store = LMDBStore(tmp_path / "chain")
    yield Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD)
    store.close()


def _live(db: ChainDB) -> int:
    """Nodes and code of the head state alone."""
    head = db.head_header()
    assert head is not None
    marked: set[bytes] = set()
    for _ in mark_state(db.state_nodes(), head.root, marked):
        pass
    return len(marked)


def test_pruned_node_table_stays_flat_while_the_archive_grows(chain: Blockchain) -> None:
    """Beyond the head state itself (which grows while the transfers create accounts), a pruned table holds
    a bounded window of older nodes; an archive holds every node ever written."""
    db = chain.db
    archive = {key[1:] for key, _ in db.kv.iterate(schema.STATE_NODE)}
    pruned_extra, archive_extra = [], []
    with db.watch_state_nodes() as written:  # every node ever written: what an archive node holds
        _grow(chain, RECENT)
        for _ in range(5):
            _grow(chain, RECENT // 2)
            outcome = Pruner(db).run()
            assert outcome.deleted > 0
            live = _live(db)
            pruned_extra.append(_node_count(db) - live)
            archive_extra.append(len(archive | written) - live)
    head = chain.head.number
    assert head == RECENT + 5 * RECENT // 2
    assert archive_extra[-1] > archive_extra[0] * 1.8, archive_extra
    assert max(pruned_extra[1:]) <= pruned_extra[0] * 1.25, pruned_extra
    assert pruned_extra[-1] < archive_extra[-1] * 0.5, (pruned_extra, archive_extra)
    _assert_whole(db, kept_numbers(head, []))
    with pytest.raises(MissingTrieNode):  # an old state is gone
        _assert_whole(db, [head - RECENT - 10])


def test_blocks_written_during_a_round_keep_every_state_whole(
    chain: Blockchain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prune, "SWEEP_BATCH", 8)  # many sweep slices, a block between each
    _grow(chain, RECENT + 20)
    start = chain.head.number
    steps = 0
    for progress in Pruner(chain.db).round():
        if progress.phase != "done" and steps < 40:
            _grow(chain, 1)
            steps += 1
    assert steps == 40
    head = chain.head.number
    # the states kept at the round's start, and every state written since, are whole
    _assert_whole(chain.db, list(range(start - RECENT + 1, head + 1)))
    # and the next round leaves exactly the kept set, still whole
    Pruner(chain.db).run()
    _assert_whole(chain.db, kept_numbers(head, []))
    _grow(chain, 2)


def test_a_pruned_state_answers_a_typed_error_naming_the_archive_node(chain: Blockchain) -> None:
    _grow(chain, RECENT + 20)
    Pruner(chain.db).run()
    chain = Blockchain.open(chain.db, crash_writer.GENESIS, crash_writer.SHARD)  # as a restarted node
    pool = TxPool(LOCALNET, crash_writer.SHARD, WorldStateReader(chain.state()))
    d = Dispatcher(RPCBackend(chain, pool))
    sender = "0x" + crash_writer.KEYS[0].address.hex()
    assert int(result(d, "eth_getBalance", sender, "latest"), 16) > 0
    assert int(result(d, "eth_getBalance", sender, "0x0"), 16) > 0  # genesis is kept
    for method, params in (
        ("eth_getBalance", [sender, "0x5"]),
        ("hmyv2_getBalanceByBlockNumber", [sender, 5]),
        ("eth_getProof", [sender, [], "0x5"]),
    ):
        refused = error(d, method, *params)
        assert refused["code"] == -32000, refused
        assert "pruned" in refused["message"] and "--archive" in refused["message"], refused


def test_kept_states_are_genesis_the_epoch_ends_and_the_recent_blocks() -> None:
    assert kept_numbers(500, [4, 7, 11, 499]) == [0, 4, 7, 11, *range(500 - KEEP_RECENT + 1, 501)]
    assert kept_numbers(3, []) == [0, 1, 2, 3]
