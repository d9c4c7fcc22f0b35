"""Layer 8: the node's networking on py-libp2p (harmony-reference.md §8, design.md §2).

* :mod:`~harmony.p2p.keys`: the persistent peer identity;
* :mod:`~harmony.p2p.topics`: gossip topics and stream protocol IDs;
* :mod:`~harmony.p2p.host`: the host (GossipSub, request/response, scoring) and :func:`open_host`;
* :mod:`~harmony.p2p.discovery`: bootnodes and Kademlia discovery;
* :mod:`~harmony.p2p.sync_protocol`: the block sync wire protocol;
* :mod:`~harmony.p2p.coding`, :mod:`~harmony.p2p.merkle`, :mod:`~harmony.p2p.coded_assembly`,
  :mod:`~harmony.p2p.coded_broadcast`: erasure-coded (RaptorQ) two-level block propagation.
"""

from harmony.p2p.errors import (
    P2PBadRequest,
    P2PBadResponse,
    P2PConfigError,
    P2PConnectionError,
    P2PError,
    P2PPeerBanned,
    P2PRemoteError,
    P2PTimeout,
    P2PTooLarge,
)
from harmony.p2p.host import GossipMessage, P2PConfig, P2PHost, open_host
from harmony.p2p.keys import load_or_create_peer_key
from harmony.p2p.topics import client_topic, shard_topic, sync_protocol_id

__all__ = [
    "GossipMessage",
    "P2PBadRequest",
    "P2PBadResponse",
    "P2PConfig",
    "P2PConfigError",
    "P2PConnectionError",
    "P2PError",
    "P2PHost",
    "P2PPeerBanned",
    "P2PRemoteError",
    "P2PTimeout",
    "P2PTooLarge",
    "client_topic",
    "load_or_create_peer_key",
    "open_host",
    "shard_topic",
    "sync_protocol_id",
]
