"""The h11/wsproto transport on its own, against hostile and odd clients: slowloris, oversized heads,
too many connections, garbage, a failing handler, keep-alive, chunked bodies and WebSocket framing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio
import wsproto
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from harmony.rpc.transport import RPCTransport, WebSocket

TIMEOUT = 20
JSON_HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def echo(client: str, body: bytes) -> bytes:
    return b"echo:" + body


async def ws_echo(ws: WebSocket) -> None:
    while (message := await ws.receive()) is not None:
        await ws.send(message if isinstance(message, str) else "bytes:" + message.hex())


def run(transport: RPCTransport, client: Callable[[int], Awaitable[None]]) -> None:
    async def main() -> None:
        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                port = await nursery.start(transport.serve, "127.0.0.1", 0)
                await client(port)
                nursery.cancel_scope.cancel()

    trio.run(main)


async def read_until_closed(stream: trio.SocketStream) -> bytes:
    data = b""
    try:
        while chunk := await stream.receive_some(65536):
            data += chunk
    except trio.BrokenResourceError:
        pass
    return data


_leftover: dict[int, bytes] = {}


async def read_response(stream: trio.SocketStream) -> bytes:
    """One response with a Content-Length body (bytes past it are kept for the next call)."""
    data = _leftover.pop(id(stream), b"")
    while b"\r\n\r\n" not in data:
        data += await stream.receive_some(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += await stream.receive_some(65536)
    _leftover[id(stream)] = body[length:]
    return head + b"\r\n\r\n" + body[:length]


def post(body: bytes) -> bytes:
    return JSON_HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_keep_alive_chunked_and_expect_continue() -> None:
    async def client(port: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(post(b"one"))
        assert (await read_response(stream)).endswith(b"\r\n\r\necho:one")
        await stream.send_all(JSON_HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n")
        assert (await read_response(stream)).endswith(b"echo:two")
        await stream.send_all(JSON_HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert (await stream.receive_some(100)).startswith(b"HTTP/1.1 100")
        await stream.send_all(b"three")
        response = await read_response(stream)
        assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"echo:three")
        # a refused request with a body keeps the connection usable
        await stream.send_all(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + post(b"four"))
        response = await read_response(stream)
        assert response.startswith(b"HTTP/1.1 405") and b"allow: POST" in response
        assert (await read_response(stream)).endswith(b"echo:four")
        await stream.aclose()

    run(RPCTransport(echo, max_request_bytes=1000), client)


def test_slowloris_is_cut_off() -> None:
    async def client(port: int) -> None:
        idle = await trio.open_tcp_stream("127.0.0.1", port)
        slow = await trio.open_tcp_stream("127.0.0.1", port)
        start = trio.current_time()
        try:
            for byte in JSON_HEAD[:30]:  # one byte at a time, each well inside the timeout
                await slow.send_all(bytes([byte]))
                await trio.sleep(0.1)
        except trio.BrokenResourceError:
            pass  # cut off while dripping
        else:
            assert await read_until_closed(slow) == b""
        assert await read_until_closed(idle) == b""
        assert trio.current_time() - start < 5

    run(RPCTransport(echo, max_request_bytes=1000, read_timeout=0.5), client)


def test_oversized_head_and_garbage() -> None:
    async def client(port: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"POST / HTTP/1.1\r\nX-Big: " + b"a" * 5000)
        assert (await read_until_closed(stream)).startswith(b"HTTP/1.1 431")
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"\x00\x01\x02 nonsense\r\n\r\n")
        assert (await read_until_closed(stream)).startswith(b"HTTP/1.1 400")
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(JSON_HEAD + b"Content-Length: 10\r\n\r\nabc")
        await stream.aclose()  # disconnects mid-body
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(post(b"ok"))
        assert (await read_response(stream)).endswith(b"echo:ok")

    run(RPCTransport(echo, max_request_bytes=1000, max_header_bytes=1024), client)


def test_connection_cap() -> None:
    transport = RPCTransport(echo, max_request_bytes=1000, max_connections=2)

    async def client(port: int) -> None:
        first = await trio.open_tcp_stream("127.0.0.1", port)
        second = await trio.open_tcp_stream("127.0.0.1", port)
        await first.send_all(post(b"1"))
        await second.send_all(post(b"2"))
        await read_response(first)
        await read_response(second)
        assert transport.active == 2
        third = await trio.open_tcp_stream("127.0.0.1", port)
        assert await read_until_closed(third) == b""
        await first.aclose()
        while transport.active > 1:
            await trio.sleep(0.01)
        fourth = await trio.open_tcp_stream("127.0.0.1", port)
        await fourth.send_all(post(b"4"))
        assert (await read_response(fourth)).endswith(b"echo:4")

    run(transport, client)


def test_failing_handler_is_contained() -> None:
    def handler(client: str, body: bytes) -> bytes:
        if body == b"boom":
            raise RuntimeError("boom")
        return body

    async def client(port: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(post(b"boom"))
        assert await read_until_closed(stream) == b""
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(post(b"fine"))
        assert (await read_response(stream)).endswith(b"fine")

    run(RPCTransport(handler, max_request_bytes=1000), client)


async def ws_connect(port: int) -> tuple[trio.SocketStream, wsproto.WSConnection]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host="127.0.0.1", target="/")))
    while True:
        ws.receive_data(await stream.receive_some(65536))
        events = list(ws.events())
        if events:
            assert isinstance(events[0], AcceptConnection)
            return stream, ws


async def ws_events(stream: trio.SocketStream, ws: wsproto.WSConnection) -> list[Any]:
    while True:
        data = await stream.receive_some(65536)
        ws.receive_data(data or None)
        events = list(ws.events())
        if events or not data:
            return events


def test_websocket_framing() -> None:
    async def client(port: int) -> None:
        stream, ws = await ws_connect(port)
        await stream.send_all(ws.send(Ping(payload=b"hi")))
        assert isinstance((await ws_events(stream, ws))[0], Pong)
        # a fragmented text message is reassembled
        await stream.send_all(ws.send(TextMessage(data="hel", message_finished=False)))
        await stream.send_all(ws.send(TextMessage(data="lo", message_finished=True)))
        event = (await ws_events(stream, ws))[0]
        assert isinstance(event, TextMessage) and event.data == "hello"
        await stream.send_all(ws.send(BytesMessage(data=b"\x01\x02")))
        event = (await ws_events(stream, ws))[0]
        assert isinstance(event, TextMessage) and event.data == "bytes:0102"
        # too large: closed with 1009
        await stream.send_all(ws.send(TextMessage(data="x" * 2000)))
        event = (await ws_events(stream, ws))[0]
        assert isinstance(event, CloseConnection) and event.code == 1009
        # plain POSTs on the WebSocket port are answered too
        plain = await trio.open_tcp_stream("127.0.0.1", port)
        await plain.send_all(post(b"x"))
        assert (await read_response(plain)).endswith(b"echo:x")

    run(RPCTransport(echo, ws_echo, max_request_bytes=1000), client)


def test_upgrade_refused_without_websocket_handler() -> None:
    async def client(port: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        await stream.send_all(ws.send(Request(host="127.0.0.1", target="/")))
        assert (await read_response(stream)).startswith(b"HTTP/1.1 405")

    run(RPCTransport(echo, max_request_bytes=1000), client)
