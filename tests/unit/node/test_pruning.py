"""The running node's pruning: ``[storage] archive`` / ``--archive``, and the loop that prunes a chain a slice
at a time on trio while blocks keep arriving (the state stays whole and old states go)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from harmony.cli.node import config_from_args, register
from harmony.node import pruning
from harmony.node.blockchain import Blockchain
from harmony.node.config import ConfigError, parse_config
from harmony.node.pruning import prune_forever
from harmony.state.reach import mark_state
from harmony.storage import prune, schema
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.prune import kept_numbers
from tests.e2e import crash_writer, history_writer


def test_archive_from_the_file_and_the_flag(tmp_path: Path) -> None:
    assert parse_config({}, tmp_path).archive is False
    assert parse_config({"storage": {"archive": True}}, tmp_path).archive is True
    with pytest.raises(ConfigError, match=r"storage\.archive"):
        parse_config({"storage": {"archive": "yes"}}, tmp_path)
    with pytest.raises(ConfigError, match=r"storage\.keep"):
        parse_config({"storage": {"keep": 5}}, tmp_path)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert config_from_args(parser.parse_args(["node", "--archive"])).archive is True
    assert config_from_args(parser.parse_args(["node"])).archive is False


def test_the_loop_prunes_while_blocks_arrive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prune, "KEEP_RECENT", 8)
    store = LMDBStore(tmp_path / "chain")
    chain = Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: prune_forever(chain.db, every=4, interval=0.001, share=1.0))
            for _ in range(40):
                block = crash_writer.produce_block(chain)
                chain.import_block(block, commit_sig=crash_writer.commit_sig(block.header.number))
                await trio.sleep(0.002)  # the node's loop: other tasks run between blocks
            nursery.cancel_scope.cancel()

    trio.run(main)
    db = chain.db
    head = db.head_number()
    assert head == 40
    nodes = db.state_nodes(verify=True)
    for number in kept_numbers(head, []):
        header = db.get_header_by_number(number)
        assert header is not None
        for _ in mark_state(nodes, header.root, set()):
            pass
    old = db.get_header_by_number(10)
    assert old is not None and store.get(schema.state_node_key(old.root)) is None
    store.close()


def test_rounds_take_at_most_their_share_of_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # a node fast-syncing: the head moves far between two looks, and each round works 2 s (slices of 0.5 s
    # on a fake clock); with a share of 0.25 the next round starts no sooner than 6 s after a round ends
    clock = trio.testing.MockClock(autojump_threshold=0)
    work = [0.0]
    monkeypatch.setattr("harmony.node.pruning.perf_counter", lambda: work[0])
    started: list[float] = []
    ended: list[float] = []

    class Pruner:
        def __init__(self, db: object, history: bool) -> None:
            assert not history  # history is expired apart, every time the head moved enough

        def expire(self) -> Iterator[prune.PruneProgress]:
            yield prune.PruneProgress()

        def round(self) -> Iterator[prune.PruneProgress]:
            started.append(trio.current_time())
            progress = prune.PruneProgress()
            for _ in range(4):
                work[0] += 0.5
                yield progress
            ended.append(trio.current_time())

    class Head:
        def head_number(self) -> int:
            return int(trio.current_time() * 1000)  # a thousand blocks a second

    monkeypatch.setattr(pruning, "Pruner", Pruner)

    async def main() -> None:
        with trio.move_on_after(60):
            await prune_forever(Head(), every=4, interval=1.0, share=0.25)  # type: ignore[arg-type]

    trio.run(main, clock=clock)
    assert len(started) >= 5
    gaps = [b - a for a, b in zip(ended, started[1:], strict=False)]
    assert all(gap >= 6.0 for gap in gaps), gaps
    assert all(gap < 6.0 + 1.0 + 1e-6 for gap in gaps), gaps  # and no later than the next look after it


def test_the_loop_expires_old_blocks_while_blocks_arrive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prune, "HISTORY_BLOCKS", history_writer.WINDOW)
    monkeypatch.setattr(prune, "KEEP_RECENT", 8)
    store = LMDBStore(tmp_path / "chain")
    chain = Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            # share 0: a state round only once; history expiry is not bound by the share
            nursery.start_soon(lambda: prune_forever(chain.db, every=4, interval=0.001, share=1e-9))
            for _ in range(80):
                history_writer.grow(chain, 1)
                await trio.sleep(0.002)
            await trio.sleep(0.05)
            nursery.cancel_scope.cancel()

    trio.run(main)
    db = chain.db
    head = db.head_number()
    assert head == 80
    target = prune.history_target(head, list(db.epoch_ends()))
    assert target > 1 and target - 4 <= db.history_floor() <= target
    store.close()
