"""Tables, CSV and plots of token-economics runs (``harmony sim economics``).

Yearly rows per scenario: supply at the year's end, ONE minted in the year, inflation (minted over the
supply at the year's start), staking ratio at the year's end, and the APR by position averaged over the
year's steps. The issuance table gives each era's annualized issuance (Harmony's schedule: 441.5 M ONE a
year in every era). Figures are converted to floats here only, for printing and plotting.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from harmony.chain.params import ONE
from harmony.encoding.fixed import Dec
from harmony.sim.economics import RunResult, StepFigures
from harmony.sim.economics_model import STEPS_PER_YEAR
from harmony.sim.reporting import markdown_table, pyplot, save_figure


def _f(value: Dec) -> float:
    return float(str(value))


@dataclass(frozen=True, slots=True)
class YearRow:
    """One scenario-year."""

    scenario: str
    year: int
    supply_one: float
    minted_one: float
    burned_one: float
    inflation: float
    staking_ratio: float
    apr_above: float
    apr_at: float
    apr_below: float
    apr_delegators: float
    apr_all: float
    elected: int
    banned: int


def _mean(values: list[Dec]) -> float:
    return sum(_f(v) for v in values) / len(values) if values else 0.0


def yearly(result: RunResult) -> list[YearRow]:
    """The run's steps grouped by year."""
    rows: list[YearRow] = []
    steps = result.steps
    for year in range(len(steps) // STEPS_PER_YEAR):
        chunk = steps[year * STEPS_PER_YEAR : (year + 1) * STEPS_PER_YEAR]
        minted = sum(s.minted for s in chunk)
        burned = sum(s.fees_burned + s.slashed_burned for s in chunk)
        start_supply = chunk[0].supply - chunk[0].minted + chunk[0].fees_burned + chunk[0].slashed_burned
        last = chunk[-1]
        rows.append(
            YearRow(
                scenario=result.scenario.name,
                year=year + 1,
                supply_one=last.supply / ONE,
                minted_one=minted / ONE,
                burned_one=burned / ONE,
                inflation=minted / start_supply,
                staking_ratio=_f(last.staking_ratio),
                apr_above=_mean([s.apr_above for s in chunk]),
                apr_at=_mean([s.apr_at for s in chunk]),
                apr_below=_mean([s.apr_below for s in chunk]),
                apr_delegators=_mean([s.apr_delegators for s in chunk]),
                apr_all=_mean([s.apr_all for s in chunk]),
                elected=last.elected,
                banned=last.banned,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class EraIssuance:
    """One era's issuance, annualized from the steps it lasted."""

    scenario: str
    era: str
    steps: int
    minted: int
    """Atto minted over the era."""

    @property
    def per_year_one(self) -> float:
        """ONE a year at this era's pace."""
        return self.minted * STEPS_PER_YEAR / self.steps / ONE


def era_issuance(result: RunResult) -> list[EraIssuance]:
    """Minted per era (consecutive steps with one era name)."""
    out: list[EraIssuance] = []
    group: list[StepFigures] = []
    for step in result.steps:
        if group and group[-1].era != step.era:
            out.append(
                EraIssuance(result.scenario.name, group[0].era, len(group), sum(s.minted for s in group))
            )
            group = []
        group.append(step)
    if group:
        out.append(EraIssuance(result.scenario.name, group[0].era, len(group), sum(s.minted for s in group)))
    return out


_COLUMNS = (
    "scenario",
    "year",
    "supply_M_ONE",
    "minted_M_ONE",
    "burned_M_ONE",
    "inflation_%",
    "staking_%",
    "apr_above_%",
    "apr_at_%",
    "apr_below_%",
    "apr_delegators_%",
    "apr_all_%",
    "elected",
    "banned",
)


def _cells(row: YearRow) -> list[str]:
    return [
        row.scenario,
        str(row.year),
        f"{row.supply_one / 1e6:,.1f}",
        f"{row.minted_one / 1e6:,.2f}",
        f"{row.burned_one / 1e6:,.2f}",
        f"{row.inflation * 100:.2f}",
        f"{row.staking_ratio * 100:.1f}",
        f"{row.apr_above * 100:.2f}",
        f"{row.apr_at * 100:.2f}",
        f"{row.apr_below * 100:.2f}",
        f"{row.apr_delegators * 100:.2f}",
        f"{row.apr_all * 100:.2f}",
        str(row.elected),
        str(row.banned),
    ]


def format_table(results: list[RunResult], *, years: tuple[int, ...] | None = None) -> str:
    """A markdown table of yearly rows (only ``years`` when given, e.g. the first and last)."""
    rows = [_cells(row) for result in results for row in yearly(result) if years is None or row.year in years]
    return markdown_table(_COLUMNS, rows)


def format_issuance(results: list[RunResult]) -> str:
    """A markdown table of each era's annualized issuance."""
    rows = [
        [e.scenario, e.era, str(e.steps), f"{e.per_year_one:,.0f}"]
        for result in results
        for e in era_issuance(result)
    ]
    return markdown_table(("scenario", "era", "months", "ONE_per_year"), rows)


def write_report(results: list[RunResult], out_dir: Path) -> list[Path]:
    """Write ``economics.md``, ``economics.csv`` (every scenario-year) and ``economics.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    last = max(len(yearly(r)) for r in results)
    markdown = out_dir / "economics.md"
    markdown.write_text(
        "# Token economics\n\n"
        "Simulated on the chain's own staking rules (election with the median clamp, rewards, availability, "
        "slashing); one step a month. APR by position: validators whose raw stake per key is above, within "
        "or below the median ± 35 % band, and external delegators after commission.\n\n"
        "## First and last year\n\n"
        + format_table(results, years=(1, last))
        + "\n\n## Issuance per era\n\n"
        + format_issuance(results)
        + "\n"
    )
    table = out_dir / "economics.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_COLUMNS)
        for result in results:
            writer.writerows(_cells(row) for row in yearly(result))
    plot = out_dir / "economics.png"
    _plot(results, plot)
    return [markdown, table, plot]


def _plot(results: list[RunResult], path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for result in results:
        years = [s.year for s in result.steps]
        label = result.scenario.name
        axes[0][0].plot(years, [s.supply / ONE / 1e9 for s in result.steps], label=label)
        axes[0][1].plot(years, [_f(s.staking_ratio) * 100 for s in result.steps], label=label)
        axes[1][0].plot(years, [_f(s.inflation) * 100 for s in result.steps], label=label)
        axes[1][1].plot(years, [_f(s.apr_all) * 100 for s in result.steps], label=f"{label} (all)")
    first = results[0]
    years = [s.year for s in first.steps]
    for name in ("apr_above", "apr_at", "apr_below", "apr_delegators"):
        values = [_f(getattr(s, name)) * 100 for s in first.steps]
        axes[1][1].plot(
            years, values, linestyle="--", linewidth=1, label=f"{first.scenario.name}: {name[4:]}"
        )
    titles = ("supply (B ONE)", "staking ratio (%)", "inflation, annualized (%)", "APR (%)")
    for axis, title in zip(axes.flat, titles, strict=True):
        axis.set_title(title)
        axis.set_xlabel("year")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    save_figure(plt, fig, path)


__all__ = [
    "EraIssuance",
    "YearRow",
    "era_issuance",
    "format_issuance",
    "format_table",
    "write_report",
    "yearly",
]
