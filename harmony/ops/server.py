"""The operators' HTTP server: ``/metrics``, the dashboard and its WebSocket, on the node's trio loop.

It is the RPC's own transport (:class:`harmony.rpc.transport.RPCTransport`: h11 and wsproto on trio, read
timeout, header cap, connection cap) in its read-only mode: ``GET`` only (anything else 405), no request
body, requests of at most :data:`MAX_REQUEST_BYTES`, no CORS header. Routes:

* ``/metrics``: Prometheus text (:mod:`harmony.ops.metrics`);
* ``/``, ``/dashboard.js``, ``/dashboard.css``: the page (when ``[dashboard] enabled``), its first state
  inline;
* ``/api/status``: the dashboard's JSON document;
* ``/api/summary``: this node in a few numbers, for other nodes' network views
  (:mod:`harmony.ops.network_view`);
* ``/healthz``: ``ok``;
* a WebSocket upgrade on any path: the dashboard's JSON document after every tick (a client that does not
  keep up misses updates, never slows the node).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import trio

from harmony.ops.dashboard import STATIC_FILES, dashboard_state, index_page, static_file
from harmony.ops.metrics import CONTENT_TYPE
from harmony.ops.network_view import node_summary
from harmony.ops.service import OpsService
from harmony.rpc.transport import GetResponse, RPCTransport, WebSocket

log = logging.getLogger("harmony.ops.server")

MAX_REQUEST_BYTES = 4096
MAX_HEADER_BYTES = 8192
MAX_CONNECTIONS = 64
READ_TIMEOUT = 10.0
WS_QUEUE = 4
_JSON = b"application/json"


def _not_found(path: str) -> GetResponse:
    return GetResponse(404, _JSON, json.dumps({"error": f"no such page: {path[:100]}"}).encode())


class OpsServer:
    """Serves one :class:`OpsService` (module docstring)."""

    def __init__(self, service: OpsService) -> None:
        self.service = service
        self._sessions: list[trio.MemorySendChannel[str]] = []
        service.listeners.append(self._push)

    def state(self) -> dict[str, Any]:
        """The dashboard's JSON document now, with the network view (this node first)."""
        svc = self.service
        snap = svc.snapshot()
        name = svc.sender.node.name
        network = (
            [{"url": "", "summary": node_summary(snap, name)}, *svc.network.rows()]
            if svc.network.urls
            else []
        )
        return dashboard_state(snap, svc.settings.thresholds, svc.events, name, network)

    async def serve(self, host: str, port: int, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on ``host:port`` until cancelled; reports the bound port."""
        transport = RPCTransport(
            None,
            self._websocket,
            on_get=self._get,
            max_request_bytes=MAX_REQUEST_BYTES,
            max_header_bytes=MAX_HEADER_BYTES,
            max_connections=MAX_CONNECTIONS,
            read_timeout=READ_TIMEOUT,
        )
        await transport.serve(host, port, task_status=task_status)

    def _get(self, client: str, target: str) -> GetResponse:
        path = target.split("?", 1)[0]
        if path == "/metrics":
            return GetResponse(200, CONTENT_TYPE, self.service.exporter.scrape())
        if path == "/healthz":
            return GetResponse(200, b"text/plain; charset=utf-8", b"ok\n")
        if not self.service.settings.dashboard:
            return _not_found(path)
        if path == "/api/summary":
            svc = self.service
            return GetResponse(
                200, _JSON, json.dumps(node_summary(svc.snapshot(), svc.sender.node.name)).encode()
            )
        if path == "/api/status":
            return GetResponse(200, _JSON, json.dumps(self.state()).encode())
        if path in STATIC_FILES:
            name, content_type = STATIC_FILES[path]
            body = index_page(self.state()) if name == "index.html" else static_file(name)
            return GetResponse(200, content_type, body)
        return _not_found(path)

    def _push(self) -> None:
        """After a tick: the new state to every WebSocket session (dropped for one that is behind)."""
        if not self._sessions:
            return
        message = json.dumps(self.state())
        for channel in list(self._sessions):
            try:
                channel.send_nowait(message)
            except trio.WouldBlock:
                pass  # the next tick brings a newer state anyway
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                self._sessions.remove(channel)

    async def _websocket(self, ws: WebSocket) -> None:
        if not self.service.settings.dashboard:
            return
        send, receive = trio.open_memory_channel[str](WS_QUEUE)
        self._sessions.append(send)
        try:
            async with trio.open_nursery() as nursery:

                async def writer() -> None:
                    await ws.send(json.dumps(self.state()))
                    async for message in receive:
                        await ws.send(message)

                nursery.start_soon(writer)
                while await ws.receive() is not None:
                    pass  # the page sends nothing; a message is read and dropped
                nursery.cancel_scope.cancel()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            if send in self._sessions:
                self._sessions.remove(send)
            send.close()
