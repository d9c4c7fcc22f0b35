"""Ethereum legacy transactions: EIP-155 and pyhmy vectors, shard from chain ID, Istanbul validation."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.errors import HarmonyError, InvalidTransaction, RLPError, SignatureError
from harmony.types.chain_ids import MAINNET, NETWORKS, TESTNET, shard_from_eth_chain_id
from harmony.types.eth_transaction import EthTransaction, check_istanbul
from harmony.types.tx_common import (
    IntrinsicGasTooLow,
    InvalidChainId,
    UnsupportedTransactionType,
    intrinsic_gas,
)

# EIP-155's worked example: key 0x46…46, nonce 9, 20 gwei, 21000 gas, to 0x35…35, 1 ether, chain ID 1.
EIP155_KEY = PrivateKey(b"\x46" * 32)
EIP155_TX = EthTransaction(9, 20 * 10**9, 21_000, b"\x35" * 20, 10**18)
EIP155_SIGNING_HASH = "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
EIP155_SIGNED = (
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc"
    "2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1"
    "966a3b6d83"
)

# pyhmy tests/sdk-pyhmy/test_signing.py::test_eth_transaction (no chain ID: v = 27/28)
PYHMY_KEY = PrivateKey.from_hex("4edef2c24995d15b0e25cbd152fb0e2c05d3b79b9c2afd134e6f59f91bf99e48")
PYHMY_ETH = (
    "f85d0201649414791697260e4c9a71f18484c9f997b308e5932505801ca0b364f4296bfd3231889d1b9ac94c68abbcb8ee6a6c7a"
    "5fa412ac82b5b7b0d5d1a02233864842ab28ee4f99c207940a867b0f8534ca362836190792816b48dde3b1"
)


def test_eip155_example() -> None:
    assert EIP155_TX.signing_hash(1).hex() == EIP155_SIGNING_HASH
    signed = EIP155_TX.sign(EIP155_KEY, 1)
    assert signed.encode().hex() == EIP155_SIGNED
    decoded = EthTransaction.decode(bytes.fromhex(EIP155_SIGNED))
    assert decoded == signed
    assert decoded.chain_id == 1
    assert decoded.sender(1) == EIP155_KEY.address
    assert check_istanbul(decoded, 1) == EIP155_KEY.address


def test_pyhmy_unprotected_vector() -> None:
    tx = EthTransaction(2, 1, 100, bytes.fromhex("14791697260e4c9a71f18484c9f997b308e59325"), 5)
    signed = tx.sign(PYHMY_KEY, None)
    assert signed.encode().hex() == PYHMY_ETH
    decoded = EthTransaction.decode(bytes.fromhex(PYHMY_ETH))
    assert not decoded.is_protected
    assert decoded.sender(1_666_600_000) == PYHMY_KEY.address
    assert decoded.hash() == keccak256(bytes.fromhex(PYHMY_ETH))
    with pytest.raises(InvalidChainId):
        decoded.shard_id(MAINNET.eth_chain_id_base)


def test_shard_from_chain_id() -> None:
    tx = EIP155_TX.sign(EIP155_KEY, 1_666_600_001)
    assert tx.shard_id(MAINNET.eth_chain_id_base) == 1
    assert tx.sender(MAINNET.eth_chain_id(1)) == EIP155_KEY.address
    with pytest.raises(InvalidTransaction):
        tx.shard_id(TESTNET.eth_chain_id_base)
    assert TESTNET.shard_of(1_666_700_003) == 3
    assert NETWORKS["localnet"].chain_id == 2
    assert NETWORKS["localnet"].eth_chain_id(0) == 1_666_700_000
    with pytest.raises(InvalidTransaction):
        shard_from_eth_chain_id(1_666_500_000, MAINNET.eth_chain_id_base)


def test_istanbul_rules() -> None:
    signed = EIP155_TX.sign(EIP155_KEY, 1)
    with pytest.raises(InvalidChainId):
        check_istanbul(signed, 2)
    with pytest.raises(IntrinsicGasTooLow):
        check_istanbul(replace(EIP155_TX, gas=20_999).sign(EIP155_KEY, 1), 1)
    with pytest.raises(InvalidTransaction):
        check_istanbul(replace(EIP155_TX, nonce=2**64 - 1).sign(EIP155_KEY, 1), 1)
    with pytest.raises(InvalidTransaction):
        check_istanbul(replace(EIP155_TX, gas_price=2**255, gas=2**63).sign(EIP155_KEY, 1), 1)
    with pytest.raises(SignatureError):
        check_istanbul(replace(signed, r=0), 1)
    creation = replace(EIP155_TX, to=None, gas=53_000 + 4 + 16, data=b"\x00\xff")
    assert check_istanbul(creation.sign(EIP155_KEY, 1), 1) == EIP155_KEY.address


def test_intrinsic_gas_table() -> None:
    assert intrinsic_gas(b"") == 21_000
    assert intrinsic_gas(b"\x00\x01") == 21_000 + 4 + 16
    assert intrinsic_gas(b"\x00\x01", istanbul=False) == 21_000 + 4 + 68
    assert intrinsic_gas(b"", contract_creation=True) == 53_000
    assert intrinsic_gas(b"", validator_creation=True) == 5_300_000


@pytest.mark.parametrize("first", [0x00, 0x01, 0x02, 0x04, 0x7F])
def test_typed_envelopes_refused(first: int) -> None:
    with pytest.raises(UnsupportedTransactionType):
        EthTransaction.decode(bytes([first]) + bytes.fromhex(EIP155_SIGNED))


GOOD = [b"\x01", b"\x01", b"\x52\x08", b"\x35" * 20, b"\x05", b"", b"\x25", b"\x01", b"\x01"]
BAD = {
    "8-fields": rlp.encode(GOOD[:8]),
    "10-fields": rlp.encode([*GOOD, b""]),
    "gas-65-bits": rlp.encode([*GOOD[:2], b"\x01" + b"\x00" * 8, *GOOD[3:]]),
    "to-19-bytes": rlp.encode([*GOOD[:3], b"\x35" * 19, *GOOD[4:]]),
    "v-257-bits": rlp.encode([*GOOD[:6], b"\x01" + b"\x00" * 32, *GOOD[7:]]),
    "byte-string": rlp.encode(rlp.encode(GOOD)),
    "long-header-non-canonical": b"\xf8\x05" + rlp.encode(GOOD)[1:6],
}


@pytest.mark.parametrize("raw", list(BAD.values()), ids=list(BAD))
def test_bad_input_raises_typed_error(raw: bytes) -> None:
    with pytest.raises(RLPError):
        EthTransaction.decode(raw)


transactions = st.builds(
    EthTransaction,
    nonce=st.integers(0, 2**64 - 1),
    gas_price=st.integers(0, 2**256 - 1),
    gas=st.integers(0, 2**64 - 1),
    to=st.none() | st.binary(min_size=20, max_size=20),
    value=st.integers(0, 2**256 - 1),
    data=st.binary(max_size=100),
)


@settings(max_examples=60, deadline=None)
@given(tx=transactions, chain_id=st.none() | st.integers(0, 2**40))
def test_round_trip_and_signer(tx: EthTransaction, chain_id: int | None) -> None:
    signed = tx.sign(EIP155_KEY, chain_id)
    assert EthTransaction.decode(signed.encode()) == signed
    assert signed.chain_id == chain_id
    assert signed.sender(chain_id) == EIP155_KEY.address


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        check_istanbul(EthTransaction.decode(data), 1)
