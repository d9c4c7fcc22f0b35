"""The range-proof precompile at 0xf8 (harmony.state.range_precompile) in our EVM: a valid proof answers 1,
a false one 0, malformed input fails the call with its gas consumed and never raises out of the EVM."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.chain.state_api import Message
from harmony.crypto.zk.group import N, P, encode_point
from harmony.crypto.zk.pedersen import commit
from harmony.crypto.zk.range_proof import prove_at_least
from harmony.state.evm import apply_message
from harmony.state.range_precompile import (
    INPUT_SIZE,
    RANGE_PROOF_ADDRESS,
    RANGE_PROOF_GAS,
    MalformedRangeProofInput,
    verify_range_input,
)
from harmony.state.statedb import StateDB
from harmony.types.tx_common import intrinsic_gas
from tests.unit.state.test_evm import ENV, Store

SENDER = b"\x11" * 20
CALLER = b"\x33" * 20
# copies its calldata to memory, STATICCALLs 0xf8 with it, returns (first output word, call success)
CALLER_CODE = bytes.fromhex("366000600037" + "60206000366000" + "60f85afa" + "602052" + "60406000f3")

_rng = random.Random(8)
VALUE, BLINDING, BOUND = 2_500_000, _rng.randrange(1, N), 1_000_000
COMMITMENT = encode_point(commit(VALUE, BLINDING))
PROOF = prove_at_least(VALUE, BLINDING, BOUND, rng=lambda: _rng.randrange(1, N)).to_bytes()
GOOD = COMMITMENT + BOUND.to_bytes(32, "big") + PROOF


def _state() -> StateDB:
    state = StateDB(Store())
    state.set_balance(SENDER, 10**18)
    state.set_code(CALLER, CALLER_CODE)
    state.state_root()
    return state


def _call(state: StateDB, to: bytes, data: bytes, gas: int = 1_000_000) -> tuple[bool, bytes, int]:
    msg = Message(
        sender=SENDER, to=to, value=0, data=data, gas=gas, gas_price=1, nonce=state.get_nonce(SENDER)
    )
    result = apply_message(state, msg, ENV, fee_recipient=None)
    return result.success, result.output, result.gas_used


def test_valid_proof_answers_one_at_its_price() -> None:
    assert len(GOOD) == INPUT_SIZE == 753
    ok, output, gas_used = _call(_state(), RANGE_PROOF_ADDRESS, GOOD)
    assert ok and output == (1).to_bytes(32, "big")
    assert gas_used == intrinsic_gas(GOOD, contract_creation=False) + RANGE_PROOF_GAS


def test_false_statements_answer_zero() -> None:
    too_high = COMMITMENT + (VALUE + 1).to_bytes(32, "big") + PROOF
    other = encode_point(commit(VALUE, BLINDING + 1)) + BOUND.to_bytes(32, "big") + PROOF
    for data in (too_high, other):
        ok, output, _ = _call(_state(), RANGE_PROOF_ADDRESS, data)
        assert ok and output == bytes(32)


def _malformed() -> list[bytes]:
    bound = BOUND.to_bytes(32, "big")
    return [
        b"",
        GOOD[:-1],
        GOOD + b"\x00",
        b"\x02" + (5).to_bytes(32, "big") + bound + PROOF,  # commitment off the curve
        b"\x02" + P.to_bytes(32, "big") + bound + PROOF,  # x not below p
        COMMITMENT + (2**128).to_bytes(32, "big") + PROOF,  # lower bound too large
        COMMITMENT + bound + PROOF[:-32] + N.to_bytes(32, "big"),  # non-canonical scalar b
        COMMITMENT + bound + b"\x05" + PROOF[1:],  # bad prefix of A
    ]


@pytest.mark.parametrize("data", _malformed())
def test_malformed_input_fails_and_consumes_the_gas(data: bytes) -> None:
    with pytest.raises(MalformedRangeProofInput):
        verify_range_input(data)
    ok, output, gas_used = _call(_state(), RANGE_PROOF_ADDRESS, data, gas=900_000)
    assert not ok and output == b"" and gas_used == 900_000


def test_contract_sees_success_flag_and_answer() -> None:
    """A contract's STATICCALL gets (1, success) for a proof, and a failed call (not a revert) for garbage."""
    ok, output, _ = _call(_state(), CALLER, GOOD)
    assert ok and output[:32] == (1).to_bytes(32, "big") and output[32:] == (1).to_bytes(32, "big")
    ok, output, _ = _call(_state(), CALLER, GOOD[:-1])
    assert ok and output[32:] == bytes(32)


def test_out_of_gas_before_decoding() -> None:
    need = intrinsic_gas(GOOD, contract_creation=False) + RANGE_PROOF_GAS
    ok, _, gas_used = _call(_state(), RANGE_PROOF_ADDRESS, GOOD, gas=need - 1)
    assert not ok and gas_used == need - 1


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=800),
        st.binary(min_size=INPUT_SIZE, max_size=INPUT_SIZE),
        st.tuples(st.integers(0, INPUT_SIZE - 1), st.integers(1, 255)).map(
            lambda t: GOOD[: t[0]] + bytes([GOOD[t[0]] ^ t[1]]) + GOOD[t[0] + 1 :]
        ),
    )
)
def test_hostile_input_is_refused_or_false(data: bytes) -> None:
    """Any input either raises the typed VM error or answers False; a changed byte never answers True."""
    with contextlib.suppress(MalformedRangeProofInput):
        assert verify_range_input(data) is False


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        st.binary(min_size=INPUT_SIZE, max_size=INPUT_SIZE),
        st.integers(0, INPUT_SIZE - 1).map(lambda i: GOOD[:i] + bytes([GOOD[i] ^ 0x80]) + GOOD[i + 1 :]),
    )
)
def test_hostile_input_through_the_evm(data: bytes) -> None:
    """Through the whole EVM: a false answer at the price, or a failed call with its gas consumed."""
    ok, output, gas_used = _call(_state(), RANGE_PROOF_ADDRESS, data, gas=900_000)
    if ok:
        assert output == bytes(32)
        assert gas_used == intrinsic_gas(data, contract_creation=False) + RANGE_PROOF_GAS
    else:
        assert output == b"" and gas_used == 900_000
