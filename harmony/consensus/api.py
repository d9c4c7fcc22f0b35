"""Public surface of ``harmony.consensus``: what a driver (the node, the simulator, tests) codes against.

The core is a sans-IO state machine (design §3.2; style: h11, cometbft ``state.go``). A driver feeds it
inputs and carries out the effects it returns; the core never reads a clock, opens a socket or sleeps.
Time is an ``int`` of milliseconds (virtual in the simulator). Only the signer and the write-ahead log
touch storage, through the two small protocols below (:class:`SignerStore`, :class:`LogStore`), whose
in-memory implementations survive a simulated crash when the driver keeps the store objects.

Inputs (each returns ``list[Effect]``):

* ``core.start(now)``: begin (or resume after a restart: the WAL is replayed first);
* ``core.on_message(data, now)``: bytes from a peer (hostile: bounded, decoded strictly, signature-checked;
  drops are counted in ``core.drops``, a ``collections.Counter`` by reason);
* ``core.on_timer(timer, now)``: a timer the core asked for fired (stale timers are ignored);
* ``core.on_proposal(block, now)``: the block the driver built for a :class:`RequestProposal`;
* ``core.on_sync_block(block, commit_signature, commit_bitmap, now)``: a finalized block fetched for a
  :class:`RequestSync` (checked against its commit aggregate before it is committed).

Effects: :class:`Broadcast`, :class:`Send`, :class:`SetTimer`, :class:`CancelTimer`, :class:`Commit`,
:class:`RequestProposal`, :class:`RequestSync`, :class:`DoubleSignDetected`, :class:`Redeliver`.

Example (one node of four, all keys equal power)::

    from harmony.consensus.api import *
    cfg = ConsensusConfig(shard_id=0, epoch=0, committee=committee, keys=(my_secret_key,))
    core = create_core(cfg, MemorySignerStore(), MemoryLogStore(), genesis_tip(genesis_header))
    effects = core.start(now=0)
    for e in effects:
        if isinstance(e, RequestProposal):
            effects += core.on_proposal(build_proposal(e, time=0), now=0)
        elif isinstance(e, Broadcast):
            for peer in peers: peer.on_message(e.message.encode(), now)   # via the network
        elif isinstance(e, Send):         # e.to is the 48-byte BLS key of the recipient
            node_holding(e.to).on_message(e.message.encode(), now)
        elif isinstance(e, SetTimer):     # deliver core.on_timer(e.timer, e.at) at time e.at
            ...
        elif isinstance(e, Commit):       # persist e.block with e.commit_signature / e.bitmap
            ...

After a crash, build a new core with the SAME stores and the last committed block as the tip:
``create_core(cfg, same_signer_store, same_log_store, ChainTip(header, sig, bitmap, view))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from harmony.consensus.messages import Message, MsgType, decode_message
from harmony.crypto.bls import PublicKey, SecretKey, bls_key_address
from harmony.encoding.fixed import Dec
from harmony.types.block import Block
from harmony.types.header import EMPTY_COMMIT_SIGNATURE, Header
from harmony.types.shard_state import Committee
from harmony.types.slash import Evidence

if TYPE_CHECKING:
    from harmony.consensus.core import ConsensusCore

# --------------------------------------------------------------------------------------------- timers


class TimerKind(Enum):
    """What a timer is for (reference §1.6)."""

    PHASE = "phase"
    """The consensus phase timeout: no block finalized in this view in time → view change."""
    VIEW_CHANGE = "view_change"
    """The view change to a view did not complete in time → try the next view."""
    PROPOSE = "propose"
    """The leader's block-time wait before asking for the next proposal."""
    COMMIT_WINDOW = "commit_window"
    """The leader's wait, after a commit quorum, for the other members' commits (reference §1.5)."""
    RESEND = "resend"
    """Periodic rebroadcast of this node's own messages of the current round (lost messages are replaced)."""


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer instance; the core ignores one whose (height, view) it has left."""

    kind: TimerKind
    height: int
    view_id: int


# -------------------------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``message`` to every node of the shard (the consensus topic)."""

    message: Message


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to the node holding the BLS key ``to`` (48 bytes), e.g. votes to the leader."""

    to: bytes
    message: Message


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Call ``on_timer(timer, now)`` at time ``at`` (ms); replaces a pending timer of the same kind."""

    timer: Timer
    at: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """The pending timer of this kind is no longer needed (delivering it anyway is harmless)."""

    kind: TimerKind


@dataclass(frozen=True, slots=True)
class Commit:
    """Block ``height`` is final: persist it with its commit aggregate (reference §1.5).

    ``view_id`` is the consensus view it was finalized in (keep it for :class:`ChainTip` on restart).
    """

    height: int
    block: Block
    commit_signature: bytes
    bitmap: bytes
    view_id: int


@dataclass(frozen=True, slots=True)
class RequestProposal:
    """This node leads (``height``, ``view_id``): build a block on ``parent`` and call ``on_proposal``.

    The header must have ``number=height``, ``parent_hash=parent.hash()``, ``view_id``, ``shard_id``,
    ``epoch`` and the parent's commit aggregate (``last_commit_signature``/``last_commit_bitmap``);
    :func:`build_proposal` makes an empty one.
    """

    height: int
    view_id: int
    shard_id: int
    epoch: int
    parent: Header
    last_commit_signature: bytes
    last_commit_bitmap: bytes
    leader_key: bytes


@dataclass(frozen=True, slots=True)
class RequestSync:
    """This node is behind: fetch finalized blocks from ``from_height`` on and feed ``on_sync_block``."""

    from_height: int


@dataclass(frozen=True, slots=True)
class DoubleSignDetected:
    """Two conflicting signed votes from one key (reference §5.3): evidence ready for the beacon chain."""

    evidence: Evidence


@dataclass(frozen=True, slots=True)
class Redeliver:
    """Give ``message`` back to ``on_message`` once the effects before it have run: a message of the next
    height that proved its parent final, whose block must be stored (the :class:`Commit` before this)
    before the message's own block is checked against the chain."""

    message: Message


Effect = (
    Broadcast
    | Send
    | SetTimer
    | CancelTimer
    | Commit
    | RequestProposal
    | RequestSync
    | DoubleSignDetected
    | Redeliver
)

# ------------------------------------------------------------------------------------- configuration


COMMIT_WINDOW_MARGIN_MS = 200
"""The leader's commit window (:attr:`ConsensusConfig.commit_window_ms`) ends at least this long before the
next block is due, so that the next proposal carries the fuller aggregate and the block time is kept..."""
COMMIT_WINDOW_MIN_MS = 300
"""...but lasts at least this long after the quorum (or the whole window, if shorter): on a namespaced
testnet at 40-120 ms one way, the quorum often came under 200 ms before the next block was due and the
farthest region's commits were cut off block after block (13 % of the blocks of two validators that were
up all along). A block waits longer only while a member is missing or slow."""


@dataclass(frozen=True, slots=True)
class ConsensusConfig:
    """One node's consensus configuration for one shard and epoch.

    Voting power (reference §1.4): if every slot is Harmony-operated (``effective_stake is None``) it is one
    key, one vote; otherwise Harmony slots share ``harmony_vote_share`` and staked slots share the rest by
    effective stake. Times are milliseconds (reference §1.6 defaults: 27 s phase and view-change timeouts).
    """

    shard_id: int
    epoch: int
    committee: Committee
    keys: tuple[SecretKey, ...]
    """Keys this node signs with (zero or more; keys outside the committee are ignored)."""
    harmony_vote_share: Dec = field(default_factory=lambda: Dec.from_str("0.68"))
    phase_timeout_ms: int = 27_000
    view_change_timeout_ms: int = 27_000
    max_backoff_exponent: int = 2
    """A run of failed view changes doubles the view-change timeout up to 2**this times. 2 (slots of 1, 2,
    4, 4, … timeouts; the simulator's default, whose liveness bound its seeds check): with 4 a height after
    a re-proposed block, whose schedule counts from that block's old header time, began two or three slots
    in, so one failed view there lasted 40-80 s with a 5 s timeout (the namespaced rolling upgrade: block 36
    waited 82 s). The reference's slots do not double at all (§1.7: 45 s each)."""
    block_time_ms: int = 0
    """The leader waits this long after the previous commit before asking for a proposal."""
    commit_window_ms: int = 0
    """After a commit quorum the leader keeps collecting the other members' commits for up to this long,
    ending early once every member has voted and never later than :data:`COMMIT_WINDOW_MARGIN_MS` before
    the next block is due; COMMITTED, the stored aggregate and the next header then name every signer that
    made it (reference §1.5: Harmony waits at least 1 s, until 200 ms before the next block). Without it a
    slower member is left out of every bitmap once the others alone pass 2/3, counts as not signing and
    loses its seat, and its conflicting votes are never checked. 0: finalize at the quorum."""
    clock_origin_unix_ms: int = 0
    """The Unix time (ms) at which the ``now`` given to the core reads 0: 0 when the driver passes Unix
    milliseconds. Lets the core compare ``now`` with header times for its view schedule."""
    resend_interval_ms: int = 2_000
    """While a round is unfinished, this node rebroadcasts its own messages of the round this often, so
    that messages lost in the network are replaced and nodes meet in one view once it heals (0: never)."""
    max_view_gap: int = 249
    """Messages more than this many views ahead are dropped unread (reference §1.7 ``MaxViewIDDiff``)."""
    max_height_gap: int = 1_000_000
    """Messages for heights further ahead are dropped unread (far future)."""
    skip_absent_leaders: bool = True
    """A height's first round of views is led by the candidates that signed its parent's commit
    (:mod:`harmony.consensus.leader`); False: every candidate in turn (the rule before, kept as the
    benchmark's baseline). A network parameter: every node of a committee must use the same value."""


@dataclass(frozen=True, slots=True)
class ChainTip:
    """The last finalized block: where consensus resumes (genesis: :func:`genesis_tip`)."""

    header: Header
    commit_signature: bytes
    commit_bitmap: bytes
    view_id: int
    """The consensus view it was finalized in; the next height starts at ``view_id + 1``."""


def genesis_tip(genesis: Header) -> ChainTip:
    """The tip at genesis: no commit aggregate; the first block is decided in view ``genesis.view_id + 1``."""
    return ChainTip(genesis, EMPTY_COMMIT_SIGNATURE, b"", genesis.view_id)


BlockValidator = Callable[[Block], bool]
"""Application-level block check the driver injects (state transition etc.); pure, no IO."""

# ------------------------------------------------------------------------------------------- storage


class SignerStore(Protocol):
    """Durable storage of the signer's state (one small blob)."""

    def load(self) -> bytes | None:
        """The last saved blob, or ``None`` if nothing was ever saved."""
        ...

    def save(self, data: bytes) -> None:
        """Replace the blob atomically; durable when this returns."""
        ...


class LogStore(Protocol):
    """Durable append-only bytes for the write-ahead log."""

    def read(self) -> bytes:
        """Everything appended so far (a torn tail may follow the last complete record)."""
        ...

    def append(self, data: bytes) -> None:
        """Append ``data``; durable when this returns."""
        ...

    def replace(self, data: bytes) -> None:
        """Atomically replace the whole log (compaction at a height boundary)."""
        ...


class MemorySignerStore:
    """In-memory :class:`SignerStore`: keep the object across a simulated crash to keep the state."""

    def __init__(self) -> None:
        self.data: bytes | None = None

    def load(self) -> bytes | None:
        """The saved blob."""
        return self.data

    def save(self, data: bytes) -> None:
        """Keep ``data``."""
        self.data = bytes(data)


class MemoryLogStore:
    """In-memory :class:`LogStore`; ``data`` may be truncated by a simulator to model a torn write."""

    def __init__(self) -> None:
        self.data = bytearray()

    def read(self) -> bytes:
        """The log bytes."""
        return bytes(self.data)

    def append(self, data: bytes) -> None:
        """Append."""
        self.data += data

    def replace(self, data: bytes) -> None:
        """Replace all."""
        self.data = bytearray(data)


# ------------------------------------------------------------------------------------------- factory


def create_core(
    config: ConsensusConfig,
    signer_store: SignerStore,
    log_store: LogStore,
    tip: ChainTip,
    *,
    validator: BlockValidator | None = None,
) -> ConsensusCore:
    """A consensus core for ``config`` resuming after ``tip``; call ``start(now)`` next."""
    from harmony.consensus.core import ConsensusCore  # noqa: PLC0415 - core imports this module

    return ConsensusCore(config, signer_store, log_store, tip, validator=validator)


def build_proposal(request: RequestProposal, *, time: int = 0, extra: bytes = b"") -> Block:
    """An empty block answering ``request`` (for the simulator, tests and benchmarks)."""
    header = Header(
        parent_hash=request.parent.hash(),
        coinbase=bls_key_address(PublicKey(request.leader_key)),
        number=request.height,
        time=time,
        extra=extra,
        view_id=request.view_id,
        epoch=request.epoch,
        shard_id=request.shard_id,
        gas_limit=request.parent.gas_limit,
        last_commit_signature=request.last_commit_signature,
        last_commit_bitmap=request.last_commit_bitmap,
    )
    return Block(header)


__all__ = [
    "Block",
    "BlockValidator",
    "Broadcast",
    "CancelTimer",
    "ChainTip",
    "Commit",
    "ConsensusConfig",
    "DoubleSignDetected",
    "Effect",
    "LogStore",
    "MemoryLogStore",
    "MemorySignerStore",
    "Message",
    "MsgType",
    "Redeliver",
    "RequestProposal",
    "RequestSync",
    "Send",
    "SetTimer",
    "SignerStore",
    "Timer",
    "TimerKind",
    "build_proposal",
    "create_core",
    "decode_message",
    "genesis_tip",
]
