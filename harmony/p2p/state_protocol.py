"""The state sync wire protocol (issue 18 item 2), beside the block sync protocol and in the same compact RLP.

Requests, one per stream, ``rlp([kind, [items…]])``:

* ``GET_EPOCH_HEADERS`` (at most :data:`MAX_EPOCHS` epoch numbers) → ``rlp([[header, commit_sig, bitmap],
  …])``: for each asked epoch, the last block's header of that epoch on the server's shard (for the beacon
  chain, the header that elects the next committees) with the commit aggregate that finalized it; the
  longest prefix of the asked epochs the server has (so it may be shorter, never longer);
* ``GET_STATE_NODES`` (at most :data:`MAX_NODES` 32-byte hashes) → ``rlp([blob_or_empty, …])``: the trie node
  or code blob stored under each hash, empty bytes for one the server does not have (pruned, or never
  had); the server stops adding blobs past :data:`NODES_BUDGET` bytes, so the answer may be shorter.

Both sides bound sizes before decoding and check the shape; a server answers garbage requests with a
bad-request frame (the peer is penalized), a client penalizes a server that answers garbage, over the cap, or
more items than asked. Whether a header's quorum verifies and a blob hashes to what was asked is the node's
check (:mod:`harmony.node.epoch_chain`, :mod:`harmony.state.sync_walk`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

from harmony.encoding import rlp
from harmony.errors import RLPError
from harmony.p2p.errors import P2PBadRequest, P2PBadResponse
from harmony.p2p.host import P2PHost
from harmony.p2p.sync_protocol import (
    COMMIT_SIG_BYTES,
    MAX_BITMAP_BYTES,
    MAX_BLOCK_NUMBER_BITS,
    decode_envelope,
    decode_numbers,
    decode_triples,
    serve_guarded,
)

GET_EPOCH_HEADERS = 1
GET_STATE_NODES = 2

MAX_EPOCHS = 8
"""Cap on epochs in one GetEpochHeaders request."""
MAX_HEADER_BYTES = 256 * 1024
"""Largest encoded header accepted: an epoch's last header carries the next shard state (a committee of
1,000 seats is about 100 KB)."""
MAX_NODES = 384
"""Cap on hashes in one GetStateNodes request."""
MAX_NODE_BYTES = 1024 * 1024
"""Largest blob accepted: trie nodes are under 600 bytes; code (24 KB by EIP-170) and validator records
(which grow with their delegations) are the large ones."""
NODES_BUDGET = 1024 * 1024
"""Bytes of blobs after which a server stops adding to an answer (one blob may take it past)."""
MAX_REQUEST_BYTES = 16 + MAX_NODES * 33
MAX_HEADERS_RESPONSE_BYTES = 16 + MAX_EPOCHS * (MAX_HEADER_BYTES + COMMIT_SIG_BYTES + MAX_BITMAP_BYTES + 16)
MAX_NODES_RESPONSE_BYTES = 16 + NODES_BUDGET + MAX_NODE_BYTES + MAX_NODES * 4
_CAPS = {GET_EPOCH_HEADERS: MAX_EPOCHS, GET_STATE_NODES: MAX_NODES}


class StateSource(Protocol):
    """What a node provides to serve state sync."""

    def epoch_header(self, epoch: int) -> tuple[bytes, bytes, bytes] | None:
        """``(header RLP, commit signature, commit bitmap)`` of the last block of ``epoch``, or None."""
        ...

    def state_blob(self, node_hash: bytes) -> bytes | None:
        """The trie node or code stored under ``node_hash``, or None."""
        ...


def _check_item(kind: int, item: int | bytes) -> None:
    if kind == GET_EPOCH_HEADERS:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < 1 << MAX_BLOCK_NUMBER_BITS:
            raise ValueError(f"invalid epoch {item!r}")
    elif not isinstance(item, bytes) or len(item) != 32:
        raise ValueError(f"a state node is asked by its 32-byte hash, got {item!r}")


def encode_request(kind: int, items: Sequence[int] | Sequence[bytes]) -> bytes:
    """Encode a state sync request; refuses unknown kinds, counts above the caps and malformed items."""
    cap = _CAPS.get(kind)
    if cap is None:
        raise ValueError(f"unknown state request kind {kind}")
    if len(items) > cap:
        raise ValueError(f"at most {cap} items per request of kind {kind}, got {len(items)}")
    encoded: list[rlp.Item] = []
    for item in items:
        _check_item(kind, item)
        encoded.append(rlp.encode_uint(item) if isinstance(item, int) else item)
    return rlp.encode([rlp.encode_uint(kind), encoded])


def decode_request(data: bytes) -> tuple[int, list[int] | list[bytes]]:
    """Decode and shape-check a state request; raises :class:`P2PBadRequest` naming what is wrong."""
    kind, raws = decode_envelope(data, "state", _CAPS, MAX_REQUEST_BYTES)
    if kind == GET_EPOCH_HEADERS:
        return kind, decode_numbers(raws, "state", "epoch")
    if any(len(h) != 32 for h in raws):
        raise P2PBadRequest("state request: a node hash is not 32 bytes")
    return kind, raws


def answer(source: StateSource, kind: int, items: Sequence[int] | Sequence[bytes]) -> bytes:
    """The server's answer to a decoded request (module docstring)."""
    out: list[rlp.Item] = []
    if kind == GET_EPOCH_HEADERS:
        size = 0
        for epoch in items:
            assert isinstance(epoch, int)
            found = source.epoch_header(epoch)
            if found is None or len(found[0]) > MAX_HEADER_BYTES:
                break
            size += len(found[0])
            if size > MAX_HEADERS_RESPONSE_BYTES - MAX_EPOCHS * (COMMIT_SIG_BYTES + MAX_BITMAP_BYTES + 16):
                break
            out.append(list(found))
        return rlp.encode(out)
    size = 0
    for node_hash in items:
        assert isinstance(node_hash, bytes)
        if size >= NODES_BUDGET:
            break
        blob = source.state_blob(node_hash)
        if blob is None or len(blob) > MAX_NODE_BYTES:
            blob = b""
        size += len(blob)
        out.append(blob)
    return rlp.encode(out)


def respond(source: StateSource, request: bytes) -> bytes:
    """A state request decoded and answered from ``source``."""
    return answer(source, *decode_request(request))


def serve_state(
    host: P2PHost, protocol_id: str, source: StateSource, *, guard: Callable[[str], None] | None = None
) -> None:
    """Register the state request handler for ``protocol_id`` on ``host`` (behind ``guard``, if given)."""
    largest = max(MAX_HEADERS_RESPONSE_BYTES, MAX_NODES_RESPONSE_BYTES)
    serve_guarded(host, protocol_id, partial(respond, source), guard, limits=(MAX_REQUEST_BYTES, largest))


def decode_headers_response(data: bytes, asked: int) -> list[tuple[bytes, bytes, bytes]]:
    """Decode a GetEpochHeaders answer for ``asked`` epochs; raises :class:`P2PBadResponse`."""
    return decode_triples(
        data, asked, what="epoch headers", max_size=MAX_HEADERS_RESPONSE_BYTES, max_item=MAX_HEADER_BYTES
    )


def decode_nodes_response(data: bytes, asked: int) -> list[bytes]:
    """Decode a GetStateNodes answer for ``asked`` hashes (empty entries: not held); raises
    :class:`P2PBadResponse`."""
    try:
        item = rlp.decode(data, max_size=MAX_NODES_RESPONSE_BYTES, max_depth=1)
    except RLPError as exc:
        raise P2PBadResponse(f"state nodes answer: {exc}") from exc
    if not isinstance(item, list) or len(item) > asked:
        raise P2PBadResponse(f"state nodes answer: expected a list of at most {asked} blobs")
    out: list[bytes] = []
    for entry in item:
        if not isinstance(entry, bytes) or len(entry) > MAX_NODE_BYTES:
            raise P2PBadResponse(
                f"state nodes answer: each entry must be a blob of at most {MAX_NODE_BYTES} bytes"
            )
        out.append(entry)
    return out


class StateClient:
    """Ask peers for epoch-ending headers and state nodes (module docstring)."""

    def __init__(self, host: P2PHost, *, timeout: float = 10.0) -> None:
        self.host = host
        self.timeout = timeout

    async def _ask(self, peer_id: str, protocol_id: str, request: bytes, cap: int) -> bytes:
        return await self.host.request(
            peer_id, protocol_id, request, timeout=self.timeout, max_response_bytes=cap
        )

    async def epoch_headers(
        self, peer_id: str, protocol_id: str, epochs: Sequence[int]
    ) -> list[tuple[bytes, bytes, bytes]]:
        """``(header RLP, commit signature, bitmap)`` of the last block of each epoch, for the longest prefix
        of ``epochs`` the peer has, on the shard of ``protocol_id``; at most :data:`MAX_EPOCHS` epochs."""
        request = encode_request(GET_EPOCH_HEADERS, epochs)
        data = await self._ask(peer_id, protocol_id, request, MAX_HEADERS_RESPONSE_BYTES)
        try:
            return decode_headers_response(data, len(epochs))
        except P2PBadResponse:
            self.host.penalize(peer_id, "bad_state_response")
            raise

    async def state_nodes(self, peer_id: str, protocol_id: str, hashes: Sequence[bytes]) -> list[bytes]:
        """The blobs stored under ``hashes`` (empty where the peer has none), for a prefix of ``hashes``; at
        most :data:`MAX_NODES` hashes. Whether each blob hashes right is the caller's check."""
        request = encode_request(GET_STATE_NODES, hashes)
        data = await self._ask(peer_id, protocol_id, request, MAX_NODES_RESPONSE_BYTES)
        try:
            return decode_nodes_response(data, len(hashes))
        except P2PBadResponse:
            self.host.penalize(peer_id, "bad_state_response")
            raise
