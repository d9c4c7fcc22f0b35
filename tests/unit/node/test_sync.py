"""Block sync's loop (:mod:`harmony.node.sync`) over real libp2p hosts, a real driver and a real LMDB chain.

``ChainSyncSource`` serves what the chain database holds; ``Syncer.round`` asks the peers' heads and fetches
through the consensus core ten blocks at a time when a little behind, or runs a fast sync session when far
behind; a peer that sends a block without a valid commit quorum is penalized and nothing after it is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from harmony.chain.genesis import dev_bls_key
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final
from harmony.node.sync import FAST_MIN, ChainSyncSource, Syncer, _either
from harmony.p2p import sync_protocol as sp
from harmony.p2p.topics import sync_protocol_id
from harmony.storage import ChainDB, LMDBStore
from tests.unit.node.test_consensus_driver import GENESIS, SHARD, Net
from tests.unit.node.test_fast_sync import Liar
from tests.unit.p2p.harness import config, hosts, run, wait_until

PID = sync_protocol_id("localnet", SHARD)
SIGNERS = [dev_bls_key(SHARD, i) for i in range(3)]


def extend(chain: Blockchain, blocks: int) -> None:
    for _ in range(blocks):
        extend_final(chain, SIGNERS)


def test_the_source_serves_what_the_lmdb_chain_holds_and_nothing_else(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "chain") as store:
        chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
        extend(chain, 3)
    with LMDBStore(tmp_path / "chain") as store:  # reopened: what is durable
        chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
        source = ChainSyncSource(chain)
        assert source.head_number() == 3
        for number in (1, 3):
            block = chain.db.get_block_by_number(number)
            assert block is not None and source.canonical_hash(number) == block.hash()
            served = source.block_with_commit(number)
            assert served is not None
            assert served[0] == block.encode()
            assert (served[1], served[2]) == chain.db.get_commit_sig(number)
        assert source.block_with_commit(0) is None  # genesis has no commit aggregate
        assert source.block_with_commit(4) is None and source.canonical_hash(4) is None


@pytest.fixture
def net_with_lmdb_client(tmp_path: Path) -> Iterator[tuple[Net, Blockchain]]:
    """Four drivers; the fourth's chain is on LMDB at genesis, the first's is the one served."""
    net = Net()
    with LMDBStore(tmp_path / "client") as store:
        net.chains[3] = Blockchain.open(ChainDB(store), GENESIS, SHARD)
        yield net, net.chains[3]


def test_a_round_fetches_a_few_blocks_through_the_core_then_fast_syncs_a_long_gap(
    tmp_path: Path, net_with_lmdb_client: tuple[Net, Blockchain]
) -> None:
    net, chain = net_with_lmdb_client
    served = net.chains[0]
    driver = net.make(3)

    async def body() -> None:
        async with hosts(config(tmp_path, "server")) as [server]:
            sp.serve_sync(server, PID, ChainSyncSource(served))
            async with hosts(config(tmp_path, "client", bootnodes=tuple(server.listen_addrs()))) as [client]:
                await wait_until(lambda: client.is_connected(server.peer_id))
                caught_up: list[int] = []
                syncer = Syncer(client, PID, chain, driver, on_caught_up=caught_up.append)
                assert await syncer.round() == 0  # nobody ahead
                assert not syncer.status.syncing and syncer.status.peer_heads == {server.peer_id: 0}

                extend(served, 5)  # a few behind: fetched through the core
                assert await syncer.round() == 5
                assert chain.head.hash() == served.head.hash()
                assert (
                    driver.counters["blocks_committed"] == 5 and driver.core.height == 6
                )  # the core committed them

                extend(served, FAST_MIN + 5)  # far behind: a fast sync session, adopted by the driver
                assert await syncer.round() == FAST_MIN + 5
                assert chain.head.hash() == served.head.hash() and driver.core.height == FAST_MIN + 11
                assert driver.counters["blocks_synced"] == FAST_MIN + 5  # adopted, not committed again
                assert caught_up == [FAST_MIN + 5]  # the fast sync caught up (the compactor hears it)
                status = syncer.status
                assert (status.syncing, status.current, status.highest) == (
                    False,
                    FAST_MIN + 10,
                    FAST_MIN + 10,
                )
                assert client.score(server.peer_id) == 0

                syncer.heard_head("other", FAST_MIN + 10)  # not ahead: no wake-up
                assert not syncer.wake.is_set() and status.peer_heads["other"] == FAST_MIN + 10
                syncer.heard_head("other", FAST_MIN + 11)
                assert syncer.wake.is_set()

    run(body)
    for number in (1, 6, FAST_MIN + 10):  # every block durable with its commit aggregate
        assert chain.db.get_commit_sig(number) == served.db.get_commit_sig(number)


def test_a_block_without_a_commit_quorum_stops_the_round_and_penalizes_the_peer(
    tmp_path: Path, net_with_lmdb_client: tuple[Net, Blockchain]
) -> None:
    net, chain = net_with_lmdb_client
    extend(net.chains[0], 14)
    liar = Liar(net.chains[0])
    liar.mode = "forger"  # blocks from 12 on carry the commit aggregate of the block before
    driver = net.make(3)

    async def body() -> None:
        async with hosts(config(tmp_path, "liar")) as [server]:
            liar.install(server)
            async with hosts(config(tmp_path, "client", bootnodes=tuple(server.listen_addrs()))) as [client]:
                await wait_until(lambda: client.is_connected(server.peer_id))
                syncer = Syncer(client, PID, chain, driver)
                assert await syncer.round() == 11
                assert chain.head.number == 11 and client.score(server.peer_id) > 0
                status = syncer.status  # where the round left off
                assert (status.syncing, status.current, status.highest) == (False, 11, 14)

    run(body)
    assert chain.db.get_block_by_number(12) is None


def test_a_round_that_stored_blocks_is_followed_by_another_at_once(
    tmp_path: Path, net_with_lmdb_client: tuple[Net, Blockchain]
) -> None:
    """The shard moves on while a round runs: the loop asks again at once, not an interval later (10
    minutes here), until a round finds nobody ahead."""
    net, chain = net_with_lmdb_client
    served = net.chains[0]
    extend(served, 5)
    driver = net.make(3)

    class Counted(Syncer):
        rounds: list[int]

        async def round(self) -> int:
            stored = await super().round()
            self.rounds.append(stored)
            if len(self.rounds) == 1:
                extend(served, 3)  # finalized meanwhile
            return stored

    async def body() -> None:
        async with hosts(config(tmp_path, "server")) as [server]:
            sp.serve_sync(server, PID, ChainSyncSource(served))
            async with hosts(config(tmp_path, "client", bootnodes=tuple(server.listen_addrs()))) as [client]:
                await wait_until(lambda: client.is_connected(server.peer_id))
                syncer = Counted(client, PID, chain, driver, interval=600.0)
                syncer.rounds = []
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(syncer.run)
                    syncer.wake.set()
                    await wait_until(lambda: len(syncer.rounds) >= 3, what="three rounds")
                    nursery.cancel_scope.cancel()
                assert syncer.rounds[:3] == [5, 3, 0]
                assert chain.head.hash() == served.head.hash()

    run(body)


def test_a_node_still_connecting_tries_again_soon(
    tmp_path: Path, net_with_lmdb_client: tuple[Net, Blockchain]
) -> None:
    """Started before any peer is connected (a restart), the loop does not wait its interval (10 minutes
    here) for the first round that can reach a peer."""
    net, chain = net_with_lmdb_client
    served = net.chains[0]
    extend(served, 5)
    driver = net.make(3)

    async def body() -> None:
        async with (
            hosts(config(tmp_path, "server")) as [server],
            hosts(config(tmp_path, "client")) as [client],
        ):
            sp.serve_sync(server, PID, ChainSyncSource(served))
            syncer = Syncer(client, PID, chain, driver, interval=600.0)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(syncer.run)
                await trio.sleep(0.5)  # a round or two with nobody to ask
                await client.connect(server.listen_addrs()[0])
                await wait_until(lambda: chain.head.number == 5, what="the blocks synced")
                nursery.cancel_scope.cancel()

    run(body)


def test_a_peer_of_another_shard_is_asked_once(
    tmp_path: Path, net_with_lmdb_client: tuple[Net, Blockchain]
) -> None:
    """A connected peer that does not serve this shard's sync protocol is not asked again each round."""
    net, chain = net_with_lmdb_client
    driver = net.make(3)

    async def body() -> None:
        async with (
            hosts(config(tmp_path, "other")) as [other],
            hosts(config(tmp_path, "client", bootnodes=tuple(other.listen_addrs()))) as [client],
        ):
            await wait_until(lambda: client.is_connected(other.peer_id))
            syncer = Syncer(client, PID, chain, driver)
            assert await syncer.round() == 0
            assert syncer._other_shard == {other.peer_id}

    run(body)


def test_either_returns_when_the_second_event_is_set() -> None:
    async def body() -> None:
        first, second = trio.Event(), trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_either, first, second)
            await trio.sleep(0)
            second.set()
        assert not first.is_set()

    run(body)
