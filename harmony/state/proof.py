"""Merkle proofs of accounts and storage slots against a state root (EIP-1186, ``eth_getProof``).

A proof of a key is the RLP of every node on the key's path from the root, in order, as stored under its
hash (geth ``Trie.Prove``): a node embedded in its parent (RLP under 32 bytes) travels inside that parent
and is not listed again. The path ends where the key's value is, or where the trie shows the key absent
(an exclusion proof); a verifier rebuilds the path from the nodes by their hashes starting at the root.
An empty trie's proof is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harmony.abc import KVReader
from harmony.crypto.keccak import keccak256
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.state.account import EMPTY_ACCOUNT, Account
from harmony.state.statedb import decode_slot_value, slot_key
from harmony.state.trie import BRANCH, LEAF, NIBBLE, MissingTrieNode, Node, decode_node

__all__ = ["AccountProof", "StorageProof", "account_proof", "trie_proof"]


def trie_proof(nodes: KVReader, root: bytes, key: bytes) -> tuple[bytes, list[bytes]]:
    """The value under ``key`` in the trie at ``root`` (``b""`` if absent) and its proof (EIP-1186).

    Raises :class:`MissingTrieNode` when a node on the path is not in ``nodes`` (a pruned or unknown
    state).
    """
    if root == EMPTY_TRIE_ROOT:
        return b"", []
    proof: list[bytes] = []

    def load(node_hash: bytes) -> Node:
        rlp = nodes.get(node_hash)
        if rlp is None:
            raise MissingTrieNode(f"trie node {node_hash.hex()} is not in the store")
        proof.append(rlp)
        return decode_node(rlp)

    def resolve(ref: bytes) -> Node | None:
        if len(ref) == 33 and ref[0] == 0xA0:
            return load(ref[1:])
        if ref == b"\x80":
            return None
        return decode_node(ref)

    path = key.hex()
    depth = 0
    node: Node | None = load(root)
    while node is not None:
        kind = node[0]
        if kind == BRANCH:
            if depth == len(path):
                return bytes(node[2]), proof
            node = resolve(node[1][NIBBLE[path[depth]]])
            depth += 1
        elif kind == LEAF:
            return (bytes(node[2]) if path[depth:] == node[1] else b""), proof
        else:
            segment: str = node[1]
            if not path.startswith(segment, depth):
                return b"", proof
            depth += len(segment)
            node = resolve(node[2])
    return b"", proof


@dataclass(frozen=True, slots=True)
class StorageProof:
    """One storage slot's value and its proof against the account's storage root (EIP-1186)."""

    slot: int
    value: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class AccountProof:
    """An account (the empty account if absent), its proof against the state root, and slot proofs."""

    address: bytes
    account: Account
    proof: tuple[bytes, ...]
    storage: tuple[StorageProof, ...]


def account_proof(nodes: KVReader, state_root: bytes, address: bytes, slots: Sequence[int]) -> AccountProof:
    """The proof of ``address`` in the state at ``state_root`` and of each of its ``slots`` (EIP-1186).

    The account trie is keyed by ``keccak(address)`` and each storage trie by ``keccak(slot)`` (YP §4.1);
    an absent account is reported as the empty account, with its exclusion proof, and its slots as zero
    with empty proofs. Raises :class:`MissingTrieNode` for a state whose nodes are not all stored.
    """
    raw, proof = trie_proof(nodes, state_root, keccak256(address))
    account = Account.decode(raw) if raw else EMPTY_ACCOUNT
    storage: list[StorageProof] = []
    for slot in slots:
        value, slot_proof = trie_proof(nodes, account.storage_root, slot_key(slot))
        storage.append(StorageProof(slot, decode_slot_value(value), tuple(slot_proof)))
    return AccountProof(address, account, tuple(proof), tuple(storage))
