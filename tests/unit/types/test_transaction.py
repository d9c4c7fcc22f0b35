"""Harmony plain transactions: pyhmy signing vectors, hashes, sender rules, hostile input."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import N, PrivateKey
from harmony.encoding import rlp
from harmony.errors import HarmonyError, RLPError, SignatureError
from harmony.types.chain_ids import LOCALNET, MAINNET, TESTNET, is_eth_compatible
from harmony.types.eth_transaction import EthTransaction
from harmony.types.transaction import Transaction, from_eth
from harmony.types.tx_common import InvalidChainId

KEY = PrivateKey.from_hex("4edef2c24995d15b0e25cbd152fb0e2c05d3b79b9c2afd134e6f59f91bf99e48")
TO = bytes.fromhex("14791697260e4c9a71f18484c9f997b308e59325")  # one1z3u3d9expexf5u03sjzvn7vhkvywtye9nqmmlu

# pyhmy tests/sdk-pyhmy/test_signing.py::test_hmy_transaction (chain "HmyMainnet" = 1, shard 0 -> 1)
PYHMY_HMY = (
    "f85f02016480019414791697260e4c9a71f18484c9f997b308e59325058026a02a203357ca6d7cdec981ad3d3692ad2c9e24536a9b"
    "6e7b486ce2f94f28c7563ea010d38cd0312a153af0aa7d8cd986040c36118bba373cb94e3e86fd4aedce904d"
)
# pyhmy tests/sdk-pyhmy/test_signing.py::test_hmy_eth_compatible_transaction (chain ID 1666600000)
PYHMY_HMY_ETH_CHAIN = (
    "f8748085174876e80082520880019419e7e376e7c213b7e7e7e46cc70a5dd086daff2a880de0b6b3a764000082abcd84c6ac98a4"
    "a0ef05b0bc0827ddd046ee8196253c6609484e28b8f250d860736ce8e053469f04a07229a88ce68241a9e77dcb1592a67a9a6a21"
    "5d855a784467c9f550f8c4cb9b76"
)


def test_pyhmy_harmony_vector() -> None:
    tx = Transaction(nonce=2, gas_price=1, gas=100, shard_id=0, to_shard_id=1, to=TO, value=5)
    signed = tx.sign(KEY, MAINNET.chain_id)
    assert signed.encode().hex() == PYHMY_HMY
    decoded = Transaction.decode(bytes.fromhex(PYHMY_HMY))
    assert decoded == signed
    assert decoded.v == 38
    assert decoded.chain_id == 1
    assert decoded.sender(1) == KEY.address
    assert decoded.is_cross_shard
    assert decoded.hash() == keccak256(bytes.fromhex(PYHMY_HMY))


def test_pyhmy_eth_compatible_vector() -> None:
    """Signed for an Ethereum chain ID: the signing hash drops the shard fields (``IsEthCompatible``)."""
    key = PrivateKey(b"\x11" * 32)
    tx = Transaction(
        nonce=0,
        gas_price=100_000_000_000,
        gas=21_000,
        shard_id=0,
        to_shard_id=1,
        to=bytes.fromhex("19e7e376e7c213b7e7e7e46cc70a5dd086daff2a"),
        value=10**18,
        data=bytes.fromhex("abcd"),
    )
    signed = tx.sign(key, 1_666_600_000)
    assert signed.encode().hex() == PYHMY_HMY_ETH_CHAIN
    decoded = Transaction.decode(bytes.fromhex(PYHMY_HMY_ETH_CHAIN))
    assert decoded.sender(1_666_600_000) == key.address
    assert decoded.is_eth_compatible
    assert decoded.signing_hash(1_666_600_000) == decoded.to_eth().signing_hash(1_666_600_000)
    assert decoded.hash_by_type() == decoded.eth_hash() != decoded.hash()


def test_signing_hash_layout() -> None:
    """keccak(rlp([nonce, gasPrice, gas, shardID, toShardID, to, value, data, chainID, 0, 0]))."""
    tx = Transaction(9, 20, 21_000, 1, 0, TO, 10, b"\x01")
    fields = [b"\x09", b"\x14", b"\x52\x08", b"\x01", b"", TO, b"\x0a", b"\x01"]
    assert tx.signing_hash(2) == keccak256(rlp.encode([*fields, b"\x02", b"", b""]))
    assert tx.signing_hash(None) == keccak256(rlp.encode(fields))  # Homestead: eight fields


def test_eth_hash_is_hash_of_ethereum_form() -> None:
    tx = Transaction.decode(bytes.fromhex(PYHMY_HMY))
    eth = tx.to_eth()
    assert eth.encode() == rlp.encode(
        [
            b"\x02",
            b"\x01",
            b"\x64",
            TO,
            b"\x05",
            b"",
            b"\x26",
            (tx.r).to_bytes(32, "big"),
            tx.s.to_bytes(32, "big"),
        ]
    )
    assert tx.eth_hash() == keccak256(eth.encode())
    assert tx.hash_by_type() == tx.hash()  # Harmony chain ID: the Harmony hash
    assert from_eth(eth, 0) == replace(tx, to_shard_id=0)


def test_unprotected_and_other_chains() -> None:
    tx = Transaction(0, 1, 21_000, 0, 0, TO, 1)
    plain = tx.sign(KEY, None)
    assert plain.v in (27, 28)
    assert not plain.is_protected
    assert plain.chain_id is None
    assert plain.sender(1) == KEY.address  # Homestead signer, whatever chain is expected
    signed = tx.sign(KEY, TESTNET.chain_id)
    assert signed.sender((MAINNET.chain_id, TESTNET.chain_id)) == KEY.address
    assert signed.sender(LOCALNET.chain_id) == KEY.address
    assert signed.sender() == KEY.address
    with pytest.raises(InvalidChainId):
        signed.sender(MAINNET.chain_id)
    with pytest.raises(InvalidChainId):
        replace(signed, v=30).sender()
    with pytest.raises(InvalidChainId):
        _ = replace(signed, v=0).chain_id
    # the v of another chain recovers (if at all) over another hash: never to the signer
    assert replace(signed, v=signed.v + 2).sender(3) != KEY.address


def test_malformed_signatures() -> None:
    signed = Transaction(0, 1, 21_000, 0, 0, TO, 1).sign(KEY, 2)
    for bad in (
        replace(signed, s=N - signed.s),  # high s
        replace(signed, r=0),
        replace(signed, s=0),
        replace(signed, r=N),
        replace(signed, s=N + 1),
        replace(signed, r=2**256 - 1),
    ):
        with pytest.raises(SignatureError):
            bad.sender(2)


def test_properties() -> None:
    creation = Transaction(0, 1, 60_000, 0, 0, None, 0, b"\x00\x01")
    assert creation.is_contract_creation
    assert not creation.is_cross_shard
    assert creation.intrinsic_gas() == 53_000 + 4 + 16
    assert Transaction(0, 1, 0, 0, 0, TO, 0).intrinsic_gas() == 21_000
    assert Transaction.decode(creation.encode()).to is None
    assert is_eth_compatible(1_666_600_001) and not is_eth_compatible(2)


def _tx_rlp(*fields: object) -> bytes:
    return rlp.encode(list(fields))  # type: ignore[arg-type]


GOOD = [b"\x01", b"\x01", b"\x52\x08", b"", b"\x01", TO, b"\x05", b"", b"\x25", b"\x01", b"\x01"]
BAD = {
    "10-fields": _tx_rlp(*GOOD[:10]),
    "12-fields": _tx_rlp(*GOOD, b""),
    "nonce-65-bits": _tx_rlp(b"\x01" + b"\x00" * 8, *GOOD[1:]),
    "nonce-leading-zero": _tx_rlp(b"\x00\x01", *GOOD[1:]),
    "shard-33-bits": _tx_rlp(*GOOD[:3], b"\x01\x00\x00\x00\x00", *GOOD[4:]),
    "to-19-bytes": _tx_rlp(*GOOD[:5], TO[:19], *GOOD[6:]),
    "to-21-bytes": _tx_rlp(*GOOD[:5], TO + b"\x00", *GOOD[6:]),
    "to-as-list": _tx_rlp(*GOOD[:5], [TO], *GOOD[6:]),
    "value-257-bits": _tx_rlp(*GOOD[:6], b"\x01" + b"\x00" * 32, *GOOD[7:]),
    "data-as-list": _tx_rlp(*GOOD[:7], [], *GOOD[8:]),
    "r-leading-zero": _tx_rlp(*GOOD[:9], b"\x00\x01", b"\x01"),
    "not-a-list": rlp.encode(b"\x01\x02"),
    "truncated": bytes.fromhex(PYHMY_HMY)[:-3],
    "trailing": bytes.fromhex(PYHMY_HMY) + b"\x80",
    "empty": b"",
}


@pytest.mark.parametrize("raw", list(BAD.values()), ids=list(BAD))
def test_bad_input_raises_typed_error(raw: bytes) -> None:
    with pytest.raises(RLPError):
        Transaction.decode(raw)


transactions = st.builds(
    Transaction,
    nonce=st.integers(0, 2**64 - 1),
    gas_price=st.integers(0, 2**256 - 1),
    gas=st.integers(0, 2**64 - 1),
    shard_id=st.integers(0, 2**32 - 1),
    to_shard_id=st.integers(0, 2**32 - 1),
    to=st.none() | st.binary(min_size=20, max_size=20),
    value=st.integers(0, 2**256 - 1),
    data=st.binary(max_size=100),
)


@settings(max_examples=60, deadline=None)
@given(tx=transactions, chain_id=st.none() | st.integers(1, 2**40))
def test_round_trip_and_signer(tx: Transaction, chain_id: int | None) -> None:
    signed = tx.sign(KEY, chain_id)
    assert Transaction.decode(signed.encode()) == signed
    assert signed.chain_id == chain_id
    assert signed.sender(chain_id) == KEY.address
    assert EthTransaction.decode(signed.to_eth().encode()) == signed.to_eth()
    assert signed.eth_hash() == keccak256(signed.to_eth().encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        Transaction.decode(data).sender(2)
