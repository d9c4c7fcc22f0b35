"""``make test-long``: 20 generated manifests (seeds 1-20, 3 perturbations each, 40-120 ms between regions,
10-50 Mbit/s per node) run on network namespaces; none may break safety or lose or duplicate a transaction.

Each run's one-line summary is printed (``pytest -s``) and its report kept under the test's folder; the
liveness figures (recovery after each heal against 2 view-change timeouts + 2 block times) are in there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.testnet.generate import generate_manifest
from harmony.testnet.network import down_all, namespaces_available

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(namespaces_available() is not None, reason=f"{namespaces_available()}"),
]


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"g{os.getpid() % 100000}"
    yield name
    down_all(name)


@pytest.mark.parametrize("seed", range(1, 21))
def test_a_generated_manifest_keeps_safety(seed: int, tmp_path: Path, prefix: str) -> None:
    manifest = tmp_path / f"seed{seed}.toml"
    manifest.write_text(generate_manifest(seed), encoding="utf-8")
    root = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "harmony.cli.main", "testnet", "run", str(manifest), "--dir", str(root),
         "--prefix", prefix, "--seed", str(seed)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    assert lines, out.stderr[-3000:]
    summary = json.loads(lines[-1])
    print(json.dumps({"seed": seed, **summary}))
    assert summary["safety_violations"] == 0, summary
    assert summary["lost_transactions"] == 0, summary
    assert summary["duplicated_transactions"] == 0, summary
    assert summary["perturbations"] >= 3, summary
