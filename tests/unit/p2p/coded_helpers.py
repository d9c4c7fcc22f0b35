"""Helpers for the coded-broadcast tests: a real BLS leader key, its signer, and a resolver that checks the
commitment's signature and round the way the node will (signed by the round's leader, a known round)."""

from __future__ import annotations

from collections.abc import Iterable

from harmony.crypto import bls
from harmony.crypto.keccak import keccak256
from harmony.p2p.coded_assembly import CommitmentResolver, Round
from harmony.p2p.coded_broadcast import CommitmentSigner
from harmony.p2p.coding import SignedCommitment, SymbolCommitment, encode_block

LEADER_KEY = bls.SecretKey.key_gen(b"coded-broadcast-leader".ljust(32, b"\x00"))
OTHER_KEY = bls.SecretKey.key_gen(b"coded-broadcast-not-the-leader".ljust(32, b"\x00"))


def signer(key: bls.SecretKey = LEADER_KEY) -> CommitmentSigner:
    """A :data:`CommitmentSigner` over a real BLS key."""

    def sign(payload: bytes) -> tuple[bytes, bytes]:
        return key.public_key.to_bytes(), key.sign(payload).to_bytes()

    return sign


def sign_commitment(commitment: SymbolCommitment, key: bls.SecretKey = LEADER_KEY) -> SignedCommitment:
    """Sign a commitment with a real BLS key."""
    signature = key.sign(commitment.signing_payload())
    return SignedCommitment(commitment, key.public_key.to_bytes(), signature.to_bytes())


def resolver(
    round_: Round, *, shard_id: int = 1, heights: Iterable[int] = range(1, 1000)
) -> CommitmentResolver:
    """Accept commitments of ``shard_id`` at ``heights`` signed by :data:`LEADER_KEY`, for ``round_``."""
    allowed = set(heights)
    leader_public = LEADER_KEY.public_key

    def resolve(signed: SignedCommitment) -> Round | None:
        c = signed.commitment
        if c.shard_id != shard_id or c.block_number not in allowed:
            return None
        if signed.signer != leader_public.to_bytes():
            return None
        try:
            signature = bls.Signature.from_bytes(signed.signature)
        except Exception:
            return None
        if not bls.verify(leader_public, c.signing_payload(), signature):
            return None
        return round_

    return resolve


def block_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random block bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += keccak256(seed.to_bytes(8, "big") + counter.to_bytes(8, "big"))
        counter += 1
    return bytes(out[:size])


__all__ = ["LEADER_KEY", "OTHER_KEY", "block_bytes", "encode_block", "resolver", "sign_commitment", "signer"]
