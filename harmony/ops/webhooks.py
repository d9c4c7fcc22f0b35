"""Alert delivery to webhooks: one JSON POST per alert and per resolution (``[alerts] webhooks``).

The body suits the common receivers at once: Slack-style incoming webhooks read ``text``, Discord-style
ones read ``content``, and anything else gets the structured fields (``status``, ``rule``, ``severity``,
``subject``, ``message``, ``starts_at``, ``ends_at``, ``node``).

A webhook that hangs or refuses never slows the node: each URL has its own worker and its own bounded queue
(:data:`QUEUE_SIZE`; when full, new events for that URL are dropped and counted), each POST runs in a worker
thread with the standard library's HTTP client and is abandoned after :data:`TIMEOUT` seconds, and a failed
POST is tried again once after :data:`RETRY_DELAY` seconds.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio

from harmony.ops.alerts import AlertEvent

log = logging.getLogger("harmony.ops.webhooks")

QUEUE_SIZE = 256
"""Events waiting per webhook before new ones are dropped."""
TIMEOUT = 5.0
"""Seconds one POST may take (connect, send and answer)."""
RETRY_DELAY = 2.0
MAX_TEXT = 1900
"""Characters of the human-readable line (Discord refuses ``content`` over 2000)."""
USER_AGENT = "harmony-python-alerts/1"


@dataclass(frozen=True, slots=True)
class NodeLabel:
    """Which node an alert comes from (every body names it)."""

    network: str
    shard_id: int
    name: str


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def alert_body(event: AlertEvent, node: NodeLabel) -> dict[str, Any]:
    """The JSON body of one event (module docstring)."""
    alert = event.alert
    mark = "RESOLVED" if event.status == "resolved" else alert.severity.upper()
    text = f"[{mark}] {node.name} ({node.network} shard {node.shard_id}): {alert.message}"[:MAX_TEXT]
    return {
        "text": text,
        "content": text,
        "status": event.status,
        "id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity,
        "subject": alert.subject,
        "message": alert.message,
        "starts_at": _iso(event.since),
        "ends_at": _iso(event.at) if event.status == "resolved" else None,
        "node": {"network": node.network, "shard": node.shard_id, "name": node.name},
    }


def _post(url: str, body: bytes, timeout: float) -> int:
    """POST ``body`` to ``url`` (blocking; runs in a worker thread); the HTTP status."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65_536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class WebhookSender:
    """Posts alert events to every configured webhook (module docstring)."""

    def __init__(
        self,
        urls: Sequence[str],
        node: NodeLabel,
        *,
        timeout: float = TIMEOUT,
        retry_delay: float = RETRY_DELAY,
    ) -> None:
        self.urls = tuple(urls)
        self.node = node
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.counts: Counter[str] = Counter()
        """``sent``, ``failed`` and ``dropped`` events over all webhooks."""
        self._channels = [trio.open_memory_channel[bytes](QUEUE_SIZE) for _ in self.urls]

    def send(self, event: AlertEvent) -> None:
        """Queue ``event`` for every webhook; never blocks (a full queue drops it for that webhook)."""
        body = json.dumps(alert_body(event, self.node)).encode()
        for url, (sender, _) in zip(self.urls, self._channels, strict=True):
            try:
                sender.send_nowait(body)
            except trio.WouldBlock:
                self.counts["dropped"] += 1
                log.warning("webhook %s is behind: alert %s dropped", _host(url), event.alert.id)

    async def run(self) -> None:
        """One worker per webhook until cancelled."""
        async with trio.open_nursery() as nursery:
            for url, (_, receiver) in zip(self.urls, self._channels, strict=True):
                nursery.start_soon(self._worker, url, receiver)

    async def _worker(self, url: str, inbox: trio.MemoryReceiveChannel[bytes]) -> None:
        async for body in inbox:
            for attempt in range(2):
                if await self._attempt(url, body):
                    self.counts["sent"] += 1
                    break
                if attempt == 0:
                    await trio.sleep(self.retry_delay)
            else:
                self.counts["failed"] += 1

    async def _attempt(self, url: str, body: bytes) -> bool:
        status: int | None = None
        with trio.move_on_after(self.timeout):
            try:
                # abandoned on timeout: urllib's own timeout ends the thread soon after
                post = partial(_post, url, body, self.timeout)
                status = await trio.to_thread.run_sync(post, abandon_on_cancel=True)  # type: ignore[call-arg]
            except (OSError, ValueError) as exc:
                log.warning("webhook %s failed: %s", _host(url), exc)
                return False
        if status is None:
            log.warning("webhook %s did not answer within %.0f s", _host(url), self.timeout)
            return False
        if not 200 <= status < 300:
            log.warning("webhook %s answered HTTP %d", _host(url), status)
            return False
        return True


def _host(url: str) -> str:
    """The URL without its path (webhook paths are secrets)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
