"""The JSON-RPC servers: HTTP on 9500 and WebSocket on 9800, on the node's trio loop (reference §9.1,
design §4 "async runtime", §8).

Both are :class:`harmony.rpc.transport.RPCTransport` (h11 and wsproto on trio, one task per connection)
inside :meth:`RPCServer.serve`, so the RPC shares the loop with p2p and consensus; the transport also
guards against hostile clients (read timeout, header cap, connection cap). HTTP takes ``POST`` only
(``OPTIONS`` answers CORS preflight, anything else 405), JSON bodies only (415), and refuses a body over
``max_request_bytes`` from its Content-Length before reading it, or as soon as the bytes read pass the cap
(413). Every response allows any origin. Each client IP gets ``rate_limit_per_s`` requests per second
(HTTP request or WebSocket message); beyond that the answer is JSON-RPC error -32005. The WebSocket server
speaks the same methods plus ``eth_subscribe``/``eth_unsubscribe`` (``newHeads``, ``logs``,
``newPendingTransactions``), and answers
plain HTTP POSTs too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import trio

from harmony.ratelimit import RateLimiter
from harmony.rpc.backend import RPCBackend
from harmony.rpc.context import Method, MethodContext
from harmony.rpc.dispatch import Dispatcher, error_response
from harmony.rpc.errors import InvalidParams, LimitExceeded, ServerError
from harmony.rpc.logs import LogFilter, parse_log_filter
from harmony.rpc.params import Params
from harmony.rpc.subscriptions import Subscriber, SubscriptionHub
from harmony.rpc.transport import RPCTransport, WebSocket
from harmony.types.block import Block

log = logging.getLogger(__name__)

WS_QUEUE_SIZE = 256
"""Messages queued for one WebSocket client before it counts as too slow and is dropped."""


@dataclass(frozen=True)
class RPCConfig:
    """Where the servers listen and the limits they enforce (reference §9.1; port 0 = ephemeral)."""

    http_host: str = "127.0.0.1"
    http_port: int = 9500
    ws_host: str = "127.0.0.1"
    ws_port: int = 9800
    max_request_bytes: int = 5 * 1024 * 1024
    max_batch: int = 100
    rate_limit_per_s: int = 1000
    max_log_blocks: int = 1024
    call_gas_cap: int = 50_000_000


def _rate_limited() -> bytes:
    return json.dumps(error_response(None, LimitExceeded("rate limit exceeded"))).encode()


class RPCServer:
    """HTTP and WebSocket JSON-RPC over one :class:`RPCBackend`."""

    def __init__(self, backend: RPCBackend, config: RPCConfig) -> None:
        self.backend = backend
        self.config = config
        self.dispatcher = Dispatcher(
            backend,
            max_batch=config.max_batch,
            max_log_blocks=config.max_log_blocks,
            call_gas_cap=config.call_gas_cap,
        )
        self.limiter = RateLimiter(config.rate_limit_per_s)
        self.hub = SubscriptionHub(backend)
        backend.pending_listeners.append(self._notify_pending)
        backend.pending_interest.append(self.hub.wants_pending)

    async def serve(
        self,
        *,
        task_status: trio.TaskStatus[tuple[int, int]] = trio.TASK_STATUS_IGNORED,  # type: ignore[name-defined]
    ) -> None:
        """Run both servers on the current trio loop until cancelled; reports ``(http_port, ws_port)``."""
        cfg = self.config
        http = RPCTransport(self._http_body, max_request_bytes=cfg.max_request_bytes)
        ws = RPCTransport(self._http_body, self._ws_session, max_request_bytes=cfg.max_request_bytes)
        async with trio.open_nursery() as nursery:
            http_port = await nursery.start(http.serve, cfg.http_host, cfg.http_port)
            ws_port = await nursery.start(ws.serve, cfg.ws_host, cfg.ws_port)
            task_status.started((http_port, ws_port))

    def notify_block(self, block: Block) -> None:
        """Notify ``newHeads`` and ``logs`` subscribers of an imported block; never blocks."""
        try:
            self.hub.notify_block(block)
        except Exception:  # a notification must never break block import
            log.exception("notifying subscribers of block %d failed", block.header.number)

    def _notify_pending(self, tx_hashes: Sequence[tuple[bytes, bytes]]) -> None:
        try:
            self.hub.notify_pending(tx_hashes)
        except Exception:  # a notification must never break transaction intake
            log.exception("notifying pending-transaction subscribers failed")

    # -- transport callbacks ----------------------------------------------------------------------------

    def _http_body(self, client: str, body: bytes) -> bytes:
        """The response body of one JSON POST from ``client`` (rate limited)."""
        if not self.limiter.allow(client):
            return _rate_limited()
        return self.dispatcher.handle(body) or b""

    async def _ws_session(self, ws: WebSocket) -> None:
        """Serve one WebSocket connection: requests, and subscription notifications queued by the hub."""
        outbox_send, outbox_receive = trio.open_memory_channel[str | None](WS_QUEUE_SIZE)
        session = trio.CancelScope()

        def push(message: str) -> bool:
            try:
                outbox_send.send_nowait(message)
            except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                session.cancel()  # too slow: end the connection even while its writer is stuck
                return False
            return True

        subscriber = Subscriber(push)
        self.hub.attach(subscriber)
        methods = self._ws_methods(subscriber)
        try:
            with session:
                await self._ws_loop(ws, subscriber, methods, outbox_receive)
        finally:
            self.hub.detach(subscriber)
            outbox_send.close()
        if subscriber.dropped:
            with trio.move_on_after(1):
                await ws.close(1008)

    async def _ws_loop(
        self,
        ws: WebSocket,
        subscriber: Subscriber,
        methods: dict[str, Method],
        outbox_receive: trio.MemoryReceiveChannel[str | None],
    ) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ws_writer, ws, outbox_receive, nursery.cancel_scope, subscriber)
            while True:
                data = await ws.receive()
                if data is None:
                    break
                if not self.limiter.allow(ws.client):
                    reply: bytes | None = _rate_limited()
                else:
                    reply = self.dispatcher.handle(data, methods)
                if reply is not None:
                    subscriber.push_all((reply.decode(),))
                if subscriber.dropped:
                    break
            nursery.cancel_scope.cancel()

    @staticmethod
    async def _ws_writer(
        ws: WebSocket,
        outbox: trio.MemoryReceiveChannel[str | None],
        scope: trio.CancelScope,
        subscriber: Subscriber,
    ) -> None:
        async for message in outbox:
            if message is None:
                break
            await ws.send(message)
            if subscriber.dropped:
                break
        scope.cancel()

    def _ws_methods(self, subscriber: Subscriber) -> dict[str, Method]:
        """``eth_subscribe``/``eth_unsubscribe`` bound to one connection."""

        def subscribe(ctx: MethodContext, p: Params) -> object:
            kind = p.get(0, "kind", _kind)
            log_filter: LogFilter | None = None
            if kind == "logs":
                log_filter = p.get(1, "filter", _log_filter, LogFilter())
            elif p.raw(1) is not None:
                raise InvalidParams(f"invalid argument 1: {kind} takes no options")
            sub_id = self.hub.subscribe(subscriber, log_filter, pending=kind == "newPendingTransactions")
            if sub_id is None:
                raise ServerError("too many subscriptions on this connection")
            return sub_id

        def unsubscribe(ctx: MethodContext, p: Params) -> object:
            sub_id = p.get(0, "id", _sub_id)
            return self.hub.unsubscribe(subscriber, sub_id)

        return {"eth_subscribe": Method(subscribe, 2), "eth_unsubscribe": Method(unsubscribe, 1)}


def _kind(value: object, name: str) -> str:
    if value not in ("newHeads", "logs", "newPendingTransactions"):
        raise InvalidParams(
            f"invalid argument {name}: subscriptions are newHeads, logs and newPendingTransactions"
        )
    return str(value)


def _log_filter(value: object, name: str) -> LogFilter:
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid argument {name}: expected a filter object")
    unknown = [k for k in value if k not in ("address", "topics")]
    if unknown:
        raise InvalidParams(f"invalid argument {name}: unknown field {str(unknown[0])[:40]!r}")
    return parse_log_filter(value, name)


def _sub_id(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > 100:
        raise InvalidParams(f"invalid argument {name}: expected a subscription id")
    return value
