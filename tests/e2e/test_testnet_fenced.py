"""``make test``, as root on network namespaces: ``harmony testnet run testnets/fenced.toml`` (issue 21).
Shard 1 is fenced to EU with its 4 validators in region eu; the full node f0 joins shard 1 from region us
without a seat. Across a kill of a fenced member, a partition of another member with the outsider and its
heal, and a kill and restart of the outsider, the capture of every outside node's counters finds nothing of
shard 1 (``fence_leaks: 0``) while the members' own counters show its gossip flowing; the members refuse
f0 and its RPC refuses the shard's data; cross-shard transfers into and out of shard 1 are each credited
exactly once; safety holds.

Every node is a real ``harmony node`` process in its own namespace, talking TCP through the delaying router.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.testnet.network import down_all, namespaces_available

from .test_testnet import leftovers, node_processes, run_manifest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(namespaces_available() is not None, reason=f"{namespaces_available()}"),
]

FENCED = Path(__file__).resolve().parents[2] / "testnets" / "fenced.toml"
"""The issue's fenced scenario, the file users run too."""


@pytest.fixture
def prefix() -> Iterator[str]:
    """A network prefix of this test alone; whatever a failing test left is removed afterwards."""
    name = f"z{os.getpid() % 100000}"
    yield name
    down_all(name)


# about 1-1.5 min on the 2-core machine at load 3-10 (start-up, 3 perturbations, settling)
def test_a_fenced_shard_leaks_nothing_to_outside_nodes_across_perturbations(
    tmp_path: Path, prefix: str
) -> None:
    root = tmp_path / "run"
    try:
        summary, report = run_manifest(FENCED, root, prefix)
        checks = {c["name"]: c for c in report["checks"]}
        failing = [c for c in report["checks"] if not c["ok"]]
        # the goal: nothing of shard 1 reached an outside node, while the members saw its gossip flow
        assert summary["fence_leaks"] == 0, failing
        leaks = checks["no fenced data to an outside node"]
        assert leaks["ok"], leaks
        assert leaks["member_messages"] > 0
        assert set(leaks["outside_nodes"]) == {"f0", "s0v0", "s0v1", "s0v2", "s0v3"}
        assert all(leaks["readings"][n] >= 3 for n in leaks["outside_nodes"]), leaks["readings"]
        # the outsider tried and was refused, by the members and by its own RPC
        refused = checks["outsiders refused by the fence"]
        assert refused["ok"], refused
        assert refused["member_refusals"]["f0"] > 0
        # transfers crossed the fence both ways, each credited exactly once; safety holds
        crossing = checks["cross-shard transfers into and out of a fence exactly once"]
        assert crossing["ok"], crossing
        assert crossing["shard_1"]["into"] > 0 and crossing["shard_1"]["out_of"] > 0
        assert summary["safety_violations"] == 0, failing
        assert summary["lost_transactions"] == 0, failing
        assert summary["duplicated_transactions"] == 0, failing
        for name in ("no fork", "no double sign", "no lost or duplicated credit", "supply conserved"):
            assert checks[name]["ok"], checks[name]
        assert summary["perturbations"] == 3
        assert all(blocks >= 5 for blocks in summary["blocks"].values()), summary
        assert "f0" not in report["chains_read"] and "s1v2" in report["chains_read"]
    finally:
        assert leftovers(prefix) == []
        assert node_processes(root) == []
