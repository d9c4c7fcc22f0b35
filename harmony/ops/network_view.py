"""The dashboard's network view: every node and shard of a devnet or testnet on one page.

Each node serves a small summary of itself at ``/api/summary`` (:func:`node_summary`). A node configured
with other nodes' addresses (``[dashboard] network``; ``harmony devnet`` lists every node) polls their
summaries every :data:`POLL` seconds, all at once, each in a worker thread with a :data:`TIMEOUT` and a
:data:`MAX_REPLY` bound, and keeps the last answer or error of each. What a peer answers is hostile input:
only the known fields, of the expected types, are kept (:func:`clean_summary`), and the page shows them as
text.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from functools import partial
from typing import Any

import trio

from harmony.ops.snapshot import OpsSnapshot

POLL = 2.0
TIMEOUT = 2.0
MAX_REPLY = 64 * 1024
_INT_FIELDS = ("shard", "height", "epoch", "peers", "sync_lag", "view", "alerts", "keys", "missed_streak_max")
_TEXT_FIELDS = ("name", "network")


def node_summary(snap: OpsSnapshot, name: str) -> dict[str, Any]:
    """This node in a few numbers (module docstring)."""
    st = snap.status
    mine = [k for k in snap.keys if k.mine]
    return {
        "name": name,
        "network": st.network,
        "shard": st.shard_id,
        "height": st.head_number,
        "epoch": st.head_epoch,
        "peers": st.peers,
        "sync_lag": st.sync_lag,
        "view": st.view_id,
        "leader": st.is_leader,
        "alerts": len(snap.alerts),
        "keys": len(mine),
        "missed_streak_max": max((k.missed_streak for k in mine), default=0),
    }


def clean_summary(raw: object) -> dict[str, Any]:
    """The known fields of a peer's summary, type-checked; :class:`ValueError` when it is not one."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    out: dict[str, Any] = {}
    for key in _INT_FIELDS:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 63:
            raise ValueError(f"field {key} is not a count")
        out[key] = value
    for key in _TEXT_FIELDS:
        value = raw.get(key)
        if not isinstance(value, str):
            raise ValueError(f"field {key} is not text")
        out[key] = value[:100]
    out["leader"] = raw.get("leader") is True
    return out


def _fetch(url: str) -> dict[str, Any]:
    """One peer's summary (blocking; runs in a worker thread)."""
    with urllib.request.urlopen(url.rstrip("/") + "/api/summary", timeout=TIMEOUT) as response:
        raw = response.read(MAX_REPLY + 1)
    if len(raw) > MAX_REPLY:
        raise ValueError(f"reply larger than {MAX_REPLY} bytes")
    return clean_summary(json.loads(raw))


class NetworkView:
    """The last summary (or error) of every configured peer (module docstring)."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = tuple(urls)
        self.latest: dict[str, dict[str, Any]] = {}

    def rows(self) -> list[dict[str, Any]]:
        """One row per peer, in configuration order: ``url`` and ``summary``, or ``url`` and ``error``."""
        return [self.latest.get(url, {"url": url, "error": "not reached yet"}) for url in self.urls]

    async def _poll_one(self, url: str) -> None:
        with trio.move_on_after(TIMEOUT + 1):
            try:
                summary = await trio.to_thread.run_sync(
                    partial(_fetch, url),
                    abandon_on_cancel=True,  # type: ignore[call-arg]
                )
            except (OSError, ValueError) as exc:
                self.latest[url] = {"url": url, "error": str(exc)[:200]}
            else:
                self.latest[url] = {"url": url, "summary": summary}
            return
        self.latest[url] = {"url": url, "error": f"no answer within {TIMEOUT:.0f} s"}

    async def run(self) -> None:
        """Poll every peer every :data:`POLL` seconds until cancelled."""
        while self.urls:
            async with trio.open_nursery() as nursery:
                for url in self.urls:
                    nursery.start_soon(self._poll_one, url)
            await trio.sleep(POLL)
