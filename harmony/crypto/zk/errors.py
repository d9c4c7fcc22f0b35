"""The typed errors of the zero-knowledge range proofs."""

from __future__ import annotations

from harmony.errors import CryptoError, DecodeError


class ZkDecodeError(DecodeError):
    """A point, scalar, commitment or proof encoding is malformed; the message names the field."""


class ZkError(CryptoError):
    """A proof cannot be made (value out of range, bad arguments) or a claim is inconsistent."""


__all__ = ["ZkDecodeError", "ZkError"]
