"""Direct votes between real libp2p hosts on 127.0.0.1: routed to the learned leader peer, resends and
unknown leaders left to the topic, a failed stream falls back to the topic, hostile frames penalized."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from harmony.node.consensus_streams import ConsensusStreams, open_consensus_streams
from harmony.node.wire import KIND_CONSENSUS, KIND_TRANSACTION, pack
from harmony.p2p.errors import P2PError
from harmony.p2p.host import P2PHost, open_host
from harmony.p2p.topics import consensus_protocol_id
from tests.unit.p2p.harness import config, frames_of, run, wait_until

PROTOCOL = consensus_protocol_id("localnet", 0)
LEADER_KEY = b"\x07" * 48


class Side:
    """One host with its direct votes: what it was handed and what it published."""

    def __init__(self) -> None:
        self.delivered: list[tuple[bytes, str]] = []
        self.published: list[bytes] = []
        self.counters: Counter[str] = Counter()
        self.votes: ConsensusStreams | None = None
        self.host: P2PHost | None = None


@asynccontextmanager
async def pair(tmp: Path, *, guard_b: bool = False, serve_b: bool = True) -> AsyncIterator[tuple[Side, Side]]:
    a, b = Side(), Side()

    def refuse(peer: str) -> None:
        assert b.host is not None
        b.host.penalize(peer, "fence_refused")
        raise P2PError("outside the fence")

    async with AsyncExitStack() as stack:
        for side, name in ((a, "a"), (b, "b")):
            side.host = await stack.enter_async_context(open_host(config(tmp, name)))
        assert a.host is not None and b.host is not None
        for side in (a, b) if serve_b else (a,):
            assert side.host is not None
            side.votes = await stack.enter_async_context(
                open_consensus_streams(
                    side.host,
                    PROTOCOL,
                    deliver=lambda data, peer, s=side: s.delivered.append((data, peer)),
                    publish=side.published.append,
                    counters=side.counters,
                    guard=refuse if guard_b and side is b else None,
                )
            )
        await a.host.connect(b.host.listen_addrs()[0])
        await wait_until(lambda: b.host is not None and b.host.is_connected(a.host.peer_id))  # type: ignore[union-attr]
        yield a, b


def test_a_vote_goes_to_the_leaders_peer_and_a_resend_goes_on_the_topic(tmp_path: Path) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (a, b):
            assert a.votes is not None and a.host is not None and b.host is not None
            vote = pack(KIND_CONSENSUS, b"vote-1")
            assert not a.votes.send_vote(LEADER_KEY, vote)  # leader not known yet: the topic
            a.votes.learn(LEADER_KEY, b.host.peer_id)
            assert a.votes.leader_peer(LEADER_KEY) == b.host.peer_id
            assert a.votes.send_vote(LEADER_KEY, vote)
            await wait_until(lambda: len(b.delivered) == 1)
            assert b.delivered == [(b"vote-1", a.host.peer_id)]
            assert not a.votes.send_vote(LEADER_KEY, vote)  # the same vote again: a resend, on the topic
            assert a.votes.send_vote(LEADER_KEY, pack(KIND_CONSENSUS, b"vote-2"))
            await wait_until(lambda: len(b.delivered) == 2)
            assert a.counters["votes_direct"] == 2 and a.counters["votes_topic_resend"] == 1
            assert a.counters["votes_topic_unknown_leader"] == 1 and a.published == []
            a.votes.learn(LEADER_KEY, a.host.peer_id)  # our own peer is never a route
            assert a.votes.leader_peer(LEADER_KEY) == b.host.peer_id

    run(body)


def test_a_vote_whose_stream_cannot_open_goes_on_the_topic(tmp_path: Path) -> None:
    async def body() -> None:
        async with pair(tmp_path, serve_b=False) as (a, b):
            assert a.votes is not None and b.host is not None
            a.votes.learn(LEADER_KEY, b.host.peer_id)
            vote = pack(KIND_CONSENSUS, b"vote")
            assert a.votes.send_vote(LEADER_KEY, vote)
            await wait_until(lambda: a.published == [vote])
            assert a.counters["votes_topic_stream_failed"] == 1

    run(body)


@pytest.mark.parametrize(
    "frame",
    [pack(KIND_TRANSACTION, b"tx"), b"", b"\xff" * 3, b"\x01" * (64 * 1024 + 1)],
    ids=["not-consensus", "empty-kind", "unknown-kind", "oversized"],
)
def test_a_frame_that_is_not_a_vote_penalizes_its_sender(tmp_path: Path, frame: bytes) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (a, b):
            assert a.host is not None and b.host is not None
            frames = [frame] if frame else [b"\x00"]  # an empty frame ends a stream: send kind 0 instead
            with pytest.raises(P2PError):
                await a.host.stream_frames(b.host.peer_id, PROTOCOL, frames_of(frames), timeout=5)
            assert b.host.score(a.host.peer_id) > 0
            assert b.delivered == []

    run(body)


def test_a_peer_outside_the_fence_is_refused(tmp_path: Path) -> None:
    async def body() -> None:
        async with pair(tmp_path, guard_b=True) as (a, b):
            assert a.host is not None and b.host is not None
            with pytest.raises(P2PError):
                await a.host.stream_frames(
                    b.host.peer_id, PROTOCOL, frames_of([pack(KIND_CONSENSUS, b"v")]), timeout=5
                )
            assert b.delivered == [] and b.host.penalties["fence_refused"] == 1

    run(body)


def test_the_protocol_id_names_network_and_shard() -> None:
    assert consensus_protocol_id("localnet", 3) == "harmony/consensus/localnet/3/1.0.0"
    for network, shard in (("", 0), ("a/b", 0), ("localnet", -1), ("localnet", True)):
        with pytest.raises(P2PError):
            consensus_protocol_id(network, shard)  # type: ignore[arg-type]
