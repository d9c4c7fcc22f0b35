"""``harmony sim``: the deterministic simulators.

* ``harmony sim consensus``: the FBFT simulator over many seeds (issue 4, item 6). Each seed's run is a pure
  function of the seed and the options, so a failing seed printed here replays exactly with
  ``harmony sim consensus --seed S --nodes K``.
* ``harmony sim resharding``: an adaptive join-leave adversary against the key-mod, random and Cuckoo
  assignment rules (issue 8, design §7); prints and writes a table and a plot.
* ``harmony sim network`` (alias ``scale``): a discrete-event model of a sharded network at 100 shards ×
  400 nodes and beyond, with the node's measured costs (issue 19); a report, CSV and plot.
* ``harmony sim economics``: years of issuance, staking, APR by position, burns and slashing on the chain's
  own staking rules, over scenarios and parameter sweeps (issue 19); a table, CSV and plots.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from harmony.cli.common import CLIError
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.sim import economics_report, network_report, resharding
from harmony.sim.consensus_sim import DEFAULT_NODES, SimOptions, replay_command, run_seed
from harmony.sim.economics import RunResult, run_scenario
from harmony.sim.economics_model import (
    Scenario,
    ScenarioError,
    load_scenario_file,
    parse_value,
    scenario_presets,
    with_values,
)
from harmony.sim.network_scale import (
    NetParameterError,
    NetScenario,
    NodeCosts,
    check_net_scenario,
    net_presets,
    parse_net_value,
    shard_sweep,
    simulate,
)
from harmony.sim.sweeps import SweepError, run_all

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


def _resharding(args: argparse.Namespace) -> int:
    options = resharding.QUICK if args.quick else resharding.ReshardingOptions()
    changes: dict[str, object] = {"seed": args.seed}
    if args.epochs is not None:
        if not 1 <= args.epochs <= 10_000:
            raise CLIError(f"--epochs {args.epochs}: must be between 1 and 10000")
        changes["epochs"] = args.epochs
    if args.trials is not None:
        if not 1 <= args.trials <= 100_000:
            raise CLIError(f"--trials {args.trials}: must be between 1 and 100000")
        changes["trials"] = (args.trials,) * len(options.sizes)
    if not 0.0 <= args.fraction < 1.0:
        raise CLIError(f"--fraction {args.fraction}: must be in [0, 1)")
    changes["fraction"] = args.fraction
    if not 0.0 <= args.churn <= 1.0:
        raise CLIError(f"--churn {args.churn}: must be in [0, 1]")
    changes["churn"] = args.churn
    if args.move_fraction is not None:
        try:
            move = Dec.from_str(args.move_fraction)
        except (HarmonyError, ValueError) as exc:
            raise CLIError(f"--move-fraction {args.move_fraction}: {exc}") from None
        if move.is_negative() or (Dec.one() - move).is_negative():
            raise CLIError(f"--move-fraction {args.move_fraction}: must be in [0, 1]")
        changes["move_fraction"] = move
    if args.evictions is not None:
        if not 0 <= args.evictions <= 1000:
            raise CLIError(f"--evictions {args.evictions}: must be between 0 and 1000")
        changes["evictions_per_join"] = args.evictions
    options = dataclasses.replace(options, **changes)  # type: ignore[arg-type]
    fenced = _fenced_scenario(args)

    def progress(line: str) -> None:
        print(f"  {line}", file=sys.stderr, flush=True)

    results = resharding.run_resharding(options, progress)
    if fenced is not None:
        results += resharding.run_fenced(options, fenced, progress)
    print(resharding.format_table(results))
    if args.out is not None:
        for path in resharding.write_report(results, options, Path(args.out), fenced):
            print(f"wrote {path}")
    return 0


def _fenced_scenario(args: argparse.Namespace) -> resharding.FencedScenario | None:
    if args.fenced_shards is None:
        return None
    if not 1 <= args.fenced_shards <= 10_000:
        raise CLIError(f"--fenced-shards {args.fenced_shards}: must be between 1 and 10000")
    share = args.fraction if args.attested_share is None else args.attested_share
    if not 0.0 <= share < 1.0:
        raise CLIError(f"--attested-share {share}: must be in [0, 1)")
    if not 0.0 <= args.attested_surplus <= 100.0:
        raise CLIError(f"--attested-surplus {args.attested_surplus}: must be in [0, 100]")
    return resharding.FencedScenario(args.fenced_shards, share, args.attested_surplus)


QUICK_ECONOMICS = {"years": "1", "validators": "30"}
"""What ``--quick`` changes in every scenario: a year of 30 validators (seconds)."""


def _pairs(options: list[str], flag: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise CLIError(f"{flag} {option!r}: expected NAME=VALUE")
        values[name.strip().replace("-", "_")] = value
    return values


def economics_scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios ``harmony sim economics`` runs for these arguments (presets, files, --set, --sweep)."""
    presets = scenario_presets()
    chosen: list[Scenario] = []
    for name in args.scenario or ([] if args.scenario_file else list(presets)):
        if name not in presets:
            raise CLIError(f"--scenario {name!r}: unknown; known: {', '.join(presets)}")
        chosen.append(presets[name])
    for path in args.scenario_file or []:
        chosen.append(load_scenario_file(Path(path)))
    changes = dict(QUICK_ECONOMICS) if args.quick else {}
    if args.years is not None:
        changes["years"] = str(args.years)
    changes.update(_pairs(args.set or [], "--set"))
    scenarios = [with_values(s, changes) for s in chosen]
    if args.sweep is None:
        return scenarios
    field, sep, values = args.sweep.partition("=")
    field = field.strip().replace("-", "_")
    points = [v for v in values.split(",") if v.strip()]
    if not sep or not points:
        raise CLIError(f"--sweep {args.sweep!r}: expected NAME=V1,V2,...")
    for point in points:
        parse_value(field, point)
    return [
        dataclasses.replace(with_values(s, {field: p}), name=f"{s.name} {field}={p.strip()}")
        for s in scenarios
        for p in points
    ]


def _economics(args: argparse.Namespace) -> int:
    try:
        scenarios = economics_scenarios(args)
    except ScenarioError as exc:
        raise CLIError(str(exc)) from None
    try:
        results: list[RunResult] = run_all(
            run_scenario, scenarios, workers=_workers(args), scheduler=args.scheduler, label="scenarios"
        )
    except SweepError as exc:
        raise CLIError(str(exc)) from None
    last = max(r.scenario.years for r in results)
    print(economics_report.format_table(results, years=(1, last)))
    print()
    print(economics_report.format_issuance(results))
    if args.out is not None:
        for path in economics_report.write_report(results, Path(args.out)):
            print(f"wrote {path}")
    return 0


QUICK_NETWORK = {"shards": "8", "nodes_per_shard": "40", "duration_s": "30"}
"""What ``--quick`` changes in every network scenario (seconds; for tests)."""
DEFAULT_NETWORK_SCENARIOS = ("harmony-2018", "today-40k", "mainnet")
MAX_COSTS_FILE = 65_536


def _shard_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CLIError(f"--sweep-shards {text!r}: comma-separated shard counts, e.g. 1,10,100") from None
    if not counts or any(c < 1 for c in counts):
        raise CLIError(f"--sweep-shards {text!r}: shard counts are at least 1")
    return sorted(set(counts))


OPTIONAL_COSTS = ("block_cpu_s", "tx_cpu_s")
"""Costs measured on a testnet (``bench/scale.py``): 0 means not counted."""


def costs_from_file(path: str | None) -> NodeCosts:
    """The node costs in the JSON file ``path`` (the defaults without one); CLIError names a bad one."""
    if path is None:
        return NodeCosts()
    file = Path(path)
    try:
        if file.stat().st_size > MAX_COSTS_FILE:
            raise CLIError(f"--costs {path}: larger than {MAX_COSTS_FILE} bytes")
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CLIError(f"--costs {path}: not a readable JSON object ({exc})") from None
    known = {f.name for f in dataclasses.fields(NodeCosts)}
    if not isinstance(data, dict):
        raise CLIError(f"--costs {path}: a JSON object of cost figures")
    values: dict[str, float] = {}
    for key, value in data.items():
        if key not in known:
            continue
        least = 0 if key in OPTIONAL_COSTS else 1e-12
        if not isinstance(value, int | float) or isinstance(value, bool) or not least <= value < 1e9:
            kind = "0 or a positive number" if key in OPTIONAL_COSTS else "a positive number"
            raise CLIError(f"--costs {path}: {key} must be {kind}")
        values[key] = float(value)
    return NodeCosts(**values)


def network_scenarios(args: argparse.Namespace) -> tuple[list[NetScenario], list[NetScenario]]:
    """The scenarios and the shard sweep ``harmony sim network`` runs for these arguments."""
    presets = net_presets()
    names = args.scenario or list(DEFAULT_NETWORK_SCENARIOS)
    changes = dict(QUICK_NETWORK) if args.quick else {}
    changes.update(_pairs(args.set or [], "--set"))
    parsed = {name: parse_net_value(name, value) for name, value in changes.items()}
    chosen: list[NetScenario] = []
    for name in names:
        if name not in presets:
            raise CLIError(f"--scenario {name!r}: unknown; known: {', '.join(presets)}")
        chosen.append(check_net_scenario(dataclasses.replace(presets[name], **parsed)))
    if args.sweep_shards == "none":
        return chosen, []
    base_name = args.sweep_base
    if base_name not in presets:
        raise CLIError(f"--sweep-base {base_name!r}: unknown; known: {', '.join(presets)}")
    sweep_changes = dict(parsed)
    if "duration_s" not in changes:
        sweep_changes["duration_s"] = 60.0
    base = check_net_scenario(dataclasses.replace(presets[base_name], **sweep_changes))
    counts = _shard_counts(args.sweep_shards or ("2,4,8" if args.quick else "2,10,50,100,200"))
    return chosen, [check_net_scenario(s) for s in shard_sweep(base, counts)]


def _run_network(pair: tuple[NetScenario, NodeCosts]) -> object:
    return simulate(pair[0], pair[1])


def _network(args: argparse.Namespace) -> int:
    try:
        scenarios, sweep = network_scenarios(args)
    except NetParameterError as exc:
        raise CLIError(str(exc)) from None
    costs = costs_from_file(args.costs)
    jobs = [(s, costs) for s in [*scenarios, *sweep]]
    try:
        results = run_all(
            _run_network, jobs, workers=_workers(args), scheduler=args.scheduler, label="networks"
        )
    except SweepError as exc:
        raise CLIError(str(exc)) from None
    ran = [r for r in results if isinstance(r, network_report.NetResult)]
    print(network_report.format_table(ran[: len(scenarios)]))
    if sweep:
        print()
        print(network_report.format_table(ran[len(scenarios) :]))
        print(network_report.scaling_note(ran[len(scenarios) :]))
    if args.out is not None:
        for path in network_report.write_report(
            ran[: len(scenarios)], ran[len(scenarios) :], costs, Path(args.out)
        ):
            print(f"wrote {path}")
    return 0


def _register_network(sims: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    network = sims.add_parser(
        "network",
        aliases=["scale"],
        help="network-scale model: TPS against shards, cross-shard latency, bytes per node (100 x 400 up)",
        description=(
            "A seeded discrete-event model of a sharded network: per shard FBFT rounds with the node's "
            "measured execution and BLS costs, block propagation by RaptorQ or gossip over each node's "
            "uplink and latency; across shards the cross-shard proofs and crosslinks on the network-wide "
            "topic, the beacon chain's crosslink work, epoch changes and resharding. Scenarios: "
            + ", ".join(net_presets())
            + ". Prints one row per scenario and a sweep of shard counts; --out writes network.md (the "
            "model, its assumptions and the comparison with the 2018 experiment), network.csv and "
            "network.png."
        ),
    )
    network.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help=f"a scenario (repeatable; default {', '.join(DEFAULT_NETWORK_SCENARIOS)})",
    )
    network.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="change a parameter in every scenario (repeatable)",
    )
    network.add_argument(
        "--sweep-shards",
        metavar="N1,N2,...",
        help="shard counts of the sweep (default 2,10,50,100,200; 'none' skips it)",
    )
    network.add_argument(
        "--sweep-base",
        default="today-40k",
        metavar="NAME",
        help="scenario the sweep varies (default today-40k)",
    )
    network.add_argument("--costs", metavar="FILE", help="node costs as JSON (bench/scale.py writes one)")
    network.add_argument("--out", metavar="DIR", help="write network.md, network.csv and network.png")
    network.add_argument(
        "--quick", action="store_true", help="8 shards x 40 nodes for 30 s and a small sweep (for tests)"
    )
    _add_parallel(network)
    network.set_defaults(func=_network)


def _workers(args: argparse.Namespace) -> int:
    """``--workers``, or its default: 2, or 0 with ``--quick`` (a local cluster takes longer to start than
    the quick runs take)."""
    return int(args.workers) if args.workers is not None else (0 if args.quick else 2)


def _add_parallel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="Dask worker processes on this machine (default 2, 0 with --quick; 0 runs in this process)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786"
    )


def _register_economics(sims: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    economics = sims.add_parser(
        "economics",
        help="token economics: issuance, staking ratio, APR by position, burns, slashing over years",
        description=(
            "Simulate years of EPoS economics on the chain's own staking rules (election with the median "
            "clamp, block rewards and commission, availability, slashing), one step a month: delegation "
            "flows towards a target staking ratio, flaky and double-signing validators, fee burn. Scenarios: "
            + ", ".join(scenario_presets())
            + ". Prints the first and last year of each scenario and each era's issuance; --out writes "
            "economics.md, economics.csv and economics.png."
        ),
    )
    economics.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="a built-in scenario (repeatable; default all five)",
    )
    economics.add_argument(
        "--scenario-file",
        action="append",
        metavar="FILE",
        help='a JSON scenario: {"name": "x", "base": "mainnet", "target_staking_ratio": "0.6", ...}',
    )
    economics.add_argument("--years", type=int, metavar="N", help="years to simulate (default 10)")
    economics.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="change a parameter in every scenario (repeatable)",
    )
    economics.add_argument(
        "--sweep", metavar="NAME=V1,V2,...", help="run every scenario at each value of one parameter"
    )
    economics.add_argument("--out", metavar="DIR", help="write economics.md, economics.csv and economics.png")
    economics.add_argument(
        "--quick", action="store_true", help="one year of 30 validators (seconds; for tests)"
    )
    _add_parallel(economics)
    economics.set_defaults(func=_economics)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sim`` subcommand with its ``consensus`` simulator."""
    parser = sub.add_parser(
        "sim",
        help="deterministic simulations (consensus, resharding, economics, network scale)",
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

    reshard = sims.add_parser(
        "resharding",
        help="how far a join-leave adversary concentrates under key-mod, random and Cuckoo assignment",
        description=(
            "Simulate many epochs of seat assignment at the mainnet size (4 shards x 250 seats) and at "
            "100 shards x 400 seats. An adversary holding a fraction of the seats withdraws them from every "
            "shard but its strongest each epoch and rejoins under fresh keys; honest seats churn too. For "
            "each rule (key mod shards, random vacancies, the Cuckoo rule) report the largest adversarial "
            "share seen in any shard and the estimated probability that some shard reaches 1/3."
        ),
    )
    reshard.add_argument("--epochs", type=int, metavar="N", help="epochs per trial (default 50)")
    reshard.add_argument(
        "--trials", type=int, metavar="N", help="trials per network size (default 200 at 4x250, 8 at 100x400)"
    )
    reshard.add_argument(
        "--fraction", type=float, default=0.25, metavar="F", help="adversary's share of seats (default 0.25)"
    )
    reshard.add_argument(
        "--churn",
        type=float,
        default=0.02,
        metavar="F",
        help="honest seats replaced per epoch (default 0.02)",
    )
    reshard.add_argument("--move-fraction", metavar="F", help="Cuckoo move fraction (default 0.125)")
    reshard.add_argument("--evictions", type=int, metavar="K", help="Cuckoo evictions per join (default 4)")
    reshard.add_argument("--seed", type=int, default=0, metavar="S", help="simulation seed (default 0)")
    reshard.add_argument(
        "--out", metavar="DIR", help="write resharding.md, resharding.csv and resharding.png"
    )
    reshard.add_argument("--quick", action="store_true", help="a small, seconds-long run (for tests)")
    reshard.add_argument(
        "--fenced-shards",
        type=int,
        metavar="G",
        help="add the fenced scenario (country fences): G shards filled only from an attested pool",
    )
    reshard.add_argument(
        "--attested-share",
        type=float,
        metavar="F",
        help="the adversary's share of the attested pool (default: --fraction)",
    )
    reshard.add_argument(
        "--attested-surplus",
        type=float,
        default=0.0,
        metavar="U",
        help="attested seats beyond the fenced seats, as a share of them (default 0)",
    )
    reshard.set_defaults(func=_resharding)
    _register_economics(sims)
    _register_network(sims)
