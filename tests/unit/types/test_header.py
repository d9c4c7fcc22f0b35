"""Header v3: field order and widths, tagged encoding, hash, decode bounds, hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp, tagged
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.errors import DecodeError, HarmonyError, RLPError
from harmony.types.header import GENESIS_GAS_LIMIT, MAX_HEADER_SIZE, Header
from harmony.types.receipt import EMPTY_BLOOM
from harmony.types.shard_state import Committee, ShardState, Slot

EMPTY_ROOT_HEX = "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"


def sample_header() -> Header:
    return Header(
        parent_hash=b"\x01" * 32,
        number=10,
        epoch=2,
        view_id=11,
        shard_id=1,
        time=1_700_000_020,
        gas_limit=30_000_000,
        gas_used=21000,
        extra=b"hi",
        vrf=b"\x07" * 128,
        last_commit_bitmap=b"\x0f",
        last_commit_signature=b"\x09" * 96,
    )


def fields_of(header: Header) -> list[rlp.DecodedItem]:
    tag, inner = tagged.unwrap(rlp.decode(header.encode()))
    assert tag == "v3"
    assert isinstance(inner, list)
    return inner


def test_defaults_are_empty_roots() -> None:
    h = Header()
    assert EMPTY_TRIE_ROOT.hex() == EMPTY_ROOT_HEX
    for root in (h.root, h.tx_hash, h.receipt_hash, h.outgoing_receipt_hash, h.incoming_receipt_hash):
        assert root == EMPTY_TRIE_ROOT
    assert h.bloom == EMPTY_BLOOM
    assert h.last_commit_signature == bytes(96)


def test_field_order_and_encoding() -> None:
    """The 24 fields of ``block/v3/header.go`` in order, with distinct values to catch any swap."""
    h = Header(
        parent_hash=b"\x01" * 32,
        coinbase=b"\x02" * 20,
        root=b"\x03" * 32,
        tx_hash=b"\x04" * 32,
        receipt_hash=b"\x05" * 32,
        outgoing_receipt_hash=b"\x06" * 32,
        incoming_receipt_hash=b"\x07" * 32,
        bloom=b"\x08" * 256,
        number=0x0909,
        gas_limit=0x0A0A,
        gas_used=0x0B0B,
        time=0x0C0C,
        extra=b"\x0d",
        mix_digest=b"\x0e" * 32,
        view_id=0x0F0F,
        epoch=0x1010,
        shard_id=0x11,
        last_commit_signature=b"\x12" * 96,
        last_commit_bitmap=b"\x13\x13",
        vrf=b"\x14" * 128,
        vdf=b"\x15" * 3,
        shard_state=b"\xc0",
        cross_links=b"\xc1\x80",
        slashes=b"\xc2\x80\x80",
    )
    assert fields_of(h) == [
        b"\x01" * 32,
        b"\x02" * 20,
        b"\x03" * 32,
        b"\x04" * 32,
        b"\x05" * 32,
        b"\x06" * 32,
        b"\x07" * 32,
        b"\x08" * 256,
        b"\x09\x09",
        b"\x0a\x0a",
        b"\x0b\x0b",
        b"\x0c\x0c",
        b"\x0d",
        b"\x0e" * 32,
        b"\x0f\x0f",
        b"\x10\x10",
        b"\x11",
        b"\x12" * 96,
        b"\x13\x13",
        b"\x14" * 128,
        b"\x15" * 3,
        b"\xc0",  # RLP blobs are byte strings holding RLP, as Go's []byte fields
        b"\xc1\x80",
        b"\xc2\x80\x80",
    ]
    assert Header.decode(h.encode()) == h


def test_envelope_prefix() -> None:
    data = Header().encode()
    # list header, then "HmnyTgd" and "v3" as the first two strings of the envelope
    assert data[3:14] == b"\x87HmnyTgd\x82v3"


def test_hash_is_keccak_of_tagged_encoding_and_stable() -> None:
    h = sample_header()
    assert h.hash() == keccak256(h.encode())
    assert h.hash().hex() == "a65252a5c0c053009ceae64ace912b286332b16338bf10f2a8be39654cdd61d3"
    genesis = Header.genesis(shard_id=0, time=1_700_000_000)
    assert genesis.hash().hex() == "c40a7686181e143952104e01b9d51c6f448c7033984ae1b22605c26bbc0bf1bd"
    assert genesis.gas_limit == GENESIS_GAS_LIMIT
    assert h.replace(view_id=12).hash() != h.hash()


def test_genesis_with_shard_state_and_helpers() -> None:
    state = ShardState(0, (Committee(0, (Slot(b"\x01" * 20, b"\xaa" * 48),)),))
    g = Header.genesis(shard_id=0, shard_state=state)
    assert g.is_last_block_in_epoch()
    assert g.get_shard_state() == state
    plain = g.replace(shard_state=b"")
    assert not plain.is_last_block_in_epoch()
    assert plain.get_shard_state() is None
    with pytest.raises(DecodeError):
        g.replace(shard_state=b"\xc1\xc0").get_shard_state()
    signed = plain.with_last_commit(b"\x05" * 96, b"\x03")
    assert (signed.last_commit_signature, signed.last_commit_bitmap) == (b"\x05" * 96, b"\x03")
    h = sample_header()
    assert h.vrf_output == b"\x07" * 32
    assert h.vrf_proof == b"\x07" * 96
    assert Header().vrf_output == b""


def _tagged(fields: list[rlp.Item], tag: bytes = b"v3") -> bytes:
    return rlp.encode([b"HmnyTgd", tag, fields])


def _good_fields() -> list[rlp.Item]:
    return list(fields_of(sample_header()))


def test_rejects_other_tags_and_untagged() -> None:
    fields = _good_fields()
    with pytest.raises(RLPError, match="untagged"):
        Header.decode(rlp.encode(fields))
    for tag in (b"v2", b"v1", b"v4"):
        with pytest.raises(RLPError, match="unsupported"):
            Header.decode(_tagged(fields, tag))
    with pytest.raises(RLPError):
        Header.decode(rlp.encode([b"HmnyTgd", b"v3"]))


@pytest.mark.parametrize(
    ("index", "value"),
    [
        (0, b"\x01" * 31),  # parent hash short
        (1, b"\x02" * 21),  # coinbase long
        (7, b"\x00" * 255),  # bloom short
        (8, b"\x00\x0a"),  # non-canonical number
        (9, b"\x01" * 9),  # gas limit wider than u64
        (12, b"x" * 33),  # extra over 32 bytes
        (16, b"\x01" * 5),  # shard id wider than u32
        (17, b"\x09" * 95),  # signature short
        (19, b"\x07" * 64),  # VRF neither empty nor 128
        (20, b"\x00" * 4097),  # VDF too long
        (21, [b"\xc0"]),  # shard state blob given as a list
        (3, []),  # hash given as a list
    ],
)
def test_rejects_bad_fields(index: int, value: rlp.Item) -> None:
    fields = _good_fields()
    fields[index] = value
    with pytest.raises(RLPError):
        Header.decode(_tagged(fields))


def test_rejects_wrong_field_count() -> None:
    fields = _good_fields()
    with pytest.raises(RLPError, match="24"):
        Header.decode(_tagged(fields[:-1]))
    with pytest.raises(RLPError, match="24"):
        Header.decode(_tagged([*fields, b""]))
    # a v2-style header (with ShardStateHash) has 25 fields
    with pytest.raises(RLPError):
        Header.decode(_tagged([*fields[:19], b"\x00" * 32, *fields[19:]]))


def test_rejects_truncated_extended_and_oversized() -> None:
    data = sample_header().encode()
    for cut in range(0, len(data), 41):
        with pytest.raises(RLPError):
            Header.decode(data[:cut])
    with pytest.raises(RLPError):
        Header.decode(data + b"\x00")
    with pytest.raises(RLPError, match="exceeds"):
        Header.decode(b"\x00" * (MAX_HEADER_SIZE + 1))


def test_encode_refuses_invalid_values() -> None:
    with pytest.raises(ValueError):
        Header(extra=b"x" * 33).encode()
    with pytest.raises(ValueError):
        Header(vrf=b"x" * 10).encode()
    with pytest.raises(ValueError):
        Header(shard_id=2**32).encode()


hashes = st.binary(min_size=32, max_size=32)
headers = st.builds(
    Header,
    parent_hash=hashes,
    coinbase=st.binary(min_size=20, max_size=20),
    root=hashes,
    tx_hash=hashes,
    bloom=st.binary(min_size=256, max_size=256),
    number=st.integers(0, 2**256 - 1),
    gas_limit=st.integers(0, 2**64 - 1),
    gas_used=st.integers(0, 2**64 - 1),
    time=st.integers(0, 2**64),
    extra=st.binary(max_size=32),
    view_id=st.integers(0, 2**64),
    epoch=st.integers(0, 2**64),
    shard_id=st.integers(0, 2**32 - 1),
    last_commit_signature=st.binary(min_size=96, max_size=96),
    last_commit_bitmap=st.binary(max_size=40),
    vrf=st.sampled_from([b"", b"\x01" * 128]),
    vdf=st.binary(max_size=50),
    shard_state=st.binary(max_size=50),
    cross_links=st.binary(max_size=50),
    slashes=st.binary(max_size=50),
)


@given(headers)
def test_round_trip(h: Header) -> None:
    assert Header.decode(h.encode()) == h


@settings(max_examples=300)
@given(st.binary(max_size=800))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        Header.decode(data)


@given(headers, st.data())
def test_mutated_header_raises_only_our_errors(h: Header, data: st.DataObject) -> None:
    encoded = bytearray(h.encode())
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(HarmonyError):
        Header.decode(bytes(encoded))
