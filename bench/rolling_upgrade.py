"""A rolling upgrade in the consensus simulator: the longest gap between blocks and the view changes, with the
leader rotation over the parent commit's signers (:mod:`harmony.consensus.leader`) against the rotation over
every candidate (the baseline, same run, same seeds).

Four validators, one key each, the testnet's timeouts (`testnets/rolling-upgrade.toml`: 1 s blocks, 5 s
phase and view-change timeouts, the node's backoff cap 2**2), 50 ± 20 ms one way; every validator in turn
is stopped for ``DOWN_S`` and restarted from its stores (the operator's upgrade), one every ``EVERY_S``.
Virtual time, real cores and BLS: the figures do not depend on the machine's load. The last line is one
JSON object.

    python bench/rolling_upgrade.py [SEEDS] [DOWN_S]
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from dataclasses import dataclass, field
from functools import partial

from harmony.crypto.bitmap import decode_bitmap
from harmony.sim.checkers import Finalized
from harmony.sim.cluster import Cluster, Observer
from harmony.sim.faults import no_fault_plan
from harmony.sim.scheduler import Scheduler

NODES = 4
FIRST_S = 10
EVERY_S = 20
BLOCK_TIME_MS = 1_000
TIMEOUT_MS = 5_000
BACKOFF = 2
"""The node's (``ConsensusConfig.max_backoff_exponent``)."""


@dataclass
class Run:
    """What one simulated rolling upgrade finalized."""

    first_ms: dict[int, int] = field(default_factory=dict)
    """Height → when the first node finalized it."""
    signers: dict[int, tuple[int, ...]] = field(default_factory=dict)
    views: dict[int, int] = field(default_factory=dict)

    def finalized(self, f: Finalized) -> None:
        number = f.header.number
        if number not in self.first_ms:
            self.first_ms[number] = f.at_ms
            self.signers[number] = decode_bitmap(f.bitmap, NODES)
            self.views[number] = f.header.view_id

    def longest_gap_ms(self, start_ms: int) -> int:
        times = sorted(t for t in self.first_ms.values() if t >= start_ms)
        return max((b - a for a, b in itertools.pairwise(times)), default=0)

    def failed_views(self) -> int:
        numbers = sorted(self.views)
        return sum(self.views[b] - self.views[a] - 1 for a, b in itertools.pairwise(numbers))


def simulate(seed: int, down_s: int, *, skip: bool) -> Run:
    """One rolling upgrade: node ``i`` down from ``FIRST_S + i·EVERY_S`` for ``down_s`` seconds."""
    rng = random.Random(seed)
    scheduler = Scheduler(rng)
    run = Run()
    cluster = Cluster(
        scheduler,
        rng,
        no_fault_plan(NODES),
        [1] * NODES,
        Observer(run.finalized, lambda _s: None, lambda _r, _k: None, lambda _l: None),
        phase_timeout_ms=TIMEOUT_MS,
        view_change_timeout_ms=TIMEOUT_MS,
        block_time_ms=BLOCK_TIME_MS,
        max_backoff_exponent=BACKOFF,
        skip_absent_leaders=skip,
    )
    for i in range(NODES):
        cluster.start_node(i)
        at = (FIRST_S + i * EVERY_S) * 1000
        scheduler.at(at, f"stop n{i}", partial(cluster.crash, i))
        scheduler.at(at + down_s * 1000, f"start n{i}", partial(cluster.start_node, i))
    scheduler.run_until((FIRST_S + NODES * EVERY_S) * 1000)
    return run


def main() -> None:
    """Print both rules' figures per seed and their ratio; the last line is one JSON object."""
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    down_s = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    out: dict[str, object] = {"seeds": seeds, "down_s": down_s, "block_time_ms": BLOCK_TIME_MS}
    for name, skip in (("every_candidate", False), ("present_candidates", True)):
        gaps, failed, blocks = [], [], []
        for seed in range(seeds):
            run = simulate(seed, down_s, skip=skip)
            gaps.append(run.longest_gap_ms(FIRST_S * 1000))
            failed.append(run.failed_views())
            blocks.append(len(run.first_ms))
        print(
            f"{name:>18}: longest gap {max(gaps) / 1000:.1f} s "
            f"(mean over seeds {sum(gaps) / len(gaps) / 1000:.1f} s), "
            f"failed views {sum(failed) / len(failed):.1f} per run, "
            f"{sum(blocks) / len(blocks):.0f} blocks per run"
        )
        out[name] = {
            "longest_gap_s": max(gaps) / 1000,
            "mean_longest_gap_s": round(sum(gaps) / len(gaps) / 1000, 2),
            "failed_views_per_run": round(sum(failed) / len(failed), 2),
            "blocks_per_run": round(sum(blocks) / len(blocks), 1),
        }
    base, new = out["every_candidate"], out["present_candidates"]
    assert isinstance(base, dict) and isinstance(new, dict)
    ratio = base["longest_gap_s"] / new["longest_gap_s"] if new["longest_gap_s"] else float("inf")
    print(f"longest gap: {ratio:.2f}x shorter with the rotation over the parent commit's signers")
    out["longest_gap_ratio"] = round(ratio, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
