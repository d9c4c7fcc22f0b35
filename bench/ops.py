"""Operators' endpoints: the cost of one ``/metrics`` scrape and one dashboard state, by committee size.

An :class:`~harmony.ops.service.OpsService` over a real chain database (localnet genesis) counts 200 blocks
of signing by a 250-key committee, watching 4 keys (a validator node), 10 (Harmony's most keys per node) or
all 250 (a monitoring node), then renders ``/metrics`` and the dashboard's JSON 30 times each, in process
and over HTTP through the real server.
Baseline from the same run: rendering only the Prometheus client's own process collector. The goal (issue
17) is a scrape under 50 ms. The last line is one JSON object.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

from harmony.chain.genesis import make_localnet_genesis
from harmony.crypto.bitmap import encode_bitmap
from harmony.node.blockchain import Blockchain
from harmony.node.status import NodeStatus
from harmony.ops.dashboard import dashboard_state
from harmony.ops.service import OpsService, OpsSettings
from harmony.storage import ChainDB, MemoryStore

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


def main() -> int:
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
    print(json.dumps({"bench": "ops", "baseline_ms": round(baseline_ms, 3), "by_keys": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
