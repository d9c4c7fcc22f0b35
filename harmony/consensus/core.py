"""The FBFT state machine: every consensus state transition, top to bottom (reference §1; style: h11).

One height at a time, in views. In view ``v`` the leader (:mod:`harmony.consensus.leader`) announces a
block and counts its own PREPARE; validators check the block's consensus fields (height, parent, view, the
parent's commit aggregate) and send PREPARE (signing ``hash ‖ view``) to the leader; with votes above 2/3
of the voting power the leader broadcasts PREPARED (aggregate ‖ bitmap); validators lock on that
certificate (WAL first) and send COMMIT; with a commit quorum the leader broadcasts COMMITTED and everyone
commits. The next block's header carries this aggregate.

**Executed before COMMIT, not before PREPARE** (reference §1.3, as Harmony's validators do): the
application's check (the driver executes the block) runs while the PREPARE votes travel
(:meth:`ConsensusCore.execute_announced`, which the node's driver calls once its vote has left) and at the
latest when PREPARED comes; a node locks and commit-votes only a block that executed. So no honest node
commits an invalid block, and a prepared certificate for one can never become final: a new leader
re-proposes the highest certificate whose block executes, never one that does not (a certificate no
longer proves that honest nodes executed its block).

Safety rules beyond the message flow:

* **Lock.** A node that commit-voted block B at a height (holding B's prepared certificate from view ``l``)
  prepares or commits another block at that height only when shown a prepared certificate for it from a
  view above ``l``. A block that reached a commit quorum has honest lockers above 1/3 of the power, so no
  other block can gather a quorum later; the signer (:mod:`harmony.consensus.signer`) makes the votes
  themselves unrepeatable.
* **View change** (reference §1.7). The phase timer expiring moves a node to view ``v + 1`` (and on, with the
  view-change timeout doubling per failed view): it sends VIEWCHANGE to that view's leader with m3 (the view),
  and m1 (its certificate, with the prepared block) or m2 (NIL). With m3 above 2/3 the new leader broadcasts
  NEWVIEW and re-proposes the highest-view certificate's block (the ANNOUNCE carries that certificate so
  locked nodes can check it), or asks for a new block.
* **Proofs move views.** A node jumps to a higher view only on a quorum proof for it: NEWVIEW (m3 aggregate),
  PREPARED (prepare aggregate binds the view) or COMMITTED. A lagging node catches up from COMMITTED, from
  the next block's last-commit aggregate, or by asking the driver to sync (:class:`RequestSync`).

Every peer message is bounded and decoded strictly, and its signatures are checked before it changes
anything; a dropped message is counted in :attr:`ConsensusCore.drops` under its reason.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from harmony.chain import payloads
from harmony.chain.quorum import Roster
from harmony.consensus.api import (
    COMMIT_WINDOW_MARGIN_MS,
    COMMIT_WINDOW_MIN_MS,
    BlockValidator,
    Broadcast,
    ChainTip,
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
)
from harmony.consensus.evidence import SeenVote, VoteBook, vote_is_valid
from harmony.consensus.leader import leader_candidates, leader_index, present_candidates
from harmony.consensus.messages import (
    MAX_MESSAGE_SIZE,
    Message,
    MsgType,
    NewViewBody,
    ViewChangeBody,
    decode_message,
)
from harmony.consensus.signer import DoubleSignRefused, Phase, Signer
from harmony.consensus.votes import VoteCollector
from harmony.consensus.wal import KIND_LOCK, KIND_SENT, KIND_VIEW, WalRecord, WriteAheadLog
from harmony.crypto.bitmap import bitmap_size, decode_bitmap, encode_bitmap, verify_aggregate
from harmony.crypto.bls import (
    SIGNATURE_SIZE,
    SecretKey,
    Signature,
    aggregate_signatures,
    verify,
)
from harmony.encoding import rlp
from harmony.encoding.schema import as_bytes, as_list
from harmony.errors import DecodeError, HarmonyError
from harmony.types.block import Block
from harmony.types.header import EMPTY_COMMIT_SIGNATURE
from harmony.types.slash import Evidence

RESEND_BACKOFF_LIMIT = 2
"""The RESEND timer's interval doubles after each resend of a round, up to ``2**RESEND_BACKOFF_LIMIT`` times
``resend_interval_ms``: a round that stalls because the machine or the network is slow is not flooded with
copies that make it slower still, while a lost message is still replaced within a few seconds."""

MAX_BUFFERED_ANNOUNCES = 8
"""ANNOUNCEs for later views kept per height until the view is entered."""

VERIFIED_MEMO_SIZE = 4096
"""Signature checks that passed, remembered so that a resent copy of a message costs no pairing again."""


class Mode(Enum):
    """Where a node is within a height (reference §1.1)."""

    NORMAL = "normal"
    VIEW_CHANGING = "view_changing"


class Stage(Enum):
    """Progress within a view in normal mode."""

    ANNOUNCE = "announce"
    """Waiting for the leader's block."""
    PREPARE = "prepare"
    """Prepare sent (or, as leader, being collected); waiting for PREPARED."""
    COMMIT = "commit"
    """Locked and commit sent (or being collected); waiting for COMMITTED."""


@dataclass(frozen=True, slots=True)
class Certificate:
    """A prepared certificate: a prepare quorum for ``block`` in ``view`` (the lock)."""

    block: Block
    view: int
    signature: bytes
    bitmap: bytes

    @property
    def block_hash(self) -> bytes:
        """The certified block's hash."""
        return self.block.hash()

    def m1(self) -> bytes:
        """The m1 form (reference §1.7 plus the view)."""
        return payloads.m1_payload(self.block_hash, self.view, self.signature, self.bitmap)


@dataclass(slots=True)
class _ViewChangeVote:
    m3: Signature
    nil: Signature | None
    certificate: Certificate | None


class _Drop(Exception):
    """A message is refused; the reason is counted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _commit_vote(msg: Message, senders: tuple[int, ...]) -> SeenVote:
    """A COMMIT of the right size as a vote: its signature and the header view after it (reference §1.3)."""
    return SeenVote(
        senders,
        msg.block_hash,
        int.from_bytes(msg.payload[SIGNATURE_SIZE:], "little"),
        msg.payload[:SIGNATURE_SIZE],
    )


class ConsensusCore:
    """One node's FBFT state machine for one shard (inputs and effects: :mod:`harmony.consensus.api`)."""

    def __init__(
        self,
        config: ConsensusConfig,
        signer_store: SignerStore,
        log_store: LogStore,
        tip: ChainTip,
        *,
        validator: BlockValidator | None = None,
    ) -> None:
        self.config = config
        self.roster = Roster(config.committee, config.harmony_vote_share)
        self.candidates = leader_candidates(config.committee)
        mine = {k.public_key.data: k for k in config.keys}
        self.my_indices: tuple[int, ...] = tuple(
            i for i, key in enumerate(self.roster.key_bytes) if key in mine
        )
        self.my_keys: tuple[SecretKey, ...] = tuple(mine[self.roster.key_bytes[i]] for i in self.my_indices)
        self.signer = Signer(signer_store)
        self.wal = WriteAheadLog(log_store)
        self.validator = validator
        self.drops: Counter[str] = Counter()
        """Dropped inputs by reason; the node exports it as a metric."""
        self.evidence_found: list[DoubleSignDetected] = []
        self.resent = 0
        """How many messages the RESEND timer rebroadcast (a metric)."""
        self.pairing_checks = 0
        """Signature checks that ran (a memoized one does not count)."""
        self._passed: OrderedDict[tuple[bytes, bytes, bytes], None] = OrderedDict()
        """Checks that passed, by (signer key or quorum bitmap, payload, signature): see :meth:`_checked`."""
        self.vote_book = VoteBook(config.committee, config.epoch, tip.header.number + 1)
        self.previous_votes: VoteBook | None = None
        """The commit votes of the height just finished (see :meth:`_late_commit`)."""
        self._enter_height(tip, tip.view_id + 1)
        self._resend: list[Broadcast | Send] = []
        """This node's own messages of the round ``_resend_round``, rebroadcast by the RESEND timer."""
        self._resend_round: tuple[int, int] = (self.height, self.view)
        self._resend_armed = False
        self._resends_this_round = 0

    # ------------------------------------------------------------------------------------ state reset

    def _enter_height(self, tip: ChainTip, view: int) -> None:
        self.tip = tip
        self.height = tip.header.number + 1
        self.leaders = present_candidates(self.candidates, self._parent_signers(tip))
        """This height's leader rotation (:mod:`harmony.consensus.leader`)."""
        self.lock: Certificate | None = None
        self.known: dict[bytes, Block] = {}
        self._executed: dict[bytes, bool] = {}
        """The application's verdict on each of this height's blocks it has checked, by hash."""
        self._encoded: dict[bytes, bytes] = {}
        """Encodings of this height's blocks by hash: a block is encoded once (or kept as received) for every
        message and lock record that carries it, and a block already known is never decoded again."""
        self._announced_at: dict[bytes, int] = {}
        """When this node announced or accepted the ANNOUNCE of each of this height's blocks (its clock)."""
        finished = self.vote_book.height == tip.header.number
        self.previous_votes = self.vote_book if finished else None
        self.vote_book = VoteBook(self.config.committee, self.config.epoch, self.height)
        self.view_changes: dict[int, dict[int, _ViewChangeVote]] = {}
        self.seen_views: dict[int, int] = {}
        self.future_announces: dict[int, Message] = {}
        self.failed_views = 0
        # the tip's own aggregate is verified already (this node finalized or synced it): a proposal carrying
        # it needs no second check, and across an epoch boundary it could not be checked anyway, since the
        # previous committee signed it (reference §6.2)
        self._last_commit_ok: tuple[bytes, bytes] | None = (
            (tip.commit_signature, tip.commit_bitmap) if tip.header.number > 0 else None
        )
        self._sync_asked: tuple[int, int] | None = None
        self._enter_view(view, Mode.NORMAL)

    def _enter_view(self, view: int, mode: Mode) -> None:
        self.view = view
        self.mode = mode
        self.stage = Stage.ANNOUNCE
        self.block: Block | None = None
        self.prepares: VoteCollector | None = None
        self.commits: VoteCollector | None = None
        self._window_end: int | None = None
        """While the leader holds a commit quorum and waits for the other members' commits: until when."""

    # ---------------------------------------------------------------------------------------- queries

    def leader_of(self, view: int) -> int:
        """Committee index of the leader of ``view`` at this height: the first round of views goes over the
        parent commit's signers, later views over every candidate (a bitmap that names only dead members,
        one of another committee at an epoch's first block, cannot stall the height)."""
        if view - (self.tip.header.view_id + 1) < len(self.leaders):
            return leader_index(self.leaders, view)
        return leader_index(self.candidates, view)

    def _parent_signers(self, tip: ChainTip) -> tuple[int, ...]:
        """Who signed the commit of the tip's parent, from the tip header alone (never from this node's
        configuration, e.g. its epoch: a restarted node's differs from a running one's, and the leaders then
        differ); empty when the bitmap does not fit this committee."""
        header = tip.header
        if not self.config.skip_absent_leaders or header.number < 2:
            return ()
        try:
            return decode_bitmap(header.last_commit_bitmap, self.roster.size)
        except HarmonyError:
            return ()

    # The view schedule (Harmony's time-based view IDs, reference §1.7): view ``first + i`` of a height owns
    # the time slot ``i`` after the tip's header time, slot lengths doubling from the view-change timeout up
    # to ``2**max_backoff_exponent`` times it. Every node computes the same slots from the same header, and
    # both timers end at slot boundaries, so nodes whose views drifted apart (a restart, lost NEWVIEWs) meet
    # again: a timeout never moves a node below the scheduled view, and a node beyond it waits there. The
    # schedule counts from the tip header's own view, which every node agrees on (the view a node saw the
    # tip committed in may differ: a re-proposed locked block keeps its header view).

    def _slot_start(self, index: int) -> int:
        """Milliseconds from the tip's header time to the start of slot ``index``."""
        base, cap = self.config.view_change_timeout_ms, self.config.max_backoff_exponent
        if index <= cap:
            return base * ((1 << index) - 1)
        return base * ((1 << cap) - 1) + (index - cap) * (base << cap)

    def _schedule_origin(self) -> int:
        """The tip's header time on the core's clock (ms)."""
        return self.tip.header.time * 1000 - self.config.clock_origin_unix_ms

    def scheduled_view(self, now: int) -> int:
        """The view whose slot contains ``now``."""
        elapsed = now - self._schedule_origin()
        base, cap = self.config.view_change_timeout_ms, self.config.max_backoff_exponent
        if elapsed < 0:
            index = 0
        elif elapsed >= self._slot_start(cap):
            index = cap + (elapsed - self._slot_start(cap)) // (base << cap)
        else:
            index = 0
            while self._slot_start(index + 1) <= elapsed:
                index += 1
        return self.tip.header.view_id + 1 + index

    def _slot_end(self, view: int, now: int) -> int:
        """When the slot of ``view`` ends (at least 1 ms after ``now``)."""
        index = max(0, view - (self.tip.header.view_id + 1))
        return max(now + 1, self._schedule_origin() + self._slot_start(index + 1))

    def is_leader(self, view: int | None = None) -> bool:
        """Whether this node holds the leader key of ``view`` (default: the current view)."""
        return self.leader_of(self.view if view is None else view) in self.my_indices

    def leads_within(self, views: int) -> bool:
        """Whether this node may lead the current view or one of the next ``views`` (a node's last signature
        keeps it among the leaders of the next two heights' first views: :meth:`_parent_signers`); a node
        leaving gracefully waits until this is False. The next height's list is read from the tip's commit
        aggregate (the next header's bitmap, when its leader holds the same aggregate, as it does when one
        leader's COMMITTED brought it); later heights' lists depend on signatures not made yet, so the whole
        candidate list is read too (a member missing from one bitmap shifts the rotation: with this height's
        list alone, a stopped node still led a view two blocks later in 2 of 3 devnet runs under load)."""
        if not self.my_indices:
            return False
        upcoming = self._next_height_leaders()
        for k in range(views + 1):
            view = self.view + k
            if self.is_leader(view) or leader_index(self.candidates, view) in self.my_indices:
                return True
            if k > 0 and leader_index(upcoming, view) in self.my_indices:
                return True
        return False

    def _next_height_leaders(self) -> tuple[int, ...]:
        """The next height's first-round leaders as this node expects them: the candidates that signed the
        tip's commit as this node holds it (see :meth:`leads_within`)."""
        if not self.config.skip_absent_leaders or self.tip.header.number < 1:
            return self.candidates
        try:
            signed = decode_bitmap(self.tip.commit_bitmap, self.roster.size)
        except HarmonyError:
            return self.candidates
        return present_candidates(self.candidates, signed)

    # ------------------------------------------------------------------------------------------ inputs
    # Each input runs its handler, then records the node's own messages for the RESEND timer.

    def start(self, now: int) -> list[Effect]:
        """Begin at the tip, after replaying the WAL (a restarted node resumes its view and lock)."""
        return self._track(self._start(now), now)

    def on_message(self, data: bytes | Message, now: int) -> list[Effect]:
        """A message from a peer (bytes, or already decoded); refused input is counted in :attr:`drops`."""
        return self._track(self._on_message(data, now), now)

    def on_timer(self, timer: Timer, now: int) -> list[Effect]:
        """A timer fired: phase timeout → view change; view-change timeout → next view; propose; resend."""
        if timer.kind is TimerKind.RESEND:
            self._resend_armed = False
            return self._track(self._resend_round_messages(), now)
        return self._track(self._on_timer(timer, now), now)

    def on_proposal(self, block: Block, now: int) -> list[Effect]:
        """The driver's block for our :class:`RequestProposal`: announce it (reference §1.3)."""
        return self._track(self._on_proposal(block, now), now)

    def on_sync_block(
        self, block: Block, commit_signature: bytes, commit_bitmap: bytes, now: int
    ) -> list[Effect]:
        """A finalized block and its commit aggregate from sync: verify, finalize, go to the next height."""
        return self._track(self._on_sync_block(block, commit_signature, commit_bitmap, now), now)

    def _track(self, out: list[Effect], now: int) -> list[Effect]:
        """Remember this round's own messages and keep a RESEND timer armed while there are any.

        Rebroadcasting is safe: the messages are the very ones already signed (nothing new is signed) and
        receivers drop duplicates; it makes the protocol live under message loss, since a lost VIEWCHANGE,
        NEWVIEW or vote is replaced within one interval once the network delivers again. The interval
        doubles with each resend of the round (:data:`RESEND_BACKOFF_LIMIT`).
        """
        round_now = (self.height, self.view)
        if round_now != self._resend_round:
            self._resend = []
            self._resend_round = round_now
            self._resends_this_round = 0
        for effect in out:
            if isinstance(effect, Broadcast | Send):
                msg = effect.message
                if (msg.block_num, msg.view_id) == round_now and effect not in self._resend:
                    self._resend.append(effect)
        if self.mode is Mode.NORMAL:
            # the view is entered (NEWVIEW or a quorum proof): its VIEWCHANGE has done its work, and every
            # receiver would only drop it as stale
            self._resend = [e for e in self._resend if e.message.type is not MsgType.VIEWCHANGE]
        interval = self.config.resend_interval_ms << min(self._resends_this_round, RESEND_BACKOFF_LIMIT)
        if interval > 0 and self._resend and not self._resend_armed:
            self._resend_armed = True
            out = [*out, SetTimer(Timer(TimerKind.RESEND, self.height, self.view), now + interval)]
        return out

    def _resend_round_messages(self) -> list[Effect]:
        """The RESEND timer: this round's own messages again (already signed, already logged)."""
        if (self.height, self.view) != self._resend_round:
            return []
        self.resent += len(self._resend)
        self._resends_this_round += 1
        return list(self._resend)

    # ------------------------------------------------------------------------------------ handlers

    def _start(self, now: int) -> list[Effect]:
        """Begin at the tip, after replaying the WAL (a restarted node resumes its view and lock)."""
        out: list[Effect] = []
        for record in self.wal.open():
            if record.height != self.height:
                continue
            if record.kind == KIND_VIEW and record.view > self.view:
                self._enter_view(record.view, Mode.NORMAL)
            elif record.kind == KIND_LOCK:
                try:
                    self.lock = _decode_lock(record.data, record.view)
                except (DecodeError, HarmonyError):
                    continue
            elif record.kind == KIND_SENT and record.view == self.view:
                to, data = record.data[:48], record.data[48:]
                message = Message.decode(data)
                out.append(Send(to, message) if any(to) else Broadcast(message))
        out += self._begin_view(now)
        return out

    def _on_message(self, data: bytes | Message, now: int) -> list[Effect]:
        """Handle bytes from a peer; anything refused is counted in :attr:`drops` and changes nothing."""
        try:
            msg = data if isinstance(data, Message) else self._decode(data)
            return self._dispatch(msg, now)
        except _Drop as drop:
            self.drops[drop.reason] += 1
            return []

    def _on_timer(self, timer: Timer, now: int) -> list[Effect]:
        """A timer fired: phase timeout → view change; view-change timeout → next view; propose."""
        if timer.height != self.height or timer.view_id != self.view:
            return []
        if timer.kind is TimerKind.COMMIT_WINDOW or (
            timer.kind is TimerKind.PHASE and self._window_end is not None
        ):
            return self._close_commit_window(now)
        if timer.kind is TimerKind.PHASE and self.mode is Mode.NORMAL:
            return self._start_view_change(max(self.view + 1, self.scheduled_view(now)), now)
        if timer.kind is TimerKind.VIEW_CHANGE and self.mode is Mode.VIEW_CHANGING:
            target = self.scheduled_view(now)
            if target <= self.view:  # ahead of the schedule: wait here for the others
                deadline = self._slot_end(self.view, now)
                return [SetTimer(Timer(TimerKind.VIEW_CHANGE, self.height, self.view), deadline)]
            return self._start_view_change(target, now)
        if timer.kind is TimerKind.PROPOSE and self.mode is Mode.NORMAL and self.block is None:
            return self._request_proposal()
        return []

    def _on_proposal(self, block: Block, now: int) -> list[Effect]:
        """The driver's block for our :class:`RequestProposal`: announce it (reference §1.3)."""
        if not self.is_leader() or self.mode is not Mode.NORMAL or self.block is not None:
            self.drops["unwanted_proposal"] += 1
            return []
        if block.header.view_id != self.view or self.lock is not None:
            self.drops["unwanted_proposal"] += 1
            return []
        reason = self._check_block(block)
        if reason is not None:
            self.drops[f"proposal_{reason}"] += 1
            return []
        return self._announce(block, b"", now)

    def _on_sync_block(
        self, block: Block, commit_signature: bytes, commit_bitmap: bytes, now: int
    ) -> list[Effect]:
        """A finalized block fetched for :class:`RequestSync`: commit it once its aggregate checks out."""
        if block.number != self.height or block.header.parent_hash != self.tip.header.hash():
            self.drops["sync_unexpected"] += 1
            return []
        if not self._commit_quorum(block, commit_signature, commit_bitmap):
            self.drops["sync_bad_aggregate"] += 1
            return []
        return self._finalize(block, commit_signature, commit_bitmap, block.header.view_id, now)

    # ------------------------------------------------------------------------------ decoding, routing

    def _decode(self, data: bytes) -> Message:
        if len(data) > MAX_MESSAGE_SIZE:
            raise _Drop("oversized")
        try:
            return decode_message(data)
        except DecodeError as exc:
            raise _Drop("malformed") from exc

    def _dispatch(self, msg: Message, now: int) -> list[Effect]:
        if msg.shard_id != self.config.shard_id:
            raise _Drop("wrong_shard")
        if msg.block_num < self.height:
            book = self.previous_votes
            if msg.msg_type is MsgType.COMMIT and book is not None and msg.block_num == book.height:
                return self._late_commit(msg, book)
            raise _Drop("stale_height")
        if msg.block_num > self.height + self.config.max_height_gap:
            raise _Drop("far_future")
        if msg.block_num == self.height and msg.view_id > self.view + self.config.max_view_gap:
            raise _Drop("far_future")
        senders = self._senders(msg)
        if set(senders) & set(self.my_indices):
            raise _Drop("own_message")
        kind = msg.msg_type
        if kind not in (MsgType.PREPARE, MsgType.COMMIT):
            if len(senders) != 1:
                raise _Drop("bad_senders")
            if not self._envelope_ok(msg, senders[0]):
                raise _Drop("bad_signature")
        if msg.block_num > self.height:
            return self._future_height(msg, senders, now)
        if kind is MsgType.ANNOUNCE:
            return self._on_announce(msg, senders[0], now)
        if kind is MsgType.PREPARE:
            return self._on_vote(msg, senders, now, commit=False)
        if kind is MsgType.PREPARED:
            return self._on_prepared(msg, senders[0], now)
        if kind is MsgType.COMMIT:
            return self._on_vote(msg, senders, now, commit=True)
        if kind is MsgType.COMMITTED:
            return self._on_committed(msg, senders[0], now)
        if kind is MsgType.VIEWCHANGE:
            return self._on_view_change(msg, senders[0], now)
        return self._on_new_view(msg, senders[0], now)

    def _senders(self, msg: Message) -> tuple[int, ...]:
        try:
            senders = decode_bitmap(msg.senders, self.roster.size)
        except HarmonyError as exc:
            raise _Drop("bad_senders") from exc
        if not senders:
            raise _Drop("bad_senders")
        return senders

    def _envelope_ok(self, msg: Message, sender: int) -> bool:
        try:
            signature = Signature(msg.signature)
        except HarmonyError:
            return False
        return self._verify_one(sender, msg.signing_hash(), signature)

    def _block_of(self, msg: Message) -> Block:
        """The message's block: one already seen with that hash (an attached copy is not decoded again; the
        message is about the hash, and the known block has it), else the attached one."""
        known = self.known.get(msg.block_hash)
        if known is not None:
            return known
        if not msg.block:
            raise _Drop("missing_block")
        try:
            block = Block.decode(msg.block)
        except DecodeError as exc:
            raise _Drop("malformed_block") from exc
        block_hash = block.hash()
        if block_hash != msg.block_hash:
            raise _Drop("bad_block_hash")
        if block.number == self.height:
            self._encoded[block_hash] = bytes(msg.block)  # strict decoding: these are the canonical bytes
        return block

    def _block_bytes(self, block: Block) -> bytes:
        """The block's encoding, made once per height."""
        block_hash = block.hash()
        data = self._encoded.get(block_hash)
        if data is None:
            data = block.encode()
            if block.number == self.height:
                self._encoded[block_hash] = data
        return data

    def _require_leader(self, sender: int, view: int) -> None:
        if sender != self.leader_of(view):
            raise _Drop("not_leader")

    # ------------------------------------------------------------------------------------ normal flow

    def _on_announce(self, msg: Message, sender: int, now: int) -> list[Effect]:
        """ANNOUNCE (validator): check the block's consensus fields and the lock rule, then send PREPARE
        (reference §1.3); the block is executed after the vote leaves (module docstring)."""
        if msg.view_id < self.view:
            raise _Drop("stale_view")
        self._require_leader(sender, msg.view_id)
        if msg.view_id > self.view or self.mode is not Mode.NORMAL:
            # kept (one per view, a few views) until a quorum proof brings us there: a reordered network
            # often delivers the ANNOUNCE of a new view before its NEWVIEW
            if len(self.future_announces) < MAX_BUFFERED_ANNOUNCES:
                self.future_announces.setdefault(msg.view_id, msg)
            raise _Drop("future_view" if msg.view_id > self.view else "view_changing")
        if self.block is not None:
            raise _Drop("duplicate" if self.block.hash() == msg.block_hash else "conflicting_announce")
        block = self._block_of(msg)
        reason = self._check_block(block, execute=False)  # executed while the votes travel (docstring)
        if reason is not None:
            raise _Drop(reason)
        justified = self._justification(msg.payload, block) if msg.payload else None
        if block.header.view_id != msg.view_id and justified is None:
            raise _Drop("unjustified_reproposal")
        if (
            self.lock is not None
            and self.lock.block_hash != msg.block_hash
            and (justified is None or justified <= self.lock.view)
        ):
            raise _Drop("locked_on_other")
        self.known[msg.block_hash] = block
        self._announced_at.setdefault(msg.block_hash, now)
        self.block = block
        self.stage = Stage.PREPARE
        return self._vote(MsgType.PREPARE, block, sender)

    def _justification(self, m1: bytes, block: Block) -> int | None:
        """The view of a valid prepared certificate for ``block`` (an ANNOUNCE's payload), else drop."""
        try:
            block_hash, view, signature, bitmap = payloads.split_m1(m1)
            sig = Signature(signature)
        except (ValueError, HarmonyError) as exc:
            raise _Drop("bad_justification") from exc
        if block_hash != block.hash() or view >= self.view:
            raise _Drop("bad_justification")
        if not self._prepare_quorum(block_hash, view, sig, bitmap):
            raise _Drop("bad_justification")
        return view

    def _on_vote(self, msg: Message, senders: tuple[int, ...], now: int, *, commit: bool) -> list[Effect]:
        """PREPARE/COMMIT (leader): queue, then aggregate-first verification once quorum is possible."""
        if msg.view_id != self.view or self.mode is not Mode.NORMAL:
            raise _Drop("stale_view" if msg.view_id < self.view else "future_view")
        if not self.is_leader():
            raise _Drop("not_leader")
        if not self.roster.same_owner(senders):
            raise _Drop("multi_key_rule")
        size = SIGNATURE_SIZE + (8 if commit else 0)
        if len(msg.payload) != size:
            raise _Drop("malformed")
        try:
            signature = Signature(msg.payload[:SIGNATURE_SIZE])
        except HarmonyError as exc:
            raise _Drop("bad_signature") from exc
        if commit:
            vote = _commit_vote(msg, senders)
            if self.block is None or msg.block_hash != self.block.hash() or self.commits is None:
                return self._foreign_commit(vote)
            if vote.header_view != self.block.header.view_id:
                return self._foreign_commit(vote)
            if not self.commits.add(senders, signature):
                return []
            return self._after_commit_vote(now)
        if self.block is None or msg.block_hash != self.block.hash() or self.prepares is None:
            raise _Drop("wrong_block")
        if not self.prepares.add(senders, signature):
            return []
        return self._after_prepare_vote(now)

    def _after_prepare_vote(self, now: int) -> list[Effect]:
        assert self.prepares is not None and self.block is not None
        if self.stage is not Stage.PREPARE or not self.prepares.settle():
            return []
        signature, bitmap = self.prepares.aggregate()
        leader = self._leader_key()
        prepared = self._signed(
            Message(
                MsgType.PREPARED,
                self.config.shard_id,
                self.view,
                self.height,
                self.block.hash(),
                self._bitmap_of((self.roster.index[leader.public_key.data],)),
                signature.data + bitmap,
                self._block_bytes(self.block),
            ),
            leader,
        )
        out: list[Effect] = [Broadcast(prepared)]
        out += self._lock_and_commit(Certificate(self.block, self.view, signature.data, bitmap), None)
        return out + self._after_commit_vote(now)

    def _after_commit_vote(self, now: int) -> list[Effect]:
        """A commit vote was counted: once they reach quorum, open the commit window (or finish at once
        when it is closed or every member has voted)."""
        if self.commits is None or self.block is None or self.stage is not Stage.COMMIT:
            return []
        if not self.commits.settle():
            return []
        if len(self.commits.waiting_members()) == self.roster.size:
            self.commits.settle_all()
            if len(self.commits.members) == self.roster.size:
                return self._finish_commit(now)
        if self._window_end is None:
            self._window_end = self._commit_window_end(now)
            if self._window_end > now:
                return [SetTimer(Timer(TimerKind.COMMIT_WINDOW, self.height, self.view), self._window_end)]
        if now < self._window_end:
            return []
        return self._close_commit_window(now)

    def _commit_window_end(self, now: int) -> int:
        """When the leader stops waiting for late commits (:attr:`ConsensusConfig.commit_window_ms`): the
        window's length after the quorum, cut to end :data:`COMMIT_WINDOW_MARGIN_MS` before the next block
        is due (the block time after this block's announce), but not to less than
        :data:`COMMIT_WINDOW_MIN_MS` after the quorum."""
        window = self.config.commit_window_ms
        if window <= 0:
            return now
        end = now + window
        block_time = self.config.block_time_ms
        announced = self._announced_at.get(self.block.hash()) if self.block is not None else None
        if block_time > 0 and announced is not None:
            end = min(end, announced + block_time - COMMIT_WINDOW_MARGIN_MS)
        return max(end, now + min(window, COMMIT_WINDOW_MIN_MS))

    def _close_commit_window(self, now: int) -> list[Effect]:
        """The commit window is over: count every waiting commit that verifies, then finish the height."""
        if self.commits is None or self.block is None or self.stage is not Stage.COMMIT:
            return []
        self.commits.settle_all()
        if not self.commits.has_quorum():
            return []
        return self._finish_commit(now)

    def _finish_commit(self, now: int) -> list[Effect]:
        """The leader's commit quorum stands: check the votes for double signs, broadcast COMMITTED with
        the aggregate of every verified commit, and finalize (reference §1.5)."""
        assert self.commits is not None and self.block is not None
        out: list[Effect] = []
        block = self.block
        for indices, sig in self.commits.verified.items():
            for found in self.vote_book.add(SeenVote(indices, block.hash(), block.header.view_id, sig.data)):
                out += self._report(found)
        signature, bitmap = self.commits.aggregate()
        leader = self._leader_key()
        committed = self._signed(
            Message(
                MsgType.COMMITTED,
                self.config.shard_id,
                self.view,
                self.height,
                block.hash(),
                self._bitmap_of((self.roster.index[leader.public_key.data],)),
                signature.data + bitmap,
                b"" if self._everyone_holds_block() else self._block_bytes(block),
            ),
            leader,
        )
        out.append(Broadcast(committed))
        return out + self._finalize(block, signature.data, bitmap, self.view, now)

    def _everyone_holds_block(self) -> bool:
        """Whether every member has shown it holds this round's block: a PREPARE or COMMIT from it arrived
        (verified or waiting). COMMITTED then goes without the block, as in Harmony (reference §1.5); a
        member that lost it after all asks to sync (:meth:`_on_committed`)."""
        holders: set[int] = set()
        for collector in (self.prepares, self.commits):
            if collector is not None:
                holders |= collector.waiting_members()
        return len(holders) == len(self.roster.keys)

    def _foreign_commit(self, vote: SeenVote) -> list[Effect]:
        """A COMMIT for another block: verify it alone and look for a double sign (reference §5.3)."""
        if not vote_is_valid(self.roster.keys, self.height, vote):
            raise _Drop("bad_signature")
        out: list[Effect] = []
        if self.commits is not None and self.block is not None:
            for pending in list(self.commits.pending):
                if set(pending.indices) & set(vote.indices):
                    mine = SeenVote(
                        pending.indices, self.block.hash(), self.block.header.view_id, pending.signature.data
                    )
                    if vote_is_valid(self.roster.keys, self.height, mine):
                        for found in self.vote_book.add(mine):
                            out += self._report(found)
        for found in self.vote_book.add(vote):
            out += self._report(found)
        if not out:
            self.drops["wrong_block"] += 1
        return out

    def _late_commit(self, msg: Message, book: VoteBook) -> list[Effect]:
        """A COMMIT for the height just finished: checked for a double sign against that height's votes
        (reference §5.3). An equivocator's second vote can trail its first past the end of the height (the
        leader finishes as soon as every member voted), so the current height's book alone would miss it.
        A vote that names no member with a recorded vote for another block is dropped unverified, as the
        late commits of honest members are."""
        senders = self._senders(msg)
        if set(senders) & set(self.my_indices):
            raise _Drop("own_message")
        if len(msg.payload) != SIGNATURE_SIZE + 8 or not self.roster.same_owner(senders):
            raise _Drop("stale_height")
        vote = _commit_vote(msg, senders)
        if not book.could_conflict(vote):
            raise _Drop("stale_height")
        if not vote_is_valid(self.roster.keys, book.height, vote):
            raise _Drop("bad_signature")
        return [effect for found in book.add(vote) for effect in self._report(found)]

    def _report(self, found: Evidence) -> list[Effect]:
        effect = DoubleSignDetected(found)
        self.evidence_found.append(effect)
        return [effect]

    def _on_prepared(self, msg: Message, sender: int, now: int) -> list[Effect]:
        """PREPARED (validator): check the quorum aggregate and that the block executes, lock (WAL first),
        send COMMIT."""
        if msg.view_id < self.view:
            raise _Drop("stale_view")
        self._require_leader(sender, msg.view_id)
        if msg.view_id == self.view and self.stage is Stage.COMMIT:
            raise _Drop("duplicate")
        signature, bitmap = self._split_aggregate(msg.payload)
        if not self._prepare_quorum(msg.block_hash, msg.view_id, signature, bitmap):
            raise _Drop("bad_aggregate")
        block = self._block_of(msg)
        if block.hash() not in self.known:
            reason = self._check_block(block, msg.view_id)
        else:
            if self._executed.get(block.hash()) is False:
                # once more: a refusal right after the announce can be the clock's (a header time just
                # ahead of it), and a PREPARED carries a quorum proof, so it cannot be sent at will
                del self._executed[block.hash()]
            reason = None if self._executes(block) else "invalid_block"
        if reason is not None:
            raise _Drop(reason)
        if self.lock is not None and self.lock.block_hash != msg.block_hash and msg.view_id <= self.lock.view:
            raise _Drop("locked_on_other")
        out: list[Effect] = []
        if msg.view_id > self.view or self.mode is not Mode.NORMAL:
            out += self._move_to_view(msg.view_id, now)
        self.known[msg.block_hash] = block
        self.block = block
        cert = Certificate(block, msg.view_id, signature.data, bitmap)
        return out + self._lock_and_commit(cert, sender)

    def _lock_and_commit(self, cert: Certificate, leader: int | None) -> list[Effect]:
        """Lock on ``cert`` (WAL before the vote leaves), then COMMIT (reference §1.3)."""
        if self.lock is None or cert.view >= self.lock.view:
            self.lock = cert
            data = _encode_lock(cert, self._block_bytes(cert.block))
            self.wal.append(WalRecord(KIND_LOCK, self.height, cert.view, data))
        self.stage = Stage.COMMIT
        if leader is None:
            self.commits = VoteCollector(self.roster, self._commit_payload(cert.block), self.drops)
            return self._vote(MsgType.COMMIT, cert.block, None)
        return self._vote(MsgType.COMMIT, cert.block, leader)

    def _on_committed(self, msg: Message, sender: int, now: int) -> list[Effect]:
        """COMMITTED: a commit quorum for this height; commit the block (reference §1.5)."""
        self._require_leader(sender, msg.view_id)
        signature, bitmap = self._split_aggregate(msg.payload)
        if not msg.block and msg.block_hash not in self.known:
            # sent without the block (every member voted, this node too, then lost it): fetch it final
            return self._ask_sync(now)
        block = self._block_of(msg)
        if block.number != self.height or block.header.parent_hash != self.tip.header.hash():
            raise _Drop("invalid_block")
        if not self._commit_quorum(block, signature.data, bitmap):
            raise _Drop("bad_aggregate")
        return self._finalize(block, signature.data, bitmap, msg.view_id, now)

    # ------------------------------------------------------------------------------------ view change

    def _start_view_change(self, view: int, now: int) -> list[Effect]:
        """Timeout: move to ``view`` and send VIEWCHANGE per key to its leader (reference §1.7)."""
        self.failed_views += 1
        self._enter_view(view, Mode.VIEW_CHANGING)
        self.wal.append(WalRecord(KIND_VIEW, self.height, view))
        out: list[Effect] = [
            SetTimer(Timer(TimerKind.VIEW_CHANGE, self.height, view), self._slot_end(view, now))
        ]
        leader = self.leader_of(view)
        m3 = payloads.m3_payload(view)
        m1 = self.lock.m1() if self.lock is not None else b""
        for index, key in zip(self.my_indices, self.my_keys, strict=True):
            try:
                (m3_sig,) = self.signer.sign(
                    [key],
                    shard=self.config.shard_id,
                    height=self.height,
                    view=view,
                    phase=Phase.VIEWID,
                    payload=m3,
                )
                (vc_sig,) = self.signer.sign(
                    [key],
                    shard=self.config.shard_id,
                    height=self.height,
                    view=view,
                    phase=Phase.VIEWCHANGE,
                    payload=m1 or payloads.NIL,
                )
            except DoubleSignRefused:
                self.drops["signer_refused"] += 1
                continue
            body = ViewChangeBody(m1, vc_sig.data, m3_sig.data)
            msg = self._signed(
                Message(
                    MsgType.VIEWCHANGE,
                    self.config.shard_id,
                    view,
                    self.height,
                    self.lock.block_hash if self.lock is not None else bytes(32),
                    self._bitmap_of((index,)),
                    body.encode(),
                    self._block_bytes(self.lock.block) if self.lock is not None else b"",
                ),
                key,
            )
            if leader in self.my_indices:
                try:
                    out += self._collect_view_change(msg, index, now)
                except _Drop as drop:
                    self.drops[drop.reason] += 1
            self.wal.append(WalRecord(KIND_SENT, self.height, view, bytes(48) + msg.encode()))
            out.append(Broadcast(msg))
        return out

    def _on_view_change(self, msg: Message, sender: int, now: int) -> list[Effect]:
        """VIEWCHANGE (new leader): verify m3 and m1/m2 from the sender's key, collect."""
        if msg.view_id < self.view or (msg.view_id == self.view and self.mode is Mode.NORMAL):
            raise _Drop("stale_view")
        if self.is_leader(msg.view_id):
            return self._collect_view_change(msg, sender, now)
        return self._follow_view_change(msg, sender, now)

    def _follow_view_change(self, msg: Message, sender: int, now: int) -> list[Effect]:
        """VIEWCHANGE seen by a non-leader: once members above 1/3 of the power are in views above ours,
        join the highest view that more than 1/3 have reached (PBFT's f+1 rule), so that nodes whose
        timers drifted apart meet in one view."""
        try:
            body = ViewChangeBody.decode(msg.payload)
            m3 = Signature(body.viewid_sig)
        except (DecodeError, HarmonyError) as exc:
            raise _Drop("malformed") from exc
        if msg.view_id <= self.seen_views.get(sender, -1):
            raise _Drop("duplicate")
        if not self._verify_one(sender, payloads.m3_payload(msg.view_id), m3):
            raise _Drop("bad_signature")
        self.seen_views[sender] = msg.view_id
        ahead = sorted(
            (
                (v, i)
                for i, v in self.seen_views.items()
                if v > self.view or (v == self.view and self.mode is Mode.NORMAL)
            ),
            reverse=True,
        )
        members: list[int] = []
        for view, index in ahead:
            members.append(index)
            if self.roster.is_above_third(members):
                return self._start_view_change(view, now)
        return []

    def _collect_view_change(self, msg: Message, sender: int, now: int) -> list[Effect]:
        try:
            body = ViewChangeBody.decode(msg.payload)
            m3 = Signature(body.viewid_sig)
            vc = Signature(body.viewchange_sig)
        except (DecodeError, HarmonyError) as exc:
            raise _Drop("malformed") from exc
        if not self._verify_one(sender, payloads.m3_payload(msg.view_id), m3):
            raise _Drop("bad_signature")
        cert: Certificate | None = None
        if body.m1:
            if not self._verify_one(sender, body.m1, vc):
                raise _Drop("bad_signature")
            try:
                block_hash, view, signature, bitmap = payloads.split_m1(body.m1)
                agg = Signature(signature)
            except (ValueError, HarmonyError) as exc:
                raise _Drop("malformed") from exc
            if view >= msg.view_id or not self._prepare_quorum(block_hash, view, agg, bitmap):
                raise _Drop("bad_aggregate")
            if block_hash != msg.block_hash:
                raise _Drop("bad_block_hash")
            block = self._block_of(msg)
            cert = Certificate(block, view, signature, bitmap)
        elif not self._verify_one(sender, payloads.NIL, vc):
            raise _Drop("bad_signature")
        votes = self.view_changes.setdefault(msg.view_id, {})
        if sender in votes:
            raise _Drop("duplicate")
        votes[sender] = _ViewChangeVote(m3, None if body.m1 else vc, cert)
        if msg.view_id < self.view or not self.roster.is_quorum(votes):
            return []
        if msg.view_id == self.view and self.mode is Mode.NORMAL:
            return []
        return self._new_view(msg.view_id, votes, now)

    def _new_view(self, view: int, votes: dict[int, _ViewChangeVote], now: int) -> list[Effect]:
        """m3 above 2/3: broadcast NEWVIEW and re-propose the highest certificate's block that executes, or
        a new one."""
        certs = [v.certificate for v in votes.values() if v.certificate is not None]
        if self.lock is not None:
            certs.append(self.lock)
        # the highest certificate whose block executes: validators prepare before executing, so a
        # certificate can name a block no honest node could commit (module docstring)
        best = next(
            (c for c in sorted(certs, key=lambda c: -c.view) if self._check_block(c.block, view) is None),
            None,
        )
        members = sorted(votes)
        nil = [i for i in members if votes[i].nil is not None]
        m2_sig = aggregate_signatures([s for i in nil if (s := votes[i].nil) is not None]) if nil else None
        body = NewViewBody(
            best.m1() if best is not None else b"",
            m2_sig.data if m2_sig is not None else b"",
            encode_bitmap(nil, self.roster.size) if nil else b"",
            aggregate_signatures([votes[i].m3 for i in members]).data,
            encode_bitmap(members, self.roster.size),
        )
        leader = self._leader_key(view)
        msg = self._signed(
            Message(
                MsgType.NEWVIEW,
                self.config.shard_id,
                view,
                self.height,
                best.block_hash if best is not None else bytes(32),
                self._bitmap_of((self.roster.index[leader.public_key.data],)),
                body.encode(),
                self._block_bytes(best.block) if best is not None else b"",
            ),
            leader,
        )
        out: list[Effect] = [Broadcast(msg)]
        self._set_view(view)
        out += self._phase_timer(now)
        if best is not None:
            return out + self._announce(best.block, best.m1(), now)
        return out + self._request_proposal()

    def _on_new_view(self, msg: Message, sender: int, now: int) -> list[Effect]:
        """NEWVIEW (validator): m3 aggregate above 2/3 for the view → enter it (reference §1.7)."""
        if msg.view_id < self.view or (msg.view_id == self.view and self.mode is Mode.NORMAL):
            raise _Drop("stale_view")
        self._require_leader(sender, msg.view_id)
        try:
            body = NewViewBody.decode(msg.payload)
            m3 = Signature(body.m3_sig)
        except (DecodeError, HarmonyError) as exc:
            raise _Drop("malformed") from exc
        if not self._quorum_signed(body.m3_bitmap, payloads.m3_payload(msg.view_id), m3):
            raise _Drop("bad_aggregate")
        if body.m2_sig:
            try:
                m2 = Signature(body.m2_sig)
            except HarmonyError as exc:
                raise _Drop("malformed") from exc
            if not self._verify_many(body.m2_bitmap, payloads.NIL, m2):
                raise _Drop("bad_aggregate")
        return self._move_to_view(msg.view_id, now)

    def _move_to_view(self, view: int, now: int) -> list[Effect]:
        self._set_view(view)
        out = self._phase_timer(now)
        buffered = self.future_announces.pop(view, None)
        if buffered is not None:
            try:
                out += self._on_announce(buffered, self.leader_of(view), now)
            except _Drop as drop:
                self.drops[drop.reason] += 1
        return out

    def _set_view(self, view: int) -> None:
        if view != self.view:
            self.wal.append(WalRecord(KIND_VIEW, self.height, view))
        self._enter_view(view, Mode.NORMAL)

    # ------------------------------------------------------------------------------- leader and votes

    def _begin_view(self, now: int, previous_proposal: int | None = None) -> list[Effect]:
        """Start the current view; a leader asks for its proposal ``block_time_ms`` after the previous
        block's proposal (when this node saw it; else after the tip header's time, whole seconds), or at
        once if that time has passed, so that blocks come every ``block_time_ms`` however long agreeing on
        one took. (A restarted leader that waited a block time from its start kept the others waiting:
        its proposal came 0.1 s after their view had timed out, on a devnet at load 10.)"""
        out = self._phase_timer(now)
        if not self.is_leader():
            return out
        if self.lock is not None:
            return out + self._announce(
                self.lock.block, self.lock.m1() if self.lock.block.header.view_id != self.view else b"", now
            )
        block_time = self.config.block_time_ms
        if block_time > 0:
            start = self._schedule_origin() if previous_proposal is None else previous_proposal
            start = min(now, start)
            at = max(now, start + block_time)
            return [*out, SetTimer(Timer(TimerKind.PROPOSE, self.height, self.view), at)]
        return out + self._request_proposal()

    def _phase_timer(self, now: int) -> list[Effect]:
        """The phase timeout of the current view: the end of its slot in the view schedule, and at least
        one phase timeout from now the first time round (a height's first view starts at the tip)."""
        deadline = self._slot_end(max(self.view, self.scheduled_view(now)), now)
        if self.failed_views == 0:
            deadline = max(deadline, now + self.config.phase_timeout_ms)
        return [SetTimer(Timer(TimerKind.PHASE, self.height, self.view), deadline)]

    def _request_proposal(self) -> list[Effect]:
        leader = self._leader_key()
        return [
            RequestProposal(
                self.height,
                self.view,
                self.config.shard_id,
                self.config.epoch,
                self.tip.header,
                self.tip.commit_signature,
                self.tip.commit_bitmap,
                leader.public_key.data,
            )
        ]

    def _announce(self, block: Block, justification: bytes, now: int) -> list[Effect]:
        """Leader: sign our own PREPARE (the signer guards against a second block), then ANNOUNCE."""
        payload = payloads.prepare_payload(block.hash(), self.view)
        try:
            signatures = self._sign(Phase.PREPARE, payload)
        except DoubleSignRefused:
            self.drops["signer_refused"] += 1
            return []
        leader = self._leader_key()
        msg = self._signed(
            Message(
                MsgType.ANNOUNCE,
                self.config.shard_id,
                self.view,
                self.height,
                block.hash(),
                self._bitmap_of((self.roster.index[leader.public_key.data],)),
                justification,
                self._block_bytes(block),
            ),
            leader,
        )
        self.block = block
        self.known[block.hash()] = block
        self._announced_at.setdefault(block.hash(), now)
        self.stage = Stage.PREPARE
        self.prepares = VoteCollector(self.roster, payload, self.drops)
        self.prepares.add_trusted(self.my_indices, aggregate_signatures(signatures))
        return [Broadcast(msg), *self._after_prepare_vote(now)]

    def _vote(self, kind: MsgType, block: Block, leader: int | None) -> list[Effect]:
        """Sign PREPARE or COMMIT with all our keys as one multi-key vote; to the leader, or count it."""
        if not self.my_indices:
            return []
        if kind is MsgType.PREPARE:
            phase, payload, extra = Phase.PREPARE, payloads.prepare_payload(block.hash(), self.view), b""
        else:
            phase, payload = Phase.COMMIT, self._commit_payload(block)
            extra = payloads.u64_le(block.header.view_id)
        try:
            signatures = self._sign(phase, payload)
        except DoubleSignRefused:
            self.drops["signer_refused"] += 1
            return []
        signature = aggregate_signatures(signatures)
        if leader is None:
            assert self.commits is not None
            self.commits.add_trusted(self.my_indices, signature)
            return []
        msg = Message(
            kind,
            self.config.shard_id,
            self.view,
            self.height,
            block.hash(),
            self._bitmap_of(self.my_indices),
            signature.data + extra,
        )
        return [self._send_logged(self.roster.key_bytes[leader], msg)]

    def _sign(self, phase: Phase, payload: bytes) -> list[Signature]:
        return self.signer.sign(
            self.my_keys,
            shard=self.config.shard_id,
            height=self.height,
            view=self.view,
            phase=phase,
            payload=payload,
        )

    def _send_logged(self, to: bytes, msg: Message) -> Send:
        self.wal.append(WalRecord(KIND_SENT, self.height, msg.view_id, to + msg.encode()))
        return Send(to, msg)

    def _signed(self, msg: Message, key: SecretKey) -> Message:
        return msg.with_signature(Signer.sign_envelope(key, msg.signing_hash()).data)

    def _leader_key(self, view: int | None = None) -> SecretKey:
        index = self.leader_of(self.view if view is None else view)
        return self.my_keys[self.my_indices.index(index)]

    def _bitmap_of(self, indices: tuple[int, ...]) -> bytes:
        return encode_bitmap(indices, self.roster.size)

    # ------------------------------------------------------------------------------ checks and proofs

    def _check_block(self, block: Block, view: int | None = None, *, execute: bool = True) -> str | None:
        """Consensus-level header rules, the parent's commit aggregate (reference §1.5), then (with
        ``execute``) the application's check."""
        header = self.tip.header
        if block.shard_id != self.config.shard_id:
            return "wrong_shard"
        if block.number != self.height or block.header.parent_hash != header.hash():
            return "wrong_parent"
        limit = self.view if view is None else view
        if block.header.view_id > limit or block.header.view_id <= self.tip.header.view_id:
            return "bad_view"
        sig, bitmap = block.header.last_commit_signature, block.header.last_commit_bitmap
        if header.number == 0:
            if sig != EMPTY_COMMIT_SIGNATURE or bitmap:
                return "bad_last_commit"
        elif self._last_commit_ok != (sig, bitmap):
            parent = Block(header)
            if not self._commit_quorum(parent, sig, bitmap):
                return "bad_last_commit"
            self._last_commit_ok = (sig, bitmap)
        if execute and not self._executes(block):
            return "invalid_block"
        return None

    def _executes(self, block: Block) -> bool:
        """The application's check of one of this height's blocks (the driver executes it), once per block."""
        if self.validator is None:
            return True
        block_hash = block.hash()
        verdict = self._executed.get(block_hash)
        if verdict is None:
            verdict = self._executed[block_hash] = bool(self.validator(block))
        return verdict

    @property
    def awaiting_execution(self) -> bool:
        """Whether this node voted PREPARE for the round's block and has not executed it yet."""
        block = self.block
        return (
            block is not None
            and self.validator is not None
            and self.stage is Stage.PREPARE
            and block.hash() not in self._executed
        )

    def execute_announced(self) -> None:
        """The driver's moment to execute the announced block, once its PREPARE has left (module
        docstring): the verdict is kept for PREPARED, which otherwise executes it itself."""
        if self.awaiting_execution:
            assert self.block is not None
            self._executes(self.block)

    def _split_aggregate(self, payload: bytes) -> tuple[Signature, bytes]:
        if len(payload) != SIGNATURE_SIZE + bitmap_size(self.roster.size):
            raise _Drop("malformed")
        try:
            return Signature(payload[:SIGNATURE_SIZE]), payload[SIGNATURE_SIZE:]
        except HarmonyError as exc:
            raise _Drop("bad_signature") from exc

    def _quorum_signed(self, bitmap: bytes, payload: bytes, signature: Signature) -> bool:
        try:
            members = decode_bitmap(bitmap, self.roster.size)
        except HarmonyError:
            return False
        if not self.roster.is_quorum(members):
            return False
        return self._verify_many(bitmap, payload, signature)

    def _verify_one(self, index: int, payload: bytes, signature: Signature) -> bool:
        """Whether committee member ``index`` signed ``payload`` (memoized when it did)."""
        key = self.roster.keys[index]
        return self._checked((key.data, payload, signature.data), lambda: verify(key, payload, signature))

    def _verify_many(self, bitmap: bytes, payload: bytes, signature: Signature) -> bool:
        """Whether the members in ``bitmap`` signed ``payload`` together (memoized when they did)."""
        return self._checked(
            (b"bitmap:" + bitmap, payload, signature.data),
            lambda: verify_aggregate(self.roster.keys, bitmap, payload, signature),
        )

    def _checked(self, key: tuple[bytes, bytes, bytes], check: Callable[[], bool]) -> bool:
        """Run a signature ``check`` unless the same check passed before. A check is a pure function of
        the key (the committee is fixed for a core's life), so its result is exact; only passes are kept,
        a bounded number, so forged messages cannot fill the memo with anything that saves them work."""
        if key in self._passed:
            self._passed.move_to_end(key)
            return True
        self.pairing_checks += 1
        if not check():
            return False
        self._passed[key] = None
        if len(self._passed) > VERIFIED_MEMO_SIZE:
            self._passed.popitem(last=False)
        return True

    def _prepare_quorum(self, block_hash: bytes, view: int, signature: Signature, bitmap: bytes) -> bool:
        return self._quorum_signed(bitmap, payloads.prepare_payload(block_hash, view), signature)

    def _commit_payload(self, block: Block) -> bytes:
        return payloads.commit_payload(block.number, block.hash(), block.header.view_id)

    def _commit_quorum(self, block: Block, signature: bytes, bitmap: bytes) -> bool:
        try:
            sig = Signature(signature)
        except HarmonyError:
            return False
        return self._quorum_signed(bitmap, self._commit_payload(block), sig)

    def _future_height(self, msg: Message, senders: tuple[int, ...], now: int) -> list[Effect]:
        """A message for a later height: catch up if it proves where the chain is, else drop it."""
        kind = msg.msg_type
        if kind in (MsgType.ANNOUNCE, MsgType.PREPARED, MsgType.COMMITTED) and msg.block:
            block = self._block_of(msg)
            parent = self.known.get(block.header.parent_hash)
            if msg.block_num == self.height + 1 and parent is not None:
                sig, bitmap = block.header.last_commit_signature, block.header.last_commit_bitmap
                if self._commit_quorum(parent, sig, bitmap):
                    out = self._finalize(
                        parent, sig, bitmap, max(parent.header.view_id, msg.view_id - 1), now
                    )
                    # the message's block is checked against the chain once the parent is stored: an
                    # ANNOUNCE that overtook its parent's COMMITTED was refused as not extending the head
                    return [*out, Redeliver(msg)]
        if kind not in (MsgType.PREPARE, MsgType.COMMIT):
            # a committee member (its envelope signature checked) is at a later height: ask the driver to
            # sync; synced blocks are verified against their commit aggregates, so a liar costs one request
            return self._ask_sync(now)
        raise _Drop("future_height")

    def _ask_sync(self, now: int) -> list[Effect]:
        asked = self._sync_asked
        if asked is not None and asked[0] == self.height and now - asked[1] < self.config.phase_timeout_ms:
            self.drops["future_height"] += 1
            return []
        self._sync_asked = (self.height, now)
        return [RequestSync(self.height)]

    # ------------------------------------------------------------------------------------ finality

    def _finalize(self, block: Block, signature: bytes, bitmap: bytes, view: int, now: int) -> list[Effect]:
        """Commit ``block`` and start the next height in the following view (reference §1.5)."""
        out: list[Effect] = [Commit(block.number, block, signature, bitmap, view)]
        proposed = self._announced_at.get(block.hash())
        self.wal.reset()
        self._enter_height(ChainTip(block.header, signature, bitmap, view), view + 1)
        return out + self._begin_view(now, proposed)


def _encode_lock(cert: Certificate, block_bytes: bytes | None = None) -> bytes:
    data = cert.block.encode() if block_bytes is None else block_bytes
    return rlp.encode([data, cert.signature, cert.bitmap])


def _decode_lock(data: bytes, view: int) -> Certificate:
    block, signature, bitmap = as_list(rlp.decode(data), "lock", 3)
    return Certificate(
        Block.decode(as_bytes(block, "block")), view, as_bytes(signature, "sig"), as_bytes(bitmap, "bitmap")
    )


__all__ = ["Certificate", "ConsensusCore", "Mode", "Stage"]
