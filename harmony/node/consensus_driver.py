"""The consensus driver: one FBFT core (design §3.2) and the effects it returns, for the node, the simulator
and the tests alike.

The core is a sans-IO state machine; this module is the driver's side of the contract in
:mod:`harmony.consensus.api`. Its environment is injected (:mod:`harmony.node.consensus_env`): a ``Ledger``
(the node's is :class:`~harmony.node.consensus_ledger.NodeLedger` over the real chain), ``Timers``, a
``Transport`` and a clock. The node runs it on trio (:meth:`ConsensusDriver.run`: one task takes inputs
from an inbox and the timers of a ``TimerTable``); the simulator (:mod:`harmony.sim.cluster`) and the unit
tests call :meth:`~ConsensusDriver.start`, :meth:`~ConsensusDriver.on_message`,
:meth:`~ConsensusDriver.on_timer` and :meth:`~ConsensusDriver.sync_block` from their virtual schedulers.
Effects, in order:

* ``Broadcast`` and ``Send``: handed to the transport (a conflicting COMMIT follows each of ours with
  :attr:`~ConsensusDriver.debug_equivocate`). The core has already written its signer state and WAL record
  before returning the effect (design §3.4), so a signature leaves only after that.
* ``SetTimer`` / ``CancelTimer``: to the timers; the proposal timer leads by the recent build time (early
  proposal), so that the announce, not the start of building, follows the previous one by the block time.
* ``RequestProposal``: the ledger builds the block; the core gets it back.
* ``Commit``: the ledger stores it with its aggregate; the proposer announces the new head; the ledger's
  after-commit work, the epoch switch (a fresh core when the next committee differs) and the block
  listeners follow.
* ``RequestSync``: :attr:`~ConsensusDriver.on_sync_request` (the node wakes its sync task).
* ``DoubleSignDetected``: the evidence is kept (:attr:`~ConsensusDriver.evidence`) for the beacon chain.
* ``Redeliver``: the message goes back to the core after the effects before it (its parent's ``Commit``).

Validators vote PREPARE on an announced block's consensus fields and execute it through the ledger (the
node keeps the result) while the votes travel: :meth:`ConsensusDriver.run` gives the vote's writer a few
scheduler turns, then :meth:`~harmony.consensus.core.ConsensusCore.execute_announced`; the core
commit-votes only a block that executed.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import trio

from harmony.chain.payloads import commit_payload
from harmony.consensus.api import (
    Broadcast,
    CancelTimer,
    Commit,
    ConsensusConfig,
    DoubleSignDetected,
    Effect,
    LogStore,
    Redeliver,
    RequestProposal,
    RequestSync,
    Send,
    SetTimer,
    SignerStore,
    Timer,
    TimerKind,
    create_core,
)
from harmony.consensus.core import ConsensusCore
from harmony.consensus.messages import MAX_MESSAGE_SIZE, Message, MsgType, decode_message
from harmony.consensus.signer import DoubleSignRefused, Phase, VoteSlot
from harmony.crypto.bitmap import decode_bitmap
from harmony.crypto.bls import SIGNATURE_SIZE, SecretKey, aggregate_signatures
from harmony.crypto.keccak import keccak256
from harmony.errors import DecodeError, HarmonyError
from harmony.node.consensus_env import Ledger, Timers, TimerTable, Transport
from harmony.node.wire import pack_head
from harmony.types.block import Block
from harmony.types.shard_state import Committee
from harmony.types.slash import Evidence

log = logging.getLogger("harmony.node.consensus")
propagation_log = logging.getLogger("harmony.node.propagation")
"""One line when this node announces a block and one when a leader's message first brings it a block (Unix
ms), read by ``bench/propagation.py``."""
HELD_MEMORY = 16
"""Blocks remembered as held, so that each is logged once."""

CADENCE_MARGIN = 0.002
"""Blocks aim at intervals of the block time plus this share of it, so that jitter never lets header times
(whole seconds) drift ahead of the clock. It is also capacity the chain gives up: at 1 % (before) blocks
averaged 1.01 s at best, so the chain carried 99 % of its nominal load and any backlog under a heavier one
(``bench/devnet.py`` offers 99.5 %) never drained: every run's first slow block left its transactions a
second behind for the rest of the run."""
EXECUTE_AFTER_CHECKPOINTS = 3
"""Scheduler turns the node's loop gives the tasks writing this node's PREPARE before it executes the
announced block (a turn runs every task that was ready: the stream writer takes one or two)."""
MAX_LEAD = 0.5
"""Most of a block time the proposal timer leads by (:meth:`ConsensusDriver._track_interval`). A quarter
was too little at full load on a 2-core devnet: a 148 kB proposal reached the next leader 0.2-0.4 s after
its announce, the lead stayed at its bound, and blocks came every 1.04 s on average."""
LATE_GAIN = 0.25
"""How much of each block's lateness the proposal timer's lead takes up
(:meth:`ConsensusDriver._track_interval`): small enough that one slow block barely moves it."""
BEHIND_GAIN = 0.02
"""How much of the time the chain has lost to its cadence (:attr:`ConsensusDriver._behind_ms`) the lead also
takes up at each final block. By :data:`LATE_GAIN` alone the lead settles where blocks come every block time
again, and the time lost while it got there stays lost: about four times a rise in the round's delay, as
when a devnet's first full blocks come (0.15 → 0.45 s), a backlog of a block or more that a chain at full
load then carries at its 0.2 % margin. With this share the lead overshoots until the time is made up;
0.02 with 0.25 damps it (critically, near 0.018)."""
MAX_BEHIND = 4
"""Block times :attr:`ConsensusDriver._behind_ms` counts at most either way: the most a chain makes up by
blocks faster than its block time."""

HOSTILE_DROPS = frozenset(
    {
        "malformed",
        "oversized",
        "bad_signature",
        "bad_senders",
        "bad_aggregate",
        "bad_block_hash",
        "bad_justification",
        "malformed_block",
        "invalid_block",
        "wrong_shard",
        "far_future",
    }
)
"""Core drop reasons that only a faulty or hostile sender causes (not lateness or a view change in flight):
the publishing peer is penalized for each (design §2 hostile input; the p2p host bans past a threshold)."""


def unix_ms() -> int:
    """The wall clock in Unix milliseconds (the node's ``now`` for the core)."""
    return time.time_ns() // 1_000_000


class ConsensusDriver:
    """Owns a :class:`ConsensusCore` and carries out its effects (module docstring)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        transport: Transport,
        config: ConsensusConfig,
        signer_store: SignerStore,
        log_store: LogStore,
        shard_id: int | None = None,
        timers: Timers | None = None,
        clock_ms: Callable[[], int] = unix_ms,
        work_clock: Callable[[], float] = time.perf_counter,
        counters: Counter[str] | None = None,
        all_keys: tuple[SecretKey, ...] | None = None,
        debug_equivocate: bool = False,
    ) -> None:
        self.ledger = ledger
        self.transport = transport
        self.timers: Timers = TimerTable() if timers is None else timers
        self.clock_ms = clock_ms
        self.work_clock = work_clock
        """Seconds, for how long building a proposal took (``time.perf_counter`` on a node)."""
        self.shard_id = config.shard_id if shard_id is None else shard_id
        self.all_keys = config.keys if all_keys is None else all_keys
        """Every BLS key this node holds; each epoch's core signs with those in that epoch's committee."""
        self._signer_store = signer_store
        self._log_store = log_store
        self._reconfigure: ConsensusConfig | None = None
        self._proposed: set[bytes] = set()
        self.debug_equivocate = debug_equivocate
        """Test-only: every COMMIT vote of ours goes out twice, the second for a made-up block, signed through
        the signer's :meth:`~harmony.consensus.signer.Signer.equivocate` (which records it and lifts the
        double-sign refusal for it alone) so that the network must catch and slash this node (issue 7's
        end-to-end test). Never set it on a real validator."""
        self.config = self._config_for(config, config.committee, config.epoch)
        self.core: ConsensusCore = self._new_core()
        self._inbox_send, self._inbox = trio.open_memory_channel[tuple[bytes, str | None]](1024)
        self._build_ms = 0.0
        """Moving average of how long building a proposal took here (ms): the proposal timer leads by it."""
        self._late_ms = 0.0
        """How much later than the block time blocks have lately become final here (ms, a damped running
        excess, see :meth:`_track_interval`): the proposal timer leads by it too."""
        self._behind_ms = 0.0
        """How far behind its cadence the chain is (ms): the sum of the intervals' excess over the block time
        plus :data:`CADENCE_MARGIN`, within ``MAX_BEHIND`` block times either way (ahead when negative: the
        noise of alternating intervals must average out, not drive the chain faster than the clock;
        :meth:`_track_interval`)."""
        self._last_final_ms: int | None = None
        self._held: OrderedDict[bytes, None] = OrderedDict()
        """Blocks a leader's message brought here lately (each logged once, for ``bench/propagation.py``)."""
        self.block_listeners: list[Callable[[Block], None]] = []
        self.sync_wanted = trio.Event()
        self.on_sync_request: Callable[[int], None] = self._wake_sync
        """Told the height to sync from when the core asks (the node sets :attr:`sync_wanted`)."""
        self.evidence: list[Evidence] = []
        self.counters: Counter[str] = Counter() if counters is None else counters
        self._past_drops: Counter[str] = Counter()
        """Messages the cores of earlier epochs dropped, by reason (each epoch has a fresh core)."""
        self._drops_logged: Counter[str] = Counter()
        self.started = False
        self.penalize: Callable[[str, str], None] | None = None
        """Called with (peer, reason) when a peer's message was dropped for a hostile reason."""
        self.leader_heard: Callable[[bytes, str], None] | None = None
        """Told ``(leader key, peer)`` when the core accepted a leader's message (ANNOUNCE, PREPARED,
        COMMITTED, NEWVIEW) from ``peer``: where that leader's votes can go."""

    def _new_core(self) -> ConsensusCore:
        return create_core(
            self.config, self._signer_store, self._log_store, self.ledger.tip(), validator=self._validate
        )

    # ------------------------------------------------------------------------------------------ inputs

    def start(self) -> None:
        """Start the core (after a restart: its WAL is replayed first)."""
        self._run(self.core.start(self.clock_ms()))
        self.started = True

    def deliver(self, data: bytes, peer: str | None = None) -> None:
        """A consensus message from ``peer`` (hostile bytes) for :meth:`run`; dropped when the inbox is
        full."""
        try:
            self._inbox_send.send_nowait((data, peer))
        except trio.WouldBlock:
            self.counters["inbox_full"] += 1

    def on_timer(self, timer: Timer) -> None:
        """A timer the core armed fired."""
        self._run(self.core.on_timer(timer, self.clock_ms()))

    def sync_block(self, block: Block, commit_signature: bytes, commit_bitmap: bytes) -> bool:
        """A finalized block fetched by sync: the core checks its aggregate and commits it. True if stored."""
        before = self.ledger.head_number()
        self._run(self.core.on_sync_block(block, commit_signature, commit_bitmap, self.clock_ms()))
        return self.ledger.head_number() > before

    def adopt_synced(self, stored: list[tuple[Block, bytes, bytes]]) -> None:
        """Blocks fast sync verified (each with a quorum commit aggregate) and made durable, in order: what
        a commit does after its store (cross-shard work, epoch changes, the block listeners), then a fresh
        core at the new head over the same signer state and WAL (nothing signed can be signed again)."""
        for block, signature, bitmap in stored:
            self.counters["blocks_synced"] += 1
            self._after_store(block, signature, bitmap, proposed_here=False)
            if self._reconfigure is not None:
                self.config, self._reconfigure = self._reconfigure, None
        if not stored:
            return
        self.timers.clear()
        self.ledger.forget()
        self._proposed.clear()
        self._past_drops.update(self.core.drops)
        self.core = self._new_core()
        if self.started:
            self._run(self.core.start(self.clock_ms()))

    # --------------------------------------------------------------------------------------------- loop

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """The node's loop: start the core and serve the inbox and the :class:`TimerTable` until
        cancelled."""
        table = self.timers
        assert isinstance(table, TimerTable), "the trio loop runs over a TimerTable"
        self.start()
        task_status.started()
        while True:
            item: tuple[bytes, str | None] | None = None
            with trio.move_on_after(table.delay(self.clock_ms())):
                item = await self._inbox.receive()
            if item is not None:
                self.on_message(*item)
            for timer, at in table.due(self.clock_ms()):
                if table.take(timer, at):
                    self.on_timer(timer)
            if self.core.awaiting_execution:
                # the PREPARE is queued for its stream: let it leave, then execute the block while the
                # votes travel (the core commit-votes only a block that executed)
                for _ in range(EXECUTE_AFTER_CHECKPOINTS):
                    await trio.sleep(0)
                self.core.execute_announced()

    def on_message(self, data: bytes, peer: str | None = None) -> None:
        """A consensus message from ``peer`` (hostile bytes); a hostile drop penalizes the peer."""
        drops = self.core.drops
        before = {reason: drops[reason] for reason in HOSTILE_DROPS}
        message = _decoded(data) if peer is not None else None
        dropped_before = drops.total()
        core = self.core
        effects = core.on_message(data if message is None else message, self.clock_ms())
        if message is not None and message.type in LEADER_TYPES and core.drops.total() == dropped_before:
            if self.leader_heard is not None:
                # before the effects run: the vote this message asks for goes to the peer just learned
                assert peer is not None
                (sender,) = decode_bitmap(message.senders, core.roster.size)  # the core checked its envelope
                self.leader_heard(core.roster.key_bytes[sender], peer)
            if message.block and message.block_hash not in self._held:
                self._held[message.block_hash] = None
                while len(self._held) > HELD_MEMORY:
                    self._held.popitem(last=False)
                propagation_log.info(
                    "held block %d %s at %d", message.block_num, message.block_hash.hex()[:16], unix_ms()
                )
        self._run(effects)
        if peer is None or self.penalize is None:
            return
        for reason in HOSTILE_DROPS:
            if drops[reason] > before[reason]:
                self.penalize(peer, f"consensus: {reason}")

    def drops(self) -> Counter[str]:
        """Consensus messages dropped since the driver started, by reason (``ConsensusCore.drops`` of this
        epoch's core and of the earlier ones)."""
        return self._past_drops + self.core.drops

    def publish(self, data: bytes) -> None:
        """A packed topic message for the transport."""
        self.transport.publish(data)

    def _wake_sync(self, from_height: int) -> None:
        self.sync_wanted.set()

    # ------------------------------------------------------------------------------------------ effects

    def _config_for(self, base: ConsensusConfig, committee: Committee, epoch: int) -> ConsensusConfig:
        members = set(committee.bls_public_keys())
        keys = tuple(k for k in self.all_keys if k.public_key.to_bytes() in members)
        return replace(base, committee=committee, epoch=epoch, keys=keys)

    def _run(self, effects: list[Effect]) -> None:
        self._run_effects(effects)
        if self._reconfigure is not None:
            self._start_epoch_core()

    def _start_epoch_core(self) -> None:
        """A new epoch with another committee (reference §6.2): a fresh core over the same signer state and
        WAL (so nothing already signed can be signed differently), resuming after the stored head."""
        config, self._reconfigure = self._reconfigure, None
        assert config is not None
        self.config = config
        self.timers.clear()
        self.ledger.forget()
        self._past_drops.update(self.core.drops)
        self.core = self._new_core()
        self.counters["epoch_cores"] += 1
        log.info(
            "epoch %d: committee of %d keys, %d of them ours",
            config.epoch,
            len(config.committee.slots),
            len(config.keys),
        )
        self._run_effects(self.core.start(self.clock_ms()))

    def _run_effects(self, effects: list[Effect]) -> None:
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            if isinstance(effect, (Broadcast, Send)):
                self._emit(effect)
            elif isinstance(effect, SetTimer):
                at = effect.at
                if effect.timer.kind is TimerKind.PROPOSE:
                    # start building early by what building took lately, so that the announce (not the
                    # start of building) follows the previous one by the block time, and by how late
                    # blocks have come lately
                    at -= min(int(self._build_ms + self._late_ms), int(self.config.block_time_ms * MAX_LEAD))
                self.timers.set(effect.timer, at)
            elif isinstance(effect, CancelTimer):
                self.timers.cancel(effect.kind)
            elif isinstance(effect, Commit):
                self._commit(effect)
                if self._reconfigure is not None:
                    return  # the old core's remaining effects belong to an epoch that is over
            elif isinstance(effect, RequestProposal):
                block = self._propose(effect)
                if block is not None:
                    queue.extend(self.core.on_proposal(block, self.clock_ms()))
            elif isinstance(effect, RequestSync):
                self.counters["sync_requested"] += 1
                self.on_sync_request(effect.from_height)
            elif isinstance(effect, Redeliver):
                queue.extend(self.core.on_message(effect.message, self.clock_ms()))
            elif isinstance(effect, DoubleSignDetected):
                self.evidence.append(effect.evidence)
                moment = effect.evidence.moment
                log.warning(
                    "double sign detected at height %d view %d: evidence kept for the beacon chain",
                    moment.height,
                    moment.view_id,
                )

    def _emit(self, effect: Broadcast | Send) -> None:
        message = effect.message
        if message.type in (MsgType.VIEWCHANGE, MsgType.NEWVIEW) and log.isEnabledFor(logging.INFO):
            # operators (and a failed test's logs) see where a stalled round went
            drops = self.drops()
            log.info(
                "%s for block %d: view %d (leader: committee index %d); dropped since: %s",
                MsgType(message.type).name,
                message.block_num,
                message.view_id,
                self.core.leader_of(message.view_id),
                ", ".join(f"{r} {n}" for r, n in sorted((drops - self._drops_logged).items())) or "none",
            )
            self._drops_logged = drops
        if message.type == MsgType.ANNOUNCE and message.block:
            propagation_log.info(
                "announce block %d %s bytes %d at %d",
                message.block_num,
                message.block_hash.hex()[:16],
                len(message.block),
                unix_ms(),
            )
        if isinstance(effect, Send):
            self.transport.send(effect.to, message)
        else:
            self.transport.broadcast(message)
        if self.debug_equivocate and message.type == MsgType.COMMIT:
            conflicting = self._conflicting_commit(message)
            if conflicting is not None:
                self.transport.broadcast(conflicting)

    def _conflicting_commit(self, msg: Message) -> Message | None:
        """A second COMMIT at the same height and view for another block (see :attr:`debug_equivocate`),
        signed through the signer."""
        other = keccak256(b"equivocation" + msg.block_hash)
        header_view = int.from_bytes(msg.payload[SIGNATURE_SIZE:], "little")
        payload = commit_payload(msg.block_num, other, header_view)
        try:
            at = VoteSlot(self.config.shard_id, msg.block_num, msg.view_id, Phase.COMMIT)
            signatures = self.core.signer.equivocate(self.config.keys, at, payload)
        except DoubleSignRefused:
            self.counters["equivocations_refused"] += 1
            return None
        self.counters["equivocations_sent"] += 1
        signature = aggregate_signatures(signatures)
        return replace(msg, block_hash=other, payload=signature.data + msg.payload[SIGNATURE_SIZE:])

    # ------------------------------------------------------------------------------------------ blocks

    def _validate(self, block: Block) -> bool:
        """The application check of an announced block: the ledger's (design §3.4)."""
        return self.ledger.validate(block, self.clock_ms())

    def _track_interval(self, now: int, header_time: int) -> None:
        """Blocks are due every block time, but the core counts it from when this node saw the previous
        proposal, which it sees only after the proposal travelled and waited in busy nodes' queues: so on a
        devnet at 800 tx/s blocks came every 1.19 s at 1 s blocks. Each block final here moves
        :attr:`_late_ms` by a quarter of how far its interval exceeded the block time plus
        :data:`CADENCE_MARGIN` (down when it came early), within ``[0, MAX_LEAD * block_time]``; an interval
        over two block times (a view change, a stall) is not a cadence and is skipped. Intervals then
        average a little over the block time, never less: header times are whole seconds, each after its
        parent's, and blocks faster than the clock would push them ahead of it. A final block whose header
        time (``header_time``, seconds; ``clock_origin_unix_ms`` maps it onto the clock) is more than a block
        time (and a second) ahead of this node's clock stops the lead at once. (Less is usual at 1 s blocks: a
        block built late in a second often takes the next second, its parent's plus one.)

        The excess also adds up in :attr:`_behind_ms`, of which the lead takes :data:`BEHIND_GAIN` more at
        each block: the chain then makes up, by blocks a little faster than the block time, the time it lost
        while the lead learnt a new delay. Early blocks count against it as late ones count for it, so over
        a long run intervals still average the block time plus the margin."""
        block_time = self.config.block_time_ms
        last, self._last_final_ms = self._last_final_ms, now
        if header_time * 1000 - self.config.clock_origin_unix_ms > now + max(block_time, 1000):
            self._late_ms = self._behind_ms = 0.0
            return
        if block_time <= 0 or last is None or now - last > 2 * block_time:
            return
        excess = now - last - block_time * (1 + CADENCE_MARGIN)
        bound = block_time * MAX_BEHIND
        self._behind_ms = min(bound, max(-bound, self._behind_ms + excess))
        step = LATE_GAIN * excess + BEHIND_GAIN * self._behind_ms
        self._late_ms = min(block_time * MAX_LEAD, max(0.0, self._late_ms + step))

    def _propose(self, request: RequestProposal) -> Block | None:
        started = self.work_clock()
        block = self.ledger.propose(request, self.config.keys, self.config.committee, self.clock_ms())
        if block is None:
            return None
        self._proposed.add(block.hash())
        took_ms = (self.work_clock() - started) * 1000
        self._build_ms = took_ms if self._build_ms == 0 else 0.7 * self._build_ms + 0.3 * took_ms
        return block

    def _maybe_new_epoch(self, block: Block) -> None:
        """After an epoch's last block, the next block belongs to the committee it announced (reference
        §6.2): switch cores when that committee differs from ours."""
        if not block.header.shard_state:
            return
        try:
            next_state = block.header.get_shard_state()
            if next_state is None:
                return
            committee = next_state.committee(self.shard_id)
        except HarmonyError as exc:
            log.error("block %d carries an unusable shard state: %s", block.number, exc)
            return
        epoch = block.header.epoch + 1
        if committee == self.config.committee:
            self.config = replace(self.config, epoch=epoch)
            return
        self._reconfigure = self._config_for(self.config, committee, epoch)

    def _commit(self, effect: Commit) -> None:
        head = self.ledger.head_number()
        block = effect.block
        block_hash = block.hash()
        if effect.height <= head:
            stored = self.ledger.canonical_hash(effect.height)
            if stored != block_hash:
                log.critical(
                    "consensus finalized 0x%s at height %d but 0x%s is stored",
                    block_hash.hex(),
                    effect.height,
                    (stored or b"").hex(),
                )
                self.counters["commit_conflicts_stored"] += 1
            return
        if effect.height != head + 1:
            log.error("commit of block %d skips the head %d: waiting for sync", effect.height, head)
            self.counters["commit_skips_head"] += 1
            self.on_sync_request(head + 1)
            return
        if not self.ledger.store(effect):
            self.counters["commit_failed"] += 1
            return
        self.counters["blocks_committed"] += 1
        self._track_interval(self.clock_ms(), block.header.time)
        log.info(
            "block %d 0x%s… final in view %d: %d transactions, %d gas",
            block.number,
            block_hash.hex()[:12],
            effect.view_id,
            len(block.transactions),
            block.header.gas_used,
        )
        proposed_here = block_hash in self._proposed
        if proposed_here:
            # the proposer tells the shard (non-validating nodes, members behind); every member announcing
            # each block cost the topic one message per member per block, and the syncer asks peers anyway
            self.transport.publish(pack_head(block.number, block_hash))
        self._proposed.clear()
        self._after_store(block, effect.commit_signature, effect.bitmap, proposed_here=proposed_here)

    def _after_store(self, block: Block, signature: bytes, bitmap: bytes, *, proposed_here: bool) -> None:
        """What follows a stored final block, committed here or synced: the ledger's work, the epoch
        switch, the block listeners."""
        self.ledger.after_commit(block, signature, bitmap, proposed_here)
        self._maybe_new_epoch(block)
        for listener in self.block_listeners:
            try:
                listener(block)
            except Exception:
                log.exception("a block listener failed on block %d", block.number)


LEADER_TYPES = frozenset({MsgType.ANNOUNCE, MsgType.PREPARED, MsgType.COMMITTED, MsgType.NEWVIEW})
"""Messages only the view's leader sends, under its envelope signature."""


def _decoded(data: bytes) -> Message | None:
    """``data`` decoded once for both the driver and the core, or None when it is oversized or malformed
    (the core then decodes the bytes itself and counts the drop under its reason)."""
    if len(data) > MAX_MESSAGE_SIZE:
        return None
    try:
        return decode_message(data)
    except DecodeError:
        return None
