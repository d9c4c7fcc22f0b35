"""Receipts, logs and the logs bloom: encodings, known bloom vectors, hostile input."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.errors import HarmonyError, RLPError
from harmony.types.receipt import (
    EMPTY_BLOOM,
    RECEIPT_STATUS_FAILED,
    RECEIPT_STATUS_SUCCESSFUL,
    Log,
    Receipt,
    StoredLog,
    StoredReceipt,
    bloom_add,
    bloom_contains,
    bloom_union,
    logs_bloom,
    receipts_bloom,
    receipts_root,
)

TRANSFER_TOPIC = bytes.fromhex("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
"""keccak256("Transfer(address,address,uint256)"), the ERC-20 event topic."""

addresses = st.binary(min_size=20, max_size=20)
hashes = st.binary(min_size=32, max_size=32)
logs = st.builds(Log, addresses, st.lists(hashes, max_size=4).map(tuple), st.binary(max_size=64))
receipts = st.builds(
    Receipt,
    st.sampled_from([RECEIPT_STATUS_FAILED, RECEIPT_STATUS_SUCCESSFUL]),
    st.integers(0, 2**64 - 1),
    st.binary(min_size=256, max_size=256),
    st.lists(logs, max_size=3).map(tuple),
)


def decoded(data: bytes) -> Any:
    """The decoded RLP item, typed loosely for indexing in tests."""
    return rlp.decode(data)


def sample_log() -> Log:
    return Log(b"\x11" * 20, (TRANSFER_TOPIC, b"\x00" * 12 + b"\x22" * 20), b"\x00" * 31 + b"\x05")


# --- bloom -------------------------------------------------------------------------------------------


def test_bloom_transfer_topic_matches_geth() -> None:
    """Vector from HorizenOfficial/Sidechains-SDK ``BloomTest.bloomFilterTest`` ("should match geth"):
    adding the Transfer topic sets byte 75 = 0x08, byte 123 = 0x10, byte 195 = 0x02."""
    bloom = bloom_add(EMPTY_BLOOM, TRANSFER_TOPIC)
    expected = bytearray(256)
    expected[75], expected[123], expected[195] = 0x08, 0x10, 0x02
    assert bloom == bytes(expected)
    assert bloom_contains(bloom, TRANSFER_TOPIC)


def test_bloom_geth_positive_negative() -> None:
    """go-ethereum / Harmony ``core/types/bloom9_test.go`` ``TestBloom``."""
    bloom = EMPTY_BLOOM
    for word in (b"testtest", b"test", b"hallo", b"other"):
        bloom = bloom_add(bloom, word)
    for word in (b"testtest", b"test", b"hallo", b"other"):
        assert bloom_contains(bloom, word)
    for word in (b"tes", b"lo"):
        assert not bloom_contains(bloom, word)


def test_logs_bloom_covers_address_and_topics_not_data() -> None:
    log = sample_log()
    bloom = logs_bloom([log])
    assert bloom_contains(bloom, log.address)
    for topic in log.topics:
        assert bloom_contains(bloom, topic)
    assert bloom == bloom_union(
        [bloom_add(EMPTY_BLOOM, log.address), logs_bloom([Log(log.address, log.topics, b"")])]
    )
    assert logs_bloom([]) == EMPTY_BLOOM
    # Each value sets at most 3 bits.
    assert int.from_bytes(bloom_add(EMPTY_BLOOM, b"x"), "big").bit_count() <= 3


def test_bloom_rejects_wrong_length() -> None:
    with pytest.raises(ValueError):
        bloom_contains(b"\x00" * 255, b"x")


# --- receipts ----------------------------------------------------------------------------------------


def test_receipt_layout() -> None:
    ok = Receipt.make(success=True, cumulative_gas_used=21000)
    item = rlp.decode(ok.encode())
    assert item == [b"\x01", b"\x52\x08", EMPTY_BLOOM, []]
    failed = Receipt.make(success=False, cumulative_gas_used=0)
    assert rlp.decode(failed.encode()) == [b"", b"", EMPTY_BLOOM, []]


def test_receipt_with_logs_round_trip_and_bloom() -> None:
    r = Receipt.make(success=True, cumulative_gas_used=50_000, logs=[sample_log()])
    assert Receipt.decode(r.encode()) == r
    assert r.bloom == logs_bloom(r.logs)
    assert receipts_bloom([r, Receipt.make(success=False, cumulative_gas_used=1)]) == r.bloom


def test_receipt_post_state_form() -> None:
    root = keccak256(b"state")
    r = Receipt(RECEIPT_STATUS_SUCCESSFUL, 1, EMPTY_BLOOM, (), root)
    assert decoded(r.encode())[0] == root
    assert Receipt.decode(r.encode()) == r


@pytest.mark.parametrize("status", [b"\x02", b"\x00", b"\x01\x01", b"\x11" * 31])
def test_receipt_bad_status(status: bytes) -> None:
    data = rlp.encode([status, b"", EMPTY_BLOOM, []])
    with pytest.raises(RLPError, match="status"):
        Receipt.decode(data)


def test_receipts_root() -> None:
    assert receipts_root([]) == EMPTY_TRIE_ROOT
    a = Receipt.make(success=True, cumulative_gas_used=21000)
    b = Receipt.make(success=True, cumulative_gas_used=42000, logs=[sample_log()])
    assert receipts_root([a, b]) != receipts_root([b, a])
    assert receipts_root([a]) == receipts_root([Receipt.decode(a.encode())])


@pytest.mark.parametrize(
    "item",
    [
        [b"\x01", b"", EMPTY_BLOOM],  # too short
        [b"\x01", b"", EMPTY_BLOOM, [], b""],  # too long
        [b"\x01", b"\x00\x01", EMPTY_BLOOM, []],  # non-canonical gas
        [b"\x01", b"\x01" * 9, EMPTY_BLOOM, []],  # gas wider than u64
        [b"\x01", b"", EMPTY_BLOOM[:-1], []],  # short bloom
        [b"\x01", b"", EMPTY_BLOOM, b""],  # logs not a list
        [b"\x01", b"", EMPTY_BLOOM, [[b"\x11" * 19, [], b""]]],  # short address
        [b"\x01", b"", EMPTY_BLOOM, [[b"\x11" * 20, [b"\x00" * 32] * 5, b""]]],  # five topics
        [b"\x01", b"", EMPTY_BLOOM, [[b"\x11" * 20, [b"\x00" * 31], b""]]],  # short topic
        [[], b"", EMPTY_BLOOM, []],  # status a list
        b"\x01",  # not a list
    ],
)
def test_receipt_rejects_bad_shapes(item: rlp.Item) -> None:
    with pytest.raises(RLPError):
        Receipt.decode(rlp.encode(item))


def test_receipt_rejects_truncated_and_extended() -> None:
    data = Receipt.make(success=True, cumulative_gas_used=7, logs=[sample_log()]).encode()
    for cut in (1, 10, len(data) - 1):
        with pytest.raises(RLPError):
            Receipt.decode(data[:cut])
    with pytest.raises(RLPError):
        Receipt.decode(data + b"\x00")


# --- storage forms -----------------------------------------------------------------------------------


def test_stored_receipt_round_trip() -> None:
    log = sample_log()
    receipt = Receipt.make(success=True, cumulative_gas_used=30_000, logs=[log])
    stored_log = StoredLog(log.address, log.topics, log.data, 7, b"\xaa" * 32, 3, b"\xbb" * 32, 9)
    stored = StoredReceipt(receipt, b"\xaa" * 32, b"\x00" * 20, 30_000, (stored_log,))
    data = stored.encode()
    assert len(decoded(data)) == 7
    assert StoredReceipt.decode(data) == stored
    assert StoredLog.decode(stored_log.encode()) == stored_log
    assert stored_log.log == log


def test_stored_receipt_refuses_mismatched_logs() -> None:
    receipt = Receipt.make(success=True, cumulative_gas_used=1, logs=[sample_log()])
    with pytest.raises(ValueError):
        StoredReceipt(receipt, b"\xaa" * 32, b"\x00" * 20, 1, ()).encode()


# --- properties --------------------------------------------------------------------------------------


@given(receipts)
def test_receipt_round_trip(r: Receipt) -> None:
    assert Receipt.decode(r.encode()) == r


@given(logs)
def test_log_round_trip(log: Log) -> None:
    assert Log.decode(log.encode()) == log
    assert bloom_contains(logs_bloom([log]), log.address)


@settings(max_examples=300)
@given(st.binary(max_size=400))
@pytest.mark.parametrize("cls", [Receipt, Log, StoredReceipt, StoredLog])
def test_random_bytes_raise_only_our_errors(cls: type[Receipt], data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        cls.decode(data)


@given(receipts, st.data())
def test_mutated_receipt_raises_only_our_errors(r: Receipt, data: st.DataObject) -> None:
    encoded = bytearray(r.encode())
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(HarmonyError):
        Receipt.decode(bytes(encoded))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([0, 1]),
    st.integers(0, 2**64 - 1),
    st.binary(min_size=256, max_size=256),
)
def test_a_receipt_without_logs_encodes_as_the_schema_does(status: int, gas: int, bloom: bytes) -> None:
    receipt = Receipt(status, gas, bloom, ())
    assert receipt.encode() == rlp.encode(receipt.to_rlp())
    assert Receipt.decode(receipt.encode()) == receipt


# --- the compact form the chain database keeps ------------------------------------------------------

consistent_receipts = st.builds(
    Receipt.make,
    success=st.booleans(),
    cumulative_gas_used=st.integers(0, 2**64 - 1),
    logs=st.lists(logs, max_size=3),
)


def _from_compact(data: bytes) -> Receipt:
    return Receipt.from_compact_rlp(rlp.decode(data))


def test_compact_form_leaves_the_bloom_out() -> None:
    ok = Receipt.make(success=True, cumulative_gas_used=21000)
    assert rlp.decode(ok.encode_compact()) == [b"\x01", b"\x52\x08", []]
    assert (len(ok.encode_compact()), len(ok.encode())) == (6, 267)  # a plain transfer's, either way
    with_logs = Receipt.make(success=False, cumulative_gas_used=7, logs=[sample_log()])
    assert decoded(with_logs.encode_compact())[:2] == [b"", b"\x07"]
    assert _from_compact(with_logs.encode_compact()) == with_logs  # the bloom computed again
    root = Receipt(RECEIPT_STATUS_SUCCESSFUL, 1, EMPTY_BLOOM, (), keccak256(b"state"))
    assert _from_compact(root.encode_compact()) == root


@given(consistent_receipts)
def test_compact_round_trip_and_the_consensus_form_still_read(r: Receipt) -> None:
    assert _from_compact(r.encode_compact()) == r
    assert _from_compact(r.encode()) == r  # a database written before keeps the consensus form


@pytest.mark.parametrize(
    "item",
    [
        [b"\x01", b""],
        [b"\x01", b"", [], []],
        [b"\x01", b"", [], [], []],
        [b"\x02", b"", []],
        [b"\x01", b"\x00\x01", []],
        [b"\x01", b"", b"not a list"],
        b"not a list",
    ],
)
def test_compact_form_rejects_bad_shapes(item: rlp.Item) -> None:
    with pytest.raises(RLPError):
        _from_compact(rlp.encode(item))


@settings(max_examples=300)
@given(consistent_receipts, st.data())
def test_mutated_compact_receipt_raises_only_our_errors(r: Receipt, data: st.DataObject) -> None:
    encoded = bytearray(r.encode_compact())
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(HarmonyError):
        _from_compact(bytes(encoded))
