"""A running node prunes its own state (harmony.node.pruning); its directory can be inspected while it
runs but not pruned from outside. One single-validator devnet with fast blocks. (That a pruned state
answers the RPC's typed error is tested on a real LMDB chain of transfers in tests/unit/storage.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .devnet_fixture import Devnet, rpc, running_devnet

pytestmark = pytest.mark.e2e

ROUND_TIMEOUT = 240
"""Seconds to wait for the first round: 65 blocks at 0.2 s, slower on a loaded 2-core machine."""


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    root: Path = tmp_path_factory.mktemp("devnet-prune")
    with running_devnet(root, "--shards", "1", "--validators", "1", "--block-time-ms", "200") as net:
        yield net


def _harmony(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harmony.cli.main", *args], check=False, capture_output=True, text=True
    )


def test_a_running_node_prunes_and_its_directory_is_read_not_pruned(devnet: Devnet) -> None:
    """The node's loop runs a round once its head passes 64 blocks (its log says what it kept and
    deleted); ``db inspect`` reads the running node's directory; ``db prune`` refuses it."""
    node = devnet.nodes(0)[0]
    log = Path(node["log"])
    deadline = time.monotonic() + ROUND_TIMEOUT
    while "pruned the state at head" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, (
            f"no pruning round in {ROUND_TIMEOUT} s: {log.read_text()[-2000:]}"
        )
        time.sleep(1)
    url = devnet.url(0, 0)
    account = devnet.manifest["funded_accounts"][0]["eth_address"]
    assert int(rpc(url, "eth_getBalance", [account, "0x0"]), 16) > 0  # genesis is kept
    assert int(rpc(url, "eth_getBalance", [account, "latest"]), 16) > 0

    datadir = Path(node["data_dir"])
    inspected = _harmony("db", "inspect", "--json", str(datadir))
    assert inspected.returncode == 0, inspected.stderr
    tables = {t["name"]: t["entries"] for t in json.loads(inspected.stdout)["tables"]}
    assert tables["headers"] > 64 and tables["state trie nodes and code"] > 0
    refused = _harmony("db", "prune", str(datadir))
    assert refused.returncode == 1 and "stop the node first" in refused.stderr
