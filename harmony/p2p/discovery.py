"""Bootnodes and Kademlia discovery (reference §8.2): keep the bootnodes connected, and walk the DHT so a
node given one bootnode finds the others.

Every ``discovery_interval_seconds`` the host adds its connected peers to the DHT routing table, looks up
the peers closest to its own ID and to a random key across the network, and dials the peers found there
until it has ``max_peers``. A bootnode that is down is retried every ``bootnode_retry_seconds`` without
holding anything up.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

import trio
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from harmony.p2p.errors import P2PError

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
    if info.peer_id == host._id or info.peer_id in host._host.get_connected_peers():
        return
    try:
        await host._dial(info, host.config.dial_timeout)
    except P2PError as exc:
        log.info("bootnode %s not reachable: %s", info.peer_id, exc)
        return
    await _add_to_table(host, info.peer_id)
    # A fresh link to a bootnode is the moment to learn the network: look up at once.
    await discover_once(host)


async def _add_to_table(host: P2PHost, peer: ID) -> None:
    try:
        if not host.dht.routing_table.peer_in_table(peer):
            await host.dht.add_peer(peer, skip_server_mode_check=True)
    except Exception as exc:
        log.debug("adding %s to the routing table: %r", peer, exc)


async def discovery_loop(host: P2PHost) -> None:
    """Run :func:`discover_once` every ``discovery_interval_seconds``."""
    while True:
        await trio.sleep(host.config.discovery_interval_seconds)
        await discover_once(host)


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
