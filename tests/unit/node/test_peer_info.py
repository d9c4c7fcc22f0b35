"""The one ``hmy_getPeerInfo`` shape (harmony.node.peer_info): a running host's facts, sorted and counted,
and the offline answer of a node with no host."""

from __future__ import annotations

from harmony.node.peer_info import offline_peer_info, peer_info


def test_peer_info_sorts_every_list_and_counts_the_connected_peers() -> None:
    info = peer_info("QmSelf", blocked={"QmB", "QmA"}, topic_peers={"harmony/0": ["QmZ", "QmY"]}, connected=3)
    assert info == {
        "peerid": "QmSelf",
        "blocked-peers": ["QmA", "QmB"],
        "peers": [{"topic": "harmony/0", "peers": ["QmY", "QmZ"]}],
        "c": {"total-known-peers": 3, "connected": 3, "not-connected": 0},
    }


def test_offline_means_no_peers() -> None:
    assert offline_peer_info("QmSelf") == {
        "peerid": "QmSelf",
        "blocked-peers": [],
        "peers": [],
        "c": {"total-known-peers": 0, "connected": 0, "not-connected": 0},
    }
