"""StateDB: accounts, storage, code, journal, EIP-161 clearing, roots, commit and reopen."""

from __future__ import annotations

import pytest

from harmony.chain.state_api import WorldState
from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.trie import EMPTY_TRIE_ROOT, secure_trie_root
from harmony.state.account import EMPTY_ACCOUNT_RLP, EMPTY_CODE_HASH, Account
from harmony.state.statedb import StateDB

A = b"\xaa" * 20
B = b"\xbb" * 20
C = b"\xcc" * 20


class Store:
    """A dict as a node store."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


def fresh() -> tuple[StateDB, Store]:
    store = Store()
    return StateDB(store), store


def test_is_a_world_state() -> None:
    state: WorldState = StateDB(Store())
    assert state.state_root() == EMPTY_TRIE_ROOT


def test_absent_accounts_read_as_zero() -> None:
    state, _ = fresh()
    assert state.get_nonce(A) == 0
    assert state.get_balance(A) == 0
    assert state.get_code(A) == b""
    assert state.get_code_hash(A) == EMPTY_CODE_HASH
    assert state.get_storage(A, 7) == 0
    assert not state.account_exists(A)
    assert state.is_empty(A)
    assert not state.account_has_code_or_nonce(A)


def test_root_matches_independent_computation() -> None:
    state, _ = fresh()
    state.set_balance(A, 10**18)
    state.set_nonce(A, 3)
    state.set_code(B, b"\x60\x00")
    state.set_storage(B, 1, 0x1234)
    state.set_storage(B, 2**255, 1)
    storage_root = secure_trie_root(
        {
            (1).to_bytes(32, "big"): rlp.encode(b"\x12\x34"),
            (2**255).to_bytes(32, "big"): rlp.encode(b"\x01"),
        }
    )
    expected = secure_trie_root(
        {
            A: Account(3, 10**18).encode(),
            B: Account(0, 0, storage_root, keccak256(b"\x60\x00")).encode(),
        }
    )
    assert state.state_root() == expected


def test_account_encoding() -> None:
    assert rlp.encode([b"", b"", EMPTY_TRIE_ROOT, EMPTY_CODE_HASH]) == EMPTY_ACCOUNT_RLP
    acc = Account(2**64 - 1, 2**256 - 1, b"\x01" * 32, b"\x02" * 32)
    assert Account.decode(acc.encode()) == acc
    assert acc.encode() == rlp.encode([b"\xff" * 8, b"\xff" * 32, b"\x01" * 32, b"\x02" * 32])
    with pytest.raises(ValueError):
        Account(2**64).encode()


def test_nested_snapshots_revert() -> None:
    state, _ = fresh()
    state.set_balance(A, 1)
    s1 = state.snapshot()
    state.set_balance(A, 2)
    state.set_storage(A, 1, 5)
    s2 = state.snapshot()
    state.set_balance(A, 3)
    state.set_storage(A, 1, 6)
    state.set_code(A, b"\x00")
    state.revert(s2)
    assert state.get_balance(A) == 2
    assert state.get_storage(A, 1) == 5
    assert state.get_code(A) == b""
    state.revert(s1)
    assert state.get_balance(A) == 1
    assert state.get_storage(A, 1) == 0
    with pytest.raises(ValueError):
        state.revert(s2)
    only_a = secure_trie_root({A: Account(0, 1).encode()})
    assert state.state_root() == only_a


def test_revert_after_root_is_refused() -> None:
    state, _ = fresh()
    snap = state.snapshot()
    state.set_balance(A, 1)
    state.state_root()
    with pytest.raises(ValueError):
        state.revert(snap)


def test_delete_account_wipes_storage_and_revert_restores_it() -> None:
    state, store = fresh()
    state.set_balance(A, 5)
    state.set_storage(A, 1, 9)
    root, nodes = state.commit()
    store.data.update(nodes)
    snap = state.snapshot()
    state.delete_account(A)
    assert not state.account_exists(A)
    assert state.get_storage(A, 1) == 0
    state.set_balance(A, 1)  # a new incarnation starts with empty storage
    assert state.get_storage(A, 1) == 0
    state.revert(snap)
    assert state.get_storage(A, 1) == 9
    assert state.state_root() == root
    state.delete_account(A)
    state.set_balance(A, 1)
    assert state.state_root() == secure_trie_root({A: Account(0, 1).encode()})


def test_storage_zero_deletes_slot() -> None:
    state, _ = fresh()
    state.set_balance(A, 1)
    state.set_storage(A, 1, 5)
    state.state_root()
    state.set_storage(A, 1, 0)
    assert state.state_root() == secure_trie_root({A: Account(0, 1).encode()})
    assert not state.has_storage(A)


def test_has_storage_sees_committed_and_pending_slots() -> None:
    state, _ = fresh()
    state.set_balance(A, 1)
    assert not state.has_storage(A)
    state.set_storage(A, 3, 1)
    assert state.has_storage(A)
    state.state_root()
    assert state.has_storage(A)
    state.set_storage(A, 3, 0)
    assert not state.has_storage(A)


def test_original_storage_is_the_value_at_transaction_start() -> None:
    state, _ = fresh()
    state.set_storage(A, 1, 10)
    state.set_nonce(A, 1)
    state.finalize_transaction()
    state.set_storage(A, 1, 11)
    state.set_storage(A, 1, 12)
    assert state.get_original_storage(A, 1) == 10
    assert state.get_original_storage(A, 2) == 0
    state.finalize_transaction()
    assert state.get_original_storage(A, 1) == 12


def test_eip161_touched_empty_accounts_are_deleted() -> None:
    state, store = fresh()
    state.set_balance(C, 0)  # an empty account in the pre-state survives a root computation
    state.set_balance(A, 10)
    _root, nodes = state.commit()
    store.data.update(nodes)
    assert state.account_exists(C)
    state.touch(B)  # absent: created empty, then cleared
    state.add_balance(C, 0)  # existing empty account touched
    assert state.account_exists(B)
    state.finalize_transaction()
    assert not state.account_exists(B)
    assert not state.account_exists(C)
    assert state.account_exists(A)
    assert state.state_root() == secure_trie_root({A: Account(0, 10).encode()})


def test_reverted_touch_is_forgotten() -> None:
    state, _store = fresh()
    state.set_balance(C, 0)
    state.commit()
    snap = state.snapshot()
    state.touch(C)
    state.revert(snap)
    state.finalize_transaction()
    assert state.account_exists(C)


def test_balance_guards() -> None:
    state, _ = fresh()
    state.add_balance(A, 5)
    with pytest.raises(ValueError):
        state.sub_balance(A, 6)
    with pytest.raises(ValueError):
        state.set_balance(A, -1)
    with pytest.raises(ValueError):
        state.add_balance(A, -1)
    state.sub_balance(A, 5)
    assert state.get_balance(A) == 0


def test_commit_hands_out_nodes_and_code_then_reopens() -> None:
    state, store = fresh()
    code = bytes(range(100))
    for i in range(50):
        addr = i.to_bytes(20, "big")
        state.set_balance(addr, i + 1)
        state.set_storage(addr, i, i + 1)
    state.set_code(A, code)
    root, nodes = state.commit()
    assert nodes[keccak256(code)] == code
    assert all(keccak256(v) == k for k, v in nodes.items())
    # before the caller persists, the StateDB reads its own new nodes from memory
    state.set_balance(B, 1)
    root2, nodes2 = state.commit()
    assert root2 != root
    store.data.update(nodes)
    store.data.update(nodes2)
    state.mark_persisted()
    reopened = StateDB(store, root2)
    assert reopened.get_code(A) == code
    assert reopened.get_balance(B) == 1
    for i in range(50):
        addr = i.to_bytes(20, "big")
        assert reopened.get_balance(addr) == i + 1
        assert reopened.get_storage(addr, i) == i + 1
    assert reopened.state_root() == root2
    old = StateDB(store, root)
    assert old.get_balance(B) == 0


def test_second_commit_returns_only_new_nodes() -> None:
    state, store = fresh()
    for i in range(100):
        state.set_balance(i.to_bytes(20, "big"), 1)
    _, nodes = state.commit()
    store.data.update(nodes)
    state.mark_persisted()
    state.set_balance(A, 2)
    _, nodes2 = state.commit()
    assert 0 < len(nodes2) < len(nodes)
