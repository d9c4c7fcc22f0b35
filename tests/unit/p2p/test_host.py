"""Real hosts on 127.0.0.1: discovery, gossip, request/response, scoring and bans (reference §8)."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import multiaddr
import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.host.exceptions import StreamFailure
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11
from libp2p.utils.varint import encode_uvarint

from harmony.p2p.errors import (
    P2PBadRequest,
    P2PConfigError,
    P2PError,
    P2PPeerBanned,
    P2PProtocolUnsupported,
    P2PRemoteError,
    P2PTimeout,
    P2PTooLarge,
)
from harmony.p2p.host import GossipMessage, P2PHost, open_host
from harmony.p2p.keys import load_or_create_peer_key, peer_id_of
from harmony.p2p.libp2p_limits import MALFORMED_GOSSIP_WEIGHT
from tests.unit.p2p.harness import HANG_LIMIT, config, frames_of, hosts, run, wait_until

PROTO = "/harmony/test/echo/1.0.0"
REPO = Path(__file__).resolve().parents[3]


def test_discovery_via_one_bootnode_and_gossip_reaches_all(tmp_path: Path) -> None:
    async def body() -> None:
        async with open_host(config(tmp_path, "a")) as a:
            boot = tuple(a.listen_addrs())
            assert boot and all(f"/p2p/{a.peer_id}" in addr for addr in boot)
            async with hosts(config(tmp_path, "b", bootnodes=boot)) as [b]:
                await wait_until(lambda: b.is_connected(a.peer_id), what="B connected to its bootnode A")
                async with hosts(config(tmp_path, "c", bootnodes=boot)) as [c]:
                    # C was told only about A and must find B through the DHT.
                    try:
                        await wait_until(lambda: c.is_connected(b.peer_id), what="C found B through A")
                    except AssertionError as exc:
                        raise AssertionError(f"{exc}; {_discovery_state(a, b, c)}") from None
                    topic = "hmy/localnet/0.0.1/node/beacon"
                    inbox_a, inbox_b = await a.subscribe(topic), await b.subscribe(topic)
                    inbox_c = await c.subscribe(topic)
                    await wait_until(
                        lambda: len(c.topic_peers(topic)) == 2, what="C sees A and B on the topic"
                    )
                    # Publish until both got one (the first may precede the mesh); bounded by wait_until.
                    got: dict[str, GossipMessage] = {}

                    async def drain(name: str, inbox: trio.MemoryReceiveChannel[GossipMessage]) -> None:
                        got[name] = await inbox.receive()

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(drain, "a", inbox_a)
                        nursery.start_soon(drain, "b", inbox_b)
                        with trio.fail_after(30):
                            while len(got) < 2:
                                await c.publish(topic, b"hello from c")
                                await trio.sleep(0.5)
                    for message in got.values():
                        assert message == GossipMessage(topic, c.peer_id, b"hello from c")
                    # A host never hears its own messages.
                    with pytest.raises(trio.WouldBlock):
                        inbox_c.receive_nowait()

    run(body)


def test_a_subscription_made_while_the_hello_is_written_reaches_the_peer(tmp_path: Path) -> None:
    """B subscribes while its hello to A is on the wire (the hello already built without the topic, A not
    yet among B's gossip peers): A still learns B joined the topic (libp2p_limits'
    announce_subscriptions_made_during_hello; without it A never does)."""
    topic = "hmy/localnet/0.0.1/node/beacon"

    async def body() -> None:
        async with hosts(config(tmp_path, "a"), config(tmp_path, "b")) as [a, b]:
            await a.subscribe(topic)  # (B's topics then are what A misses, not the other way round)
            hello_built = trio.Event()
            build = b._pubsub.get_hello_packet

            def hello_then_signal() -> Any:
                packet = build()
                hello_built.set()
                return packet

            b._pubsub.get_hello_packet = hello_then_signal
            async with trio.open_nursery() as nursery:

                async def subscribe_during_hello() -> None:
                    await hello_built.wait()
                    assert a._id not in b._pubsub.peers  # the race's window: the hello not yet written
                    await b.subscribe(topic)

                nursery.start_soon(subscribe_during_hello)
                await b.connect(a.listen_addrs()[0])
            await wait_until(lambda: b.peer_id in a.topic_peers(topic), limit=10, what="A sees B on topic")

    run(body)


def _discovery_state(a: P2PHost, b: P2PHost, c: P2PHost) -> str:
    """What A and C know of B, for a discovery failure's message."""
    target = ID.from_base58(b.peer_id)

    def table(host: P2PHost) -> list[str]:
        return [p.to_base58()[-6:] for p in host.dht.routing_table.get_peer_ids()]

    def addrs(host: P2PHost) -> list[str]:
        try:
            return [str(x) for x in host._host.get_peerstore().addrs(target)]
        except Exception as exc:
            return [repr(exc)]

    return (
        f"B={b.peer_id[-6:]} at {b.listen_addrs()}; A connected {[p[-6:] for p in a.connected_peers()]}, "
        f"table {table(a)}, knows B at {addrs(a)}; C connected {[p[-6:] for p in c.connected_peers()]}, "
        f"table {table(c)}, knows B at {addrs(c)}, B banned by C: {c.is_banned(b.peer_id)}"
    )


def test_gossip_survives_the_close_of_the_connection_its_stream_was_on(tmp_path: Path) -> None:
    """Two hosts that dialed each other at once hold two connections; when the one carrying B's outbound
    gossip stream closes, B opens a new stream on the other and its gossip still reaches C (py-libp2p
    forgot C's subscriptions there, and C, whose own stream survived, never announced them again)."""

    async def body() -> None:
        slow = {"discovery_interval_seconds": 600.0}
        async with hosts(config(tmp_path, "b", **slow), config(tmp_path, "c", **slow)) as [b, c]:
            to_b = info_from_p2p_addr(multiaddr.Multiaddr(b.listen_addrs()[0]))
            to_c = info_from_p2p_addr(multiaddr.Multiaddr(c.listen_addrs()[0]))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(c._dial, to_b, 5.0)
                nursery.start_soon(b._dial, to_c, 5.0)
            network = b._host.get_network()
            await wait_until(lambda: len(network.get_connections(to_c.peer_id)) == 2, what="two connections")
            topic = "t"
            await b.subscribe(topic)
            inbox = await c.subscribe(topic)
            await wait_until(lambda: to_c.peer_id in b._pubsub.peers, what="B's gossip stream to C")
            await wait_until(lambda: b.topic_peers(topic) == [c.peer_id], what="B knows C's subscription")
            carrying = b._pubsub.peers[to_c.peer_id].muxed_conn
            doomed = next(
                conn for conn in network.get_connections(to_c.peer_id) if conn.muxed_conn is carrying
            )
            await doomed.close()
            with trio.fail_after(HANG_LIMIT):
                while True:
                    await b.publish(topic, b"after the close")
                    with trio.move_on_after(0.5):
                        message = await inbox.receive()
                        break
            assert message.data == b"after the close"
            assert b.topic_peers(topic) == [c.peer_id]

    run(body)


def test_gossip_burst_of_300_all_arrive(tmp_path: Path) -> None:
    async def body() -> None:
        slow = {"discovery_interval_seconds": 60.0}
        async with (
            open_host(config(tmp_path, "a", **slow)) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs()), **slow)) as [b],
        ):
            topic = "burst"
            inbox = await a.subscribe(topic)
            await b.subscribe(topic)
            await wait_until(lambda: a.peer_id in b.topic_peers(topic) and b.peer_id in a.topic_peers(topic))
            await trio.sleep(1.5)  # a heartbeat grafts the mesh
            sent = [i.to_bytes(4, "big") + bytes(196) for i in range(300)]
            for data in sent:
                await b.publish(topic, data)
            received = []
            with trio.fail_after(60):
                while len(received) < len(sent):
                    received.append((await inbox.receive()).data)
            assert sorted(received) == sent
            assert a.dropped_messages == 0

    run(body)


def test_publish_limits_and_request_response(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "a", max_message_bytes=1000)) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs()))) as [b],
        ):
            await wait_until(lambda: b.is_connected(a.peer_id))
            with pytest.raises(P2PTooLarge):
                await a.publish("t", bytes(1001))
            await a.publish("t", bytes(1000))

            async def echo(peer: str, request: bytes) -> bytes:
                if request == b"boom":
                    raise RuntimeError("handler broke")
                if request == b"garbage":
                    raise P2PBadRequest("not a request")
                if request == b"big":
                    return bytes(5000)
                return peer.encode() + b":" + request

            a.set_request_handler(PROTO, echo, max_request_bytes=100, max_response_bytes=1000)
            assert await b.request(a.peer_id, PROTO, b"ping") == f"{b.peer_id}:ping".encode()
            assert await b.request(a.peer_id, PROTO, b"") == f"{b.peer_id}:".encode()
            # A handler that fails answers an error frame and penalizes nobody.
            with pytest.raises(P2PRemoteError, match="handler broke"):
                await b.request(a.peer_id, PROTO, b"boom")
            assert a.score(b.peer_id) == 0
            # An answer above the handler's own cap is refused by the server.
            with pytest.raises(P2PRemoteError, match="too large"):
                await b.request(a.peer_id, PROTO, b"big")
            # A request above the cap is refused before it is read, and penalized.
            with pytest.raises(P2PRemoteError, match="above the cap"):
                await b.request(a.peer_id, PROTO, bytes(101))
            assert a.penalties["oversized_request"] == 1
            with pytest.raises(P2PRemoteError, match="not a request"):
                await b.request(a.peer_id, PROTO, b"garbage")
            assert a.penalties["bad_request"] == 1
            assert a.score(b.peer_id) == 2
            # The client caps the answer it reads.
            with pytest.raises(P2PError):
                await b.request(a.peer_id, PROTO, b"x" * 50, max_response_bytes=10)
            assert b.penalties["oversized_response"] == 1
            # Unknown protocol (a node of another shard: the sync loop stops asking it), unknown peer, bad
            # peer ID: typed errors.
            with caplog.at_level(logging.DEBUG, logger="libp2p"), pytest.raises(P2PProtocolUnsupported):
                await b.request(a.peer_id, "/nobody/serves/this", b"x", timeout=10)
            # ... and py-libp2p's 7-line ERROR for the refusal is not logged (the caller has the typed error).
            assert not [r for r in caplog.records if "not supported" in r.getMessage()]
            with pytest.raises(P2PError):
                await b.request("not-a-peer-id", PROTO, b"x")
            async with hosts(config(tmp_path, "lonely")) as [lonely]:
                with pytest.raises(P2PError) as caught:
                    await b.request(lonely.peer_id, PROTO, b"x", timeout=5)
                assert not isinstance(caught.value, P2PProtocolUnsupported)

    run(body)


def test_slow_handler_times_out(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "a")) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs()))) as [b],
        ):
            await wait_until(lambda: b.is_connected(a.peer_id))

            async def stall(peer: str, request: bytes) -> bytes:
                await trio.sleep(3600)
                return b""

            a.set_request_handler(PROTO, stall, max_request_bytes=10, max_response_bytes=10)
            with pytest.raises(P2PTimeout):
                await b.request(a.peer_id, PROTO, b"x", timeout=1.0)

    run(body)


def test_garbage_peer_is_banned_and_disconnected(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "a", ban_threshold=3)) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs()))) as [b],
        ):
            await wait_until(lambda: b.is_connected(a.peer_id))

            async def strict(peer: str, request: bytes) -> bytes:
                raise P2PBadRequest("garbage")

            a.set_request_handler(PROTO, strict, max_request_bytes=10, max_response_bytes=10)
            for _ in range(2):
                with pytest.raises(P2PRemoteError):
                    await b.request(a.peer_id, PROTO, b"\xff\x00")
            # The third offence bans B; the ban may close the link before B reads the answer.
            with pytest.raises(P2PError):
                await b.request(a.peer_id, PROTO, b"\xff\x00")
            assert a.banned_peers() == {b.peer_id}
            await wait_until(lambda: not a.is_connected(b.peer_id))
            with pytest.raises(P2PPeerBanned):
                await a.request(b.peer_id, PROTO, b"x")
            # Neither inbound (B redials, also through its bootnode loop) nor gossip gets through.
            inbox = await a.subscribe("t")
            with trio.move_on_after(3):
                while True:
                    with contextlib.suppress(P2PError):
                        await b.connect(a.listen_addrs()[0])
                    await b.publish("t", b"spam")
                    await trio.sleep(0.3)
            # A redial may be up for an instant before A's notifee drops it.
            await wait_until(lambda: not a.is_connected(b.peer_id))
            with pytest.raises(trio.WouldBlock):
                inbox.receive_nowait()
            # Our own penalties of ourselves are ignored.
            a.penalize(a.peer_id, "self", 100)
            assert a.peer_id not in a.banned_peers()

    run(body)


def test_unreachable_bootnode_does_not_block_startup(tmp_path: Path) -> None:
    async def body() -> None:
        with trio.socket.socket() as sock:  # a port that is surely closed: bound, never listening
            await sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            dead = f"/ip4/127.0.0.1/tcp/{port}/p2p/12D3KooWEfY2TmhEWp1scTkNTgGcB6sBdaeicFJXJjeBmUpFMyg8"
            async with open_host(config(tmp_path, "a")) as a:
                live = a.listen_addrs()[0]
                with trio.fail_after(10):  # a hang guard, not a timing assertion
                    async with open_host(config(tmp_path, "b", bootnodes=(dead, live))) as b:
                        await wait_until(lambda: b.is_connected(a.peer_id))
                        assert b.peer_count() == 1

    run(body)


def test_bad_config_is_refused(tmp_path: Path) -> None:
    async def body() -> None:
        for bad in (
            config(tmp_path, "x", bootnodes=("not a multiaddr",)),
            config(tmp_path, "x", bootnodes=("/ip4/127.0.0.1/tcp/9000",)),
            config(tmp_path, "x", listen_host="localhost"),
            config(tmp_path, "x", port=70000),
            config(tmp_path, "x", max_peers=0),
        ):
            with pytest.raises(P2PConfigError):
                async with open_host(bad):
                    pass

    run(body)


def test_host_attributes(tmp_path: Path) -> None:
    async def body() -> None:
        async with open_host(config(tmp_path, "a")) as a:
            assert isinstance(a, P2PHost)
            assert a.peer_count() == 0 and a.connected_peers() == []
            assert a.banned_peers() == set()
            with pytest.raises(P2PError):
                await a.subscribe("")
        # Same key file, same identity after a restart.
        async with open_host(config(tmp_path, "a")) as again:
            assert again.peer_id == a.peer_id

    run(body)


def test_a_bootnode_that_starts_later_is_reached(tmp_path: Path) -> None:
    """A node started before its bootnode keeps retrying and connects once the bootnode is up (py-libp2p's
    60-second negative dial cache must not keep it away)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    boot_key = tmp_path / "boot.key"
    boot_id = peer_id_of(load_or_create_peer_key(boot_key))
    boot_addr = f"/ip4/127.0.0.1/tcp/{port}/p2p/{boot_id}"

    async def body() -> None:
        async with open_host(config(tmp_path, "late", bootnodes=(boot_addr,))) as late:
            await trio.sleep(2)  # several failed dials first
            async with open_host(config(tmp_path, "boot", key_path=boot_key, port=port)):
                await wait_until(lambda: late.is_connected(boot_id))

    run(body)


def _fail_first_gossip_stream(host: P2PHost) -> None:
    """Make the host's first GossipSub stream open fail as a failed protocol negotiation does (py-libp2p
    raises ``StreamFailure``, which its pubsub never retries)."""
    inner = host._host.new_stream
    failed: list[bool] = []

    async def new_stream(peer_id: Any, protocol_ids: Any) -> Any:
        if not failed and any("meshsub" in str(p) for p in protocol_ids):
            failed.append(True)
            raise StreamFailure("negotiation failed (injected)")
        return await inner(peer_id, protocol_ids)

    host._host.new_stream = new_stream


@pytest.mark.parametrize("repair", [True, False])
def test_a_peer_whose_gossip_stream_failed_is_registered_again(tmp_path: Path, repair: bool) -> None:
    """The cause of a rare failure of the discovery test under load: a connected peer left outside gossip."""

    async def body() -> None:
        quiet = {"discovery_interval_seconds": 600.0, "gossip_repair_seconds": 0.5 if repair else 600.0}
        async with hosts(config(tmp_path, "a", **quiet), config(tmp_path, "b", **quiet)) as [a, b]:
            topic = "repair"
            await a.subscribe(topic)
            await b.subscribe(topic)
            _fail_first_gossip_stream(b)
            await b.connect(a.listen_addrs()[0])

            def both_see() -> bool:
                return a.peer_id in b.topic_peers(topic) and b.peer_id in a.topic_peers(topic)

            if repair:
                await wait_until(both_see)
            else:
                await trio.sleep(5)  # py-libp2p alone never registers the peer
                assert b.is_connected(a.peer_id) and not both_see()

    run(body)


def test_frame_streams_deliver_in_order_and_bound_hostile_senders(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "a", ban_threshold=3)) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs()))) as [b],
        ):
            await wait_until(lambda: b.is_connected(a.peer_id))
            got: list[tuple[str, bytes]] = []

            async def keep(peer: str, frame: bytes) -> None:
                if frame == b"bad":
                    raise P2PBadRequest("bad frame")
                got.append((peer, frame))

            a.set_frames_handler(PROTO, keep, max_frame_bytes=8, max_frames=3)
            sizes: list[int] = []
            frames = [b"one", b"two", b"three"]
            sent = await b.stream_frames(a.peer_id, PROTO, frames_of(frames), on_sent=sizes.append)
            assert sent == 3 and sizes == [3, 3, 5]
            assert got == [(b.peer_id, f) for f in frames]
            with pytest.raises(P2PError, match="empty frame"):
                await b.stream_frames(a.peer_id, PROTO, frames_of([b""]))
            # An oversized frame, a fourth frame, a frame the handler refuses: each resets the stream and
            # counts against the sender; the third offence bans it.
            for hostile in ([b"x" * 9], [b"1", b"2", b"3", b"4"], [b"bad"]):
                with pytest.raises(P2PError):
                    await b.stream_frames(a.peer_id, PROTO, frames_of(hostile), timeout=5)
            assert set(a.penalties) == {"oversized_request", "frame_flood", "bad_request"}
            assert a.is_banned(b.peer_id)
            assert len(got) == 3 + 3

    run(body)


def test_a_malformed_gossip_rpc_scores_its_sender_down_and_the_host_lives(tmp_path: Path) -> None:
    # py-libp2p's pubsub read loop lets a protobuf DecodeError escape into the swarm; our guard catches
    # it around the loop, resets that stream and scores the peer down.
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "a")) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs())), config(tmp_path, "c")) as [b, c],
        ):
            await c.connect(a.listen_addrs()[0])
            await wait_until(lambda: b.is_connected(a.peer_id))
            inbox = await a.subscribe("t")
            await b.subscribe("t")
            stream = await b._host.new_stream(a._id, [TProtocol(PROTOCOL_ID_V11)])
            await stream.write(encode_uvarint(5) + b"\xff\xff\xff\xff\xff")  # not a protobuf RPC
            await wait_until(lambda: a.score(b.peer_id) >= MALFORMED_GOSSIP_WEIGHT)
            assert any(reason.startswith("malformed_gossip") for reason in a.penalties)
            # A is still up: another peer's gossip reaches it.
            await c.subscribe("t")
            with trio.fail_after(30):
                while True:
                    await c.publish("t", b"still here")
                    with trio.move_on_after(0.5):
                        message = await inbox.receive()
                        break
            assert message.data == b"still here" and message.from_peer == c.peer_id

    run(body)


@pytest.mark.parametrize("flood", [True, False])
def test_own_messages_reach_topic_peers_before_the_mesh_forms(tmp_path: Path, flood: bool) -> None:
    """A node that just (re)started has an empty mesh until a heartbeat grafts peers (longer when a peer
    still holds a PRUNE's backoff against it): its own messages go to every peer on the topic meanwhile
    (``libp2p_limits.flood_own_messages_while_mesh_thin``). Heartbeats here are 10 minutes apart and the
    peer refuses the graft, so the mesh never forms; without the flood, nothing arrives."""

    async def body() -> None:
        slow = {"discovery_interval_seconds": 600.0, "gossip_heartbeat_seconds": 600}
        async with hosts(config(tmp_path, "a", **slow), config(tmp_path, "b", **slow)) as [a, b]:
            if not flood:
                router = b._pubsub.router
                setattr(router, "_get_peers_to_send", type(router)._get_peers_to_send.__get__(router))  # noqa: B010
            topic = "t"
            inbox = await a.subscribe(topic)
            await b.subscribe(topic)
            # A still holds a backoff against B, as after a PRUNE from B's previous run: it refuses B's GRAFT
            a._pubsub.router._add_back_off(ID.from_base58(b.peer_id), topic, False)
            await b._dial(info_from_p2p_addr(multiaddr.Multiaddr(a.listen_addrs()[0])), 5.0)
            await wait_until(lambda: b.topic_peers(topic) == [a.peer_id], what="B knows A's subscription")
            await wait_until(lambda: not b._pubsub.router.mesh[topic], what="A refused B's GRAFT")
            await trio.sleep(0.5)
            assert not b._pubsub.router.mesh[topic] and not a._pubsub.router.mesh[topic]
            await b.publish(topic, b"first words")
            with trio.move_on_after(3.0):
                message = await inbox.receive()
                assert flood and message.data == b"first words"
                return
            assert not flood, "B's own message reached nobody"

    run(body)


@pytest.mark.parametrize("ignore", [True, False])
def test_a_graft_before_the_subscription_bars_nobody(tmp_path: Path, ignore: bool) -> None:
    """A GRAFT for a topic B has not joined yet (a peer that remembered B's subscription from before B's
    restart) is ignored, as go-libp2p does; py-libp2p's PRUNE answer put a 60 s backoff between them."""

    async def body() -> None:
        slow = {"discovery_interval_seconds": 600.0}
        async with hosts(config(tmp_path, "a", **slow), config(tmp_path, "b", **slow)) as [a, b]:
            if not ignore:
                router = b._pubsub.router
                setattr(router, "handle_graft", type(router).handle_graft.__get__(router))  # noqa: B010
            topic = "t"
            await a.subscribe(topic)
            await b._dial(info_from_p2p_addr(multiaddr.Multiaddr(a.listen_addrs()[0])), 5.0)
            to_b = ID.from_base58(b.peer_id)
            await wait_until(lambda: to_b in a._pubsub.peers, what="A's gossip stream to B")
            await a._pubsub.router.emit_graft(topic, to_b)
            with trio.move_on_after(1.0):
                await wait_until(lambda: a._pubsub.router._check_back_off(to_b, topic), what="a PRUNE")
            assert a._pubsub.router._check_back_off(to_b, topic) is not ignore
            if ignore:
                await b.subscribe(topic)
                await wait_until(lambda: to_b in a._pubsub.router.mesh[topic], what="A grafts B")

    run(body)


@pytest.mark.parametrize("patched", [True, False])
def test_a_peer_the_heartbeat_prunes_is_not_grafted_again_within_the_backoff(
    tmp_path: Path, patched: bool
) -> None:
    """A mesh over Dhi is cut to D; the peers cut get the backoff our PRUNE gives them, so when the mesh then
    falls under Dlo, the heartbeat grafts other peers, not the ones that would refuse (py-libp2p noted no
    backoff and grafted them again: a refusal as a "GRAFT flood" and a PRUNE back, each time)."""

    async def body() -> None:
        async with open_host(config(tmp_path, "a", discovery_interval_seconds=600.0)) as a:
            router = a._pubsub.router
            if not patched:
                setattr(router, "mesh_heartbeat", type(router).mesh_heartbeat.__get__(router))  # noqa: B010
            topic = "t"
            await a.subscribe(topic)
            peers = [
                ID.from_base58(peer_id_of(load_or_create_peer_key(tmp_path / f"p{i}.key"))) for i in range(14)
            ]
            a._pubsub.peer_topics[topic] = set(peers)
            for peer in peers:
                router.peer_protocol[peer] = PROTOCOL_ID_V11
            router.mesh[topic] = set(peers[:10])  # over Dhi = 8
            _, pruned = router.mesh_heartbeat()
            cut = {peer for peer, topics in pruned.items() if topic in topics}
            assert len(cut) == 10 - a.config.gossip_d
            assert all(router._check_back_off(peer, topic) for peer in cut) is patched
            # The mesh loses all but two of its peers: under Dlo, the heartbeat grafts D - 2 of the rest.
            router.mesh[topic] = set(sorted(router.mesh[topic], key=str)[:2])
            grafted, _ = router.mesh_heartbeat()
            chosen = {peer for peer, topics in grafted.items() if topic in topics}
            assert len(chosen) == a.config.gossip_d - 2
            if patched:
                assert not chosen & cut

    run(body)


@pytest.mark.parametrize("nanoseconds", [True, False])
def test_a_restarted_peer_is_heard_at_once(tmp_path: Path, nanoseconds: bool) -> None:
    """A peer started again with the same key (an upgrade) numbers its messages above its previous run's
    (``libp2p_limits.seqnos_from_nanoseconds``). py-libp2p counted from the clock in seconds, so after 100
    messages in its first run the restarted peer reused their numbers and every message of its second run
    was dropped as already seen. The peer runs in its own process, started twice."""

    async def body() -> None:
        slow = {"discovery_interval_seconds": 600.0}
        async with open_host(config(tmp_path, "a", **slow)) as a:
            inbox = await a.subscribe("t")
            got: list[bytes] = []

            async def read() -> None:
                while True:
                    got.append((await inbox.receive()).data)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read)
                for tag, count in (("first", 100), ("second", 5)):
                    command = [sys.executable, "-m", "tests.unit.p2p.publisher_process", str(tmp_path)]
                    command += [a.listen_addrs()[0], str(count), tag]
                    command += [] if nanoseconds else ["--libp2p-seqnos"]
                    with trio.fail_after(HANG_LIMIT * 2):
                        await trio.run_process(command, cwd=REPO)
                    await trio.sleep(0.5)
                    heard = sum(1 for data in got if data.startswith(tag.encode()))
                    if tag == "first":
                        assert heard == count, (
                            "the first run's messages must all arrive for the test to mean anything"
                        )
                    else:
                        assert heard == (count if nanoseconds else 0)
                nursery.cancel_scope.cancel()

    run(body)
