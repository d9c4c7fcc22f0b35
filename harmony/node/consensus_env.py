"""What the consensus driver is given (design §3.2: clock, transport and storage are injected).

The driver (:mod:`harmony.node.consensus_driver`) carries out the FBFT core's effects through three
protocols, so that the node, the simulator (:mod:`harmony.sim.cluster`) and the unit tests run the same
driver, as CometBFT's ``State`` runs over a swappable ``TimeoutTicker``:

* :class:`Ledger`: the finalized chain (where consensus resumes, what is stored at a height), the check of an
  announced block, the proposal of a block and the store of a final one;
* :class:`Timers`: the core's timers (the node's :class:`TimerTable` is read by the driver's trio loop; the
  simulator puts them on its virtual scheduler);
* :class:`Transport`: where the core's messages go (the node's :class:`TopicTransport` queues them for the
  shard topic, a vote route and coded propagation; the simulator hands them to its lossy network).

The clock is a ``Callable[[], int]`` of milliseconds (the core's ``now``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Protocol

import trio

from harmony.consensus.api import ChainTip, Commit, RequestProposal, Timer, TimerKind
from harmony.consensus.messages import Message, MsgType
from harmony.crypto.bls import SecretKey
from harmony.node.wire import KIND_CONSENSUS, pack
from harmony.types.block import Block
from harmony.types.shard_state import Committee

OUTBOX_SIZE = 4096
"""Topic messages waiting for the publisher; when full, new ones are dropped (the core resends its own)."""


class Ledger(Protocol):
    """The chain as the driver sees it: read the finalized head, check, propose and store blocks."""

    def tip(self) -> ChainTip:
        """The stored head with its commit aggregate: where a new core resumes."""
        ...

    def head_number(self) -> int:
        """The number of the stored head."""
        ...

    def canonical_hash(self, number: int) -> bytes | None:
        """The hash of the stored block ``number`` (None above the head)."""
        ...

    def validate(self, block: Block, now_ms: int) -> bool:
        """The application check of an announced block at local time ``now_ms`` (design §3.4)."""
        ...

    def propose(
        self, request: RequestProposal, keys: tuple[SecretKey, ...], committee: Committee, now_ms: int
    ) -> Block | None:
        """The block answering ``request`` on the head, signed for by our ``keys`` (None: cannot build)."""
        ...

    def store(self, commit: Commit) -> bool:
        """Store the final block of ``commit`` (the head's child) with its aggregate; False if it failed."""
        ...

    def after_commit(self, block: Block, signature: bytes, bitmap: bytes, proposed_here: bool) -> None:
        """``block`` is final and stored (committed here or synced): the work that follows a block."""
        ...

    def forget(self) -> None:
        """Drop what was kept for blocks not yet final (a new core starts at the head)."""
        ...


class Timers(Protocol):
    """The core's timers: one per kind, each firing ``driver.on_timer(timer)`` at its deadline."""

    def set(self, timer: Timer, at: int) -> None:
        """Arm ``timer`` for local time ``at`` (ms), replacing one of its kind."""
        ...

    def cancel(self, kind: TimerKind) -> None:
        """Disarm the timer of ``kind``, if any."""
        ...

    def clear(self) -> None:
        """Disarm every timer (a new core)."""
        ...


class Transport(Protocol):
    """Where the core's messages and the node's topic messages go."""

    def broadcast(self, message: Message) -> None:
        """A ``Broadcast`` effect: every member should receive ``message``."""
        ...

    def send(self, to: bytes, message: Message) -> None:
        """A ``Send`` effect: the holder of BLS key ``to`` should receive ``message``."""
        ...

    def publish(self, data: bytes) -> None:
        """A packed topic message (:mod:`harmony.node.wire`) for the shard topic."""
        ...


class TimerTable:
    """The node's :class:`Timers`: a table the driver's trio loop waits on (earliest deadline first)."""

    def __init__(self) -> None:
        self.armed: dict[TimerKind, tuple[Timer, int]] = {}

    def set(self, timer: Timer, at: int) -> None:
        """Arm ``timer`` for ``at``."""
        self.armed[timer.kind] = (timer, at)

    def cancel(self, kind: TimerKind) -> None:
        """Disarm ``kind``."""
        self.armed.pop(kind, None)

    def clear(self) -> None:
        """Disarm all."""
        self.armed.clear()

    def delay(self, now: int) -> float:
        """Seconds until the earliest deadline (1 s when none is armed)."""
        if not self.armed:
            return 1.0
        at = min(at for _, at in self.armed.values())
        return max(0.0, (at - now) / 1000)

    def due(self, now: int) -> list[tuple[Timer, int]]:
        """The timers due at ``now``, earliest first (fire each only if :meth:`take` still finds it)."""
        return sorted((entry for entry in self.armed.values() if entry[1] <= now), key=lambda e: e[1])

    def take(self, timer: Timer, at: int) -> bool:
        """Disarm ``timer`` armed for ``at`` and return True, unless it was replaced or cancelled since."""
        if self.armed.get(timer.kind) != (timer, at):
            return False
        del self.armed[timer.kind]
        return True


class TopicTransport:
    """The node's :class:`Transport`: packed consensus messages queued for the publisher task (the shard
    topic), votes handed to a route straight to the leader, block-carrying messages to coded propagation."""

    def __init__(self, counters: Counter[str]) -> None:
        self.counters = counters
        self.outbox_send, self.outbox = trio.open_memory_channel[bytes](OUTBOX_SIZE)
        self.coded_send: Callable[[Message], None] | None = None
        """With coded propagation (:mod:`harmony.node.coded_propagation`): takes every message carrying a
        block of the types in ``coded_types`` instead of the topic."""
        self.coded_types: frozenset[MsgType] = frozenset()
        self.vote_route: Callable[[bytes, bytes], bool] | None = None
        """With consensus streams (:mod:`harmony.node.consensus_streams`): ``route(leader key, packed vote)``
        takes a vote for the leader's stream, or returns False and the vote goes on the topic."""

    def broadcast(self, message: Message) -> None:
        """To every member: coded when it carries a block and coding is on, else on the topic."""
        if self.coded_send is not None and message.block and message.type in self.coded_types:
            self.coded_send(message)
        else:
            self.publish(pack(KIND_CONSENSUS, message.encode()))

    def send(self, to: bytes, message: Message) -> None:
        """To the holder of ``to``: by the vote route when it takes it, else on the topic (where every
        member's core ignores what is not for it)."""
        if self.coded_send is not None and message.block and message.type in self.coded_types:
            self.coded_send(message)
            return
        packed = pack(KIND_CONSENSUS, message.encode())
        if self.vote_route is None or not self.vote_route(to, packed):
            self.publish(packed)

    def publish(self, data: bytes) -> None:
        """Queue ``data`` for the publisher (dropped and counted when the outbox is full)."""
        try:
            self.outbox_send.send_nowait(data)
        except trio.WouldBlock:
            self.counters["outbox_full"] += 1
