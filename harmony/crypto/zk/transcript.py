"""The Fiat-Shamir transcript that turns the interactive Bulletproofs protocol into a proof.

State ``h₀ = SHA-256("harmony-zk/v1/transcript" ‖ domain)``. Absorbing ``(label, data)`` sets
``h ← SHA-256(h ‖ len(label) ‖ label ‖ len(data) as 4 bytes ‖ data)``. A challenge named ``label`` sets
``h ← SHA-256(h ‖ "challenge" ‖ label)`` and is ``SHA-512(h) mod n``: every challenge depends on all the
statement and every proof element sent before it.
"""

from __future__ import annotations

import hashlib

from harmony.crypto.zk.group import N

TRANSCRIPT_DOMAIN = b"harmony-zk/v1/transcript"


class Transcript:
    """A running SHA-256 chain of what prover and verifier have exchanged."""

    __slots__ = ("_state",)

    def __init__(self, domain: bytes) -> None:
        self._state = hashlib.sha256(TRANSCRIPT_DOMAIN + domain).digest()

    def absorb(self, label: bytes, data: bytes) -> None:
        """Append one labelled message."""
        self._state = hashlib.sha256(
            self._state + bytes([len(label)]) + label + len(data).to_bytes(4, "big") + data
        ).digest()

    def challenge(self, label: bytes) -> int:
        """The next challenge scalar (may be 0 with probability 2⁻²⁵⁶; callers refuse it)."""
        self._state = hashlib.sha256(self._state + b"challenge" + label).digest()
        return int.from_bytes(hashlib.sha512(self._state).digest(), "big") % N


__all__ = ["TRANSCRIPT_DOMAIN", "Transcript"]
