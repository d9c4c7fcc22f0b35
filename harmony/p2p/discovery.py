"""Bootnodes and Kademlia discovery (reference §8.2): keep the bootnodes connected, and walk the DHT so a
node given one bootnode finds the others.

Every ``discovery_interval_seconds`` the host adds its connected peers to the DHT routing table, looks up
the peers closest to its own ID and to a random key across the network, and dials the peers found there
until it has ``max_peers``. Rounds that change nothing space the next out, up to
``discovery_max_interval_seconds``. A bootnode that is down is retried every ``bootnode_retry_seconds``
without holding anything up.

Each round also writes the addresses of the connected peers to ``peers_path``; a node started again (an
upgrade's restart) dials all of those at once (:func:`dial_remembered`) instead of finding its shard's
peers through the bootnode and a DHT walk, one dial after another. The peers it had lost its connections
to never dial it back (only bootnodes are redialed), so a restarted validator used to reach its shard
through discovery alone: on the namespaced rolling upgrade its gossip (its ANNOUNCEs as leader, its
VIEWCHANGEs) reached none or one of the three other validators for 10 to 50 s after its start.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

import trio
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from harmony.p2p.errors import P2PError
from harmony.p2p.host_addrs import read_peer_addrs, write_peer_addrs

if TYPE_CHECKING:
    from harmony.p2p.host import P2PHost

log = logging.getLogger(__name__)

_MAX_DIALS_PER_ROUND = 16


async def bootnode_loop(host: P2PHost) -> None:
    """Dial every bootnode that is not connected, then again every ``bootnode_retry_seconds``."""
    while True:
        async with trio.open_nursery() as nursery:
            for info in host.bootnodes:
                nursery.start_soon(_dial_bootnode, host, info)
        await trio.sleep(host.config.bootnode_retry_seconds)


async def _dial_bootnode(host: P2PHost, info: PeerInfo) -> None:
    if await _dial_known(host, info, "bootnode"):
        # A fresh link to a bootnode is the moment to learn the network: look up at once.
        await discover_once(host)


async def _dial_known(host: P2PHost, info: PeerInfo, what: str) -> bool:
    """Dial a peer whose address we were given (a bootnode, a remembered peer) unless it is us or already
    connected, and add it to the routing table; whether a new connection was made."""
    if info.peer_id == host._id or info.peer_id in host._host.get_connected_peers():
        return False
    try:
        await host._dial(info, host.config.dial_timeout)
    except P2PError as exc:
        log.info("%s %s not reachable: %s", what, info.peer_id, exc)
        return False
    await _add_to_table(host, info.peer_id)
    return True


async def _add_to_table(host: P2PHost, peer: ID) -> None:
    try:
        if not host.dht.routing_table.peer_in_table(peer):
            await host.dht.add_peer(peer, skip_server_mode_check=True)
    except Exception as exc:
        log.debug("adding %s to the routing table: %r", peer, exc)


async def discovery_loop(host: P2PHost) -> None:
    """Run :func:`discover_once`, then remember the connected peers; the pause between rounds follows
    :func:`next_discovery_interval`."""
    interval = host.config.discovery_interval_seconds
    cap = max(host.config.discovery_max_interval_seconds, interval)
    held = 0  # peers connected after the last round
    while True:
        await trio.sleep(interval)
        lost = len(host._host.get_connected_peers()) < held
        new = await discover_once(host)
        remember_peers(host)
        held = len(host._host.get_connected_peers())
        interval = next_discovery_interval(
            interval, base=host.config.discovery_interval_seconds, cap=cap, changed=new > 0 or lost
        )


def next_discovery_interval(current: float, *, base: float, cap: float, changed: bool) -> float:
    """The pause before the next discovery round: ``base`` after a round that connected new peers or found
    peers lost since the last one, else twice the last pause up to ``cap``. Each round walks the DHT twice,
    a dozen new streams; a node whose peers hold still needs none of them (among 16 idle validators the
    walks were 10 % of a node's CPU)."""
    return base if changed else min(current * 2, cap)


def remember_peers(host: P2PHost) -> None:
    """Write the connected peers' addresses to ``peers_path`` (when set) for the next start."""
    path = host.config.peers_path
    if path is None:
        return
    peerstore = host._host.get_peerstore()
    addrs: list[str] = []
    for peer in host._host.get_connected_peers():
        try:
            known = [str(a) for a in peerstore.addrs(peer)]
        except Exception:
            continue
        suffix = f"/p2p/{peer.to_base58()}"
        addrs += [a if a.endswith(suffix) else a + suffix for a in known if "/tcp/" in a]
    try:
        write_peer_addrs(path, addrs)
    except OSError as exc:
        log.debug("remembering peers in %s: %r", path, exc)


async def dial_remembered(host: P2PHost) -> int:
    """At the start, dial every peer remembered in ``peers_path`` at once; returns how many connected."""
    path = host.config.peers_path
    if path is None:
        return 0
    infos = read_peer_addrs(path)
    connected = 0

    async def dial(info: PeerInfo) -> None:
        nonlocal connected
        connected += await _dial_known(host, info, "remembered peer")

    async with trio.open_nursery() as nursery:
        for info in infos:
            nursery.start_soon(dial, info)
    if infos:
        live = set(host._host.get_connected_peers())
        log.info(
            "dialed %d remembered peers: %d connected by this dial, %d connected in all",
            len(infos),
            connected,
            sum(info.peer_id in live for info in infos),
        )
    return connected


async def discover_once(host: P2PHost) -> int:
    """One discovery round; returns the number of new peers connected."""
    for peer in list(host._host.get_connected_peers()):
        await _add_to_table(host, peer)
    found: set[ID] = set()
    with trio.move_on_after(host.config.discovery_timeout):
        for key in (host._id.to_bytes(), secrets.token_bytes(32)):
            try:
                found.update(await host.dht.peer_routing.find_closest_peers_network(key))
            except Exception as exc:
                log.debug("DHT lookup failed: %r", exc)
    try:
        found.update(host.dht.routing_table.get_peer_ids())
    except Exception as exc:
        log.debug("reading the routing table: %r", exc)
    connected = set(host._host.get_connected_peers())
    candidates = [
        peer
        for peer in found
        if peer != host._id and peer not in connected and not host.is_banned(peer.to_base58())
    ][:_MAX_DIALS_PER_ROUND]
    room = host.config.max_peers - len(connected)
    if room <= 0 or not candidates:
        return 0
    peerstore = host._host.get_peerstore()
    new = 0
    for peer in candidates[:room]:
        try:
            addrs = peerstore.addrs(peer)
        except Exception:
            continue
        if not addrs:
            continue
        try:
            await host._dial(PeerInfo(peer, addrs), host.config.dial_timeout)
        except P2PError as exc:
            log.debug("discovered peer %s not reachable: %s", peer, exc)
            continue
        new += 1
    return new
