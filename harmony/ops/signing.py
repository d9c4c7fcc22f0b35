"""Per-BLS-key signing statistics, counted from the commit bitmaps of final blocks (reference §1.5).

Block ``n``'s signers are the bits of ``last_commit_bitmap`` in block ``n + 1``'s header over the committee
of block ``n``'s epoch: the bitmap the chain itself keeps (and that ``hmyv2_getBlockSignerKeys`` reads), so
these numbers equal the RPC's for every block the tracker saw. A key in the committee whose bit is clear
missed that block; a key outside the committee had nothing to sign.

:class:`SigningTracker` is plain state without IO: the ops service feeds it, metrics and alerts read
:meth:`SigningTracker.views`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harmony.crypto.bitmap import decode_bitmap
from harmony.errors import CryptoError

TIMELINE = 120
"""Blocks of signed/missed history kept per key (the dashboard's timeline)."""
MAX_KEYS = 4096
"""Keys tracked at most (committees are far smaller; a bound against a hostile shard state)."""


@dataclass(frozen=True, slots=True)
class KeyView:
    """One key's signing as of the last block counted (a snapshot; module docstring)."""

    key: bytes
    mine: bool
    """One of this node's own keys."""
    watched: bool
    """Alerts are raised for this key (own keys and ``[alerts] keys``)."""
    signed: int
    missed: int
    last_signed: int | None
    missed_streak: int
    epoch: int
    epoch_signed: int
    epoch_to_sign: int
    timeline: tuple[tuple[int, bool], ...]
    """(block number, signed) of the last :data:`TIMELINE` blocks this key had to sign."""

    @property
    def epoch_missed(self) -> int:
        """Blocks of this epoch the key should have signed and did not."""
        return self.epoch_to_sign - self.epoch_signed


@dataclass(slots=True)
class _KeyState:
    signed: int = 0
    missed: int = 0
    last_signed: int | None = None
    missed_streak: int = 0
    epoch: int = -1
    epoch_signed: int = 0
    epoch_to_sign: int = 0
    timeline: deque[tuple[int, bool]] = field(default_factory=lambda: deque(maxlen=TIMELINE))


class SigningTracker:
    """Counts every committee key's signed and missed blocks (module docstring)."""

    def __init__(self, mine: Iterable[bytes] = (), watched: Iterable[bytes] = ()) -> None:
        self.mine = frozenset(mine)
        self.watched = self.mine | frozenset(watched)
        self._keys: dict[bytes, _KeyState] = {key: _KeyState() for key in self.watched}
        self.first_block: int | None = None
        """The first block counted."""
        self.last_block: int | None = None
        """The last block counted."""
        self.last_signatures = 0
        """Signers of the last block counted."""

    def observe(self, number: int, epoch: int, committee: Sequence[bytes], bitmap: bytes) -> bool:
        """Count block ``number`` of ``epoch`` signed by ``bitmap`` over ``committee`` (its keys in order).

        Blocks are counted once and in order: one at or below the last counted is ignored (``False``).
        A bitmap that does not fit the committee counts nobody as signing; the caller checked the block.
        """
        if self.last_block is not None and number <= self.last_block:
            return False
        try:
            members = set(decode_bitmap(bitmap, len(committee)))
        except CryptoError:
            members = set()
        for index, key in enumerate(committee):
            state = self._keys.get(key)
            if state is None:
                if len(self._keys) >= MAX_KEYS:
                    continue
                state = self._keys[key] = _KeyState()
            if state.epoch != epoch:
                state.epoch, state.epoch_signed, state.epoch_to_sign = epoch, 0, 0
            signed = index in members
            state.epoch_to_sign += 1
            if signed:
                state.signed += 1
                state.epoch_signed += 1
                state.last_signed = number
                state.missed_streak = 0
            else:
                state.missed += 1
                state.missed_streak += 1
            state.timeline.append((number, signed))
        if self.first_block is None:
            self.first_block = number
        self.last_block = number
        self.last_signatures = len(members)
        return True

    def views(self, *, watched_only: bool = False) -> list[KeyView]:
        """Every tracked key's numbers (only the watched ones with ``watched_only``): own keys first, then
        watched keys, then the rest, by key."""
        out = [
            KeyView(
                key=key,
                mine=key in self.mine,
                watched=key in self.watched,
                signed=s.signed,
                missed=s.missed,
                last_signed=s.last_signed,
                missed_streak=s.missed_streak,
                epoch=s.epoch,
                epoch_signed=s.epoch_signed,
                epoch_to_sign=s.epoch_to_sign,
                timeline=tuple(s.timeline),
            )
            for key, s in self._keys.items()
            if key in self.watched or not watched_only
        ]
        out.sort(key=lambda v: (not v.mine, not v.watched, v.key))
        return out
