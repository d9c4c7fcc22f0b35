"""A testnet run's report: ``report.md`` (a summary a person reads), ``report.json`` (everything measured),
``timeline.png`` (blocks per shard over time, view changes, perturbations marked) and the one-line JSON
summary the runner prints last."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harmony.testnet.invariants import Check
from harmony.testnet.perturb import Event

SAFETY = (
    "no fork",
    "no double sign",
    "no lost or duplicated credit",
    "contract calls counted once",
    "no fenced data to an outside node",
)
"""Checks whose violations count as safety violations in the summary."""


@dataclass
class RunResult:
    """Everything a run measured."""

    name: str
    substrate: str
    checks: list[Check]
    events: list[Event]
    samples: list[tuple[float, int, int]]
    views: list[tuple[float, int, int]]
    blocks: dict[int, int]
    lost: int
    duplicated: int
    recoveries_s: list[float]
    signing: dict[str, dict[str, float | int]]
    longest_gap_s: dict[int, int]
    transactions: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    chains_read: list[str] = field(default_factory=list)
    """Nodes whose whole chain was read for the checks."""
    fence_leaks: int | None = None
    """Fenced data that reached nodes outside the fence (None: nothing is fenced)."""

    @property
    def ok(self) -> bool:
        """Every check held, nothing failed and the run was not interrupted."""
        return all(c.ok for c in self.checks) and not self.errors and not self.interrupted

    def summary(self) -> dict[str, Any]:
        """The one-line JSON object (issue 15 §3)."""
        safety = sum(len(c.violations) for c in self.checks if c.name in SAFETY)
        fence = {} if self.fence_leaks is None else {"fence_leaks": self.fence_leaks}
        return {
            "testnet": self.name,
            "substrate": self.substrate,
            "ok": self.ok,
            "safety_violations": safety,
            "lost_transactions": self.lost,
            "duplicated_transactions": self.duplicated,
            "max_recovery_s": round(max(self.recoveries_s, default=0.0), 2),
            "perturbations": sum(1 for e in self.events if e.began is not None),
            "blocks": self.blocks,
            "failed_checks": [c.name for c in self.checks if not c.ok],
            **fence,
        }


def write_report(result: RunResult, folder: Path) -> dict[str, Path]:
    """Write the markdown, JSON and PNG reports into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": folder / "report.md", "json": folder / "report.json", "png": folder / "timeline.png"}
    paths["json"].write_text(json.dumps(_json(result), indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    timeline_png(result, paths["png"])
    return paths


def _json(result: RunResult) -> dict[str, Any]:
    return {
        "summary": result.summary(),
        "checks": [
            {"name": c.name, "ok": c.ok, "violations": list(c.violations), **c.detail} for c in result.checks
        ],
        "perturbations": [asdict(e) for e in result.events],
        "signing": result.signing,
        "longest_gap_s": result.longest_gap_s,
        "transactions": result.transactions,
        "recoveries_s": result.recoveries_s,
        "errors": result.errors,
        "chains_read": result.chains_read,
        "samples": result.samples,
    }


def markdown(result: RunResult) -> str:
    """The report a person reads."""
    s = result.summary()
    lines = [
        f"# Testnet `{result.name}` ({result.substrate})",
        "",
        f"**{'PASSED' if result.ok else 'FAILED'}**: {s['safety_violations']} safety violations, "
        f"{s['lost_transactions']} lost and {s['duplicated_transactions']} duplicated transactions, "
        f"longest recovery {s['max_recovery_s']} s, {s['perturbations']} perturbations"
        + ("." if result.fence_leaks is None else f", {result.fence_leaks} fence leaks."),
        "",
        "| check | result |",
        "|---|---|",
    ]
    for check in result.checks:
        lines.append(f"| {check.name} | {'ok' if check.ok else '; '.join(check.violations[:3])} |")
    lines += ["", "## Blocks", "", "| shard | blocks | longest gap while the load ran (s) |", "|---|---|---|"]
    for shard, count in sorted(result.blocks.items()):
        lines.append(f"| {shard} | {count} | {result.longest_gap_s.get(shard, 0)} |")
    lines += ["", "## Transactions", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(result.transactions.items())]
    lines += [
        "",
        "## Perturbations",
        "",
        "| kind | nodes | began (s) | healed (s) | note |",
        "|---|---|---|---|---|",
    ]
    for e in result.events:
        lines.append(f"| {e.kind} | {', '.join(e.nodes)} | {_s(e.began)} | {_s(e.healed)} | {e.note} |")
        for u in e.upgrades:
            back = "caught up" if u["caught_up"] is not None else "not caught up in time"
            if u.get("signing") is not None:
                back += f" at {_s(u['caught_up'])} s, signing from block {u['signed_height']}"
            elif u["caught_up"] is not None:
                back += ", not signing in time"
            healed = u.get("signing") if u.get("signing") is not None else u["caught_up"]
            line = f"| ↳ upgrade | {u['node']} | {_s(u['stopped'])} | {_s(healed)} | {back}"
            lines.append(f"{line}; build {u['build']} |")
    lines += [
        "",
        "## Signing",
        "",
        "Missed while out: blocks finalized between a validator's stop and its first signature after an "
        "upgrade; missed while running: the leader had finalized with 2/3 before its vote arrived.",
        "",
        "| validator | signed | missed | missed while out | missed while running | rate |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in sorted(result.signing.items()):
        lines.append(
            f"| {name} | {row['signed']} | {row['missed']} | {row.get('missed_out', '-')} "
            f"| {row.get('missed_late', '-')} | {row['rate']} |"
        )
    if result.errors:
        lines += ["", "## Errors", ""] + [f"- {e}" for e in result.errors]
    lines += ["", "![timeline](timeline.png)", ""]
    return "\n".join(lines)


def _s(value: object) -> str:
    return "-" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)


def timeline_png(result: RunResult, path: Path) -> None:
    """Blocks per shard over time (view changes as crosses), perturbations as shaded spans."""
    import matplotlib  # noqa: PLC0415 (heavy; only for the report)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(10, 4.5))
    shards = sorted({s for _, s, _ in result.samples})
    for shard in shards:
        pts = [(t, h) for t, s, h in result.samples if s == shard]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=f"shard {shard} height")
        changes = _view_changes(result.views, result.samples, shard)
        if changes:
            ax.scatter([c[0] for c in changes], [c[1] for c in changes], marker="x", color="red", zorder=3)
    for i, e in enumerate(result.events):
        if e.began is None:
            continue
        end = e.healed if e.healed is not None else e.began + 1
        ax.axvspan(e.began, max(end, e.began + 0.5), alpha=0.15, color=f"C{(i % 8) + 2}")
        ax.text(
            e.began, ax.get_ylim()[1] * (0.95 - 0.06 * (i % 5)), f"{e.kind} {','.join(e.nodes)}", fontsize=7
        )
    ax.set_xlabel("seconds since the load started")
    ax.set_ylabel("block height")
    ax.set_title(f"testnet {result.name}: blocks per shard (x: view change), perturbations shaded")
    if shards:
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _view_changes(
    views: Sequence[tuple[float, int, int]], samples: Sequence[tuple[float, int, int]], shard: int
) -> list[tuple[float, int]]:
    """Moments the head's view id jumped by more than its height did (a view change happened)."""
    heads = [(t, h) for t, s, h in samples if s == shard]
    vs = [(t, v) for t, s, v in views if s == shard]
    out = []
    for i in range(1, min(len(heads), len(vs))):
        dh = heads[i][1] - heads[i - 1][1]
        dv = vs[i][1] - vs[i - 1][1]
        if dv > dh:
            out.append((heads[i][0], heads[i][1]))
    return out
