"""The JSON-RPC servers: HTTP on 9500 and WebSocket on 9800, on the node's trio loop (reference §9.1,
design §4 "async runtime", §8).

Both are small raw ASGI apps served by hypercorn's trio worker inside :meth:`RPCServer.serve`, so the RPC
shares the loop with p2p and consensus. HTTP takes ``POST`` only (``OPTIONS`` answers CORS preflight,
anything else 405), JSON bodies only (415), and refuses a body over ``max_request_bytes`` from its
Content-Length before reading it, or as soon as the bytes read pass the cap (413). Every response allows any
origin. Each client IP gets ``rate_limit_per_s`` requests per second (HTTP request or WebSocket message);
beyond that the answer is JSON-RPC error -32005. The WebSocket server speaks the same methods plus
``eth_subscribe``/``eth_unsubscribe`` (``newHeads``, ``logs``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from harmony.rpc.backend import RPCBackend
from harmony.rpc.context import Method, MethodContext
from harmony.rpc.dispatch import Dispatcher, error_response
from harmony.rpc.errors import InvalidParams, LimitExceeded, ServerError
from harmony.rpc.logs import LogFilter, parse_log_filter
from harmony.rpc.params import Params
from harmony.rpc.ratelimit import RateLimiter
from harmony.rpc.subscriptions import Subscriber, SubscriptionHub
from harmony.types.block import Block

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

WS_QUEUE_SIZE = 256
"""Messages queued for one WebSocket client before it counts as too slow and is dropped."""
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type"),
]


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


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _hypercorn_config(host: str, port: int, max_bytes: int) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.websocket_max_message_size = max_bytes
    config.keep_alive_timeout = 30
    return config


def _port(binds: list[str]) -> int:
    return int(binds[0].rsplit(":", 1)[1])


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

    async def serve(
        self,
        *,
        task_status: trio.TaskStatus[tuple[int, int]] = trio.TASK_STATUS_IGNORED,  # type: ignore[name-defined]
    ) -> None:
        """Run both servers on the current trio loop until cancelled; reports ``(http_port, ws_port)``."""
        cfg = self.config
        async with trio.open_nursery() as nursery:
            http_binds = await nursery.start(
                partial(
                    hypercorn_serve,
                    cast(Any, self.http_app),
                    _hypercorn_config(cfg.http_host, cfg.http_port, cfg.max_request_bytes),
                    mode="asgi",
                )
            )
            ws_binds = await nursery.start(
                partial(
                    hypercorn_serve,
                    cast(Any, self.ws_app),
                    _hypercorn_config(cfg.ws_host, cfg.ws_port, cfg.max_request_bytes),
                    mode="asgi",
                )
            )
            task_status.started((_port(http_binds), _port(ws_binds)))

    def notify_block(self, block: Block) -> None:
        """Notify ``newHeads`` and ``logs`` subscribers of an imported block; never blocks."""
        try:
            self.hub.notify_block(block)
        except Exception:  # a notification must never break block import
            log.exception("notifying subscribers of block %d failed", block.header.number)

    # -- ASGI apps ------------------------------------------------------------------------------------

    async def http_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The HTTP server's ASGI app (lifespan and http scopes)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def ws_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The WebSocket server's ASGI app; plain HTTP POSTs are answered too."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "")
        if method == "OPTIONS":
            await _respond(send, 204, b"")
            return
        if method != "POST":
            await _respond(send, 405, b'{"error":"use POST for JSON-RPC requests"}', [(b"allow", b"POST")])
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json":
            await _respond(send, 415, b'{"error":"Content-Type must be application/json"}')
            return
        limit = self.config.max_request_bytes
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _respond(send, 413, b'{"error":"request body too large"}')
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _respond(send, 413, b'{"error":"request body too large"}')
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if not self.limiter.allow(_client(scope)):
            await _respond(send, 200, _rate_limited())
            return
        body = self.dispatcher.handle(b"".join(chunks))
        await _respond(send, 200, body or b"")

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        outbox_send, outbox_receive = trio.open_memory_channel[str | None](WS_QUEUE_SIZE)

        def push(message: str) -> bool:
            try:
                outbox_send.send_nowait(message)
            except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                return False
            return True

        subscriber = Subscriber(push)
        self.hub.attach(subscriber)
        methods = self._ws_methods(subscriber)
        client = _client(scope)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._ws_writer, send, outbox_receive, nursery.cancel_scope, subscriber)
                while True:
                    message = await receive()
                    if message["type"] != "websocket.receive":
                        break
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    if not self.limiter.allow(client):
                        reply: bytes | None = _rate_limited()
                    else:
                        reply = self.dispatcher.handle(data, methods)
                    if reply is not None and not push(reply.decode()):
                        subscriber.dropped = True
                    if subscriber.dropped:
                        break
                nursery.cancel_scope.cancel()
        finally:
            self.hub.detach(subscriber)
            outbox_send.close()
        if subscriber.dropped:
            with trio.move_on_after(1):
                await send({"type": "websocket.close", "code": 1008})

    @staticmethod
    async def _ws_writer(
        send: Send,
        outbox: trio.MemoryReceiveChannel[str | None],
        scope: trio.CancelScope,
        subscriber: Subscriber,
    ) -> None:
        async for message in outbox:
            if message is None:
                break
            await send({"type": "websocket.send", "text": message})
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
                raise InvalidParams("invalid argument 1: newHeads takes no options")
            sub_id = self.hub.subscribe(subscriber, log_filter)
            if sub_id is None:
                raise ServerError("too many subscriptions on this connection")
            return sub_id

        def unsubscribe(ctx: MethodContext, p: Params) -> object:
            sub_id = p.get(0, "id", _sub_id)
            return subscriber.subscriptions.pop(sub_id, _ABSENT) is not _ABSENT

        return {"eth_subscribe": Method(subscribe, 2), "eth_unsubscribe": Method(unsubscribe, 1)}


_ABSENT = object()


def _kind(value: object, name: str) -> str:
    if value not in ("newHeads", "logs"):
        raise InvalidParams(f"invalid argument {name}: subscriptions are newHeads and logs")
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


async def _respond(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *CORS_HEADERS,
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
