"""The file of peer addresses a host remembers across restarts (``P2PConfig.peers_path``): one full multiaddr
``/ip4/<ip>/tcp/<port>/p2p/<peer id>`` a line, written whole (a temporary file renamed over it)."""

from __future__ import annotations

import os
from pathlib import Path

import multiaddr
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr

MAX_REMEMBERED = 64
"""Addresses kept at most (the host's default ``max_peers``)."""
MAX_FILE_BYTES = 64 * 1024


def write_peer_addrs(path: Path, addrs: list[str]) -> None:
    """Replace the file's addresses with ``addrs`` (at most :data:`MAX_REMEMBERED`, in order, no repeats)."""
    unique = list(dict.fromkeys(addrs))[:MAX_REMEMBERED]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{a}\n" for a in unique))
    os.replace(tmp, path)


def read_peer_addrs(path: Path) -> list[PeerInfo]:
    """The peers in the file, one :class:`PeerInfo` per peer with all its addresses; an unreadable file or
    line is skipped (the file is only a hint: discovery still runs)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return []
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    by_peer: dict[str, PeerInfo] = {}
    for line in lines[: MAX_REMEMBERED * 4]:
        try:
            info = info_from_p2p_addr(multiaddr.Multiaddr(line.strip()))
        except Exception:
            continue
        known = by_peer.get(info.peer_id.to_base58())
        if known is None:
            by_peer[info.peer_id.to_base58()] = info
        else:
            known.addrs.extend(a for a in info.addrs if a not in known.addrs)
    return list(by_peer.values())[:MAX_REMEMBERED]
