"""18-decimal fixed point: the reference's rounding and truncation rules on hand-computed cases."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony.encoding import rlp
from harmony.encoding.fixed import DEC, OPTIONAL_DEC, SCALE, Dec, dec_max, dec_min, parse_dec
from harmony.errors import FixedPointError, RLPError


def d(text: str) -> Dec:
    return Dec.from_str(text)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("0", 0),
        ("1", SCALE),
        ("0.15", 15 * 10**16),
        ("-123.456", -123456 * 10**15),
        ("0.000000000000000001", 1),
        ("100000000000", 10**29),
    ],
)
def test_from_str(text: str, raw: int) -> None:
    assert Dec.from_str(text).raw == raw


@pytest.mark.parametrize(
    "text",
    ["", "-", ".5", "1.", "1.2.3", "abc", "1e5", " 1", "0.1234567890123456789", "1" * 200, "--1", "١٢"],
)
def test_from_str_rejects(text: str) -> None:
    with pytest.raises(FixedPointError):
        Dec.from_str(text)


def test_str_always_18_decimals() -> None:
    assert str(d("0.15")) == "0.150000000000000000"
    assert str(d("-1.5")) == "-1.500000000000000000"
    assert str(Dec(1)) == "0.000000000000000001"
    assert str(d("12345")) == "12345.000000000000000000"


def test_mul_rounds_half_to_even() -> None:
    assert d("0.15").mul(d("0.15")) == d("0.0225")
    # 1e-18 * 0.5 = 0.5e-18: exactly half, rounds to the even 0
    assert Dec(1).mul(d("0.5")) == Dec(0)
    # 3e-18 * 0.5 = 1.5e-18: half, rounds to the even 2e-18
    assert Dec(3).mul(d("0.5")) == Dec(2)
    assert Dec(-3).mul(d("0.5")) == Dec(-2)
    # 1e-18 * 0.6 rounds up, * 0.4 rounds down
    assert Dec(1).mul(d("0.6")) == Dec(1)
    assert Dec(1).mul(d("0.4")) == Dec(0)


def test_mul_truncate() -> None:
    assert Dec(3).mul_truncate(d("0.5")) == Dec(1)
    assert Dec(-3).mul_truncate(d("0.5")) == Dec(-1)


def test_quo_variants() -> None:
    one, two, three = d("1"), d("2"), d("3")
    assert one.quo(three) == d("0.333333333333333333")
    assert two.quo(three) == d("0.666666666666666667")
    assert two.quo_truncate(three) == d("0.666666666666666666")
    assert one.quo_round_up(three) == d("0.333333333333333334")
    assert (-two).quo(three) == d("-0.666666666666666667")
    assert (-two).quo_truncate(three) == d("-0.666666666666666666")
    with pytest.raises(FixedPointError, match="zero"):
        one.quo(Dec(0))


def test_integer_conversions() -> None:
    assert [d(x).round_int() for x in ("0.5", "1.5", "2.5", "-0.5", "-1.5", "2.6")] == [0, 2, 2, 0, -2, 3]
    assert [d(x).truncate_int() for x in ("1.9", "-1.9", "0")] == [1, -1, 0]
    assert [d(x).ceil() for x in ("1.2", "-1.2", "2")] == [d("2"), d("-1"), d("2")]
    assert d("7.75").truncate() == d("7")
    assert d("10").quo_int(3) == Dec(3333333333333333333)


def test_order_min_max_and_with_precision() -> None:
    assert d("0.1") < d("0.2")
    assert dec_min(d("1"), d("2")) == d("1")
    assert dec_max(d("1"), d("2")) == d("2")
    assert Dec.with_precision(15, 2) == d("0.15")
    assert Dec.from_int(7) == d("7")


def test_overflow_is_typed() -> None:
    with pytest.raises(FixedPointError, match="overflow"):
        Dec(1 << 314).mul_int(4)


def test_rlp_layout() -> None:
    assert rlp.encode(DEC.serialize(d("0.1"))) == b"\xc9\x88" + (10**17).to_bytes(8, "big")
    assert rlp.encode(OPTIONAL_DEC.serialize(None)) == b"\xc0"
    assert OPTIONAL_DEC.deserialize([], "rate") is None
    with pytest.raises(RLPError):
        DEC.deserialize(b"\x01", "rate")
    with pytest.raises(RLPError):
        DEC.deserialize([b"\x00\x01"], "rate")
    with pytest.raises(RLPError):
        DEC.deserialize([b"\x01", b"\x02"], "rate")


def test_json_and_field_errors() -> None:
    assert Dec.from_json("0.05") == d("0.05")
    assert d("0.05").to_json() == "0.050000000000000000"
    with pytest.raises(FixedPointError):
        Dec.from_json(0.05)
    with pytest.raises(FixedPointError, match="commission-rate"):
        parse_dec("x", field="commission-rate")


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_text_round_trip(raw: int) -> None:
    value = Dec(raw)
    assert Dec.from_str(str(value)) == value


@given(st.integers(min_value=0, max_value=10**40), st.integers(min_value=1, max_value=10**40))
def test_quo_rounding_bounds(a: int, b: int) -> None:
    x, y = Dec(a), Dec(b)
    assert x.quo_truncate(y).raw <= x.quo(y).raw <= x.quo_truncate(y).raw + 1
    assert x.quo_round_up(y).raw - x.quo_truncate(y).raw in (0, 1)


@given(st.text(max_size=40))
def test_random_text_only_typed_errors(text: str) -> None:
    with contextlib.suppress(FixedPointError):
        Dec.from_str(text)
