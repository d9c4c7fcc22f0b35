"""Unit tests of the strict RLP codec beyond the conformance fixtures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony.encoding import rlp
from harmony.errors import RLPError

items = st.recursive(st.binary(max_size=80), lambda children: st.lists(children, max_size=6), max_leaves=30)


@given(items)
def test_round_trip(item: rlp.DecodedItem) -> None:
    assert rlp.decode(rlp.encode(item)) == item


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_rlp_error(data: bytes) -> None:
    try:
        item = rlp.decode(data)
    except RLPError:
        return
    assert rlp.encode(item) == data  # whatever decodes must be canonical


@pytest.mark.parametrize(
    "data",
    [b"", b"\x81\x05", b"\xb8\x05hello", b"\xb9\x00\x40" + b"a" * 64, b"\xc2\x01", b"\x83ab", b"\x01\x02"],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(RLPError):
        rlp.decode(data)


def test_size_and_depth_bounds() -> None:
    with pytest.raises(RLPError, match="exceeds"):
        rlp.decode(rlp.encode(b"x" * 100), max_size=50)
    deep: rlp.Item = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(RLPError, match="nested"):
        rlp.decode(rlp.encode(deep))


def test_uint_canonical() -> None:
    assert rlp.decode_uint(b"\x01\x00") == 256
    with pytest.raises(RLPError):
        rlp.decode_uint(b"\x00\x01")
    with pytest.raises(RLPError):
        rlp.decode_uint(b"\x01" * 9, bits=64)


@given(st.lists(items, max_size=8))
def test_a_list_of_encoded_items_is_the_encoding_of_the_list(children: list[rlp.Item]) -> None:
    assert rlp.encode_list_of_encoded([rlp.encode(c) for c in children]) == rlp.encode(children)


class _Bytes(bytes):
    """A bytes subclass (as some libraries hand out)."""


@given(items)
def test_buffers_tuples_and_bytes_subclasses_encode_as_their_bytes_and_lists(item: rlp.DecodedItem) -> None:
    def as_other(x: rlp.DecodedItem, kind: int) -> object:
        if isinstance(x, list):
            return tuple(as_other(c, kind + 1) for c in x)
        return (bytearray(x), memoryview(x), _Bytes(x))[kind % 3]

    for kind in range(3):
        assert rlp.encode(as_other(item, kind)) == rlp.encode(item)  # type: ignore[arg-type]
