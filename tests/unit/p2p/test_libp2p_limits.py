"""The py-libp2p patches: a peer's signed record is verified once a minute, not on every RPC; Yamux returns
receive window in half-window batches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libp2p.pubsub.gossipsub as gossipsub_module
import libp2p.pubsub.pubsub as pubsub_module
import libp2p.pubsub.utils as pubsub_utils
import libp2p.stream_muxer.yamux.yamux as yamux_module
import pytest

from harmony.p2p import libp2p_limits
from harmony.p2p.host import frames_of
from tests.unit.p2p.harness import config, hosts, run


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


def test_yamux_returns_window_in_half_window_batches_and_large_transfers_still_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real hosts: many small frames cost no WINDOW_UPDATE until half the window is read, and a transfer
    of several windows still arrives whole and in order (the credit comes back)."""
    updates: list[int] = []
    original = yamux_module.YamuxStream.send_window_update

    async def counted(self: Any, increment: int, skip_lock: bool = False) -> None:
        updates.append(increment)
        await original(self, increment, skip_lock=skip_lock)

    monkeypatch.setattr(yamux_module.YamuxStream, "send_window_update", counted)
    window = yamux_module.DEFAULT_WINDOW_SIZE
    small = [bytes([i % 256]) * 100 for i in range(400)]  # 40 kB: under half a window
    large = [bytes([i % 256]) * 60_000 for i in range(40)]  # 2.4 MB: about ten windows

    async def body() -> None:
        async with hosts(config(tmp_path, "a"), config(tmp_path, "b")) as (a, b):
            got: list[bytes] = []

            async def handler(peer: str, frame: bytes) -> None:
                got.append(frame)

            b.set_frames_handler("/t/frames", handler, max_frame_bytes=1 << 20, max_frames=10_000)
            await a.connect(b.listen_addrs()[0])
            updates.clear()
            await a.stream_frames(b.peer_id, "/t/frames", frames_of(small))
            assert got == small
            assert updates == []
            got.clear()
            await a.stream_frames(b.peer_id, "/t/frames", frames_of(large), timeout=30)
            assert got == large
            assert 1 <= len(updates) <= 2 * sum(map(len, large)) // (window // 2)
            assert min(updates) >= window // 2

    run(body)
