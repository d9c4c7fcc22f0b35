"""A binary Merkle tree over indexed leaves, for the commitment of coded block symbols (design.md §2, 8).

Leaves and inner nodes are domain-separated Keccak-256 hashes: a leaf is ``keccak(0x00 ‖ index ‖ data)``
(the index as 4 big-endian bytes, so a symbol cannot be proven at another position) and a node is
``keccak(0x01 ‖ left ‖ right)``. A level with an odd number of nodes carries its last node up unchanged
(never duplicated, so two different leaf lists cannot share a root), and the root is
``keccak(0x02 ‖ leaf count ‖ top node)``, so a tree of one size never passes for another. A proof lists the
siblings from the leaf up; its length is fixed by the index and the leaf count, and a proof of any other
length is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from harmony.crypto.keccak import keccak256

MAX_LEAVES = 1 << 20
"""The largest tree the verifier accepts (a proof of at most 20 siblings)."""


def leaf_hash(index: int, data: bytes) -> bytes:
    """The hash of leaf ``index`` holding ``data``."""
    return keccak256(b"\x00" + index.to_bytes(4, "big") + data)


def _node(left: bytes, right: bytes) -> bytes:
    return keccak256(b"\x01" + left + right)


def _bind(count: int, top: bytes) -> bytes:
    return keccak256(b"\x02" + count.to_bytes(4, "big") + top)


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, root last."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [_node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def root_and_proofs(leaves: Sequence[bytes]) -> tuple[bytes, list[tuple[bytes, ...]]]:
    """The root over already-hashed ``leaves`` and, for each leaf, its proof (siblings from the bottom)."""
    levels = _levels(leaves)
    proofs: list[tuple[bytes, ...]] = []
    for index in range(len(leaves)):
        siblings: list[bytes] = []
        position = index
        for level in levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                siblings.append(level[sibling])
            position //= 2
        proofs.append(tuple(siblings))
    return _bind(len(leaves), levels[-1][0]), proofs


def proof_length(index: int, leaf_count: int) -> int:
    """How many siblings the proof of leaf ``index`` in a tree of ``leaf_count`` leaves holds."""
    length = 0
    position, width = index, leaf_count
    while width > 1:
        if position ^ 1 < width:
            length += 1
        position //= 2
        width = (width + 1) // 2
    return length


def verify_proof(root: bytes, index: int, leaf_count: int, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` places the hashed ``leaf`` at ``index`` in the tree of ``leaf_count`` leaves whose
    root is ``root``. Any malformed proof (wrong length, wrong sibling size) is simply false."""
    if not 0 <= index < leaf_count <= MAX_LEAVES:
        return False
    if len(proof) != proof_length(index, leaf_count):
        return False
    node = leaf
    position, width, used = index, leaf_count, 0
    while width > 1:
        sibling = position ^ 1
        if sibling < width:
            other = proof[used]
            if len(other) != 32:
                return False
            used += 1
            node = _node(node, other) if position % 2 == 0 else _node(other, node)
        position //= 2
        width = (width + 1) // 2
    return _bind(leaf_count, node) == root
