"""Committee bitmaps (harmony.crypto.bitmap, reference §1.3): layout, bounds, aggregate keys, verification."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.bitmap import (
    aggregate_public_key,
    bitmap_size,
    decode_bitmap,
    encode_bitmap,
    verify_aggregate,
)
from harmony.crypto.bls import SecretKey, aggregate_public_keys, aggregate_signatures
from harmony.errors import CryptoError, HarmonyError

KEYS = [SecretKey.key_gen(i.to_bytes(32, "big")) for i in range(1, 41)]
COMMITTEE = [k.public_key for k in KEYS]
MSG = b"\x42" * 32


def test_layout_is_lsb_first() -> None:
    assert encode_bitmap([0], 1) == b"\x01"
    assert encode_bitmap([0, 9], 10) == b"\x01\x02"
    assert encode_bitmap([7, 8], 9) == b"\x80\x01"
    assert encode_bitmap([], 0) == b""
    assert encode_bitmap([3, 3, 1], 4) == b"\x0a"
    assert decode_bitmap(b"\x01\x02", 10) == (0, 9)
    assert decode_bitmap(b"\xff", 8) == tuple(range(8))


def test_flags_form() -> None:
    flags = [True, False, True, False, False, False, False, False, False, True]
    assert encode_bitmap(flags, 10) == encode_bitmap([0, 2, 9], 10)
    with pytest.raises(CryptoError):
        encode_bitmap([True, False], 3)


@pytest.mark.parametrize("n,size", [(0, 0), (1, 1), (8, 1), (9, 2), (250, 32), (1000, 125)])
def test_size(n: int, size: int) -> None:
    assert bitmap_size(n) == size


def test_bad_bitmaps() -> None:
    with pytest.raises(CryptoError):
        decode_bitmap(b"\x01", 9)  # too short
    with pytest.raises(CryptoError):
        decode_bitmap(b"\x01\x00", 8)  # too long
    with pytest.raises(CryptoError):
        decode_bitmap(b"\x00\x04", 10)  # bit 10 is beyond the committee
    with pytest.raises(CryptoError):
        decode_bitmap(b"\x01", 0)
    with pytest.raises(CryptoError):
        encode_bitmap([10], 10)
    with pytest.raises(CryptoError):
        encode_bitmap([-1], 10)
    with pytest.raises(CryptoError):
        bitmap_size(-1)
    with pytest.raises(CryptoError):
        encode_bitmap(["3"], 10)  # type: ignore[list-item]
    with pytest.raises(CryptoError):
        encode_bitmap([1, True], 10)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=300).flatmap(
        lambda n: st.tuples(
            st.just(n), st.sets(st.integers(min_value=0, max_value=max(n - 1, 0)), max_size=n)
        )
    )
)
def test_round_trip(case: tuple[int, set[int]]) -> None:
    n, members = case
    data = encode_bitmap(members, n)
    assert len(data) == bitmap_size(n)
    assert decode_bitmap(data, n) == tuple(sorted(members))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.integers(min_value=0, max_value=320))
def test_random_bytes_raise_only_crypto_error(data: bytes, n: int) -> None:
    try:
        indices = decode_bitmap(data, n)
    except HarmonyError:
        return
    assert encode_bitmap(indices, n) == data


def test_aggregate_public_key() -> None:
    members = [0, 3, 17, 39]
    bitmap = encode_bitmap(members, len(COMMITTEE))
    assert aggregate_public_key(COMMITTEE, bitmap) == aggregate_public_keys([COMMITTEE[i] for i in members])
    with pytest.raises(CryptoError):
        aggregate_public_key(COMMITTEE, encode_bitmap([], len(COMMITTEE)))
    with pytest.raises(CryptoError):
        aggregate_public_key(COMMITTEE, b"\x01")


def test_verify_aggregate() -> None:
    members = list(range(0, 40, 3))
    sig = aggregate_signatures([KEYS[i].sign(MSG) for i in members])
    bitmap = encode_bitmap(members, len(COMMITTEE))
    assert verify_aggregate(COMMITTEE, bitmap, MSG, sig)
    assert not verify_aggregate(COMMITTEE, bitmap, MSG[:-1] + b"\x00", sig)
    assert not verify_aggregate(COMMITTEE, encode_bitmap(members[1:], len(COMMITTEE)), MSG, sig)
    assert not verify_aggregate(COMMITTEE, encode_bitmap([*members, 1], len(COMMITTEE)), MSG, sig)
    assert not verify_aggregate(COMMITTEE, encode_bitmap([], len(COMMITTEE)), MSG, sig)
    assert not verify_aggregate(COMMITTEE, bitmap + b"\x00", MSG, sig)
    assert not verify_aggregate(
        COMMITTEE, b"\xff" * 5, MSG, sig
    )  # every member enabled, not every member signed
    assert not verify_aggregate(COMMITTEE[:39], bitmap, MSG, sig)  # wrong committee size


def test_whole_committee() -> None:
    sig = aggregate_signatures([k.sign(MSG) for k in KEYS])
    assert verify_aggregate(COMMITTEE, encode_bitmap([True] * 40, 40), MSG, sig)
