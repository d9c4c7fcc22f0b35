"""Calibrate the network-scale model (``harmony sim network``) against a real namespaced testnet, in one run.

Run (root, for the namespaces): ``.venv/bin/python bench/scale.py`` (``--quick``: a short testnet run;
``--testnet-json FILE``: replay a recorded measurement instead). What it does:

1. **Measures the node's costs** on this machine: block execution of 1,000 plain transfers through our
   state transition (``bench/execution.py``'s block, state root included), one BLS verification, a
   400-signer aggregate verification, the beacon's per-crosslink work (the reward split ``block_dues`` over
   a 400-seat committee plus the aggregate verification).
2. **Measures a real testnet** in the same run (``bench/scale_testnet.py``, prefix ``--prefix``, default
   ``c19``): 2 shards × 4 validators on namespaces with ``testnets/small.toml``'s latency and bandwidth, no
   perturbations; an idle phase (the nodes' CPU per block), then a steady load with a cross-shard share:
   finalized TPS per shard, the median interval between heads, cross-shard latency from submission to
   credit, the nodes' CPU per transaction and what everything else used of the machine's cores.
3. **Runs the model** (``harmony.sim.calibration``) on the same conditions, its per-node CPU costs and
   the cores left for the nodes taken from step 2's measurements (nothing fitted to the ratio), and prints
   model, measured and their ratio for TPS, block interval and cross-shard latency; the issue's bar is a
   ratio within 0.8–1.2. It writes the costs as JSON (``--costs-out``; ``harmony sim network --costs``).
4. Times the model at 40,000 nodes (100 shards × 400) for 300 simulated seconds (goal: under 2 minutes).

The machine's load average is printed first and in the JSON: on a shared 2-core machine the testnet's
figures reflect it. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scale_testnet  # bench/scale_testnet.py
from execution import genesis_store, our_block, run_ours, sender_keys, transfer_plan  # bench/execution.py

from harmony.chain.params import ONE
from harmony.chain.staking.rewards import block_dues
from harmony.cli.common import CLIError
from harmony.cli.sim import costs_from_file
from harmony.crypto import bls
from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.sim.calibration import calibrate, comparison_table, parse_testnet_figures
from harmony.sim.network_scale import NodeCosts, net_presets, simulate
from harmony.sim.reporting import ParameterError
from harmony.testnet.network import namespaces_available
from harmony.types.shard_state import Committee, Slot

SCENARIO = scale_testnet.SCENARIO
MAX_FIGURES_FILE = 4 << 20


def _best(fn: Any, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_costs() -> NodeCosts:
    """The node's costs on this machine (module docstring, 1)."""
    keys = sender_keys(200)
    store, root = genesis_store(keys)
    block = our_block(store, root, keys, transfer_plan(1_000, 200))
    exec_s = _best(lambda: run_ours(store, root, block))
    secret = bls.SecretKey.key_gen(keccak256(b"bench-scale"))
    message = keccak256(b"block")
    signature = secret.sign(message)
    verify_s = _best(lambda: [bls.verify(secret.public_key, message, signature) for _ in range(20)]) / 20
    signers = [bls.SecretKey.key_gen(keccak256(b"s" + i.to_bytes(2, "big"))) for i in range(400)]
    public = [s.public_key for s in signers]
    aggregate = bls.aggregate_signatures([s.sign(message) for s in signers])
    agg_s = _best(lambda: bls.fast_aggregate_verify(public, message, aggregate))
    committee = Committee(
        1,
        tuple(
            Slot(keccak256(p.to_bytes())[:20], p.to_bytes(), Dec.from_int((i % 7 + 1) * 10**22))
            for i, p in enumerate(public)
        ),
    )
    dues_s = _best(lambda: block_dues(committee, range(400), 7 * ONE, Dec.from_str("0.6")))
    return NodeCosts(
        exec_tx_per_s=1_000 / exec_s,
        verify_sig_s=verify_s,
        agg_verify_s=agg_s,
        crosslink_s=agg_s + dues_s,
    )


def calibration_figures(args: argparse.Namespace) -> dict[str, Any] | str:
    """The testnet's measured figures: from this run (module docstring, 2) or, with ``--testnet-json``, a
    recorded run's; a string says why there are none."""
    if args.testnet_json:
        path = Path(args.testnet_json)
        try:
            if path.stat().st_size > MAX_FIGURES_FILE:
                return f"--testnet-json {path}: larger than {MAX_FIGURES_FILE} bytes"
            recorded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8").strip().splitlines()[-1])
        except (OSError, UnicodeDecodeError, ValueError, IndexError) as exc:
            return f"--testnet-json {path}: not a readable JSON object ({exc})"
        print(f"testnet figures replayed from {path} (a recorded run, not this one)", flush=True)
        return recorded
    if args.skip_testnet:
        return "--skip-testnet"
    reason = namespaces_available()
    if reason is not None:
        return f"a namespaced testnet cannot run here ({reason}); run as root"
    print(
        f"testnet: 2 shards x 4 validators on namespaces (prefix {args.prefix}), {SCENARIO.name}'s links, "
        f"{args.testnet_rate:.0f} tx/s ({args.cross_share:.0%} cross-shard) for {args.testnet_seconds:.0f} s "
        f"after {args.idle_seconds:.0f} s idle …",
        flush=True,
    )
    try:
        figures = scale_testnet.run_from_args(args)
    except Exception as exc:
        return f"the testnet run failed: {type(exc).__name__}: {str(exc)[:600]}"
    print(scale_testnet.summary(figures), flush=True)
    Path(args.testnet_out).write_text(json.dumps(figures) + "\n", encoding="utf-8")
    print(f"  wrote {args.testnet_out} (replay it with --testnet-json)", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--costs-out", default="scale-costs.json", help="where to write the measured costs")
    parser.add_argument("--quick", action="store_true", help="a short testnet run (40 s loaded, 10 s idle)")
    parser.add_argument("--skip-testnet", action="store_true", help="no testnet: costs and the 40k timing")
    parser.add_argument(
        "--testnet-json", metavar="FILE", help="replay a recorded testnet measurement instead of running one"
    )
    parser.add_argument("--costs", metavar="FILE", help="take the in-process costs from FILE (skip step 1)")
    parser.add_argument(
        "--testnet-out", default="scale-testnet.json", help="where to write the testnet's measured figures"
    )
    parser.add_argument("--skip-40k", action="store_true", help="skip timing the model at 40,000 nodes")
    scale_testnet.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.testnet_seconds, args.idle_seconds = 40, 10
    complaint = scale_testnet.check_arguments(args)
    if complaint:
        parser.error(complaint)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")

    if args.costs:
        print(f"node costs from {args.costs} (measured earlier, not in this run)", flush=True)
        try:
            costs = costs_from_file(args.costs)
        except CLIError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        print("measuring node costs …", flush=True)
        costs = measure_costs()
    for name, value in asdict(costs).items():
        print(f"  {name:14s} {value:.6g}")

    raw = calibration_figures(args)
    report: dict[str, Any] = {"calibration": [], "within_20_percent": False}
    if isinstance(raw, str):
        print(f"no calibration: {raw}", flush=True)
        report["testnet"] = raw
    else:
        try:
            figures = parse_testnet_figures(raw)
        except ParameterError as exc:
            print(f"the testnet figures are malformed: {exc}", flush=True)
            return 1
        cal = calibrate(figures, costs)
        costs = cal.costs
        print(
            f"model on the same conditions: {cal.scenario.shards} shards x {cal.scenario.nodes_per_shard}, "
            f"{cal.scenario.latency_ms:.0f} ms, {cal.scenario.uplink_mbps:.0f} Mbit/s, "
            f"{cal.scenario.offered_tps:.1f} tx/s offered, {cal.scenario.shared_cores:.2f} cores left for "
            f"the nodes (the rest busy with other work: {figures.other_cpu_s / figures.window_s:.2f}), "
            f"CPU per node {costs.block_cpu_s * 1e3:.0f} ms per block + {costs.tx_cpu_s * 1e3:.2f} ms per tx"
        )
        print(comparison_table(cal.rows))
        report["calibration"] = [
            {
                "figure": r.figure,
                "model": round(r.model, 3),
                "measured": round(r.measured, 3),
                "ratio": round(r.ratio, 3),
            }
            for r in cal.rows
        ]
        report["within_20_percent"] = cal.within
        report["testnet"] = {
            "tps_per_shard": [round(s.txs / figures.window_s, 2) for s in figures.per_shard],
            "median_block_interval_s": round(figures.median_block_interval_s, 3),
            "cross_p50_s": round(figures.cross_p50_s, 3),
            "cross_timed": len(figures.cross_latencies_s),
            "cores_for_nodes": round(cal.scenario.shared_cores, 3),
            "other_cores_busy": round(figures.other_cpu_s / figures.window_s, 3),
        }
    report["costs"] = asdict(costs)
    report["load_average"] = [round(v, 2) for v in os.getloadavg()]
    Path(args.costs_out).write_text(json.dumps(asdict(costs), indent=2) + "\n", encoding="utf-8")
    print(f"  wrote {args.costs_out}")

    if args.skip_40k:
        print(json.dumps(report, sort_keys=True), flush=True)
        return 0
    print("model at 100 shards x 400 nodes, 300 simulated seconds …", flush=True)
    start = time.perf_counter()
    big = simulate(net_presets()["today-40k"], costs)
    wall = time.perf_counter() - start
    print(
        f"  {big.scenario.nodes:,} nodes: {big.tps:,.0f} TPS, block time {big.block_time_s:.2f} s, "
        f"cross-shard p50 {big.cross_p50_s:.2f} s, {big.bytes_per_node_s / 1e6:.2f} MB/node/s; "
        f"simulated in {wall:.1f} s (goal < 120 s)"
    )
    report.update(
        {
            "nodes_40k_wall_s": round(wall, 1),
            "nodes_40k_tps": round(big.tps),
        }
    )
    print(json.dumps(report, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
