"""A fenced gossip topic (issue 21; ``docs/design/fenced-shards.md``): its messages go only to, and are
taken only from, peers that the topic's guard admits (for a fenced shard, peers that showed a fence ticket).

GossipSub has no per-peer filter, so this module wraps the two places every message passes in py-libp2p
0.8.1's ``Pubsub``:

- **out**: ``write_msg(stream, rpc)`` writes every RPC to a peer (the per-peer send loop, the pending-queue
  flush, the replay to a new subscriber). Before it, :func:`strip_refused` removes the published messages
  of a guarded topic and the ``IHAVE`` announcements of its message IDs when the peer is not admitted, so
  neither a mesh push, a fanout publish, an ``IWANT`` answer nor gossip carries the topic's data to it;
- **in**: ``push_msg(forwarder, msg)`` takes every message a peer forwards, before GossipSub's seen-cache
  and validation. A message on a guarded topic from a peer not admitted is dropped there and reported
  (the host scores the peer down), and, since it never reaches the seen-cache, it cannot shadow the same
  message forwarded later by a member. (A topic validator would not do: py-libp2p caches its verdict by
  message ID, so an outsider relaying a member's message first would have it refused for everyone.)

The topic's subscription and control messages (``SUBSCRIBE``, ``GRAFT``, ``PRUNE``, ``IDONTWANT``) still
flow: they reveal that a node is on the topic and message IDs, not the shard's data (the design note's
metadata limit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

MayExchange = Callable[[str, str], bool]
"""``may_exchange(topic, peer_id)``: whether the topic's messages may go to / come from the peer."""


def strip_refused(rpc: rpc_pb2.RPC, allowed: Callable[[str], bool]) -> rpc_pb2.RPC | None:
    """``rpc`` without the messages and ``IHAVE`` entries of topics ``allowed`` refuses; the same object
    when nothing is refused, ``None`` when nothing is left to send."""
    refused_publish = [m for m in rpc.publish if not all(allowed(t) for t in m.topicIDs)]
    refused_ihave = (
        [h for h in rpc.control.ihave if not allowed(h.topicID)] if rpc.HasField("control") else []
    )
    if not refused_publish and not refused_ihave:
        return rpc
    kept = rpc_pb2.RPC()
    kept.CopyFrom(rpc)
    del kept.publish[:]
    kept.publish.extend(m for m in rpc.publish if all(allowed(t) for t in m.topicIDs))
    if refused_ihave:
        del kept.control.ihave[:]
        kept.control.ihave.extend(h for h in rpc.control.ihave if allowed(h.topicID))
        if kept.control.ByteSize() == 0:
            kept.ClearField("control")
    return kept if kept.ByteSize() > 0 else None


def fence_pubsub(pubsub: Any, may_exchange: MayExchange, on_refused: Callable[[str, str], None]) -> None:
    """Wrap ``pubsub``'s ``write_msg`` and ``push_msg`` so guarded topics' messages are exchanged only
    with peers ``may_exchange`` admits; ``on_refused(peer_id, topic)`` hears of each message refused from a
    peer (module docstring). Idempotent."""
    if getattr(pubsub.write_msg, "_harmony_fence", False):
        return
    write = pubsub.write_msg
    push = pubsub.push_msg
    my_id: ID = pubsub.my_id

    async def fenced_write(stream: Any, rpc: rpc_pb2.RPC) -> bool:
        peer = stream.muxed_conn.peer_id.to_base58()
        kept = strip_refused(rpc, lambda topic: may_exchange(topic, peer))
        if kept is None:
            return True
        ok: bool = await write(stream, kept)
        return ok

    async def fenced_push(forwarder: ID, msg: rpc_pb2.Message) -> None:
        if forwarder != my_id:
            peer = forwarder.to_base58()
            refused = next((t for t in msg.topicIDs if not may_exchange(t, peer)), None)
            if refused is not None:
                on_refused(peer, refused)
                return
        await push(forwarder, msg)

    fenced_write._harmony_fence = True  # type: ignore[attr-defined]
    setattr(pubsub, "write_msg", fenced_write)  # noqa: B010 (a deliberate patch)
    setattr(pubsub, "push_msg", fenced_push)  # noqa: B010 (a deliberate patch)


__all__ = ["MayExchange", "fence_pubsub", "strip_refused"]
