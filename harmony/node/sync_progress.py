"""How far a sync has got: blocks, rate, transactions per second and the time left (issue 18 item 1).

The sync session reports each durable batch; this object keeps the figures an operator reads (the log line
every :data:`LOG_EVERY` seconds, and the CLI's progress bar through :meth:`SyncProgress.snapshot`). The
rate is measured over the last :data:`RATE_WINDOW` seconds, so the ETA follows a chain whose blocks change
from empty to full. The clock is injected.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("harmony.node.sync")

LOG_EVERY = 5.0
"""Seconds between two progress lines in the log."""
RATE_WINDOW = 30.0
"""Seconds of history the rate is measured over."""


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """The figures of a sync at one moment."""

    active: bool
    start: int
    current: int
    target: int
    peers: int
    blocks_per_s: float
    tx_per_s: float
    eta_s: float | None
    """Seconds left at the current rate; ``None`` before a rate is known."""

    def describe(self) -> str:
        """One line for the log: ``block 1200 of 5000 (24 %), 310 blocks/s, 1500 tx/s, ETA 0:12``."""
        done = self.current - self.start
        total = max(1, self.target - self.start)
        eta = "?" if self.eta_s is None else _clock(self.eta_s)
        return (
            f"block {self.current} of {self.target} ({100 * done // total} %), {self.blocks_per_s:.0f} "
            f"blocks/s, {self.tx_per_s:.0f} tx/s, {self.peers} peer(s), ETA {eta}"
        )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class SyncProgress:
    """Progress of the current (or last) sync session (module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.active = False
        self.start = 0
        self.current = 0
        self.target = 0
        self.peers = 0
        self._samples: deque[tuple[float, int, int]] = deque()
        """(time, block number, transactions so far) of recent updates."""
        self._transactions = 0
        self._last_log = 0.0

    def begin(self, current: int, target: int, peers: int) -> None:
        """A session from block ``current`` towards ``target`` with ``peers`` peers starts."""
        now = self.clock()
        self.active = True
        self.start = self.current = current
        self.target = target
        self.peers = peers
        self._transactions = 0
        self._samples = deque([(now, current, 0)])
        self._last_log = now

    def update(self, current: int, transactions: int) -> None:
        """Blocks up to ``current`` are durable, ``transactions`` more than at the last update."""
        now = self.clock()
        self.current = current
        self._transactions += transactions
        self._samples.append((now, current, self._transactions))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()
        if now - self._last_log >= LOG_EVERY:
            self._last_log = now
            log.info("sync: %s", self.snapshot().describe())

    def end(self) -> None:
        """The session ended."""
        self.active = False
        if self.current > self.start:
            log.info("sync: at block %d (%d blocks this session)", self.current, self.current - self.start)

    def snapshot(self) -> ProgressSnapshot:
        """The figures now."""
        blocks_rate = tx_rate = 0.0
        eta: float | None = None
        if len(self._samples) >= 2:
            t0, n0, x0 = self._samples[0]
            t1, n1, x1 = self._samples[-1]
            if t1 > t0:
                blocks_rate = (n1 - n0) / (t1 - t0)
                tx_rate = (x1 - x0) / (t1 - t0)
                if blocks_rate > 0:
                    eta = max(0, self.target - self.current) / blocks_rate
        return ProgressSnapshot(
            self.active, self.start, self.current, self.target, self.peers, blocks_rate, tx_rate, eta
        )


__all__ = ["ProgressSnapshot", "SyncProgress"]
