"""Receiving coded blocks: which peer may send which symbols, and the bounds on what is kept (sans-IO).

The two-level broadcast (as Monad's RaptorCast) gives member ``j`` of a block's ``M`` members the share
``j, j+M, j+2M, …`` of the ``N`` symbols (:func:`harmony.p2p.coding.share`); the leader sends each member
its share, and each member relays its share to the other members. So a receiver knows exactly which
indices each sender may send: the leader only the receiver's own share, member ``j`` only share ``j``,
anyone else nothing. With every index taken once, one peer's symbols of one block take at most its share,
and blocks are kept in a bounded LRU, so memory per block and per peer is bounded by construction.

:class:`Assembly` is pure bookkeeping: the node's check of a commitment (signature, committee, height) is
injected as a :data:`CommitmentResolver`; the network side is :mod:`harmony.p2p.coded_broadcast`.

A commitment names its round by hash; the peers come in a batch now and then
(:attr:`~harmony.p2p.coding.SymbolBatch.round_peers`) and are remembered once a commitment that names them
passed the resolver, so a forged list never enters the book.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from harmony.crypto.keccak import keccak256
from harmony.p2p.coding import (
    ContentHash,
    Reject,
    SignedCommitment,
    Symbol,
    SymbolBatch,
    SymbolCommitment,
    SymbolDecoder,
    SymbolRejected,
    check_commitment,
    check_round_peers,
    check_symbol,
    hash_round,
    share,
)

MAX_KNOWN_ROUNDS = 64
"""Rounds remembered by hash (a committee's round changes when a peer joins, leaves or leads; each of its
leaders has one): more than a sender's :data:`~harmony.p2p.coded_broadcast.ROUND_RESEND_SECONDS` of 1 s
blocks, each booking at most one."""


@dataclass(frozen=True, slots=True)
class Round:
    """Who takes part in one block's coded broadcast, as the node resolves it from the commitment."""

    leader: str
    """Peer ID of the block's leader (the signer of the commitment)."""
    members: tuple[str, ...]
    """Peer IDs of the members receiving shares, in share order, without the leader."""
    _peers: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.members or self.leader in self.members or len(set(self.members)) != len(self.members):
            raise ValueError("a round needs distinct members, the leader not among them")
        # computed once: every batch sent or relayed asks for them
        peers = tuple(peer.encode("ascii") for peer in (self.leader, *self.members))
        object.__setattr__(self, "_peers", peers)
        object.__setattr__(self, "_hash", hash_round(peers))

    def peers(self) -> tuple[bytes, ...]:
        """The round as a batch names it: the leader first, then the members, ASCII peer IDs."""
        return self._peers

    def hash(self) -> bytes:
        """The round hash a commitment names it by (:func:`harmony.p2p.coding.hash_round`)."""
        return self._hash


MAX_UNCONFIRMED_ROUNDS = 16
"""Rounds named by batches whose commitment the resolver refused (the node was behind, or its committee
view older), by hash: a later commitment it accepts can use them. Kept apart from the confirmed book, so a
peer naming made-up rounds evicts only these."""

CommitmentResolver = Callable[[SignedCommitment], bool]
"""The node's verdict on a signed commitment: whether its signature is a committee key's and the block is
one this node expects (its shard, a current height); False drops it."""


def commitment_key(signed: SignedCommitment) -> bytes:
    """The key a block is tracked under: the hash of its signed commitment's encoding."""
    return keccak256(signed.encode())


@dataclass(slots=True)
class _Block:
    commitment: SymbolCommitment
    round: Round
    decoder: SymbolDecoder | None
    """None once the block is done (decoded, fetched or failed): its symbols are freed."""
    sent: dict[str, int] = field(default_factory=dict)
    """Symbols each peer sent for this block, accepted or not (bounded by its share)."""
    relayed: set[int] = field(default_factory=set)
    """Indices of this node's share accepted from the leader (bounded by the share)."""


@dataclass(slots=True)
class Outcome:
    """What one accepted (or partly accepted) batch did."""

    key: bytes
    round: Round
    accepted: list[Symbol]
    """Symbols that passed every check and were new."""
    relay: bool
    """Whether the accepted symbols are this node's share (from the leader) and must be relayed."""
    block: bytes | None = None
    """The block's bytes when this batch completed its decoding."""
    rejected: SymbolRejected | None = None
    """Why the rest of the batch was dropped, if it was."""
    offender: str | None = None
    """Who earns the rejection's penalty (the sender, or the leader for a decode mismatch)."""
    new_block: bool = False
    """Whether this batch opened the block (the caller starts its fallback timer)."""


class Assembly:
    """Coded blocks being received, at most ``max_blocks`` at once (the oldest is dropped first), and the
    keys of the last ``max_blocks × 4`` finished ones (their late symbols are dropped unread)."""

    def __init__(
        self,
        self_peer: str,
        resolve: CommitmentResolver,
        *,
        content_hash: ContentHash = keccak256,
        max_blocks: int = 8,
    ) -> None:
        if max_blocks < 1:
            raise ValueError("max_blocks must be positive")
        self.self_peer = self_peer
        self._resolve = resolve
        self._content_hash = content_hash
        self.max_blocks = max_blocks
        self._blocks: OrderedDict[bytes, _Block] = OrderedDict()
        self._finished: OrderedDict[bytes, None] = OrderedDict()
        self._rounds: OrderedDict[bytes, Round] = OrderedDict()
        """Rounds of commitments that passed the resolver, by round hash (at most MAX_KNOWN_ROUNDS)."""
        self._unconfirmed: OrderedDict[bytes, tuple[bytes, ...]] = OrderedDict()
        """Round peers named with a refused commitment, by round hash (see :data:`MAX_UNCONFIRMED_ROUNDS`)."""
        self._resolved: OrderedDict[bytes, None] = OrderedDict()
        """Keys of commitments that passed the resolver while their round was unknown (a BLS verification
        each): the block's later batches skip it until one names the round (at most ``max_blocks × 4``)."""

    def __len__(self) -> int:
        return len(self._blocks)

    def buffered_symbols(self) -> int:
        """Symbols held by unfinished blocks (for metrics and the bound tests)."""
        return sum(b.decoder.received for b in self._blocks.values() if b.decoder is not None)

    def is_done(self, key: bytes) -> bool:
        """Whether the block under ``key`` was decoded, fetched or given up."""
        block = self._blocks.get(key)
        return key in self._finished if block is None else block.decoder is None

    def known_round(self, round_hash: bytes) -> Round | None:
        """The round of that hash, if a commitment naming it passed the resolver lately."""
        return self._rounds.get(round_hash)

    def open(
        self, signed: SignedCommitment, round_peers: tuple[bytes, ...] = ()
    ) -> tuple[bytes, Round, bool]:
        """Track the block of a commitment (from an announce or a first batch, with the round's peers if
        the batch names them); returns its key, its round and whether it is new. Raises
        :class:`SymbolRejected`: :attr:`Reject.BAD_COMMITMENT` (also: peers that are not the committed
        round), :attr:`Reject.UNANNOUNCED` (the resolver refused it), :attr:`Reject.UNKNOWN_ROUND` (no
        peers and a round not in the book) or :attr:`Reject.STALE` (finished and forgotten)."""
        key = commitment_key(signed)
        block = self._blocks.get(key)
        if block is not None:
            self._blocks.move_to_end(key)
            return key, block.round, False
        if key in self._finished:
            raise SymbolRejected(Reject.STALE, "block finished and forgotten")
        check_commitment(signed.commitment)
        if round_peers:
            check_round_peers(signed.commitment, round_peers)
        if key not in self._resolved:
            if not self._resolve(signed):
                if round_peers:
                    self._keep_unconfirmed(signed.commitment.round_hash, round_peers)
                raise SymbolRejected(Reject.UNANNOUNCED, "commitment refused: not a block this node expects")
            self._resolved[key] = None
            while len(self._resolved) > 4 * self.max_blocks:
                self._resolved.popitem(last=False)
        round_ = self._round(signed.commitment.round_hash, round_peers)
        self._resolved.pop(key, None)
        decoder = SymbolDecoder(signed.commitment, self._content_hash)
        self._blocks[key] = _Block(signed.commitment, round_, decoder)
        while len(self._blocks) > self.max_blocks:
            old, _ = self._blocks.popitem(last=False)
            self._remember(old)
        return key, round_, True

    def _round(self, round_hash: bytes, peers: tuple[bytes, ...]) -> Round:
        """The round of an accepted commitment: from the batch's (checked) peers, entered in the book, or
        from the book."""
        if not peers:
            round_ = self._rounds.get(round_hash)
            if round_ is not None:
                self._rounds.move_to_end(round_hash)
                return round_
            # a sender names a round to a peer once a minute: one named while this node was behind counts
            unconfirmed = self._unconfirmed.pop(round_hash, None)
            if unconfirmed is None:
                raise SymbolRejected(Reject.UNKNOWN_ROUND, f"round {round_hash.hex()[:16]} not known yet")
            peers = unconfirmed
        names = [peer.decode("ascii") for peer in peers]
        try:
            round_ = Round(names[0], tuple(names[1:]))
        except ValueError as exc:  # (check_round_peers already refused repeated peers)
            raise SymbolRejected(Reject.BAD_COMMITMENT, str(exc)) from None
        self._rounds[round_hash] = round_
        self._rounds.move_to_end(round_hash)
        while len(self._rounds) > MAX_KNOWN_ROUNDS:
            self._rounds.popitem(last=False)
        return round_

    def _keep_unconfirmed(self, round_hash: bytes, peers: tuple[bytes, ...]) -> None:
        """Keep a refused commitment's round peers (checked to hash to its round) for a later accepted one:
        the hash binds them, so a made-up round can only be one no honest commitment names."""
        self._unconfirmed[round_hash] = peers
        self._unconfirmed.move_to_end(round_hash)
        while len(self._unconfirmed) > MAX_UNCONFIRMED_ROUNDS:
            self._unconfirmed.popitem(last=False)

    def _remember(self, key: bytes) -> None:
        self._finished[key] = None
        while len(self._finished) > 4 * self.max_blocks:
            self._finished.popitem(last=False)

    def finish(self, key: bytes) -> None:
        """Mark a block done (fetched by the fallback, or given up): its symbols are freed."""
        block = self._blocks.get(key)
        if block is not None:
            block.decoder = None
        self._remember(key)

    def _allowed(self, sender: str, round_: Round, count: int) -> tuple[range, bool]:
        """The indices ``sender`` may send this node, and whether they are this node's share to relay."""
        n_members = len(round_.members)
        if self.self_peer not in round_.members:
            raise SymbolRejected(Reject.LATE, "this node is not a member of the block's committee")
        if sender == round_.leader:
            return share(round_.members.index(self.self_peer), n_members, count), True
        if sender in round_.members and sender != self.self_peer:
            return share(round_.members.index(sender), n_members, count), False
        raise SymbolRejected(Reject.NOT_MEMBER, f"{sender} is neither the leader nor a member")

    def accept(self, sender: str, batch: SymbolBatch) -> Outcome:
        """Check a batch from ``sender`` symbol by symbol and keep what passes (:mod:`harmony.p2p.coding`
        rules, plus: the index is in the sender's share, never received before, and the sender has not
        sent more than its share). The first failing symbol drops the rest of the batch. Raises
        :class:`SymbolRejected` when the whole batch is refused (its commitment, or its sender's role)."""
        key, round_, new = self.open(batch.commitment, batch.round_peers)
        block = self._blocks[key]
        allowed, relay = self._allowed(sender, round_, block.commitment.symbol_count)
        outcome = Outcome(key=key, round=round_, accepted=[], relay=relay, new_block=new)
        sent = block.sent.get(sender, 0)
        for symbol in batch.symbols:
            sent += 1
            try:
                if sent > len(allowed):
                    raise SymbolRejected(Reject.FLOOD, f"more than its share of {len(allowed)} symbols")
                if block.decoder is None and not relay:
                    raise SymbolRejected(Reject.LATE, "block already finished")
                check_symbol(block.commitment, symbol, allowed)
                seen = (
                    symbol.index in block.relayed
                    if relay
                    else block.decoder is not None and block.decoder.has(symbol.index)
                )
                if seen:
                    raise SymbolRejected(Reject.DUPLICATE, f"symbol {symbol.index} again")
            except SymbolRejected as exc:
                outcome.rejected, outcome.offender = exc, sender
                break
            outcome.accepted.append(symbol)
            if relay:
                # This node's share is relayed whole even after it decoded: the others count on it.
                block.relayed.add(symbol.index)
            if block.decoder is None:
                continue
            try:
                result = block.decoder.add(symbol.index, symbol.data)
            except SymbolRejected as exc:
                outcome.rejected, outcome.offender = exc, round_.leader
                self.finish(key)
                break
            if result is not None:
                outcome.block = result
                self.finish(key)
        block.sent[sender] = sent
        return outcome
