"""Tables, plot and report of network-scale runs (``harmony sim network``).

The report states the model and its assumptions (the docstring of :mod:`harmony.sim.network_scale`), the
node costs it was calibrated with, one row per scenario, the sustained TPS against the number of shards
(with the linear extrapolation of the smallest network beside it, and where the beacon chain saturates),
and the 2018 experiment's figures next to what the same network sustains in the model.
"""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path

from harmony.sim import network_scale
from harmony.sim.network_scale import NetResult, NodeCosts
from harmony.sim.reporting import markdown_table, pyplot, save_figure

EXPERIMENT_2018 = (
    "The 2018 experiment (harmony-one/experiment-deploy, `benchmark-mix40k.json`; seed 003 reports about "
    "114k TPS): 40,000 small cloud VMs in 100 shards of 400 nodes, 300 s, 50 % cross-shard, UTXO blocks of "
    "up to 20,000 transactions, no gas limit, TPS summed per leader over round time with idle time not "
    "counted, on Go nodes. Today's chain is different: EVM blocks of 30 M gas (at most 1,428 transfers, "
    "714 a second per shard at 2 s), and this node is Python."
)

_COLUMNS = (
    "scenario",
    "shards",
    "nodes",
    "tps",
    "tps_2018_method",
    "block_time_s",
    "round_s",
    "block_txs",
    "cross_p50_s",
    "cross_p99_s",
    "MB_per_node_s",
    "global_topic_%",
    "uplink_use_%",
    "beacon_backlog",
    "beacon_saturated",
)


def _cells(r: NetResult) -> list[str]:
    return [
        r.scenario.name,
        str(r.scenario.shards),
        f"{r.scenario.nodes:,}",
        f"{r.tps:,.0f}",
        f"{r.tps_2018_method:,.0f}",
        f"{r.block_time_s:.2f}",
        f"{r.round_s:.2f}",
        f"{r.block_txs:,.0f}",
        f"{r.cross_p50_s:.2f}",
        f"{r.cross_p99_s:.2f}",
        f"{r.bytes_per_node_s / 1e6:.2f}",
        f"{r.global_topic_share * 100:.0f}",
        f"{r.uplink_use * 100:.0f}",
        str(r.beacon_backlog),
        "yes" if r.beacon_saturated else "no",
    ]


def format_table(results: list[NetResult]) -> str:
    """A markdown table, one row per run."""
    return markdown_table(_COLUMNS, [_cells(r) for r in results])


def scaling_note(sweep: list[NetResult]) -> str:
    """Does TPS grow linearly with shards, and where does the beacon chain saturate?"""
    if len(sweep) < 2:
        return ""
    base = sweep[0]
    per_shard = base.tps / base.scenario.shards
    parts = []
    for r in sweep[1:]:
        linear = per_shard * r.scenario.shards
        parts.append(f"{r.scenario.shards} shards: {r.tps:,.0f} TPS, {r.tps / linear:.0%} of linear")
    saturated = [r.scenario.shards for r in sweep if r.beacon_saturated]
    where = (
        f"the beacon chain saturates from {saturated[0]} shards (its crosslink backlog grows)"
        if saturated
        else "the beacon chain keeps up at every size run"
    )
    over = [r.scenario.shards for r in sweep if r.uplink_use > 1]
    links = (
        f" From {over[0]} shards a node's traffic exceeds its median uplink"
        f" ({sweep[0].scenario.uplink_mbps:g} Mbit/s), almost all of it the network-wide topic every"
        " node follows: the TPS above that size assumes links the nodes do not have."
        if over
        else ""
    )
    return "; ".join(parts) + f". {where[0].upper()}{where[1:]}." + links


def write_report(
    results: list[NetResult], sweep: list[NetResult], costs: NodeCosts, out_dir: Path
) -> list[Path]:
    """Write ``network.md``, ``network.csv`` (every run) and ``network.png`` (TPS and bytes per node
    against shards)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model = (network_scale.__doc__ or "").split("Model (", 1)[-1]
    cost_lines = "\n".join(f"- `{k}` = {v:g}" for k, v in asdict(costs).items())
    markdown = out_dir / "network.md"
    markdown.write_text(
        "# Network-scale simulation\n\n## Model and assumptions\n\nModel (" + model.strip() + "\n\n"
        "Node costs used (measured on this machine by `bench/scale.py`, or the defaults):\n\n"
        + cost_lines
        + "\n\n## Scenarios\n\n"
        + format_table(results)
        + "\n\n## Sustained TPS against shards\n\n"
        + format_table(sweep)
        + "\n\n"
        + scaling_note(sweep)
        + "\n\n## The 2018 experiment\n\n"
        + EXPERIMENT_2018
        + "\n"
    )
    table = out_dir / "network.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_COLUMNS)
        writer.writerows(_cells(r) for r in [*results, *sweep])
    plot = out_dir / "network.png"
    _plot(sweep, plot)
    return [markdown, table, plot]


def _plot(sweep: list[NetResult], path: Path) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    if sweep:
        shards = [r.scenario.shards for r in sweep]
        left.plot(shards, [r.tps for r in sweep], marker="o", label="sustained TPS (model)")
        per_shard = sweep[0].tps / sweep[0].scenario.shards
        left.plot(shards, [per_shard * n for n in shards], linestyle="--", label="linear in shards")
        for r in sweep:
            if r.beacon_saturated:
                left.axvline(r.scenario.shards, color="red", linewidth=1, label="beacon saturated")
                break
        right.plot(shards, [r.bytes_per_node_s / 1e6 for r in sweep], marker="o", label="all traffic")
        right.plot(
            shards,
            [r.bytes_per_node_s * r.global_topic_share / 1e6 for r in sweep],
            marker=".",
            label="network-wide topic",
        )
        left.set_title(f"{sweep[0].scenario.nodes_per_shard} nodes per shard")
    left.set_xlabel("shards")
    left.set_ylabel("TPS")
    right.set_xlabel("shards")
    right.set_ylabel("MB per node per second")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    save_figure(plt, fig, path)


__all__ = ["EXPERIMENT_2018", "NetResult", "format_table", "scaling_note", "write_report"]
