"""The typed errors this package raises on purpose.

Every byte from outside (a peer, an RPC client, a file, the command line) that cannot be accepted ends in
one of these, never in a bare ``ValueError``, ``IndexError`` or a library's own exception. Each layer adds
subclasses beside the code that raises them; they all derive from :class:`HarmonyError`.
"""

from __future__ import annotations


class HarmonyError(Exception):
    """Base of every error raised on purpose by this package."""


class DecodeError(HarmonyError, ValueError):
    """Bytes or text from outside could not be decoded into a value."""


class RLPError(DecodeError):
    """An RLP byte string is malformed: truncated, oversized, non-canonical or of the wrong shape."""


class AddressError(DecodeError):
    """An address string is neither a valid bech32 ``one1…`` address nor 0x hex of 20 bytes."""


class FixedPointError(DecodeError):
    """A decimal string or value does not fit the 18-decimal fixed-point type."""


class CryptoError(HarmonyError):
    """A key, signature or proof is malformed or does not verify."""


class SignatureError(CryptoError):
    """A signature is malformed (bad length, out-of-range r/s, high s, bad v) or cannot be recovered."""


class KeystoreError(HarmonyError):
    """A keystore file is malformed, uses an unsupported scheme, or the passphrase is wrong."""


class InvalidTransaction(DecodeError):
    """A transaction is well-formed RLP but breaks a rule (chain ID, intrinsic gas, field bounds)."""
