"""The py-libp2p patches: a peer's signed record is verified once a minute, not on every RPC; gossip RPCs
reach a stream whole."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import libp2p.pubsub.gossipsub as gossipsub_module
import libp2p.pubsub.pubsub as pubsub_module
import libp2p.pubsub.utils as pubsub_utils
import pytest
import trio
from libp2p.stream_muxer.yamux.yamux import DEFAULT_WINDOW_SIZE, YamuxStream

from harmony.p2p import libp2p_limits
from harmony.p2p.host import P2PHost


@dataclass
class _Rpc:
    senderRecord: bytes  # noqa: N815 - the protobuf field's name

    def HasField(self, name: str) -> bool:
        return name == "senderRecord" and bool(self.senderRecord)


@dataclass(frozen=True)
class _Peer:
    raw: bytes

    def to_bytes(self) -> bytes:
        return self.raw


def test_signed_records_are_checked_once_per_peer_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[bytes] = []

    def check(msg: _Rpc, host: object, peer: _Peer) -> bool:
        checked.append(msg.senderRecord)
        return msg.senderRecord != b"bad"

    for module in (pubsub_utils, pubsub_module, gossipsub_module):
        monkeypatch.setattr(module, "maybe_consume_signed_record", check)
    libp2p_limits.memoize_signed_records()
    consume = pubsub_module.maybe_consume_signed_record
    assert consume is gossipsub_module.maybe_consume_signed_record
    a, b = _Peer(b"a"), _Peer(b"b")
    assert consume(_Rpc(b"rec"), None, a) and consume(_Rpc(b"rec"), None, a)
    assert checked == [b"rec"]
    assert consume(_Rpc(b"rec"), None, b)  # another peer: checked again
    assert consume(_Rpc(b"rec2"), None, a)  # other bytes: checked again
    assert not consume(_Rpc(b"bad"), None, a) and not consume(_Rpc(b"bad"), None, a)  # refusals every time
    assert checked == [b"rec", b"rec", b"rec2", b"bad", b"bad"]
    assert consume(_Rpc(b""), None, a)  # no record: nothing to check
    libp2p_limits.memoize_signed_records()  # idempotent
    assert pubsub_module.maybe_consume_signed_record is consume


class _ChunkedStream:
    """A stream whose write goes out in chunks with a wait between them, as Yamux sends a write larger than
    the peer's window."""

    def __init__(self) -> None:
        self.wire: list[bytes] = []

    async def write(self, data: bytes) -> None:
        for i in range(0, len(data), 4):
            self.wire.append(data[i : i + 4])
            await trio.sleep(0)  # waiting for window: another task may write now


class _Pubsub:
    async def write_msg(self, stream: _ChunkedStream, rpc_msg: bytes) -> bool:
        await stream.write(rpc_msg)
        return True


def _two_writes_at_once(pubsub: _Pubsub) -> bytes:
    stream = _ChunkedStream()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pubsub.write_msg, stream, b"A" * 16)
            nursery.start_soon(pubsub.write_msg, stream, b"B" * 16)

    trio.run(main)
    return b"".join(stream.wire)


def test_gossip_rpcs_reach_a_stream_whole_one_after_the_other() -> None:
    assert _two_writes_at_once(_Pubsub()) not in (b"A" * 16 + b"B" * 16, b"B" * 16 + b"A" * 16)  # unpatched
    pubsub = _Pubsub()
    libp2p_limits.serialize_gossip_writes(pubsub)
    patched = pubsub.write_msg
    libp2p_limits.serialize_gossip_writes(pubsub)  # idempotent
    assert pubsub.write_msg is patched
    assert _two_writes_at_once(pubsub) in (b"A" * 16 + b"B" * 16, b"B" * 16 + b"A" * 16)


class _BanningPubsub:
    """What ``_teardown_if_connected`` touches of py-libp2p's Pubsub; the peer's read loop ends (and
    ``_handle_dead_peer`` drops it) while its stream resets."""

    def __init__(self) -> None:
        self.peers: dict[str, _BanningPubsub] = {"p": self}
        self.forgotten: list[str] = []

    async def reset(self) -> None:  # the peer's stream
        await trio.sleep(0)
        self.peers.pop("p", None)  # _handle_dead_peer after the malformed RPC

    def _forget_all_subscriptions(self, peer_id: str) -> None:
        self.forgotten.append(peer_id)

    async def _teardown_if_connected(self, peer_id: str) -> None:  # py-libp2p 0.8.1's, in short
        stream = self.peers.get(peer_id)
        if stream is not None:
            await stream.reset()
            del self.peers[peer_id]
        self._forget_all_subscriptions(peer_id)


def test_a_ban_racing_the_peers_read_loop_does_not_end_the_host() -> None:
    with pytest.raises(KeyError):  # unpatched: raised into pubsub's task group, which ends the host
        trio.run(_BanningPubsub()._teardown_if_connected, "p")
    pubsub = _BanningPubsub()
    libp2p_limits.survive_teardown_races(pubsub)
    libp2p_limits.survive_teardown_races(pubsub)  # idempotent
    trio.run(pubsub._teardown_if_connected, "p")
    assert pubsub.peers == {} and pubsub.forgotten == ["p"]


def test_a_gossip_stream_left_on_a_closed_connection_is_dropped_and_opened_again() -> None:
    """A peer restarted with its peer ID: our gossip stream still sits on the old, closed connection while
    the new one is open. The repair forgets that stream (py-libp2p then opens one on the live connection);
    a stream on a live connection, or a peer with no live connection, is left alone."""
    old, new, other = (SimpleNamespace(is_closed=closed) for closed in (True, False, False))
    streams = {
        "restarted": SimpleNamespace(muxed_conn=old),
        "steady": SimpleNamespace(muxed_conn=other),
        "gone": SimpleNamespace(muxed_conn=old),
    }
    conns = {
        "restarted": [
            SimpleNamespace(muxed_conn=old, is_closed=True),
            SimpleNamespace(muxed_conn=new, is_closed=False),
        ],
        "steady": [SimpleNamespace(muxed_conn=other, is_closed=False)],
        "gone": [],
    }
    dropped: list[str] = []
    pubsub = SimpleNamespace(peers=streams, _handle_dead_peer=dropped.append)
    network = SimpleNamespace(get_connections=lambda peer: conns[peer])
    fake = SimpleNamespace(_pubsub=pubsub, _host=SimpleNamespace(get_network=lambda: network))
    P2PHost._drop_stale_gossip_streams(fake)  # type: ignore[arg-type]
    assert dropped == ["restarted"]


class _YamuxConn:
    """What a Yamux stream's reads and window bookkeeping use of its connection: its receive buffer."""

    def __init__(self) -> None:
        self.stream_buffers: dict[int, bytearray] = {1: bytearray()}

    def rtt(self) -> float:
        return 0.0

    async def read_stream(self, stream_id: int, n: int) -> bytes:
        data = bytes(self.stream_buffers[stream_id][:n])
        del self.stream_buffers[stream_id][:n]
        return data


def _window_updates_for_reads(reads: int, size: int) -> tuple[list[int], YamuxStream]:
    """Deliver ``reads`` frames of ``size`` bytes to a real ``YamuxStream`` and read each; return the
    WINDOW_UPDATE increments it sent."""
    conn = _YamuxConn()
    stream = YamuxStream(1, conn, is_initiator=False)  # type: ignore[arg-type]
    sent: list[int] = []

    async def record(increment: int, skip_lock: bool = False) -> None:
        sent.append(increment)

    stream.send_window_update = record  # type: ignore[method-assign]

    async def main() -> None:
        for _ in range(reads):
            assert stream.recv_window >= size, "the sender would have run out of window"
            stream.recv_window -= size  # what Yamux's frame handler books for a DATA frame
            conn.stream_buffers[1].extend(b"x" * size)
            assert await stream.read(size) == b"x" * size

    trio.run(main)
    return sent, stream


def test_yamux_returns_receive_window_once_half_of_it_is_consumed() -> None:
    """go-yamux's rule: no WINDOW_UPDATE until half the 256 KiB window is consumed, then one for all of
    it. py-libp2p 0.8.1 sent one after nearly every read, crediting each read twice."""
    libp2p_limits.batch_yamux_window_updates()
    libp2p_limits.batch_yamux_window_updates()  # idempotent
    sent, _ = _window_updates_for_reads(127, 1024)
    assert sent == []
    sent, stream = _window_updates_for_reads(1000, 1024)
    assert 1 <= len(sent) <= 1000 * 1024 // (128 * 1024)
    assert all(increment >= 128 * 1024 for increment in sent)
    # nothing is credited twice: what was sent back is what was read, plus the window's growth
    assert stream.recv_window == DEFAULT_WINDOW_SIZE - 1000 * 1024 + sum(sent)
    assert stream.recv_window <= stream.target_recv_window
