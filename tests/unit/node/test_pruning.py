"""The running node's pruning: ``[storage] archive`` / ``--archive``, and the loop that prunes a chain a slice
at a time on trio while blocks keep arriving (the state stays whole and old states go)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import trio

from harmony.cli.node import config_from_args, register
from harmony.node.blockchain import Blockchain
from harmony.node.config import ConfigError, parse_config
from harmony.node.pruning import prune_forever
from harmony.state.reach import mark_state
from harmony.storage import prune, schema
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.prune import kept_numbers
from tests.e2e import crash_writer


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
            nursery.start_soon(lambda: prune_forever(chain.db, every=4, interval=0.001))
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
