"""The resharding simulator (design §7): how far an adaptive adversary concentrates in one shard.

Model. A network of ``S`` shards × ``C`` seats, every seat elected with equal effective stake, so a
shard's adversarial voting share is its share of adversarial seats (EPoS clamps effective stake to the
median ± 35 %, and an adversary splits its stake into median-sized seats; Harmony-operated seats, whose
fixed vote share would only dilute the adversary, are left out). The adversary holds a fraction ``f`` of
the seats. Every epoch:

1. we record the largest adversarial share of any shard, and whether some shard reached ≥ 1/3 (the BFT
   bound: with a third of the votes the adversary can stall a shard, with more it can do worse);
2. the adversary picks its *target*, the shard where its share is highest, and withdraws every seat it
   holds elsewhere (where it is weak), re-entering with the same stake under fresh BLS keys (the
   join-leave attack; rotating keys costs nothing);
3. honest churn: a fraction of the honest seats leave and as many new honest seats join;
4. the rule under test assigns the next epoch's seats.

Rules, from :mod:`harmony.chain.assignment` (the same placement code the chain runs, with Python's
seeded Mersenne Twister in place of the Keccak PRNG for speed): ``key-mod`` (the adversary grinds its
fresh keys so that ``key mod S`` is its target; honest keys land uniformly), ``random`` (stayers stay, new
seats fill vacancies at random) and ``cuckoo`` (our Cuckoo rule).

**Fenced scenario** (issue 21, :func:`run_fenced`): a shard fenced to a jurisdiction is filled only from
the validators attested for it (:mod:`harmony.chain.fenced_assignment`), so its committee is drawn from a
smaller pool, and what matters is the adversary's share of *that* pool. Given ``G`` fenced shards, the
adversary's share ``a`` of the attested pool and the pool's surplus ``u`` over the fenced seats, the
adversary is assumed to outbid honest attested validators for the fenced seats (the fence takes its share
in auction order), so it holds ``min(1, a·(1 + u))`` of the fenced group's seats; the same join-leave
adversary then plays against the Cuckoo rule among the ``G`` fenced shards (rule ``cuckoo-fenced``). With
one fenced shard there is nothing to mix: the chance is 0 or 1 by that share alone.

Floats appear only in the statistics. A run is a pure function of its options (the seed included).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from harmony.chain.assignment import CUCKOO_EVICTIONS_PER_JOIN, cuckoo_place, random_place
from harmony.encoding.fixed import Dec

RULES: tuple[str, ...] = ("key-mod", "random", "cuckoo")
"""The assignment rules compared, in table order."""
FENCED_RULE = "cuckoo-fenced"
"""The rule name of the fenced scenario's rows."""


@dataclass(frozen=True, slots=True)
class NetworkSize:
    """Shards × seats per shard of one simulated network."""

    shards: int
    seats: int

    @property
    def label(self) -> str:
        """``"4x250"``."""
        return f"{self.shards}x{self.seats}"


MAINNET_SIZE = NetworkSize(4, 250)
"""The mainnet preset's size (design §6)."""
LARGE_SIZE = NetworkSize(100, 400)
"""A large network: 100 shards × 400 seats, 40,000 seats per epoch."""


@dataclass(frozen=True, slots=True)
class ReshardingOptions:
    """What to simulate; the defaults finish in a couple of minutes on two cores."""

    sizes: tuple[NetworkSize, ...] = (MAINNET_SIZE, LARGE_SIZE)
    epochs: int = 50
    """Epochs per trial (the first is the genesis assignment)."""
    trials: tuple[int, ...] = (200, 8)
    """Trials per network size, in the order of ``sizes`` (the large network costs 40× more per epoch)."""
    fraction: float = 0.25
    """The adversary's share of all seats."""
    churn: float = 0.02
    """Share of honest seats replaced every epoch."""
    move_fraction: Dec = field(default_factory=lambda: Dec.from_str("0.125"))
    """The Cuckoo rule's move fraction."""
    evictions_per_join: int = CUCKOO_EVICTIONS_PER_JOIN
    """The Cuckoo rule's evictions per join."""
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.trials) != len(self.sizes) or any(t < 1 for t in self.trials):
            raise ValueError("one positive trial count per network size")
        if self.epochs < 1:
            raise ValueError("at least one epoch")
        if not 0.0 <= self.fraction < 1.0 or not 0.0 <= self.churn <= 1.0:
            raise ValueError("fraction must be in [0, 1) and churn in [0, 1]")


@dataclass(frozen=True, slots=True)
class FencedScenario:
    """The fenced scenario (module docstring)."""

    shards: int = 1
    """Fenced shards per network (at most all shards but the beacon chain)."""
    adversary_share: float = 0.25
    """The adversary's share of the validators attested for the fence."""
    surplus: float = 0.0
    """Attested seats beyond the fenced seats, as a share of them."""

    def __post_init__(self) -> None:
        if self.shards < 1 or not 0.0 <= self.adversary_share < 1.0 or self.surplus < 0.0:
            raise ValueError("at least one fenced shard, adversary share in [0, 1), surplus not negative")

    @property
    def group_fraction(self) -> float:
        """The adversary's share of the fenced seats: ``min(1, a·(1 + u))`` (module docstring)."""
        return min(1.0, self.adversary_share * (1.0 + self.surplus))


QUICK = ReshardingOptions(sizes=(MAINNET_SIZE, NetworkSize(20, 100)), epochs=8, trials=(3, 1))
"""A seconds-long run for tests (``--quick``)."""


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule on one network size, over all trials and epochs."""

    size: NetworkSize
    rule: str
    trials: int
    epochs: int
    max_share: float
    """Largest adversarial share of any shard in any epoch of any trial."""
    mean_final_share: float
    """Largest adversarial share of the last epoch, averaged over trials."""
    p_epoch: float
    """Share of (trial, epoch) pairs in which some shard had ≥ 1/3 adversarial seats."""
    p_trial: float
    """Share of trials in which that happened at least once."""
    series: tuple[float, ...]
    """Per epoch: the largest adversarial share of any shard, averaged over trials."""


class _RngDraws:
    """:class:`harmony.chain.assignment.Draws` from a seeded ``random.Random`` (simulation only)."""

    __slots__ = ("below",)

    def __init__(self, rng: random.Random) -> None:
        self.below: Callable[[int], int] = rng.randrange


def _shares(shard_of: dict[int, int], adversary: set[int], shards: int) -> tuple[list[int], list[int]]:
    sizes = [0] * shards
    bad = [0] * shards
    for seat, shard in shard_of.items():
        sizes[shard] += 1
        if seat in adversary:
            bad[shard] += 1
    return bad, sizes


def _assign(
    rule: str,
    previous: dict[int, int],
    winners: list[int],
    *,
    adversary: set[int],
    target: int,
    size: NetworkSize,
    options: ReshardingOptions,
    rng: random.Random,
) -> dict[int, int]:
    if rule == "key-mod":
        shard_of = {}
        for seat in winners:
            old = previous.get(seat)
            if old is None:
                old = target if seat in adversary else rng.randrange(size.shards)
            shard_of[seat] = old
        return shard_of
    if rule == "random":
        return random_place(previous, winners, size.shards, _RngDraws(rng))
    return cuckoo_place(
        previous,
        winners,
        size.shards,
        move_fraction=options.move_fraction,
        draws=_RngDraws(rng),
        evictions_per_join=options.evictions_per_join,
    )


def run_trial(
    rule: str, size: NetworkSize, options: ReshardingOptions, trial: int
) -> list[tuple[float, bool]]:
    """One trial: per epoch, the largest adversarial share of any shard and whether one reached ≥ 1/3."""
    rng = random.Random(f"resharding/{options.seed}/{size.label}/{rule}/{trial}")
    total = size.shards * size.seats
    bad_count = round(options.fraction * total)
    adversary = set(range(bad_count))
    honest = list(range(bad_count, total))
    next_id = total
    shard_of = _assign(
        rule, {}, list(range(total)), adversary=adversary, target=0, size=size, options=options, rng=rng
    )
    out: list[tuple[float, bool]] = []
    for epoch in range(options.epochs):
        bad, sizes = _shares(shard_of, adversary, size.shards)
        shares = [b / n if n else 0.0 for b, n in zip(bad, sizes, strict=True)]
        out.append((max(shares), any(n and 3 * b >= n for b, n in zip(bad, sizes, strict=True))))
        if epoch == options.epochs - 1:
            break
        target = max(range(size.shards), key=lambda s: (shares[s], -s))
        # 2. the adversary leaves where it is weak and rejoins under fresh keys
        staying_bad = sorted(s for s in adversary if shard_of[s] == target)
        rejoin = len(adversary) - len(staying_bad)
        fresh_bad = list(range(next_id, next_id + rejoin))
        next_id += rejoin
        adversary = set(staying_bad) | set(fresh_bad)
        # 3. honest churn
        leaving = set(rng.sample(honest, round(options.churn * len(honest))))
        fresh_honest = list(range(next_id, next_id + len(leaving)))
        next_id += len(leaving)
        honest = [s for s in honest if s not in leaving] + fresh_honest
        winners = staying_bad + honest + fresh_bad
        previous = {seat: shard_of[seat] for seat in winners if seat in shard_of}
        shard_of = _assign(
            rule, previous, winners, adversary=adversary, target=target, size=size, options=options, rng=rng
        )
    return out


def run_resharding(
    options: ReshardingOptions, progress: Callable[[str], None] | None = None
) -> list[RuleResult]:
    """Every rule on every network size (module docstring); ``progress`` gets one line per trial."""
    results: list[RuleResult] = []
    for size, trials in zip(options.sizes, options.trials, strict=True):
        for rule in RULES:
            runs = []
            for trial in range(trials):
                runs.append(run_trial(rule, size, options, trial))
                if progress is not None:
                    peak = max(share for share, _ in runs[-1])
                    progress(f"{size.label} {rule}: trial {trial + 1}/{trials}, largest share {peak:.3f}")
            results.append(_summary(size, rule, runs, options.epochs))
    return results


def _summary(size: NetworkSize, rule: str, runs: list[list[tuple[float, bool]]], epochs: int) -> RuleResult:
    trials = len(runs)
    return RuleResult(
        size=size,
        rule=rule,
        trials=trials,
        epochs=epochs,
        max_share=max(share for run in runs for share, _ in run),
        mean_final_share=sum(run[-1][0] for run in runs) / trials,
        p_epoch=sum(hit for run in runs for _, hit in run) / (trials * epochs),
        p_trial=sum(any(hit for _, hit in run) for run in runs) / trials,
        series=tuple(sum(run[e][0] for run in runs) / trials for e in range(epochs)),
    )


def _all_adversarial(epochs: int) -> list[tuple[float, bool]]:
    return [(1.0, True)] * epochs


def run_fenced(
    options: ReshardingOptions, scenario: FencedScenario, progress: Callable[[str], None] | None = None
) -> list[RuleResult]:
    """The fenced scenario (module docstring) on every network size: one ``cuckoo-fenced`` row per size,
    whose network is the fenced group (``G`` shards of the size's seats)."""
    results: list[RuleResult] = []
    for size, trials in zip(options.sizes, options.trials, strict=True):
        group = NetworkSize(min(scenario.shards, max(size.shards - 1, 1)), size.seats)
        fraction = scenario.group_fraction
        runs = []
        for trial in range(trials):
            if fraction >= 1.0:
                runs.append(_all_adversarial(options.epochs))
            else:
                group_options = replace(options, sizes=(group,), trials=(1,), fraction=fraction)
                runs.append(run_trial("cuckoo", group, group_options, trial))
            if progress is not None:
                peak = max(share for share, _ in runs[-1])
                progress(
                    f"{size.label} fenced {group.shards}: trial {trial + 1}/{trials}, "
                    f"largest share {peak:.3f}"
                )
        results.append(_summary(group, FENCED_RULE, runs, options.epochs))
    return results


_COLUMNS = ("network", "rule", "trials", "epochs", "max_share", "mean_final_share", "p_epoch", "p_trial")


def _row(result: RuleResult) -> list[str]:
    return [
        result.size.label,
        result.rule,
        str(result.trials),
        str(result.epochs),
        f"{result.max_share:.3f}",
        f"{result.mean_final_share:.3f}",
        f"{result.p_epoch:.4f}",
        f"{result.p_trial:.3f}",
    ]


def format_table(results: list[RuleResult]) -> str:
    """A markdown table, one row per network size and rule."""
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in results]
    return "\n".join(lines)


def _describe(options: ReshardingOptions, fenced: FencedScenario | None) -> str:
    text = (
        f"adversary fraction {options.fraction}, honest churn {options.churn} per epoch, "
        f"Cuckoo move fraction {options.move_fraction}, evictions per join {options.evictions_per_join}, "
        f"{options.epochs} epochs, seed {options.seed}"
    )
    if fenced is not None:
        text += (
            f"; fenced scenario ({FENCED_RULE}): {fenced.shards} fenced shard(s), the adversary holds "
            f"{fenced.adversary_share} of the attested pool with surplus {fenced.surplus}, so "
            f"{fenced.group_fraction:.3f} of the fenced seats"
        )
    return text


def write_report(
    results: list[RuleResult], options: ReshardingOptions, out_dir: Path, fenced: FencedScenario | None = None
) -> list[Path]:
    """Write ``resharding.md``, ``resharding.csv`` and ``resharding.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = out_dir / "resharding.md"
    markdown.write_text(
        "# Resharding: adversarial concentration by assignment rule\n\n"
        + _describe(options, fenced)
        + "\n\nmax_share: largest adversarial share of any shard in any epoch; mean_final_share: that of "
        "the last epoch, averaged over trials; p_epoch: share of epochs with some shard at ≥ 1/3; "
        "p_trial: share of trials where that ever happened.\n\n" + format_table(results) + "\n"
    )
    table = out_dir / "resharding.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_COLUMNS)
        writer.writerows(_row(r) for r in results)
    plot = out_dir / "resharding.png"
    _plot(results, options, plot)
    return [markdown, table, plot]


def _plot(results: list[RuleResult], options: ReshardingOptions, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 (heavy; only for the report)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    sizes = list(dict.fromkeys(r.size for r in results))
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4.2), squeeze=False)
    for axis, size in zip(axes[0], sizes, strict=True):
        for result in (r for r in results if r.size == size):
            axis.plot(range(len(result.series)), result.series, label=result.rule, linewidth=1.8)
        axis.axhline(1 / 3, color="black", linestyle="--", linewidth=1, label="1/3")
        axis.set_title(f"{size.shards} shards × {size.seats} seats")
        axis.set_xlabel("epoch")
        axis.set_ylabel("largest adversarial share (mean over trials)")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(f"Join-leave adversary with {options.fraction:.0%} of seats")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


__all__ = [
    "FENCED_RULE",
    "LARGE_SIZE",
    "MAINNET_SIZE",
    "QUICK",
    "RULES",
    "FencedScenario",
    "NetworkSize",
    "ReshardingOptions",
    "RuleResult",
    "format_table",
    "run_fenced",
    "run_resharding",
    "run_trial",
    "write_report",
]
