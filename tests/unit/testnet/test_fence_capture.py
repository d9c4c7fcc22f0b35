"""The fence capture of a testnet run (issue 21): what an outside node's real metrics page says it received
of a fenced shard, summed over the node's process starts while its counters restart, and the invariants over
it: a leak, a node never read, an outsider not refused, a fence no transfer crossed are each a violation."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.ops.metrics import MetricsExporter
from harmony.ops.service import OpsService, OpsSettings
from harmony.p2p.topics import shard_topic, sync_protocol_id
from harmony.storage import ChainDB, MemoryStore
from harmony.testnet import invariants as inv
from harmony.testnet.fence_capture import Carriers, FenceCapture, Watched, parse_reading
from tests.unit.ops.test_server import GENESIS, status_of

NET = LOCALNET.name
FENCED = Carriers.of(NET, 1)


def page(tmp_path: Path, **changes: Any) -> str:
    """A node's metrics page, rendered by the node's own exporter from a status with ``changes``."""
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, 0)
    service = OpsService(
        lambda: replace(status_of(chain, tmp_path), **changes),
        chain.db,
        OpsSettings(host="127.0.0.1", port=0),
    )
    return MetricsExporter(service.snapshot).render().decode()


def test_a_metrics_page_gives_what_reached_a_node_of_the_fenced_shard_only(tmp_path: Path) -> None:
    text = page(
        tmp_path,
        shard_id=1,
        head_number=4,
        topic_messages={shard_topic(NET, 1): 3, shard_topic(NET, 0): 50},
        topic_refused={shard_topic(NET, 1): 2},
        answered_bytes={sync_protocol_id(NET, 1): 700, sync_protocol_id(NET, 0): 9000},
    )
    assert parse_reading(text, FENCED, own_shard=1) == inv.FenceReading(5, 700, 4, 1)
    # a beacon node's own head and traffic are not the fenced shard's
    assert parse_reading(text, FENCED, own_shard=0) == inv.FenceReading(5, 700, 0, 1)
    quiet = page(tmp_path, shard_id=1, topic_messages={shard_topic(NET, 0): 50})
    assert parse_reading(quiet, FENCED, own_shard=1) == inv.FenceReading(0, 0, 0, 1)


@pytest.fixture
def served() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server answering GET with the last page of the list (a node's /metrics)."""
    pages: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages[-1].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics", pages
    finally:
        server.shutdown()
        server.server_close()


def test_the_capture_sums_a_restarted_nodes_counters_and_marks_a_node_never_read(
    tmp_path: Path, served: tuple[str, list[str]]
) -> None:
    url, pages = served
    start = [1]
    outsider = Watched("f0", 1, url, frozenset({1}))
    member = Watched("s1v0", 1, url, frozenset(), frozenset({1}))
    unreachable = Watched("s0v0", 0, "http://127.0.0.1:1/metrics", frozenset({1}))
    capture = FenceCapture([FENCED], lambda: [(outsider, start[0]), (member, 1), (unreachable, 1)])
    leaked = {shard_topic(NET, 1): 1}
    pages.append(page(tmp_path, shard_id=1, topic_messages=leaked))
    capture.scrape()
    capture.scrape()  # the same counter read twice counts once
    start[0] = 2  # restarted: its counters begin at zero again
    pages.append(page(tmp_path, shard_id=1, topic_messages={}))
    capture.scrape()
    totals = capture.totals()
    assert totals["f0"] == inv.FenceReading(1, 0, 0, 3)
    assert "s0v0" not in totals and capture.failures["s0v0"] == 3
    members = capture.totals(inside=True)
    assert set(members) == {"s1v0"} and members["s1v0"].readings == 3
    check = inv.fence_leaks(totals, ["f0", "s0v0"], members)
    assert not check.ok and check.detail["fence_leaks"] == 1
    assert any("f0 received 1 gossip" in v for v in check.violations)
    assert any("s0v0: its metrics were never read" in v for v in check.violations)
    clean = {"f0": inv.FenceReading(readings=4), "s0v0": inv.FenceReading(readings=2)}
    flowing = {"s1v0": inv.FenceReading(messages=40, readings=4)}
    assert inv.fence_leaks(clean, ["f0", "s0v0"], flowing).detail["fence_leaks"] == 0
    assert inv.fence_leaks(clean, ["f0", "s0v0"], flowing).ok
    blind = inv.fence_leaks(clean, ["f0", "s0v0"], {"s1v0": inv.FenceReading(readings=4)})
    assert blind.violations == (
        "the members themselves received no gossip of the fenced shard: the capture sees nothing",
    )


def test_an_outsider_must_be_refused_by_members_and_by_its_own_rpc() -> None:
    assert inv.outsiders_refused({"f0": 3}, {"f0": "refused"}).ok
    assert inv.outsiders_refused({"f0": 2}, {}).ok  # not running at the end: only the logs speak
    assert inv.outsiders_refused({"f0": 0}, {"f0": "refused"}).violations == (
        "no member refused f0: it never tried, or got in",
    )
    served = inv.outsiders_refused({"f0": 1}, {"f0": "served: {'number': '0x1'}"})
    assert served.violations == ("f0's RPC: served: {'number': '0x1'}",)
    assert not inv.outsiders_refused({"f0": 1}, {"f0": "unreachable: timed out"}).ok


def test_transfers_must_cross_a_fence_both_ways_and_be_credited_once() -> None:
    a, b, c = b"\x0a" * 20, b"\x0b" * 20, b"\x0c" * 20
    transfers = [(0, 1, a), (1, 0, b), (0, 0, c)]
    owed = {(a, 1): 5, (b, 0): 7, (c, 0): 1}
    check = inv.fenced_transfers(transfers, owed, dict(owed), {1})
    assert check.ok and check.detail["shard_1"] == {"into": 1, "out_of": 1}
    twice = inv.fenced_transfers(transfers, owed, {**owed, (b, 0): 14}, {1})
    assert twice.violations == (
        f"a transfer out of fenced shard 1: 0x{b.hex()} on shard 0 holds 14 atto, owed 7",
    )
    one_way = inv.fenced_transfers(transfers[:1], owed, owed, {1})
    assert one_way.violations == ("no cross-shard transfer out of fenced shard 1 was accepted",)
