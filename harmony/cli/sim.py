"""``harmony sim consensus``: run the deterministic FBFT simulator over many seeds (issue 4, item 6).

Each seed's run is a pure function of the seed and the options, so a failing seed printed here replays
exactly with ``harmony sim consensus --seed S --nodes K``.
"""

from __future__ import annotations

import argparse

from harmony.cli.common import CLIError
from harmony.sim.consensus_sim import DEFAULT_NODES, SimOptions, replay_command, run_seed

MAX_NODES = 100
"""Largest simulated committee: each node is a full core with real BLS, so larger runs take minutes."""
MAX_SEEDS = 1_000_000


def _consensus(args: argparse.Namespace) -> int:
    if not 1 <= args.nodes <= MAX_NODES:
        raise CLIError(f"--nodes {args.nodes}: must be between 1 and {MAX_NODES}")
    if args.seeds is not None and not 1 <= args.seeds <= MAX_SEEDS:
        raise CLIError(f"--seeds {args.seeds}: must be between 1 and {MAX_SEEDS}")
    if args.seed is not None and args.seed < 0:
        raise CLIError(f"--seed {args.seed}: must not be negative")
    count = args.seeds if args.seeds is not None else (1 if args.seed is not None else 100)
    first = args.seed if args.seed is not None else 0
    options = SimOptions(nodes=args.nodes, faults=not args.no_faults)
    failed: list[int] = []
    blocks = 0
    for seed in range(first, first + count):
        result = run_seed(seed, options)
        blocks += result.blocks_finalized
        status = "ok" if result.ok else "FAIL"
        print(
            f"seed {seed}: {status} height={result.height} blocks={result.blocks_finalized} "
            f"t={result.virtual_ms}ms trace={result.trace_hash[:16]} faults: {result.faults}"
        )
        if args.verbose or not result.ok:
            for line in result.details():
                print(f"    {line}")
        if not result.ok:
            failed.append(seed)
            print(f"    replay: {replay_command(seed, options)}")
    print(f"{count} seeds, {count - len(failed)} passed, {len(failed)} failed, {blocks} blocks finalized")
    if failed:
        for seed in failed:
            print(f"FAILED seed {seed}: replay with `{replay_command(seed, options)}`")
        return 1
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sim`` subcommand with its ``consensus`` simulator."""
    parser = sub.add_parser(
        "sim",
        help="deterministic simulations (consensus)",
        description="Deterministic, seeded simulations of the protocol.",
    )
    sims = parser.add_subparsers(dest="sim", metavar="SIMULATION", required=True)
    consensus = sims.add_parser(
        "consensus",
        help="run FBFT consensus under seeded faults and check safety and liveness",
        description=(
            "Run N consensus nodes in one process under a seeded scheduler with virtual time, message loss, "
            "duplication, reordering, partitions, crashes, clock skew and Byzantine nodes; check that no two "
            "blocks are finalized at one height, that every finalized block carries a valid >2/3 commit "
            "aggregate, that no honest node double-signs, and that blocks finalize again once the faults "
            "stop. Exits 1 if any seed fails."
        ),
    )
    consensus.add_argument("--seeds", type=int, metavar="N", help="seeds to run (default 100)")
    consensus.add_argument("--seed", type=int, metavar="S", help="first seed (alone: just this one)")
    consensus.add_argument(
        "--nodes", type=int, default=DEFAULT_NODES, metavar="K", help=f"nodes (default {DEFAULT_NODES})"
    )
    consensus.add_argument("--no-faults", action="store_true", help="run without any fault (a baseline)")
    consensus.add_argument("--verbose", action="store_true", help="print each seed's fault plan and counters")
    consensus.set_defaults(func=_consensus)
