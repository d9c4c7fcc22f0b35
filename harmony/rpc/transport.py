"""A trio-native HTTP/1.1 (h11) and WebSocket (wsproto) server for the JSON-RPC (reference §9.1).

One :class:`RPCTransport` listens on one port with :func:`trio.serve_tcp`, one task per connection, and
knows only the HTTP rules of the RPC: ``POST`` only (``OPTIONS`` answers CORS preflight, anything else
405), JSON bodies only (415), a body over ``max_request_bytes`` refused from its Content-Length before it
is read, or as soon as the bytes read pass the cap (413, then the connection is closed). Every response
allows any origin. What a body means is the ``on_http`` callback's business; a WebSocket upgrade (where
``on_websocket`` is given) hands the connection to that callback as a :class:`WebSocket`.

A read-only server (the operators' metrics and dashboard, ``harmony.ops``) passes ``on_http=None`` and an
``on_get`` callback instead: then ``GET`` is the only method (anything else 405, a GET with a body 400),
and no CORS header is sent, so other origins' pages cannot read the answers.

Hostile clients: every request (including the keep-alive wait before it) must arrive whole within
``read_timeout`` seconds, the request head may hold at most ``max_header_bytes``, at most
``max_connections`` connections are served at once (more are closed on accept), and whatever goes wrong
on one connection is logged at debug and ends that connection only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import h11
import trio
import wsproto
from h11._state import MIGHT_SWITCH_PROTOCOL
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    TextMessage,
)
from wsproto.events import Request as WSRequest
from wsproto.utilities import LocalProtocolError as WSLocalProtocolError
from wsproto.utilities import RemoteProtocolError as WSRemoteProtocolError

log = logging.getLogger(__name__)

RECEIVE_SIZE = 65_536
READ_TIMEOUT = 30.0
"""Seconds a client has for one whole request (head and body), the keep-alive wait included."""
MAX_HEADER_BYTES = 16_384
MAX_CONNECTIONS = 1_000
LINGER_SECONDS = 2.0
"""After a refusal that closes the connection, how long unread request bytes are drained (so the
client reads the answer rather than a reset)."""
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type"),
]
_TOO_LARGE = b'{"error":"request body too large"}'

HttpHandler = Callable[[str, bytes], bytes]
"""``(client IP, request body) -> response body`` of a JSON POST (status 200)."""


@dataclass(frozen=True, slots=True)
class GetResponse:
    """The answer to one ``GET``: status, content type and body."""

    status: int
    content_type: bytes
    body: bytes


GetHandler = Callable[[str, str], GetResponse]
"""``(client IP, request target) -> response`` of a GET (read-only servers)."""


class _Closed(Exception):
    """The connection ended (or must end) before the request was whole."""


class WebSocket:
    """One accepted WebSocket connection: pull messages with :meth:`receive`, push with :meth:`send`.

    :meth:`send` may run in another task than :meth:`receive`; pings are answered inside :meth:`receive`.
    """

    def __init__(
        self, stream: trio.SocketStream, ws: wsproto.WSConnection, client: str, max_message: int
    ) -> None:
        self.client = client
        self._stream = stream
        self._ws = ws
        self._max_message = max_message
        self._send_lock = trio.Lock()
        self._closed = False
        self._interrupted = False

    async def _write(self, data: bytes) -> None:
        if data:
            async with self._send_lock:
                self._interrupted = True  # stays set if this write is cancelled halfway through a frame
                await self._stream.send_all(data)
                self._interrupted = False

    async def receive(self) -> str | bytes | None:
        """The next whole message, or ``None`` once the connection is closed (or a message is too large)."""
        parts: list[str | bytes] = []
        size = 0
        while not self._closed:
            for event in self._ws.events():
                if isinstance(event, TextMessage | BytesMessage):
                    parts.append(bytes(event.data) if isinstance(event.data, bytearray) else event.data)
                    size += len(event.data)
                    if size > self._max_message:
                        await self.close(1009)
                        return None
                    if event.message_finished:
                        if isinstance(event, TextMessage):
                            return "".join(p for p in parts if isinstance(p, str))
                        return b"".join(p for p in parts if isinstance(p, bytes))
                elif isinstance(event, Ping):
                    await self._write(self._ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self._closed = True
                    if self._ws.state is ConnectionState.REMOTE_CLOSING:
                        await self._write(self._ws.send(event.response()))
                    return None
            data = await self._stream.receive_some(RECEIVE_SIZE)
            if not data:
                self._closed = True
                return None
            self._ws.receive_data(data)
        return None

    async def send(self, text: str) -> None:
        """Send one text message."""
        if self._closed:
            raise trio.ClosedResourceError("the WebSocket is closed")
        await self._write(self._ws.send(TextMessage(data=text)))

    async def close(self, code: int = 1000) -> None:
        """Start the closing handshake (best effort; not after a write was cut off mid-frame)."""
        if self._closed or self._interrupted:
            self._closed = True
            return
        self._closed = True
        with contextlib.suppress(WSLocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            await self._write(self._ws.send(CloseConnection(code=code)))


WebSocketHandler = Callable[[WebSocket], Awaitable[None]]


def _client(stream: trio.SocketStream) -> str:
    try:
        peer = stream.socket.getpeername()
    except OSError:
        return "unknown"
    return str(peer[0]) if isinstance(peer, tuple) else "unknown"


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _is_upgrade(request: h11.Request) -> bool:
    upgrade = _header(list(request.headers), b"upgrade")
    return upgrade is not None and upgrade.strip().lower() == b"websocket"


class RPCTransport:
    """HTTP/1.1 (and optionally WebSocket) on one port, one trio task per connection."""

    def __init__(
        self,
        on_http: HttpHandler | None,
        on_websocket: WebSocketHandler | None = None,
        *,
        on_get: GetHandler | None = None,
        max_request_bytes: int,
        read_timeout: float = READ_TIMEOUT,
        max_header_bytes: int = MAX_HEADER_BYTES,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.on_http = on_http
        self.on_websocket = on_websocket
        self.on_get = on_get
        self._cors = on_http is not None
        self.max_request_bytes = max_request_bytes
        self.read_timeout = read_timeout
        self.max_header_bytes = max_header_bytes
        self.max_connections = max_connections
        self.active = 0
        """Connections being served now."""

    async def serve(
        self,
        host: str,
        port: int,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,  # type: ignore[name-defined]
    ) -> None:
        """Listen on ``host:port`` until cancelled; reports the bound port."""
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, self._connection, port, host=host))
            task_status.started(int(listeners[0].socket.getsockname()[1]))

    async def _connection(self, stream: trio.SocketStream) -> None:
        if self.active >= self.max_connections:
            await trio.aclose_forcefully(stream)
            return
        self.active += 1
        try:
            await self._serve_connection(stream, _client(stream))
        except Exception:  # a bad client must never take the server down
            log.debug("RPC connection ended with an error", exc_info=True)
        finally:
            self.active -= 1
            await trio.aclose_forcefully(stream)

    # -- HTTP -------------------------------------------------------------------------------------------

    async def _next_event(self, conn: h11.Connection, stream: trio.SocketStream) -> object:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await stream.receive_some(RECEIVE_SIZE))

    async def _serve_connection(self, stream: trio.SocketStream, client: str) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_header_bytes)
        while True:
            try:
                with trio.fail_after(self.read_timeout):
                    event = await self._next_event(conn, stream)
                    if not isinstance(event, h11.Request):
                        return  # ConnectionClosed (or PAUSED after a refused upgrade)
                    if self.on_websocket is not None and _is_upgrade(event):
                        ws = await self._upgrade(conn, stream, event, client)
                    else:
                        ws = None
                        if not await self._request(conn, stream, event, client):
                            return
                if ws is not None and self.on_websocket is not None:
                    await self.on_websocket(ws)
                    await ws.close()
                    return
                if self.on_websocket is not None and conn.their_state is MIGHT_SWITCH_PROTOCOL:
                    return  # a refused upgrade
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
            except h11.RemoteProtocolError as exc:
                await self._refuse(conn, stream, exc.error_status_hint, b'{"error":"bad request"}')
                return
            except trio.TooSlowError:
                log.debug("RPC client %s too slow, closing", client)
                return
            except _Closed:
                return

    async def _send(
        self,
        conn: h11.Connection,
        stream: trio.SocketStream,
        status: int,
        body: bytes,
        extra: list[tuple[bytes, bytes]] | None = None,
        *,
        content_type: bytes = b"application/json",
    ) -> None:
        cors = CORS_HEADERS if self._cors else []
        headers = [(b"content-type", content_type), *cors, *(extra or [])]
        if status != 204:
            headers.append((b"content-length", str(len(body)).encode()))
        parts = [conn.send(h11.Response(status_code=status, headers=headers))]
        if body and status != 204:
            parts.append(conn.send(h11.Data(data=body)))
        parts.append(conn.send(h11.EndOfMessage()))
        await stream.send_all(b"".join(p for p in parts if p))

    async def _refuse(
        self, conn: h11.Connection, stream: trio.SocketStream, status: int, body: bytes
    ) -> None:
        """Answer ``status`` and close, draining what the client still sends for a moment first."""
        try:
            with trio.fail_after(LINGER_SECONDS):  # a client that does not read gets nothing
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(conn, stream, status, body, [(b"connection", b"close")])
                await stream.send_eof()
        except (
            h11.LocalProtocolError,
            trio.BrokenResourceError,
            trio.ClosedResourceError,
            trio.TooSlowError,
            OSError,
        ):
            return
        drained = 0
        with trio.move_on_after(LINGER_SECONDS):
            while drained < 4 * self.max_request_bytes:
                data = await stream.receive_some(RECEIVE_SIZE)
                if not data:
                    break
                drained += len(data)

    async def _read_body(self, conn: h11.Connection, stream: trio.SocketStream) -> bytes | None:
        """The whole body, or ``None`` as soon as it passes the cap."""
        if conn.they_are_waiting_for_100_continue:
            await stream.send_all(conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
        chunks: list[bytes] = []
        ended = await self._receive_body(conn, stream, chunks)
        if ended is None:
            raise _Closed
        return b"".join(chunks) if ended else None

    async def _request(
        self, conn: h11.Connection, stream: trio.SocketStream, request: h11.Request, client: str
    ) -> bool:
        """Answer one request; ``False`` when the connection must close."""
        headers = list(request.headers)
        method = request.method
        if self.on_http is None:
            return await self._get_request(conn, stream, request, client)
        if method == b"POST":
            content_type = (_header(headers, b"content-type") or b"").split(b";")[0].strip().lower()
            if content_type != b"application/json":
                await self._send(conn, stream, 415, b'{"error":"Content-Type must be application/json"}')
                return await self._discard_body(conn, stream)
            declared = _header(headers, b"content-length")
            if declared is not None and int(declared) > self.max_request_bytes:
                await self._refuse(conn, stream, 413, _TOO_LARGE)
                return False
            body = await self._read_body(conn, stream)
            if body is None:
                await self._refuse(conn, stream, 413, _TOO_LARGE)
                return False
            await self._send(conn, stream, 200, self.on_http(client, body))
            return True
        if method == b"OPTIONS":
            await self._send(conn, stream, 204, b"")
        else:
            await self._send(
                conn, stream, 405, b'{"error":"use POST for JSON-RPC requests"}', [(b"allow", b"POST")]
            )
        return await self._discard_body(conn, stream)

    async def _get_request(
        self, conn: h11.Connection, stream: trio.SocketStream, request: h11.Request, client: str
    ) -> bool:
        """A read-only server's request: GET without a body, else 405 (or 400 for a body)."""
        if request.method != b"GET" or self.on_get is None:
            await self._send(
                conn, stream, 405, b'{"error":"this server is read-only: use GET"}', [(b"allow", b"GET")]
            )
            return await self._discard_body(conn, stream)
        if conn.their_state is not h11.DONE:
            event = await self._next_event(conn, stream)
            if not isinstance(event, h11.EndOfMessage):
                await self._refuse(conn, stream, 400, b'{"error":"a GET has no body"}')
                return False
        target = request.target.decode("ascii", "replace")
        try:
            answer = self.on_get(client, target)
        except Exception:  # a handler bug answers 500 and never takes the server down
            log.exception("GET %s failed", target)
            answer = GetResponse(500, b"application/json", b'{"error":"internal error"}')
        await self._send(
            conn,
            stream,
            answer.status,
            answer.body,
            [(b"cache-control", b"no-store")],
            content_type=answer.content_type,
        )
        return True

    async def _discard_body(self, conn: h11.Connection, stream: trio.SocketStream) -> bool:
        """Read and drop the rest of a refused request; ``False`` (close) when it passes the cap."""
        if conn.their_state is h11.DONE:
            return True
        if conn.their_state is not h11.SEND_BODY:
            return False
        return await self._receive_body(conn, stream, None) is True

    async def _receive_body(
        self, conn: h11.Connection, stream: trio.SocketStream, chunks: list[bytes] | None
    ) -> bool | None:
        """Read a request body up to its end, into ``chunks`` unless ``None``: ``True`` at its end,
        ``False`` as soon as it passes :attr:`max_request_bytes`, ``None`` when anything else comes (the
        client closed)."""
        size = 0
        while True:
            event = await self._next_event(conn, stream)
            if not isinstance(event, h11.Data):
                return True if isinstance(event, h11.EndOfMessage) else None
            size += len(event.data)
            if size > self.max_request_bytes:
                return False
            if chunks is not None:
                chunks.append(bytes(event.data))

    # -- WebSocket --------------------------------------------------------------------------------------

    async def _upgrade(
        self, conn: h11.Connection, stream: trio.SocketStream, request: h11.Request, client: str
    ) -> WebSocket | None:
        """Complete the WebSocket handshake of ``request``; ``None`` when it was refused."""
        ws = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
        try:
            ws.initiate_upgrade_connection(list(request.headers), request.target)
        except WSRemoteProtocolError:
            await self._refuse(conn, stream, 400, b'{"error":"bad WebSocket handshake"}')
            return None
        while conn.their_state not in (MIGHT_SWITCH_PROTOCOL, h11.DONE):
            event = await self._next_event(conn, stream)
            if not isinstance(event, h11.Data | h11.EndOfMessage):
                raise _Closed
        if conn.their_state is not MIGHT_SWITCH_PROTOCOL:
            await self._refuse(conn, stream, 400, b'{"error":"bad WebSocket handshake"}')
            return None
        data, _ = conn.trailing_data
        accepted = False
        for event in ws.events():
            if isinstance(event, WSRequest):
                await stream.send_all(ws.send(AcceptConnection()))
                accepted = True
                break
        if not accepted:
            await stream.send_all(ws.send(RejectConnection(status_code=400)))
            return None
        if data:
            ws.receive_data(bytes(data))
        return WebSocket(stream, ws, client, self.max_request_bytes)
