"""A validator's record is its account's code (as Harmony stores it) but it is data: a transfer to a
validator takes the plain-transfer path, and a call through the EVM (a transaction with data, or a contract's
CALL) runs no code, so the value arrives either way and both paths give the same state root."""

from __future__ import annotations

from harmony.chain.params import ONE
from harmony.chain.staking.records import (
    is_registered_validator,
    register_validator,
    set_validator_wrapper,
)
from harmony.chain.state_api import BlockEnv, Message
from harmony.chain.transfers import is_plain_transfer
from harmony.state.evm import execute
from harmony.state.statedb import StateDB
from harmony.types.transaction import Transaction
from tests.unit.chain.support import KEYS, PRICE
from tests.unit.types.test_validator import ADDR, wrapper

ENV = BlockEnv(coinbase=b"\xcc" * 20, number=5, timestamp=100, gas_limit=30_000_000, chain_id=2)


def _state() -> StateDB:
    state = StateDB({})
    state.set_balance(KEYS[0].address, 1000 * ONE)
    set_validator_wrapper(state, ADDR, wrapper())
    register_validator(state, ADDR)
    return state


def _message(data: bytes, gas: int = 100_000) -> Message:
    return Message(KEYS[0].address, ADDR, 7 * ONE, data, gas, PRICE, 0)


def test_a_validator_is_no_program() -> None:
    state = _state()
    assert state.get_code(ADDR) and is_registered_validator(state, ADDR)
    assert not is_registered_validator(state, b"\x99" * 20)
    tx = Transaction(0, PRICE, 21_000, 0, 0, ADDR, 7 * ONE).sign(KEYS[0], 2)
    assert is_plain_transfer(state, tx)


def test_value_reaches_a_validator_through_the_evm() -> None:
    plain, with_data = _state(), _state()
    before = with_data.get_code(ADDR)
    empty = execute(plain, _message(b""), ENV, fee_recipient=None)
    called = execute(with_data, _message(b"\x12\x34"), ENV, fee_recipient=None)
    assert empty.success and called.success and called.error is None
    assert plain.get_balance(ADDR) == with_data.get_balance(ADDR) == 7 * ONE
    assert with_data.get_code(ADDR) == before  # the record is untouched
    assert called.gas_used == 21_000 + 16 * 2  # intrinsic only: nothing ran
