"""Staking transactions: wire format against client vectors, signing, decode limits, hostile input."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import HALF_N, N, PrivateKey
from harmony.encoding import rlp
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError, InvalidTransaction, RLPError, SignatureError
from harmony.types.staking import (
    CollectRewards,
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    Directive,
    EditValidator,
    EposStatus,
    StakeMsg,
    StakingTransaction,
    Undelegate,
    check_signer,
)
from harmony.types.tx_common import InvalidChainId

KEY = PrivateKey.from_hex("4edef2c24995d15b0e25cbd152fb0e2c05d3b79b9c2afd134e6f59f91bf99e48")
ADDR = KEY.address  # one1a0x3d6xpmr6f8wsyaxd9v36pytvp48zckswvv9
ONE = 10**18
ALICE = Description("Alice", "alice", "alice.harmony.one", "Bob", "Don't mess with me!!!")

# --- pyhmy tests/sdk-pyhmy/test_validator.py and test_staking_signing.py -------------------------------
PYHMY_BLS_KEY = bytes.fromhex(
    "30b2c38b1316da91e068ac3bd8751c0901ef6c02a1d58bc712104918302c6ed03d5894671d0c816dad2b4d303320f202"
)
PYHMY_BLS_SIG = bytes.fromhex(
    "68f800b6adf657b674903e04708060912b893b7c7b500788808247550ab3e186e56a44ebf3ca488f8ed1a42f6cef3a04"
    "bd5d2b2b7eb5a767848d3135b362e668ce6bba42c7b9d5666d8e3a83be707b5708e722c58939fe9b07c170f3b7062414"
)
PYHMY_KEY_11 = bytes.fromhex(
    "b9486167ab9087ab818dc4ce026edb5bf216863364c32e42df2af03c5ced1ad181e7d12f0e6dd5307a73b62247608611"
)
PYHMY_KEY_12 = PYHMY_KEY_11[:-1] + b"\x12"

PYHMY_CREATE_CHAIN2 = (
    "f9017580f9012394ebcd16e8c1d8f493ba04e99a56474122d81a9c58f83885416c69636585616c69636591616c6963652e686172"
    "6d6f6e792e6f6e6583426f6295446f6e2774206d6573732077697468206d65212121dcc8872386f26fc10000c9880c7d713b49da"
    "0000c887b1a2bc2ec500008a021e19e0c9bab24000008a0878678326eac9000000f1b030b2c38b1316da91e068ac3bd8751c0901"
    "ef6c02a1d58bc712104918302c6ed03d5894671d0c816dad2b4d303320f202f862b86068f800b6adf657b674903e04708060912b"
    "893b7c7b500788808247550ab3e186e56a44ebf3ca488f8ed1a42f6cef3a04bd5d2b2b7eb5a767848d3135b362e668ce6bba42c7"
    "b9d5666d8e3a83be707b5708e722c58939fe9b07c170f3b70624148a021e27c1806e59a4000002880de0b6b3a76400006428a0c6"
    "c7e62f02331df0afd4699ec514a2fc4548c920d77ad74d98caeec8c924c09aa02b27b999a724b1d341d6bbb0e877611d0047542c"
    "b7e380f9a6a272d204b450cd"
)
PYHMY_EDIT_CHAIN2 = (
    "f9018401f9013294ebcd16e8c1d8f493ba04e99a56474122d81a9c58f83885416c69636585616c69636591616c6963652e686172"
    "6d6f6e792e6f6e6583426f6295446f6e2774206d6573732077697468206d65212121c887d529ae9e8600008a021e19e0c9bab240"
    "00008a0878678326eac9000000b0b9486167ab9087ab818dc4ce026edb5bf216863364c32e42df2af03c5ced1ad181e7d12f0e6d"
    "d5307a73b62247608612b0b9486167ab9087ab818dc4ce026edb5bf216863364c32e42df2af03c5ced1ad181e7d12f0e6dd5307a"
    "73b62247608611b86068f800b6adf657b674903e04708060912b893b7c7b500788808247550ab3e186e56a44ebf3ca488f8ed1a4"
    "2f6cef3a04bd5d2b2b7eb5a767848d3135b362e668ce6bba42c7b9d5666d8e3a83be707b5708e722c58939fe9b07c170f3b70624"
    "1402880de0b6b3a76400006427a0ecdae4a29d051f4f83dd54004858fbf0f7820e169b8e1846245835ceb686ee12a04b2336eb58"
    "30e30720137b2de539518fd5655467fef140ab31fde881a19f256a"
)
PYHMY_COLLECT_CHAIN1 = (
    "f86504d594ebcd16e8c1d8f493ba04e99a56474122d81a9c5802880de0b6b3a76400006425a055d6c3c0d8e7a1e75152db361a2e"
    "d47f5ab54f6f19b0d8e549953dbdf13ba647a076e1367dfca38eae3bd0e8da296335acabbaeb87dc17e47ebe4942db29334099"
)

# --- trustwallet/wallet-core tests/chains/Harmony/StakingTests.cpp (chain ID 2, nonce 2, gas price 0) ---
TW_BLS_SIG = bytes.fromhex(
    "4252b0f1210efb0d5061e8a706a7ea9d62292a7947a975472fb77e1af7278a1c3c2e6eeba73c0581ece398613829940d"
    "f129f3071c9a24b4b448bb1e880dc5872a58cb07eed94294c4e01a5c864771cafef7b96be541cb3c521a98f01838dd94"
)
TW_CREATE = (
    "f9015280f9010894ebcd16e8c1d8f493ba04e99a56474122d81a9c58f83885416c69636585616c69636591616c6963652e686172"
    "6d6f6e792e6f6e6583426f6295446f6e2774206d6573732077697468206d65212121ddc988016345785d8a0000c9880c7d713b49"
    "da0000c887b1a2bc2ec500000a820bb8f1b0b9486167ab9087ab818dc4ce026edb5bf216863364c32e42df2af03c5ced1ad181e7"
    "d12f0e6dd5307a73b62247608611f862b8604252b0f1210efb0d5061e8a706a7ea9d62292a7947a975472fb77e1af7278a1c3c2e"
    "6eeba73c0581ece398613829940df129f3071c9a24b4b448bb1e880dc5872a58cb07eed94294c4e01a5c864771cafef7b96be541"
    "cb3c521a98f01838dd946402806428a00d8437f81be3481b01542e9baef0445f3758cf084c5e1fba93d087ccce084cb1a0404c1a"
    "42442c2d39f84582353a1c67012451ff83ef6d3622f684041df9bf0072"
)
TW_EDIT = (
    "f9016c01f9012294ebcd16e8c1d8f493ba04e99a56474122d81a9c58f83885416c69636585616c69636591616c6963652e686172"
    "6d6f6e792e6f6e6583426f6295446f6e2774206d6573732077697468206d65212121c988016345785d8a00000a820bb8b0b94861"
    "67ab9087ab818dc4ce026edb5bf216863364c32e42df2af03c5ced1ad181e7d12f0e6dd5307a73b62247608611b0b9486167ab90"
    "87ab818dc4ce026edb5bf216863364c32e42df2af03c5ced1ad181e7d12f0e6dd5307a73b62247608611b8604252b0f1210efb0d"
    "5061e8a706a7ea9d62292a7947a975472fb77e1af7278a1c3c2e6eeba73c0581ece398613829940df129f3071c9a24b4b448bb1e"
    "880dc5872a58cb07eed94294c4e01a5c864771cafef7b96be541cb3c521a98f01838dd940102806427a089d6f87855619c31e933"
    "d5f00638ca58737dfffdfdf8b66a048a2e45f103e05da04aafc5c51a95412760c089371b411a5ab8f235b456291a9754d544b162"
    "df4eef"
)
TW_DELEGATE = (
    "f87302eb94ebcd16e8c1d8f493ba04e99a56474122d81a9c5894ebcd16e8c1d8f493ba04e99a56474122d81a9c580a02806428a0"
    "ada9a8fb49eb3cd74f0f861e16bc1f1d56a0c6e3c25b0391f9e07a7963317e80a05c28dbc41763dc2391263e1aae30f842f90734"
    "d7ec68cee2352af0d4b0662b54"
)
TW_UNDELEGATE = (
    "f87303eb94ebcd16e8c1d8f493ba04e99a56474122d81a9c5894ebcd16e8c1d8f493ba04e99a56474122d81a9c580a02806428a0"
    "5bf8c653567defe2c3728732bc9d67dd099a977df91c740a883fd89e03abb6e2a05202c4b51652d5144c6a30d14d1a7a316b5a4a"
    "6b49be985b4bc6980e49f7acb7"
)
TW_COLLECT = (
    "f85d04d594ebcd16e8c1d8f493ba04e99a56474122d81a9c5802806428a04c15c72f42577001083a9c7ff9d9724077aec704a524"
    "e53dc7c9afe97ca4e625a055c13ea17c3efd1cd91f2988c7e7673950bac5a08c174f2d0af27a82039f1e3d"
)


def rates(rate: str, max_rate: str, change: str) -> CommissionRates:
    return CommissionRates(Dec.from_str(rate), Dec.from_str(max_rate), Dec.from_str(change))


VECTORS: list[tuple[str, StakeMsg, int, int, int, str]] = [
    (
        "pyhmy-create-validator",
        CreateValidator(
            ADDR,
            ALICE,
            rates("0.01", "0.9", "0.05"),
            10_000 * ONE,
            40_000 * ONE,
            (PYHMY_BLS_KEY,),
            (PYHMY_BLS_SIG,),
            10_001 * ONE,
        ),
        ONE,
        100,
        2,
        PYHMY_CREATE_CHAIN2,
    ),
    (
        "pyhmy-edit-validator-8-fields",
        EditValidator(
            ADDR,
            ALICE,
            Dec.from_str("0.06"),
            10_000 * ONE,
            40_000 * ONE,
            PYHMY_KEY_12,
            PYHMY_KEY_11,
            PYHMY_BLS_SIG,
            None,
        ),
        ONE,
        100,
        2,
        PYHMY_EDIT_CHAIN2,
    ),
    ("pyhmy-collect-rewards", CollectRewards(ADDR), ONE, 100, 1, PYHMY_COLLECT_CHAIN1),
    (
        "trustwallet-create-validator",
        CreateValidator(
            ADDR, ALICE, rates("0.1", "0.9", "0.05"), 10, 3000, (PYHMY_KEY_11,), (TW_BLS_SIG,), 100
        ),
        0,
        100,
        2,
        TW_CREATE,
    ),
    (
        "trustwallet-edit-validator",
        EditValidator(
            ADDR,
            ALICE,
            Dec.from_str("0.1"),
            10,
            3000,
            PYHMY_KEY_11,
            PYHMY_KEY_11,
            TW_BLS_SIG,
            EposStatus.ACTIVE,
        ),
        0,
        100,
        2,
        TW_EDIT,
    ),
    ("trustwallet-delegate", Delegate(ADDR, ADDR, 10), 0, 100, 2, TW_DELEGATE),
    ("trustwallet-undelegate", Undelegate(ADDR, ADDR, 10), 0, 100, 2, TW_UNDELEGATE),
    ("trustwallet-collect-rewards", CollectRewards(ADDR), 0, 100, 2, TW_COLLECT),
]


@pytest.mark.parametrize(
    ("msg", "gas_price", "gas_limit", "chain_id", "raw"),
    [v[1:] for v in VECTORS],
    ids=[v[0] for v in VECTORS],
)
def test_client_vectors_byte_for_byte(
    msg: StakeMsg, gas_price: int, gas_limit: int, chain_id: int, raw: str
) -> None:
    """Our signing reproduces the raw transactions pyhmy and Trust Wallet produce, and decodes them back."""
    signed = StakingTransaction(msg, 2, gas_price, gas_limit).sign(KEY, chain_id)
    assert signed.encode().hex() == raw
    decoded = StakingTransaction.decode(bytes.fromhex(raw))
    assert decoded == signed
    assert decoded.encode().hex() == raw
    assert decoded.sender(chain_id) == ADDR
    assert check_signer(decoded, chain_id) == ADDR
    assert decoded.chain_id == chain_id
    assert decoded.directive is msg.directive


def test_pyhmy_edit_without_status_reads_as_unchanged() -> None:
    tx = StakingTransaction.decode(bytes.fromhex(PYHMY_EDIT_CHAIN2))
    assert isinstance(tx.msg, EditValidator)
    assert tx.msg.epos_status is None
    assert tx.msg.commission_rate == Dec.from_str("0.06")


def test_signing_hash_layout() -> None:
    """keccak(rlp([directive, stakeMsg, nonce, gasPrice, gasLimit, chainID, 0, 0]))."""
    tx = StakingTransaction(Delegate(ADDR, ADDR, 5), 7, 3, 25_000)
    expected = rlp.encode([b"\x02", [ADDR, ADDR, b"\x05"], b"\x07", b"\x03", b"\x61\xa8", b"\x02", b"", b""])
    assert tx.signing_hash(2) == keccak256(expected)
    assert tx.hash() == keccak256(tx.encode())


def test_edit_validator_nil_fields() -> None:
    """Absent *Dec is the empty list; absent big ints and keys are the empty string (Go rlp:"nil")."""
    msg = EditValidator(ADDR, ALICE)
    item = msg.to_rlp()
    assert isinstance(item, list)
    assert item[2:] == [[], b"", b"", b"", b"", b"", b""]
    assert EditValidator.decode(msg.encode()) == msg
    # a zero amount is written as Go writes nil, and reads back as None
    assert EditValidator.decode(replace(msg, min_self_delegation=0).encode()).min_self_delegation is None


def test_sender_rules() -> None:
    tx = StakingTransaction(CollectRewards(ADDR), 0, 1, 30_000).sign(KEY, 1)
    assert tx.sender() == ADDR
    assert tx.sender((1, 2)) == ADDR
    with pytest.raises(InvalidChainId):
        tx.sender(2)
    with pytest.raises(InvalidChainId):
        replace(tx, v=27).sender()
    with pytest.raises(SignatureError):
        replace(tx, s=N - tx.s).sender(1)  # the high-s twin of a valid signature (EIP-2)
    with pytest.raises(SignatureError):
        replace(tx, r=0).sender(1)
    with pytest.raises(SignatureError):
        replace(tx, s=HALF_N + 1).sender(1)
    other = PrivateKey(b"\x07" * 32)
    with pytest.raises(InvalidTransaction):
        check_signer(StakingTransaction(CollectRewards(ADDR), 0, 1, 30_000).sign(other, 1), 1)


def test_intrinsic_gas() -> None:
    create = StakingTransaction.decode(bytes.fromhex(TW_CREATE))
    data = create.data()
    nz = len(data) - data.count(0)
    assert create.intrinsic_gas() == 5_300_000 + 16 * nz + 4 * (len(data) - nz)
    delegate = StakingTransaction.decode(bytes.fromhex(TW_DELEGATE))
    data = delegate.data()
    nz = len(data) - data.count(0)
    assert delegate.intrinsic_gas() == 21_000 + 16 * nz + 4 * (len(data) - nz)


def _envelope(directive: bytes, msg: object) -> bytes:
    return rlp.encode([directive, msg, b"\x01", b"\x01", b"\x01", b"\x25", b"\x01", b"\x01"])  # type: ignore[list-item]


DESC = [b"a", b"b", b"c", b"d", b"e"]
RATES = [[b"\x01"], [b"\x02"], [b"\x03"]]
KEY48 = b"\x01" * 48
SIG96 = b"\x02" * 96

BAD_ENVELOPES = {
    "unknown-directive": _envelope(b"\x05", [ADDR]),
    "directive-non-canonical": _envelope(b"\x00", [ADDR]),
    "directive-as-list": _envelope([], [ADDR]),  # type: ignore[arg-type]
    "msg-wrong-directive": _envelope(b"\x04", [ADDR, ADDR, b"\x01"]),
    "msg-not-a-list": _envelope(b"\x04", ADDR),
    "address-19-bytes": _envelope(b"\x04", [ADDR[:19]]),
    "name-141-bytes": _envelope(b"", [ADDR, [b"x" * 141, *DESC[1:]], RATES, b"", b"", [], [], b""]),
    "details-281-bytes": _envelope(b"", [ADDR, [*DESC[:4], b"x" * 281], RATES, b"", b"", [], [], b""]),
    "description-4-fields": _envelope(b"", [ADDR, DESC[:4], RATES, b"", b"", [], [], b""]),
    "description-bad-utf8": _envelope(b"", [ADDR, [b"\xff", *DESC[1:]], RATES, b"", b"", [], [], b""]),
    "rate-not-a-list": _envelope(b"", [ADDR, DESC, [b"\x01", [b"\x02"], [b"\x03"]], b"", b"", [], [], b""]),
    "bls-key-47-bytes": _envelope(b"", [ADDR, DESC, RATES, b"", b"", [KEY48[:47]], [SIG96], b""]),
    "bls-sig-95-bytes": _envelope(b"", [ADDR, DESC, RATES, b"", b"", [KEY48], [SIG96[:95]], b""]),
    "create-7-fields": _envelope(b"", [ADDR, DESC, RATES, b"", b"", [KEY48], b""]),
    "edit-7-fields": _envelope(b"\x01", [ADDR, DESC, [], b"", b"", b"", b""]),
    "edit-10-fields": _envelope(b"\x01", [ADDR, DESC, [], b"", b"", b"", b"", b"", b"", b""]),
    "edit-status-4": _envelope(b"\x01", [ADDR, DESC, [], b"", b"", b"", b"", b"", b"\x04"]),
    "edit-rate-as-string": _envelope(b"\x01", [ADDR, DESC, b"\x01", b"", b"", b"", b"", b"", b""]),
    "edit-key-47-bytes": _envelope(b"\x01", [ADDR, DESC, [], b"", b"", KEY48[:47], b"", b"", b""]),
    "amount-leading-zero": _envelope(b"\x02", [ADDR, ADDR, b"\x00\x01"]),
    "amount-257-bits": _envelope(b"\x02", [ADDR, ADDR, b"\x01" + b"\x00" * 32]),
    "nonce-65-bits": rlp.encode([b"\x04", [ADDR], b"\x01" + b"\x00" * 8, b"", b"", b"", b"", b""]),
    "envelope-7-fields": rlp.encode([b"\x04", [ADDR], b"", b"", b"", b"", b""]),
    "truncated": bytes.fromhex(TW_COLLECT)[:-1],
    "trailing-byte": bytes.fromhex(TW_COLLECT) + b"\x00",
    "empty": b"",
}


@pytest.mark.parametrize("raw", list(BAD_ENVELOPES.values()), ids=list(BAD_ENVELOPES))
def test_bad_input_raises_typed_error(raw: bytes) -> None:
    with pytest.raises(RLPError):
        StakingTransaction.decode(raw)


def test_encode_refuses_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        StakingTransaction(Delegate(ADDR, ADDR, -1), 0, 0, 0).encode()
    with pytest.raises(ValueError):
        Description("x" * 141, "", "", "", "").encode()


# --- property tests ------------------------------------------------------------------------------------

addresses = st.binary(min_size=20, max_size=20)
amounts = st.integers(min_value=0, max_value=2**256 - 1)
opt_amounts = st.none() | st.integers(min_value=1, max_value=2**256 - 1)
decs = st.integers(min_value=0, max_value=10**18).map(Dec)
texts = st.text(max_size=35)
descriptions = st.builds(Description, texts, texts, texts, texts, texts)
keys48 = st.binary(min_size=48, max_size=48)
sigs96 = st.binary(min_size=96, max_size=96)

messages = st.one_of(
    st.builds(
        CreateValidator,
        addresses,
        descriptions,
        st.builds(CommissionRates, decs, decs, decs),
        amounts,
        amounts,
        st.lists(keys48, max_size=3).map(tuple),
        st.lists(sigs96, max_size=3).map(tuple),
        amounts,
    ),
    st.builds(
        EditValidator,
        addresses,
        descriptions,
        st.none() | decs,
        opt_amounts,
        opt_amounts,
        st.none() | keys48,
        st.none() | keys48,
        st.none() | sigs96,
        st.none() | st.sampled_from(EposStatus),
    ),
    st.builds(Delegate, addresses, addresses, amounts),
    st.builds(Undelegate, addresses, addresses, amounts),
    st.builds(CollectRewards, addresses),
)


@settings(max_examples=60, deadline=None)
@given(msg=messages, nonce=st.integers(0, 2**64 - 1), price=amounts, gas=st.integers(0, 2**64 - 1))
def test_round_trip_and_signer(msg: StakeMsg, nonce: int, price: int, gas: int) -> None:
    tx = StakingTransaction(msg, nonce, price, gas).sign(KEY, 2)
    assert StakingTransaction.decode(tx.encode()) == tx
    assert tx.sender(2) == ADDR
    assert isinstance(tx.directive, Directive)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        StakingTransaction.decode(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(bytes.fromhex(TW_EDIT)) - 1), st.integers(0, 255))
def test_mutated_vector_raises_only_our_errors(pos: int, byte: int) -> None:
    raw = bytearray.fromhex(TW_EDIT)
    raw[pos] = byte
    try:
        tx = StakingTransaction.decode(bytes(raw))
        tx.sender(2)
    except HarmonyError:
        pass
