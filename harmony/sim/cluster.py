"""N nodes of the simulated shard, each running the node's consensus driver over simulated surroundings.

Each :class:`SimNode` holds committee keys and the durable stores a crash must not lose (the signer's state,
the write-ahead log, and a :class:`~harmony.sim.ledger.MemoryLedger` of finalized blocks with their commit
aggregates) and, while it is up, one :class:`~harmony.node.consensus_driver.ConsensusDriver`: the driver the
node runs, with its epoch switch, early proposal timer, commit ordering, sync hooks and penalties of hostile
senders. The cluster gives it what a node's process would:

- a clock: the node's skewed clock (:mod:`harmony.sim.clock`) over the virtual scheduler;
- timers (:class:`SimTimers`) on the scheduler;
- a transport (:class:`SimTransport`): messages encoded to bytes and handed to
  :class:`harmony.sim.network.Network` (a Byzantine node's bytes pass its
  :class:`harmony.sim.byzantine.Byzantine` wrapper first), votes to the holder of the key;
- the ledger's proposals: real empty blocks with the parent's commit aggregate and the leader's local time
  (built in no virtual time, so the driver's proposal timer, which leads by the recent build time, does not
  lead here: a lead without the build's duration would send announces early);
  every :data:`EPOCH_BLOCKS` blocks an epoch ends and its last block names the next committee (the same
  keys, the validator accounts alternating), so the driver starts a fresh core each epoch;
- sync: a request over the network to two peers, answered with up to 32 finalized blocks and their commit
  aggregates, fed to the driver's ``sync_block``.

Finalized blocks are reported to the checkers (honest nodes only), and double-sign evidence the driver kept
is checked against the honest keys. A crash drops the driver and its timers (a torn, partial WAL record is
appended with some probability); a restart builds a new driver from the same stores.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

from harmony.chain.genesis import dev_bls_key, dev_validator_key
from harmony.consensus.api import (
    Commit,
    ConsensusConfig,
    MemoryLogStore,
    MemorySignerStore,
    Timer,
    TimerKind,
)
from harmony.consensus.leader import leader_candidates, leader_index
from harmony.consensus.messages import Message, MsgType, ViewChangeBody, decode_message
from harmony.crypto import bls
from harmony.crypto.bitmap import decode_bitmap
from harmony.errors import HarmonyError
from harmony.node.consensus_driver import ConsensusDriver
from harmony.sim.byzantine import Byzantine
from harmony.sim.checkers import CommitteeView, Finalized, SignedPayload
from harmony.sim.clock import NodeClock
from harmony.sim.faults import ByzantineRole, FaultPlan
from harmony.sim.ledger import EpochPlan, MemoryLedger
from harmony.sim.network import Network
from harmony.sim.scheduler import EventHandle, Scheduler
from harmony.types.block import Block, check_body_roots
from harmony.types.header import Header
from harmony.types.shard_state import Committee, Slot
from harmony.types.slash import double_signed_keys

SHARD_ID = 0
GENESIS_TIME_S = 1_700_000_000
"""Unix time of the simulated genesis; a node's header time is this plus its local clock."""
SYNC_BATCH = 32
"""Most blocks one sync response carries."""
MAX_FUTURE_S = 15
"""A validator refuses a block whose time is further than this ahead of its own clock."""
EPOCH_BLOCKS = 5
"""Blocks per simulated epoch."""


@cache
def sim_key(index: int) -> bls.SecretKey:
    """The ``index``-th committee key of the simulated shard (deterministic dev keys, cached)."""
    return dev_bls_key(SHARD_ID, index)


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """A lagging node asks a peer for finalized blocks from ``from_height`` on."""

    from_height: int


@dataclass(frozen=True, slots=True)
class SyncResponse:
    """Finalized blocks with their commit aggregates: ``(block, signature, bitmap)`` in height order."""

    blocks: tuple[tuple[Block, bytes, bytes], ...]


Payload = bytes | SyncRequest | SyncResponse
"""What travels on the simulated network."""


@dataclass(frozen=True, slots=True)
class Observer:
    """Where the cluster reports what it sees (the checkers and the trace)."""

    finalized: Callable[[Finalized], None]
    signed: Callable[[SignedPayload], None]
    evidence: Callable[[int, bytes], None]
    trace: Callable[[str], None]


@dataclass
class SimNode:
    """One simulated node: keys, durable stores, and its driver while it is up."""

    index: int
    keys: tuple[bls.SecretKey, ...]
    clock: NodeClock
    role: ByzantineRole | None
    ledger: MemoryLedger
    signer_store: MemorySignerStore = field(default_factory=MemorySignerStore)
    log_store: MemoryLogStore = field(default_factory=MemoryLogStore)
    driver: ConsensusDriver | None = None
    byzantine: Byzantine | None = None
    restarts: int = 0

    @property
    def up(self) -> bool:
        """Whether the node is running."""
        return self.driver is not None

    @property
    def chain(self) -> list[Commit]:
        """Finalized blocks 1, 2, … (durable: survives a crash)."""
        return self.ledger.blocks

    @property
    def height(self) -> int:
        """Its highest finalized block number."""
        return len(self.ledger.blocks)


class SimTimers:
    """A driver's :class:`~harmony.node.consensus_env.Timers` on the virtual scheduler, at the node's local
    times."""

    def __init__(self, cluster: Cluster, node: SimNode) -> None:
        self.cluster, self.node = cluster, node
        self.handles: dict[TimerKind, EventHandle] = {}

    def set(self, timer: Timer, at: int) -> None:
        """Arm ``timer`` for local time ``at``."""
        self.cancel(timer.kind)
        node, scheduler = self.node, self.cluster.scheduler
        at_global = node.clock.global_at(at, scheduler.now_ms)

        def fire() -> None:
            if self.handles.get(timer.kind) is not handle:
                return
            del self.handles[timer.kind]
            driver = node.driver
            if driver is None or driver.timers is not self:
                return
            self.cluster.observer.trace(
                f"timer n{node.index} {timer.kind.value} h={timer.height} v={timer.view_id}"
            )
            driver.on_timer(timer)
            self.cluster.collect_evidence(node)

        handle = scheduler.at(at_global, f"timer n{node.index} {timer.kind.value}", fire)
        self.handles[timer.kind] = handle

    def cancel(self, kind: TimerKind) -> None:
        """Disarm ``kind``."""
        handle = self.handles.pop(kind, None)
        if handle is not None:
            handle.cancel()

    def clear(self) -> None:
        """Disarm all (a new core, or a crash)."""
        for handle in self.handles.values():
            handle.cancel()
        self.handles.clear()


class SimTransport:
    """A driver's :class:`~harmony.node.consensus_env.Transport` on the simulated network."""

    def __init__(self, cluster: Cluster, node: SimNode) -> None:
        self.cluster, self.node = cluster, node

    def broadcast(self, message: Message) -> None:
        """To every other node."""
        others = [n.index for n in self.cluster.nodes if n.index != self.node.index]
        self.cluster.emit(self.node, message, others)

    def send(self, to: bytes, message: Message) -> None:
        """To the node holding key ``to`` (itself included)."""
        dst = self.cluster.key_owner.get(to)
        if dst is None:
            self.cluster.drops["sim: send to a key nobody holds"] += 1
        elif dst == self.node.index:
            self.cluster.emit(self.node, message, [], to_self=True)
        else:
            self.cluster.emit(self.node, message, [dst])

    def publish(self, data: bytes) -> None:
        """Head announcements: every node here syncs on the core's request instead."""
        self.cluster.drops["sim: head announcement not sent"] += 1


class Cluster:
    """The simulated shard (module docstring)."""

    def __init__(
        self,
        scheduler: Scheduler,
        rng: random.Random,
        plan: FaultPlan,
        keys_per_node: Sequence[int],
        observer: Observer,
        *,
        phase_timeout_ms: int,
        view_change_timeout_ms: int,
        block_time_ms: int,
        max_backoff_exponent: int,
        skip_absent_leaders: bool = True,
        commit_window_ms: int = 0,
    ) -> None:
        self.scheduler = scheduler
        self.rng = rng
        self.plan = plan
        self.observer = observer
        self.drops: Counter[str] = Counter()
        """Reasons the drivers' cores dropped messages (summed over nodes), plus the cluster's own counts."""
        self.driver_counts: Counter[str] = Counter()
        """The drivers' counters (``ConsensusDriver.counters``), summed over nodes and restarts."""
        self.evidence_count = 0
        self.max_view = 0
        """The highest view of any message an honest node sent."""
        key_index = 0
        self.nodes: list[SimNode] = []
        slots: list[Slot] = []
        other_slots: list[Slot] = []
        self.key_owner: dict[bytes, int] = {}
        self.genesis = Header.genesis(shard_id=SHARD_ID, time=GENESIS_TIME_S)
        self._epochs = EpochPlan(EPOCH_BLOCKS, self._committee_of)
        for node_index, count in enumerate(keys_per_node):
            keys = tuple(sim_key(key_index + j) for j in range(count))
            key_index += count
            account = dev_validator_key(SHARD_ID, node_index).address
            other_account = dev_validator_key(SHARD_ID, len(keys_per_node) + node_index).address
            for key in keys:
                slots.append(Slot(account, key.public_key.to_bytes()))
                other_slots.append(Slot(other_account, key.public_key.to_bytes()))
                self.key_owner[key.public_key.to_bytes()] = node_index
            skew = plan.skews[node_index] if node_index < len(plan.skews) else None
            clock = NodeClock(skew.offset_ms, skew.drift_ppm) if skew else NodeClock()
            self.nodes.append(
                SimNode(node_index, keys, clock, plan.byzantine.get(node_index), self._ledger(node_index))
            )
        self.committee = Committee(SHARD_ID, tuple(slots))
        self._odd_committee = Committee(SHARD_ID, tuple(other_slots))
        self.committee_view = CommitteeView(
            SHARD_ID, tuple(bls.PublicKey(s.bls_public_key) for s in slots), (1,) * len(slots)
        )
        self.honest = tuple(n.index for n in self.nodes if n.role is None)
        self.honest_keys = frozenset(k.public_key.to_bytes() for i in self.honest for k in self.nodes[i].keys)
        self._timeouts = (phase_timeout_ms, view_change_timeout_ms, block_time_ms, max_backoff_exponent)
        self.skip_absent_leaders = skip_absent_leaders
        self.commit_window_ms = commit_window_ms
        committee_keys = [s.bls_public_key for s in slots]
        for node in self.nodes:
            if node.role is not None:
                node.byzantine = Byzantine(node.role, node.index, node.keys, committee_keys, rng)
        self.network: Network[Payload] = Network(scheduler, rng, len(self.nodes), self._deliver, plan.link)

    @property
    def blocks_built(self) -> int:
        """Proposals built, over all nodes."""
        return sum(n.ledger.built for n in self.nodes)

    # -- lifecycle ----------------------------------------------------------------------------------
    def _committee_of(self, epoch: int) -> Committee:
        """Epoch ``epoch``'s committee: the same keys in the same slots, the validator accounts alternating,
        so that every epoch's committee differs from the last."""
        return self.committee if epoch % 2 == 0 else self._odd_committee

    def _ledger(self, index: int) -> MemoryLedger:
        def on_store(commit: Commit) -> None:
            self._on_commit(self.nodes[index], commit)

        return MemoryLedger(
            self.genesis,
            check=self._valid,
            block_time=lambda request, now_ms: max(GENESIS_TIME_S + now_ms // 1000, request.parent.time),
            extra=f"n{index}".encode(),
            epochs=self._epochs,
            on_store=on_store,
        )

    def _config(self, node: SimNode) -> ConsensusConfig:
        phase, view_change, block_time, backoff = self._timeouts
        epoch = self._epochs.epoch_of(node.height + 1)
        return ConsensusConfig(
            shard_id=SHARD_ID,
            epoch=epoch,
            committee=self._committee_of(epoch),
            keys=node.keys,
            phase_timeout_ms=phase,
            view_change_timeout_ms=view_change,
            block_time_ms=block_time,
            max_backoff_exponent=backoff,
            clock_origin_unix_ms=GENESIS_TIME_S * 1000,
            skip_absent_leaders=self.skip_absent_leaders,
            commit_window_ms=self.commit_window_ms,
        )

    def local_now(self, node: SimNode) -> int:
        """The node's clock now."""
        return node.clock.local(self.scheduler.now_ms)

    def start_node(self, index: int) -> None:
        """Start (or restart from its stores) node ``index``."""
        node = self.nodes[index]
        if node.up:
            return
        driver = ConsensusDriver(
            ledger=node.ledger,
            transport=SimTransport(self, node),
            config=self._config(node),
            signer_store=node.signer_store,
            log_store=node.log_store,
            timers=SimTimers(self, node),
            clock_ms=lambda: self.local_now(node),
            work_clock=lambda: self.scheduler.now_ms / 1000,
        )
        driver.on_sync_request = lambda height: self._request_sync(node, height)
        driver.penalize = self._penalized
        node.driver = driver
        self.observer.trace(f"start n{index} h={node.height}")
        driver.start()
        self.collect_evidence(node)

    def crash(self, index: int) -> None:
        """Stop node ``index``: its driver and timers are gone, its stores stay (maybe with a torn WAL
        tail)."""
        node = self.nodes[index]
        driver = node.driver
        if driver is None:
            return
        self.drops.update(driver.drops())
        self.driver_counts.update(driver.counters)
        driver.timers.clear()
        node.driver = None
        if self.rng.random() < 0.3:
            node.log_store.append(bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 40))))
            self.drops["sim: torn wal tail written at crash"] += 1
        node.restarts += 1
        self.observer.trace(f"crash n{index} h={node.height}")

    def harvest_drops(self) -> Counter[str]:
        """The drops of every driver, stopped or running, and the cluster's own counts."""
        total = Counter(self.drops)
        for node in self.nodes:
            if node.driver is not None:
                total.update(node.driver.drops())
        return total

    def harvest_driver_counts(self) -> Counter[str]:
        """The counters of every driver, stopped or running."""
        total = Counter(self.driver_counts)
        for node in self.nodes:
            if node.driver is not None:
                total.update(node.driver.counters)
        return total

    def leader_hint(self) -> int:
        """The leader of the highest view any honest node has spoken in (for leader-isolating partitions)."""
        cores = [n.driver.core for n in self.nodes if n.role is None and n.driver is not None]
        if not cores:
            index = leader_index(leader_candidates(self.committee), self.max_view)
            return self.key_owner[self.committee.slots[index].bls_public_key]
        core = max(cores, key=lambda c: (c.height, c.view))
        return self.key_owner[core.roster.key_bytes[core.leader_of(self.max_view)]]

    def _penalized(self, peer: str, reason: str) -> None:
        self.drops[f"sim: peer penalized ({reason})"] += 1

    # -- validation ---------------------------------------------------------------------------------
    def _valid(self, block: Block, now_ms: int) -> bool:
        """A simulated validator's check: its shard, not too far in its future, body matching the header."""
        header = block.header
        if header.shard_id != SHARD_ID:
            return False
        if header.time > GENESIS_TIME_S + now_ms // 1000 + MAX_FUTURE_S:
            return False
        try:
            check_body_roots(block)
        except HarmonyError:
            return False
        return True

    # -- what the drivers do ------------------------------------------------------------------------
    def collect_evidence(self, node: SimNode) -> None:
        """Report the double-sign evidence ``node``'s driver kept since last asked."""
        driver = node.driver
        if driver is None:
            return
        while driver.evidence:
            evidence = driver.evidence.pop(0)
            self.evidence_count += 1
            for key in double_signed_keys(evidence.conflicting_votes):
                self.observer.evidence(node.index, key)
            self.observer.trace(f"evidence n{node.index} h={evidence.moment.height}")

    def emit(self, node: SimNode, msg: Message, receivers: list[int], *, to_self: bool = False) -> None:
        """Put ``node``'s ``msg`` on the network to ``receivers`` (or back to itself)."""
        if node.role is None:
            self.max_view = max(self.max_view, msg.view_id)
            self._record_signatures(node, msg)
        if to_self:
            data = msg.encode()
            self.scheduler.after(
                0, f"self n{node.index}", lambda: self._deliver(node.index, node.index, data)
            )
            return
        if node.byzantine is not None:
            sends = node.byzantine.outgoing(msg, receivers)
        else:
            data = msg.encode()
            sends = [(r, data) for r in receivers]
        label = MsgType(msg.type).name
        for dst, data in sends:
            self.network.send(node.index, dst, data, label)

    def _record_signatures(self, node: SimNode, msg: Message) -> None:
        """Report every vote-like signature an honest node sends (for the no-double-sign checker)."""
        kind = MsgType(msg.type)
        phase = {
            MsgType.ANNOUNCE: "announce",
            MsgType.PREPARE: "prepare",
            MsgType.COMMIT: "commit",
        }.get(kind)
        now = self.scheduler.now_ms
        if phase is not None:
            for i in decode_bitmap(msg.senders, len(self.committee.slots)):
                key = self.committee.slots[i].bls_public_key
                self.observer.signed(
                    SignedPayload(
                        node.index, key, msg.shard_id, msg.block_num, msg.view_id, phase, msg.block_hash, now
                    )
                )
        elif kind is MsgType.VIEWCHANGE:
            try:
                body = ViewChangeBody.decode(msg.payload)
            except HarmonyError:
                return
            for i in decode_bitmap(msg.senders, len(self.committee.slots)):
                key = self.committee.slots[i].bls_public_key
                self.observer.signed(
                    SignedPayload(
                        node.index, key, msg.shard_id, msg.block_num, msg.view_id, "viewchange", body.m1, now
                    )
                )

    def _on_commit(self, node: SimNode, commit: Commit) -> None:
        block_hash = commit.block.hash()
        self.observer.trace(f"commit n{node.index} h={commit.height} {block_hash.hex()[:16]}")
        if node.role is None:
            self.observer.finalized(
                Finalized(
                    node.index,
                    commit.block.header,
                    block_hash,
                    commit.commit_signature,
                    commit.bitmap,
                    self.scheduler.now_ms,
                )
            )

    # -- sync ---------------------------------------------------------------------------------------
    def _request_sync(self, node: SimNode, from_height: int) -> None:
        peers = [n.index for n in self.nodes if n.index != node.index]
        self.rng.shuffle(peers)
        for peer in sorted(peers[:2]):
            self.network.send(node.index, peer, SyncRequest(from_height), "SYNC-REQ")

    def _answer_sync(self, node: SimNode, requester: int, from_height: int) -> None:
        start = max(1, from_height)
        blocks = tuple(
            (c.block, c.commit_signature, c.bitmap) for c in node.chain[start - 1 : start - 1 + SYNC_BATCH]
        )
        if blocks:
            self.network.send(node.index, requester, SyncResponse(blocks), "SYNC-RESP")

    # -- delivery -----------------------------------------------------------------------------------
    def _deliver(self, src: int, dst: int, payload: Payload) -> None:
        if isinstance(payload, bytes):
            self.observer.trace(f"d {src}>{dst} {hashlib.sha256(payload).hexdigest()[:12]}")
        else:
            self.observer.trace(f"d {src}>{dst} {type(payload).__name__}")
        node = self.nodes[dst]
        driver = node.driver
        if driver is None:
            self.network.counts["receiver down"] += 1
            return
        if isinstance(payload, SyncRequest):
            self._answer_sync(node, src, payload.from_height)
            return
        if isinstance(payload, SyncResponse):
            for block, sig, bitmap in payload.blocks:
                if node.driver is not driver:
                    return
                driver.sync_block(block, sig, bitmap)
                self.collect_evidence(node)
            return
        if node.byzantine is not None:
            try:
                msg: Message | None = decode_message(payload)
            except HarmonyError:
                msg = None
            for to, data in node.byzantine.incoming(payload, msg, src):
                self.network.send(dst, to, data, "FORGED")
        driver.on_message(payload, f"n{src}")
        self.collect_evidence(node)


def trace_digest(lines: Sequence[str]) -> str:
    """SHA-256 of a trace (one line per event), hex."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()
