"""Unit tests for harmony.encoding.bech32: BIP-173 vectors, failures, 5/8-bit regrouping, properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony.encoding.bech32 import (
    CHARSET,
    MAX_LENGTH,
    bech32_decode,
    bech32_encode,
    convert_bits,
    decode_bytes,
    encode_bytes,
)
from harmony.errors import AddressError

# Test vectors of BIP-173 ("Test vectors", valid and invalid bech32 strings).
BIP173_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11" + "q" * 82 + "c8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
BIP173_INVALID = {
    "hrp-char-0x20": ("\x201nwldj5", "out of the printable"),
    "hrp-char-0x7f": ("\x7f1axkwrx", "out of the printable"),
    "hrp-char-0x80": ("\x801eym55h", "out of the printable"),
    "too-long": (
        "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
        "exceeds the limit",
    ),
    "no-separator": ("pzry9x0s0muk", "separator"),
    "empty-hrp": ("1pzry9x0s0muk", "empty human-readable"),
    "bad-data-char": ("x1b4n0q5v", "invalid data character"),
    "short-checksum": ("li1dgmt3", "shorter than the checksum"),
    "bad-checksum-char": ("de1lg7wt\xff", "out of the printable"),
    "checksum-of-uppercase-hrp": ("A1G7SGD8", "bad checksum"),
    "empty-hrp-2": ("10a06t8", "empty human-readable"),
    "empty-hrp-3": ("1qzzfhee", "empty human-readable"),
    "mixed-case": ("A12uEL5L", "mixed"),
    "bech32m-checksum": ("a1lqfn3a", "bad checksum"),
}


@pytest.mark.parametrize("text", BIP173_VALID)
def test_bip173_valid(text: str) -> None:
    hrp, data = bech32_decode(text)
    assert bech32_encode(hrp, data) == text.lower()


@pytest.mark.parametrize(("text", "message"), list(BIP173_INVALID.values()), ids=list(BIP173_INVALID))
def test_bip173_invalid(text: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        bech32_decode(text)


def test_decoded_values() -> None:
    assert bech32_decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw") == ("abcdef", list(range(32)))


def test_every_single_character_change_is_detected() -> None:
    text = "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"
    for i in range(6, len(text)):
        for c in "qpz":
            if c != text[i]:
                with pytest.raises(AddressError):
                    bech32_decode(text[:i] + c + text[i + 1 :])


def test_non_string_rejected() -> None:
    with pytest.raises(AddressError, match="expected a string"):
        bech32_decode(b"a12uel5l")  # type: ignore[arg-type]


def test_encode_rejects_bad_input() -> None:
    with pytest.raises(AddressError, match="5-bit"):
        bech32_encode("a", [32])
    with pytest.raises(AddressError, match="empty"):
        bech32_encode("", [1])
    with pytest.raises(AddressError, match="not allowed"):
        bech32_encode("a b", [1])
    with pytest.raises(AddressError, match="mixed-case"):
        bech32_encode("aB", [1])
    with pytest.raises(AddressError, match="over the limit"):
        bech32_encode("a", [0] * (MAX_LENGTH - 7))


def test_encode_lowercases_hrp() -> None:
    assert bech32_encode("A", []) == "a12uel5l"


def test_convert_bits() -> None:
    assert convert_bits(b"\xff", 8, 5, pad=True) == [31, 28]
    assert convert_bits([31, 28], 5, 8, pad=False) == [255]
    with pytest.raises(AddressError, match="non-zero padding"):
        convert_bits([31, 29], 5, 8, pad=False)
    with pytest.raises(AddressError, match="too many padding"):
        convert_bits([31, 28, 0], 5, 8, pad=False)
    with pytest.raises(AddressError, match="does not fit"):
        convert_bits([32], 5, 8, pad=False)


def test_decode_bytes_rejects_bad_padding() -> None:
    # 3 data values = 15 bits: one byte and 7 leftover bits, more than 5 allowed for padding.
    text = bech32_encode("one", [0, 0, 0])
    with pytest.raises(AddressError, match="padding"):
        decode_bytes(text)


@given(st.binary(max_size=40), st.sampled_from(["one", "tone", "a", "bc"]))
def test_bytes_round_trip(payload: bytes, hrp: str) -> None:
    text = encode_bytes(hrp, payload)
    assert decode_bytes(text) == (hrp, payload)
    assert decode_bytes(text.upper()) == (hrp, payload)


@given(st.text(max_size=100))
def test_random_text_raises_only_address_error(text: str) -> None:
    with contextlib.suppress(AddressError):
        bech32_decode(text)


@given(st.text(alphabet=CHARSET + "1", min_size=8, max_size=60))
def test_random_charset_text_raises_only_address_error(tail: str) -> None:
    with contextlib.suppress(AddressError):
        decode_bytes("one1" + tail)
