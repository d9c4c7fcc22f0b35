"""Per-client token buckets: ``rate`` requests per second with a burst of one second's worth (§9.1).

Harmony's default is 1000 requests per second; a request over the limit is answered with JSON-RPC error
-32005. The table of clients is bounded: past :data:`MAX_CLIENTS` entries, full buckets are forgotten
(a client with a full bucket loses nothing by being forgotten).
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_CLIENTS = 65_536


class RateLimiter:
    """Token buckets keyed by client (IP address)."""

    def __init__(self, rate_per_s: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_s <= 0:
            raise ValueError("the rate limit must be positive")
        self.rate = float(rate_per_s)
        self.burst = float(rate_per_s)
        self._clock = clock
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
        if len(self._buckets) > MAX_CLIENTS:
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
        if len(self._buckets) > MAX_CLIENTS:  # every client is active: start over rather than grow
            self._buckets.clear()
