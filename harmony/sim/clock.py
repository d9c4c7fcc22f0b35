"""Per-node skewed clocks over the simulator's global virtual time.

A node's clock reads ``local = global + global × drift_ppm / 10^6 + offset_ms`` (integer milliseconds). A
timer the node asks for ``d`` local milliseconds ahead fires after ``d × 10^6 / (10^6 + drift_ppm)`` global
milliseconds (rounded up, at least 1 ms for a positive delay), so a fast clock fires its timers early.
"""

from __future__ import annotations

from dataclasses import dataclass

PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class NodeClock:
    """One node's view of time (module docstring)."""

    offset_ms: int = 0
    drift_ppm: int = 0

    def local(self, global_ms: int) -> int:
        """The node's reading at global time ``global_ms``."""
        return global_ms + (global_ms * self.drift_ppm) // PPM + self.offset_ms

    def global_delay(self, local_delay_ms: int) -> int:
        """How many global milliseconds pass while the node's clock advances ``local_delay_ms``."""
        if local_delay_ms <= 0:
            return 0
        rate = PPM + self.drift_ppm
        return max(1, -(-local_delay_ms * PPM // rate))

    def global_at(self, local_ms: int, now_global_ms: int) -> int:
        """The global time at which the node's clock reads ``local_ms`` (never before ``now_global_ms``)."""
        return now_global_ms + self.global_delay(local_ms - self.local(now_global_ms))
