"""The node's topic tasks: each shard-topic message to its reader by kind, garbage scored down, the global
topic's queue and reader (a real chain, pool, driver, relay, services, and a real host under the syncer)."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest
import trio

from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.consensus.api import MemoryLogStore, MemorySignerStore
from harmony.node.config import NodeConfig
from harmony.node.consensus_env import TopicTransport
from harmony.node.consensus_ledger import node_driver
from harmony.node.crossshard import KIND_STAKING_TX
from harmony.node.crossshard import pack as pack_global
from harmony.node.runtime import Node
from harmony.node.services import ShardServices
from harmony.node.sync import Syncer
from harmony.node.topic_tasks import GlobalOutbox, read_global_topic, read_shard_topic
from harmony.node.tx_relay import TxRelay
from harmony.node.wire import KIND_HEAD, pack_head, pack_transactions
from harmony.p2p.host import GossipMessage
from harmony.p2p.topics import sync_protocol_id
from harmony.types.transaction import Transaction
from tests.unit.node.test_tx_relay import Penalties
from tests.unit.p2p.harness import config, hosts, run

GENESIS = make_localnet_genesis(timestamp=1_700_000_000)


async def _feed(messages: list[tuple[str, bytes]]) -> trio.MemoryReceiveChannel[GossipMessage]:
    send, receive = trio.open_memory_channel[GossipMessage](len(messages))
    for peer, data in messages:
        await send.send(GossipMessage("topic", peer, data))
    await send.aclose()
    return receive


def test_shard_topic_messages_go_to_their_readers(tmp_path: Path) -> None:
    node = Node(NodeConfig(data_dir=tmp_path / "node", shard_id=0), genesis=GENESIS)
    tx = Transaction(0, 2 * 10**9, 21_000, 0, 0, b"\x01" * 20, 1, b"").sign(
        dev_account_key(0), LOCALNET.chain_id
    )
    driver = node_driver(
        node.chain,
        node.pool,
        node.consensus_config(),
        (MemorySignerStore(), MemoryLogStore()),
        TopicTransport(Counter()),
    )
    relay = TxRelay(node.pool)
    penalties = Penalties()

    async def main() -> None:
        async with hosts(config(tmp_path, "a")) as [host]:
            syncer = Syncer(host, sync_protocol_id(LOCALNET.name, 0), node.chain, driver)
            inbox = await _feed(
                [
                    ("garbage", b""),  # no kind byte
                    ("unknown", b"\x09abc"),  # a kind no node sends
                    ("teller", pack_transactions([tx.encode()])),
                    ("ahead", pack_head(7, b"\x11" * 32)),
                    ("short", bytes([KIND_HEAD]) + b"\x00\x01"),
                ]
            )
            await read_shard_topic(penalties, inbox, driver=driver, relay=relay, syncer=syncer, coded=None)
            assert syncer.status.peer_heads == {"ahead": 7} and syncer.wake.is_set()

    try:
        run(main)
        assert node.pool.stats() == (1, 0)
        assert [(peer, weight) for peer, _, weight in penalties.given] == [
            ("garbage", 1),
            ("unknown", 1),
            ("short", 1),
        ]
    finally:
        node.close()


def test_the_global_outbox_drops_when_full(caplog: pytest.LogCaptureFixture) -> None:
    outbox = GlobalOutbox(size=2)
    with caplog.at_level(logging.WARNING, logger="harmony.node"):
        for data in (b"a", b"b", b"c"):
            outbox.send(data)
    assert [outbox.outbox.receive_nowait() for _ in range(2)] == [b"a", b"b"]
    assert "global topic outbox full" in caplog.text


def test_global_forgers_are_penalized_and_the_rest_handled(tmp_path: Path) -> None:
    node = Node(NodeConfig(data_dir=tmp_path, shard_id=1), genesis=GENESIS)
    try:
        services = ShardServices(node.chain, publish=lambda data: None)
        penalties = Penalties()

        async def main() -> None:
            inbox = await _feed(
                [
                    ("forger", b"\x01\xc0"),  # a receipts proof that does not decode
                    ("empty", b""),
                    ("staker", pack_global(KIND_STAKING_TX, b"\xc0")),  # shard 1 has no staking pool: ignored
                ]
            )
            await read_global_topic(penalties, inbox, services)

        trio.run(main)
        assert [(peer, weight) for peer, _, weight in penalties.given] == [("forger", 5), ("empty", 5)]
        assert all(reason.startswith("global: ") for _, reason, _ in penalties.given)
    finally:
        node.close()
