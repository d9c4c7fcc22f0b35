"""The dashboard's data: one JSON document per moment, rendered by the page's own script (no CDN).

:func:`dashboard_state` turns an :class:`~harmony.ops.snapshot.OpsSnapshot` into what the page shows: node
health (shard, epoch, height, sync lag, peers, version, uptime), each key's signing this epoch against the
2/3 eviction line and the operator's target with a missed-block timeline, election (this epoch and the next,
effective stake against the committee's median), each watched key's validator's rewards (lifetime reward
in atto as a decimal string, APR as an 18-decimal string, at the block read: :mod:`harmony.ops.rewards`),
open alerts and the last alert events, recent block intervals, and the network view (every configured node,
by shard). Public data only: BLS public keys, never key material.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from harmony.encoding.address import to_bech32
from harmony.encoding.fixed import Dec
from harmony.ops.alerts import AlertEvent, Thresholds, epoch_miss_budget
from harmony.ops.snapshot import OpsSnapshot
from harmony.types.shard_state import Committee

STATIC_FILES = {
    "/": ("index.html", b"text/html; charset=utf-8"),
    "/index.html": ("index.html", b"text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", b"text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", b"text/css; charset=utf-8"),
}
STATE_MARK = "/*STATE*/null"
"""Where ``index.html`` receives the first state inline, so the first paint needs no second request."""
CSS_MARK, JS_MARK = "/*CSS*/", "/*JS*/"
"""Where ``index.html`` receives the stylesheet and the script inline: on a busy node every request waits
for the node's loop, so the page paints after one request instead of three."""


def _median(values: Sequence[Dec]) -> Dec | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return Dec((ordered[middle - 1].raw + ordered[middle].raw) // 2)


def _stakes(committee: Committee | None) -> tuple[dict[bytes, Dec], Dec | None]:
    if committee is None:
        return {}, None
    stakes = {s.bls_public_key: s.effective_stake for s in committee.slots if s.effective_stake is not None}
    return stakes, _median(list(stakes.values()))


def _event_json(event: AlertEvent) -> dict[str, Any]:
    return {
        "status": event.status,
        "id": event.alert.id,
        "rule": event.alert.rule,
        "severity": event.alert.severity,
        "message": event.alert.message,
        "at": event.at,
    }


def dashboard_state(
    snap: OpsSnapshot,
    thresholds: Thresholds,
    events: Iterable[AlertEvent] = (),
    name: str = "",
    network: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The page's JSON document (module docstring)."""
    st = snap.status
    now_keys = set(snap.committee_now.bls_public_keys()) if snap.committee_now is not None else None
    next_keys = set(snap.committee_next.bls_public_keys()) if snap.committee_next is not None else None
    stakes, median = _stakes(snap.committee_now)
    keys = []
    for view in snap.keys:
        stake = stakes.get(view.key)
        keys.append(
            {
                "key": view.key.hex(),
                "mine": view.mine,
                "watched": view.watched,
                "signed": view.signed,
                "missed": view.missed,
                "last_signed": view.last_signed,
                "missed_streak": view.missed_streak,
                "epoch": view.epoch,
                "epoch_signed": view.epoch_signed,
                "epoch_to_sign": view.epoch_to_sign,
                "timeline": [[number, int(signed)] for number, signed in view.timeline],
                "elected_now": None if now_keys is None else view.key in now_keys,
                "elected_next": None if next_keys is None else view.key in next_keys,
                "effective_stake": str(stake) if stake is not None else None,
            }
        )
    return {
        "name": name,
        "taken": snap.taken_unix,
        "node": {
            "network": st.network,
            "shard": st.shard_id,
            "version": st.version,
            "peer_id": st.peer_id,
            "epoch": st.head_epoch,
            "height": st.head_number,
            "head_time": st.head_time,
            "highest_seen": st.highest_seen,
            "sync_lag": st.sync_lag,
            "syncing": st.syncing,
            "peers": st.peers,
            "topic_peers": st.topic_peers,
            "view": st.view_id,
            "leader": st.is_leader,
            "uptime": round(snap.taken_unix - st.started_unix),
            "pool": st.pool_pending + st.pool_queued,
            "vdf_proving_epoch": st.vdf_proving_epoch,
            "blocks_per_epoch": st.blocks_per_epoch,
        },
        "disk": None
        if snap.disk is None
        else {"free": snap.disk.free, "total": snap.disk.total, "database": snap.disk.database},
        "signing": {
            "first_block": snap.first_block,
            "last_block": snap.last_block,
            "target_bp": thresholds.signing_target_bp,
            "epoch_miss_budget": epoch_miss_budget(st.blocks_per_epoch, thresholds.signing_target_bp),
        },
        "median_stake": str(median) if median is not None else None,
        "rewards": [
            {
                "validator": to_bech32(r.address),
                "keys": [k.hex() for k in r.keys],
                "reward_atto": str(r.reward_atto),
                "apr": str(r.apr),
                "block": r.block,
            }
            for r in snap.rewards
        ],
        "keys": keys,
        "alerts": [
            {
                "id": alert.id,
                "rule": alert.rule,
                "severity": alert.severity,
                "subject": alert.subject,
                "message": alert.message,
                "since": since,
            }
            for alert, since in snap.alerts
        ],
        "events": [_event_json(e) for e in reversed(list(events))],
        "intervals": [list(item) for item in snap.intervals],
        "webhooks": snap.webhooks,
        "network": list(network),
    }


def static_file(name: str) -> bytes:
    """One of the page's files shipped in this package."""
    return resources.files("harmony.ops").joinpath("static", name).read_bytes()


@cache
def _page_template() -> bytes:
    """``index.html`` with the stylesheet and the script inline (read once)."""
    css, js = static_file("dashboard.css"), static_file("dashboard.js")
    if b"</" in css or b"</" in js:
        raise ValueError("dashboard.css or dashboard.js contains '</', which would end its inline element")
    return static_file("index.html").replace(CSS_MARK.encode(), css).replace(JS_MARK.encode(), js)


def index_page(state: dict[str, Any]) -> bytes:
    """The page: ``index.html`` with its stylesheet, its script and ``state`` inline (``<`` escaped so no
    text can close the script element)."""
    inline = json.dumps(state, separators=(",", ":")).replace("<", "\\u003c")
    return _page_template().replace(STATE_MARK.encode(), inline.encode())
