"""The consensus simulator over many seeds: safety, validity of finality, no honest double sign, liveness.

``make test`` runs 220 seeds (22 chunks of 10, spread by xdist); ``make test-long`` runs 10,000 more. A
failing chunk names each failing seed with its replay command and violations; passing seeds print nothing.
"""

from __future__ import annotations

import argparse

import pytest

from harmony.cli import sim as sim_cli
from harmony.cli.main import main
from harmony.sim import consensus_sim
from harmony.sim.cluster import EPOCH_BLOCKS
from harmony.sim.consensus_sim import SeedResult, SimOptions, replay_command, run_seed

CHUNK = 10
SEEDS = 200
LONG_CHUNK = 100
LONG_SEEDS = 10_000


def _check(first: int, count: int, options: SimOptions) -> None:
    failures = []
    for seed in range(first, first + count):
        result = run_seed(seed, options)
        if not result.ok:
            failures.append(f"{replay_command(seed, options)}\n    " + "\n    ".join(result.violations[:5]))
    assert not failures, f"{len(failures)} seed(s) failed; replay with:\n" + "\n".join(failures)


@pytest.mark.parametrize("first", range(0, SEEDS, CHUNK))
def test_seeds(first: int) -> None:
    _check(first, CHUNK, SimOptions(nodes=4))


@pytest.mark.parametrize("first", range(0, 20, CHUNK))
def test_seeds_seven_nodes(first: int) -> None:
    _check(first, CHUNK, SimOptions(nodes=7))


@pytest.mark.slow
@pytest.mark.parametrize("first", range(SEEDS, SEEDS + LONG_SEEDS, LONG_CHUNK))
def test_seeds_long(first: int) -> None:
    _check(first, LONG_CHUNK, SimOptions(nodes=4 if first % 300 else 7))


def test_no_fault_baseline_finalizes_every_block_time() -> None:
    result = run_seed(0, SimOptions(faults=False))
    assert result.ok, result.violations
    assert result.blocks_finalized >= 10
    assert result.network["loss"] == 0 and result.network["partition"] == 0


@pytest.mark.parametrize("seed", [3, 12, 23])
def test_a_seed_replays_exactly(seed: int) -> None:
    a = run_seed(seed)
    b = run_seed(seed)
    assert a.trace_hash == b.trace_hash
    assert (a.height, a.virtual_ms, a.events, a.violations) == (
        b.height,
        b.virtual_ms,
        b.events,
        b.violations,
    )
    assert run_seed(seed + 1000).trace_hash != a.trace_hash


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="harmony")
    sim_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_prints_each_seed_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["sim", "consensus", "--seeds", "2", "--nodes", "4", "--no-faults"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "seed 0: ok" in out and "seed 1: ok" in out
    assert "2 seeds, 2 passed, 0 failed" in out


def test_cli_exits_non_zero_and_prints_the_replay_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = consensus_sim.run_seed

    def broken(seed: int, options: SimOptions | None = None) -> SeedResult:
        result = real(seed, options)
        if seed == 6:
            result.ok = False
            result.violations = ["two blocks finalized at height 1 (injected)"]
        return result

    monkeypatch.setattr(sim_cli, "run_seed", broken)
    args = _parse(["sim", "consensus", "--seed", "5", "--seeds", "2", "--nodes", "4", "--no-faults"])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "seed 6: FAIL" in out
    assert "harmony sim consensus --seed 6 --nodes 4 --no-faults" in out
    assert "VIOLATION: two blocks finalized at height 1 (injected)" in out


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--nodes", "0"], "--nodes"),
        (["--nodes", "100000", "--seed", "1"], "--nodes"),
        (["--seeds", "-5"], "--seeds"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_cli_rejects_bad_arguments(argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "consensus", *argv]) == 1
    assert named in capsys.readouterr().err


def test_the_simulator_runs_the_nodes_driver() -> None:
    """Every simulated node runs harmony.node.consensus_driver: each epoch's last block names the next
    committee and every node's driver starts that epoch's core, and a node behind syncs through the driver."""
    result = run_seed(0, SimOptions(faults=False))
    assert result.ok, result.violations
    epochs_ended = result.blocks_finalized // EPOCH_BLOCKS
    assert epochs_ended >= 2
    assert result.driver["epoch_cores"] >= 4 * epochs_ended
    assert result.driver["blocks_committed"] >= 4 * result.blocks_finalized
    synced = [r for r in (run_seed(s) for s in (1, 4)) if r.driver["sync_requested"]]
    assert synced and all(r.ok for r in synced)
