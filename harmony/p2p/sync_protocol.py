"""The block sync wire protocol (harmony-reference.md §8.5), in our own compact RLP.

Requests, one per stream, ``rlp([kind, [numbers…]])``:

* ``GET_BLOCK_NUMBER`` (no numbers) → ``rlp([head, lowest])``: the server holds every block from ``lowest``
  to ``head`` (a pruning node expires older ones, :mod:`harmony.storage.prune`); an answer without
  ``lowest`` means 1;
* ``GET_BLOCK_HASHES`` (at most :data:`MAX_HASHES` numbers) → ``rlp([hash_or_empty, …])``, one 32-byte
  hash per asked number, empty bytes for a number the server does not have;
* ``GET_BLOCKS_BY_NUMBER`` (at most :data:`MAX_BLOCKS` numbers) → ``rlp([[block, commit_sig, bitmap], …])``
  for the longest prefix of the asked numbers the server has whose answer fits in
  :data:`MAX_ANSWER_BYTES` (so it may be shorter, never longer). A shorter answer is honest only when the
  server lacks the next block or the next entry would not have fitted (:func:`cut_by_size` tells).

Both sides bound sizes before decoding and check the shape; a server answers garbage requests with a bad-
request frame (the peer is penalized), a client penalizes a server that answers garbage or more items than
asked. Checking the blocks and their commit signatures is the node's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import NamedTuple, Protocol

from harmony.encoding import rlp
from harmony.errors import RLPError
from harmony.p2p.errors import P2PBadRequest, P2PBadResponse
from harmony.p2p.host import P2PHost

GET_BLOCK_NUMBER = 1
GET_BLOCK_HASHES = 2
GET_BLOCKS_BY_NUMBER = 3

MAX_HASHES = 50
"""Cap on numbers in one GetBlockHashes request (reference §8.5)."""
MAX_BLOCKS = 128
"""Cap on numbers in one GetBlocksByNumber request. Harmony's is 10 (reference §8.5); ours is larger so
that a node far behind asks for an empty stretch in a few round trips (each costs a stream), while the
answer's size stays bounded by :data:`MAX_ANSWER_BYTES` however large the blocks."""
MAX_BLOCK_BYTES = 2 * 1024 * 1024
"""Largest encoded block accepted in a sync answer (the gossip cap, reference §8.3)."""
COMMIT_SIG_BYTES = 96
MAX_BITMAP_BYTES = 1024
"""A commit bitmap has one bit per committee slot; 8,192 slots is far above any committee."""
ENTRY_OVERHEAD = 16
"""Bytes of RLP prefixes around one ``[block, signature, bitmap]`` entry at most (four prefixes of a few
bytes each)."""
MAX_ENTRY_BYTES = MAX_BLOCK_BYTES + COMMIT_SIG_BYTES + MAX_BITMAP_BYTES + ENTRY_OVERHEAD
"""Largest encoded entry of a blocks answer."""
MAX_ANSWER_BYTES = 4 * MAX_BLOCK_BYTES
"""Largest blocks answer a server sends and a client reads: the server stops before the entry that would
pass it, the client's host refuses a longer one unread. At least one entry of the largest block fits."""
MAX_REQUEST_BYTES = 1024
MAX_HEAD_RESPONSE_BYTES = 64
MAX_HASHES_RESPONSE_BYTES = 8 + MAX_HASHES * 34
MAX_BLOCKS_RESPONSE_BYTES = MAX_ANSWER_BYTES
MAX_BLOCK_NUMBER_BITS = 64
_CAPS = {GET_BLOCK_NUMBER: 0, GET_BLOCK_HASHES: MAX_HASHES, GET_BLOCKS_BY_NUMBER: MAX_BLOCKS}
"""Block numbers a request of each kind may carry."""


class PeerHead(NamedTuple):
    """A GetBlockNumber answer: the peer's head, and the lowest number from which it holds every block."""

    number: int
    lowest: int


class SyncSource(Protocol):
    """What a node provides to serve sync."""

    def head_number(self) -> int:
        """Number of the current canonical head block."""
        ...

    def lowest_number(self) -> int:
        """The lowest number from which every block up to the head is served (at least 1)."""
        ...

    def canonical_hash(self, number: int) -> bytes | None:
        """Hash of the canonical block at ``number``, or None."""
        ...

    def block_with_commit(self, number: int) -> tuple[bytes, bytes, bytes] | None:
        """``(Block.encode(), commit signature, commit bitmap)`` of the canonical block, or None."""
        ...


def encode_request(kind: int, numbers: Sequence[int] = ()) -> bytes:
    """Encode a sync request; refuses counts above the caps before anything is sent."""
    cap = _CAPS.get(kind)
    if cap is None:
        raise ValueError(f"unknown sync request kind {kind}")
    if len(numbers) > cap:
        raise ValueError(f"at most {cap} numbers per request of kind {kind}, got {len(numbers)}")
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 1 << 64:
            raise ValueError(f"invalid block number {number!r}")
    return rlp.encode([rlp.encode_uint(kind), [rlp.encode_uint(n) for n in numbers]])


def decode_envelope(
    data: bytes, what: str, caps: Mapping[int, int], max_size: int
) -> tuple[int, list[bytes]]:
    """The ``[kind, items]`` envelope both request protocols use (this one and
    :mod:`harmony.p2p.state_protocol`): at most ``max_size`` bytes, a kind ``caps`` knows, at most its cap of
    items, each a byte string; :class:`P2PBadRequest` naming the ``what`` request and what is wrong."""
    try:
        item = rlp.decode(data, max_size=max_size, max_depth=2)
        if not isinstance(item, list) or len(item) != 2:
            raise P2PBadRequest(f"{what} request: expected [kind, items]")
        raw_kind, raw_items = item
        if not isinstance(raw_kind, bytes) or not isinstance(raw_items, list):
            raise P2PBadRequest(f"{what} request: expected [kind, items]")
        kind = rlp.decode_uint(raw_kind, bits=8, field="kind")
    except RLPError as exc:
        raise P2PBadRequest(f"{what} request: {exc}") from exc
    cap = caps.get(kind)
    if cap is None:
        raise P2PBadRequest(f"{what} request: unknown kind {kind}")
    if len(raw_items) > cap:
        raise P2PBadRequest(f"{what} request: {len(raw_items)} items, at most {cap} allowed")
    raws = [raw for raw in raw_items if isinstance(raw, bytes)]
    if len(raws) != len(raw_items):
        raise P2PBadRequest(f"{what} request: an item is a list")
    return kind, raws


def decode_numbers(raws: Sequence[bytes], what: str, field: str) -> list[int]:
    """Block numbers or epochs (at most 64 bits each) of a ``what`` request's items."""
    try:
        return [rlp.decode_uint(raw, bits=MAX_BLOCK_NUMBER_BITS, field=field) for raw in raws]
    except RLPError as exc:
        raise P2PBadRequest(f"{what} request: {exc}") from exc


def decode_request(data: bytes) -> tuple[int, list[int]]:
    """Decode and shape-check a sync request; raises :class:`P2PBadRequest` on anything malformed."""
    kind, raws = decode_envelope(data, "sync", _CAPS, MAX_REQUEST_BYTES)
    return kind, decode_numbers(raws, "sync", "number")


def answer(source: SyncSource, kind: int, numbers: Sequence[int]) -> bytes:
    """The server's answer to a decoded request (reference §8.5)."""
    if kind == GET_BLOCK_NUMBER:
        head = source.head_number()
        return rlp.encode([rlp.encode_uint(head), rlp.encode_uint(max(1, min(head, source.lowest_number())))])
    if kind == GET_BLOCK_HASHES:
        return rlp.encode([source.canonical_hash(n) or b"" for n in numbers])
    entries: list[bytes] = []
    size = 9  # the list's own prefix, at most
    for number in numbers:
        found = source.block_with_commit(number)
        if found is None:
            break
        entry = rlp.encode(list(found))
        if size + len(entry) > MAX_ANSWER_BYTES:
            break
        entries.append(entry)
        size += len(entry)
    return rlp.encode_list_of_encoded(entries)


def cut_by_size(items: Sequence[tuple[bytes, bytes, bytes]]) -> bool:
    """Whether a blocks answer holding ``items`` may have stopped short because the next entry would not
    have fitted in :data:`MAX_ANSWER_BYTES` (:func:`answer`'s rule, bounded from above here): then a
    shorter answer than asked is no sign that the server lacks the next block."""
    sent = 9 + sum(len(block) + len(sig) + len(bitmap) + ENTRY_OVERHEAD for block, sig, bitmap in items)
    return sent + MAX_ENTRY_BYTES > MAX_ANSWER_BYTES


def serve_guarded(
    host: P2PHost,
    protocol_id: str,
    respond: Callable[[bytes], bytes],
    guard: Callable[[str], None] | None,
    *,
    limits: tuple[int, int],
) -> None:
    """Serve ``protocol_id`` with ``respond(request)`` (which decodes, raising :class:`P2PBadRequest` on
    garbage, and answers), requests and answers bounded by ``limits`` (bytes of each); ``guard(peer_id)``
    runs first and refuses a peer by raising (a fenced shard's
    :meth:`harmony.p2p.fence_gate.FenceGate.guard`)."""

    async def handler(peer_id: str, request: bytes) -> bytes:
        if guard is not None:
            guard(peer_id)
        return respond(request)

    max_request_bytes, max_response_bytes = limits
    host.set_request_handler(
        protocol_id, handler, max_request_bytes=max_request_bytes, max_response_bytes=max_response_bytes
    )


def respond(source: SyncSource, request: bytes) -> bytes:
    """A sync request decoded and answered from ``source``."""
    return answer(source, *decode_request(request))


def serve_sync(
    host: P2PHost, protocol_id: str, source: SyncSource, *, guard: Callable[[str], None] | None = None
) -> None:
    """Register the sync request handler for ``protocol_id`` on ``host`` (behind ``guard``, if given)."""
    serve_guarded(
        host,
        protocol_id,
        partial(respond, source),
        guard,
        limits=(MAX_REQUEST_BYTES, MAX_BLOCKS_RESPONSE_BYTES),
    )


def decode_head_response(data: bytes) -> PeerHead:
    """Decode a GetBlockNumber answer, ``[head]`` or ``[head, lowest]`` with ``1 <= lowest <= head`` (or
    ``lowest == 1`` at genesis); raises :class:`P2PBadResponse`."""
    try:
        item = rlp.decode(data, max_size=MAX_HEAD_RESPONSE_BYTES, max_depth=1)
        raws = [raw for raw in item if isinstance(raw, bytes)] if isinstance(item, list) else []
        if not isinstance(item, list) or len(raws) != len(item) or len(raws) not in (1, 2):
            raise P2PBadResponse("head answer: expected [number, lowest]")
        numbers = [rlp.decode_uint(raw, bits=MAX_BLOCK_NUMBER_BITS, field="head") for raw in raws]
    except RLPError as exc:
        raise P2PBadResponse(f"head answer: {exc}") from exc
    head, lowest = numbers[0], numbers[1] if len(numbers) == 2 else 1
    if not 1 <= lowest <= max(1, head):
        raise P2PBadResponse(f"head answer: lowest block {lowest} outside 1..{head}")
    return PeerHead(head, lowest)


def decode_hashes_response(data: bytes, asked: int) -> list[bytes | None]:
    """Decode a GetBlockHashes answer for ``asked`` numbers; raises :class:`P2PBadResponse`."""
    try:
        item = rlp.decode(data, max_size=MAX_HASHES_RESPONSE_BYTES, max_depth=1)
    except RLPError as exc:
        raise P2PBadResponse(f"hashes answer: {exc}") from exc
    if not isinstance(item, list) or len(item) != asked:
        raise P2PBadResponse(f"hashes answer: expected a list of {asked} hashes")
    out: list[bytes | None] = []
    for entry in item:
        if not isinstance(entry, bytes) or len(entry) not in (0, 32):
            raise P2PBadResponse("hashes answer: each entry must be 32 bytes or empty")
        out.append(entry or None)
    return out


def decode_triples(
    data: bytes, asked: int, *, what: str, max_size: int, max_item: int
) -> list[tuple[bytes, bytes, bytes]]:
    """Decode an answer of at most ``asked`` ``[item, commit signature, bitmap]`` entries (a block or an
    epoch's header with the aggregate that finalized it), each bounded; raises :class:`P2PBadResponse`
    naming ``what`` it was."""
    try:
        item = rlp.decode(data, max_size=max_size, max_depth=2)
    except RLPError as exc:
        raise P2PBadResponse(f"{what} answer: {exc}") from exc
    if not isinstance(item, list) or len(item) > asked:
        raise P2PBadResponse(f"{what} answer: expected a list of at most {asked} entries")
    out = []
    for entry in item:
        if not isinstance(entry, list) or len(entry) != 3 or not all(isinstance(x, bytes) for x in entry):
            raise P2PBadResponse(f"{what} answer: each entry must be [item, signature, bitmap]")
        first, sig, bitmap = entry
        assert isinstance(first, bytes) and isinstance(sig, bytes) and isinstance(bitmap, bytes)
        if not 0 < len(first) <= max_item:
            raise P2PBadResponse(f"{what} answer: an entry of {len(first)} bytes")
        if len(sig) != COMMIT_SIG_BYTES:
            raise P2PBadResponse(f"{what} answer: commit signature of {len(sig)} bytes, expected 96")
        if not 0 < len(bitmap) <= MAX_BITMAP_BYTES:
            raise P2PBadResponse(f"{what} answer: commit bitmap of {len(bitmap)} bytes")
        out.append((first, sig, bitmap))
    return out


def decode_blocks_response(data: bytes, asked: int) -> list[tuple[bytes, bytes, bytes]]:
    """Decode a GetBlocksByNumber answer for ``asked`` numbers; raises :class:`P2PBadResponse`."""
    return decode_triples(
        data, asked, what="blocks", max_size=MAX_BLOCKS_RESPONSE_BYTES, max_item=MAX_BLOCK_BYTES
    )


class SyncClient:
    """Ask peers for their head, block hashes and blocks (reference §8.5)."""

    def __init__(self, host: P2PHost, protocol_id: str, *, timeout: float = 10.0) -> None:
        self.host = host
        self.protocol_id = protocol_id
        self.timeout = timeout

    async def _ask(self, peer_id: str, request: bytes, max_response_bytes: int) -> bytes:
        return await self.host.request(
            peer_id, self.protocol_id, request, timeout=self.timeout, max_response_bytes=max_response_bytes
        )

    def _garbage(self, peer_id: str, exc: P2PBadResponse) -> P2PBadResponse:
        self.host.penalize(peer_id, "bad_sync_response")
        return exc

    async def head(self, peer_id: str) -> PeerHead:
        """The peer's head block number, and the lowest from which it serves every block."""
        data = await self._ask(peer_id, encode_request(GET_BLOCK_NUMBER), MAX_HEAD_RESPONSE_BYTES)
        try:
            return decode_head_response(data)
        except P2PBadResponse as exc:
            raise self._garbage(peer_id, exc) from None

    async def block_hashes(self, peer_id: str, numbers: Sequence[int]) -> list[bytes | None]:
        """The peer's canonical hashes at ``numbers`` (None where it has no block); at most 50 numbers."""
        request = encode_request(GET_BLOCK_HASHES, numbers)
        data = await self._ask(peer_id, request, MAX_HASHES_RESPONSE_BYTES)
        try:
            return decode_hashes_response(data, len(numbers))
        except P2PBadResponse as exc:
            raise self._garbage(peer_id, exc) from None

    async def blocks(self, peer_id: str, numbers: Sequence[int]) -> list[tuple[bytes, bytes, bytes]]:
        """``(block RLP, commit signature, bitmap)`` for the longest prefix of ``numbers`` the peer has
        that fits in :data:`MAX_ANSWER_BYTES` (:func:`cut_by_size`); at most :data:`MAX_BLOCKS` numbers."""
        request = encode_request(GET_BLOCKS_BY_NUMBER, numbers)
        data = await self._ask(peer_id, request, MAX_BLOCKS_RESPONSE_BYTES)
        try:
            return decode_blocks_response(data, len(numbers))
        except P2PBadResponse as exc:
            raise self._garbage(peer_id, exc) from None
