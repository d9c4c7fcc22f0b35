"""The shipped Prometheus rules and Grafana dashboard only name metrics the node exports (no drift)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import trio

from harmony.crypto.bitmap import encode_bitmap
from tests.unit.ops.test_server import SECRET, _request, _serve, _service

DEPLOY = Path(__file__).parents[3] / "deploy"
NAME = re.compile(r"\b((?:hmy|process)_[a-z0-9_]+)")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _exported(tmp_path: Path) -> set[str]:
    service = _service(tmp_path)
    key = SECRET.public_key.to_bytes()
    service.tracker.observe(1, 0, [key], encode_bitmap([0], 1))
    service.book.update([], 0.0)
    out: dict[str, bytes] = {}

    async def body(port: int) -> None:
        await trio.sleep(1.5)  # one tick: alert and webhook series exist
        out["m"] = await _request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    _serve(service, body)
    names = set()
    for line in out["m"].split(b"\r\n\r\n", 1)[1].decode().splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_every_metric_the_deploy_files_use_is_exported(tmp_path: Path) -> None:
    exported = _exported(tmp_path)
    grafana = json.loads((DEPLOY / "grafana" / "harmony-dashboard.json").read_text())
    expressions = [t["expr"] for p in grafana["panels"] for t in p["targets"]]
    expressions.append((DEPLOY / "prometheus" / "harmony-alerts.yml").read_text())
    used = {name for text in expressions for name in NAME.findall(text)}
    assert used, "no metric names found"
    missing = {
        name
        for name in used
        if name not in exported and not any(name.removesuffix(s) + s in exported for s in HISTOGRAM_SUFFIXES)
    }
    assert not missing, f"used by deploy/ but not exported: {sorted(missing)}"
