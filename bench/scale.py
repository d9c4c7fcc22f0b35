"""Calibrate the network-scale model (``harmony sim network``) against the real node, in one run.

Run: ``.venv/bin/python bench/scale.py`` (``--quick``: shorter devnet runs). What it does:

1. **Measures the node's costs** on this machine: block execution of 1,000 plain transfers through our
   state transition (``bench/execution.py``'s block, state root included), one BLS verification, a
   400-signer aggregate verification, the beacon's per-crosslink work (the reward split ``block_dues`` over
   a 400-seat committee plus the aggregate verification). It writes them as JSON (``--costs-out``), which
   ``harmony sim network --costs FILE`` takes.
2. **Measures a real devnet** in the same run, as separate processes: ``bench/devnet.py`` (1 shard × 4
   validators, transfers at ``--rate`` for ``--seconds``: finalized TPS and block time) and
   ``bench/crossshard.py`` (2 shards × 4 validators: cross-shard latency and block time).
3. **Runs the model** on the same conditions (the ``devnet`` preset: every node on this machine's cores,
   loopback links) with the measured costs, and prints model, measured and their ratio for TPS, block time
   and cross-shard latency; the issue's bar is a ratio within 0.8–1.2.
4. Times the model at 40,000 nodes (100 shards × 400) for 300 simulated seconds (goal: under 2 minutes).

The devnet's transactions are admitted, executed and stored by every node of its shard, all on the same
cores, so the model's devnet preset shares the cores among the nodes. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from execution import genesis_store, our_block, run_ours, sender_keys, transfer_plan  # bench/execution.py

from harmony.chain.params import ONE
from harmony.chain.staking.rewards import block_dues
from harmony.crypto import bls
from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.sim.network_scale import NodeCosts, net_presets, simulate
from harmony.types.shard_state import Committee, Slot

BENCH = Path(__file__).resolve().parent


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


def _last_json(cmd: list[str], timeout: float) -> dict[str, Any]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _measure(script: str, *args: str) -> dict[str, Any]:
    """Run another benchmark of ``bench/`` as its own process; print and return its JSON line."""
    figures = _last_json([sys.executable, str(BENCH / script), *args], timeout=1800)
    print(f"  measured: {json.dumps(figures)}", flush=True)
    return figures


def _ratio(model: float, measured: float) -> float:
    return round(model / measured, 3) if measured else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=40, help="devnet load window (default 40 s)")
    parser.add_argument(
        "--rate", type=float, default=1200, help="offered transfers per second (default 1200)"
    )
    parser.add_argument("--transfers", type=int, default=16, help="cross-shard transfers timed (default 16)")
    parser.add_argument("--block-time-ms", type=int, default=1000)
    parser.add_argument("--costs-out", default="scale-costs.json", help="where to write the measured costs")
    parser.add_argument("--quick", action="store_true", help="short devnet runs")
    parser.add_argument("--skip-crossshard", action="store_true", help="only the load run (one devnet)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.transfers = 15, 6

    print("measuring node costs …", flush=True)
    costs = measure_costs()
    Path(args.costs_out).write_text(json.dumps(asdict(costs), indent=2) + "\n", encoding="utf-8")
    for name, value in asdict(costs).items():
        print(f"  {name:14s} {value:.6g}")
    print(f"  wrote {args.costs_out}")

    print(f"devnet: 1 shard x 4 validators, {args.rate:.0f} tx/s for {args.seconds:.0f} s …", flush=True)
    devnet = replace(net_presets()["devnet"], block_time_s=args.block_time_ms / 1000)
    rows: list[tuple[str, float, float]] = []
    block_time = ("--block-time-ms", str(args.block_time_ms))
    try:
        load = _measure("devnet.py", "--seconds", str(args.seconds), "--rate", str(args.rate), *block_time)
        model_load = simulate(
            replace(devnet, shards=1, offered_tps=args.rate, duration_s=args.seconds), costs
        )
        rows.append(("finalized TPS (1 shard)", model_load.tps, float(load["tps"])))
        rows.append(("block time s (1 shard, loaded)", model_load.block_time_s, float(load["block_time_s"])))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"  the load run failed: {str(exc)[:600]}", flush=True)
    if not args.skip_crossshard:
        print(f"devnet: 2 shards x 4 validators, {args.transfers} cross-shard transfers …", flush=True)
        try:
            cross = _measure("crossshard.py", "--transfers", str(args.transfers), *block_time)
            model_cross = simulate(replace(devnet, offered_tps=20.0, duration_s=120.0), costs)
            rows.append(("cross-shard latency p50 s", model_cross.cross_p50_s, float(cross["p50_latency_s"])))
            blocks = max(float(b) for b in cross["block_time_s"])
            rows.append(("block time s (2 shards)", model_cross.block_time_s, blocks))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"  the cross-shard run failed: {str(exc)[:600]}", flush=True)
    print(f"{'':34s}{'model':>10s}{'measured':>10s}{'ratio':>8s}")
    for label, model, measured in rows:
        print(f"{label:34s}{model:10.2f}{measured:10.2f}{_ratio(model, measured):8.2f}")

    print("model at 100 shards x 400 nodes, 300 simulated seconds …", flush=True)
    start = time.perf_counter()
    big = simulate(net_presets()["today-40k"], costs)
    wall = time.perf_counter() - start
    print(
        f"  {big.scenario.nodes:,} nodes: {big.tps:,.0f} TPS, block time {big.block_time_s:.2f} s, "
        f"cross-shard p50 {big.cross_p50_s:.2f} s, {big.bytes_per_node_s / 1e6:.2f} MB/node/s; "
        f"simulated in {wall:.1f} s (goal < 120 s)"
    )

    figures = {
        "costs": asdict(costs),
        "calibration": [
            {
                "figure": label,
                "model": round(model, 3),
                "measured": round(measured, 3),
                "ratio": _ratio(model, measured),
            }
            for label, model, measured in rows
        ],
        "within_20_percent": bool(rows) and all(0.8 <= _ratio(m, r) <= 1.2 for _, m, r in rows),
        "nodes_40k_wall_s": round(wall, 1),
        "nodes_40k_tps": round(big.tps),
    }
    print(json.dumps(figures, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
