"""The consensus driver on trio with real time: four drivers, real chains and pools, a loopback topic.

The p2p layer has its own tests and the devnet e2e tests run the driver over libp2p; here the topic is a
set of in-process channels so that the driver's own duties are checked quickly: proposing from the pool,
verifying announced blocks by execution, storing each final block once with its commit aggregate, updating
the pool, and resuming from the stored head after a restart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import trio

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.consensus.api import (
    ConsensusConfig,
    MemoryLogStore,
    MemorySignerStore,
    RequestProposal,
    SetTimer,
    Timer,
    TimerKind,
)
from harmony.consensus.core import ConsensusCore
from harmony.consensus.messages import Message, MsgType
from harmony.node.blockchain import Blockchain
from harmony.node.consensus_driver import ConsensusDriver
from harmony.node.consensus_env import TimerTable, TopicTransport
from harmony.node.consensus_ledger import (
    MAX_HALVINGS,
    BlockExtras,
    NodeLedger,
    ProposalInputs,
    ProposerLimits,
    chain_tip,
    halvings,
    lighter,
    node_driver,
)
from harmony.node.txpool import TxPool
from harmony.node.wire import KIND_CONSENSUS, split
from harmony.storage import ChainDB, MemoryStore
from harmony.types.block import Block
from harmony.types.crosslink import CrossLink
from harmony.types.header import Header
from harmony.types.transaction import Transaction

SHARD = 1
GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
GWEI = 10**9


class Net:
    """Four drivers on one trio loop; a published message reaches every other driver."""

    def __init__(self) -> None:
        self.chains = [Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD) for _ in range(4)]
        self.pools = [TxPool(LOCALNET, SHARD, c.accounts()) for c in self.chains]
        self.stores = [(MemorySignerStore(), MemoryLogStore()) for _ in range(4)]
        self.transports: dict[int, TopicTransport] = {}
        self.drivers: list[ConsensusDriver] = [self.make(i) for i in range(4)]

    def make(self, i: int, extras: BlockExtras | None = None) -> ConsensusDriver:
        chain = self.chains[i]
        committee = chain.db.get_shard_state(0).shards[SHARD]  # type: ignore[union-attr]
        config = ConsensusConfig(
            shard_id=SHARD,
            epoch=0,
            committee=committee,
            keys=(dev_bls_key(SHARD, i),),
            phase_timeout_ms=3_000,
            view_change_timeout_ms=3_000,
            block_time_ms=200,
            resend_interval_ms=500,
        )
        transport = TopicTransport(Counter())
        driver = node_driver(chain, self.pools[i], config, self.stores[i], transport, extras=extras)
        self.transports[i] = transport
        pool = self.pools[i]
        driver.block_listeners.append(lambda _b, pool=pool, chain=chain: pool.set_state(chain.accounts()))
        return driver

    def run_until_height(self, height: int) -> None:
        """Run every driver, relaying their messages, until every chain reaches ``height``."""

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                for i, driver in enumerate(self.drivers):
                    nursery.start_soon(self.relay, i)
                    await nursery.start(driver.run)
                await _until(lambda: all(c.head.number >= height for c in self.chains))
                nursery.cancel_scope.cancel()

        trio.run(main)

    async def relay(self, i: int) -> None:
        async for data in self.transports[i].outbox:
            kind, payload = split(data)
            if kind != KIND_CONSENSUS:
                continue
            for j, other in enumerate(self.drivers):
                if j != i:
                    other.deliver(payload)


async def _until(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.05)


def test_four_drivers_finalize_blocks_with_pool_transactions() -> None:
    net = Net()
    key = dev_account_key(0)
    to = b"\x42" * 20
    for nonce in range(3):
        tx = Transaction(nonce, 2 * GWEI, 21_000, SHARD, SHARD, to, 1000 + nonce, b"").sign(
            key, LOCALNET.chain_id
        )
        for pool in net.pools:
            pool.add(tx)

    net.run_until_height(3)
    heights = min(c.head.number for c in net.chains)
    for n in range(1, heights + 1):
        hashes = {c.db.get_canonical_hash(n) for c in net.chains}
        assert len(hashes) == 1, f"nodes disagree at height {n}"
        assert all(c.db.get_commit_sig(n) is not None for c in net.chains)
    for chain in net.chains:
        assert chain.state().get_balance(to) == 1000 + 1001 + 1002
    assert all(len(pool) == 0 for pool in net.pools)
    assert sum(d.counters["blocks_committed"] for d in net.drivers) >= 4 * 3
    # several blocks a second: each still gets a time after its parent's, so none is rejected
    assert not [k for d in net.drivers for k in d.counters if k.startswith("invalid_block")]
    times = [net.chains[0].db.get_header_by_number(n).time for n in range(1, heights + 1)]  # type: ignore[union-attr]
    assert times == sorted(set(times))


def test_a_driver_resumes_from_the_stored_head() -> None:
    net = Net()
    net.run_until_height(2)
    tip = chain_tip(net.chains[0])
    assert (
        tip.header.number >= 2
        and tip.commit_signature == net.chains[0].db.get_commit_sig(tip.header.number)[0]
    )  # type: ignore[index]
    net.drivers = [net.make(i) for i in range(4)]  # restart: same stores, same chains
    assert isinstance(net.drivers[0].core, ConsensusCore)
    net.run_until_height(tip.header.number + 2)


def test_hostile_consensus_messages_penalize_their_sender_and_change_nothing() -> None:
    net = Net()
    driver = net.drivers[0]
    penalties: list[tuple[str, str]] = []
    driver.penalize = lambda peer, reason: penalties.append((peer, reason))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run)
            tip = driver.core.height
            driver.deliver(b"\xc0" * 10, "peer-a")  # not a message
            driver.deliver(b"\x01" * 300_000, "peer-b")  # oversized
            driver.deliver(b"", None)  # no sender known: counted only
            await _until(lambda: len(penalties) >= 2, timeout=10)
            assert driver.core.height == tip and net.chains[0].head.number == 0
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert {peer for peer, _ in penalties} == {"peer-a", "peer-b"}
    assert all(reason.startswith("consensus: ") for _, reason in penalties)


def test_the_proposal_timer_leads_by_the_recent_build_time_and_results_are_freed_on_commit() -> None:
    net = Net()
    driver = net.drivers[0]
    timer = Timer(TimerKind.PROPOSE, 1, 1)
    table = driver.timers
    assert isinstance(table, TimerTable)
    driver._run_effects([SetTimer(timer, 10_000)])
    assert table.armed[TimerKind.PROPOSE] == (timer, 10_000)  # nothing built yet: no lead
    driver._build_ms = 50.0
    driver._run_effects([SetTimer(timer, 10_000)])
    assert table.armed[TimerKind.PROPOSE] == (timer, 9_950)  # building starts 50 ms early
    driver._build_ms = 5_000.0
    driver._run_effects([SetTimer(timer, 10_000)])
    assert table.armed[TimerKind.PROPOSE] == (timer, 9_900)  # at most half the block time (200 ms)
    table.clear()
    driver._build_ms = 0.0

    key = dev_account_key(0)
    tx = Transaction(0, 2 * GWEI, 21_000, SHARD, SHARD, b"\x42" * 20, 1, b"").sign(key, LOCALNET.chain_id)
    for pool in net.pools:
        pool.add(tx)

    net.run_until_height(3)
    for d, chain in zip(net.drivers, net.chains, strict=True):
        # executed results of committed heights are not kept (each holds a whole block's receipts and state)
        assert isinstance(d.ledger, NodeLedger)
        assert all(v.block.number > chain.head.number for v in d.ledger.verified.values())
    leaders = [d for d in net.drivers if d.counters["blocks_committed"] and d._build_ms > 0]
    assert leaders  # whoever proposed measured its build time


class StaleItems:
    """Block extras whose crosslink pool holds an item the chain refuses (a shard's block carries none)."""

    def proposal_inputs(self, parent: Header) -> ProposalInputs:
        link = CrossLink(b"\x01" * 32, 1, 1, b"\x00" * 96, b"\x0f", 2, 0)
        return ProposalInputs(crosslinks=(link,))

    def on_commit(self, block: Block, signature: bytes, bitmap: bytes, proposed_here: bool) -> None:
        return None


def test_a_pool_item_the_chain_refuses_does_not_stop_the_leader_from_proposing() -> None:
    """A stale crosslink made one beacon node's every proposal fail, halving the devnet's block rate: the
    leader now builds without the pools' items when the chain refuses them."""
    net = Net()
    net.drivers = [net.make(i, StaleItems()) for i in range(4)]
    net.run_until_height(2)
    assert sum(d.counters["propose_failed"] for d in net.drivers) >= 2
    assert sum(d.counters["propose_without_pool_items"] for d in net.drivers) >= 2
    chain = net.chains[0]
    views = [chain.db.get_header_by_number(n).view_id for n in range(3)]  # type: ignore[union-attr]
    assert views == [views[0], views[0] + 1, views[0] + 2]  # every view's leader proposed: no view change


def test_votes_go_straight_to_the_leader_once_its_peer_is_known() -> None:
    """The driver's vote route (harmony.node.consensus_streams on a real node): every driver learns each
    leader's peer from the leader messages its core accepted, hands its votes to the route, and publishes on
    the topic only what the route refuses; the chains agree."""
    net = Net()
    learned: list[dict[bytes, str]] = [{} for _ in net.drivers]
    topic_votes = [0]
    routed = [0]
    for i, driver in enumerate(net.drivers):

        def route(to: bytes, packed: bytes, i: int = i) -> bool:
            peer = learned[i].get(to)
            if peer is None:
                return False
            routed[0] += 1
            net.drivers[int(peer[1:])].deliver(split(packed)[1], f"p{i}")
            return True

        net.transports[i].vote_route = route
        driver.leader_heard = lambda key, peer, i=i: learned[i].__setitem__(key, peer)

    async def relay(i: int) -> None:
        async for data in net.transports[i].outbox:
            kind, payload = split(data)
            if kind != KIND_CONSENSUS:
                continue
            if Message.decode(payload).type in (MsgType.PREPARE, MsgType.COMMIT):
                topic_votes[0] += 1
            for j, other in enumerate(net.drivers):
                if j != i:
                    other.deliver(payload, f"p{i}")

    net.relay = relay  # type: ignore[method-assign]
    net.run_until_height(4)
    for n in range(1, 5):
        assert len({c.db.get_canonical_hash(n) for c in net.chains}) == 1
    keys = [dev_bls_key(SHARD, i).public_key.to_bytes() for i in range(4)]
    for i, book in enumerate(learned):
        assert book, f"driver {i} learned no leader"
        assert all(peer == f"p{keys.index(key)}" for key, peer in book.items())
    # the first votes of a new leader go on the topic; once its announce was accepted they are routed
    # a leader's peer is learned from its announce before the vote it asks for leaves: from the second
    # round on no vote needs the topic, save a resend of a stalled round
    assert routed[0] >= 3 * topic_votes[0]


def test_a_forged_leader_message_teaches_no_route() -> None:
    net = Net()
    heard: list[tuple[bytes, str]] = []
    driver = net.drivers[1]
    driver.leader_heard = lambda key, peer: heard.append((key, peer))
    forged = Message(MsgType.ANNOUNCE, SHARD, 1, 1, b"\x11" * 32, b"\x01", b"", b"", b"\x22" * 96)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run)
            driver.deliver(forged.encode(), "mallory")
            driver.deliver(b"\xff" * 10, "mallory")
            await _until(lambda: sum(driver.drops().values()) >= 2)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert heard == []


def test_a_validator_executes_the_announced_block_after_its_prepare_has_left() -> None:
    """Issue 16's pipelined round: the driver gives the PREPARE's writer (here the topic's relay task) a
    few scheduler turns before executing the block, so the vote travels while the block executes; each
    block is executed once per validator, and the votes that follow need no second execution."""
    net = Net()
    events: list[tuple[str, int, bytes]] = []
    for i, driver in enumerate(net.drivers):
        ledger = driver.ledger
        assert isinstance(ledger, NodeLedger)
        validate = ledger.validate

        def recorded(block: Block, now_ms: int, i: int = i, validate=validate) -> bool:  # type: ignore[no-untyped-def]
            if block.hash() not in ledger_of(i).verified:
                events.append(("execute", i, block.hash()))
            return bool(validate(block, now_ms))

        ledger.validate = recorded  # type: ignore[method-assign]

    def ledger_of(i: int) -> NodeLedger:
        ledger = net.drivers[i].ledger
        assert isinstance(ledger, NodeLedger)
        return ledger

    async def relay(i: int) -> None:
        async for data in net.transports[i].outbox:
            kind, payload = split(data)
            if kind != KIND_CONSENSUS:
                continue
            message = Message.decode(payload)
            if message.type == MsgType.PREPARE:
                events.append(("prepare left", i, message.block_hash))
            for j, other in enumerate(net.drivers):
                if j != i:
                    other.deliver(payload)

    net.relay = relay  # type: ignore[method-assign]
    net.run_until_height(3)
    checked = 0
    for n in range(1, 4):
        block_hash = net.chains[0].db.get_canonical_hash(n)
        for i in range(4):
            mine = [kind for kind, node, h in events if node == i and h == block_hash]
            if "prepare left" in mine:  # a validator of this block (not its leader)
                assert mine.count("execute") == 1, mine
                assert mine.index("prepare left") < mine.index("execute"), mine
                checked += 1
    assert checked >= 3 * 3, events[:20]


def test_a_proposal_after_view_changes_is_lighter() -> None:
    """A leader whose view follows failed ones at its height proposes half as many transactions per failed
    view (at most four times): a round that timed out with a full block must not be followed by a fuller
    one."""
    net = Net()
    chain, pool = net.chains[0], net.pools[0]
    key, to = dev_account_key(0), b"\x42" * 20
    for nonce in range(40):
        tx = Transaction(nonce, 2 * GWEI, 21_000, SHARD, SHARD, to, 1, b"").sign(key, LOCALNET.chain_id)
        pool.add(tx)
    driver = net.drivers[0]
    ledger = driver.ledger
    assert isinstance(ledger, NodeLedger)
    ledger.limits = ProposerLimits(max_transactions=16)  # one account: 16 executable nonces
    parent = chain.head
    leader = dev_bls_key(SHARD, 0)
    counts = []
    for failed in range(7):
        request = RequestProposal(
            height=parent.number + 1,
            view_id=parent.view_id + 1 + failed,
            shard_id=SHARD,
            epoch=parent.epoch,
            parent=parent,
            last_commit_signature=b"",
            last_commit_bitmap=b"",
            leader_key=leader.public_key.to_bytes(),
        )
        block = ledger.propose(request, (leader,), driver.config.committee, 1_700_000_010_000)
        assert block is not None
        counts.append(len(block.transactions))
    assert counts == [16, 8, 4, 2, 1, 1, 1]
    assert driver.counters["proposals_lighter"] == 6


def test_lighter_proposals_count_the_parents_failed_views_and_halve_the_gas() -> None:
    genesis = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD).head
    parent = replace(genesis, number=1, view_id=10)
    request = RequestProposal(2, 11, SHARD, 0, parent, b"", b"", b"")
    assert halvings(request, grandparent_view=9) == 0  # no view failed here or at the parent's height
    assert halvings(request, grandparent_view=7) == 2  # two failed before the parent
    assert halvings(replace(request, view_id=13), grandparent_view=7) == 4
    assert halvings(replace(request, view_id=20), grandparent_view=None) == MAX_HALVINGS
    assert halvings(replace(request, view_id=5), grandparent_view=12) == 0  # views below: never heavier
    key = dev_account_key(0)
    heavy = [
        Transaction(n, 2 * GWEI, 37_000, SHARD, SHARD, b"\x42" * 20, 1, b"").sign(key, LOCALNET.chain_id)
        for n in range(900)
    ]
    assert len(lighter(heavy, 30_000_000, 1_428, 1)) == 15_000_000 // 37_000  # the gas binds: 405
    assert len(lighter(heavy, 30_000_000, 1_428, 3)) == 3_750_000 // 37_000  # 101
    assert len(lighter(heavy[:10], 30_000_000, 16, 4)) == 1  # the count binds
    assert lighter(heavy[:1], 10_000, 1_428, 1) == heavy[:1]  # never empty: one transaction at least
