"""EIP-1186 proofs from our trie, checked by an independent implementation (the ``trie`` package, py-trie):
the same nodes as its own proofs, and values it reads back from them against the root alone."""

from __future__ import annotations

import random

import pytest
import rlp  # type: ignore[import-untyped]
from trie import HexaryTrie  # type: ignore[import-untyped]
from trie.exceptions import BadTrieProof  # type: ignore[import-untyped]

from harmony.crypto.keccak import keccak256
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.state.account import Account
from harmony.state.proof import account_proof, trie_proof
from harmony.state.statedb import StateDB
from harmony.state.trie import MissingTrieNode, trie_update


def _decoded(proof: list[bytes]) -> tuple[object, ...]:
    return tuple(rlp.decode(node) for node in proof)


def _verify(root: bytes, key: bytes, proof: list[bytes]) -> bytes:
    value: bytes = HexaryTrie.get_from_proof(root, key, _decoded(proof))
    return value


@pytest.mark.parametrize("key_len", [1, 3, 32])
def test_proofs_match_py_trie_for_present_and_absent_keys(key_len: int) -> None:
    rng = random.Random(key_len)
    items = {rng.randbytes(key_len): rng.randbytes(rng.choice([1, 4, 40])) for _ in range(300)}
    nodes: dict[bytes, bytes] = {}
    root, new = trie_update(nodes, EMPTY_TRIE_ROOT, items)
    nodes.update(new)
    reference = HexaryTrie({})
    for key, value in items.items():
        reference[key] = value
    assert reference.root_hash == root
    absent = [rng.randbytes(key_len) for _ in range(50)]
    for key in [*list(items)[:100], *absent]:
        value, proof = trie_proof(nodes, root, key)
        assert value == items.get(key, b"")
        # py-trie lists embedded nodes (RLP under 32 bytes) too; geth and EIP-1186 proofs carry them
        # inside their parent only
        stored = [n for i, n in enumerate(reference.get_proof(key)) if i == 0 or len(rlp.encode(n)) >= 32]
        assert _decoded(proof) == tuple(stored)
        assert _verify(root, key, proof) == value


def test_a_tampered_proof_is_refused_by_the_verifier() -> None:
    items = {keccak256(bytes([i])): b"v" * 40 for i in range(64)}
    nodes: dict[bytes, bytes] = {}
    root, new = trie_update(nodes, EMPTY_TRIE_ROOT, items)
    nodes.update(new)
    key = next(iter(items))
    _, proof = trie_proof(nodes, root, key)
    forged = bytearray(proof[-1])
    forged[-1] ^= 1
    with pytest.raises(BadTrieProof):
        _verify(root, key, [*proof[:-1], bytes(forged)])


def test_empty_trie_has_an_empty_proof() -> None:
    assert trie_proof({}, EMPTY_TRIE_ROOT, b"\x01" * 32) == (b"", [])
    assert _verify(EMPTY_TRIE_ROOT, b"\x01" * 32, []) == b""


def test_account_and_storage_proofs_verify_against_the_state_root() -> None:
    store: dict[bytes, bytes] = {}
    state = StateDB(store)
    contract, user, stranger = b"\xcc" * 20, b"\x11" * 20, b"\x99" * 20
    state.set_balance(user, 10**18)
    state.set_nonce(user, 3)
    state.set_code(contract, b"\x60\x00")
    for slot in range(40):
        state.set_storage(contract, slot, slot * 1000 + 1)
    root, new_nodes = state.commit()
    store.update(new_nodes)

    found = account_proof(store, root, contract, [0, 7, 39, 2**255])
    raw = _verify(root, keccak256(contract), list(found.proof))
    assert Account.decode(raw) == found.account
    assert found.account.code_hash == keccak256(b"\x60\x00")
    for item in found.storage:
        value = _verify(
            found.account.storage_root, keccak256(item.slot.to_bytes(32, "big")), list(item.proof)
        )
        expected = 0 if item.slot == 2**255 else item.slot * 1000 + 1
        assert item.value == expected
        assert (rlp.decode(value, sedes=rlp.sedes.big_endian_int) if value else 0) == expected

    user_proof = account_proof(store, root, user, [])
    assert (user_proof.account.balance, user_proof.account.nonce) == (10**18, 3)
    assert Account.decode(_verify(root, keccak256(user), list(user_proof.proof))) == user_proof.account

    absent = account_proof(store, root, stranger, [5])
    assert absent.account == Account()
    assert _verify(root, keccak256(stranger), list(absent.proof)) == b""
    assert absent.storage[0].value == 0 and absent.storage[0].proof == ()


def test_a_missing_node_is_a_typed_error() -> None:
    items = {keccak256(bytes([i])): b"v" * 40 for i in range(64)}
    root, new = trie_update({}, EMPTY_TRIE_ROOT, items)
    del new[root]
    with pytest.raises(MissingTrieNode, match="not in the store"):
        trie_proof(new, root, next(iter(items)))
