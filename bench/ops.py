"""Operators' endpoints: ``/metrics`` scrapes and the dashboard's first paint, in process and on a devnet.

1. In process, by committee size: an :class:`~harmony.ops.service.OpsService` over a real chain database
   (localnet genesis) counts 200 blocks of signing by a 250-key committee, watching 4 keys (a validator
   node), 10 (Harmony's most keys per node) or all 250 (a monitoring node), then renders ``/metrics`` and
   the dashboard's JSON 30 times each, in process and over HTTP through the real server (back-to-back
   scrapes: each one renders). Baseline: rendering only the Prometheus client's own process collector.
2. On a running 8-node devnet (``harmony devnet --shards 2 --validators 4``, as ``make devnet``), unless
   ``--no-devnet``: a scraper that scrapes one node's ``/metrics`` over HTTP every ``--every`` seconds, as
   Prometheus does (the node prepares each scrape on its tick), the first scrape of every node (rendered on
   request), and ``/healthz`` on the same node as the baseline of the HTTP path itself; then the
   dashboard's first contentful paint in Debian's chromium (Playwright) for every node's page, three loads
   each. The machine's load average is printed before and after.

Goals (issue 17): a scrape under 50 ms, first paint under 1 s on an 8-node devnet. The last line is one
JSON object.

    .venv/bin/python bench/ops.py            # both parts, about 3 minutes
    .venv/bin/python bench/ops.py --no-devnet
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trio
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

from harmony.chain.genesis import make_localnet_genesis
from harmony.crypto.bitmap import encode_bitmap
from harmony.node.blockchain import Blockchain
from harmony.node.status import NodeStatus
from harmony.ops.dashboard import dashboard_state
from harmony.ops.service import OpsService, OpsSettings
from harmony.storage import ChainDB, MemoryStore
from tests.e2e.devnet_fixture import Devnet, start_devnet

CHROMIUM = Path("/usr/bin/chromium")

RUNS = 30
BLOCKS = 200


def _median_ms(fn: object) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


COMMITTEE = 250


def _service(keys: int, data_dir: Path) -> OpsService:
    chain = Blockchain.open(ChainDB(MemoryStore()), make_localnet_genesis(keys_per_shard=4), 0)

    def status() -> NodeStatus:
        return NodeStatus(
            network="localnet",
            shard_id=0,
            version="bench",
            peer_id="bench",
            data_dir=data_dir,
            started_unix=0.0,
            head_number=BLOCKS,
            head_epoch=0,
            head_time=0,
            blocks_per_epoch=16384,
            view_id=BLOCKS,
            is_leader=False,
            highest_seen=BLOCKS,
            syncing=False,
            peers=10,
            topic_peers={"a": 10, "b": 10},
        )

    committee = [i.to_bytes(48, "big") for i in range(COMMITTEE)]
    service = OpsService(status, chain.db, OpsSettings(port=0, watched=tuple(committee[:keys])))
    rng = random.Random(7)
    for number in range(1, BLOCKS + 1):
        signers = [i for i in range(COMMITTEE) if rng.random() < 0.9]
        service.tracker.observe(number, 0, committee, encode_bitmap(signers, COMMITTEE))
    return service


async def _http_scrape_ms(service: OpsService) -> float:
    from harmony.ops.server import OpsServer  # noqa: PLC0415

    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    async with trio.open_nursery() as nursery:
        port = await nursery.start(OpsServer(service).serve, "127.0.0.1", 0)
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                await stream.send_all(request)
                while await stream.receive_some(1 << 16):
                    pass
            times.append((time.perf_counter() - start) * 1000)
        nursery.cancel_scope.cancel()
    return statistics.median(times)


def _get_ms(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def _first_paints(urls: list[str], loads: int) -> list[tuple[float, float]]:
    """(first contentful paint, the page's HTTP response from request to last byte) in ms of each page,
    ``loads`` fresh loads each, in Debian's chromium: what the node took, and what the browser added."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the devnet part needs it

    paints = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        for _ in range(loads):
            for url in urls:
                page = browser.new_page()
                page.goto(url)
                page.wait_for_selector("#keys tbody tr")
                paint, response = page.evaluate(
                    """() => {
                        const nav = performance.getEntriesByType('navigation')[0];
                        return [performance.getEntriesByName('first-contentful-paint')[0].startTime,
                                nav.responseEnd - nav.requestStart];
                    }"""
                )
                paints.append((float(paint), float(response)))
                page.close()
        browser.close()
    return paints


def devnet_figures(every: float, scrapes: int) -> dict[str, Any]:
    """Part 2 (module docstring) on a fresh 8-node devnet."""
    root = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    print(f"starting an 8-node devnet; load {_load()}", flush=True)
    net: Devnet = start_devnet(root, "--shards", "2", "--validators", "4")
    try:
        nodes = [n for shard in (0, 1) for n in net.nodes(shard)]
        for shard in (0, 1):
            net.wait_height(net.url(shard, 0), 3, timeout=300)
        load_before = _load()
        cold = [_get_ms(n["metrics"]) for n in nodes]
        target = nodes[1]
        health = target["metrics"].removesuffix("/metrics") + "/healthz"
        regular, baseline = [], []
        for _ in range(scrapes):
            time.sleep(every)
            regular.append(_get_ms(target["metrics"]))
            baseline.append(_get_ms(health))
        loads = _first_paints([n["dashboard"] for n in nodes], 3)
        paints = [paint for paint, _ in loads]
        responses = [response for _, response in loads]
        load_after = _load()
    finally:
        net.stop()
        shutil.rmtree(root, ignore_errors=True)
    figures = {
        "scrape_ms": round(statistics.median(regular), 2),
        "scrape_p90_ms": round(sorted(regular)[int(0.9 * (len(regular) - 1))], 2),
        "first_scrape_ms": round(statistics.median(cold), 2),
        "healthz_ms": round(statistics.median(baseline), 2),
        "scrape_over_healthz": round(statistics.median(regular) / statistics.median(baseline), 2),
        "first_paint_ms": round(statistics.median(paints), 1),
        "first_paint_max_ms": round(max(paints), 1),
        "page_response_ms": round(statistics.median(responses), 1),
        "load_before": load_before,
        "load_after": load_after,
    }
    print(
        f"devnet, 8 nodes: /metrics every {every:g} s over HTTP: median {figures['scrape_ms']} ms "
        f"(p90 {figures['scrape_p90_ms']} ms; {scrapes} scrapes); first scrape of each node (rendered on "
        f"request): median {figures['first_scrape_ms']} ms; /healthz (baseline) {figures['healthz_ms']} ms "
        f"(scrape {figures['scrape_over_healthz']}x baseline)"
    )
    print(
        f"dashboard first contentful paint: median {figures['first_paint_ms']} ms, max "
        f"{figures['first_paint_max_ms']} ms ({len(paints)} loads of 8 pages); of which the node's answer "
        f"(request to last byte of the page): median {figures['page_response_ms']} ms"
    )
    print(f"load average: before {load_before}, after {load_after}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-devnet", action="store_true", help="only the in-process part")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between scrapes (default 1)")
    parser.add_argument("--scrapes", type=int, default=40, help="scrapes of one node (default 40)")
    args = parser.parse_args()
    if not 0.1 <= args.every <= 60 or not 3 <= args.scrapes <= 10_000:
        print("--every: 0.1 to 60 seconds; --scrapes: 3 to 10000", file=sys.stderr)
        return 2
    if not args.no_devnet and not CHROMIUM.exists():
        print(
            "Debian's chromium is missing (make system-tools installs it), or pass --no-devnet",
            file=sys.stderr,
        )
        return 2
    baseline = CollectorRegistry()
    ProcessCollector(registry=baseline)
    baseline_ms = _median_ms(lambda: generate_latest(baseline))
    print(f"baseline (process collector only): {baseline_ms:.2f} ms per render")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for keys in (4, 10, 250):
            service = _service(keys, Path(tmp))
            size = len(service.exporter.render())
            metrics_ms = _median_ms(service.exporter.render)
            state_ms = _median_ms(
                lambda service=service: json.dumps(
                    dashboard_state(service.snapshot(), service.settings.thresholds)
                )
            )
            http_ms = trio.run(_http_scrape_ms, service)
            results[keys] = {
                "metrics_ms": round(metrics_ms, 2),
                "http_scrape_ms": round(http_ms, 2),
                "dashboard_state_ms": round(state_ms, 2),
                "metrics_bytes": size,
                "ratio_to_baseline": round(metrics_ms / baseline_ms, 1),
            }
            print(
                f"{keys:4d} watched keys: /metrics {metrics_ms:6.2f} ms in process, {http_ms:6.2f} ms over "
                f"HTTP ({size:,} bytes, {metrics_ms / baseline_ms:.1f}x baseline); "
                f"dashboard state {state_ms:6.2f} ms"
            )
    devnet = None if args.no_devnet else devnet_figures(args.every, args.scrapes)
    print(
        json.dumps(
            {"bench": "ops", "baseline_ms": round(baseline_ms, 3), "by_keys": results, "devnet": devnet}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
