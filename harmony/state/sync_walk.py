"""Which trie nodes and code a state sync still needs, and the check of each one received (issue 18 item 2).

A state is everything its root reaches (:mod:`harmony.state.reach`): the account trie, each account's
storage trie and its code (a validator's record is its account's code). A node downloading a state knows
only the root, taken from a header whose commit quorum verified, and asks peers for nodes by hash. Since
every reference inside the state is a Keccak-256 hash, a node is accepted only if it hashes to what was
asked, and what was asked was named by a node accepted before, so every byte kept is part of the quorum-
signed state: a forged or truncated node cannot pass (:class:`ForgedStateNode`).

:class:`StateWalk` is that walk, without IO: it reads the node store it is given (to skip what is there
already), hands out hashes to ask for (:meth:`StateWalk.take`), checks each answer (:meth:`StateWalk.accept`)
and names the children it now needs. The caller writes accepted nodes to the store. Nodes are written only
after their check, and a new walk over the same store enters every node present (the last one may be a
parent whose children never came), so an interrupted sync resumes without fetching again what is stored.

Progress is the share of the account key space covered: the root holds all of it, a branch gives a
sixteenth to each child, and a leaf or an empty slot covers its share, so :attr:`StateWalk.fraction_done`
grows evenly with the accounts whatever the trie's shape (storage tries and code add nodes, not share).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from harmony.abc import KVReader
from harmony.crypto.keccak import keccak256
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.errors import HarmonyError
from harmony.state.account import EMPTY_CODE_HASH, account_refs
from harmony.state.trie import BRANCH, EXT, LEAF, Node, TrieError, decode_node

__all__ = ["ForgedStateNode", "NodeKind", "StateWalk"]

SHARE_ONE = 1 << 128
"""The whole account key space, in integer units (a branch splits a share in 16 without rounding for 32
levels, deeper than any trie of 32-byte keys)."""

_EMPTY_REF = b"\x80"


class NodeKind(IntEnum):
    """What a hash names in a state."""

    ACCOUNT = 0
    """A node of the account trie (its leaves are accounts)."""
    STORAGE = 1
    """A node of a storage trie."""
    CODE = 2
    """A contract's code or a validator's record (any bytes)."""


class ForgedStateNode(HarmonyError):
    """An answer that is not the node asked for; ``check`` is ``unasked``, ``hash`` or ``decode``."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


class StateWalk:
    """The nodes and code of the state at ``root`` still missing from ``nodes`` (module docstring)."""

    def __init__(self, nodes: KVReader, root: bytes) -> None:
        if len(root) != 32:
            raise ValueError(f"a state root is 32 bytes, got {len(root)}")
        self.root = root
        self.nodes = nodes
        self._wanted: list[tuple[bytes, NodeKind, int]] = []
        """Hashes not on disk and not handed out, as a stack (depth first: the list stays short)."""
        self._asked: dict[bytes, tuple[NodeKind, int]] = {}
        """Hashes handed out by :meth:`take` and not yet accepted."""
        self._seen: set[bytes] = set()
        self.covered = 0
        """The account key space covered so far, in units of :data:`SHARE_ONE`."""
        self.present = 0
        """Nodes found on disk (those of an interrupted sync, or shared with a state already stored)."""
        self.accepted = 0
        """Nodes accepted from peers by this walk."""
        if root == EMPTY_TRIE_ROOT:
            self.covered = SHARE_ONE
        else:
            self._enter([(root, NodeKind.ACCOUNT, SHARE_ONE)])

    @property
    def done(self) -> bool:
        """Whether the whole state is in the store (nothing wanted, nothing asked)."""
        return not self._wanted and not self._asked

    @property
    def fraction_done(self) -> float:
        """Share of the account key space covered, 0 to 1 (for progress display only)."""
        return self.covered / SHARE_ONE

    @property
    def outstanding(self) -> int:
        """Hashes known to be missing (wanted or asked)."""
        return len(self._wanted) + len(self._asked)

    def take(self, limit: int) -> list[bytes]:
        """Up to ``limit`` missing hashes to ask a peer for; they count as asked until accepted or
        :meth:`give_back`."""
        out: list[bytes] = []
        while self._wanted and len(out) < limit:
            node_hash, kind, share = self._wanted.pop()
            self._asked[node_hash] = (kind, share)
            out.append(node_hash)
        return out

    def give_back(self, hashes: Iterable[bytes]) -> None:
        """Hashes asked of a peer that did not deliver them: they are wanted again (from another peer)."""
        for node_hash in hashes:
            entry = self._asked.pop(node_hash, None)
            if entry is not None:
                self._wanted.append((node_hash, entry[0], entry[1]))

    def accept(self, node_hash: bytes, blob: bytes) -> None:
        """Check ``blob`` against the asked ``node_hash`` and take in the references it holds.

        Raises :class:`ForgedStateNode` (and changes nothing) if the hash was not asked, the blob does not
        hash to it, or a trie node does not decode; the caller writes ``blob`` under ``node_hash`` after
        this returns.
        """
        entry = self._asked.get(node_hash)
        if entry is None:
            raise ForgedStateNode("unasked", f"node {node_hash.hex()} was not asked for")
        if keccak256(blob) != node_hash:
            raise ForgedStateNode("hash", f"the answer for node {node_hash.hex()} hashes to something else")
        kind, share = entry
        found: list[tuple[bytes, NodeKind, int]] = []
        if kind != NodeKind.CODE:
            try:
                node = decode_node(blob)
            except TrieError as exc:
                raise ForgedStateNode("decode", f"node {node_hash.hex()}: {exc}") from exc
            self._references(node, kind, share, found)
        del self._asked[node_hash]
        self.accepted += 1
        self._enter(found)

    def _enter(self, start: list[tuple[bytes, NodeKind, int]]) -> None:
        """Walk from ``start`` through the nodes already stored; what is missing becomes wanted."""
        stack = start
        while stack:
            node_hash, kind, share = stack.pop()
            if node_hash in self._seen:
                self.covered += share  # the same subtree twice (identical accounts under one parent)
                continue
            self._seen.add(node_hash)
            blob = self.nodes.get(node_hash)
            if blob is None:
                self._wanted.append((node_hash, kind, share))
                continue
            self.present += 1
            if kind != NodeKind.CODE:
                self._references(decode_node(blob), kind, share, stack)

    def _references(
        self, node: Node, kind: NodeKind, share: int, out: list[tuple[bytes, NodeKind, int]]
    ) -> None:
        """The hashes ``node`` names (children, and an account's storage root and code) with their share
        of the key space; embedded children are looked into, empty slots and leaves count as covered."""
        node_kind = node[0]
        if node_kind == LEAF:
            self._value(node[2], kind, out)
            self.covered += share if kind == NodeKind.ACCOUNT else 0
            return
        if node_kind == EXT:
            refs, child_share = [node[2]], share
        else:
            refs, child_share = node[1], share >> 4
            if node[2]:
                self._value(node[2], kind, out)
        if kind != NodeKind.ACCOUNT:
            child_share = 0
        for ref in refs:
            if len(ref) == 33 and ref[0] == 0xA0:
                out.append((ref[1:], kind, child_share))
            elif ref == _EMPTY_REF:
                self.covered += child_share
            else:
                self._references(decode_node(ref), kind, child_share, out)
        if node_kind == BRANCH and kind == NodeKind.ACCOUNT:
            self.covered += share - 16 * child_share  # rounding dust of a very deep branch

    @staticmethod
    def _value(value: bytes, kind: NodeKind, out: list[tuple[bytes, NodeKind, int]]) -> None:
        """An account's storage root and code hash are part of the state; a storage value names nothing."""
        if kind != NodeKind.ACCOUNT:
            return
        storage_root, code_hash = account_refs(value)
        if storage_root != EMPTY_TRIE_ROOT:
            out.append((storage_root, NodeKind.STORAGE, 0))
        if code_hash != EMPTY_CODE_HASH:
            out.append((code_hash, NodeKind.CODE, 0))
