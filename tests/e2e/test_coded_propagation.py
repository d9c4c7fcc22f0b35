"""Coded block propagation on a devnet of four validator processes (issue 16): blocks finalize with
``propagation = "raptorq"``, and still do when every node drops a third of the symbols it receives (the
members then fetch blocks by hash from the round)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.devnet_fixture import running_devnet

pytestmark = pytest.mark.e2e

ARGS = ("--shards", "1", "--validators", "4", "--block-time-ms", "1000", "--phase-timeout-ms", "5000")


def _finalizes(root: Path, *extra: str) -> str:
    """Start the devnet, wait for three more blocks on every node; all nodes' logs."""
    with running_devnet(root, *ARGS, "--propagation", "raptorq", *extra) as net:
        urls = [node["http"] for node in net.nodes()]
        start = max(net.height(url) for url in urls)
        for url in urls:
            net.wait_height(url, start + 3, timeout=180)
        return "\n".join(net.log(node["name"]) for node in net.nodes())


@pytest.mark.slow  # make test runs the lossy devnet below (the decoding path has its own p2p tests)
def test_blocks_finalize_with_raptorq_propagation(tmp_path: Path) -> None:
    logs = _finalizes(tmp_path)
    assert "first block sent coded" in logs
    assert "first coded block received (decoded)" in logs
    assert "Traceback" not in logs


def test_blocks_finalize_when_a_third_of_the_symbols_are_lost(tmp_path: Path) -> None:
    # 34 % lost is more than the 30 % repair overhead covers: members fetch blocks by hash.
    logs = _finalizes(tmp_path, "--drop-symbols-percent", "34")
    assert "drop_symbols_percent is on" in logs
    assert "first coded block received (fallback)" in logs
    assert "Traceback" not in logs
