"""The remembered peer addresses (``P2PConfig.peers_path``): written whole, read back per peer, garbage
skipped."""

from __future__ import annotations

from pathlib import Path

from harmony.p2p.host_addrs import MAX_REMEMBERED, read_peer_addrs, write_peer_addrs

A = "12D3KooWEzhLts3Lose5Fpt2bLbigWw8LEMBUPJyqjrzD284MfWr"
B = "12D3KooWBLbKpHq4TZgtdFxYk2cJwNuafL7FN7YGXjwqN7f5nrRY"


def test_addresses_round_trip_grouped_by_peer(tmp_path: Path) -> None:
    path = tmp_path / "p2p.peers"
    write_peer_addrs(
        path,
        [
            f"/ip4/10.0.0.1/tcp/9000/p2p/{A}",
            f"/ip4/10.0.0.2/tcp/9000/p2p/{B}",
            f"/ip4/10.0.0.3/tcp/9001/p2p/{A}",
            f"/ip4/10.0.0.1/tcp/9000/p2p/{A}",  # a repeat is written once
        ],
    )
    infos = {i.peer_id.to_base58(): [str(a) for a in i.addrs] for i in read_peer_addrs(path)}
    assert infos == {A: ["/ip4/10.0.0.1/tcp/9000", "/ip4/10.0.0.3/tcp/9001"], B: ["/ip4/10.0.0.2/tcp/9000"]}
    assert not (tmp_path / "p2p.peers.tmp").exists()


def test_a_missing_or_garbled_file_is_only_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "p2p.peers"
    assert read_peer_addrs(path) == []
    path.write_text(f"garbage\n/ip4/10.0.0.2/tcp/9000\n\n/ip4/10.0.0.2/tcp/9000/p2p/{B}\n")
    assert [i.peer_id.to_base58() for i in read_peer_addrs(path)] == [B]
    path.write_bytes(b"\xff\xfe")
    assert read_peer_addrs(path) == []


def test_at_most_max_remembered_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "p2p.peers"
    write_peer_addrs(path, [f"/ip4/10.0.{i // 256}.{i % 256}/tcp/9000/p2p/{A}" for i in range(200)])
    assert len(path.read_text().splitlines()) == MAX_REMEMBERED
