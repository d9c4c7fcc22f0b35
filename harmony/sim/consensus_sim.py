"""The FBFT consensus simulator: one seed, one deterministic run, a verdict (issue 4, item 5).

A run (tigerbeetle's VOPR, style.md) is a pure function of ``(seed, options)``. One ``random.Random(seed)``
draws the committee layout (which node, if any, holds two keys), the :class:`~harmony.sim.faults.FaultPlan`,
then drives every scheduling tie-break, network delay, loss and duplication. The run has two phases:

1. **safety phase** ``[0, fault_end_ms)``: the plan's faults (loss ≤ 30 %, duplication, reordering, delay,
   partitions incl. leader isolation, crashes with restart from persisted state, clock skew, Byzantine
   nodes under 1/3 of the power);
2. **liveness phase** from ``fault_end_ms``: network healed, every honest node up. Every honest node must
   finalize a block above the highest height finalized before ``fault_end_ms`` within
   :func:`liveness_bound_ms`; the run stops as soon as all have (or when the bound passes).

The checkers (:mod:`harmony.sim.checkers`) judge safety, validity of every finalized block's commit
aggregate, no honest double sign and liveness. The trace hash (SHA-256 over every delivery, timer, commit,
crash and restart, in order) shows that a replay is exact.
"""

from __future__ import annotations

import hashlib
import random
import shlex
import traceback
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from harmony.sim.checkers import DoubleSignChecker, Finalized, LivenessChecker, SafetyChecker, SignedPayload
from harmony.sim.cluster import Cluster, Observer
from harmony.sim.faults import FaultPlan, PartitionKind, PartitionWindow, draw_fault_plan, no_fault_plan
from harmony.sim.network import LinkFaults
from harmony.sim.scheduler import Scheduler

DEFAULT_NODES = 4
"""Committee nodes when ``--nodes`` is not given."""


@dataclass(frozen=True, slots=True)
class SimOptions:
    """What a run may vary besides the seed (part of the replay command when not the default)."""

    nodes: int = DEFAULT_NODES
    faults: bool = True
    """False: no faults at all (a baseline)."""
    fault_end_ms: int = 12_000
    """Length of the safety phase."""
    phase_timeout_ms: int = 3_000
    view_change_timeout_ms: int = 3_000
    block_time_ms: int = 500
    commit_window_ms: int = 1_000
    """The leaders' wait for late commits (cut to end 200 ms before the next block is due)."""
    max_backoff_exponent: int = 2
    multi_key: bool = True
    """Whether a seed may give one node two committee keys."""


def liveness_bound_ms(options: SimOptions, byzantine: int) -> int:
    """The liveness bound B, derived from the core's timeouts (stated in the report and the docstring).

    After the faults stop, the honest nodes may sit in different views with view-change timers at their
    largest backed-off value ``V = view_change_timeout × 2^max_backoff_exponent``. Within one ``V`` (plus
    ``P = phase_timeout × 2^max_backoff_exponent`` for a node still in normal mode: the phase timer backs
    off too) every honest node has timed out into view change; lost messages are replaced by the core's
    RESEND timer within one resend interval, which is far below ``V``;
    views move together once a NEWVIEW is seen, and each of at most ``byzantine + 1`` consecutive views may
    have a faulty (silent or equivocating) or unreachable leader, each costing at most ``V``. One honest
    leader then needs a block time and a few network round trips (≤ 2 s here, latency ≤ 150 ms) to
    finalize, plus one sync round for a node that fell behind. So
    ``B = P + (byzantine + 2) × V + block_time + 4 s``.
    """
    v = options.view_change_timeout_ms * (1 << options.max_backoff_exponent)
    p = options.phase_timeout_ms * (1 << options.max_backoff_exponent)
    return p + (byzantine + 2) * v + options.block_time_ms + 4_000


@dataclass
class SeedResult:
    """The verdict of one run."""

    seed: int
    options: SimOptions
    ok: bool
    violations: list[str]
    height: int
    """Highest block finalized by any honest node."""
    blocks_finalized: int
    """Blocks finalized by every honest node (the lowest honest height)."""
    virtual_ms: int
    trace_hash: str
    faults: str
    liveness_ms: int | None
    """Time from the end of the faults until every honest node had progressed (None if not reached)."""
    bound_ms: int
    events: int
    drops: Counter[str] = field(default_factory=Counter)
    network: Counter[str] = field(default_factory=Counter)
    evidence: int = 0
    signatures: int = 0
    forged: int = 0
    driver: Counter[str] = field(default_factory=Counter)
    """The drivers' counters summed over nodes (``ConsensusDriver.counters``: blocks committed and
    synced, epoch cores started, sync requests…)."""
    tail: list[str] = field(default_factory=list)
    """The last trace lines (printed when a seed fails)."""

    def details(self) -> list[str]:
        """Lines for ``--verbose`` and for failures."""
        lines = [f"VIOLATION: {v}" for v in self.violations]
        lines.append(
            f"liveness: {self.liveness_ms} ms after the faults (bound {self.bound_ms} ms); "
            f"events {self.events}; honest signatures {self.signatures}; "
            f"double-sign evidence {self.evidence}; forged {self.forged}"
        )
        lines.append("network: " + ", ".join(f"{k}={v}" for k, v in sorted(self.network.items())))
        lines.append("driver: " + ", ".join(f"{k}={v}" for k, v in sorted(self.driver.items())))
        if self.drops:
            lines.append("dropped: " + ", ".join(f"{k}={v}" for k, v in sorted(self.drops.items())))
        if not self.ok:
            lines.append("trace tail:")
            lines.extend(f"  {t}" for t in self.tail[-40:])
        return lines


def replay_command(seed: int, options: SimOptions) -> str:
    """The command line that replays ``seed`` under ``options`` exactly."""
    parts = ["harmony", "sim", "consensus", "--seed", str(seed), "--nodes", str(options.nodes)]
    if not options.faults:
        parts.append("--no-faults")
    return shlex.join(parts)


class _Trace:
    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.tail: list[str] = []
        self.now = 0

    def __call__(self, line: str) -> None:
        text = f"{self.now} {line}"
        self._hash.update(text.encode())
        self._hash.update(b"\n")
        self.tail.append(text)
        if len(self.tail) > 400:
            del self.tail[:200]

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def run_seed(seed: int, options: SimOptions | None = None) -> SeedResult:
    """Run one seed (module docstring) and return its verdict; never raises for a core's misbehaviour.

    An exception escaping the core is itself a failure, reported as a violation with the seed.
    """
    opts = options or SimOptions()
    rng = random.Random(seed)
    n = opts.nodes
    keys_per_node = [1] * n
    if opts.multi_key and n >= 3 and rng.random() < 0.25:
        keys_per_node[rng.randrange(n)] = 2
    if opts.faults:
        plan = draw_fault_plan(rng, keys_per_node, fault_end_ms=opts.fault_end_ms)
    else:
        plan = no_fault_plan(n, fault_end_ms=opts.fault_end_ms)

    scheduler = Scheduler(rng)
    trace = _Trace()
    double_sign = DoubleSignChecker()
    safety_ref: list[SafetyChecker] = []
    liveness_ref: list[LivenessChecker] = []
    honest_keys_ref: list[frozenset[bytes]] = []

    def on_finalized(f: Finalized) -> None:
        safety_ref[0].on_finalized(f)
        liveness_ref[0].on_finalized(f.node, f.header.number, f.at_ms)

    def on_signed(s: SignedPayload) -> None:
        double_sign.on_signed(s)

    def on_evidence(reporter: int, key: bytes) -> None:
        double_sign.on_evidence(reporter, key, honest_keys_ref[0])

    def traced(line: str) -> None:
        trace.now = scheduler.now_ms
        trace(line)

    cluster = Cluster(
        scheduler,
        rng,
        plan,
        keys_per_node,
        Observer(on_finalized, on_signed, on_evidence, traced),
        phase_timeout_ms=opts.phase_timeout_ms,
        view_change_timeout_ms=opts.view_change_timeout_ms,
        block_time_ms=opts.block_time_ms,
        max_backoff_exponent=opts.max_backoff_exponent,
        commit_window_ms=opts.commit_window_ms,
    )
    honest_keys_ref.append(cluster.honest_keys)
    safety = SafetyChecker(cluster.committee_view)
    safety_ref.append(safety)
    byz_keys = sum(keys_per_node[i] for i in plan.byzantine)
    bound = liveness_bound_ms(opts, byz_keys)
    liveness = LivenessChecker(cluster.honest, plan.fault_end_ms, bound)
    liveness_ref.append(liveness)

    _schedule_plan(cluster, plan)

    violations: list[str] = []
    try:
        for i in range(n):
            cluster.start_node(i)
        scheduler.run_until(plan.fault_end_ms)
        liveness.start(safety.height)
        scheduler.run_until(plan.fault_end_ms + bound, should_stop=lambda: liveness.done)
        liveness.finish()
    except Exception as exc:  # any escape from the core is a failure of this seed
        violations.append(f"exception at {scheduler.now_ms} ms: {type(exc).__name__}: {exc}")
        trace.tail.extend(traceback.format_exc().splitlines()[-12:])
    violations = safety.violations + double_sign.violations + liveness.violations + violations
    honest_heights = [cluster.nodes[i].height for i in cluster.honest]
    reached = [liveness.reached[i] for i in cluster.honest if i in liveness.reached]
    liveness_ms = max(reached) - plan.fault_end_ms if liveness.done and reached else None
    return SeedResult(
        seed=seed,
        options=opts,
        ok=not violations,
        violations=violations,
        height=max(honest_heights, default=0),
        blocks_finalized=min(honest_heights, default=0),
        virtual_ms=scheduler.now_ms,
        trace_hash=trace.hexdigest(),
        faults=plan.describe(),
        liveness_ms=liveness_ms,
        bound_ms=bound,
        events=scheduler.fired,
        drops=cluster.harvest_drops(),
        network=cluster.network.counts,
        evidence=cluster.evidence_count,
        signatures=double_sign.count,
        forged=sum(node.byzantine.forged for node in cluster.nodes if node.byzantine is not None),
        driver=cluster.harvest_driver_counts(),
        tail=trace.tail,
    )


def _schedule_plan(cluster: Cluster, plan: FaultPlan) -> None:
    """Put the plan's partitions, crashes and the end of the faults on the scheduler."""
    sched = cluster.scheduler
    active: list[tuple[PartitionWindow, tuple[tuple[int, ...], ...]]] = []

    def apply() -> None:
        if active:
            cluster.network.partition(active[-1][1])
        else:
            cluster.network.heal()

    for window in plan.partitions:

        def open_window(w: PartitionWindow = window) -> None:
            if w.kind is PartitionKind.ISOLATE_LEADER:
                groups: tuple[tuple[int, ...], ...] = ((cluster.leader_hint(),),)
            else:
                groups = w.groups
            active.append((w, groups))
            cluster.observer.trace(f"partition {w.kind.value} {groups}")
            apply()

        def close_window(w: PartitionWindow = window) -> None:
            active[:] = [a for a in active if a[0] is not w]
            cluster.observer.trace("partition closed")
            apply()

        sched.at(window.start_ms, "partition", open_window)
        sched.at(window.end_ms, "heal", close_window)

    for crash in plan.crashes:
        sched.at(crash.at_ms, f"crash n{crash.node}", partial(cluster.crash, crash.node))
        sched.at(crash.restart_ms, f"restart n{crash.node}", partial(cluster.start_node, crash.node))

    def end_of_faults() -> None:
        active.clear()
        cluster.network.heal()
        cluster.network.faults = plan.healthy_link if plan.healthy_link else LinkFaults.healthy()
        for i in cluster.honest:
            cluster.start_node(i)
        cluster.observer.trace("faults end")

    sched.at(plan.fault_end_ms, "faults end", end_of_faults)


def run_seeds(first: int, count: int, options: SimOptions | None = None) -> list[SeedResult]:
    """Run seeds ``first .. first + count - 1``."""
    return [run_seed(seed, options) for seed in range(first, first + count)]
