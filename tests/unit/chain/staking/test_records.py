"""Where validator records and the registries live in the state (harmony.chain.staking.records)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harmony.chain.staking import records
from harmony.errors import RLPError
from harmony.state.statedb import StateDB
from tests.unit.types.test_validator import ADDR, wrapper

A, B, C = b"\x0a" * 20, b"\x0b" * 20, b"\x0c" * 20
KEY1, KEY2 = b"\x11" * 48, b"\x22" * 48


def test_validator_list_in_creation_order_without_duplicates() -> None:
    state = StateDB({})
    assert records.validator_addresses(state) == ()
    assert records.register_validator(state, B)
    assert records.register_validator(state, A)
    root = state.state_root()
    assert not records.register_validator(state, B)
    assert state.state_root() == root
    assert records.register_validator(state, C)
    assert records.validator_addresses(state) == (B, A, C)


def test_registry_changes_the_state_root() -> None:
    state = StateDB({})
    empty = state.state_root()
    records.register_validator(state, A)
    assert state.state_root() != empty


def test_bls_key_claim_and_release() -> None:
    state = StateDB({})
    assert records.bls_key_owner(state, KEY1) is None
    records.claim_bls_key(state, KEY1, A)
    assert records.bls_key_owner(state, KEY1) == A
    assert records.bls_key_owner(state, KEY2) is None
    records.release_bls_key(state, KEY1)
    assert records.bls_key_owner(state, KEY1) is None


def test_identity_claim_and_release_and_empty_identity() -> None:
    state = StateDB({})
    records.claim_identity(state, "alice", A)
    assert records.identity_owner(state, "alice") == A
    assert records.identity_owner(state, "bob") is None
    root = state.state_root()
    records.claim_identity(state, "", B)  # the empty identity is never owned
    assert records.identity_owner(state, "") is None
    records.release_identity(state, "")
    assert state.state_root() == root
    records.release_identity(state, "alice")
    assert records.identity_owner(state, "alice") is None


def test_wrapper_stored_as_code_and_reverts() -> None:
    state = StateDB({})
    w = wrapper()
    assert records.get_validator_wrapper(state, ADDR) is None and not records.is_validator(state, ADDR)
    snap = state.snapshot()
    records.set_validator_wrapper(state, ADDR, w)
    assert state.get_code(ADDR) == w.encode()
    assert records.get_validator_wrapper(state, ADDR) == w and records.is_validator(state, ADDR)
    state.revert(snap)
    assert records.get_validator_wrapper(state, ADDR) is None


def test_wrapper_at_wrong_address_refused() -> None:
    state = StateDB({})
    with pytest.raises(ValueError, match="stored at"):
        records.set_validator_wrapper(state, A, wrapper())


def test_contract_code_is_not_a_validator() -> None:
    state = StateDB({})
    state.set_code(A, bytes.fromhex("6000"))
    assert not records.is_validator(state, A)
    with pytest.raises(RLPError):
        records.get_validator_wrapper(state, A)


def test_registry_account_has_no_known_key() -> None:
    assert len(records.REGISTRY_ADDRESS) == 20
    assert records.REGISTRY_ADDRESS not in (A, B, C)


def test_decoded_records_are_kept_within_their_byte_budget() -> None:
    a = wrapper()
    b = replace(a, block_reward=a.block_reward + 5)
    code_a, code_b = a.encode(), b.encode()
    cache = records._DecodedRecords(budget=8 * len(code_a) + 8 * len(code_b))
    first = cache.get(code_a)
    assert first == a and cache.get(code_a) is first  # decoded once, then served from the cache
    assert cache.get(code_b) == b and cache.size == len(code_a) + len(code_b)
    small = records._DecodedRecords(budget=len(code_a) + 1)  # a record above an eighth of it: never kept
    assert small.get(code_a) == a and small.records == {} and small.size == 0
    tight = records._DecodedRecords(budget=8 * max(len(code_a), len(code_b)))
    for code in (code_a, code_b) * 5:
        tight.get(code)
    assert tight.size <= tight.budget and tight.size == sum(len(c) for c in tight.records)
    with pytest.raises(RLPError):  # not a record: the decoder's own error, nothing kept
        records._DecodedRecords(budget=1 << 20).get(b"\x01\x02")


def test_a_stored_record_is_read_back_without_decoding_and_equals_its_decoding() -> None:
    state = StateDB({})
    w = replace(wrapper(), block_reward=123_456_789)
    records.set_validator_wrapper(state, ADDR, w)
    read = records.get_validator_wrapper(state, ADDR)
    assert read is w  # kept under its encoding when stored
    assert type(read).decode(state.get_code(ADDR)) == w  # the one-to-one encoding the cache relies on
