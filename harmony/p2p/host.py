"""The node's libp2p host: TCP + Noise + Yamux, GossipSub, Kademlia discovery, request/response streams.

Implements harmony-reference.md §8.1-8.3 on py-libp2p: GossipSub with D=5, Dlo=4, Dhi=8, a 1 s heartbeat,
fanout TTL 10 s, history 2/2 and messages up to 2 MiB; py-libp2p's defaults (32-entry queues, 1 MiB RPCs,
10 messages/s per peer and topic) would drop consensus traffic, so they are raised here (design.md §4).
Peer scoring and bans (design.md §3 rule 5) are in :mod:`harmony.p2p.scoring`; discovery in
:mod:`harmony.p2p.discovery`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import multiaddr
import trio
from libp2p import create_yamux_muxer_option, new_host
from libp2p.abc import INotifee
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.tools.anyio_service import background_trio_service

from harmony.p2p import discovery, libp2p_limits, topic_fence
from harmony.p2p.errors import (
    P2PBadRequest,
    P2PBadResponse,
    P2PConfigError,
    P2PConnectionError,
    P2PError,
    P2PPeerBanned,
    P2PProtocolUnsupported,
    P2PRemoteError,
    P2PStreamNotOpened,
    P2PTimeout,
    P2PTooLarge,
)
from harmony.p2p.framing import (
    STATUS_BAD_REQUEST,
    STATUS_ERROR,
    STATUS_OK,
    FrameTooLarge,
    error_text,
    read_frame,
    read_response,
    write_frame,
    write_response,
)
from harmony.p2p.keys import load_or_create_peer_key
from harmony.p2p.scoring import PeerScores

log = logging.getLogger(__name__)

RequestHandler = Callable[[str, bytes], Awaitable[bytes]]
"""A request handler: ``handler(peer_id, request) -> response``."""
FrameHandler = Callable[[str, bytes], Awaitable[None]]
"""A frame-stream handler: ``handler(peer_id, frame)``, called for each frame in order."""
NextFrame = Callable[[], Awaitable[bytes | None]]
"""The source of a frame stream: the next frame to send, or None when the stream is done."""

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class P2PConfig:
    """Settings of one p2p host (reference §8.1-8.3 for the protocol values)."""

    key_path: Path
    listen_host: str = "127.0.0.1"
    port: int = 9000
    """TCP port; 0 picks an ephemeral one (tests)."""
    bootnodes: tuple[str, ...] = ()
    """Full multiaddrs ``/ip4/<ip>/tcp/<port>/p2p/<peer id>``."""
    max_message_bytes: int = 2 * 1024 * 1024
    max_peers: int = 64
    gossip_d: int = 5
    gossip_d_low: int = 4
    gossip_d_high: int = 8
    gossip_heartbeat_seconds: int = 1
    gossip_fanout_ttl_seconds: int = 10
    gossip_history_length: int = 2
    gossip_history_gossip: int = 2
    gossip_queue_size: int = 4096
    """Per-peer outbound RPC queue of GossipSub (py-libp2p default: 32)."""
    subscription_buffer: int = 4096
    """Messages buffered per subscriber before new ones are dropped (counted in ``dropped_messages``)."""
    publish_timeout: float = 10.0
    dial_timeout: float = 5.0
    bootnode_retry_seconds: float = 5.0
    peers_path: Path | None = None
    """Where the addresses of the connected peers are kept (each discovery round) and read at the next start,
    which dials them all at once (:func:`harmony.p2p.discovery.dial_remembered`); none: not kept."""
    discovery_interval_seconds: float = 10.0
    discovery_max_interval_seconds: float = 160.0
    """The longest pause between discovery rounds, reached by doubling while rounds find nothing new."""
    discovery_timeout: float = 10.0
    gossip_repair_seconds: float = 2.0
    """How often connected peers that GossipSub lost (or never registered) are registered again."""
    request_handler_timeout: float = 30.0
    """How long an inbound request may take (reading, handling, answering) before the stream is reset."""
    ban_threshold: int = 100
    ban_seconds: float = 600.0
    score_decay_seconds: float = 10.0
    log_level: int = logging.WARNING
    """Level for py-libp2p's loggers, which are chatty."""


@dataclass(frozen=True)
class GossipMessage:
    """One gossip message received from another peer."""

    topic: str
    from_peer: str
    """Peer ID (base58) of the peer that published it (the message signature is checked by GossipSub)."""
    data: bytes


async def _gossip_repair_loop(host: P2PHost) -> None:
    """Run :meth:`P2PHost.repair_gossip_streams` every ``gossip_repair_seconds``."""
    while True:
        await trio.sleep(host.config.gossip_repair_seconds)
        await host.repair_gossip_streams()


def _peer_id(peer_id: str) -> ID:
    try:
        return ID.from_base58(peer_id)
    except Exception as exc:
        raise P2PError(f"invalid peer ID {peer_id!r}") from exc


def parse_peer_addr(addr: str) -> PeerInfo:
    """Parse a full multiaddr ``/ip4/<ip>/tcp/<port>/p2p/<peer id>`` into a libp2p ``PeerInfo``."""
    try:
        return info_from_p2p_addr(multiaddr.Multiaddr(addr))
    except Exception as exc:
        raise P2PConfigError(
            f"invalid peer address {addr!r}: expected /ip4/<ip>/tcp/<port>/p2p/<peer id> ({exc})"
        ) from exc


class _Notifee(INotifee):
    """Network events: refuse banned peers and peers above ``max_peers`` as soon as they connect."""

    def __init__(self, host: P2PHost) -> None:
        self._host = host

    async def connected(self, network: Any, conn: Any) -> None:
        peer = getattr(getattr(conn, "muxed_conn", None), "peer_id", None)
        if peer is not None:
            self._host._on_connected(peer)

    async def disconnected(self, network: Any, conn: Any) -> None:
        return None

    async def opened_stream(self, network: Any, stream: Any) -> None:
        return None

    async def closed_stream(self, network: Any, stream: Any) -> None:
        return None

    async def listen(self, network: Any, multiaddr: Any) -> None:
        return None

    async def listen_close(self, network: Any, multiaddr: Any) -> None:
        return None


def stream_not_opened(protocol_id: str, peer_id: str, exc: BaseException) -> P2PStreamNotOpened:
    """The typed error for a stream py-libp2p could not open: :class:`P2PProtocolUnsupported` when the
    peer answered that it does not serve the protocol (py-libp2p says so only in the exception's cause),
    else :class:`P2PStreamNotOpened`, with the causes' text."""
    causes: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(causes) < 4:
        causes.append(repr(seen))
        seen = seen.__cause__ or seen.__context__
    text = f"cannot open {protocol_id} to {peer_id}: {' <- '.join(causes)}"
    if any("not supported" in c for c in causes[1:]):
        return P2PProtocolUnsupported(text)
    return P2PStreamNotOpened(text)


class P2PHost:
    """A running host: gossip, request/response, peer scoring. Made by :func:`open_host`."""

    def __init__(
        self,
        *,
        config: P2PConfig,
        libp2p_host: Any,
        pubsub: Pubsub,
        dht: KadDHT,
        nursery: trio.Nursery,
        bootnodes: list[PeerInfo],
    ) -> None:
        self.config = config
        self._host = libp2p_host
        self._pubsub = pubsub
        self.dht = dht
        self._nursery = nursery
        self.bootnodes = bootnodes
        self._bootnode_ids = {info.peer_id for info in bootnodes}
        self._id: ID = libp2p_host.get_id()
        self.peer_id: str = self._id.to_base58()
        self._scores = PeerScores(
            ban_threshold=config.ban_threshold,
            ban_seconds=config.ban_seconds,
            decay_seconds=config.score_decay_seconds,
        )
        self.penalties: Counter[str] = self._scores.penalties
        """Total penalty weight by reason (for metrics)."""
        self.dropped_messages = 0
        """Gossip messages dropped because a subscriber did not keep up."""
        self._subscribers: dict[str, list[trio.MemorySendChannel[GossipMessage]]] = {}
        self._gossip_missing: set[ID] = set()
        """Connected peers GossipSub had not registered at the last repair round."""
        self.received_messages: Counter[str] = Counter()
        """Gossip messages delivered to our subscribers, by topic (for metrics and the fence's tests)."""
        self.refused_messages: Counter[str] = Counter()
        """Gossip messages that arrived on a guarded topic from a peer it does not admit, by topic: with
        :attr:`received_messages`, everything of a topic that reached this node (the fence's capture)."""
        self.answered_bytes: Counter[str] = Counter()
        """Bytes of successful answers to this node's requests, by protocol (the fence's capture)."""
        self._topic_guards: dict[str, Callable[[str], bool]] = {}
        self._guard_refusals: dict[str, Callable[[str], None]] = {}
        topic_fence.fence_pubsub(pubsub, self._may_exchange, self._refused_on_topic)

    # -- addresses and peers -------------------------------------------------------------------------

    def listen_addrs(self) -> list[str]:
        """Full multiaddrs of this host including ``/p2p/<id>``, usable as bootnode addresses."""
        out = []
        for addr in self._host.get_addrs():
            text = str(addr)
            out.append(text if "/p2p/" in text else f"{text}/p2p/{self.peer_id}")
        return out

    def connected_peers(self) -> list[str]:
        """Peer IDs (base58) of the peers with an open connection."""
        return [peer.to_base58() for peer in self._host.get_connected_peers()]

    def peer_count(self) -> int:
        """Number of connected peers."""
        return len(self._host.get_connected_peers())

    def is_connected(self, peer_id: str) -> bool:
        """Whether a connection to the peer is open."""
        return _peer_id(peer_id) in self._host.get_connected_peers()

    async def connect(self, addr: str, *, timeout: float | None = None) -> str:
        """Dial a peer by full multiaddr; returns its peer ID. Raises :class:`P2PError` on failure."""
        info = parse_peer_addr(addr)
        await self._dial(info, timeout if timeout is not None else self.config.dial_timeout)
        return info.peer_id.to_base58()

    async def _dial(self, info: PeerInfo, timeout: float) -> None:
        if info.peer_id == self._id:
            raise P2PConnectionError("refusing to dial ourselves")
        if self._scores.is_banned(info.peer_id.to_base58(), trio.current_time()):
            raise P2PPeerBanned(f"peer {info.peer_id.to_base58()} is banned")
        # py-libp2p's swarm refuses to redial a peer for 60 s after a failed dial (its "negative cache"); a
        # bootnode that was not up yet when we started would stay out of reach for a minute. Our callers
        # pace their own retries, so clear that mark before each deliberate dial.
        unblock = getattr(self._host.get_network(), "unblock_peer", None)
        if unblock is not None:
            unblock(info.peer_id)
        try:
            with trio.fail_after(timeout):
                await self._host.connect(info)
        except trio.TooSlowError:
            raise P2PTimeout(f"dialing {info.peer_id.to_base58()} took over {timeout} s") from None
        except Exception as exc:
            raise P2PConnectionError(f"cannot connect to {info.peer_id.to_base58()}: {exc!r}") from exc

    def _on_connected(self, peer: ID) -> None:
        name = peer.to_base58()
        if self._scores.is_banned(name, trio.current_time()):
            log.info("refusing banned peer %s", name)
            self._nursery.start_soon(self._disconnect, peer)
        elif self.peer_count() > self.config.max_peers and peer not in self._bootnode_ids:
            log.info("refusing peer %s: %d peers already", name, self.config.max_peers)
            self._nursery.start_soon(self._disconnect, peer)

    async def _disconnect(self, peer: ID) -> None:
        with trio.move_on_after(5):
            try:
                await self._host.disconnect(peer)
            except Exception as exc:
                log.debug("disconnecting %s: %r", peer, exc)

    # -- scoring ---------------------------------------------------------------------------------------

    def penalize(self, peer_id: str, reason: str, weight: int = 1) -> None:
        """Record bad behaviour of a peer (design.md §3 rule 5); past ``ban_threshold`` the peer is
        disconnected, its gossip refused and new connections to or from it refused for ``ban_seconds``."""
        if peer_id == self.peer_id:
            return
        if self._scores.penalize(peer_id, reason, weight, trio.current_time()):
            log.warning("banning peer %s (last offence: %s)", peer_id, reason)
            try:
                peer = ID.from_base58(peer_id)
            except Exception:
                return
            self._pubsub.add_to_blacklist(peer)
            try:
                self.dht.routing_table.remove_peer(peer)
            except Exception as exc:
                log.debug("removing %s from the routing table: %r", peer_id, exc)
            self._nursery.start_soon(self._disconnect, peer)

    def banned_peers(self) -> set[str]:
        """Peers banned now; expired bans are lifted (and the peer's gossip accepted again)."""
        now = trio.current_time()
        banned = self._scores.banned(now)
        for peer in list(self._pubsub.blacklisted_peers):
            if peer.to_base58() not in banned:
                self._pubsub.remove_from_blacklist(peer)
        return banned

    def is_banned(self, peer_id: str) -> bool:
        """Whether the peer is banned now."""
        return self._scores.is_banned(peer_id, trio.current_time())

    def score(self, peer_id: str) -> int:
        """The peer's current penalty score."""
        return self._scores.score(peer_id, trio.current_time())

    # -- gossip ----------------------------------------------------------------------------------------

    def guard_topic(
        self, topic: str, admits: Callable[[str], bool], on_refused: Callable[[str], None]
    ) -> None:
        """Exchange ``topic``'s messages only with peers ``admits(peer_id)`` accepts: the others get none of
        them, and ``on_refused(peer_id)`` hears of each one they send (to score them down;
        :mod:`harmony.p2p.topic_fence`)."""
        self._topic_guards[topic] = admits
        self._guard_refusals[topic] = on_refused

    def _may_exchange(self, topic: str, peer_id: str) -> bool:
        admits = self._topic_guards.get(topic)
        return admits is None or admits(peer_id)

    def _refused_on_topic(self, peer_id: str, topic: str) -> None:
        log.debug("refused a message on guarded topic %s from %s", topic, peer_id)
        self.refused_messages[topic] += 1
        on_refused = self._guard_refusals.get(topic)
        if on_refused is not None:
            on_refused(peer_id)

    async def subscribe(self, topic: str) -> trio.MemoryReceiveChannel[GossipMessage]:
        """Join a GossipSub topic; the channel yields messages published by other peers (reference §8.3)."""
        if not topic or len(topic) > 256:
            raise P2PError(f"invalid topic {topic!r}")
        send, receive = trio.open_memory_channel[GossipMessage](self.config.subscription_buffer)
        first = topic not in self._subscribers
        self._subscribers.setdefault(topic, []).append(send)
        if first:
            raw_send, raw_receive = trio.open_memory_channel[Any](self.config.subscription_buffer)
            await self._pubsub.subscribe(topic)
            # py-libp2p hands messages over with send_nowait into a 32-entry channel: swap in ours.
            self._pubsub.subscribed_topics_send[topic] = raw_send
            self._nursery.start_soon(self._pump, topic, raw_receive)
        return receive

    async def _pump(self, topic: str, raw: trio.MemoryReceiveChannel[Any]) -> None:
        async with raw:
            async for msg in raw:
                try:
                    origin = ID(msg.from_id)
                except Exception:
                    continue
                if origin == self._id:
                    continue
                name = origin.to_base58()
                if self.is_banned(name):
                    continue
                message = GossipMessage(topic=topic, from_peer=name, data=bytes(msg.data))
                self.received_messages[topic] += 1
                alive = []
                for channel in self._subscribers.get(topic, []):
                    try:
                        channel.send_nowait(message)
                    except trio.WouldBlock:
                        self.dropped_messages += 1
                        alive.append(channel)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        continue
                    else:
                        alive.append(channel)
                self._subscribers[topic] = alive

    async def publish(self, topic: str, data: bytes) -> None:
        """Publish on a GossipSub topic; data above ``max_message_bytes`` raises :class:`P2PTooLarge`,
        and a publish that cannot finish within ``publish_timeout`` raises :class:`P2PTimeout`."""
        if len(data) > self.config.max_message_bytes:
            raise P2PTooLarge(f"message of {len(data)} bytes is above {self.config.max_message_bytes}")
        if not topic or len(topic) > 256:
            raise P2PError(f"invalid topic {topic!r}")
        try:
            with trio.fail_after(self.config.publish_timeout):
                await self._pubsub.publish(topic, bytes(data))
        except trio.TooSlowError:
            raise P2PTimeout(f"publishing on {topic} took over {self.config.publish_timeout} s") from None
        except P2PError:
            raise
        except Exception as exc:
            raise P2PError(f"cannot publish on {topic}: {exc!r}") from exc

    async def repair_gossip_streams(self) -> int:
        """Register with GossipSub every connected peer it has not registered for a whole round; returns
        how many were registered again.

        py-libp2p opens a pubsub stream when a connection comes up and retries only while the stream fails
        at the swarm level. A protocol negotiation that fails (a stream reset by the dedup of a
        simultaneous dial, or a slow peer on a loaded machine) leaves the peer connected but outside
        gossip for good: neither side learns the other's topics, and messages to it are never sent. A peer
        missing from two rounds in a row is not a fresh connection still being registered, so it is
        registered again here (``Pubsub.ensure_peer_stream`` is idempotent).
        """
        pubsub = self._pubsub
        self._drop_stale_gossip_streams()
        missing = {
            peer
            for peer in self._host.get_connected_peers()
            if peer not in pubsub.peers and not pubsub.is_peer_blacklisted(peer)
        }
        stale, self._gossip_missing = missing & self._gossip_missing, missing
        repaired = 0
        for peer in stale:
            try:
                ok = await pubsub.ensure_peer_stream(peer, timeout=self.config.dial_timeout)
            except Exception as exc:
                log.debug("registering %s with gossip again: %r", peer, exc)
                continue
            if ok:
                repaired += 1
                self._gossip_missing.discard(peer)
                log.info("peer %s was connected outside gossip; registered again", peer.to_base58())
        return repaired

    def _drop_stale_gossip_streams(self) -> None:
        """Register again every peer whose gossip stream is on a connection that is no longer the peer's.

        A peer that restarts (an upgrade) keeps its peer ID. py-libp2p ends its read loop quietly on the old
        connection's EOF and forgets the peer only when no other connection to it is open; when the new
        process has connected by then, GossipSub keeps the dead outbound stream and, the peer being known,
        opens no new one: our subscriptions never reach the new process, which then never sends us its
        topic's messages (on the namespaced rolling upgrade, a restarted leader's ANNOUNCE reached one of
        three validators 34 s after its start, and its view failed)."""
        pubsub = self._pubsub
        network = self._host.get_network()
        for peer, stream in list(pubsub.peers.items()):
            conn = getattr(stream, "muxed_conn", None)
            if conn is None:
                continue
            live = [c.muxed_conn for c in network.get_connections(peer) if not c.is_closed]
            if not live or (conn in live and not getattr(conn, "is_closed", False)):
                continue
            log.info("peer %s: gossip stream on a closed connection; registered again", peer)
            # forgets the stream (its subscriptions kept: libp2p_limits.keep_subscriptions_of_connected_peers)
            # and, the peer being connected, opens a new one on the live connection, hello first
            pubsub._handle_dead_peer(peer)

    def topic_peers(self, topic: str) -> list[str]:
        """Peers known to be subscribed to ``topic``; of a guarded topic (:meth:`guard_topic`), only those
        its guard admits (a fenced shard's sync and coded rounds pick their peers here)."""
        peers = [peer.to_base58() for peer in self._pubsub.peer_topics.get(topic, ())]
        admits = self._topic_guards.get(topic)
        return peers if admits is None else [peer for peer in peers if admits(peer)]

    # -- frame streams ---------------------------------------------------------------------------------

    def _serve_streams(
        self, protocol_id: str, serve: Callable[[Any, str], Awaitable[None]], limit: float
    ) -> None:
        """Serve inbound streams of ``protocol_id`` with ``serve(stream, peer)``, each within ``limit``
        seconds; unknown or banned peers are reset first, and no error of a peer's stream leaves here."""

        async def on_stream(stream: Any) -> None:
            peer = await self._admit_stream(stream)
            if peer is None:
                return
            try:
                with trio.move_on_after(limit) as scope:
                    await serve(stream, peer)
                if scope.cancelled_caught:
                    await _reset(stream)
            except Exception as exc:  # never let a peer's stream take the host down
                log.debug("stream from %s on %s failed: %r", peer, protocol_id, exc)
                await _reset(stream)
            finally:
                await _close(stream)

        self._host.set_stream_handler(TProtocol(protocol_id), on_stream)

    async def _admit_stream(self, stream: Any) -> str | None:
        """The peer of an inbound stream, or None (the stream reset) if it is unknown or banned."""
        try:
            peer: str = stream.muxed_conn.peer_id.to_base58()
        except Exception:
            await _reset(stream)
            return None
        if self.is_banned(peer):
            await _reset(stream)
            return None
        return peer

    def set_frames_handler(
        self,
        protocol_id: str,
        handler: FrameHandler,
        *,
        max_frame_bytes: int,
        max_frames: int,
        idle_timeout: float | None = None,
    ) -> None:
        """Serve ``protocol_id`` as a stream of length-prefixed frames, each capped at ``max_frame_bytes``
        before reading and handed to ``handler`` in order, until an empty frame ends the stream and is
        acknowledged (one stream carries many messages: no protocol negotiation per message). An
        oversized frame, more than ``max_frames`` frames, or a handler raising :class:`P2PBadRequest`
        penalizes the peer and resets the stream. Without ``idle_timeout`` the whole stream is bounded by
        ``request_handler_timeout``; with it, the stream may live long (one per peer) and is reset after
        ``idle_timeout`` seconds without a frame."""
        whole = self.config.request_handler_timeout if idle_timeout is None else math.inf
        idle = self.config.request_handler_timeout if idle_timeout is None else idle_timeout

        async def serve(stream: Any, peer: str) -> None:
            ok = await self._serve_frames(
                stream, peer, handler, max_frame_bytes=max_frame_bytes, max_frames=max_frames, idle=idle
            )
            if ok:
                await write_response(stream, STATUS_OK, b"")
            else:
                await _reset(stream)

        self._serve_streams(protocol_id, serve, whole)

    async def _serve_frames(
        self,
        stream: Any,
        peer: str,
        handler: FrameHandler,
        *,
        max_frame_bytes: int,
        max_frames: int,
        idle: float,
    ) -> bool:
        """Read and handle frames until the empty one; False if the stream was refused or broke."""
        for count in range(max_frames + 1):
            try:
                with trio.fail_after(idle):
                    frame = await read_frame(stream, max_frame_bytes)
            except FrameTooLarge:
                self.penalize(peer, "oversized_request")
                return False
            except (P2PConnectionError, trio.TooSlowError):
                return False
            if not frame:
                return True
            if count == max_frames:
                break
            try:
                await handler(peer, frame)
            except P2PBadRequest:
                self.penalize(peer, "bad_request")
                return False
            if self.is_banned(peer):
                return False
        self.penalize(peer, "frame_flood")
        return False

    async def stream_frames(
        self,
        peer_id: str,
        protocol_id: str,
        next_frame: NextFrame,
        *,
        timeout: float = 10.0,
        on_sent: Callable[[int], None] | None = None,
    ) -> int:
        """Open one stream to ``peer_id`` and write every frame ``next_frame()`` gives until it gives
        None, then the empty end frame, and wait for the acknowledgement; returns the frames sent.
        ``on_sent(n)`` is told the size of each frame once written. Each write and the acknowledgement
        must finish within ``timeout``. Raises :class:`P2PPeerBanned`, :class:`P2PTimeout` or
        :class:`P2PConnectionError` (:class:`P2PStreamNotOpened` if no frame was taken yet, so the
        caller may try again without sending anything twice)."""
        peer = _peer_id(peer_id)
        if self.is_banned(peer_id):
            raise P2PPeerBanned(f"peer {peer_id} is banned")
        stream: Any = None
        sent = 0
        try:
            try:
                with trio.fail_after(timeout):
                    stream = await self._host.new_stream(peer, [TProtocol(protocol_id)])
            except trio.TooSlowError:
                raise P2PStreamNotOpened(
                    f"opening {protocol_id} to {peer_id} took over {timeout} s"
                ) from None
            except Exception as exc:
                raise stream_not_opened(protocol_id, peer_id, exc) from exc
            while True:
                frame = await next_frame()
                if frame is None:
                    break
                if not frame:
                    raise P2PError("an empty frame would end the stream; send at least one byte")
                with trio.fail_after(timeout):
                    await write_frame(stream, frame)
                sent += 1
                if on_sent is not None:
                    on_sent(len(frame))
            with trio.fail_after(timeout):
                await write_frame(stream, b"")
                status, body = await read_response(stream, 16)
        except trio.TooSlowError:
            raise P2PTimeout(f"{peer_id} did not take {protocol_id} frames within {timeout} s") from None
        except FrameTooLarge as exc:
            self.penalize(peer_id, "oversized_response")
            raise P2PBadResponse(f"{peer_id}: {exc}") from exc
        finally:
            if stream is not None:
                await _close(stream)
        if status != STATUS_OK:
            raise P2PRemoteError(f"{peer_id} refused {protocol_id}: {error_text(body)}")
        return sent

    # -- request/response ------------------------------------------------------------------------------

    def set_request_handler(
        self,
        protocol_id: str,
        handler: RequestHandler,
        *,
        max_request_bytes: int,
        max_response_bytes: int,
    ) -> None:
        """Serve ``protocol_id``: one length-prefixed request per stream, capped at ``max_request_bytes``
        before reading, answered by ``handler`` (framing in :mod:`harmony.p2p.framing`). A handler raising
        :class:`P2PBadRequest` and an oversized request penalize the peer; other handler errors only
        answer an error frame."""

        async def serve(stream: Any, peer: str) -> None:
            await self._serve_one(stream, peer, handler, max_request_bytes, max_response_bytes)

        self._serve_streams(protocol_id, serve, self.config.request_handler_timeout)

    async def _serve_one(
        self,
        stream: Any,
        peer: str,
        handler: RequestHandler,
        max_request_bytes: int,
        max_response_bytes: int,
    ) -> None:
        try:
            request = await read_frame(stream, max_request_bytes)
        except FrameTooLarge as exc:
            await self._refuse(stream, peer, "oversized_request", str(exc))
            return
        except P2PConnectionError:
            return
        try:
            response = await handler(peer, request)
        except P2PBadRequest as exc:
            await self._refuse(stream, peer, "bad_request", str(exc))
            return
        except Exception as exc:
            log.info("request handler failed for %s: %r", peer, exc)
            await write_response(stream, STATUS_ERROR, f"{type(exc).__name__}: {exc}".encode())
            return
        if len(response) > max_response_bytes:
            log.warning("handler answer of %d bytes is above its cap %d", len(response), max_response_bytes)
            await write_response(stream, STATUS_ERROR, b"response too large")
            return
        await write_response(stream, STATUS_OK, response)

    async def _refuse(self, stream: Any, peer: str, reason: str, message: str) -> None:
        """Answer a bad-request frame, then penalize (a ban closes the connection, so answer first)."""
        try:
            await write_response(stream, STATUS_BAD_REQUEST, message.encode())
        finally:
            self.penalize(peer, reason)

    async def request(
        self,
        peer_id: str,
        protocol_id: str,
        payload: bytes,
        *,
        timeout: float = 10.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> bytes:
        """Send one request on a fresh stream and return the answer. Raises :class:`P2PTimeout`,
        :class:`P2PRemoteError` (error frame), :class:`P2PBadResponse` (malformed or oversized answer; the
        peer is penalized), :class:`P2PPeerBanned` or :class:`P2PConnectionError`."""
        peer = _peer_id(peer_id)
        if self.is_banned(peer_id):
            raise P2PPeerBanned(f"peer {peer_id} is banned")
        stream: Any = None
        try:
            with trio.fail_after(timeout):
                try:
                    stream = await self._host.new_stream(peer, [TProtocol(protocol_id)])
                except Exception as exc:
                    raise stream_not_opened(protocol_id, peer_id, exc) from exc
                await write_frame(stream, payload)
                status, body = await read_response(stream, max_response_bytes)
        except trio.TooSlowError:
            raise P2PTimeout(f"{peer_id} did not answer {protocol_id} within {timeout} s") from None
        except FrameTooLarge as exc:
            self.penalize(peer_id, "oversized_response")
            raise P2PBadResponse(f"{peer_id}: {exc}") from exc
        except P2PBadResponse:
            self.penalize(peer_id, "garbage_response")
            raise
        finally:
            if stream is not None:
                await _close(stream)
        if status == STATUS_OK:
            self.answered_bytes[protocol_id] += len(body)
            return body
        raise P2PRemoteError(f"{peer_id} refused {protocol_id}: {error_text(body)}")


async def _close(stream: Any) -> None:
    with trio.move_on_after(1) as scope:
        scope.shield = True
        try:
            await stream.close()
        except Exception:
            await _reset(stream)


async def _reset(stream: Any) -> None:
    with trio.move_on_after(1) as scope:
        scope.shield = True
        try:
            await stream.reset()
        except Exception as exc:
            log.debug("stream reset failed: %r", exc)


def _listen_multiaddr(config: P2PConfig) -> multiaddr.Multiaddr:
    try:
        ip = ipaddress.ip_address(config.listen_host)
    except ValueError:
        raise P2PConfigError(f"listen host {config.listen_host!r} is not an IP address") from None
    if not 0 <= config.port <= 65535:
        raise P2PConfigError(f"port {config.port} is out of range")
    family = "ip4" if ip.version == 4 else "ip6"
    return multiaddr.Multiaddr(f"/{family}/{ip}/tcp/{config.port}")


@asynccontextmanager
async def open_host(config: P2PConfig) -> AsyncIterator[P2PHost]:
    """Start a host (reference §8.1-8.3): TCP + Noise + Yamux, GossipSub with the configured parameters,
    bootnode dialing retried in the background, Kademlia discovery; everything stops on exit."""
    logging.getLogger("libp2p").setLevel(config.log_level)
    # The DHT warns on every stream a peer closes after its answer; keep only its errors.
    logging.getLogger("libp2p.kad_dht").setLevel(max(config.log_level, logging.ERROR))
    if config.max_message_bytes < 1 or config.max_peers < 1:
        raise P2PConfigError("max_message_bytes and max_peers must be positive")
    if not config.gossip_repair_seconds > 0:
        raise P2PConfigError("gossip_repair_seconds must be positive")
    libp2p_limits.raise_gossip_queue_limits(config.gossip_queue_size, config.max_message_bytes)
    libp2p_limits.memoize_signed_records()
    libp2p_limits.batch_yamux_window_updates()
    libp2p_limits.quiet_refused_protocols()
    key_pair = load_or_create_peer_key(config.key_path)
    listen = _listen_multiaddr(config)
    bootnodes = [parse_peer_addr(addr) for addr in config.bootnodes]
    libp2p_host = new_host(
        key_pair=key_pair,
        sec_opt={
            NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=create_x25519_key_pair().private_key)
        },
        muxer_opt=create_yamux_muxer_option(),
        listen_addrs=[listen],
    )
    libp2p_limits.disable_auto_connector(libp2p_host.get_network())
    gossipsub = GossipSub(
        protocols=[PROTOCOL_ID_V11, PROTOCOL_ID],
        degree=config.gossip_d,
        degree_low=config.gossip_d_low,
        degree_high=config.gossip_d_high,
        time_to_live=config.gossip_fanout_ttl_seconds,
        gossip_window=config.gossip_history_gossip,
        gossip_history=config.gossip_history_length,
        heartbeat_interval=config.gossip_heartbeat_seconds,
        adaptive_gossip_enabled=False,
        # Our own scoring (harmony.p2p.scoring) judges peers; libp2p's per-topic rate limit (10 msgs/s by
        # default) and IP-diversity grafting (all devnet peers share 127.0.0.1) would drop consensus traffic.
        spam_protection_enabled=False,
        eclipse_protection_enabled=False,
    )
    gossipsub.gossip_factor = 0.15
    libp2p_limits.quiet_pending_queues(gossipsub)
    libp2p_limits.flood_own_messages_while_mesh_thin(gossipsub)
    libp2p_limits.ignore_grafts_for_unjoined_topics(gossipsub)
    libp2p_limits.back_off_from_peers_we_prune(gossipsub)
    pubsub = Pubsub(
        libp2p_host,
        gossipsub,
        max_inbound_rpc_size=config.max_message_bytes + libp2p_limits.RPC_OVERHEAD_BYTES,
    )
    running: list[P2PHost] = []

    def on_malformed(peer: str, error: str) -> None:
        for host in running:
            host.penalize(peer, f"malformed_gossip: {error}", libp2p_limits.MALFORMED_GOSSIP_WEIGHT)

    libp2p_limits.seqnos_from_nanoseconds(pubsub)
    libp2p_limits.guard_gossip_reads(pubsub, on_malformed)
    libp2p_limits.keep_subscriptions_of_connected_peers(pubsub)
    libp2p_limits.serialize_gossip_writes(pubsub)
    libp2p_limits.survive_teardown_races(pubsub)
    libp2p_limits.announce_subscriptions_made_during_hello(pubsub)
    dht = KadDHT(libp2p_host, DHTMode.SERVER, enable_random_walk=False)
    body_failed = False
    try:
        async with (
            libp2p_host.run([listen]),
            background_trio_service(pubsub),
            background_trio_service(gossipsub),
        ):
            await pubsub.wait_until_ready()
            async with background_trio_service(dht), trio.open_nursery() as nursery:
                host = P2PHost(
                    config=config,
                    libp2p_host=libp2p_host,
                    pubsub=pubsub,
                    dht=dht,
                    nursery=nursery,
                    bootnodes=bootnodes,
                )
                running.append(host)
                libp2p_host.get_network().register_notifee(_Notifee(host))
                nursery.start_soon(discovery.bootnode_loop, host)
                nursery.start_soon(discovery.dial_remembered, host)
                nursery.start_soon(discovery.discovery_loop, host)
                nursery.start_soon(_gossip_repair_loop, host)
                try:
                    yield host
                except BaseException:
                    body_failed = True
                    raise
                finally:
                    nursery.cancel_scope.cancel()
    except Exception as exc:
        if body_failed:
            raise
        # py-libp2p sometimes trips over its own teardown (a task spawned into a closing nursery);
        # the host is down either way, so report it without failing the caller's clean exit.
        log.warning("p2p host teardown: %r", exc)
