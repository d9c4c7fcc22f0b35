"""What a node keeps for the traffic between shards (reference §6.2–§6.4): incoming receipt proofs waiting
for a block, crosslinks waiting for a beacon block, outgoing proofs to publish until delivered, and the
beacon headers a non-beacon shard follows.

All of it travels on one network-wide topic (:func:`global_topic`), one kind byte then the payload:

* :data:`KIND_CX_PROOF`: a :class:`~harmony.types.cx.CXReceiptsProof` for its destination shard;
* :data:`KIND_CROSSLINK`: a shard block's :class:`~harmony.types.crosslink.CrossLink` for the beacon chain;
* :data:`KIND_BEACON_HEADER`: a beacon header with its commit signature and bitmap, so every shard learns
  the beacon chain's epochs and next committees;
* :data:`KIND_STAKING_TX`: a signed staking transaction for the beacon chain's staking pools;
* :data:`KIND_SLASH`: a slash record (double-sign evidence and its reporter) for the beacon chain.

The traffic is small (one proof per block and destination, one crosslink per shard block, one header per
beacon block), so one topic is simpler than fanning out to other shards' topics. Every payload is a hostile
peer's bytes: the size is bounded before decoding, and nothing is kept before its commit signature verifies
against the committee the chain database knows for that shard and epoch (so a peer cannot fill a pool with
garbage; a bad item raises :class:`CrossShardError` and its sender gets penalized by the caller).

These are plain data structures: no IO; the clock and the database lookups are injected.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harmony.chain.commit_proof import InvalidCommitProof, verify_header_commit
from harmony.chain.crosslinks import (
    CommitteeFor,
    InvalidCrossLink,
    IsSpent,
    IsStored,
    select_incoming_proofs,
    verify_crosslink,
    verify_cx_proof,
)
from harmony.encoding import rlp
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.node.wire import Framing, WireError
from harmony.types.crosslink import CrossLink, sort_crosslinks
from harmony.types.cx import MAX_PROOF_SIZE, CXReceiptsProof, InvalidCXProof
from harmony.types.header import Header

KIND_CX_PROOF = 1
KIND_CROSSLINK = 2
KIND_BEACON_HEADER = 3
KIND_STAKING_TX = 4
KIND_SLASH = 5
KINDS = frozenset({KIND_CX_PROOF, KIND_CROSSLINK, KIND_BEACON_HEADER, KIND_STAKING_TX, KIND_SLASH})

MAX_GLOBAL_MESSAGE = MAX_PROOF_SIZE + 1024
"""Largest message on the global topic (a proof carries a full header and its receipts)."""
MAX_INCOMING = 6000
"""Incoming proofs kept (the per-block limit, §6.4)."""
MAX_CROSSLINKS = 4096
"""Crosslinks kept waiting for a beacon block."""
CROSSLINKS_PER_BLOCK = 256
"""Crosslinks one beacon block includes at most."""
RESEND_INTERVAL_S = 10.0
"""Seconds between two publications of the same outgoing proof."""
OUTGOING_TTL_S = 60.0
"""Seconds an outgoing proof is re-published before the relay gives up (``resendCx`` can send it again)."""


class CrossShardError(HarmonyError):
    """A global-topic message refused; ``check`` names why (its sender is penalized)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


def global_topic(network: str) -> str:
    """The network-wide topic of cross-shard traffic: ``hmy/<network>/0.0.1/global``."""
    prefix = "harmony" if network == "mainnet" else f"hmy/{network}"
    return f"{prefix}/0.0.1/global"


GLOBAL = Framing("global message", KINDS, MAX_GLOBAL_MESSAGE)
"""The network-wide topic's framing."""


def pack(kind: int, payload: bytes) -> bytes:
    """``kind`` ‖ ``payload`` for the network-wide topic."""
    return GLOBAL.pack(kind, payload)


def split(data: bytes) -> tuple[int, bytes]:
    """The kind and payload of a global-topic message; :class:`CrossShardError` when malformed."""
    try:
        return GLOBAL.split(data)
    except WireError as exc:
        raise CrossShardError(exc.check, str(exc)) from None


def pack_beacon_header(header: Header, signature: bytes, bitmap: bytes) -> bytes:
    """A beacon header announcement: ``rlp([header, signature, bitmap])``."""
    return pack(KIND_BEACON_HEADER, rlp.encode([header.encode(), signature, bitmap]))


def unpack_beacon_header(payload: bytes) -> tuple[Header, bytes, bytes]:
    """The (header, commit signature, bitmap) of an announcement; :class:`CrossShardError` if malformed."""
    try:
        item = rlp.decode(payload, max_size=MAX_GLOBAL_MESSAGE, max_depth=2)
        if not isinstance(item, list) or len(item) != 3:
            raise CrossShardError("malformed", "a beacon header announcement is [header, signature, bitmap]")
        raw_header, signature, bitmap = item
        if not (isinstance(raw_header, bytes) and isinstance(signature, bytes) and isinstance(bitmap, bytes)):
            raise CrossShardError("malformed", "a beacon header announcement holds three byte strings")
        header = Header.decode(raw_header)
    except CrossShardError:
        raise
    except HarmonyError as exc:
        raise CrossShardError("malformed", f"beacon header announcement: {exc}") from None
    return header, signature, bitmap


def decode_proof(payload: bytes) -> CXReceiptsProof:
    """A proof from a peer (size-bounded strict decode); :class:`CrossShardError` if malformed."""
    if len(payload) > MAX_PROOF_SIZE:
        raise CrossShardError("oversized", f"proof of {len(payload)} bytes")
    try:
        return CXReceiptsProof.decode(payload)
    except HarmonyError as exc:
        raise CrossShardError("malformed", f"receipts proof: {exc}") from None


def decode_crosslink(payload: bytes) -> CrossLink:
    """A crosslink from a peer; :class:`CrossShardError` if malformed."""
    try:
        return CrossLink.decode(payload)
    except HarmonyError as exc:
        raise CrossShardError("malformed", f"crosslink: {exc}") from None


class IncomingProofs:
    """Verified receipt proofs for this shard, waiting for a block (destination side of §6.4)."""

    def __init__(
        self, my_shard: int, committee_for: CommitteeFor, harmony_vote_share: Dec, is_spent: IsSpent
    ) -> None:
        self.my_shard = my_shard
        self._committee_for = committee_for
        self._share = harmony_vote_share
        self._is_spent = is_spent
        self._proofs: OrderedDict[tuple[int, int], CXReceiptsProof] = OrderedDict()

    def __len__(self) -> int:
        return len(self._proofs)

    def add(self, proof: CXReceiptsProof) -> bool:
        """Keep a proof for this shard once it verifies; ``False`` if it is for another shard, already held or
        already credited; :class:`CrossShardError` if it fails a check (a forged proof)."""
        if any(r.to_shard_id != self.my_shard for r in proof.receipts):
            return False
        key = (proof.merkle_proof.shard_id, proof.merkle_proof.block_num)
        if key in self._proofs:
            return False
        try:
            verify_cx_proof(proof, self.my_shard, self._committee_for, self._share, self._is_spent)
        except InvalidCXProof as exc:
            if exc.check in ("replayed", "committee"):
                return False  # credited already, or a committee we cannot check yet: not the sender's fault
            raise CrossShardError(exc.check, str(exc)) from None
        self._proofs[key] = proof
        while len(self._proofs) > MAX_INCOMING:
            self._proofs.popitem(last=False)
        return True

    def candidates(self, limit: int = MAX_INCOMING) -> tuple[CXReceiptsProof, ...]:
        """What the next block may credit: still valid and unspent, one per source block, oldest first."""
        return select_incoming_proofs(
            self._proofs.values(),
            self.my_shard,
            self._committee_for,
            self._share,
            self._is_spent,
            limit=limit,
        )

    def prune(self) -> None:
        """Drop what a stored block credited (after each commit)."""
        for key in [k for k in self._proofs if self._is_spent(*k)]:
            del self._proofs[key]


class CrossLinkPool:
    """Verified crosslinks waiting for a beacon block (beacon side of §6.3)."""

    def __init__(self, committee_for: CommitteeFor, harmony_vote_share: Dec, is_stored: IsStored) -> None:
        """``is_stored(shard, number)``: whether that block's crosslink is settled on the beacon chain:
        recorded, or at or below the shard's last recorded one (the chain takes only higher ones)."""
        self._committee_for = committee_for
        self._share = harmony_vote_share
        self._is_stored = is_stored
        self._links: dict[tuple[int, int], CrossLink] = {}

    def __len__(self) -> int:
        return len(self._links)

    def add(self, link: CrossLink) -> bool:
        """Keep a crosslink once it verifies; ``False`` if held or recorded already, or its committee is not
        known yet; :class:`CrossShardError` for a forged one."""
        key = (link.shard_id, link.block_number)
        if key in self._links:
            return False
        try:
            verify_crosslink(link, self._committee_for, self._share, is_stored=self._is_stored)
        except InvalidCrossLink as exc:
            if exc.check in ("exists", "committee"):
                return False
            raise CrossShardError(exc.check, str(exc)) from None
        if len(self._links) >= MAX_CROSSLINKS:
            oldest = min(self._links, key=lambda k: k[1])
            del self._links[oldest]
        self._links[key] = link
        return True

    def candidates(self, limit: int = CROSSLINKS_PER_BLOCK) -> tuple[CrossLink, ...]:
        """Unrecorded crosslinks in the header's order (shard, number, view), at most ``limit``."""
        fresh = [link for key, link in self._links.items() if not self._is_stored(*key)]
        return sort_crosslinks(fresh)[:limit]

    def prune(self) -> None:
        """Drop the crosslinks a stored beacon block recorded."""
        for key in [k for k in self._links if self._is_stored(*k)]:
            del self._links[key]


@dataclass
class _Outgoing:
    to_shard: int
    number: int
    first_sent: float
    last_sent: float


class OutgoingRelay:
    """Blocks of this shard whose receipts other shards must credit: published after the commit, then again
    every :data:`RESEND_INTERVAL_S` until :data:`OUTGOING_TTL_S` (receipts are credited once; a re-sent proof
    of a spent block is dropped by the destination)."""

    def __init__(
        self,
        build_proof: Callable[[int, int], CXReceiptsProof | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build_proof
        self._clock = clock
        self._pending: OrderedDict[tuple[int, int], _Outgoing] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def on_commit(self, number: int, destinations: Sequence[int]) -> list[CXReceiptsProof]:
        """Block ``number`` sent receipts to ``destinations``: the proofs to publish now."""
        now = self._clock()
        out = []
        for shard in sorted(set(destinations)):
            proof = self._build(shard, number)
            if proof is None:
                continue
            self._pending[(shard, number)] = _Outgoing(shard, number, now, now)
            out.append(proof)
        return out

    def due(self) -> list[CXReceiptsProof]:
        """Proofs to publish again now; those past their time to live are dropped."""
        now = self._clock()
        out = []
        for key, item in list(self._pending.items()):
            if now - item.first_sent > OUTGOING_TTL_S:
                del self._pending[key]
                continue
            if now - item.last_sent >= RESEND_INTERVAL_S:
                proof = self._build(item.to_shard, item.number)
                if proof is None:
                    del self._pending[key]
                    continue
                item.last_sent = now
                out.append(proof)
        return out

    def pending(self) -> list[CXReceiptsProof]:
        """Every proof still being re-published (``hmyv2_getPendingCXReceipts``)."""
        out = []
        for item in self._pending.values():
            proof = self._build(item.to_shard, item.number)
            if proof is not None:
                out.append(proof)
        return out


class BeaconFollower:
    """The beacon chain as a non-beacon shard sees it (§6.2): verified beacon headers; the shard states they
    carry become known committees (``store_shard_state``) for the epochs after them."""

    def __init__(
        self,
        committee_for: CommitteeFor,
        harmony_vote_share: Dec,
        store_shard_state: Callable[[int, bytes], None],
        known_epoch: Callable[[int], bool],
    ) -> None:
        self._committee_for = committee_for
        self._share = harmony_vote_share
        self._store = store_shard_state
        self._known = known_epoch
        self.head_number = -1
        """The highest verified beacon block number."""
        self.head_epoch = 0

    def on_header(self, header: Header, signature: bytes, bitmap: bytes) -> bool:
        """Verify a beacon header's commit signature against the beacon committee of its epoch; a shard
        state it carries becomes known for the next epoch. ``False`` when the committee of its epoch is not
        known yet (ask again later); :class:`CrossShardError` for a forged one."""
        if header.shard_id != 0:
            raise CrossShardError("not_beacon", f"header of shard {header.shard_id} announced as beacon")
        committee = self._committee_for(0, header.epoch)
        if committee is None:
            return False
        try:
            verify_header_commit(committee, self._share, header, signature, bitmap)
        except InvalidCommitProof as exc:
            raise CrossShardError(exc.check, f"beacon block {header.number}: {exc}") from None
        if header.shard_state and not self._known(header.epoch + 1):
            self._store(header.epoch + 1, header.shard_state)
        if header.number > self.head_number:
            self.head_number = header.number
            self.head_epoch = header.epoch
        return True
