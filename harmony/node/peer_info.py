"""What a node answers to ``hmy_getPeerInfo`` (reference §9.2): its peer id, banned peers, the topic's peers.

One shape for every node: :class:`~harmony.node.hooks.RuntimeHooks` fills it from the running host, and a
node with no host (not started yet, or the RPC's standalone node with no network at all) answers
:func:`offline_peer_info`. It imports only the standard library, so the RPC layer uses it without loading
py-libp2p.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def peer_info(
    peer_id: str,
    *,
    blocked: Iterable[str] = (),
    topic_peers: Mapping[str, Iterable[str]] | None = None,
    connected: int = 0,
) -> dict[str, object]:
    """``{peerid, blocked-peers, peers: [{topic, peers}], c: {total-known-peers, connected, not-connected}}``
    (``hmyv2_getPeerInfo``): the peers we know are the ones connected, none known and not connected; every
    list sorted."""
    topics = topic_peers or {}
    return {
        "peerid": peer_id,
        "blocked-peers": sorted(blocked),
        "peers": [{"topic": topic, "peers": sorted(peers)} for topic, peers in topics.items()],
        "c": {"total-known-peers": connected, "connected": connected, "not-connected": 0},
    }


def offline_peer_info(peer_id: str) -> dict[str, object]:
    """:func:`peer_info` of a node with no host (not started, or no network at all): no peers."""
    return peer_info(peer_id)
