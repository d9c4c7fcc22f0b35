"""What a state reaches (harmony.state.reach): for a state built from nothing, exactly every node and code
blob its commit wrote; progress is reported; a missing node is a typed error; the account fast path."""

from __future__ import annotations

import random

import pytest

from harmony.state.account import Account, account_refs
from harmony.state.reach import MARK_STEP, mark_state
from harmony.state.statedb import StateDB
from harmony.state.trie import MissingTrieNode


def _state(accounts: int) -> tuple[bytes, dict[bytes, bytes]]:
    rng = random.Random(accounts)
    store: dict[bytes, bytes] = {}
    state = StateDB(store)
    for i in range(accounts):
        address = rng.randbytes(20)
        state.set_balance(address, rng.randrange(1, 10**20))
        if i % 7 == 0:
            state.set_code(address, bytes([0x60, i % 256, 0x00]))
            for slot in range(i % 5 + 1):
                state.set_storage(address, slot, rng.randrange(1, 2**200))
    root, nodes = state.commit()
    store.update(nodes)
    return root, store


def test_a_fresh_state_reaches_exactly_what_it_wrote() -> None:
    root, store = _state(3000)
    marked: set[bytes] = set()
    reports = list(mark_state(store, root, marked))
    assert marked == set(store)
    assert reports[-1] == len(marked) and len(reports) == len(marked) // MARK_STEP + 1
    # a second walk into the same set costs nothing
    assert list(mark_state(store, root, marked)) == [0]


def test_a_missing_node_is_a_typed_error() -> None:
    root, store = _state(200)
    victim = next(h for h in store if h != root and len(store[h]) > 100)
    del store[victim]
    with pytest.raises(MissingTrieNode):
        for _ in mark_state(store, root, set()):
            pass


@pytest.mark.parametrize(
    "account",
    [Account(), Account(1, 2, b"\x01" * 32, b"\x02" * 32), Account(2**64 - 1, 2**256 - 1, b"\x03" * 32)],
)
def test_account_refs_read_the_last_two_fields(account: Account) -> None:
    assert account_refs(account.encode()) == (account.storage_root, account.code_hash)
