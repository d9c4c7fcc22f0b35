"""Validator records stored as the validator account's code."""

from __future__ import annotations

import pytest

from harmony.crypto.keccak import keccak256
from harmony.errors import RLPError
from harmony.state.statedb import StateDB
from harmony.state.validators import get_validator_wrapper, is_validator, set_validator_wrapper
from tests.unit.types.test_validator import ADDR, DELEGATOR, wrapper


class Store:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


def test_wrapper_lives_in_the_code_field() -> None:
    store = Store()
    state = StateDB(store)
    assert get_validator_wrapper(state, ADDR) is None
    assert not is_validator(state, ADDR)
    w = wrapper()
    set_validator_wrapper(state, ADDR, w)
    assert state.get_code_hash(ADDR) == keccak256(w.encode())
    assert is_validator(state, ADDR)
    root, nodes = state.commit()
    store.data.update(nodes)
    reopened = StateDB(store, root)
    assert get_validator_wrapper(reopened, ADDR) == w


def test_revert_restores_previous_record() -> None:
    state = StateDB(Store())
    set_validator_wrapper(state, ADDR, wrapper())
    snap = state.snapshot()
    set_validator_wrapper(state, ADDR, wrapper().__class__(wrapper().validator, (), wrapper().counters, 0))
    state.revert(snap)
    assert get_validator_wrapper(state, ADDR) == wrapper()


def test_mismatched_address_and_foreign_code() -> None:
    state = StateDB(Store())
    with pytest.raises(ValueError):
        set_validator_wrapper(state, DELEGATOR, wrapper())
    state.set_code(DELEGATOR, b"\x60\x00")
    assert not is_validator(state, DELEGATOR)
    with pytest.raises(RLPError):
        get_validator_wrapper(state, DELEGATOR)
