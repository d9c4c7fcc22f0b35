"""Peer key persistence, topic names and peer scoring (pure parts of harmony.p2p)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harmony.errors import HarmonyError
from harmony.p2p.errors import P2PConfigError, P2PError
from harmony.p2p.keys import load_or_create_peer_key, peer_id_of
from harmony.p2p.scoring import PeerScores
from harmony.p2p.topics import client_topic, shard_topic, sync_protocol_id


def test_peer_key_persists_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "p2p.key"
    first = load_or_create_peer_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_peer_key(path)
    assert peer_id_of(first) == peer_id_of(again)
    assert peer_id_of(load_or_create_peer_key(tmp_path / "other.key")) != peer_id_of(first)
    assert not [p for p in path.parent.iterdir() if p.name != "p2p.key"]  # no temporary file left


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"garbage",
        b"harmony-p2p-ed25519-v1 zz",
        b"harmony-p2p-ed25519-v1 " + b"ab" * 31,
        b"\xff\xfe\x00binary",
        b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
        b"x" * 10_000,
    ],
)
def test_corrupt_peer_key_names_path_and_is_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "p2p.key"
    path.write_bytes(content)
    with pytest.raises(P2PError) as info:
        load_or_create_peer_key(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, (P2PConfigError, HarmonyError))
    assert path.read_bytes() == content


def test_topics_follow_reference_8_4() -> None:
    assert shard_topic("mainnet", 0) == "harmony/0.0.1/node/beacon"
    assert shard_topic("mainnet", 2) == "harmony/0.0.1/node/shard/2"
    assert shard_topic("testnet", 1) == "hmy/testnet/0.0.1/node/shard/1"
    assert shard_topic("localnet", 0) == "hmy/localnet/0.0.1/node/beacon"
    assert client_topic("mainnet", 0) == "harmony/0.0.1/client/beacon"
    assert client_topic("testnet", 3) == "hmy/testnet/0.0.1/client/shard/3"
    assert sync_protocol_id("mainnet", 0) == "harmony/sync/mainnet/0/1.0.0"
    assert sync_protocol_id("localnet", 1) == "harmony/sync/localnet/1/1.0.0"
    for bad_network, bad_shard in (("", 0), ("a/b", 0), ("mainnet", -1), ("mainnet", True)):
        with pytest.raises(P2PConfigError):
            shard_topic(bad_network, bad_shard)  # type: ignore[arg-type]


def test_scores_ban_past_threshold_and_decay() -> None:
    scores = PeerScores(ban_threshold=5, ban_seconds=100, decay_seconds=10)
    assert not scores.penalize("p", "garbage", 2, now=0)
    assert not scores.penalize("p", "garbage", 2, now=1)
    assert scores.score("p", now=1) == 4
    assert scores.score("p", now=21) == 2  # two decay periods forgiven
    assert not scores.penalize("p", "invalid_block", 2, now=21)
    assert scores.penalize("p", "invalid_block", 1, now=22)
    assert scores.is_banned("p", now=50)
    assert scores.banned(now=50) == {"p"}
    assert scores.penalties == {"garbage": 4, "invalid_block": 3}
    assert scores.banned(now=122) == set()
    assert scores.score("p", now=122) == 0
    with pytest.raises(ValueError):
        PeerScores(ban_threshold=0, ban_seconds=1, decay_seconds=1)
