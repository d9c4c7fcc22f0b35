"""Token buckets by key: ``rate`` tokens a second, at most ``burst`` held (one second's worth by default).

Two users: the RPC server's limit per client (design §9.1: Harmony's default is 1000 requests per second, a
request over it is answered with JSON-RPC error -32005), and the coded broadcast's allowance per peer for
batches of blocks a node does not expect yet (:mod:`harmony.p2p.coded_broadcast`). The table of keys is
bounded: past ``max_keys`` entries, full buckets are forgotten (a key with a full bucket loses nothing by
being forgotten), and if every key is active the table starts over rather than grow.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_CLIENTS = 65_536
"""Keys kept by default."""


class RateLimiter:
    """Token buckets keyed by client (an IP address, a peer ID)."""

    def __init__(
        self,
        rate_per_s: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_CLIENTS,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("the rate limit must be positive")
        self.rate = float(rate_per_s)
        self.burst = self.rate if burst is None else float(burst)
        if self.burst < 1:
            raise ValueError("the burst must be at least one token")
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str, cost: int = 1) -> bool:
        """Take ``cost`` tokens from ``client``'s bucket; ``False`` (nothing taken) when it has too few."""
        now = self._clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._forget_full(now)
        return allowed

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self._max_keys:  # every client is active: start over rather than grow
            self._buckets.clear()
