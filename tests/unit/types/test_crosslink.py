"""Crosslinks: field order, construction from headers, header-list encoding, hostile input."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.encoding import rlp
from harmony.errors import HarmonyError, RLPError
from harmony.types.crosslink import (
    CrossLink,
    crosslinks_sorted,
    decode_crosslinks,
    encode_crosslinks,
    sort_crosslinks,
)
from harmony.types.header import Header

crosslinks = st.builds(
    CrossLink,
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**64),
    st.integers(0, 2**64),
    st.binary(min_size=96, max_size=96),
    st.binary(max_size=16),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**64),
)


def decoded(data: bytes) -> Any:
    """The decoded RLP item, typed loosely for indexing in tests."""
    return rlp.decode(data)


def sample(shard: int = 1, number: int = 100, view: int = 104) -> CrossLink:
    return CrossLink(b"\xab" * 32, number, view, b"\x5c" * 96, b"\xff\x01", shard, 7)


def test_field_order() -> None:
    """``core/types/crosslink.go``: Hash, BlockNumber, ViewID, Signature, Bitmap, ShardID, Epoch."""
    assert rlp.decode(sample().encode()) == [
        b"\xab" * 32,
        b"\x64",
        b"\x68",
        b"\x5c" * 96,
        b"\xff\x01",
        b"\x01",
        b"\x07",
    ]
    assert CrossLink.decode(sample().encode()) == sample()


def test_from_headers_describes_the_parent() -> None:
    parent = Header(number=99, view_id=120, epoch=6, shard_id=2)
    child = Header(
        parent_hash=parent.hash(),
        number=100,
        view_id=121,
        epoch=6,
        shard_id=2,
        last_commit_signature=b"\x33" * 96,
        last_commit_bitmap=b"\x07",
    )
    link = CrossLink.from_headers(child, parent)
    assert link == CrossLink(parent.hash(), 99, 120, b"\x33" * 96, b"\x07", 2, 6)
    assert link == CrossLink.from_child(child, parent_number=99, parent_view_id=120, parent_epoch=6)
    with pytest.raises(ValueError):
        CrossLink.from_headers(child, parent.replace(view_id=1))


def test_header_list_encoding_and_order() -> None:
    links = [sample(2, 5, 5), sample(1, 9, 9), sample(1, 9, 3), sample(1, 3, 4)]
    ordered = sort_crosslinks(links)
    assert [(c.shard_id, c.block_number, c.view_id) for c in ordered] == [
        (1, 3, 4),
        (1, 9, 3),
        (1, 9, 9),
        (2, 5, 5),
    ]
    assert crosslinks_sorted(ordered)
    assert not crosslinks_sorted(links)
    data = encode_crosslinks(ordered)
    assert rlp.decode(data) == [c.to_rlp() for c in ordered]
    assert decode_crosslinks(data) == ordered
    assert encode_crosslinks([]) == b""
    assert decode_crosslinks(b"") == ()
    assert decode_crosslinks(b"\xc0") == ()


@pytest.mark.parametrize(
    ("index", "value"),
    [(0, b"\xab" * 31), (1, b"\x00\x01"), (3, b"\x5c" * 97), (5, b"\x01" * 5), (6, []), (4, [b""])],
)
def test_rejects_bad_fields(index: int, value: rlp.Item) -> None:
    item: list[Any] = list(decoded(sample().encode()))
    item[index] = value
    with pytest.raises(RLPError):
        CrossLink.decode(rlp.encode(item))
    with pytest.raises(RLPError):
        decode_crosslinks(rlp.encode([item]))


def test_rejects_wrong_shape() -> None:
    item: list[Any] = list(decoded(sample().encode()))
    for bad in (item[:-1], [*item, b""], b"\x01"):
        with pytest.raises(RLPError):
            CrossLink.decode(rlp.encode(bad))
    with pytest.raises(RLPError):
        decode_crosslinks(rlp.encode(item))  # a single crosslink is not a list of them
    with pytest.raises(RLPError):
        decode_crosslinks(sample().encode()[:-3])


@given(crosslinks)
def test_round_trip(link: CrossLink) -> None:
    assert CrossLink.decode(link.encode()) == link


@given(st.lists(crosslinks, max_size=4))
def test_list_round_trip(links: list[CrossLink]) -> None:
    assert decode_crosslinks(encode_crosslinks(links)) == tuple(links)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        CrossLink.decode(data)
    with contextlib.suppress(HarmonyError):
        decode_crosslinks(data)
