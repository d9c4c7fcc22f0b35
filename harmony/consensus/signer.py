"""The signer: every consensus signature goes through it, and it never double-signs (design §3.4).

State, per (key, shard): the last (height, view) signed at, and for that (height, view) the digest of the
payload signed in each phase. A request is refused (:class:`DoubleSignRefused`) when

* its (height, view) is older than the last one (an older height, or an older view at the same height); or
* the same (height, view, phase) was already signed with a different payload.

Re-signing the identical payload is allowed (BLS is deterministic: the same signature comes out), so a
restarted node may resend its votes. The new state is saved through the injected
:class:`~harmony.consensus.api.SignerStore` (durable on return) **before** any signature is returned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from harmony.consensus.api import SignerStore
from harmony.crypto.bls import SecretKey, Signature
from harmony.crypto.keccak import keccak256
from harmony.errors import HarmonyError


class Phase(Enum):
    """What a vote signature is for; one payload per (height, view, phase)."""

    PREPARE = "prepare"
    COMMIT = "commit"
    VIEWCHANGE = "viewchange"
    """m1 or m2 of a VIEWCHANGE (reference §1.7)."""
    VIEWID = "viewid"
    """m3 of a VIEWCHANGE."""


@dataclass(frozen=True, slots=True)
class VoteSlot:
    """Where a vote signature is given: (shard, height, view, phase)."""

    shard: int
    height: int
    view: int
    phase: Phase


class DoubleSignRefused(HarmonyError):
    """The signer refused: the signature would conflict with one already given (or be for the past)."""


@dataclass(slots=True)
class _KeyState:
    height: int = 0
    view: int = 0
    signed: dict[str, str] = field(default_factory=dict)
    """Phase name → hex digest of the payload signed at (height, view)."""
    equivocated: list[str] = field(default_factory=list)
    """``phase:digest`` of each deliberate conflicting signature at (height, view) (:meth:`Signer.equivocate`,
    tests only)."""


class Signer:
    """Double-sign-protected signing with a set of BLS keys for consensus (see the module docstring)."""

    def __init__(self, store: SignerStore) -> None:
        self._store = store
        self._state: dict[str, _KeyState] = {}
        blob = store.load()
        if blob is not None:
            self._state = _decode_state(blob)

    def sign(
        self,
        keys: Sequence[SecretKey],
        *,
        shard: int,
        height: int,
        view: int,
        phase: Phase,
        payload: bytes,
    ) -> list[Signature]:
        """Sign ``payload`` with every key, after recording (durably) that they did; all or none.

        Raises :class:`DoubleSignRefused` if any key would double-sign or sign for the past.
        """
        for key in keys:
            reason = self._refusal(key, shard, height, view, phase=phase, payload=payload)
            if reason is not None:
                raise DoubleSignRefused(reason)
        digest = keccak256(payload).hex()
        changed = False
        for key in keys:
            state = self._state_at(key, shard, height, view)
            if state.signed.get(phase.value) != digest:
                state.signed[phase.value] = digest
                changed = True
        if changed:
            self._store.save(_encode_state(self._state))
        return [key.sign(payload) for key in keys]

    def equivocate(self, keys: Sequence[SecretKey], at: VoteSlot, payload: bytes) -> list[Signature]:
        """Test-only: sign ``payload`` although it conflicts with what was signed at (height, view, phase),
        after recording (durably) the conflict in the slashing-protection state; the node's
        ``debug.equivocate`` uses it so that a network's double-sign detection and slashing can be tested.

        Raises :class:`DoubleSignRefused` for a (height, view) older than the last signed: even a
        deliberate equivocation is not signed for the past.
        """
        shard, height, view = at.shard, at.height, at.view
        for key in keys:
            state = self._state.get(_name(key, shard))
            if state is not None and (height, view) < (state.height, state.view):
                raise DoubleSignRefused(
                    f"({height}, {view}) is older than the last signed ({state.height}, {state.view})"
                )
        entry = f"{at.phase.value}:{keccak256(payload).hex()}"
        for key in keys:
            self._state_at(key, shard, height, view).equivocated.append(entry)
        self._store.save(_encode_state(self._state))
        return [key.sign(payload) for key in keys]

    def _state_at(self, key: SecretKey, shard: int, height: int, view: int) -> _KeyState:
        """``key``'s state, started afresh when (height, view) is newer than its last."""
        name = _name(key, shard)
        state = self._state.get(name)
        if state is None or (state.height, state.view) != (height, view):
            state = _KeyState(height, view)
            self._state[name] = state
        return state

    @staticmethod
    def sign_envelope(key: SecretKey, signing_hash: bytes) -> Signature:
        """The envelope signature of a message (reference §1.2): not a vote, so not guarded."""
        return key.sign(signing_hash)

    def _refusal(
        self, key: SecretKey, shard: int, height: int, view: int, *, phase: Phase, payload: bytes
    ) -> str | None:
        state = self._state.get(_name(key, shard))
        if state is None:
            return None
        if (height, view) < (state.height, state.view):
            return f"({height}, {view}) is older than the last signed ({state.height}, {state.view})"
        if (height, view) == (state.height, state.view):
            done = state.signed.get(phase.value)
            if done is not None and done != keccak256(payload).hex():
                return f"already signed a different {phase.value} at height {height}, view {view}"
        return None


def _name(key: SecretKey, shard: int) -> str:
    return f"{key.public_key.hex()}/{shard}"


def _encode_state(state: dict[str, _KeyState]) -> bytes:
    doc = {
        name: [s.height, s.view, dict(sorted(s.signed.items()))] + ([s.equivocated] if s.equivocated else [])
        for name, s in sorted(state.items())
    }
    return json.dumps({"version": 1, "keys": doc}, separators=(",", ":")).encode()


def _decode_state(blob: bytes) -> dict[str, _KeyState]:
    """Read the saved state; a corrupt file is an error (never silently forget what was signed)."""
    try:
        doc = json.loads(blob.decode())
        out: dict[str, _KeyState] = {}
        for name, entry in doc["keys"].items():
            height, view, signed, *rest = entry
            equivocated = rest[0] if rest else []
            if len(rest) > 1 or not (
                isinstance(height, int)
                and isinstance(view, int)
                and isinstance(signed, dict)
                and isinstance(equivocated, list)
            ):
                raise ValueError(name)
            signed_state = {str(k): str(v) for k, v in signed.items()}
            out[str(name)] = _KeyState(height, view, signed_state, [str(e) for e in equivocated])
        return out
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise HarmonyError(f"signer state is corrupt: {exc}") from exc
