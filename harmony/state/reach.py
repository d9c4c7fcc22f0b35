"""What a state references: every trie node and code blob reachable from a state root (YP §4.1).

A world state is the account trie at its root; each account leaf (``rlp(account)``, :mod:`account`) names
the root of its storage trie and the hash of its code, both stored in the same node store. Pruning keeps
exactly what the kept states reach (:mod:`harmony.storage.prune`), so this walk is the definition of "in
use": it follows hash references (``0xa0 ‖ hash``) to stored nodes, looks inside embedded nodes (RLP under
32 bytes, which never hold a hash reference but may hold a value), and never enters a node twice, so the
states of consecutive blocks, which share all but their changed paths, cost only their differences.
"""

from __future__ import annotations

from collections.abc import Iterator

from harmony.abc import KVReader
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.state.account import EMPTY_CODE_HASH, account_refs
from harmony.state.trie import BRANCH, EXT, LEAF, MissingTrieNode, Node, decode_node

__all__ = ["MARK_STEP", "mark_state"]

MARK_STEP = 2048
"""Nodes marked between two progress reports of :func:`mark_state` (a caller may pause there)."""

_EMPTY_REF = b"\x80"


def _values_and_children(node: Node, children: list[bytes], values: list[bytes]) -> None:
    """The hashes ``node`` references and the values it holds, embedded children included."""
    kind = node[0]
    if kind == LEAF:
        values.append(node[2])
        return
    refs = [node[2]] if kind == EXT else node[1]
    if kind == BRANCH and node[2]:
        values.append(node[2])
    for ref in refs:
        if len(ref) == 33 and ref[0] == 0xA0:
            children.append(ref[1:])
        elif ref != _EMPTY_REF:
            _values_and_children(decode_node(ref), children, values)


def mark_state(nodes: KVReader, state_root: bytes, marked: set[bytes]) -> Iterator[int]:
    """Add to ``marked`` every node and code hash the state at ``state_root`` reaches (module docstring).

    A generator: it yields how many new hashes it marked every :data:`MARK_STEP` of them, and at the end,
    so a caller can show progress or let other work run. Hashes already in ``marked`` are not entered
    again. Raises :class:`MissingTrieNode` if a reachable node is not in ``nodes``.
    """
    # (hash, is the account trie): storage tries hold values that are not accounts
    stack: list[tuple[bytes, bool]] = []
    if state_root != EMPTY_TRIE_ROOT and state_root not in marked:
        stack.append((state_root, True))
    count = 0
    while stack:
        node_hash, accounts = stack.pop()
        if node_hash in marked:
            continue
        rlp = nodes.get(node_hash)
        if rlp is None:
            raise MissingTrieNode(f"trie node {node_hash.hex()} is not in the store")
        marked.add(node_hash)
        count += 1
        if count % MARK_STEP == 0:
            yield count
        children: list[bytes] = []
        values: list[bytes] = []
        _values_and_children(decode_node(rlp), children, values)
        stack.extend((child, accounts) for child in children if child not in marked)
        if not accounts:
            continue
        for value in values:
            storage_root, code_hash = account_refs(value)
            if storage_root != EMPTY_TRIE_ROOT and storage_root not in marked:
                stack.append((storage_root, False))
            if code_hash != EMPTY_CODE_HASH and code_hash not in marked:
                marked.add(code_hash)
                count += 1
    yield count
