"""Transactions straight to the next leaders (``tx_relay = "leaders"``): the choice of targets (a pure
function), and real libp2p hosts on 127.0.0.1 with real pools: a batch reaches the leader's pool, an unknown
leader or a failed stream leaves it to the topic, and hostile frames (oversized, malformed, another kind,
another shard's transactions, a peer outside the fence) are refused and cost their sender."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
import trio

from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.consensus_env import TopicTransport
from harmony.node.tx_relay import TxRelay, batches
from harmony.node.tx_routes import (
    MAX_TX_FRAME_BYTES,
    LeaderTxRoute,
    RelayTargets,
    open_leader_tx_route,
    relay_targets,
)
from harmony.node.txpool import TxPool
from harmony.node.wire import (
    KIND_CONSENSUS,
    KIND_TRANSACTION,
    MAX_BATCH_BYTES,
    MAX_BATCH_TRANSACTIONS,
    pack,
    pack_transactions,
    split,
    unpack_transactions,
)
from harmony.p2p.errors import P2PError
from harmony.p2p.host import P2PHost, open_host
from harmony.p2p.topics import tx_protocol_id
from harmony.storage import ChainDB, MemoryStore
from harmony.types.transaction import Transaction
from tests.unit.p2p.harness import config, frames_of, run, wait_until

PROTOCOL = tx_protocol_id("localnet", 0)
KEY = dev_account_key(0)
GENESIS = make_localnet_genesis(timestamp=1_700_000_000)

# ------------------------------------------------------------------------------------- the target choice

KEYS = [bytes([i]) * 48 for i in range(4)]


def _choose(
    view: int, *, mine: frozenset[int] = frozenset(), peers: dict[bytes, str] | None = None, views: int = 2
) -> RelayTargets:
    known = {key: f"peer-{i}" for i, key in enumerate(KEYS)} if peers is None else peers
    return relay_targets(
        lambda v: v % 4, view, views=views, mine=mine, key_of=KEYS.__getitem__, peer_of=known.get
    )


def test_a_batch_goes_to_the_leaders_of_the_view_and_the_next_ones() -> None:
    assert _choose(5) == RelayTargets(("peer-1", "peer-2", "peer-3"), False)
    assert _choose(7, views=0) == RelayTargets(("peer-3",), False)
    assert _choose(3, views=5) == RelayTargets(("peer-3", "peer-0", "peer-1", "peer-2"), False)  # each once


def test_our_own_leader_keys_are_skipped() -> None:
    assert _choose(5, mine=frozenset({2})) == RelayTargets(("peer-1", "peer-3"), False)
    assert _choose(4, mine=frozenset({0, 1, 2})) == RelayTargets(
        (), False
    )  # we lead them all: our pool has it


def test_a_peer_holding_several_leader_keys_gets_a_batch_once() -> None:
    one = {key: "peer-x" for key in KEYS}
    assert _choose(0, peers=one) == RelayTargets(("peer-x",), False)


def test_a_leader_without_a_known_peer_is_skipped_and_none_known_means_the_topic() -> None:
    known = {KEYS[1]: "peer-1", KEYS[3]: "peer-3"}  # the leader of view 6 (key 2) is unknown
    assert _choose(5, peers=known) == RelayTargets(("peer-1", "peer-3"), False)
    assert _choose(6, peers=known, views=0) == RelayTargets((), True)
    assert _choose(5, peers={}) == RelayTargets((), True)
    assert _choose(5, peers={}, mine=frozenset({1, 2, 3})) == RelayTargets((), False)


def test_batches_stay_under_what_a_receiver_reads() -> None:
    small = [b"\x01" * 100] * (MAX_BATCH_TRANSACTIONS + 5)
    assert [len(b) for b in batches(small)] == [MAX_BATCH_TRANSACTIONS, 5]
    big = [b"\x02" * 200_000] * 7  # a re-announcement of large transactions
    parts = batches(big)
    assert [len(b) for b in parts] == [2, 2, 2, 1] and [t for p in parts for t in p] == big
    assert all(len(pack_transactions(p)) <= MAX_TX_FRAME_BYTES for p in parts)
    assert batches([b"\x03" * (MAX_BATCH_BYTES // 2 + 1)]) == [[b"\x03" * (MAX_BATCH_BYTES // 2 + 1)]]
    assert batches([]) == []


def test_the_protocol_id_names_network_and_shard() -> None:
    assert tx_protocol_id("localnet", 3) == "harmony/txs/localnet/3/1.0.0"
    for network, shard in (("", 0), ("a/b", 0), ("localnet", -1), ("localnet", True)):
        with pytest.raises(P2PError):
            tx_protocol_id(network, shard)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- real hosts


def _tx(nonce: int, shard: int = 0) -> Transaction:
    return Transaction(nonce, 2 * 10**9, 21_000, shard, shard, b"\x01" * 20, 1, b"").sign(
        KEY, LOCALNET.chain_id
    )


class Side:
    """One host with a real pool, its relay and its transaction route."""

    def __init__(self) -> None:
        chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, 0)
        self.relay = TxRelay(TxPool(chain.params, 0, chain.accounts()))
        self.relay.topic = TopicTransport(Counter())
        self.counters: Counter[str] = Counter()
        self.host: P2PHost | None = None
        self.route: LeaderTxRoute | None = None
        self.targets = RelayTargets((), True)

    def published(self) -> list[list[bytes]]:
        """The batches the relay put on the topic."""
        assert self.relay.topic is not None
        out = []
        while True:
            try:
                kind, payload = split(self.relay.topic.outbox.receive_nowait())
            except trio.WouldBlock:
                return out
            assert kind == KIND_TRANSACTION
            out.append(unpack_transactions(payload))


@asynccontextmanager
async def pair(tmp: Path, *, guard_b: bool = False, serve_b: bool = True) -> AsyncIterator[tuple[Side, Side]]:
    a, b = Side(), Side()

    def refuse(peer: str) -> None:
        assert b.host is not None
        b.host.penalize(peer, "fence_refused")
        raise P2PError("outside the fence")

    def targets_of(side: Side) -> Callable[[], RelayTargets]:
        return lambda: side.targets

    async with AsyncExitStack() as stack:
        for side, name in ((a, "a"), (b, "b")):
            side.host = await stack.enter_async_context(open_host(config(tmp, name)))
        assert a.host is not None and b.host is not None
        for side in (a, b) if serve_b else (a,):
            assert side.host is not None
            side.route = await stack.enter_async_context(
                open_leader_tx_route(
                    side.host,
                    PROTOCOL,
                    relay=side.relay,
                    targets=targets_of(side),
                    counters=side.counters,
                    guard=refuse if guard_b and side is b else None,
                )
            )
            side.relay.route = side.route.send
        await a.host.connect(b.host.listen_addrs()[0])
        await wait_until(lambda: b.host is not None and b.host.is_connected(a.host.peer_id))  # type: ignore[union-attr]
        yield a, b


def test_a_batch_reaches_the_leaders_pool_and_an_unknown_leader_leaves_it_to_the_topic(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (a, b):
            assert b.host is not None
            heard: list[list[bytes]] = []
            b.relay.pending_listeners.append(lambda hashes: heard.append(list(hashes)))
            for n in range(2):
                a.relay.pool.add(_tx(n))
                a.relay.submit(_tx(n))
            a.relay.flush()  # no known leader: on the topic, as before
            assert a.published() == [[_tx(0).encode(), _tx(1).encode()]]
            assert a.counters["tx_batches_topic_unknown_leader"] == 1
            a.targets = RelayTargets((b.host.peer_id,), False)
            a.relay.pool.add(_tx(2))
            a.relay.submit(_tx(2))
            a.relay.flush()
            await wait_until(lambda: b.relay.pool.stats() == (1, 0) or b.relay.pool.stats() == (0, 1))
            assert heard == [[_tx(2).hash()]]
            assert a.published() == [] and a.counters["tx_batches_direct"] == 1
            assert b.counters["tx_batches_direct_received"] == 1 and b.host.penalties.total() == 0
            # the re-announcement of what is still pending takes the same route
            for tx_hash in a.relay.local:
                a.relay.local[tx_hash] -= 60
            a.relay.reannounce()
            await wait_until(lambda: b.counters["tx_batches_direct_received"] == 2)
            assert a.published() == [] and b.relay.pool.stats()[0] + b.relay.pool.stats()[1] == 3

    run(body)


def test_a_batch_whose_stream_cannot_open_goes_on_the_topic(tmp_path: Path) -> None:
    async def body() -> None:
        async with pair(tmp_path, serve_b=False) as (a, b):
            assert b.host is not None
            a.targets = RelayTargets((b.host.peer_id,), False)
            a.relay.pool.add(_tx(0))
            a.relay.submit(_tx(0))
            a.relay.flush()
            got: list[list[bytes]] = []
            await wait_until(lambda: bool(got.extend(a.published()) or got))
            assert got == [[_tx(0).encode()]] and a.counters["tx_batches_topic_stream_failed"] == 1

    run(body)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x02" * (MAX_TX_FRAME_BYTES + 1), "oversized_request"),  # refused before it is read
        (pack(KIND_CONSENSUS, b"vote"), "bad_request"),  # not a transaction batch
        (b"\xff\x00", "bad_request"),  # an unknown kind
    ],
    ids=["oversized", "not-transactions", "unknown-kind"],
)
def test_a_frame_that_is_not_a_batch_resets_the_stream_and_costs_its_sender(
    tmp_path: Path, frame: bytes, reason: str
) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (a, b):
            assert a.host is not None and b.host is not None
            with pytest.raises(P2PError):
                await a.host.stream_frames(b.host.peer_id, PROTOCOL, frames_of([frame]), timeout=5)
            assert b.host.penalties[reason] == 1 and b.relay.pool.stats() == (0, 0)

    run(body)


@pytest.mark.parametrize(
    ("payload", "weight"),
    [
        (b"\xff\x00", 5),  # the batch does not decode
        (pack_transactions([b"\x01\x02"])[1:], 1),  # a malformed transaction in it
        (pack_transactions([_tx(0, shard=1).encode()])[1:], 1),  # another shard's transaction
    ],
    ids=["undecodable", "malformed-transaction", "foreign-shard"],
)
def test_a_bad_batch_costs_its_sender_and_adds_nothing(tmp_path: Path, payload: bytes, weight: int) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (a, b):
            assert a.host is not None and b.host is not None
            sent = await a.host.stream_frames(
                b.host.peer_id, PROTOCOL, frames_of([pack(KIND_TRANSACTION, payload)]), timeout=5
            )
            assert sent == 1
            assert b.host.score(a.host.peer_id) == weight and b.relay.pool.stats() == (0, 0)

    run(body)


def test_another_shards_protocol_is_not_served(tmp_path: Path) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (a, b):
            assert a.host is not None and b.host is not None
            frame = pack_transactions([_tx(0).encode()])
            with pytest.raises(P2PError):
                await a.host.stream_frames(
                    b.host.peer_id, tx_protocol_id("localnet", 1), frames_of([frame]), timeout=5
                )
            assert b.relay.pool.stats() == (0, 0)

    run(body)


def test_a_peer_outside_the_fence_is_refused(tmp_path: Path) -> None:
    async def body() -> None:
        async with pair(tmp_path, guard_b=True) as (a, b):
            assert a.host is not None and b.host is not None
            frame = pack_transactions([_tx(0).encode()])
            with pytest.raises(P2PError):
                await a.host.stream_frames(b.host.peer_id, PROTOCOL, frames_of([frame]), timeout=5)
            assert b.relay.pool.stats() == (0, 0) and b.host.penalties["fence_refused"] == 1

    run(body)
