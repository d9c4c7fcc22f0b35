"""One long-lived outbound frame stream per peer on one protocol, fed by a queue.

Opening a libp2p stream costs a protocol negotiation (round trips, and on a loaded machine py-libp2p
sometimes gives a slow negotiation up), so messages that go to the same peer again and again (coded block
symbols, consensus votes to a leader) share one stream: :meth:`PeerStreams.send` queues a frame for the
peer, and a writer task per peer writes the queue in order on its stream
(:meth:`harmony.p2p.host.P2PHost.stream_frames`). A stream ends after ``idle_seconds`` without a frame or
after ``max_frames`` frames (the receiver allows no more; the next frame opens another). A stream that
cannot be opened while the peer stays connected is opened again, up to ``attempts`` times; one that breaks
midway fails the frames it had taken (sending them again could deliver a frame twice).

Each frame may carry ``done(ok, size)``, told once: ``ok`` when the frame was written, not ok when it was
not (the caller may send it another way).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import trio

from harmony.p2p.errors import P2PError, P2PStreamNotOpened
from harmony.p2p.host import FrameHandler, P2PHost

log = logging.getLogger(__name__)

Done = Callable[[bool, int], None]
"""Told once per frame: ``(written, frame size)``."""

Route = TypeVar("Route")


@dataclass(slots=True)
class _Frame:
    payload: bytes
    done: Done | None


def _drain(receive: trio.MemoryReceiveChannel[_Frame]) -> list[_Frame]:
    """What is left in a queue."""
    out: list[_Frame] = []
    while True:
        try:
            out.append(receive.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return out


class PeerStreams:
    """The outbound streams of one protocol, one per peer (module docstring)."""

    def __init__(
        self,
        host: P2PHost,
        protocol_id: str,
        nursery: trio.Nursery,
        *,
        send_timeout: float,
        idle_seconds: float,
        max_frames: int,
        attempts: int = 3,
    ) -> None:
        if send_timeout <= 0 or idle_seconds <= 0 or max_frames < 1 or attempts < 1:
            raise ValueError("send_timeout, idle_seconds, max_frames and attempts must be positive")
        self.host = host
        self.protocol_id = protocol_id
        self._nursery = nursery
        self.send_timeout = send_timeout
        self.idle_seconds = idle_seconds
        self.max_frames = max_frames
        self.attempts = attempts
        self._queues: dict[str, trio.MemorySendChannel[_Frame]] = {}

    def send(self, peer: str, payload: bytes, done: Done | None = None) -> None:
        """Queue ``payload`` on the peer's stream, opening it (and its writer task) if there is none."""
        queue = self._queues.get(peer)
        if queue is None:
            queue, receive = trio.open_memory_channel[_Frame](math.inf)
            self._queues[peer] = queue
            self._nursery.start_soon(self._write, peer, queue, receive)
        queue.send_nowait(_Frame(payload, done))

    def has_stream(self, peer: str) -> bool:
        """Whether a writer for the peer is running (its stream is open or being opened)."""
        return peer in self._queues

    async def _write(
        self, peer: str, queue: trio.MemorySendChannel[_Frame], receive: trio.MemoryReceiveChannel[_Frame]
    ) -> None:
        current: list[_Frame] = []
        frames = 0

        async def next_frame() -> bytes | None:
            nonlocal frames
            if frames >= self.max_frames:
                return None
            with trio.move_on_after(self.idle_seconds):
                item = await receive.receive()
                current[:] = [item]
                frames += 1
                return item.payload
            return None

        def sent(size: int) -> None:
            if current:
                item = current.pop()
                if item.done is not None:
                    item.done(True, size)

        error: P2PError | None = None
        closed = False
        """Whether the stream ended as streams do (idle, or its frame cap): not failed, not cancelled."""
        try:
            for attempt in range(self.attempts):
                try:
                    await self.host.stream_frames(
                        peer, self.protocol_id, next_frame, timeout=self.send_timeout, on_sent=sent
                    )
                    closed = True
                    break
                except P2PStreamNotOpened as exc:
                    error = exc
                    if attempt == self.attempts - 1 or not self.host.is_connected(peer):
                        break
                    await trio.sleep(0.2 * (attempt + 1))
                except P2PError as exc:
                    error = exc
                    break
        finally:
            if self._queues.get(peer) is queue:
                del self._queues[peer]
            left = current + _drain(receive)
            if closed:
                # frames queued while the idle stream was closing go on a new one
                for item in left:
                    self.send(peer, item.payload, item.done)
            else:
                # failed, or cancelled (the node stops): a new writer would be cancelled at once and queue
                # them again, for ever (a test's teardown spun so)
                if error is not None and (left or frames):
                    log.info("%s stream to %s failed: %r", self.protocol_id, peer, error)
                for item in left:
                    if item.done is not None:
                        item.done(False, len(item.payload))


LONG_STREAM_MAX_FRAMES = 1 << 20
"""Frames one long-lived stream of a :func:`frame_route` carries at most (either way)."""
LONG_STREAM_IDLE_SECONDS = 60.0
"""An idle long-lived stream is closed after this long (a new one opens on the next message)."""
LONG_STREAM_SEND_TIMEOUT = 5.0
"""A frame that cannot be written within this long counts as failed."""


def frame_route(
    host: P2PHost, protocol_id: str, nursery: trio.Nursery, handler: FrameHandler, *, max_frame_bytes: int
) -> PeerStreams:
    """One protocol of long-lived frame streams both ways (the direct routes of votes and of transactions):
    ``handler`` reads each peer's inbound frames, each capped at ``max_frame_bytes`` before it is read, and
    the returned :class:`PeerStreams` writes to peers, one stream per peer, with the same bounds."""
    streams = PeerStreams(
        host,
        protocol_id,
        nursery,
        send_timeout=LONG_STREAM_SEND_TIMEOUT,
        idle_seconds=LONG_STREAM_IDLE_SECONDS,
        max_frames=LONG_STREAM_MAX_FRAMES,
    )
    host.set_frames_handler(
        protocol_id,
        handler,
        max_frame_bytes=max_frame_bytes,
        max_frames=LONG_STREAM_MAX_FRAMES,
        idle_timeout=LONG_STREAM_IDLE_SECONDS,
    )
    return streams


@asynccontextmanager
async def serving(build: Callable[[trio.Nursery], Route]) -> AsyncIterator[Route]:
    """A route that ``build`` makes on a nursery of its own, served until the block exits (its streams and
    tasks are cancelled then): how the direct routes of votes and transactions are opened."""
    async with trio.open_nursery() as nursery:
        try:
            yield build(nursery)
        finally:
            nursery.cancel_scope.cancel()
