"""Stored blocks made durable on a worker thread (``[storage] background_commits``): every read sees a block
at once, LMDB gets whole blocks in order, and stopping commits the rest; real LMDB, real blocks, with the
pruning loop running beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from harmony.node.background_commits import BackgroundCommits
from harmony.node.blockchain import Blockchain
from harmony.node.config import ConfigError, parse_config
from harmony.node.pruning import prune_forever
from harmony.state.reach import mark_state
from harmony.storage import prune
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.prune import kept_numbers
from tests.e2e import crash_writer


def test_the_switch_is_on_unless_the_file_turns_it_off(tmp_path: Path) -> None:
    assert parse_config({}, tmp_path).background_commits is False
    assert parse_config({"storage": {"background_commits": True}}, tmp_path).background_commits is True
    with pytest.raises(ConfigError, match=r"storage\.background_commits"):
        parse_config({"storage": {"background_commits": "no"}}, tmp_path)


def test_blocks_are_read_at_once_and_reach_lmdb_whole_while_pruning_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prune, "KEEP_RECENT", 8)
    store = LMDBStore(tmp_path / "chain")
    chain = Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD)
    commits = BackgroundCommits(chain.db, store)
    durable_heads: list[int] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(commits.run)
            assert chain.db.kv is commits.stage
            nursery.start_soon(lambda: prune_forever(chain.db, every=4, interval=0.001, share=1.0))
            for number in range(1, 41):
                block = crash_writer.produce_block(chain)  # executes on the state the last block left
                chain.import_block(block, commit_sig=crash_writer.commit_sig(block.header.number))
                assert chain.db.head_number() == number  # seen at once, durable or not
                await trio.sleep(0.002)  # the node's loop: other tasks run between blocks
                base_head = ChainDB(store).head_number()  # what LMDB holds: whole blocks, in order
                assert base_head is not None and base_head <= number
                durable_heads.append(base_head)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert chain.db.kv is store  # the stage is gone and what it held committed
    assert commits.commits > 0 and commits.fallbacks == 0
    assert durable_heads == sorted(durable_heads)
    store.close()
    with LMDBStore(tmp_path / "chain") as reopened:
        db = ChainDB(reopened)
        head = db.head_number()
        assert head == 40
        nodes = db.state_nodes(verify=True)
        for number in kept_numbers(head, []):
            header = db.get_header_by_number(number)
            assert header is not None and (number == 0 or db.get_commit_sig(number) is not None)
            for _ in mark_state(nodes, header.root, set()):
                pass


def test_a_commit_that_fails_off_the_loop_is_made_on_the_loop(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "chain", map_size=64 * 1024)  # the first block outgrows it
    chain = Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD)
    commits = BackgroundCommits(chain.db, store)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(commits.run)
            for _ in range(3):
                block = crash_writer.produce_block(chain)
                chain.import_block(block, commit_sig=crash_writer.commit_sig(block.header.number))
                await commits.commit_staged()
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert commits.fallbacks >= 1  # the worker may not grow the map; the loop did
    store.close()
    with LMDBStore(tmp_path / "chain") as reopened:
        assert ChainDB(reopened).head_number() == 3
