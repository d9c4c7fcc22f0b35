"""One long-lived frame stream per peer (harmony.p2p.peer_streams), between real hosts on loopback."""

from __future__ import annotations

from pathlib import Path

import trio

from harmony.p2p.host import open_host
from harmony.p2p.peer_streams import Done, PeerStreams
from tests.unit.p2p.harness import HANG_LIMIT, config, hosts, run, wait_until

PROTO = "/harmony/test/peer-streams/1.0.0"


def test_frames_arrive_in_order_and_each_is_told_once(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "a")) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs()))) as [b],
        ):
            await wait_until(lambda: b.is_connected(a.peer_id))
            got: list[bytes] = []

            async def keep(peer: str, frame: bytes) -> None:
                got.append(frame)

            a.set_frames_handler(PROTO, keep, max_frame_bytes=64, max_frames=100)
            told: list[tuple[bool, int]] = []
            async with trio.open_nursery() as nursery:
                streams = PeerStreams(b, PROTO, nursery, send_timeout=5, idle_seconds=0.2, max_frames=100)
                frames = [b"frame %d" % i for i in range(20)]
                for frame in frames:
                    streams.send(a.peer_id, frame, lambda ok, size: told.append((ok, size)))
                await wait_until(lambda: len(got) == 20)
                assert got == frames and told == [(True, len(f)) for f in frames]
                nursery.cancel_scope.cancel()

    run(body)


def test_a_stop_with_frames_queued_ends_the_writers_and_fails_the_frames(tmp_path: Path) -> None:
    # A cancelled writer used to queue its leftover frames on a new writer, which the cancellation ended at
    # once and which queued them again, for ever: the stop never finished (a test's teardown spun at full
    # CPU). Here a re-queue past the frames' own count fails the test instead of hanging it.
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "a")) as a,
            hosts(config(tmp_path, "b", bootnodes=tuple(a.listen_addrs()))) as [b],
        ):
            await wait_until(lambda: b.is_connected(a.peer_id))

            async def keep(peer: str, frame: bytes) -> None:
                pass

            a.set_frames_handler(PROTO, keep, max_frame_bytes=1 << 16, max_frames=1000)
            told: list[bool] = []
            queued = 0
            with trio.fail_after(HANG_LIMIT):
                async with trio.open_nursery() as nursery:
                    streams = PeerStreams(b, PROTO, nursery, send_timeout=5, idle_seconds=30, max_frames=1000)
                    send = streams.send

                    def counted(peer: str, payload: bytes, done: Done | None = None) -> None:
                        nonlocal queued
                        queued += 1
                        if queued > 200:
                            raise RuntimeError("a stopped writer queued its frames again")
                        send(peer, payload, done)

                    streams.send = counted  # type: ignore[method-assign]
                    for _ in range(200):
                        streams.send(a.peer_id, b"x" * 1000, lambda ok, size: told.append(ok))
                    nursery.cancel_scope.cancel()  # before the writer has opened its stream
            assert told == [False] * 200 and queued == 200
            assert not streams.has_stream(a.peer_id)

    run(body)
