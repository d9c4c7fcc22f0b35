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
from harmony.node.background_commits import BackgroundCommits
from harmony.node.blockchain import Blockchain
from harmony.node.config import ConfigError, parse_config
from harmony.node.pruning import Compactor, prune_forever
from harmony.state.reach import mark_state
from harmony.storage import compaction, lmdb_store, prune, schema
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import Compaction, LMDBStore
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


def test_no_state_round_before_a_state_can_leave_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to head KEEP_RECENT every state is kept: a round then would mark every node and delete none."""
    heads = iter([64, 100, prune.KEEP_RECENT, prune.KEEP_RECENT + 1])
    rounds: list[int] = []

    class Pruner:
        def __init__(self, db: object, history: bool) -> None:
            pass

        def round(self) -> Iterator[prune.PruneProgress]:
            rounds.append(current)
            yield prune.PruneProgress(head=current)

    class Head:
        def head_number(self) -> int:
            nonlocal current
            current = next(heads, current)
            return current

    current = 0
    monkeypatch.setattr(pruning, "Pruner", Pruner)

    async def main() -> None:
        with trio.move_on_after(10):
            await prune_forever(Head(), every=4, interval=1.0, history=False)  # type: ignore[arg-type]

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert rounds == [prune.KEEP_RECENT + 1]


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


def test_the_loop_compacts_while_blocks_arrive_and_commit_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compactions between rounds (here whenever a round ends) while the node's background commits write
    blocks from a worker thread: every block and every kept state is there after."""
    monkeypatch.setattr(prune, "KEEP_RECENT", 8)
    monkeypatch.setattr(compaction, "COMPACT_RATIO", 1.0)
    monkeypatch.setattr(compaction, "COMPACT_MIN_FREE", 0)
    store = LMDBStore(tmp_path / "chain")
    chain = Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD)
    compactions: list[int] = []
    real = LMDBStore.compact

    def counted(self: LMDBStore, on_progress: object = None) -> Compaction:
        done = real(self)
        compactions.append(done.entries)
        return done

    monkeypatch.setattr(LMDBStore, "compact", counted)
    commits = BackgroundCommits(chain.db, store)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(commits.run)
            nursery.start_soon(
                lambda: prune_forever(
                    chain.db, every=4, interval=0.001, share=1.0, compactor=Compactor(store, share=1.0)
                )
            )
            for _ in range(40):
                block = crash_writer.produce_block(chain)
                chain.import_block(block, commit_sig=crash_writer.commit_sig(block.header.number))
                await trio.sleep(0.002)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert len(compactions) >= 3 and commits.commits > 0
    store.close()
    with LMDBStore(tmp_path / "chain") as reopened:
        db = ChainDB(reopened)
        assert db.head_number() == 40
        nodes = db.state_nodes(verify=True)
        for number in kept_numbers(40, []):
            header = db.get_header_by_number(number)
            assert header is not None and db.get_block_by_number(number) is not None
            for _ in mark_state(nodes, header.root, set()):
                pass


def test_the_compactor_compacts_after_a_long_sync_and_minds_its_share_and_the_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = LMDBStore(tmp_path / "chain")
    with store.write() as txn:
        for i in range(3_000):
            txn.put(b"t" + i.to_bytes(4, "big") * 8, b"x" * 300)
    with store.write() as txn:
        for i in range(0, 3_000, 2):
            txn.delete(b"t" + i.to_bytes(4, "big") * 8)
    compactor = Compactor(store, share=0.5)
    clock = trio.testing.MockClock(autojump_threshold=0)
    done: list[object] = []

    async def main() -> None:
        assert compactor.after_round() is None  # a few MB: not wasteful
        compactor.synced(pruning.SYNC_COMPACT_BLOCKS - 1)
        assert compactor.after_round() is None  # a short sync: no reason
        compactor.synced(pruning.SYNC_COMPACT_BLOCKS)
        first = compactor.after_round()
        assert first is not None and first.after < first.before and not compactor.after_sync
        assert compactor.due >= trio.current_time() + first.seconds  # share 0.5: pause as long as it took
        compactor.synced(pruning.SYNC_COMPACT_BLOCKS)
        if first.seconds > 0:
            assert compactor.after_round() is None  # within the pause
        await trio.sleep_until(compactor.due)
        monkeypatch.setattr(pruning, "ONLINE_COMPACT_MAX", 1024)
        assert compactor.after_round() is None  # too large to compact while running: told once
        assert compactor.after_round() is None
        monkeypatch.setattr(pruning, "ONLINE_COMPACT_MAX", 1 << 30)
        done.append(compactor.after_round())

    with caplog.at_level("WARNING", logger="harmony.node.pruning"):
        trio.run(main, clock=clock)
    assert done[0] is not None and len(compactor.done) == 2
    assert [r.message.count("harmony db compact") for r in caplog.records] == [1]
    store.close()


def test_a_compaction_that_fails_leaves_the_node_running_and_is_tried_again_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = LMDBStore(tmp_path / "chain")
    with store.write() as txn:
        txn.put(b"k", b"v")

    def disk_full(*args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lmdb_store, "_copy_in_key_order", disk_full)
    compactor = Compactor(store)
    compactor.synced(pruning.SYNC_COMPACT_BLOCKS)

    async def main() -> None:
        with caplog.at_level("WARNING", logger="harmony.node.pruning"):
            assert compactor.after_round() is None
        assert compactor.due >= trio.current_time() + pruning.COMPACT_RETRY_S - 1
        assert compactor.after_round() is None  # not before the retry

    trio.run(main, clock=trio.testing.MockClock())
    assert "No space left" in caplog.text and "trying again" in caplog.text
    assert store.get(b"k") == b"v" and not store.closed
    store.close()
