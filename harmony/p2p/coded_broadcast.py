"""Two-level erasure-coded block broadcast over P2PHost request/response (as Monad's RaptorCast).

The leader encodes a block (:func:`harmony.p2p.coding.encode_block`), signs the commitment with an
injected signer, and sends member ``j`` of the round its share of the symbols in a few batches (every
member's first batch before anyone's second, :func:`batch_bytes`): it uploads about ``(1 + overhead) ×
size``.
A member that receives its share from the leader relays each accepted batch to every other member; it
decodes once it holds ``K`` plus a few symbols (:class:`harmony.p2p.coded_assembly.Assembly` checks every
symbol first). A member that has not decoded ``decode_timeout`` seconds after it first heard of the block
(:meth:`CodedBroadcast.expect` from the announce, or a first batch) asks the injected fallback for the whole
block by its commitment (the node plugs in its request/response sync), so a lossy link never stalls it.

Injected, so the module knows nothing of the node: whether a commitment is signed by a leader it follows
(:data:`~harmony.p2p.coded_assembly.CommitmentResolver`), how a block's hash is computed, the leader's signer
and the fallback. The commitment names its round by hash; a sender adds the round's peers to its first batch
of a block for a peer it has not named them to within :data:`ROUND_RESEND_SECONDS`, or not on the stream
open to it now. Decoded and fetched blocks come out of :attr:`CodedBroadcast.deliveries`.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from harmony.crypto.keccak import keccak256
from harmony.p2p.coded_assembly import Assembly, CommitmentResolver, Round, commitment_key
from harmony.p2p.coding import (
    MAX_BATCH_BYTES,
    ContentHash,
    Reject,
    SignedCommitment,
    Symbol,
    SymbolBatch,
    SymbolCommitment,
    SymbolRejected,
    decode_batch,
    encode_block,
    share,
)
from harmony.p2p.errors import P2PBadRequest, P2PError
from harmony.p2p.host import P2PHost
from harmony.p2p.peer_streams import Done, PeerStreams
from harmony.p2p.sync_protocol import MAX_BLOCK_BYTES
from harmony.p2p.topics import network_prefix
from harmony.ratelimit import RateLimiter

log = logging.getLogger(__name__)

Fallback = Callable[[SymbolCommitment], Awaitable[bytes | None]]
"""Fetch a whole block by its commitment (block hash, number) from peers; None if nobody had it."""
CommitmentSigner = Callable[[bytes], tuple[bytes, bytes]]
"""The leader's signer: ``payload -> (BLS public key, BLS signature)``."""

SEND_ATTEMPTS = 3
"""Tries to open a peer's stream while it stays connected (py-libp2p gives up a stream whose protocol
negotiation is slow)."""
MAX_FRAMES_PER_STREAM = 4096
"""Batches one stream carries before the sender opens another (the receiver refuses more)."""
STREAM_IDLE_LIMIT = 60.0
"""Seconds a receiver keeps a peer's stream open without a batch."""
UNEXPECTED_PER_SECOND = 8.0
"""Batches per second a peer may send for blocks this node does not expect (:attr:`Reject.UNANNOUNCED`)
before each costs it the penalty: an honest leader or member sends a node that is behind the chain, or
whose committee view is older, four or five such batches a block."""
UNEXPECTED_BURST = 32.0
"""How many such batches a peer may send at once (a node a few blocks behind gets them together)."""
MAX_TRACKED_PEERS = 1024
"""Peers whose allowance is kept (full allowances are forgotten beyond)."""
ROUND_RESEND_SECONDS = 60.0
"""A sender names a round's peers to a peer again after this long, even if the round did not change: a
receiver that lost them (a restart, or made-up rounds pushed them out of its book of rounds named with
refused commitments) learns them within that time (until then its batches of that round are dropped and it
fetches the blocks). A receiver that was behind when they came keeps them. Receivers keep
:data:`~harmony.p2p.coded_assembly.MAX_KNOWN_ROUNDS` rounds, a block's worth at a time, so a round named
within this time is still known. Each naming is 53 bytes per member: 15 % of a 100 kB block at 16
members, paid on every block when a leader led less often than this."""
MAX_NAMED = 8192
"""(peer, round) pairs whose last naming is kept."""


def coded_protocol_id(network: str, shard_id: int) -> str:
    """The stream protocol ID of a shard's coded broadcast: ``harmony/coded/<network>/<shard>/1.0.0``."""
    network_prefix(network)
    if isinstance(shard_id, bool) or not isinstance(shard_id, int) or shard_id < 0:
        raise P2PError(f"invalid shard id {shard_id!r}")
    return f"harmony/coded/{network}/{shard_id}/1.0.0"


@dataclass(frozen=True)
class CodedConfig:
    """Settings of the coded broadcast."""

    overhead_percent: int = 30
    """Repair symbols as a percentage of ``K``: the leader uploads about ``1 + overhead`` times the block.
    A receiver decodes while it misses fewer than ``overhead / (1 + overhead)`` of the symbols."""
    max_batch_bytes: int = 128 * 1024
    """Bytes of symbols per batch at most."""
    pipeline_batches: int = 4
    """A member's share goes in about this many batches (each at least ``min_batch_bytes``), so that the
    member relays the first while the leader still sends the rest: the relay overlaps the leader's upload
    instead of following it."""
    min_batch_bytes: int = 16 * 1024
    """Bytes of symbols per batch at least: every batch repeats the signed commitment (0.4-1.1 kB for 4-16
    members), so smaller batches cost the leader's upload more than they gain."""
    send_timeout: float = 10.0
    stream_idle_seconds: float = 30.0
    """A peer's stream is closed after this long without a batch (the receiver allows ``MAX_IDLE``)."""
    decode_timeout: float = 2.0
    """Seconds from first hearing of a block until the fallback fetches it whole."""
    max_blocks: int = 8
    """Blocks being received at once; the oldest is dropped beyond."""
    debug_drop_percent: int = 0
    """Test-only: drop this share of the symbols this node receives, at random (a lossy link)."""

    def __post_init__(self) -> None:
        if not 0 <= self.debug_drop_percent <= 100:
            raise ValueError("debug_drop_percent must be in [0, 100]")
        if not 0 <= self.overhead_percent <= 300:
            raise ValueError("overhead_percent must be in [0, 300]")
        if not 1024 <= self.min_batch_bytes <= self.max_batch_bytes <= MAX_BATCH_BYTES - 4096:
            raise ValueError(
                f"min_batch_bytes and max_batch_bytes must be in [1024, {MAX_BATCH_BYTES - 4096}], in order"
            )
        if not 1 <= self.pipeline_batches <= 64:
            raise ValueError("pipeline_batches must be in [1, 64]")
        if not 0 < self.stream_idle_seconds <= STREAM_IDLE_LIMIT:
            raise ValueError(f"stream_idle_seconds must be in (0, {STREAM_IDLE_LIMIT}]")
        if self.decode_timeout <= 0 or self.send_timeout <= 0 or self.max_blocks < 1:
            raise ValueError("timeouts and max_blocks must be positive")


@dataclass(frozen=True)
class Delivery:
    """A block this node now holds."""

    commitment: SymbolCommitment
    data: bytes
    via: str
    """``"decoded"`` from symbols, or ``"fallback"`` when fetched whole."""


@dataclass
class BroadcastReport:
    """What the leader's :meth:`CodedBroadcast.broadcast` sent."""

    signed: SignedCommitment
    block_bytes: int
    uploaded_bytes: int = 0
    """Request payloads the leader sent (symbols, proofs, commitments)."""
    batches: int = 0
    failed_members: list[str] = field(default_factory=list)
    encode_seconds: float = 0.0

    @property
    def upload_ratio(self) -> float:
        """Uploaded bytes per block byte (a report figure, never a consensus value)."""
        return self.uploaded_bytes / self.block_bytes


def _symbol_cost(symbol: Symbol) -> int:
    """About the bytes a symbol takes in a batch: its data, fixed fields and proof."""
    return len(symbol.data) + 48 + 33 * len(symbol.proof)


def batch_bytes(share_bytes: int, config: CodedConfig) -> int:
    """How many bytes of a ``share_bytes`` share go in one batch: the share in
    :attr:`CodedConfig.pipeline_batches` pieces, within ``[min_batch_bytes, max_batch_bytes]``."""
    piece = -(-share_bytes // config.pipeline_batches)
    return max(config.min_batch_bytes, min(config.max_batch_bytes, piece))


def _batches(
    signed: SignedCommitment, symbols: Sequence[Symbol], config: CodedConfig, round_peers: tuple[bytes, ...]
) -> list[bytes]:
    """Split a member's share into encoded batches of at most about :func:`batch_bytes` each (at least one
    symbol); ``round_peers`` (possibly empty) go in the first."""
    costs = [_symbol_cost(symbol) for symbol in symbols]
    max_bytes = batch_bytes(sum(costs), config)
    out: list[bytes] = []
    current: list[Symbol] = []
    size = 0
    for symbol, cost in zip(symbols, costs, strict=True):
        if current and size + cost > max_bytes:
            out.append(SymbolBatch(signed, tuple(current), () if out else round_peers).encode())
            current, size = [], 0
        current.append(symbol)
        size += cost
    if current:
        out.append(SymbolBatch(signed, tuple(current), () if out else round_peers).encode())
    return out


class CodedBroadcast:
    """One node's side of the coded broadcast on one protocol ID; made by :func:`open_coded_broadcast`."""

    def __init__(
        self,
        host: P2PHost,
        protocol_id: str,
        *,
        resolve: CommitmentResolver,
        fallback: Fallback | None,
        content_hash: ContentHash,
        config: CodedConfig,
        nursery: trio.Nursery,
        guard: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self.protocol_id = protocol_id
        self._guard = guard
        """Raises (and scores the peer down) for a peer outside a fenced shard's fence (issue 21)."""
        self.fetch_protocol_id = protocol_id + "/fetch"
        self.config = config
        self._fallback = fallback if fallback is not None else self.fetch_from_round
        self._content_hash = content_hash
        self._nursery = nursery
        self.assembly = Assembly(
            host.peer_id, resolve, content_hash=content_hash, max_blocks=config.max_blocks
        )
        send, self.deliveries = trio.open_memory_channel[Delivery](4 * config.max_blocks)
        self._deliver_send = send
        self._unexpected = RateLimiter(
            UNEXPECTED_PER_SECOND, burst=UNEXPECTED_BURST, clock=trio.current_time, max_keys=MAX_TRACKED_PEERS
        )
        """Each peer's allowance of batches for blocks this node does not expect: penalizing each banned
        honest peers within 20 s; a flood past the allowance still ends in a ban."""
        self.rejections: Counter[str] = Counter()
        """Dropped batches and symbols by reason."""
        self.relayed_bytes = 0
        self.dropped_deliveries = 0
        self._random = random.Random()
        self._recent: OrderedDict[bytes, bytes] = OrderedDict()
        """The last blocks this node sent or received, by hash, served to members that fall back."""
        self._signed: OrderedDict[bytes, SignedCommitment] = OrderedDict()
        """The commitments of the last blocks this node broadcast, by content hash."""
        self._named: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        """When this node last named each round's peers (by round hash) to each peer, for the last
        :data:`MAX_NAMED` pairs: a member relays for every leader of its committee, each with its round."""
        self._streams = PeerStreams(
            host,
            protocol_id,
            nursery,
            send_timeout=config.send_timeout,
            idle_seconds=config.stream_idle_seconds,
            max_frames=MAX_FRAMES_PER_STREAM,
            attempts=SEND_ATTEMPTS,
        )
        """One long-lived stream per peer (batches of every block, in order): no batch waits for a protocol
        negotiation (a stream per batch made coded propagation slower than gossip, and flaky)."""

    # -- leader ----------------------------------------------------------------------------------------

    async def broadcast(
        self,
        data: bytes,
        *,
        shard_id: int,
        block_number: int,
        view_id: int,
        round_: Round,
        sign: CommitmentSigner,
        on_signed: Callable[[SignedCommitment], None] | None = None,
    ) -> BroadcastReport:
        """Encode ``data``, sign its commitment and send each member its share (this node leads).

        ``on_signed`` is told the signed commitment before any batch leaves (the node announces it).
        Returns when every member's batches are written or failed (a failed member is listed; the
        others still decode if the loss stays under the overhead)."""
        start = trio.current_time()
        encoded = encode_block(
            data,
            shard_id=shard_id,
            block_number=block_number,
            view_id=view_id,
            members=len(round_.members),
            overhead_percent=self.config.overhead_percent,
            content_hash=self._content_hash,
            round_hash=round_.hash(),
        )
        public_key, signature = sign(encoded.commitment.signing_payload())
        signed = SignedCommitment(encoded.commitment, public_key, signature)
        self._keep(encoded.commitment.block_hash, data)
        self._signed[encoded.commitment.block_hash] = signed
        while len(self._signed) > self.config.max_blocks:
            self._signed.popitem(last=False)
        if on_signed is not None:
            on_signed(signed)
        report = BroadcastReport(signed=signed, block_bytes=len(data))
        count = encoded.commitment.symbol_count
        per_member: list[list[bytes]] = []
        for j, member in enumerate(round_.members):
            symbols = [encoded.symbols[i] for i in share(j, len(round_.members), count)]
            per_member.append(_batches(signed, symbols, self.config, self._round_peers_for(member, round_)))
        report.encode_seconds = trio.current_time() - start
        pending: list[trio.Event] = []
        for rank in range(max(len(batches) for batches in per_member)):  # every member's first batch first
            for member, batches in zip(round_.members, per_member, strict=True):
                if rank < len(batches):
                    pending.append(trio.Event())
                    self._streams.send(member, batches[rank], self._finished(report, member, pending[-1]))
        for event in pending:
            await event.wait()
        return report

    def _round_peers_for(self, peer: str, round_: Round) -> tuple[bytes, ...]:
        """The round's peers if ``peer`` may not know them, else (): never named to it, not lately, or not
        on the stream now open to it (the frame goes on a new stream, perhaps to a restarted process)."""
        now = trio.current_time()
        key = (peer, round_.hash())
        named = self._named.get(key)
        if named is not None and now - named < ROUND_RESEND_SECONDS and self._streams.has_stream(peer):
            return ()
        self._named[key] = now
        self._named.move_to_end(key)
        while len(self._named) > MAX_NAMED:
            self._named.popitem(last=False)
        return round_.peers()

    def _finished(self, report: BroadcastReport | None, peer: str, done: trio.Event | None) -> Done:
        """What a written (or failed) batch of ``report`` to ``peer`` (None: a relayed batch) counts."""

        def finished(ok: bool, size: int) -> None:
            if ok and report is not None:
                report.uploaded_bytes += size
                report.batches += 1
            elif ok:
                self.relayed_bytes += size
            elif report is not None and peer not in report.failed_members:
                report.failed_members.append(peer)
            if done is not None:
                done.set()

        return finished

    # -- members ---------------------------------------------------------------------------------------

    def expect(self, signed: SignedCommitment) -> bool:
        """The node saw this commitment in an announce: start the fallback timer now, before any symbol
        (also when its round is not known yet: the first batch brings it, or the fallback asks around).
        Returns False (and nothing starts) if the commitment is refused or the block is done."""
        try:
            key, _, new = self.assembly.open(signed)
        except SymbolRejected as exc:
            if exc.reject is not Reject.UNKNOWN_ROUND:
                return False
            key, new = commitment_key(signed), True
        if new:
            self._nursery.start_soon(self._watch, key, signed.commitment)
        return True

    def _penalize(self, peer: str, exc: SymbolRejected) -> None:
        self.rejections[exc.reject.reason] += 1
        if exc.reject is Reject.UNANNOUNCED and self._unexpected.allow(peer):
            return  # honest peers send those to a node that is behind (see UNEXPECTED_PER_SECOND)
        if exc.reject.weight > 0:
            self.host.penalize(peer, exc.reject.reason, exc.reject.weight)

    async def handle(self, peer: str, frame: bytes) -> None:
        """The frame handler: check a batch, keep what passes, relay this node's share, deliver a decoded
        block; offences go to the peer's score. The work is synchronous and frames of one stream are
        handled in order, so batches from one peer never pile up in memory beyond the stream's window.
        A fenced shard's node drops the batches of a peer outside the fence (its guard scores it down)."""
        if self._guard is not None:
            try:
                self._guard(peer)
            except P2PError:
                return
        self._handle(peer, frame)

    def _handle(self, peer: str, request: bytes) -> None:
        try:
            batch = decode_batch(request)
            if self.config.debug_drop_percent:
                kept = [
                    x for x in batch.symbols if self._random.randrange(100) >= self.config.debug_drop_percent
                ]
                if not kept:
                    return
                batch = SymbolBatch(batch.commitment, tuple(kept), batch.round_peers)
            outcome = self.assembly.accept(peer, batch)
        except SymbolRejected as exc:
            self._penalize(peer, exc)
            return
        if outcome.new_block:
            self._nursery.start_soon(self._watch, outcome.key, batch.commitment.commitment)
        if outcome.rejected is not None and outcome.offender is not None:
            self._penalize(outcome.offender, outcome.rejected)
            if outcome.rejected.reject is Reject.DECODE_MISMATCH:
                self._nursery.start_soon(self._fetch, outcome.key, batch.commitment.commitment)
        if outcome.relay and outcome.accepted:
            self._relay(request, batch, outcome.accepted, outcome.round)
        if outcome.block is not None:
            self._deliver(Delivery(batch.commitment.commitment, outcome.block, "decoded"))

    def _relay(self, request: bytes, batch: SymbolBatch, accepted: list[Symbol], round_: Round) -> None:
        """Send this node's accepted share to every other member, naming the round to those that may not
        know it (the leader's bytes go as they came when they fit)."""
        bare = request if len(accepted) == len(batch.symbols) and not batch.round_peers else None
        named: bytes | None = None
        for member in round_.members:
            if member == self.host.peer_id:
                continue
            peers = self._round_peers_for(member, round_)
            if peers:
                if named is None:
                    named = SymbolBatch(batch.commitment, tuple(accepted), peers).encode()
                payload = named
            else:
                if bare is None:
                    bare = SymbolBatch(batch.commitment, tuple(accepted)).encode()
                payload = bare
            self._streams.send(member, payload, self._finished(None, member, None))

    def _keep(self, block_hash: bytes, data: bytes) -> None:
        self._recent[block_hash] = data
        self._recent.move_to_end(block_hash)
        while len(self._recent) > 4 * self.config.max_blocks:
            self._recent.popitem(last=False)

    def recent_signed(self, data: bytes) -> SignedCommitment | None:
        """The signed commitment of a block this node broadcast lately (sending it again is pointless)."""
        return self._signed.get(self._content_hash(data))

    def recent(self, block_hash: bytes) -> bytes | None:
        """A block this node sent or received lately, by hash."""
        return self._recent.get(block_hash)

    async def serve_fetch(self, peer: str, request: bytes) -> bytes:
        """The fetch handler: a recent block by its 32-byte hash, or an empty answer; a fenced shard's node
        refuses a peer outside the fence (its guard raises and scores it down)."""
        if self._guard is not None:
            self._guard(peer)
        if len(request) != 32:
            raise P2PBadRequest("a coded fetch is one 32-byte block hash")
        return self._recent.get(request, b"")

    async def fetch_from_round(self, commitment: SymbolCommitment) -> bytes | None:
        """The default fallback: ask the block's leader, then up to three members, for the block by hash
        (over the fetch protocol); four connected peers if the round is not known (this node is none of
        its members); None if none had it."""
        round_ = self.assembly.known_round(commitment.round_hash)
        if round_ is not None:
            peers = [round_.leader, *[m for m in round_.members if m != self.host.peer_id][:3]]
        else:
            connected = self.host.connected_peers()
            peers = self._random.sample(connected, min(4, len(connected)))
        for peer in peers:
            try:
                data = await self.host.request(
                    peer,
                    self.fetch_protocol_id,
                    commitment.block_hash,
                    timeout=self.config.send_timeout,
                    max_response_bytes=commitment.block_length,
                )
            except P2PError as exc:
                log.debug("coded fetch from %s: %r", peer, exc)
                continue
            if data:
                return data
        return None

    def _deliver(self, delivery: Delivery) -> None:
        self._keep(delivery.commitment.block_hash, delivery.data)
        try:
            self._deliver_send.send_nowait(delivery)
        except trio.WouldBlock:
            self.dropped_deliveries += 1
            log.warning("coded broadcast: delivery of block %s dropped, reader too slow", delivery.commitment)

    async def _watch(self, key: bytes, commitment: SymbolCommitment) -> None:
        """Fall back to fetching the block whole if it is not decoded within ``decode_timeout``."""
        await trio.sleep(self.config.decode_timeout)
        if not self.assembly.is_done(key):
            await self._fetch(key, commitment)

    async def _fetch(self, key: bytes, commitment: SymbolCommitment) -> None:
        self.assembly.finish(key)
        try:
            data = await self._fallback(commitment)
        except Exception as exc:
            log.info("coded broadcast fallback for block %d failed: %r", commitment.block_number, exc)
            return
        if data is None:
            return
        try:
            ok = len(data) == commitment.block_length and self._content_hash(data) == commitment.block_hash
        except Exception:
            ok = False
        if not ok:
            log.warning("coded broadcast fallback returned a block of another hash; dropped")
            return
        self._deliver(Delivery(commitment, data, "fallback"))


@asynccontextmanager
async def open_coded_broadcast(
    host: P2PHost,
    protocol_id: str,
    *,
    resolve: CommitmentResolver,
    fallback: Fallback | None = None,
    content_hash: ContentHash = keccak256,
    config: CodedConfig | None = None,
    guard: Callable[[str], None] | None = None,
) -> AsyncIterator[CodedBroadcast]:
    """Serve the coded broadcast on ``protocol_id`` of ``host`` (and its fetch protocol, ``/fetch``
    appended) until the block exits. Without a ``fallback``, a member that cannot decode asks the round
    (:meth:`CodedBroadcast.fetch_from_round`). ``guard(peer_id)`` (a fenced shard's
    :meth:`harmony.p2p.fence_gate.FenceGate.guard`) refuses a peer's fetches and drops its symbols."""
    cfg = config or CodedConfig()
    async with trio.open_nursery() as nursery:
        coded = CodedBroadcast(
            host,
            protocol_id,
            resolve=resolve,
            fallback=fallback,
            content_hash=content_hash,
            config=cfg,
            nursery=nursery,
            guard=guard,
        )
        host.set_frames_handler(
            protocol_id,
            coded.handle,
            max_frame_bytes=MAX_BATCH_BYTES,
            max_frames=MAX_FRAMES_PER_STREAM,
            idle_timeout=STREAM_IDLE_LIMIT,
        )
        host.set_request_handler(
            coded.fetch_protocol_id,
            coded.serve_fetch,
            max_request_bytes=32,
            max_response_bytes=MAX_BLOCK_BYTES,
        )
        try:
            yield coded
        finally:
            nursery.cancel_scope.cancel()
