"""A virtual clock and an event queue with a seeded tie-break: the only source of order in a simulation.

Rules (style.md, tigerbeetle's VOPR):

- Time is an integer number of virtual milliseconds; nothing reads the wall clock.
- Events fire in order of time. Events due at the same millisecond fire in an order drawn from the
  simulation's one ``random.Random`` (a key drawn when the event is scheduled), then by insertion order,
  so neither Python's dict/set order nor object identity ever decides what happens first.
- Given the same seed and the same sequence of calls, a run fires the same events in the same order.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

Action = Callable[[], None]
"""What an event does when it fires."""


@dataclass(order=True, slots=True)
class _Entry:
    at_ms: int
    tie: int
    seq: int
    label: str = field(compare=False)
    action: Action = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class EventHandle:
    """A scheduled event that can be cancelled before it fires."""

    __slots__ = ("_entry",)

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    @property
    def at_ms(self) -> int:
        """The virtual time at which the event fires."""
        return self._entry.at_ms

    @property
    def label(self) -> str:
        """What the event is, for traces."""
        return self._entry.label

    def cancel(self) -> None:
        """Make the event a no-op (it stays in the heap and is skipped when due)."""
        self._entry.cancelled = True

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._entry.cancelled


class Scheduler:
    """Virtual time and a heap of pending events (module docstring)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._heap: list[_Entry] = []
        self._seq = 0
        self._now = 0
        self.fired = 0
        """How many events have fired."""

    @property
    def now_ms(self) -> int:
        """The current virtual time in milliseconds."""
        return self._now

    def at(self, at_ms: int, label: str, action: Action) -> EventHandle:
        """Schedule ``action`` at absolute virtual time ``at_ms`` (clamped to now: no event in the past)."""
        self._seq += 1
        entry = _Entry(max(int(at_ms), self._now), self._rng.getrandbits(32), self._seq, label, action)
        heapq.heappush(self._heap, entry)
        return EventHandle(entry)

    def after(self, delay_ms: int, label: str, action: Action) -> EventHandle:
        """Schedule ``action`` ``delay_ms`` after now."""
        return self.at(self._now + max(0, int(delay_ms)), label, action)

    def pending(self) -> int:
        """Events still queued (cancelled ones included until they are popped)."""
        return len(self._heap)

    def next_time(self) -> int | None:
        """The time of the earliest live event, or None if nothing is pending."""
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].at_ms if self._heap else None

    def step(self) -> bool:
        """Fire the earliest live event; False if there is none."""
        while self._heap:
            entry = heapq.heappop(self._heap)
            if entry.cancelled:
                continue
            self._now = entry.at_ms
            self.fired += 1
            entry.action()
            return True
        return False

    def run_until(self, end_ms: int, should_stop: Callable[[], bool] | None = None) -> None:
        """Fire every event due at or before ``end_ms`` (or until ``should_stop()``), then set now to it."""
        while True:
            if should_stop is not None and should_stop():
                return
            nxt = self.next_time()
            if nxt is None or nxt > end_ms:
                break
            self.step()
        self._now = max(self._now, end_ms)
