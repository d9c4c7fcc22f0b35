"""Raise py-libp2p's hard-coded GossipSub queue limits (design.md §4).

py-libp2p 0.8.1 gives each peer an outbound RPC queue of 32 entries and splits RPCs at 1 MiB, both as
default arguments of ``RpcQueue`` that ``Pubsub`` calls without arguments. A burst of consensus messages
overflows 32 entries at once (measured: 32 of 300 delivered), and a 2 MiB block cannot be sent at all.
The only seam is the name ``RpcQueue`` in ``libp2p.pubsub.pubsub``, so we replace it with a subclass whose
defaults are ours. The change is process-wide and only ever raises the limits.
"""

from __future__ import annotations

import libp2p.pubsub.pubsub as _pubsub_module
from libp2p.pubsub.rpc_queue import RpcQueue

RPC_OVERHEAD_BYTES = 64 * 1024
"""Room for the protobuf envelope, signature, key and control messages around one message's data."""


class _HarmonyRpcQueue(RpcQueue):
    queue_size = 32
    message_size = 1024 * 1024

    def __init__(self, max_size: int | None = None, max_message_size: int | None = None) -> None:
        super().__init__(
            max_size if max_size is not None else self.queue_size,
            max_message_size if max_message_size is not None else self.message_size,
        )


def raise_gossip_queue_limits(queue_size: int, max_message_bytes: int) -> None:
    """Make every GossipSub peer queue created from now on hold at least ``queue_size`` RPCs and carry
    messages of ``max_message_bytes`` (plus envelope)."""
    _HarmonyRpcQueue.queue_size = max(_HarmonyRpcQueue.queue_size, queue_size)
    _HarmonyRpcQueue.message_size = max(_HarmonyRpcQueue.message_size, max_message_bytes + RPC_OVERHEAD_BYTES)
    if getattr(_pubsub_module, "RpcQueue", None) is not _HarmonyRpcQueue:
        setattr(_pubsub_module, "RpcQueue", _HarmonyRpcQueue)  # noqa: B010 (a deliberate patch)


def disable_auto_connector(network: object) -> None:
    """Stop py-libp2p's AutoConnector from dialing every peer in the peerstore (it aims at 150 connections
    by default, and would redial banned peers and overshoot ``max_peers``); our discovery dials instead."""
    connector = getattr(network, "auto_connector", None)
    if connector is None:
        return

    async def _no_auto_connect() -> None:
        return None

    connector.maybe_connect = _no_auto_connect
