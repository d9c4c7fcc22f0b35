"""A fenced shard's sync between real libp2p hosts (issue 21): an outside peer is refused and scored down,
a forged or copied ticket is refused, a committee member's ticket opens the sync to its own peer only; the
fenced gossip topic scores down a peer never admitted, not a member whose ticket lapsed."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from harmony.chain.fences import Fence, Fences
from harmony.chain.genesis import dev_bls_key
from harmony.chain.params import LOCALNET
from harmony.p2p import sync_protocol as sp
from harmony.p2p.errors import P2PRemoteError
from harmony.p2p.fence_gate import REFUSED_PENALTY, FenceGate, peer_id_bytes, present_ticket
from harmony.p2p.host import P2PHost, open_host
from harmony.p2p.topics import fence_protocol_id, shard_topic, sync_protocol_id
from harmony.types.fence_ticket import FenceTicket
from harmony.types.shard_state import Committee, Slot
from tests.unit.p2p.harness import config, hosts, run, wait_until
from tests.unit.p2p.test_sync_protocol import DictSource

SYNC, FENCE = sync_protocol_id("localnet", 1), fence_protocol_id("localnet", 1)
CHAIN = LOCALNET.chain_id
FENCES = Fences((Fence("EU", (b"\xaa" * 20,)),), (None, "EU"))
MEMBER, OUTSIDER = dev_bls_key(1, 0), dev_bls_key(0, 0)
COMMITTEE = Committee(1, (Slot(b"\x01" * 20, MEMBER.public_key.to_bytes()),))


def _gate(server: P2PHost, epoch: list[int]) -> FenceGate:
    """The fence's gate on ``server``: shard 1's committee known at epoch 5, the epoch read from ``epoch``."""
    return FenceGate(
        server,
        FENCE,
        fences=FENCES,
        committee_for=lambda shard, e: COMMITTEE if (shard, e) == (1, 5) else None,
        current_epoch=lambda: epoch[0],
        chain_id=CHAIN,
    )


def test_only_a_ticketed_peer_syncs_a_fenced_shard(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "server")) as server,
            hosts(config(tmp_path, "client", bootnodes=tuple(server.listen_addrs()))) as [client],
        ):
            await wait_until(lambda: client.is_connected(server.peer_id))
            epoch = [5]
            gate = _gate(server, epoch)
            gate.serve()
            sp.serve_sync(server, SYNC, DictSource(head=3), guard=gate.guard)
            sync = sp.SyncClient(client, SYNC)
            # outside: no ticket, no data, scored down
            with pytest.raises(P2PRemoteError):
                await sync.head(server.peer_id)
            with pytest.raises(P2PRemoteError):
                await sync.blocks(server.peer_id, [1])
            assert server.penalties[REFUSED_PENALTY] == 2
            assert client.answered_bytes[SYNC] == 0  # what the capture of a testnet reads
            # a ticket by a key outside the committee, and a member's ticket for another peer: refused
            own = peer_id_bytes(client.peer_id)
            forged = FenceTicket.signed(OUTSIDER, CHAIN, own, 1, 5)
            copied = FenceTicket.signed(MEMBER, CHAIN, peer_id_bytes(server.peer_id), 1, 5)
            for ticket in (forged, copied):
                with pytest.raises(P2PRemoteError):
                    await present_ticket(client, server.peer_id, FENCE, ticket)
            assert server.penalties[REFUSED_PENALTY] == 4 and not gate.admits(client.peer_id)
            with pytest.raises(P2PRemoteError):  # garbage is a bad request
                await client.request(server.peer_id, FENCE, b"\xff\x00")
            assert server.penalties["bad_request"] == 1
            # inside: a member's ticket for this peer opens the sync
            await present_ticket(client, server.peer_id, FENCE, FenceTicket.signed(MEMBER, CHAIN, own, 1, 5))
            assert gate.admits(client.peer_id)
            assert (await sync.head(server.peer_id)).number == 3
            assert client.answered_bytes[SYNC] > 0
            # two epochs later the ticket no longer counts
            epoch[0] = 7
            with pytest.raises(P2PRemoteError):
                await sync.head(server.peer_id)
            assert server.penalties[REFUSED_PENALTY] == 5 and client.penalties == {}

    run(body)


def test_the_fenced_topic_scores_down_a_peer_never_admitted_and_spares_a_lapsed_member(
    tmp_path: Path,
) -> None:
    topic = shard_topic("localnet", 1)

    async def body() -> None:
        async with (
            open_host(config(tmp_path, "server")) as server,
            hosts(config(tmp_path, "client", bootnodes=tuple(server.listen_addrs()))) as [client],
        ):
            epoch = [5]
            gate = _gate(server, epoch)
            gate.serve()
            gate.fence_topic(topic)
            await server.subscribe(topic)
            await client.subscribe(topic)
            await wait_until(lambda: server.peer_id in client.topic_peers(topic))
            # never admitted: its messages are dropped and it is scored down, at most once a second
            with trio.fail_after(60):
                while server.penalties[REFUSED_PENALTY] == 0:
                    await client.publish(topic, b"probe")
                    await trio.sleep(0.1)
            for _ in range(5):
                await client.publish(topic, b"probe")
            assert server.penalties[REFUSED_PENALTY] <= 2
            assert server.received_messages[topic] == 0
            # admitted: its messages arrive
            own = peer_id_bytes(client.peer_id)
            await present_ticket(client, server.peer_id, FENCE, FenceTicket.signed(MEMBER, CHAIN, own, 1, 5))
            with trio.fail_after(60):
                while server.received_messages[topic] == 0:
                    await client.publish(topic, b"inside")
                    await trio.sleep(0.1)
            # lapsed two epochs later: dropped again, but not scored down (its next ticket is on the way)
            epoch[0] = 7
            penalties, received = server.penalties[REFUSED_PENALTY], server.received_messages[topic]
            for _ in range(10):
                await client.publish(topic, b"lapsed")
                await trio.sleep(0.2)
            assert server.received_messages[topic] == received
            assert server.penalties[REFUSED_PENALTY] == penalties

    run(body)
