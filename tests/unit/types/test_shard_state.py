"""Shard state: staking and legacy encodings, lookups, hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.encoding import rlp
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError, RLPError
from harmony.types.shard_state import Committee, ShardState, ShardStateError, Slot

A1, A2, A3 = b"\x01" * 20, b"\x02" * 20, b"\x03" * 20
K1, K2, K3 = b"\xa1" * 48, b"\xa2" * 48, b"\xa3" * 48


def sample_state() -> ShardState:
    return ShardState(
        epoch=5,
        shards=(
            Committee(0, (Slot(A1, K1), Slot(A2, K2, Dec.from_int(1000)))),
            Committee(1, (Slot(A3, K3, Dec.from_str("12.5")),)),
        ),
    )


slots = st.builds(
    Slot,
    st.binary(min_size=20, max_size=20),
    st.binary(min_size=48, max_size=48),
    st.one_of(st.none(), st.integers(0, 10**30).map(Dec)),
)
committees = st.builds(Committee, st.integers(0, 2**32 - 1), st.lists(slots, max_size=4).map(tuple))
states = st.builds(ShardState, st.integers(0, 2**64), st.lists(committees, max_size=3).map(tuple))


def test_staking_layout() -> None:
    item = rlp.decode(sample_state().encode())
    assert item == [
        b"\x05",
        [
            [b"", [[A1, K1, []], [A2, K2, [(1000 * 10**18).to_bytes(9, "big")]]]],
            [b"\x01", [[A3, K3, [(125 * 10**17).to_bytes(8, "big")]]]],
        ],
    ]


def test_round_trip_and_nil_stake() -> None:
    state = sample_state()
    decoded = ShardState.decode(state.encode())
    assert decoded == state
    assert decoded.shards[0].slots[0].effective_stake is None
    assert decoded.shards[0].slots[0].is_harmony_node
    assert not decoded.shards[0].slots[1].is_harmony_node


def test_legacy_form() -> None:
    legacy_bytes = rlp.encode([[b"", [[A1, K1], [A2, K2]]], [b"\x01", [[A3, K3]]]])
    state = ShardState.decode(legacy_bytes)
    assert state.epoch is None
    assert state.committee(1).slots == (Slot(A3, K3),)
    assert state.encode() == legacy_bytes
    # Encoding a legacy state drops stakes, as Go's EncodeWrapper(isStaking=false) does.
    with_stake = ShardState(None, (Committee(0, (Slot(A1, K1, Dec.one()),)),))
    assert ShardState.decode(with_stake.encode()).shards[0].slots[0].effective_stake is None
    assert ShardState.decode(rlp.encode([])) == ShardState(None, ())


def test_lookups() -> None:
    state = sample_state()
    c0 = state.committee(0)
    assert c0.bls_public_keys() == (K1, K2)
    assert c0.member_index(K2) == 1
    assert c0.address_for_bls_key(K2) == A2
    assert c0.total_effective_stake() == Dec.from_int(1000)
    assert state.find_bls_key(K3) == (1, 0)
    assert state.shard_ids() == (0, 1)
    with pytest.raises(ShardStateError):
        state.committee(7)
    with pytest.raises(ShardStateError):
        c0.member_index(K3)
    with pytest.raises(ShardStateError):
        state.find_bls_key(b"\x00" * 48)


@pytest.mark.parametrize(
    "item",
    [
        [b"\x05", [[b"", [[A1, K1[:-1], []]]]]],  # short BLS key
        [b"\x05", [[b"", [[A1 + b"\x00", K1, []]]]]],  # long address
        [b"\x05", [[b"", [[A1, K1]]]]],  # staking slot without stake
        [b"\x05", [[b"", [[A1, K1, [], b""]]]]],  # slot too long
        [b"\x05", [[b"", [[A1, K1, [b"\x00\x01"]]]]]],  # non-canonical stake
        [b"\x05", [[b"", [[A1, K1, b"\x01"]]]]],  # stake not a list
        [b"\x05", [[b"\x01" * 5, []]]],  # shard id wider than u32
        [b"\x00\x05", []],  # non-canonical epoch
        [b"\x05", b""],  # shards not a list
        [[b"", [[A1, K1, []]]]],  # legacy slot with a stake field
        [[b"", [[A1]]]],  # legacy slot too short
        b"\x05",  # not a list
    ],
)
def test_rejects_bad_shapes(item: rlp.Item) -> None:
    with pytest.raises(RLPError):
        ShardState.decode(rlp.encode(item))


def test_rejects_truncated_and_extended() -> None:
    data = sample_state().encode()
    for cut in range(0, len(data), 37):
        with pytest.raises(RLPError):
            ShardState.decode(data[:cut])
    with pytest.raises(RLPError):
        ShardState.decode(data + b"\x80")


@given(states)
def test_round_trip(state: ShardState) -> None:
    assert ShardState.decode(state.encode()) == state


@given(committees)
def test_committee_round_trip(committee: Committee) -> None:
    assert Committee.decode(committee.encode()) == committee


@settings(max_examples=300)
@given(st.binary(max_size=300))
@pytest.mark.parametrize("cls", [ShardState, Committee, Slot])
def test_random_bytes_raise_only_our_errors(cls: type[ShardState], data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        cls.decode(data)


@given(states, st.data())
def test_mutated_state_raises_only_our_errors(state: ShardState, data: st.DataObject) -> None:
    encoded = bytearray(state.encode())
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(HarmonyError):
        ShardState.decode(bytes(encoded))
