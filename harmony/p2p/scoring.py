"""Peer scoring: count bad behaviour per peer and ban a peer that crosses a threshold (design.md §3 rule 5).

Pure bookkeeping with the clock passed in; the host acts on the verdict (disconnects, refuses connections,
drops gossip). Scores are integers: each penalty adds its weight, and one point is forgiven every
``decay_seconds`` so that rare faults of an honest peer never add up to a ban.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass
class _PeerRecord:
    score: int
    updated: float


class PeerScores:
    """Per-peer penalty scores and temporary bans."""

    def __init__(self, *, ban_threshold: int, ban_seconds: float, decay_seconds: float) -> None:
        if ban_threshold < 1 or ban_seconds <= 0 or decay_seconds <= 0:
            raise ValueError("ban_threshold, ban_seconds and decay_seconds must be positive")
        self.ban_threshold = ban_threshold
        self.ban_seconds = ban_seconds
        self.decay_seconds = decay_seconds
        self.penalties: Counter[str] = Counter()
        """Total penalty weight by reason, for metrics."""
        self._records: dict[str, _PeerRecord] = {}
        self._banned_until: dict[str, float] = {}

    def score(self, peer_id: str, now: float) -> int:
        """The peer's current score after decay (0 for a peer never penalized)."""
        record = self._records.get(peer_id)
        if record is None:
            return 0
        forgiven = int((now - record.updated) // self.decay_seconds)
        if forgiven > 0:
            record.score = max(0, record.score - forgiven)
            record.updated += forgiven * self.decay_seconds
        if record.score == 0:
            del self._records[peer_id]
        return record.score

    def penalize(self, peer_id: str, reason: str, weight: int, now: float) -> bool:
        """Add ``weight`` to the peer's score; returns True when this penalty bans the peer."""
        weight = max(1, int(weight))
        self.penalties[reason] += weight
        if self.is_banned(peer_id, now):
            return False
        current = self.score(peer_id, now)
        record = self._records.setdefault(peer_id, _PeerRecord(0, now))
        record.score = current + weight
        if record.score >= self.ban_threshold:
            del self._records[peer_id]
            self._banned_until[peer_id] = now + self.ban_seconds
            return True
        return False

    def is_banned(self, peer_id: str, now: float) -> bool:
        """Whether the peer is banned at ``now``; an expired ban is forgotten."""
        until = self._banned_until.get(peer_id)
        if until is None:
            return False
        if until <= now:
            del self._banned_until[peer_id]
            return False
        return True

    def banned(self, now: float) -> set[str]:
        """The peers banned at ``now``."""
        for peer_id in [p for p, until in self._banned_until.items() if until <= now]:
            del self._banned_until[peer_id]
        return set(self._banned_until)
