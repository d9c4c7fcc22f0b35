"""Bech32 strings (BIP-173, the original checksum constant 1, not bech32m) used by Harmony addresses.

A bech32 string is ``hrp`` + ``"1"`` + data characters + a six-character BCH checksum over the
human-readable part and the data. Harmony writes its 20-byte account addresses this way with HRP ``one``
(reference §9.4). Everything here is strict: at most 90 characters, printable US-ASCII HRP, no mixed case,
a valid checksum and zero padding bits; any failure raises :class:`~harmony.errors.AddressError` saying
what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harmony.errors import AddressError

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
"""The 32 data characters of BIP-173, indexed by their 5-bit value."""

_CHAR_VALUES: dict[str, int] = {c: i for i, c in enumerate(CHARSET)}

MAX_LENGTH = 90
"""BIP-173's bound on the whole string, HRP and separator and checksum included."""

CHECKSUM_LENGTH = 6
"""Characters of checksum at the end of the data part."""

_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONST = 1
"""Residue of a valid bech32 checksum (bech32m would use 0x2BC830A3)."""


def _polymod(values: Iterable[int]) -> int:
    """The BCH checksum polynomial of BIP-173 over GF(32), evaluated over ``values``."""
    chk = 1
    for value in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    """The HRP as checksummed by BIP-173: high 3 bits of each character, a zero, then the low 5 bits."""
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _checksum(hrp: str, data: Sequence[int]) -> list[int]:
    """The six 5-bit values that make ``hrp`` and ``data`` verify (BIP-173 ``bech32_create_checksum``)."""
    residue = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ _BECH32_CONST
    return [(residue >> 5 * (5 - i)) & 31 for i in range(CHECKSUM_LENGTH)]


def _check_hrp(hrp: str) -> None:
    if not hrp:
        raise AddressError("bech32: empty human-readable part")
    for c in hrp:
        if not 33 <= ord(c) <= 126:
            raise AddressError(f"bech32: character {c!r} is not allowed in the human-readable part")


def bech32_encode(hrp: str, data: Sequence[int]) -> str:
    """Encode 5-bit values ``data`` under ``hrp`` as a lowercase bech32 string (BIP-173 "Bech32")."""
    _check_hrp(hrp)
    if any(c.isupper() for c in hrp) and any(c.islower() for c in hrp):
        raise AddressError("bech32: mixed-case human-readable part")
    hrp = hrp.lower()
    for value in data:
        if not 0 <= value < 32:
            raise AddressError(f"bech32: data value {value} is not a 5-bit value")
    text = hrp + "1" + "".join(CHARSET[v] for v in [*data, *_checksum(hrp, data)])
    if len(text) > MAX_LENGTH:
        raise AddressError(f"bech32: encoding is {len(text)} characters, over the limit of {MAX_LENGTH}")
    return text


def bech32_decode(text: str) -> tuple[str, list[int]]:
    """Decode a bech32 string into its lowercase HRP and 5-bit data values, checksum removed (BIP-173).

    Rejects: non-strings, more than 90 characters, characters outside US-ASCII 33-126, mixed case, a
    missing separator or empty HRP, a data part shorter than the checksum, a data character outside the
    bech32 alphabet, and a bad checksum.
    """
    if not isinstance(text, str):
        raise AddressError(f"bech32: expected a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise AddressError(f"bech32: string of {len(text)} characters exceeds the limit of {MAX_LENGTH}")
    for c in text:
        if not 33 <= ord(c) <= 126:
            raise AddressError(f"bech32: character {c!r} is out of the printable US-ASCII range")
    lower = text.lower()
    if lower != text and text.upper() != text:
        raise AddressError("bech32: mixed upper and lower case")
    sep = lower.rfind("1")
    if sep < 0:
        raise AddressError("bech32: missing the '1' separator")
    if sep == 0:
        raise AddressError("bech32: empty human-readable part")
    hrp, rest = lower[:sep], lower[sep + 1 :]
    if len(rest) < CHECKSUM_LENGTH:
        raise AddressError(f"bech32: data part of {len(rest)} characters is shorter than the checksum")
    data: list[int] = []
    for c in rest:
        value = _CHAR_VALUES.get(c)
        if value is None:
            raise AddressError(f"bech32: invalid data character {c!r}")
        data.append(value)
    if _polymod([*_hrp_expand(hrp), *data]) != _BECH32_CONST:
        raise AddressError("bech32: bad checksum")
    return hrp, data[:-CHECKSUM_LENGTH]


def convert_bits(data: Iterable[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    """Regroup a stream of ``from_bits``-bit values into ``to_bits``-bit values (BIP-173 ``convertbits``).

    With ``pad`` the last group is zero-filled (encoding); without it, leftover bits must be fewer than
    ``from_bits`` and all zero (decoding), else :class:`AddressError`.
    """
    acc = 0
    bits = 0
    out: list[int] = []
    max_out = (1 << to_bits) - 1
    for value in data:
        if not 0 <= value < (1 << from_bits):
            raise AddressError(f"bech32: value {value} does not fit in {from_bits} bits")
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_out)
        acc &= (1 << bits) - 1
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_out)
    elif bits >= from_bits:
        raise AddressError("bech32: too many padding bits")
    elif acc:
        raise AddressError("bech32: non-zero padding bits")
    return out


def encode_bytes(hrp: str, payload: bytes) -> str:
    """Bech32 string of an 8-bit ``payload`` under ``hrp`` (8-to-5-bit regrouping with zero padding)."""
    return bech32_encode(hrp, convert_bits(payload, 8, 5, pad=True))


def decode_bytes(text: str) -> tuple[str, bytes]:
    """The lowercase HRP and 8-bit payload of a bech32 string; padding must be zero and short."""
    hrp, data = bech32_decode(text)
    return hrp, bytes(convert_bits(data, 5, 8, pad=False))
