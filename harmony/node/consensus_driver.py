"""The consensus driver: one FBFT core (design §3.2) on trio with real time, gossip, the chain and the pool.

The core is a sans-IO state machine; this module is the node's side of the contract in
:mod:`harmony.consensus.api`. One task owns the core. It takes inputs from an inbox (topic messages, blocks
fetched by sync) and from its timers, and carries out the effects the core returns, in order:

* ``Broadcast`` and ``Send``: packed as :data:`~harmony.node.wire.KIND_CONSENSUS` and handed to the
  publisher task (all consensus traffic goes over the shard topic, as in Harmony; a ``Send`` reaches everyone
  and the core of each node ignores what is not for it). The core has already written its signer state and
  WAL record to disk before returning the effect (design §3.4), so a signature leaves only after that.
* ``SetTimer`` / ``CancelTimer``: kept in a table; the loop waits for the earliest deadline or the next input.
* ``RequestProposal``: the block proposer fills a block from the pool's executable transactions
  (:meth:`Blockchain.propose_verified`) and hands it back; the executed result is kept for the commit.
* ``Commit``: the block is stored with its commit aggregate in one write transaction, then the pool, the
  RPC subscribers and the peers (a head announcement) hear of it.
* ``RequestSync``: wakes the sync task.
* ``DoubleSignDetected``: the evidence is kept; the node sends it to the beacon chain as a slash record.

Validators verify an announced block by executing it (:meth:`Blockchain.verify`) and keep the result, so a
finalized block is executed once per node. Time given to the core is Unix milliseconds
(``clock_origin_unix_ms = 0``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Protocol

import trio

from harmony.chain.errors import InvalidBlock
from harmony.chain.payloads import commit_payload
from harmony.chain.randomness import make_header_vrf
from harmony.chain.transition import BuiltBlock
from harmony.consensus.api import (
    Broadcast,
    CancelTimer,
    ChainTip,
    Commit,
    ConsensusConfig,
    DoubleSignDetected,
    Effect,
    LogStore,
    RequestProposal,
    RequestSync,
    Send,
    SetTimer,
    SignerStore,
    Timer,
    TimerKind,
    create_core,
    genesis_tip,
)
from harmony.consensus.core import ConsensusCore
from harmony.consensus.messages import MAX_MESSAGE_SIZE, Message, MsgType, decode_message
from harmony.crypto.bitmap import decode_bitmap
from harmony.crypto.bls import SIGNATURE_SIZE, SecretKey, aggregate_signatures
from harmony.crypto.keccak import keccak256
from harmony.errors import DecodeError, HarmonyError
from harmony.node.blockchain import Blockchain, VerifiedBlock
from harmony.node.txpool import TxPool
from harmony.node.wire import KIND_CONSENSUS, pack, pack_head
from harmony.types.block import Block
from harmony.types.crosslink import CrossLink
from harmony.types.cx import CXReceiptsProof
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState
from harmony.types.slash import Evidence, Record
from harmony.types.staking import StakingTransaction
from harmony.types.transaction import Transaction
from harmony.types.tx_common import TX_GAS

log = logging.getLogger("harmony.node.consensus")
propagation_log = logging.getLogger("harmony.node.propagation")
"""One line when this node announces a block and one when it first holds an announced block (Unix ms), read
by ``bench/propagation.py``."""

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
VERIFIED_CACHE = 16
"""Executed proposals kept for their commit (a few views' worth)."""
OUTBOX_SIZE = 4096
"""Topic messages waiting for the publisher; when full, new ones are dropped (the core resends its own)."""


def unix_ms() -> int:
    """The wall clock in Unix milliseconds (the core's ``now``)."""
    return time.time_ns() // 1_000_000


def chain_tip(chain: Blockchain) -> ChainTip:
    """Where consensus resumes: the stored head with its commit aggregate (genesis: no aggregate)."""
    head = chain.head
    if head.number == 0:
        return genesis_tip(head)
    sig = chain.db.get_commit_sig(head.number)
    if sig is None:
        raise HarmonyError(
            f"block {head.number} is stored without its commit signature: the data directory is damaged"
        )
    return ChainTip(head, sig[0], sig[1], head.view_id)


@dataclass(frozen=True, slots=True)
class ProposalInputs:
    """What a proposal carries besides the pool's transactions, each already verified by its pool."""

    staking: tuple[StakingTransaction, ...] = ()
    incoming_proofs: tuple[CXReceiptsProof, ...] = ()
    crosslinks: tuple[CrossLink, ...] = ()
    slash_records: tuple[Record, ...] = ()
    vdf: bytes = b""
    shard_state: ShardState | None = None
    """A non-beacon shard's copy of the next committees the beacon chain announced (reference §6.2)."""


class BlockExtras(Protocol):
    """The node's cross-shard, staking and randomness parts, as the driver sees them."""

    def proposal_inputs(self, parent: Header) -> ProposalInputs:
        """What the next block on ``parent`` should carry besides plain transactions."""
        ...

    def on_commit(self, block: Block, signature: bytes, bitmap: bytes, proposed_here: bool) -> None:
        """``block`` is final and stored with its commit aggregate (relay proofs, crosslinks, headers)."""
        ...


@dataclass(frozen=True, slots=True)
class ProposerLimits:
    """How much the leader puts in a block (beyond the gas limit the chain enforces)."""

    max_transactions: int = 5_000


class ConsensusDriver:
    """Owns a :class:`ConsensusCore` and carries out its effects (module docstring)."""

    def __init__(
        self,
        *,
        chain: Blockchain,
        pool: TxPool | None,
        config: ConsensusConfig,
        signer_store: SignerStore,
        log_store: LogStore,
        clock_ms: Callable[[], int] = unix_ms,
        limits: ProposerLimits | None = None,
        extras: BlockExtras | None = None,
        all_keys: tuple[SecretKey, ...] | None = None,
        debug_equivocate: bool = False,
    ) -> None:
        self.chain = chain
        self.pool = pool
        self.extras = extras
        self.all_keys = config.keys if all_keys is None else all_keys
        """Every BLS key this node holds; each epoch's core signs with those in that epoch's committee."""
        self._signer_store = signer_store
        self._log_store = log_store
        self._reconfigure: ConsensusConfig | None = None
        self._proposed: set[bytes] = set()
        self.debug_equivocate = debug_equivocate
        """Test-only: every COMMIT vote of ours goes out twice, the second for a made-up block, signed with
        our keys directly (bypassing the double-sign-refusing signer) so that the network must catch and slash
        this node (issue 7's end-to-end test). Never set it on a real validator."""
        config = self._config_for(config, config.committee, config.epoch)
        self.config = config
        self.clock_ms = clock_ms
        self.limits = limits or ProposerLimits()
        self.core: ConsensusCore = create_core(
            config, signer_store, log_store, chain_tip(chain), validator=self._validate
        )
        self._inbox_send, self._inbox = trio.open_memory_channel[tuple[bytes, str | None]](1024)
        self.outbox_send, self.outbox = trio.open_memory_channel[bytes](OUTBOX_SIZE)
        self._timers: dict[TimerKind, tuple[Timer, int]] = {}
        self._verified: OrderedDict[bytes, VerifiedBlock] = OrderedDict()
        self._build_ms = 0.0
        """Moving average of how long building a proposal took here (ms): the proposal timer leads by it."""
        self.block_listeners: list[Callable[[Block], None]] = []
        self.sync_wanted = trio.Event()
        self.evidence: list[Evidence] = []
        self.counters: Counter[str] = Counter()
        self._past_drops: Counter[str] = Counter()
        """Messages the cores of earlier epochs dropped, by reason (each epoch has a fresh core)."""
        self._drops_logged: Counter[str] = Counter()
        self.started = False
        self.penalize: Callable[[str, str], None] | None = None
        """Called with (peer, reason) when a peer's message was dropped for a hostile reason."""
        self.coded_send: Callable[[Message], None] | None = None
        """With coded propagation (:mod:`harmony.node.coded_propagation`): takes every message carrying a
        block of the types in ``coded_types`` instead of the topic."""
        self.coded_types: frozenset[MsgType] = frozenset()
        self.vote_route: Callable[[bytes, bytes], bool] | None = None
        """With consensus streams (:mod:`harmony.node.consensus_streams`): ``route(leader key, packed vote)``
        takes a vote for the leader's stream, or returns False and the vote goes on the topic."""
        self.leader_heard: Callable[[bytes, str], None] | None = None
        """Told ``(leader key, peer)`` when the core accepted a leader's message (ANNOUNCE, PREPARED,
        COMMITTED, NEWVIEW) from ``peer``: where that leader's votes can go."""

    # ------------------------------------------------------------------------------------------ inputs

    def deliver(self, data: bytes, peer: str | None = None) -> None:
        """A consensus message from ``peer`` (hostile bytes); dropped when the inbox is full."""
        try:
            self._inbox_send.send_nowait((data, peer))
        except trio.WouldBlock:
            self.counters["inbox_full"] += 1

    def sync_block(self, block: Block, commit_signature: bytes, commit_bitmap: bytes) -> bool:
        """A finalized block fetched by sync: the core checks its aggregate and commits it. True if stored."""
        before = self.chain.head.number
        self._run(self.core.on_sync_block(block, commit_signature, commit_bitmap, self.clock_ms()))
        return self.chain.head.number > before

    def adopt_synced(self, stored: list[tuple[Block, bytes, bytes]]) -> None:
        """Blocks fast sync verified (each with a quorum commit aggregate) and made durable, in order: what
        a commit does after its store (cross-shard work, epoch changes, the block listeners), then a fresh
        core at the new head over the same signer state and WAL (nothing signed can be signed again)."""
        for block, signature, bitmap in stored:
            self.counters["blocks_synced"] += 1
            if self.extras is not None:
                try:
                    self.extras.on_commit(block, signature, bitmap, False)
                except Exception:
                    log.exception("cross-shard work after synced block %d failed", block.number)
            self._maybe_new_epoch(block)
            if self._reconfigure is not None:
                self.config, self._reconfigure = self._reconfigure, None
            for listener in self.block_listeners:
                try:
                    listener(block)
                except Exception:
                    log.exception("a block listener failed on synced block %d", block.number)
        if not stored:
            return
        self._timers.clear()
        self._verified.clear()
        self._proposed.clear()
        self.core = create_core(
            self.config, self._signer_store, self._log_store, chain_tip(self.chain), validator=self._validate
        )
        if self.started:
            self._run(self.core.start(self.clock_ms()))

    # --------------------------------------------------------------------------------------------- loop

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Start the core and serve its inputs and timers until cancelled."""
        self._run(self.core.start(self.clock_ms()))
        self.started = True
        task_status.started()
        while True:
            delay = self._next_timer_delay()
            item: tuple[bytes, str | None] | None = None
            with trio.move_on_after(delay):
                item = await self._inbox.receive()
            if item is not None:
                self._on_message(*item)
            self._fire_due_timers()

    def _on_message(self, data: bytes, peer: str | None) -> None:
        drops = self.core.drops
        before = {reason: drops[reason] for reason in HOSTILE_DROPS}
        message = _leader_message(data) if peer is not None and self.leader_heard is not None else None
        dropped_before = drops.total()
        core = self.core
        effects = core.on_message(data if message is None else message, self.clock_ms())
        if message is not None and self.leader_heard is not None and core.drops.total() == dropped_before:
            # before the effects run: the vote this message asks for goes to the peer just learned
            assert peer is not None
            (sender,) = decode_bitmap(message.senders, core.roster.size)  # the core checked its envelope
            self.leader_heard(core.roster.key_bytes[sender], peer)
        self._run(effects)
        if peer is None or self.penalize is None:
            return
        for reason in HOSTILE_DROPS:
            if drops[reason] > before[reason]:
                self.penalize(peer, f"consensus: {reason}")

    def drops(self) -> Counter[str]:
        """Consensus messages dropped since the node started, by reason (``ConsensusCore.drops`` of this
        epoch's core and of the earlier ones)."""
        return self._past_drops + self.core.drops

    def _next_timer_delay(self) -> float:
        if not self._timers:
            return 1.0
        at = min(at for _, at in self._timers.values())
        return max(0.0, (at - self.clock_ms()) / 1000)

    def _fire_due_timers(self) -> None:
        now = self.clock_ms()
        for kind, (timer, at) in sorted(self._timers.items(), key=lambda item: item[1][1]):
            if at <= now and self._timers.get(kind) == (timer, at):
                del self._timers[kind]
                self._run(self.core.on_timer(timer, self.clock_ms()))

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
        self._timers.clear()
        self._verified.clear()
        self._past_drops.update(self.core.drops)
        self.core = create_core(
            config, self._signer_store, self._log_store, chain_tip(self.chain), validator=self._validate
        )
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
                message = effect.message
                if message.type in (MsgType.VIEWCHANGE, MsgType.NEWVIEW):
                    # operators (and a failed test's logs) see where a stalled round went
                    drops = self.drops()
                    log.info(
                        "%s for block %d: view %d (leader: committee index %d); dropped since: %s",
                        MsgType(message.type).name,
                        message.block_num,
                        message.view_id,
                        self.core.leader_of(message.view_id),
                        ", ".join(f"{r} {n}" for r, n in sorted((drops - self._drops_logged).items()))
                        or "none",
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
                if self.coded_send is not None and message.block and message.type in self.coded_types:
                    self.coded_send(message)
                elif isinstance(effect, Send) and self.vote_route is not None:
                    packed = pack(KIND_CONSENSUS, message.encode())
                    if not self.vote_route(effect.to, packed):
                        self._publish(packed)
                else:
                    self._publish(pack(KIND_CONSENSUS, message.encode()))
                if self.debug_equivocate and effect.message.type == MsgType.COMMIT:
                    self._publish(pack(KIND_CONSENSUS, self._conflicting_commit(effect.message).encode()))
            elif isinstance(effect, SetTimer):
                at = effect.at
                if effect.timer.kind is TimerKind.PROPOSE:
                    # start building early by what building took lately, so that the announce (not the
                    # start of building) follows the previous one by the block time
                    at -= min(int(self._build_ms), self.config.block_time_ms // 2)
                self._timers[effect.timer.kind] = (effect.timer, at)
            elif isinstance(effect, CancelTimer):
                self._timers.pop(effect.kind, None)
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
                self.sync_wanted.set()
            elif isinstance(effect, DoubleSignDetected):
                self.evidence.append(effect.evidence)
                moment = effect.evidence.moment
                log.warning(
                    "double sign detected at height %d view %d: evidence kept for the beacon chain",
                    moment.height,
                    moment.view_id,
                )

    def _conflicting_commit(self, msg: Message) -> Message:
        """A second COMMIT at the same height and view for another block (see :attr:`debug_equivocate`)."""
        other = keccak256(b"equivocation" + msg.block_hash)
        header_view = int.from_bytes(msg.payload[SIGNATURE_SIZE:], "little")
        payload = commit_payload(msg.block_num, other, header_view)
        signature = aggregate_signatures([k.sign(payload) for k in self.config.keys])
        self.counters["equivocations_sent"] += 1
        return replace(msg, block_hash=other, payload=signature.data + msg.payload[SIGNATURE_SIZE:])

    def publish(self, data: bytes) -> None:
        """Queue a topic message for the publisher (dropped and counted when the outbox is full)."""
        self._publish(data)

    def _publish(self, data: bytes) -> None:
        try:
            self.outbox_send.send_nowait(data)
        except trio.WouldBlock:
            self.counters["outbox_full"] += 1

    # ------------------------------------------------------------------------------------------ blocks

    def _validate(self, block: Block) -> bool:
        """The application check of an announced block: execute it on the head's state (design §3.4)."""
        block_hash = block.hash()
        if block_hash in self._verified:
            return True
        propagation_log.info("held block %d %s at %d", block.number, block_hash.hex()[:16], unix_ms())
        try:
            verified = self.chain.verify(block, now=self.clock_ms() // 1000)
        except InvalidBlock as exc:
            log.warning("rejecting block %d 0x%s: %s", block.number, block_hash.hex()[:16], exc)
            self.counters[f"invalid_block_{exc.check}"] += 1
            return False
        self._remember(verified)
        return True

    def _remember(self, verified: VerifiedBlock) -> None:
        self._verified[verified.block.hash()] = verified
        while len(self._verified) > VERIFIED_CACHE:
            self._verified.popitem(last=False)

    def _propose(self, request: RequestProposal) -> Block | None:
        head = self.chain.head
        if request.parent.hash() != head.hash():
            log.error("asked to propose on block %d, but the head is %d", request.parent.number, head.number)
            self.counters["propose_not_on_head"] += 1
            return None
        started = time.perf_counter()
        # no block holds more than gas limit / 21,000 transactions: do not try the rest
        fit = self.chain.params.gas_limit(head.epoch) // TX_GAS
        limit = min(self.limits.max_transactions, fit)
        candidates = self.pool.executable(limit) if self.pool is not None else []
        committee = self.config.committee
        try:
            coinbase = committee.address_for_bls_key(request.leader_key)
        except HarmonyError:
            coinbase = b"\x00" * 20
        inputs = self.extras.proposal_inputs(head) if self.extras is not None else ProposalInputs()
        leader = next((k for k in self.config.keys if k.public_key.to_bytes() == request.leader_key), None)
        vrf = make_header_vrf(leader, head.hash()) if leader is not None else b""
        # a header's time must be after its parent's (reference §2.1): a second block within one second
        # takes the next second (the chain then runs up to ALLOWED_FUTURE_SECONDS ahead)
        timestamp = max(self.clock_ms() // 1000, head.time + 1)
        build = partial(
            self._build, request, candidates=candidates, coinbase=coinbase, timestamp=timestamp, vrf=vrf
        )
        try:
            built, verified = build(inputs)
        except HarmonyError as exc:
            log.error("cannot build block %d: %s", request.height, exc)
            self.counters["propose_failed"] += 1
            optional = (inputs.staking, inputs.incoming_proofs, inputs.crosslinks, inputs.slash_records)
            if not any(optional):
                return None
            # a bad entry in a pool (a stale crosslink, a proof or a slash record the chain refuses) must not
            # stop this leader from proposing: build without the pools' items, which the next block retries
            plain = replace(inputs, staking=(), incoming_proofs=(), crosslinks=(), slash_records=())
            try:
                built, verified = build(plain)
            except HarmonyError as again:
                log.error("cannot build block %d without the pools' items either: %s", request.height, again)
                return None
            self.counters["propose_without_pool_items"] += 1
        self._remember(verified)
        self._proposed.add(built.block.hash())
        took_ms = (time.perf_counter() - started) * 1000
        self._build_ms = took_ms if self._build_ms == 0 else 0.7 * self._build_ms + 0.3 * took_ms
        log.info(
            "proposing block %d (view %d) with %d transactions (%d skipped) in %.0f ms",
            request.height,
            request.view_id,
            len(built.block.transactions),
            len(built.skipped),
            took_ms,
        )
        return built.block

    def _build(
        self,
        request: RequestProposal,
        inputs: ProposalInputs,
        *,
        candidates: list[Transaction],
        coinbase: bytes,
        timestamp: int,
        vrf: bytes,
    ) -> tuple[BuiltBlock, VerifiedBlock]:
        """Build and verify the block ``request`` asks for from ``inputs`` (``InvalidBlock`` if refused)."""
        return self.chain.propose_verified(
            candidates,
            coinbase=coinbase,
            timestamp=timestamp,
            view_id=request.view_id,
            last_commit=(request.last_commit_signature, request.last_commit_bitmap),
            shard_state=inputs.shard_state,
            staking_candidates=inputs.staking,
            incoming_proofs=inputs.incoming_proofs,
            crosslinks=inputs.crosslinks,
            slash_records=inputs.slash_records,
            vrf=vrf,
            vdf=inputs.vdf,
        )

    def _maybe_new_epoch(self, block: Block) -> None:
        """After an epoch's last block, the next block belongs to the committee it announced (reference
        §6.2): switch cores when that committee differs from ours."""
        if not block.header.shard_state:
            return
        try:
            next_state = block.header.get_shard_state()
            if next_state is None:
                return
            committee = next_state.committee(self.chain.shard_id)
        except HarmonyError as exc:
            log.error("block %d carries an unusable shard state: %s", block.number, exc)
            return
        epoch = block.header.epoch + 1
        if committee == self.config.committee:
            self.config = replace(self.config, epoch=epoch)
            return
        self._reconfigure = self._config_for(self.config, committee, epoch)

    def _commit(self, effect: Commit) -> None:
        head = self.chain.head
        block = effect.block
        block_hash = block.hash()
        if effect.height <= head.number:
            stored = self.chain.db.get_canonical_hash(effect.height)
            if stored != block_hash:
                log.critical(
                    "consensus finalized 0x%s at height %d but 0x%s is stored",
                    block_hash.hex(),
                    effect.height,
                    (stored or b"").hex(),
                )
            return
        if effect.height != head.number + 1:
            log.error("commit of block %d skips the head %d: waiting for sync", effect.height, head.number)
            self.sync_wanted.set()
            return
        verified = self._verified.pop(block_hash, None)
        try:
            if verified is None or verified.block.header.parent_hash != head.hash():
                verified = self.chain.verify(block, final=True)  # the core checked its commit quorum
            self.chain.store(verified, commit_sig=(effect.commit_signature, effect.bitmap))
        except HarmonyError as exc:
            log.critical("finalized block %d 0x%s cannot be stored: %s", block.number, block_hash.hex(), exc)
            self.counters["commit_failed"] += 1
            return
        self.counters["blocks_committed"] += 1
        # results of other blocks of this height or below can never be committed now: free them
        for stale in [h for h, v in self._verified.items() if v.block.number <= block.number]:
            del self._verified[stale]
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
            self._publish(pack_head(block.number, block_hash))
        self._proposed.clear()
        if self.extras is not None:
            try:
                self.extras.on_commit(block, effect.commit_signature, effect.bitmap, proposed_here)
            except Exception:
                log.exception("cross-shard work after block %d failed", block.number)
        self._maybe_new_epoch(block)
        for listener in self.block_listeners:
            try:
                listener(block)
            except Exception:
                log.exception("a block listener failed on block %d", block.number)


LEADER_TYPES = frozenset({MsgType.ANNOUNCE, MsgType.PREPARED, MsgType.COMMITTED, MsgType.NEWVIEW})
"""Messages only the view's leader sends, under its envelope signature."""


def _leader_message(data: bytes) -> Message | None:
    """``data`` decoded when it is a leader's message (:data:`LEADER_TYPES`), else None (the core decodes
    and judges everything else, and anything malformed, itself)."""
    if len(data) > MAX_MESSAGE_SIZE:
        return None
    try:
        message = decode_message(data)
    except DecodeError:
        return None
    return message if message.type in LEADER_TYPES else None
