"""Double-sign evidence: nested field order, header-list encoding, structural checks, hostile input."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.encoding import rlp
from harmony.errors import HarmonyError, RLPError
from harmony.types.slash import (
    ConflictingVotes,
    Evidence,
    InvalidEvidence,
    Moment,
    Record,
    Vote,
    check_evidence_structure,
    decode_records,
    double_signed_keys,
    encode_records,
)

K1, K2, K3 = b"\xa1" * 48, b"\xa2" * 48, b"\xa3" * 48
OFFENDER, REPORTER = b"\x0f" * 20, b"\x0e" * 20


def decoded(data: bytes) -> Any:
    """The decoded RLP item, typed loosely for indexing in tests."""
    return rlp.decode(data)


def sample_record(
    first_keys: tuple[bytes, ...] = (K1, K2),
    second_keys: tuple[bytes, ...] = (K2, K3),
    second_hash: bytes = b"\x22" * 32,
    reporter: bytes = REPORTER,
) -> Record:
    votes = ConflictingVotes(
        Vote(first_keys, b"\x11" * 32, b"\x51" * 96),
        Vote(second_keys, second_hash, b"\x52" * 96),
    )
    return Record(Evidence(Moment(12, 0, 5000, 5003), votes, OFFENDER), reporter)


def test_nested_layout() -> None:
    """Embedded Moment and ConflictingVotes are nested lists (go-ethereum RLP does not flatten them)."""
    item = rlp.decode(sample_record().encode())
    assert item == [
        [
            [b"\x0c", b"", b"\x13\x88", b"\x13\x8b"],
            [[[K1, K2], b"\x11" * 32, b"\x51" * 96], [[K2, K3], b"\x22" * 32, b"\x52" * 96]],
            OFFENDER,
        ],
        REPORTER,
    ]
    assert Record.decode(sample_record().encode()) == sample_record()
    assert sample_record().hash() != sample_record(reporter=b"\x01" * 20).hash()


def test_structural_checks() -> None:
    assert check_evidence_structure(sample_record()) == (K2,)
    assert double_signed_keys(sample_record((K3, K1, K2), (K2, K3)).evidence.conflicting_votes) == (K3, K2)
    cases = {
        "reporter_is_offender": sample_record(reporter=OFFENDER),
        "same_block": sample_record(second_hash=b"\x11" * 32),
        "no_common_key": sample_record(second_keys=(K3,)),
        "empty_vote": sample_record(first_keys=()),
    }
    for check, record in cases.items():
        with pytest.raises(InvalidEvidence) as info:
            check_evidence_structure(record)
        assert info.value.check == check


def test_header_list_encoding() -> None:
    records = [sample_record(), sample_record(reporter=b"\x01" * 20)]
    data = encode_records(records)
    assert decode_records(data) == tuple(records)
    assert encode_records([]) == b""
    assert decode_records(b"") == ()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda i: i[0][0].__setitem__(1, b"\x01" * 5),  # shard id wider than u32
        lambda i: i[0][0].__setitem__(2, b"\x01" * 9),  # height wider than u64
        lambda i: i[0][1][0][0].__setitem__(0, K1[:-1]),  # short key
        lambda i: i[0][1][0].__setitem__(2, b"\x51" * 95),  # short signature
        lambda i: i[0][1][1].__setitem__(1, b"\x22" * 33),  # long block hash
        lambda i: i[0].__setitem__(2, b"\x0f" * 19),  # short offender
        lambda i: i[0][1].append(i[0][1][0]),  # three votes
        lambda i: i[0].__setitem__(0, b""),  # moment not a list
        lambda i: i.append(b""),  # record too long
    ],
)
def test_rejects_bad_fields(mutate: Callable[[Any], None]) -> None:
    item = decoded(sample_record().encode())
    mutate(item)
    with pytest.raises(RLPError):
        Record.decode(rlp.encode(item))
    with pytest.raises(RLPError):
        decode_records(rlp.encode([item]))


keys = st.binary(min_size=48, max_size=48)
votes = st.builds(
    Vote,
    st.lists(keys, max_size=3).map(tuple),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=96, max_size=96),
)
records = st.builds(
    Record,
    st.builds(
        Evidence,
        st.builds(
            Moment,
            st.integers(0, 2**64),
            st.integers(0, 2**32 - 1),
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**64 - 1),
        ),
        st.builds(ConflictingVotes, votes, votes),
        st.binary(min_size=20, max_size=20),
    ),
    st.binary(min_size=20, max_size=20),
)


@given(records)
def test_round_trip(record: Record) -> None:
    assert Record.decode(record.encode()) == record
    assert Evidence.decode(record.evidence.encode()) == record.evidence


@given(records)
def test_check_never_raises_foreign_errors(record: Record) -> None:
    with contextlib.suppress(InvalidEvidence):
        keys_found = check_evidence_structure(record)
        assert keys_found
    swapped = dataclasses.replace(record, reporter=record.evidence.offender)
    with pytest.raises(InvalidEvidence):
        check_evidence_structure(swapped)


@settings(max_examples=300)
@given(st.binary(max_size=400))
@pytest.mark.parametrize("cls", [Record, Evidence, Vote, Moment, ConflictingVotes])
def test_random_bytes_raise_only_our_errors(cls: type[Record], data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        cls.decode(data)
    with contextlib.suppress(HarmonyError):
        decode_records(data)
