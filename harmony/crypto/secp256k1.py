"""secp256k1 account keys: signing, public-key recovery and Ethereum-style addresses.

Rules (yellow paper appendix F, EIP-2): a valid signature has ``0 < r < n`` and ``0 < s < n``, and since
Homestead ``s <= n/2`` ("low s"); the recovery id is 0 or 1. The address of a key is the last 20 bytes of
Keccak-256 of its 64-byte uncompressed public key. Signing always produces low-s signatures.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import coincurve
from coincurve._libsecp256k1 import ffi as _ffi
from coincurve._libsecp256k1 import lib as _lib
from coincurve.context import GLOBAL_CONTEXT

from harmony.crypto.keccak import keccak256
from harmony.errors import CryptoError, SignatureError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Order of the secp256k1 group."""
HALF_N = N // 2
_CONTEXT = GLOBAL_CONTEXT.ctx
"""libsecp256k1's context that coincurve made (read only after creation, so shared by threads)."""


@dataclass(frozen=True, slots=True)
class Signature:
    """A recoverable ECDSA signature: recovery id (0 or 1), r and s."""

    recid: int
    r: int
    s: int

    def to_bytes(self) -> bytes:
        """The 65-byte ``r ‖ s ‖ recid`` form."""
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.recid])

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Parse the 65-byte ``r ‖ s ‖ recid`` form (recid 0/1, or 27/28 as Ethereum tools write it)."""
        if len(data) != 65:
            raise SignatureError(f"signature must be 65 bytes, got {len(data)}")
        recid = data[64] - 27 if data[64] >= 27 else data[64]
        sig = cls(recid, int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big"))
        validate_signature(sig)
        return sig


def validate_signature(sig: Signature, *, allow_high_s: bool = False) -> None:
    """Check r, s and the recovery id against EIP-2; raise :class:`SignatureError` naming the bad part."""
    if sig.recid not in (0, 1):
        raise SignatureError(f"recovery id must be 0 or 1, got {sig.recid}")
    if not 0 < sig.r < N:
        raise SignatureError("signature r is out of range")
    if not 0 < sig.s < N:
        raise SignatureError("signature s is out of range")
    if not allow_high_s and sig.s > HALF_N:
        raise SignatureError("signature s is in the upper half of the curve order (EIP-2)")


class PrivateKey:
    """A secp256k1 private key with its public key and address."""

    __slots__ = ("_key", "address", "public_key")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise CryptoError(f"private key must be 32 bytes, got {len(secret)}")
        value = int.from_bytes(secret, "big")
        if not 0 < value < N:
            raise CryptoError("private key is out of range (must be in 1 .. n-1)")
        self._key = coincurve.PrivateKey(secret)
        self.public_key: bytes = self._key.public_key.format(compressed=False)[1:]
        self.address: bytes = public_key_to_address(self.public_key)

    @classmethod
    def generate(cls) -> PrivateKey:
        """A new key from the operating system's randomness."""
        while True:
            secret = secrets.token_bytes(32)
            if 0 < int.from_bytes(secret, "big") < N:
                return cls(secret)

    @classmethod
    def from_hex(cls, text: str) -> PrivateKey:
        """Parse 64 hex digits, with or without 0x."""
        raw = text[2:] if text.startswith(("0x", "0X")) else text
        try:
            secret = bytes.fromhex(raw)
        except ValueError as exc:
            raise CryptoError("private key is not valid hex") from exc
        return cls(secret)

    @property
    def secret(self) -> bytes:
        """The 32-byte secret."""
        return bytes(self._key.secret)

    def sign_hash(self, msg_hash: bytes) -> Signature:
        """Sign a 32-byte hash (RFC 6979 nonce, low s)."""
        if len(msg_hash) != 32:
            raise CryptoError(f"message hash must be 32 bytes, got {len(msg_hash)}")
        raw = self._key.sign_recoverable(msg_hash, hasher=None)
        return Signature(raw[64], int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"))

    def __repr__(self) -> str:
        return f"PrivateKey(address=0x{self.address.hex()})"


def public_key_to_address(public_key: bytes) -> bytes:
    """Ethereum address of a 64-byte uncompressed public key: last 20 bytes of its Keccak-256."""
    if len(public_key) != 64:
        raise CryptoError(f"public key must be 64 bytes, got {len(public_key)}")
    return keccak256(public_key)[12:]


def recover_public_key(msg_hash: bytes, sig: Signature, *, allow_high_s: bool = False) -> bytes:
    """The 64-byte public key that made ``sig`` over ``msg_hash``; :class:`SignatureError` if none."""
    validate_signature(sig, allow_high_s=allow_high_s)
    if len(msg_hash) != 32:
        raise SignatureError(f"message hash must be 32 bytes, got {len(msg_hash)}")
    # libsecp256k1's parse, recover and serialize called directly: coincurve's PublicKey wrapper around
    # the same three calls cost a third as much again as the recovery itself, once per transaction per node
    ctx = _CONTEXT
    recoverable = _ffi.new("secp256k1_ecdsa_recoverable_signature *")
    compact = sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big")
    if not _lib.secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, recoverable, compact, sig.recid):
        raise SignatureError("signature does not parse")  # unreachable: r, s and recid were checked
    public = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_ecdsa_recover(ctx, public, recoverable, msg_hash):
        raise SignatureError("signature does not recover to a public key")
    out = _ffi.new("unsigned char[65]")
    length = _ffi.new("size_t *", 65)
    _lib.secp256k1_ec_pubkey_serialize(ctx, out, length, public, _lib.SECP256K1_EC_UNCOMPRESSED)
    public_key: bytes = _ffi.buffer(out, 65)[1:]  # slicing a cffi buffer copies into bytes
    return public_key


def recover_address(msg_hash: bytes, sig: Signature, *, allow_high_s: bool = False) -> bytes:
    """The 20-byte address that signed ``msg_hash`` (ecrecover)."""
    return public_key_to_address(recover_public_key(msg_hash, sig, allow_high_s=allow_high_s))
