"""Debian's real Prometheus against a real devnet: the shipped alerting rules (``deploy/prometheus/``)
pass ``promtool``, Prometheus scrapes every node's ``/metrics``, and ``HarmonyKeyMissingBlocks`` fires for
the key of a validator that was killed."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .devnet_fixture import SMALL, Devnet, running_devnet

pytestmark = pytest.mark.e2e

RULES = Path(__file__).parents[2] / "deploy" / "prometheus" / "harmony-alerts.yml"
STOPPED = "s0n3"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: `make test` installs Debian's prometheus package")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(base: str, path: str, **query: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(query)}" if query else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]


def test_promtool_accepts_the_shipped_rules_and_config() -> None:
    promtool = _tool("promtool")
    for what, path in (("rules", RULES), ("config", RULES.parent / "prometheus.yml")):
        command = [promtool, "check", what, str(path)]
        out = subprocess.run(command, check=False, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    with running_devnet(tmp_path_factory.mktemp("devnet-prom"), *SMALL) as net:
        yield net


@pytest.fixture(scope="module")
def prometheus(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _tool("prometheus")
    work: Path = tmp_path_factory.mktemp("prometheus")
    targets = [urllib.parse.urlsplit(n["metrics"]).netloc for n in devnet.nodes()]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "harmony", "static_configs": [{"targets": targets}]}],
    }
    (work / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    port = _free_port()
    log = (work / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except OSError as exc:  # Prometheus still starting
            last = exc
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout} s (last: {last})")


def test_prometheus_scrapes_every_node_and_the_rule_fires(devnet: Devnet, prometheus: str) -> None:
    names = {urllib.parse.urlsplit(n["metrics"]).netloc: n["name"] for n in devnet.nodes()}
    heads = _wait(
        lambda: [r for r in _api(prometheus, "/api/v1/query", query="hmy_chain_head_height")["result"]],
        90,
        "Prometheus did not scrape the nodes",
    )
    _wait(
        lambda: len(_api(prometheus, "/api/v1/query", query="hmy_chain_head_height > 0")["result"]) == 4,
        90,
        "not every node was scraped",
    )
    assert {names[r["metric"]["instance"]] for r in heads} <= set(names.values())
    key = next(n["bls_public_key"] for n in devnet.nodes() if n["name"] == STOPPED)
    killed_at = time.time()
    devnet.kill(STOPPED)

    def firing() -> list[dict[str, Any]]:
        alerts = _api(prometheus, "/api/v1/alerts")["alerts"]
        return [
            a
            for a in alerts
            if a["labels"]["alertname"] == "HarmonyKeyMissingBlocks"
            and a["labels"].get("key") == key
            and a["state"] == "firing"
        ]

    fired = _wait(firing, 150, "HarmonyKeyMissingBlocks did not fire for the killed validator")
    took = time.time() - killed_at
    print(f"\nPrometheus rule fired {took:.0f} s after the kill (rule: 5 in a row for 30 s)")
    assert {names[a["labels"]["instance"]] for a in fired} <= {"s0n0", "s0n1", "s0n2"}
