"""Which block ranges to ask which peer for, and in what order to hand them on (issue 18, fast sync).

A pure bookkeeping object, no IO: the fetch tasks of several peers take ranges of at most ``size`` blocks
from it, report what each answer held (all, a prefix, nothing) or that it failed, and the importer takes the
answers back strictly in block order. A range that failed, or the part of a range a peer did not hold, goes
back to the front of the queue for another peer, so nothing fetched is skipped and nothing is asked twice
while it is in flight. Ranges are handed out at most ``window`` blocks ahead of the importer, which bounds
the memory the waiting answers take.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """Blocks ``start`` .. ``start + count - 1``."""

    start: int
    count: int

    @property
    def end(self) -> int:
        """The last block number of the span."""
        return self.start + self.count - 1


@dataclass(frozen=True, slots=True)
class Answer:
    """What one peer sent for the span starting at ``start``: the encoded items, in order."""

    start: int
    peer: str
    items: tuple[tuple[bytes, bytes, bytes], ...]


class RangeSchedule:
    """The ranges of one sync towards ``target``, from ``first`` on (module docstring)."""

    def __init__(self, first: int, target: int, *, size: int, window: int) -> None:
        if size <= 0 or window < size:
            raise ValueError(f"range size {size} and window {window}: need 0 < size <= window")
        self.size = size
        self.window = window
        self.target = target
        self.next_import = first
        """The number the importer needs next."""
        self._next_new = first
        """The first number never handed out."""
        self._retry: list[tuple[int, int]] = []
        """(start, count) of spans to hand out again, lowest start first (a heap)."""
        self._in_flight: dict[int, Span] = {}
        self._ready: dict[int, Answer] = {}

    def done(self) -> bool:
        """Whether every block up to the target was handed to the importer."""
        return self.next_import > self.target

    def take(self, peer_head: int, most: int | None = None) -> Span | None:
        """The next span of at most ``most`` blocks (default and cap: ``size``) to ask a peer whose head is
        ``peer_head`` for; ``None`` when there is none now (everything is in flight or waiting, the window
        is full, or the peer is not far enough)."""
        size = self.size if most is None else max(1, min(most, self.size))
        limit = min(self.target, peer_head, self.next_import + self.window - 1)
        if self._retry and self._retry[0][0] <= limit:
            start, count = heapq.heappop(self._retry)
            take = min(count, size, limit - start + 1)
            self._requeue(start + take, count - take)
            span = Span(start, take)
        elif self._next_new <= limit:
            span = Span(self._next_new, min(size, limit - self._next_new + 1))
            self._next_new = span.end + 1
        else:
            return None
        self._in_flight[span.start] = span
        return span

    def answered(self, span: Span, peer: str, items: list[tuple[bytes, bytes, bytes]]) -> None:
        """A peer's answer for ``span`` (at most ``span.count`` items, the longest prefix it held); the
        blocks it did not send are asked again."""
        self._in_flight.pop(span.start, None)
        items = items[: span.count]
        if len(items) < span.count:
            self._requeue(span.start + len(items), span.count - len(items))
        cut = max(0, self.next_import - span.start)  # blocks the chain got meanwhile (skip_to)
        if len(items) > cut:
            self._ready[span.start + cut] = Answer(span.start + cut, peer, tuple(items[cut:]))

    def failed(self, span: Span) -> None:
        """The request for ``span`` failed: ask another peer."""
        self._in_flight.pop(span.start, None)
        self._requeue(span.start, span.count)

    def next_answer(self) -> Answer | None:
        """The waiting answer that starts at :attr:`next_import`, removed; ``None`` if it has not come."""
        return self._ready.pop(self.next_import, None)

    def imported(self, count: int) -> None:
        """The importer stored ``count`` blocks from :attr:`next_import` on."""
        self.next_import += count

    def rejected(self, answer: Answer, imported: int) -> None:
        """``answer`` held a bad block after its first ``imported`` items: everything from that block on
        in it is asked again (of another peer)."""
        start = answer.start + imported
        self._requeue(start, len(answer.items) - imported)

    def skip_to(self, number: int) -> None:
        """The chain got to ``number - 1`` by other means (a consensus commit): forget answers below it."""
        if number <= self.next_import:
            return
        for start in [s for s in self._ready if s < number]:
            answer = self._ready.pop(start)
            end = start + len(answer.items) - 1
            if end >= number:  # keep the part still needed, as its own answer
                cut = number - start
                self._ready[number] = Answer(number, answer.peer, answer.items[cut:])
        self._retry = [(s, c) for s, c in self._retry if s + c - 1 >= number]
        self._retry = [(max(s, number), s + c - max(s, number)) for s, c in self._retry]
        heapq.heapify(self._retry)
        self._next_new = max(self._next_new, number)
        self.next_import = number

    def _requeue(self, start: int, count: int) -> None:
        """Ask blocks ``start`` .. ``start + count - 1`` again, except those already imported."""
        end = start + count - 1
        start = max(start, self.next_import)
        if end >= start:
            heapq.heappush(self._retry, (start, end - start + 1))

    @property
    def in_flight(self) -> int:
        """Spans asked and not answered yet."""
        return len(self._in_flight)

    @property
    def waiting(self) -> int:
        """Answers received and not imported yet."""
        return len(self._ready)


__all__ = ["Answer", "RangeSchedule", "Span"]
