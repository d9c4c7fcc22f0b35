"""N consensus cores wired to the simulated network: the driver the simulator shares with nothing else.

Each :class:`SimNode` holds committee keys, the durable stores a crash must not lose (the signer's state,
the write-ahead log, the finalized chain with each block's commit aggregate) and, while it is up, one core
built by :func:`harmony.consensus.api.create_core`. The cluster carries out the core's effects:

- ``Broadcast``/``Send``: encoded to bytes and handed to :class:`harmony.sim.network.Network` (a Byzantine
  node's bytes pass through its :class:`harmony.sim.byzantine.Byzantine` wrapper first);
- ``SetTimer``/``CancelTimer``: scheduled on the node's skewed clock (:mod:`harmony.sim.clock`);
- ``RequestProposal``: a real empty :class:`~harmony.types.block.Block` from ``build_proposal`` with the
  parent's commit aggregate and the leader's local time;
- ``RequestSync``: a sync request over the network to two peers, answered with up to 32 finalized blocks and
  their commit aggregates, fed to ``on_sync_block``;
- ``Commit``: appended to the node's chain and reported to the checkers (honest nodes only);
- ``DoubleSignDetected``: counted and checked against the honest keys.

A crash drops the core and its timers (a torn, partial WAL record is appended with some probability); a
restart builds a new core from the same stores and the node's last finalized block.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from harmony.chain.genesis import dev_bls_key, dev_validator_key
from harmony.consensus.api import (
    Broadcast,
    CancelTimer,
    ChainTip,
    Commit,
    ConsensusConfig,
    DoubleSignDetected,
    Effect,
    MemoryLogStore,
    MemorySignerStore,
    RequestProposal,
    RequestSync,
    Send,
    SetTimer,
    Timer,
    TimerKind,
    build_proposal,
    create_core,
    genesis_tip,
)
from harmony.consensus.leader import leader_candidates, leader_index
from harmony.consensus.messages import Message, MsgType, ViewChangeBody, decode_message
from harmony.crypto import bls
from harmony.crypto.bitmap import decode_bitmap
from harmony.errors import HarmonyError
from harmony.sim.byzantine import Byzantine
from harmony.sim.checkers import CommitteeView, Finalized, SignedPayload
from harmony.sim.clock import NodeClock
from harmony.sim.faults import ByzantineRole, FaultPlan
from harmony.sim.network import Network
from harmony.sim.scheduler import EventHandle, Scheduler
from harmony.types.block import Block, check_body_roots
from harmony.types.header import Header
from harmony.types.shard_state import Committee, Slot
from harmony.types.slash import double_signed_keys

if TYPE_CHECKING:
    from harmony.consensus.core import ConsensusCore

SHARD_ID = 0
GENESIS_TIME_S = 1_700_000_000
"""Unix time of the simulated genesis; a node's header time is this plus its local clock."""
SYNC_BATCH = 32
"""Most blocks one sync response carries."""
MAX_FUTURE_S = 15
"""A validator refuses a block whose time is further than this ahead of its own clock."""


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
class StoredBlock:
    """A finalized block as the node's chain database keeps it."""

    block: Block
    signature: bytes
    bitmap: bytes
    view_id: int


@dataclass
class SimNode:
    """One simulated node: keys, durable stores, and its core while it is up."""

    index: int
    keys: tuple[bls.SecretKey, ...]
    clock: NodeClock
    role: ByzantineRole | None
    signer_store: MemorySignerStore = field(default_factory=MemorySignerStore)
    log_store: MemoryLogStore = field(default_factory=MemoryLogStore)
    chain: list[StoredBlock] = field(default_factory=list)
    """Finalized blocks 1, 2, … (durable: survives a crash)."""
    core: ConsensusCore | None = None
    timers: dict[TimerKind, EventHandle] = field(default_factory=dict)
    byzantine: Byzantine | None = None
    restarts: int = 0

    @property
    def up(self) -> bool:
        """Whether the node is running."""
        return self.core is not None

    @property
    def height(self) -> int:
        """Its highest finalized block number."""
        return len(self.chain)


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
    ) -> None:
        self.scheduler = scheduler
        self.rng = rng
        self.plan = plan
        self.observer = observer
        self.drops: Counter[str] = Counter()
        """Reasons the cores dropped messages (summed over nodes), plus the driver's own counts."""
        self.evidence_count = 0
        self.max_view = 0
        """The highest view of any message an honest node sent."""
        self.blocks_built = 0
        key_index = 0
        self.nodes: list[SimNode] = []
        slots: list[Slot] = []
        self.key_owner: dict[bytes, int] = {}
        for node_index, count in enumerate(keys_per_node):
            keys = tuple(sim_key(key_index + j) for j in range(count))
            key_index += count
            account = dev_validator_key(SHARD_ID, node_index).address
            for key in keys:
                slots.append(Slot(account, key.public_key.to_bytes()))
                self.key_owner[key.public_key.to_bytes()] = node_index
            skew = plan.skews[node_index] if node_index < len(plan.skews) else None
            clock = NodeClock(skew.offset_ms, skew.drift_ppm) if skew else NodeClock()
            self.nodes.append(SimNode(node_index, keys, clock, plan.byzantine.get(node_index)))
        self.committee = Committee(SHARD_ID, tuple(slots))
        self.committee_view = CommitteeView(
            SHARD_ID, tuple(bls.PublicKey(s.bls_public_key) for s in slots), (1,) * len(slots)
        )
        self.honest = tuple(n.index for n in self.nodes if n.role is None)
        self.honest_keys = frozenset(k.public_key.to_bytes() for i in self.honest for k in self.nodes[i].keys)
        self.genesis = Header.genesis(shard_id=SHARD_ID, time=GENESIS_TIME_S)
        self._timeouts = (phase_timeout_ms, view_change_timeout_ms, block_time_ms, max_backoff_exponent)
        self.skip_absent_leaders = skip_absent_leaders
        committee_keys = [s.bls_public_key for s in slots]
        for node in self.nodes:
            if node.role is not None:
                node.byzantine = Byzantine(node.role, node.index, node.keys, committee_keys, rng)
        self.network: Network[Payload] = Network(scheduler, rng, len(self.nodes), self._deliver, plan.link)

    # -- lifecycle ----------------------------------------------------------------------------------
    def _config(self, node: SimNode) -> ConsensusConfig:
        phase, view_change, block_time, backoff = self._timeouts
        return ConsensusConfig(
            shard_id=SHARD_ID,
            epoch=0,
            committee=self.committee,
            keys=node.keys,
            phase_timeout_ms=phase,
            view_change_timeout_ms=view_change,
            block_time_ms=block_time,
            max_backoff_exponent=backoff,
            clock_origin_unix_ms=GENESIS_TIME_S * 1000,
            skip_absent_leaders=self.skip_absent_leaders,
        )

    def _tip(self, node: SimNode) -> ChainTip:
        if not node.chain:
            return genesis_tip(self.genesis)
        last = node.chain[-1]
        return ChainTip(last.block.header, last.signature, last.bitmap, last.view_id)

    def local_now(self, node: SimNode) -> int:
        """The node's clock now."""
        return node.clock.local(self.scheduler.now_ms)

    def start_node(self, index: int) -> None:
        """Start (or restart from its stores) node ``index``."""
        node = self.nodes[index]
        if node.up:
            return
        node.core = create_core(
            self._config(node),
            node.signer_store,
            node.log_store,
            self._tip(node),
            validator=self._validator(node),
        )
        self.observer.trace(f"start n{index} h={node.height}")
        self._run(node, node.core.start(self.local_now(node)))

    def crash(self, index: int) -> None:
        """Stop node ``index``: its core and timers are gone, its stores stay (maybe with a torn WAL tail)."""
        node = self.nodes[index]
        if not node.up:
            return
        self._harvest_drops(node)
        node.core = None
        for handle in node.timers.values():
            handle.cancel()
        node.timers.clear()
        if self.rng.random() < 0.3:
            node.log_store.append(bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 40))))
            self.drops["sim: torn wal tail written at crash"] += 1
        node.restarts += 1
        self.observer.trace(f"crash n{index} h={node.height}")

    def _harvest_drops(self, node: SimNode) -> None:
        if node.core is not None:
            self.drops.update(node.core.drops)
            node.core.drops.clear()

    def harvest_drops(self) -> Counter[str]:
        """Collect every running core's drop counters into :attr:`drops`; returns them."""
        for node in self.nodes:
            self._harvest_drops(node)
        return self.drops

    def leader_hint(self) -> int:
        """The leader of the highest view any honest node has spoken in (for leader-isolating partitions)."""
        cores = [n.core for n in self.nodes if n.role is None and n.core is not None]
        if cores:
            core = max(cores, key=lambda c: (c.height, c.view))
            index = core.leader_of(self.max_view)
        else:
            index = leader_index(leader_candidates(self.committee), self.max_view)
        return self.key_owner[self.committee.slots[index].bls_public_key]

    # -- validation and proposals -------------------------------------------------------------------
    def _validator(self, node: SimNode) -> Callable[[Block], bool]:
        def validate(block: Block) -> bool:
            header = block.header
            if header.shard_id != SHARD_ID or header.epoch != 0:
                return False
            local_s = GENESIS_TIME_S + self.local_now(node) // 1000
            if header.time > local_s + MAX_FUTURE_S:
                return False
            try:
                check_body_roots(block)
            except HarmonyError:
                return False
            return True

        return validate

    def _propose(self, node: SimNode, request: RequestProposal) -> Block:
        self.blocks_built += 1
        local_s = GENESIS_TIME_S + self.local_now(node) // 1000
        parent_time = request.parent.time
        return build_proposal(request, time=max(local_s, parent_time), extra=f"n{node.index}".encode())

    # -- effects ------------------------------------------------------------------------------------
    def _run(self, node: SimNode, effects: list[Effect]) -> None:
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            core = node.core
            if core is None:
                return
            if isinstance(effect, Broadcast):
                others = [n.index for n in self.nodes if n.index != node.index]
                self._emit(node, effect.message, others)
            elif isinstance(effect, Send):
                dst = self.key_owner.get(effect.to)
                if dst is None:
                    self.drops["sim: send to a key nobody holds"] += 1
                elif dst == node.index:
                    self._emit(node, effect.message, [], to_self=True)
                else:
                    self._emit(node, effect.message, [dst])
            elif isinstance(effect, SetTimer):
                self._set_timer(node, effect.timer, effect.at)
            elif isinstance(effect, CancelTimer):
                handle = node.timers.pop(effect.kind, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(effect, Commit):
                self._commit(node, effect)
            elif isinstance(effect, RequestProposal):
                block = self._propose(node, effect)
                queue.extend(core.on_proposal(block, self.local_now(node)))
            elif isinstance(effect, RequestSync):
                self._request_sync(node, effect.from_height)
            elif isinstance(effect, DoubleSignDetected):
                self.evidence_count += 1
                for key in double_signed_keys(effect.evidence.conflicting_votes):
                    self.observer.evidence(node.index, key)
                self.observer.trace(f"evidence n{node.index} h={effect.evidence.moment.height}")

    def _emit(self, node: SimNode, msg: Message, receivers: list[int], *, to_self: bool = False) -> None:
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

    def _set_timer(self, node: SimNode, timer: Timer, at_local: int) -> None:
        old = node.timers.pop(timer.kind, None)
        if old is not None:
            old.cancel()
        at_global = node.clock.global_at(at_local, self.scheduler.now_ms)

        def fire() -> None:
            if node.timers.get(timer.kind) is not handle:
                return
            del node.timers[timer.kind]
            core = node.core
            if core is None:
                return
            self.observer.trace(f"timer n{node.index} {timer.kind.value} h={timer.height} v={timer.view_id}")
            self._run(node, core.on_timer(timer, self.local_now(node)))

        handle = self.scheduler.at(at_global, f"timer n{node.index} {timer.kind.value}", fire)
        node.timers[timer.kind] = handle

    def _commit(self, node: SimNode, effect: Commit) -> None:
        if effect.height != node.height + 1:
            self.drops["sim: commit out of order (ignored by the driver)"] += 1
            self.observer.trace(f"commit-out-of-order n{node.index} h={effect.height} have={node.height}")
            return
        node.chain.append(StoredBlock(effect.block, effect.commit_signature, effect.bitmap, effect.view_id))
        block_hash = effect.block.hash()
        self.observer.trace(f"commit n{node.index} h={effect.height} {block_hash.hex()[:16]}")
        if node.role is None:
            self.observer.finalized(
                Finalized(
                    node.index,
                    effect.block.header,
                    block_hash,
                    effect.commit_signature,
                    effect.bitmap,
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
            (s.block, s.signature, s.bitmap) for s in node.chain[start - 1 : start - 1 + SYNC_BATCH]
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
        core = node.core
        if core is None:
            self.network.counts["receiver down"] += 1
            return
        if isinstance(payload, SyncRequest):
            self._answer_sync(node, src, payload.from_height)
            return
        if isinstance(payload, SyncResponse):
            for block, sig, bitmap in payload.blocks:
                if node.core is None:
                    return
                self._run(node, node.core.on_sync_block(block, sig, bitmap, self.local_now(node)))
            return
        if node.byzantine is not None:
            try:
                msg: Message | None = decode_message(payload)
            except HarmonyError:
                msg = None
            for to, data in node.byzantine.incoming(payload, msg, src):
                self.network.send(dst, to, data, "FORGED")
        self._run(node, core.on_message(payload, self.local_now(node)))


def trace_digest(lines: Sequence[str]) -> str:
    """SHA-256 of a trace (one line per event), hex."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()
