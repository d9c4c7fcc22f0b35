"""Account addresses as text: Harmony's bech32 ``one1…`` form and Ethereum's 0x hex with EIP-55 checksum.

An address is the 20-byte Ethereum address of a secp256k1 key. Harmony shows it as bech32 (BIP-173) with
HRP ``one`` and also accepts ``tone`` when parsing (reference §9.4, ``internal/common/address.go``); RPC
inputs take either bech32 or 0x hex. Mixed-case hex must carry a valid EIP-55 checksum; all-lowercase or
all-uppercase hex carries none and is accepted as is.

EIP-55 needs Keccak-256; this layer-1 module takes it from pycryptodome directly rather than import the
higher ``harmony.crypto`` layer.
"""

from __future__ import annotations

from sha3 import keccak_256

from harmony.encoding.bech32 import decode_bytes, encode_bytes
from harmony.errors import AddressError

ADDRESS_LENGTH = 20
"""Bytes in an account address."""

HRP_MAINNET = "one"
"""The human-readable part Harmony writes addresses with."""

HRP_TESTNET = "tone"
"""The other human-readable part Harmony's ``ParseAddr`` accepts."""

ACCEPTED_HRPS = frozenset({HRP_MAINNET, HRP_TESTNET})
"""Human-readable parts :func:`from_bech32` accepts."""

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _check_address(address: bytes) -> bytes:
    if not isinstance(address, (bytes, bytearray)):
        raise AddressError(f"an address must be bytes, not {type(address).__name__}")
    if len(address) != ADDRESS_LENGTH:
        raise AddressError(f"an address is {ADDRESS_LENGTH} bytes, got {len(address)}")
    return bytes(address)


def to_bech32(address: bytes, hrp: str = HRP_MAINNET) -> str:
    """The bech32 text (``one1…`` by default) of a 20-byte address (reference §9.4)."""
    return encode_bytes(hrp, _check_address(address))


def from_bech32(text: str) -> bytes:
    """The 20-byte address written as bech32 ``one1…`` or ``tone1…`` (reference §9.4, ``ParseAddr``).

    Raises :class:`AddressError` for a malformed string, a bad checksum, another HRP or a payload that is
    not 20 bytes.
    """
    hrp, payload = decode_bytes(text)
    if hrp not in ACCEPTED_HRPS:
        raise AddressError(f"bech32 address has HRP {hrp!r}; expected 'one' or 'tone'")
    if len(payload) != ADDRESS_LENGTH:
        raise AddressError(f"bech32 address holds {len(payload)} bytes; expected {ADDRESS_LENGTH}")
    return payload


def to_checksum_hex(address: bytes) -> str:
    """The EIP-55 mixed-case checksummed 0x hex of a 20-byte address.

    A hex letter is upper case exactly when the matching nibble of keccak256(lowercase hex) is 8 or more.
    """
    lower = _check_address(address).hex()
    digest = keccak_256(lower.encode("ascii")).hexdigest()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, digest, strict=False))


def from_hex(text: str) -> bytes:
    """The 20-byte address written as ``0x`` + 40 hex digits; mixed case must pass EIP-55."""
    if not isinstance(text, str):
        raise AddressError(f"an address must be a string, not {type(text).__name__}")
    if not text.startswith("0x"):
        raise AddressError("hex address must start with '0x'")
    digits = text[2:]
    if len(digits) != 2 * ADDRESS_LENGTH:
        raise AddressError(f"hex address must have {2 * ADDRESS_LENGTH} hex digits, got {len(digits)}")
    bad = next((c for c in digits if c not in _HEX_DIGITS), None)
    if bad is not None:
        raise AddressError(f"hex address contains the non-hex character {bad!r}")
    address = bytes.fromhex(digits)
    if digits != digits.lower() and digits != digits.upper() and to_checksum_hex(address) != text:
        raise AddressError("hex address has mixed case but a bad EIP-55 checksum")
    return address


def parse_address(text: str) -> bytes:
    """Parse an address from outside: bech32 ``one1…``/``tone1…`` or EIP-55-checked 0x hex (reference §9.4).

    Raises only :class:`AddressError`, whose message names what is wrong.
    """
    if not isinstance(text, str):
        raise AddressError(f"an address must be a string, not {type(text).__name__}")
    if text.startswith(("0x", "0X")):
        return from_hex(text)
    lower = text.lower()
    if lower.startswith((HRP_MAINNET + "1", HRP_TESTNET + "1")):
        return from_bech32(text)
    raise AddressError("address must be bech32 'one1…' / 'tone1…' or '0x' followed by 40 hex digits")


def is_address(text: str) -> bool:
    """Whether :func:`parse_address` accepts ``text``."""
    try:
        parse_address(text)
    except AddressError:
        return False
    return True
