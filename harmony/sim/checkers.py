"""Checkers: what a simulated run must never do (safety) and must eventually do (liveness).

Each checker is fed observations by the cluster as they happen and keeps a list of violations; a run fails
if any checker has one. They rely on nothing the consensus core says about itself: every signature they
accept is verified here with real BLS against the committee.

- :class:`SafetyChecker` proves **agreement and validity of finality**: no two honest nodes (nor one node
  twice) finalize different blocks at one height; every finalized block carries a commit aggregate that
  verifies over the commit payload (reference §1.3: ``number (u64 LE) ‖ hash ‖ view (u64 LE)``) for a bitmap
  of strictly more than 2/3 of the committee's voting power; and a finalized block at height h+1 carries in
  its header the last-commit signature and bitmap of the block finalized at h, which verify in the same way
  (§1.5).
- :class:`DoubleSignChecker` proves **no honest double sign**: every signature an honest node emits is
  recorded per (key, shard, height, view, phase), across crashes and restarts; two different signed payloads
  under one such slot is a violation. It also checks that double-sign evidence the core reports names a key
  that really signed two conflicting payloads (no false accusation of an honest node).
- :class:`LivenessChecker` proves **progress after the faults stop**: with the network healed and every
  honest node up from ``fault_end_ms`` on, every honest node finalizes a block higher than any finalized
  before ``fault_end_ms`` within the stated bound.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from harmony.crypto import bls
from harmony.crypto.bitmap import decode_bitmap, verify_aggregate
from harmony.errors import CryptoError
from harmony.types.header import Header


def commit_payload(number: int, block_hash: bytes, view_id: int) -> bytes:
    """What a COMMIT signs (reference §1.3, staking era): ``number (u64 LE) ‖ hash (32) ‖ view (u64 LE)``."""
    return struct.pack("<Q", number) + block_hash + struct.pack("<Q", view_id)


@dataclass(frozen=True, slots=True)
class CommitteeView:
    """The committee as the checkers see it: keys in bitmap order and their voting power (integers)."""

    shard_id: int
    keys: tuple[bls.PublicKey, ...]
    powers: tuple[int, ...]

    @property
    def total_power(self) -> int:
        """The sum of all members' power."""
        return sum(self.powers)

    def has_quorum(self, indices: Sequence[int]) -> bool:
        """Whether the members ``indices`` hold strictly more than 2/3 of the power (reference §1.4)."""
        signed = sum(self.powers[i] for i in set(indices))
        return 3 * signed > 2 * self.total_power


@dataclass(frozen=True, slots=True)
class Finalized:
    """An honest node finalized ``header`` with the commit aggregate ``signature`` over ``bitmap``."""

    node: int
    header: Header
    block_hash: bytes
    signature: bytes
    bitmap: bytes
    at_ms: int


@dataclass(frozen=True, slots=True)
class SignedPayload:
    """An honest node sent a signature by ``key`` over ``payload`` in slot (shard, height, view, phase)."""

    node: int
    key: bytes
    shard_id: int
    height: int
    view_id: int
    phase: str
    payload: bytes
    at_ms: int


def check_commit_aggregate(
    committee: CommitteeView, number: int, block_hash: bytes, *, view_id: int, signature: bytes, bitmap: bytes
) -> str | None:
    """None if ``signature`` is a valid commit aggregate of > 2/3 of the power for the block; else why not."""
    try:
        indices = decode_bitmap(bitmap, len(committee.keys))
    except CryptoError as exc:
        return f"bad bitmap: {exc}"
    if not committee.has_quorum(indices):
        return f"bitmap holds {len(indices)} of {len(committee.keys)} keys: not more than 2/3 of the power"
    try:
        sig = bls.Signature.from_bytes(signature)
    except CryptoError as exc:
        return f"bad signature encoding: {exc}"
    if not verify_aggregate(committee.keys, bitmap, commit_payload(number, block_hash, view_id), sig):
        return "commit aggregate does not verify over the commit payload"
    return None


@dataclass
class SafetyChecker:
    """Agreement and validity of finality (module docstring)."""

    committee: CommitteeView
    violations: list[str] = field(default_factory=list)
    finalized: dict[int, Finalized] = field(default_factory=dict)
    """Height -> the first finalization seen at that height."""
    _verified: set[tuple[bytes, bytes, bytes]] = field(default_factory=set)

    def _check_aggregate(
        self, number: int, block_hash: bytes, view_id: int, sig: bytes, bitmap: bytes
    ) -> str | None:
        key = (block_hash, sig, bitmap)
        if key in self._verified:
            return None
        why = check_commit_aggregate(
            self.committee, number, block_hash, view_id=view_id, signature=sig, bitmap=bitmap
        )
        if why is None:
            self._verified.add(key)
        return why

    def on_finalized(self, f: Finalized) -> None:
        """Record one finalization and check it against every earlier one."""
        h = f.header.number
        if f.header.hash() != f.block_hash:
            self.violations.append(
                f"node {f.node} finalized height {h} under a hash that is not its header's"
            )
            return
        why = self._check_aggregate(h, f.block_hash, f.header.view_id, f.signature, f.bitmap)
        if why is not None:
            self.violations.append(f"node {f.node} finalized height {h} ({f.block_hash.hex()[:12]}): {why}")
        earlier = self.finalized.get(h)
        if earlier is None:
            self.finalized[h] = f
        elif earlier.block_hash != f.block_hash:
            self.violations.append(
                f"two blocks finalized at height {h}: {earlier.block_hash.hex()[:12]} by node {earlier.node} "
                f"at {earlier.at_ms} ms and {f.block_hash.hex()[:12]} by node {f.node} at {f.at_ms} ms"
            )
        parent = self.finalized.get(h - 1)
        if parent is not None and parent.block_hash == f.header.parent_hash:
            why = self._check_aggregate(
                h - 1,
                parent.block_hash,
                parent.header.view_id,
                f.header.last_commit_signature,
                f.header.last_commit_bitmap,
            )
            if why is not None:
                self.violations.append(
                    f"block {h} carries a bad last-commit signature for block {h - 1}: {why}"
                )
        elif parent is not None:
            self.violations.append(
                f"node {f.node} finalized block {h} whose parent {f.header.parent_hash.hex()[:12]} is not "
                f"the finalized block {h - 1} ({parent.block_hash.hex()[:12]})"
            )

    @property
    def height(self) -> int:
        """The highest height finalized by any honest node (0 if none)."""
        return max(self.finalized, default=0)


@dataclass
class DoubleSignChecker:
    """No honest double sign, and no false double-sign evidence (module docstring)."""

    violations: list[str] = field(default_factory=list)
    signed: dict[tuple[bytes, int, int, int, str], SignedPayload] = field(default_factory=dict)
    count: int = 0
    """Signatures recorded."""

    def on_signed(self, s: SignedPayload) -> None:
        """Record one signature an honest node emitted."""
        self.count += 1
        slot = (s.key, s.shard_id, s.height, s.view_id, s.phase)
        earlier = self.signed.get(slot)
        if earlier is None:
            self.signed[slot] = s
        elif earlier.payload != s.payload:
            self.violations.append(
                f"honest double sign by key {s.key.hex()[:12]} (node {s.node}) at height {s.height} view "
                f"{s.view_id} phase {s.phase}: at {earlier.at_ms} ms and {s.at_ms} ms"
            )

    def on_evidence(self, reporter: int, offender_key: bytes, honest_keys: frozenset[bytes]) -> None:
        """A node reported double-sign evidence against ``offender_key``: it must not be an honest key."""
        if offender_key in honest_keys:
            self.violations.append(
                f"node {reporter} reported double-sign evidence against honest key {offender_key.hex()[:12]}"
            )


@dataclass
class LivenessChecker:
    """Progress after the faults stop (module docstring).

    ``bound_ms`` is the stated bound B: every honest node must finalize a block above ``baseline`` (the
    highest height any honest node finalized before ``fault_end_ms``) by ``fault_end_ms + bound_ms``.
    """

    honest: tuple[int, ...]
    fault_end_ms: int
    bound_ms: int
    baseline: int | None = None
    reached: dict[int, int] = field(default_factory=dict)
    """Honest node -> virtual time at which it passed the baseline."""
    violations: list[str] = field(default_factory=list)

    def start(self, baseline: int) -> None:
        """Called at ``fault_end_ms`` with the highest height finalized so far."""
        self.baseline = baseline

    def on_finalized(self, node: int, height: int, at_ms: int) -> None:
        """Record an honest node's finalization during the liveness phase."""
        if self.baseline is not None and height > self.baseline and node not in self.reached:
            self.reached[node] = at_ms

    @property
    def done(self) -> bool:
        """Whether every honest node has passed the baseline."""
        return self.baseline is not None and all(n in self.reached for n in self.honest)

    def finish(self) -> None:
        """Called at ``fault_end_ms + bound_ms``: flag every honest node that made no progress."""
        deadline = self.fault_end_ms + self.bound_ms
        for node in self.honest:
            at = self.reached.get(node)
            if at is None or at > deadline:
                self.violations.append(
                    f"liveness: node {node} finalized nothing above height {self.baseline} within "
                    f"{self.bound_ms} ms of the faults ending at {self.fault_end_ms} ms"
                )
