"""The simulated network: point-to-point messages with loss, duplication, delay, reordering and partitions.

Model (issue 4, item 5). Every message is one ``send(src, dst, payload)``; a broadcast is one send per
receiver, each faulted independently. For each send, in this order, one ``random.Random`` draws:

1. **partition**: if ``src`` and ``dst`` are on different sides of the current partition the message is
   dropped (counted ``partition``); the check is made again on delivery, so a partition that starts while
   a message is in flight cuts it too;
2. **loss**: dropped with probability ``loss`` (counted ``loss``);
3. **delay**: ``latency_ms`` plus a uniform jitter in ``[0, jitter_ms]``; with probability ``reorder`` an
   extra delay of up to ``reorder_ms`` is added, so the message overtakes or is overtaken by later ones;
4. **duplication**: with probability ``duplicate`` a second copy is scheduled with its own delay.

A healed network (``LinkFaults.healthy``) still has latency and jitter (messages are delivered within
``latency_ms + jitter_ms``) but no loss, duplication, reordering or partition: the liveness phase runs on it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from harmony.sim.scheduler import Scheduler

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class LinkFaults:
    """Per-message fault rates of the network (module docstring)."""

    loss: float = 0.0
    """Probability that a message is dropped (at most 0.3 in the fault plans)."""
    duplicate: float = 0.0
    """Probability that a message is delivered twice."""
    reorder: float = 0.0
    """Probability that a message gets an extra delay of up to ``reorder_ms``."""
    latency_ms: int = 50
    """Base one-way latency."""
    jitter_ms: int = 20
    """Uniform extra delay in ``[0, jitter_ms]``."""
    reorder_ms: int = 1500
    """Largest extra delay of a reordered message."""

    @staticmethod
    def healthy(latency_ms: int = 50, jitter_ms: int = 20) -> LinkFaults:
        """No loss, duplication, reordering: the liveness phase's network."""
        return LinkFaults(latency_ms=latency_ms, jitter_ms=jitter_ms)

    @property
    def max_delay_ms(self) -> int:
        """The longest a delivered message can take under these faults."""
        return self.latency_ms + self.jitter_ms + (self.reorder_ms if self.reorder > 0 else 0)


class Network(Generic[P]):
    """Moves payloads between numbered nodes through the scheduler (module docstring).

    ``deliver(src, dst, payload)`` is called when a message arrives; whether the receiver is up is the
    caller's business. ``counts`` tallies ``sent``, ``delivered``, ``loss``, ``partition``, ``duplicated``
    and ``reordered``.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        rng: random.Random,
        node_count: int,
        deliver: Callable[[int, int, P], None],
        faults: LinkFaults | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._rng = rng
        self._n = node_count
        self._deliver = deliver
        self.faults = faults or LinkFaults()
        self._side: list[int] = [0] * node_count
        self.counts: Counter[str] = Counter()

    # -- partitions -------------------------------------------------------------------------------
    def partition(self, groups: Sequence[Iterable[int]]) -> None:
        """Split the nodes: nodes in different groups cannot reach each other; unlisted nodes form one more
        group of their own."""
        side = [len(groups)] * self._n
        for index, group in enumerate(groups):
            for node in group:
                side[node] = index
        self._side = side

    def heal(self) -> None:
        """Remove every partition."""
        self._side = [0] * self._n

    def connected(self, a: int, b: int) -> bool:
        """Whether ``a`` and ``b`` are on the same side of the current partition."""
        return self._side[a] == self._side[b]

    @property
    def partitioned(self) -> bool:
        """Whether any partition is in force."""
        return len(set(self._side)) > 1

    def component(self, node: int) -> tuple[int, ...]:
        """The nodes on ``node``'s side, ascending."""
        return tuple(i for i in range(self._n) if self._side[i] == self._side[node])

    # -- messages ---------------------------------------------------------------------------------
    def send(self, src: int, dst: int, payload: P, label: str = "msg") -> None:
        """Send one message (module docstring for the order of the draws)."""
        self.counts["sent"] += 1
        if not self.connected(src, dst):
            self.counts["partition"] += 1
            return
        f = self.faults
        if f.loss > 0 and self._rng.random() < f.loss:
            self.counts["loss"] += 1
            return
        self._schedule(src, dst, payload, label)
        if f.duplicate > 0 and self._rng.random() < f.duplicate:
            self.counts["duplicated"] += 1
            self._schedule(src, dst, payload, label)

    def _delay(self) -> int:
        f = self.faults
        delay = f.latency_ms + (self._rng.randint(0, f.jitter_ms) if f.jitter_ms > 0 else 0)
        if f.reorder > 0 and self._rng.random() < f.reorder:
            self.counts["reordered"] += 1
            delay += self._rng.randint(0, f.reorder_ms)
        return delay

    def _schedule(self, src: int, dst: int, payload: P, label: str) -> None:
        def arrive() -> None:
            if not self.connected(src, dst):
                self.counts["partition"] += 1
                return
            self.counts["delivered"] += 1
            self._deliver(src, dst, payload)

        self._scheduler.after(self._delay(), f"deliver {label} {src}->{dst}", arrive)
