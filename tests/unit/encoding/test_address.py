"""Unit tests for harmony.encoding.address: one1 <-> 0x pairs, EIP-55, parsing hostile text."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import (
    from_bech32,
    from_hex,
    is_address,
    parse_address,
    to_bech32,
    to_checksum_hex,
)
from harmony.encoding.bech32 import encode_bytes
from harmony.errors import AddressError

# Public pairs. The first is Harmony's localnet genesis test account (core/genesis.go), whose bech32 form
# appears in icon-bridge's devnet config and in pyhmy's util tests; the second is from the txtool tests
# for Harmony addresses, and its one1 form is the one pyhmy's bech32 test decodes.
KNOWN_PAIRS = [
    ("0xA5241513DA9F4463F1d4874b548dFBAC29D91f34", "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"),
    ("0xebcd16e8c1d8f493ba04e99a56474122d81a9c58", "one1a0x3d6xpmr6f8wsyaxd9v36pytvp48zckswvv9"),
]
LOCALNET_KEY = "1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"

# EIP-55's own examples: all caps, all lower, and normal mixed-case checksummed addresses.
EIP55_EXAMPLES = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize(("hex_text", "one"), KNOWN_PAIRS)
def test_known_pairs(hex_text: str, one: str) -> None:
    address = bytes.fromhex(hex_text[2:])
    assert to_bech32(address) == one
    assert from_bech32(one) == address
    assert parse_address(one) == address
    assert parse_address(hex_text) == address
    assert parse_address(hex_text.lower()) == address
    checksummed = to_checksum_hex(address)
    assert checksummed.lower() == hex_text.lower()
    assert parse_address(checksummed) == address
    if hex_text != hex_text.lower():
        assert checksummed == hex_text


def test_localnet_key_gives_known_address() -> None:
    address = PrivateKey.from_hex(LOCALNET_KEY).address
    assert to_bech32(address) == KNOWN_PAIRS[0][1]


@pytest.mark.parametrize("text", EIP55_EXAMPLES)
def test_eip55_examples(text: str) -> None:
    address = bytes.fromhex(text[2:])
    assert parse_address(text) == address
    if text[2:] != text[2:].lower() and text[2:] != text[2:].upper():
        assert to_checksum_hex(address) == text


def test_eip55_bad_checksum_rejected() -> None:
    good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    bad = good[:-1] + "D"
    with pytest.raises(AddressError, match="EIP-55"):
        parse_address(bad)


def test_tone_and_uppercase_accepted() -> None:
    address = bytes(range(20))
    assert from_bech32(to_bech32(address, "tone")) == address
    assert parse_address(to_bech32(address).upper()) == address


BAD_ADDRESSES = {
    "empty": ("", "must be bech32"),
    "plain-text": ("hello", "must be bech32"),
    "other-hrp": (encode_bytes("bc", bytes(20)), "must be bech32"),
    "0X-prefix": ("0X" + "00" * 20, "start with '0x'"),
    "short-hex": ("0x" + "00" * 19, "40 hex digits"),
    "long-hex": ("0x" + "00" * 21, "40 hex digits"),
    "non-hex": ("0x" + "0g" * 20, "non-hex"),
    "no-prefix-hex": ("00" * 20, "must be bech32"),
    "bad-checksum": ("one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu4", "bad checksum"),
    "mixed-case-bech32": ("one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fU3", "mixed"),
    "short-payload": (encode_bytes("one", bytes(19)), "holds 19 bytes"),
    "long-payload": (encode_bytes("one", bytes(32)), "holds 32 bytes"),
    "whitespace": (" one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3", "must be bech32"),
}


@pytest.mark.parametrize(("text", "message"), list(BAD_ADDRESSES.values()), ids=list(BAD_ADDRESSES))
def test_bad_addresses(text: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        parse_address(text)
    assert not is_address(text)


def test_from_bech32_rejects_other_hrp() -> None:
    with pytest.raises(AddressError, match="expected 'one' or 'tone'"):
        from_bech32(encode_bytes("bc", bytes(20)))


def test_non_string_and_wrong_length_rejected() -> None:
    with pytest.raises(AddressError, match="string"):
        parse_address(42)  # type: ignore[arg-type]
    with pytest.raises(AddressError, match="string"):
        from_hex(None)  # type: ignore[arg-type]
    with pytest.raises(AddressError, match="20 bytes"):
        to_bech32(bytes(19))
    with pytest.raises(AddressError, match="20 bytes"):
        to_checksum_hex(bytes(21))
    with pytest.raises(AddressError, match="must be bytes"):
        to_bech32("00" * 20)  # type: ignore[arg-type]


@given(st.binary(min_size=20, max_size=20), st.sampled_from(["one", "tone"]))
def test_round_trip(address: bytes, hrp: str) -> None:
    text = to_bech32(address, hrp)
    assert text.startswith(hrp + "1")
    assert from_bech32(text) == address
    assert parse_address(text) == address
    assert parse_address(to_checksum_hex(address)) == address
    assert parse_address("0x" + address.hex()) == address


@given(st.one_of(st.text(max_size=60), st.text(alphabet="0123456789abcdefABCDEFxX", max_size=44)))
def test_random_text_raises_only_address_error(text: str) -> None:
    with contextlib.suppress(AddressError):
        assert len(parse_address(text)) == 20


@given(st.text(alphabet="qpzry9x8gf2tvdw0s3jn54khce6mua7l", max_size=45))
def test_random_bech32_body_raises_only_address_error(body: str) -> None:
    with contextlib.suppress(AddressError):
        assert len(parse_address("one1" + body)) == 20
