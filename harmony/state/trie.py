"""A persistent hexary Merkle Patricia trie (yellow paper, appendix D) over a store of nodes keyed by hash.

Nodes are kept as RLP in a :class:`~harmony.abc.KVReader` under the Keccak-256 of their encoding; a node
whose RLP is shorter than 32 bytes is embedded in its parent and never stored on its own, except the root,
which is always stored under its hash. Keys are handled as lowercase hex strings (one character per
nibble), which Python compares and slices fast.

Block execution changes thousands of keys at once, so the write path is a *batch*: :func:`update` takes
every change of a block (an empty value deletes the key), sorts them, walks only the touched paths of the
old trie, rebuilds them bottom-up and hashes each new node once. It returns the new root and the new nodes,
which the caller writes in its block transaction; old nodes are left in place (pruning deletes the ones no
kept state reaches later: :mod:`harmony.storage.prune`).

Inside the walk a node is a small tuple: ``(LEAF, path, value)``, ``(EXT, path, child_ref)`` or
``(BRANCH, [16 child refs], value)``, where a child ref is the child exactly as its parent's RLP holds it
(``0xa0 ‖ hash``, an embedded node's RLP, or ``0x80`` for none) so a branch re-encodes by joining them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from harmony.abc import KVReader
from harmony.crypto.keccak import keccak256
from harmony.encoding.trie import EMPTY_TRIE_ROOT, TrieError
from harmony.errors import HarmonyError

__all__ = [
    "EMPTY_TRIE_ROOT",
    "MissingTrieNode",
    "Trie",
    "TrieError",
    "trie_get",
    "trie_update",
]

LEAF = 0
EXT = 1
BRANCH = 2

Node: TypeAlias = tuple[int, Any, Any]
"""A decoded node: (LEAF, path, value), (EXT, path, child ref) or (BRANCH, 16 child refs, value)."""

_EMPTY_REF = b"\x80"
NIBBLE = {c: i for i, c in enumerate("0123456789abcdef")}
_HEX = "0123456789abcdef"


class MissingTrieNode(HarmonyError):
    """A node the trie refers to is not in the node store (a missing or pruned state)."""


def _length_prefix(length: int, offset: int) -> bytes:
    """The RLP header of a string (offset 0x80) or list (offset 0xC0) payload (YP appendix B)."""
    if length < 56:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size


def _rlp_str(data: bytes) -> bytes:
    """RLP of a byte string."""
    if len(data) == 1 and data[0] < 0x80:
        return data
    return _length_prefix(len(data), 0x80) + data


def _hp(path: str, is_leaf: bool) -> bytes:
    """Hex-prefix encoding of a hex-string path with the leaf flag (YP appendix C), as an RLP string."""
    flag = 2 if is_leaf else 0
    if len(path) & 1:
        return _rlp_str(bytes.fromhex(_HEX[flag + 1] + path))
    return _rlp_str(bytes.fromhex(_HEX[flag] + "0" + path))


def _str_payload(item: bytes) -> bytes:
    """The byte string an RLP string item encodes."""
    b = item[0]
    if b < 0x80:
        return item
    if b <= 0xB7:
        return item[1:]
    if b < 0xC0:
        return item[1 + b - 0xB7 :]
    raise TrieError("trie node: expected a byte string, got a list")


def _items(node: bytes) -> list[bytes]:
    """The raw RLP encodings of the items of a node's list (2 or 17 of them)."""
    if not node:
        raise TrieError("trie node: empty encoding")
    b0 = node[0]
    if b0 < 0xC0:
        raise TrieError("trie node: not an RLP list")
    if b0 <= 0xF7:
        pos, end = 1, 1 + b0 - 0xC0
    else:
        ll = b0 - 0xF7
        pos, end = 1 + ll, 1 + ll + int.from_bytes(node[1 : 1 + ll], "big")
    if end != len(node):
        raise TrieError("trie node: length does not match its RLP header")
    out: list[bytes] = []
    append = out.append
    while pos < end:
        b = node[pos]
        if b == 0xA0:  # the common cases first: a hash reference, an empty slot
            append(node[pos : pos + 33])
            pos += 33
            continue
        if b == 0x80:
            append(_EMPTY_REF)
            pos += 1
            continue
        if b < 0x80:
            n = 1
        elif b <= 0xB7:
            n = 1 + b - 0x80
        elif b < 0xC0:
            ll = b - 0xB7
            n = 1 + ll + int.from_bytes(node[pos + 1 : pos + 1 + ll], "big")
        elif b <= 0xF7:
            n = 1 + b - 0xC0
        else:
            ll = b - 0xF7
            n = 1 + ll + int.from_bytes(node[pos + 1 : pos + 1 + ll], "big")
        append(node[pos : pos + n])
        pos += n
    if pos != end or len(out) not in (2, 17):
        raise TrieError(f"trie node: malformed list of {len(out)} items")
    return out


def decode_node(node: bytes) -> Node:
    """A node's RLP as a tuple (YP appendix D: leaf, extension or branch)."""
    items = _items(node)
    if len(items) == 17:
        return (BRANCH, items[:16], _str_payload(items[16]))
    hp = _str_payload(items[0])
    if not hp:
        raise TrieError("trie node: empty hex-prefix path")
    flag = hp[0] >> 4
    if flag > 3:
        raise TrieError(f"trie node: unknown hex-prefix flag {flag}")
    hexpath = hp.hex()
    path = hexpath[1:] if flag & 1 else hexpath[2:]
    if flag & 2:
        return (LEAF, path, _str_payload(items[1]))
    if not path:
        raise TrieError("trie node: extension with an empty path")
    return (EXT, path, items[1])


def encode_node(node: Node) -> bytes:
    """A node tuple's RLP (YP appendix D, eq. 194-196)."""
    kind, a, b = node
    if kind == BRANCH:
        payload = b"".join(a) + _rlp_str(b)
    elif kind == LEAF:
        payload = _hp(a, True) + _rlp_str(b)
    else:
        payload = _hp(a, False) + b
    return _length_prefix(len(payload), 0xC0) + payload


def _shared(a: str, b: str, start: int) -> int:
    """How many characters ``a`` and ``b`` share from ``start`` on."""
    end = min(len(a), len(b))
    i = start
    while i < end and a[i] == b[i]:
        i += 1
    return i - start


class _Updater:
    """One batch update: reads nodes from the store and the nodes it has just made, records new ones."""

    __slots__ = ("cache", "fetch", "keys", "new_nodes", "vals")

    def __init__(self, fetch: Callable[[bytes], bytes | None], cache: dict[bytes, Node] | None) -> None:
        self.fetch = fetch
        self.new_nodes: dict[bytes, bytes] = {}
        self.cache = cache
        self.keys: list[str] = []
        self.vals: list[bytes] = []

    def load(self, node_hash: bytes) -> Node:
        """The node stored under ``node_hash``."""
        cache = self.cache
        if cache is not None:
            node = cache.get(node_hash)
            if node is not None:
                return node
        rlp = self.new_nodes.get(node_hash)
        if rlp is None:
            rlp = self.fetch(node_hash)
            if rlp is None:
                raise MissingTrieNode(f"trie node {node_hash.hex()} is not in the store")
        node = decode_node(rlp)
        if cache is not None:
            cache[node_hash] = node
        return node

    def resolve(self, ref: bytes) -> Node | None:
        """The node a parent's child reference stands for (``None`` for an empty slot)."""
        if len(ref) == 33 and ref[0] == 0xA0:
            return self.load(ref[1:])
        if ref == _EMPTY_REF:
            return None
        return decode_node(ref)

    def ref(self, node: Node) -> bytes:
        """How a parent holds ``node``: embedded if its RLP is under 32 bytes, else ``0xa0 ‖ hash`` (YP n)."""
        rlp = encode_node(node)
        if len(rlp) < 32:
            return rlp
        h = keccak256(rlp)
        self.new_nodes[h] = rlp
        cache = self.cache
        if cache is not None:  # the next block's reads walk the paths this update made
            cache[h] = node
        return b"\xa0" + h

    def build(self, keys: list[str], vals: list[bytes], lo: int, hi: int, depth: int) -> Node:
        """The subtree over sorted ``keys[lo:hi]`` (non-empty values), sharing ``depth`` nibbles (YP c)."""
        if hi - lo == 1:
            return (LEAF, keys[lo][depth:], vals[lo])
        shared = _shared(keys[lo], keys[hi - 1], depth)
        if shared:
            child = self.build(keys, vals, lo, hi, depth + shared)
            return (EXT, keys[lo][depth : depth + shared], self.ref(child))
        value = b""
        if len(keys[lo]) == depth:
            value = vals[lo]
            lo += 1
        children = [_EMPTY_REF] * 16
        i = lo
        while i < hi:
            nib = keys[i][depth]
            j = i + 1
            while j < hi and keys[j][depth] == nib:
                j += 1
            children[NIBBLE[nib]] = self.ref(self.build(keys, vals, i, j, depth + 1))
            i = j
        return (BRANCH, children, value)

    def build_filtered(self, keys: list[str], vals: list[bytes], lo: int, hi: int, depth: int) -> Node | None:
        """Like :meth:`build` but skipping deletions (empty values) in the range."""
        fk: list[str] = []
        fv: list[bytes] = []
        for i in range(lo, hi):
            if vals[i]:
                fk.append(keys[i])
                fv.append(vals[i])
        if not fk:
            return None
        return self.build(fk, fv, 0, len(fk), depth)

    def update(self, node: Node | None, lo: int, hi: int, depth: int) -> Node | None:
        """``node`` with the changes ``keys[lo:hi]`` applied; all of them share ``depth`` nibbles."""
        keys, vals = self.keys, self.vals
        if node is None:
            return self.build_filtered(keys, vals, lo, hi, depth)
        kind = node[0]
        if kind == LEAF:
            path: str = node[1]
            full = keys[lo][:depth] + path
            i = lo
            while i < hi and keys[i] < full:
                i += 1
            if i < hi and keys[i] == full:
                return self.build_filtered(keys, vals, lo, hi, depth)
            mk = [*keys[lo:i], full, *keys[i:hi]]
            mv = [*vals[lo:i], node[2], *vals[i:hi]]
            return self.build_filtered(mk, mv, 0, len(mk), depth)
        if kind == EXT:
            path = node[1]
            first = keys[lo]
            cp = min(_shared(first, keys[hi - 1], depth), len(path))
            cp = min(cp, _shared(first, first[:depth] + path, depth))
            if cp == len(path):
                child = self.update(self.resolve(node[2]), lo, hi, depth + cp)
                return self.extend(path, child)
            children = [_EMPTY_REF] * 16
            rest = path[cp + 1 :]
            children[NIBBLE[path[cp]]] = self.ref((EXT, rest, node[2])) if rest else node[2]
            branch = self.update_branch(children, b"", lo, hi, depth + cp)
            return self.extend(path[:cp], branch)
        return self.update_branch(list(node[1]), node[2], lo, hi, depth)

    def update_branch(self, children: list[bytes], value: bytes, lo: int, hi: int, depth: int) -> Node | None:
        """A branch (its 16 child refs and value) with the changes ``keys[lo:hi]`` applied, normalised."""
        keys, vals = self.keys, self.vals
        i = lo
        if len(keys[i]) == depth:
            value = vals[i]
            i += 1
        while i < hi:
            nib = keys[i][depth]
            j = i + 1
            while j < hi and keys[j][depth] == nib:
                j += 1
            n = NIBBLE[nib]
            child = self.update(self.resolve(children[n]), i, j, depth + 1)
            children[n] = _EMPTY_REF if child is None else self.ref(child)
            i = j
        return self.normalise_branch(children, value)

    def normalise_branch(self, children: list[bytes], value: bytes) -> Node | None:
        """A branch with fewer than two entries collapses into a leaf, an extension or nothing."""
        used = [n for n in range(16) if children[n] != _EMPTY_REF]
        if len(used) >= 2 or (used and value):
            return (BRANCH, children, value)
        if value:
            return (LEAF, "", value)
        if not used:
            return None
        n = used[0]
        child = self.resolve(children[n])
        if child is None:  # pragma: no cover - used[] excludes empty slots
            return None
        if child[0] == BRANCH:
            return (EXT, _HEX[n], children[n])
        return (child[0], _HEX[n] + child[1], child[2])

    def extend(self, path: str, child: Node | None) -> Node | None:
        """``path`` prepended to ``child``: merged into a leaf or extension, or an extension to a branch."""
        if child is None or not path:
            return child
        if child[0] == BRANCH:
            return (EXT, path, self.ref(child))
        return (child[0], path + child[1], child[2])


def trie_update(
    nodes: KVReader,
    root: bytes,
    changes: Mapping[bytes, bytes],
    *,
    cache: dict[bytes, Node] | None = None,
) -> tuple[bytes, dict[bytes, bytes]]:
    """Apply a batch of changes (empty value = delete) to the trie at ``root`` (YP appendix D).

    Returns the new root and every node the update created, keyed by hash (the root's included, even
    when shorter than 32 bytes). Walks only the paths of the changed keys, and hashes each new node once.
    ``cache`` (hash -> decoded node) may be shared between calls: nodes are content-addressed.
    Raises :class:`MissingTrieNode` if a node on a touched path is not in ``nodes``.
    """
    if not changes:
        return root, {}
    up = _Updater(nodes.get, cache)
    items = sorted((bytes(k).hex(), bytes(v)) for k, v in changes.items())
    up.keys = [k for k, _ in items]
    up.vals = [v for _, v in items]
    old = None if root == EMPTY_TRIE_ROOT else up.load(root)
    new = up.update(old, 0, len(items), 0)
    if new is None:
        return EMPTY_TRIE_ROOT, up.new_nodes
    rlp = encode_node(new)
    new_root = keccak256(rlp)
    up.new_nodes[new_root] = rlp
    if cache is not None:
        cache[new_root] = new
    return new_root, up.new_nodes


def trie_get(nodes: KVReader, root: bytes, key: bytes, *, cache: dict[bytes, Node] | None = None) -> bytes:
    """The value stored under ``key`` in the trie at ``root``, or ``b""`` (YP appendix D)."""
    if root == EMPTY_TRIE_ROOT:
        return b""
    up = _Updater(nodes.get, cache)
    path = key.hex()
    depth = 0
    node: Node | None = up.load(root)
    while node is not None:
        kind = node[0]
        if kind == BRANCH:
            if depth == len(path):
                value: bytes = node[2]
                return value
            node = up.resolve(node[1][NIBBLE[path[depth]]])
            depth += 1
        elif kind == LEAF:
            leaf_value: bytes = node[2]
            return leaf_value if path[depth:] == node[1] else b""
        else:
            seg: str = node[1]
            if not path.startswith(seg, depth):
                return b""
            depth += len(seg)
            node = up.resolve(node[2])
    return b""


class _Layered:
    """A read view over recently written nodes, then the backing store."""

    __slots__ = ("base", "top")

    def __init__(self, top: dict[bytes, bytes], base: KVReader) -> None:
        self.top = top
        self.base = base

    def get(self, key: bytes) -> bytes | None:
        value = self.top.get(key)
        return value if value is not None else self.base.get(key)


class Trie:
    """A trie at a root over a node store, gathering the nodes its updates create until they are taken.

    A convenience over :func:`trie_get` / :func:`trie_update` for callers that keep one trie.
    """

    def __init__(self, nodes: KVReader, root: bytes = EMPTY_TRIE_ROOT) -> None:
        self.root = root
        self.pending: dict[bytes, bytes] = {}
        """Nodes created since the last :meth:`take_nodes`, readable by this trie meanwhile."""
        self._view = _Layered(self.pending, nodes)
        self._cache: dict[bytes, Node] = {}

    def get(self, key: bytes) -> bytes:
        """The value under ``key`` (``b""`` if absent)."""
        return trie_get(self._view, self.root, key, cache=self._cache)

    def update(self, changes: Mapping[bytes, bytes]) -> bytes:
        """Apply a batch (empty value = delete); returns the new root."""
        self.root, new = trie_update(self._view, self.root, changes, cache=self._cache)
        self.pending.update(new)
        return self.root

    def take_nodes(self) -> dict[bytes, bytes]:
        """The nodes created since the last call (hash -> RLP), for the caller to persist."""
        out = dict(self.pending)
        self.pending.clear()
        return out
