"""Keccak-256 (the pre-standard SHA-3 Ethereum and Harmony use for every hash) and SHA-256."""

from __future__ import annotations

import hashlib

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    """Keccak-256 of ``data`` (32 bytes), as in the yellow paper's KEC."""
    return _keccak.new(digest_bits=256, data=data).digest()


def sha256(data: bytes) -> bytes:
    """SHA-256 of ``data``; Harmony uses it for the coinbase of a BLS key and for the VRF."""
    return hashlib.sha256(data).digest()


EMPTY_KECCAK = keccak256(b"")
"""Keccak-256 of the empty string: the code hash of an account without code."""
