"""The per-block VRF built from BLS signatures.

Rule (design §7; reference §2.1, §7): the leader's BLS signature over the 32-byte parent block hash is the
proof π (96 bytes) and its SHA-256 is the output β (32 bytes); the header's ``Vrf`` field is ``β ‖ π``
(128 bytes). Anyone holding the leader's public key checks both. A BLS signature is unique for a key and
message, so the leader cannot choose among outputs.

Unlike the Go node, which signs SHA-256(parent hash) with herumi's raw map, we sign the parent hash itself:
the IETF ciphersuite already hashes the message to the curve (design §5).
"""

from __future__ import annotations

import hmac

from harmony.crypto.bls import SIGNATURE_SIZE, PublicKey, SecretKey, Signature, verify
from harmony.crypto.keccak import sha256
from harmony.errors import CryptoError

VRF_OUTPUT_SIZE = 32
"""Bytes of the output β."""
VRF_PROOF_SIZE = SIGNATURE_SIZE
"""Bytes of the proof π (a compressed G2 signature)."""
VRF_SIZE = VRF_OUTPUT_SIZE + VRF_PROOF_SIZE
"""Bytes of the header's ``Vrf`` field: β ‖ π (reference §2.1)."""


def vrf_prove(secret_key: SecretKey, parent_hash: bytes) -> tuple[bytes, bytes]:
    """The leader's VRF for a block (design §7): ``(β, π)`` with π = sign(parent hash), β = SHA-256(π)."""
    if len(parent_hash) != 32:
        raise CryptoError(f"VRF input must be a 32-byte parent hash, got {len(parent_hash)} bytes")
    pi = secret_key.sign(bytes(parent_hash)).to_bytes()
    return sha256(pi), pi


def vrf_verify(public_key: PublicKey, parent_hash: bytes, beta: bytes, pi: bytes) -> bool:
    """Whether ``(β, π)`` is ``public_key``'s VRF of ``parent_hash`` (design §7). Never raises."""
    if len(parent_hash) != 32 or len(beta) != VRF_OUTPUT_SIZE or len(pi) != VRF_PROOF_SIZE:
        return False
    if not hmac.compare_digest(sha256(bytes(pi)), bytes(beta)):
        return False
    try:
        signature = Signature.from_bytes(bytes(pi))
    except CryptoError:
        return False
    return verify(public_key, bytes(parent_hash), signature)


def encode_vrf(beta: bytes, pi: bytes) -> bytes:
    """The header's ``Vrf`` field (reference §2.1): ``β ‖ π``, 128 bytes."""
    if len(beta) != VRF_OUTPUT_SIZE or len(pi) != VRF_PROOF_SIZE:
        raise CryptoError(f"VRF output must be {VRF_OUTPUT_SIZE} bytes and proof {VRF_PROOF_SIZE} bytes")
    return bytes(beta) + bytes(pi)


def decode_vrf(data: bytes) -> tuple[bytes, bytes]:
    """Split the header's ``Vrf`` field into ``(β, π)``; :class:`CryptoError` unless it is 128 bytes."""
    if len(data) != VRF_SIZE:
        raise CryptoError(f"VRF field must be {VRF_SIZE} bytes, got {len(data)}")
    return bytes(data[:VRF_OUTPUT_SIZE]), bytes(data[VRF_OUTPUT_SIZE:])
