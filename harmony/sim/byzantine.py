"""Byzantine behaviours: wrappers around an honest core that rewrite, multiply or suppress what it sends.

A Byzantine node runs the same honest core (so it keeps up with the chain) with its own committee keys; the
wrapper below sits between that core and the network and signs whatever it forges with those keys directly,
bypassing the core's double-sign protection. Roles (:class:`harmony.sim.faults.ByzantineRole`):

- ``EQUIVOCATE``: an ANNOUNCE it sends as leader goes out as two different blocks at one height and view
  (the original to one half of the receivers, a sibling with another ``extra`` to the other half, each
  with a valid envelope signature). As validator it votes PREPARE for every block announced to it and
  COMMIT for every block it sees PREPARED, even when two conflict: a double sign for honest leaders to catch.
- ``BAD_SIGNATURE``: every vote's signature is replaced by one over another message and every envelope
  signature by one over junk; now and then it also sends malformed bytes (truncated, oversized, random).
- ``STALE_VIEW``: its messages are re-signed with an older view, and it replays old messages it received.
- ``SILENT_LEADER``: it drops every message only a leader sends (ANNOUNCE, PREPARED, COMMITTED, NEWVIEW).

Every forged or replayed message is also hostile input for the honest cores: they must drop it with a counted
reason, never change state because of it, and never let it break safety.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

from harmony.chain.payloads import commit_payload, prepare_payload
from harmony.consensus.messages import MAX_MESSAGE_SIZE, Message, MsgType
from harmony.crypto import bls
from harmony.crypto.bitmap import decode_bitmap, encode_bitmap
from harmony.errors import HarmonyError
from harmony.sim.faults import ByzantineRole
from harmony.types.block import Block

LEADER_TYPES = frozenset({MsgType.ANNOUNCE, MsgType.PREPARED, MsgType.COMMITTED, MsgType.NEWVIEW})
Outgoing = list[tuple[int, bytes]]
"""(receiver node, bytes) pairs."""


class Byzantine:
    """One Byzantine node's wrapper (module docstring)."""

    def __init__(
        self,
        role: ByzantineRole,
        node: int,
        keys: Sequence[bls.SecretKey],
        committee_keys: Sequence[bytes],
        rng: random.Random,
    ) -> None:
        self.role = role
        self.node = node
        self._rng = rng
        n = len(committee_keys)
        self._n = n
        index = {k: i for i, k in enumerate(committee_keys)}
        self._keys = {index[k.public_key.to_bytes()]: k for k in keys if k.public_key.to_bytes() in index}
        self._senders = encode_bitmap(sorted(self._keys), n)
        self._voted: set[tuple[MsgType, int, int, bytes]] = set()
        self._seen: list[bytes] = []
        self.forged = 0
        """Messages this wrapper forged, replayed or corrupted."""

    # -- signing with the node's own keys ---------------------------------------------------------
    def _sign_envelope(self, msg: Message) -> Message:
        senders = decode_bitmap(msg.senders, self._n) if msg.senders else ()
        signer = self._keys.get(senders[0]) if senders else None
        if signer is None:
            signer = self._keys[min(self._keys)]
            msg = dataclasses.replace(msg, senders=encode_bitmap([min(self._keys)], self._n))
        return msg.with_signature(signer.sign(msg.with_signature(b"").signing_hash()).to_bytes())

    def _vote(self, kind: MsgType, like: Message, view: int, header_view: int) -> bytes:
        """A PREPARE or COMMIT by all this node's keys for ``like``'s block, in ``view``."""
        payload = (
            prepare_payload(like.block_hash, view)
            if kind is MsgType.PREPARE
            else commit_payload(like.block_num, like.block_hash, header_view)
        )
        sig = bls.aggregate_signatures([self._keys[i].sign(payload) for i in sorted(self._keys)])
        return Message(
            int(kind), like.shard_id, view, like.block_num, like.block_hash, self._senders, sig.to_bytes()
        ).encode()

    # -- outgoing ---------------------------------------------------------------------------------
    def outgoing(self, msg: Message, receivers: Sequence[int]) -> Outgoing:
        """What the node really sends when its honest core sends ``msg`` to ``receivers``."""
        kind = MsgType(msg.type)
        if self.role is ByzantineRole.SILENT_LEADER:
            return [] if kind in LEADER_TYPES else [(r, msg.encode()) for r in receivers]
        if self.role is ByzantineRole.EQUIVOCATE:
            if kind is MsgType.ANNOUNCE and msg.block and len(receivers) > 1:
                return self._equivocate(msg, receivers)
            return [(r, msg.encode()) for r in receivers]
        if self.role is ByzantineRole.BAD_SIGNATURE:
            return [(r, self._corrupt(msg)) for r in receivers] + self._junk(msg, receivers)
        # STALE_VIEW
        out = [(r, self._stale(msg)) for r in receivers]
        if self._seen and self._rng.random() < 0.3:
            old = self._seen[self._rng.randrange(len(self._seen))]
            out += [(r, old) for r in receivers]
            self.forged += 1
        return out

    def _equivocate(self, msg: Message, receivers: Sequence[int]) -> Outgoing:
        try:
            block = Block.decode(msg.block)
        except HarmonyError:
            return [(r, msg.encode()) for r in receivers]
        sibling = block.with_header(block.header.replace(extra=b"equivocation"))
        twin = self._sign_envelope(
            dataclasses.replace(msg, block_hash=sibling.hash(), block=sibling.encode(), signature=b"")
        )
        self.forged += 1
        order = list(receivers)
        self._rng.shuffle(order)
        half = len(order) // 2
        first = [(r, msg.encode()) for r in sorted(order[:half])]
        return first + [(r, twin.encode()) for r in sorted(order[half:])]

    def _corrupt(self, msg: Message) -> bytes:
        self.forged += 1
        key = self._keys[min(self._keys)]
        if MsgType(msg.type) in (MsgType.PREPARE, MsgType.COMMIT):
            return dataclasses.replace(
                msg, payload=key.sign(b"not the vote" + msg.block_hash).to_bytes()
            ).encode()
        return msg.with_signature(key.sign(b"junk" + msg.block_hash).to_bytes()).encode()

    def _junk(self, msg: Message, receivers: Sequence[int]) -> Outgoing:
        if self._rng.random() >= 0.2 or not receivers:
            return []
        self.forged += 1
        target = receivers[self._rng.randrange(len(receivers))]
        good = msg.encode()
        choice = self._rng.randrange(5)
        if choice == 0:
            data = good[: self._rng.randrange(len(good))]
        elif choice == 1:
            data = bytes(self._rng.getrandbits(8) for _ in range(self._rng.randint(1, 200)))
        elif choice == 2:
            data = good + b"\x00" * (MAX_MESSAGE_SIZE - len(good) + 1)
        elif choice == 3:
            data = self._sign_envelope(dataclasses.replace(msg, shard_id=msg.shard_id + 1)).encode()
        else:
            data = self._sign_envelope(dataclasses.replace(msg, block_num=msg.block_num + 500_000)).encode()
        return [(target, data)]

    def _stale(self, msg: Message) -> bytes:
        if msg.view_id == 0:
            return msg.encode()
        self.forged += 1
        view = max(0, msg.view_id - self._rng.randint(1, 3))
        kind = MsgType(msg.type)
        if kind in (MsgType.PREPARE, MsgType.COMMIT):
            return self._vote(kind, msg, view, view)
        return self._sign_envelope(dataclasses.replace(msg, view_id=view, signature=b"")).encode()

    # -- incoming ---------------------------------------------------------------------------------
    def incoming(self, data: bytes, msg: Message | None, sender: int) -> Outgoing:
        """Extra messages the node sends on receiving ``data`` from ``sender`` (its core sees it too)."""
        if self.role is ByzantineRole.STALE_VIEW and len(self._seen) < 64:
            self._seen.append(data)
        if self.role is not ByzantineRole.EQUIVOCATE or msg is None:
            return []
        kind = MsgType(msg.type)
        if kind not in (MsgType.ANNOUNCE, MsgType.PREPARED) or not msg.block:
            return []
        vote = MsgType.PREPARE if kind is MsgType.ANNOUNCE else MsgType.COMMIT
        slot = (vote, msg.block_num, msg.view_id, msg.block_hash)
        if slot in self._voted:
            return []
        try:
            header_view = Block.decode(msg.block).header.view_id
        except HarmonyError:
            return []
        self._voted.add(slot)
        self.forged += 1
        return [(sender, self._vote(vote, msg, msg.view_id, header_view))]
