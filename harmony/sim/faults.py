"""A fault plan drawn from a seed: which faults a simulated run suffers, when, and for how long.

Everything is drawn from the run's ``random.Random`` before the run starts, so the plan is a pure function of
the seed and the options (it is printed by ``harmony sim consensus --verbose``). Faults happen only in the
**safety phase** ``[0, fault_end_ms)``; at ``fault_end_ms`` the network heals (no loss, duplication,
reordering or partition), every crashed honest node is restarted and the clocks stop drifting apart, and
the **liveness phase** begins. Byzantine nodes stay Byzantine in both phases.

Parameters (one value per seed unless the options pin them):

- message loss uniform in ``[0, max_loss]`` (``max_loss`` = 0.30), duplication in ``[0, 0.10]``,
  reordering probability in ``[0, 0.20]`` with up to 1.5 s extra delay, latency 20-100 ms, jitter up to 50 ms;
- up to 3 partition windows of 1-8 s, each either isolating the current leader or splitting the nodes
  into two random halves;
- up to 2 crash/restart pairs of honest nodes (down 1-6 s, restarted from their persisted signer state and
  WAL; every crashed node is restarted by ``fault_end_ms`` at the latest);
- clock skew per node: an offset in ``[-max_skew_ms, +max_skew_ms]`` (default 500 ms) and a rate drift in
  ``[-2 %, +2 %]`` on the node's timers;
- Byzantine nodes holding strictly less than 1/3 of the voting power (key count), each with one role of
  :class:`ByzantineRole`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from harmony.sim.network import LinkFaults


class ByzantineRole(Enum):
    """What a Byzantine node does (it always signs with its own committee keys)."""

    EQUIVOCATE = "equivocate"
    """As leader, announces two different blocks at one height and view to two halves of the committee;
    as validator, votes for every block it sees at a height (a double sign the honest nodes must detect)."""
    BAD_SIGNATURE = "bad-signature"
    """Sends votes and messages whose BLS signatures are wrong (another message's signature, or garbage)."""
    STALE_VIEW = "stale-view"
    """Sends its messages with an old view number and replays messages it received earlier."""
    SILENT_LEADER = "silent-leader"
    """Follows the protocol as validator but sends nothing while it is the leader."""


class PartitionKind(Enum):
    """How a partition window splits the nodes."""

    ISOLATE_LEADER = "isolate-leader"
    """The node that is leader when the window opens is cut off from everyone else."""
    HALVES = "halves"
    """The nodes are split into two random groups (neither may hold a quorum)."""


@dataclass(frozen=True, slots=True)
class PartitionWindow:
    """A partition in force over ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int
    kind: PartitionKind
    groups: tuple[tuple[int, ...], ...] = ()
    """For :attr:`PartitionKind.HALVES`, the groups (drawn with the plan)."""


@dataclass(frozen=True, slots=True)
class Crash:
    """Honest node ``node`` is down over ``[at_ms, restart_ms)`` and restarts from its persisted state."""

    node: int
    at_ms: int
    restart_ms: int


@dataclass(frozen=True, slots=True)
class ClockSkew:
    """A node's clock: ``local = global × (1 + drift_ppm / 10^6) + offset_ms``."""

    offset_ms: int = 0
    drift_ppm: int = 0


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Everything that goes wrong in one seeded run (module docstring)."""

    fault_end_ms: int
    """End of the safety phase: from here on the network is healthy and every honest node is up."""
    link: LinkFaults
    """Per-message faults during the safety phase."""
    healthy_link: LinkFaults
    """The network after ``fault_end_ms``."""
    partitions: tuple[PartitionWindow, ...] = ()
    crashes: tuple[Crash, ...] = ()
    skews: tuple[ClockSkew, ...] = ()
    """One per node."""
    byzantine: dict[int, ByzantineRole] = field(default_factory=dict)
    """Node index -> role; their keys hold less than 1/3 of the power."""

    def describe(self) -> str:
        """A one-line summary: the fault kinds present, as printed per seed."""
        parts: list[str] = []
        if self.link.loss > 0:
            parts.append(f"loss={self.link.loss:.2f}")
        if self.link.duplicate > 0:
            parts.append(f"dup={self.link.duplicate:.2f}")
        if self.link.reorder > 0:
            parts.append(f"reorder={self.link.reorder:.2f}")
        for p in self.partitions:
            parts.append(f"partition:{p.kind.value}@{p.start_ms}-{p.end_ms}")
        for c in self.crashes:
            parts.append(f"crash:n{c.node}@{c.at_ms}-{c.restart_ms}")
        if any(s.offset_ms or s.drift_ppm for s in self.skews):
            parts.append(f"skew<={max(abs(s.offset_ms) for s in self.skews)}ms")
        for node in sorted(self.byzantine):
            parts.append(f"byz:n{node}={self.byzantine[node].value}")
        return " ".join(parts) if parts else "none"


def max_byzantine_nodes(keys_per_node: Sequence[int]) -> list[int]:
    """The largest set of nodes (highest index first) whose keys hold strictly less than 1/3 of all keys."""
    total = sum(keys_per_node)
    chosen: list[int] = []
    power = 0
    for node in sorted(range(len(keys_per_node)), key=lambda i: (keys_per_node[i], -i)):
        if 3 * (power + keys_per_node[node]) < total:
            chosen.append(node)
            power += keys_per_node[node]
    return sorted(chosen)


def draw_fault_plan(
    rng: random.Random,
    keys_per_node: Sequence[int],
    *,
    fault_end_ms: int = 20_000,
    max_loss: float = 0.30,
    max_skew_ms: int = 500,
    byzantine: bool = True,
    crashes: bool = True,
    partitions: bool = True,
) -> FaultPlan:
    """Draw a plan for a committee whose node ``i`` holds ``keys_per_node[i]`` keys (module docstring).

    Every draw comes from ``rng`` in a fixed order, so the plan depends only on the seed and the options.
    """
    n = len(keys_per_node)
    latency = rng.randint(20, 100)
    jitter = rng.randint(0, 50)
    link = LinkFaults(
        loss=round(rng.uniform(0.0, max_loss), 3) if rng.random() < 0.8 else 0.0,
        duplicate=round(rng.uniform(0.0, 0.10), 3) if rng.random() < 0.5 else 0.0,
        reorder=round(rng.uniform(0.0, 0.20), 3) if rng.random() < 0.5 else 0.0,
        latency_ms=latency,
        jitter_ms=jitter,
    )
    healthy = LinkFaults.healthy(latency, jitter)

    windows: list[PartitionWindow] = []
    if partitions and n >= 2:
        for _ in range(rng.randint(0, 3)):
            length = rng.randint(1000, 8000)
            start = rng.randint(0, max(0, fault_end_ms - length))
            if rng.random() < 0.5:
                windows.append(PartitionWindow(start, start + length, PartitionKind.ISOLATE_LEADER))
            else:
                nodes = list(range(n))
                rng.shuffle(nodes)
                cut = rng.randint(1, n - 1)
                groups = (tuple(sorted(nodes[:cut])), tuple(sorted(nodes[cut:])))
                windows.append(PartitionWindow(start, start + length, PartitionKind.HALVES, groups))
        windows.sort(key=lambda w: (w.start_ms, w.end_ms))

    byz: dict[int, ByzantineRole] = {}
    if byzantine:
        candidates = max_byzantine_nodes(keys_per_node)
        count = rng.randint(0, len(candidates))
        roles = list(ByzantineRole)
        for node in rng.sample(candidates, count):
            byz[node] = rng.choice(roles)

    crash_list: list[Crash] = []
    if crashes:
        honest = [i for i in range(n) if i not in byz]
        for _ in range(rng.randint(0, 2)):
            node = rng.choice(honest)
            down = rng.randint(1000, 6000)
            at = rng.randint(0, max(0, fault_end_ms - 1000))
            crash_list.append(Crash(node, at, min(at + down, fault_end_ms)))
        crash_list.sort(key=lambda c: (c.at_ms, c.node))

    skews = tuple(
        ClockSkew(rng.randint(-max_skew_ms, max_skew_ms), rng.randint(-20_000, 20_000))
        if max_skew_ms
        else ClockSkew()
        for _ in range(n)
    )
    return FaultPlan(fault_end_ms, link, healthy, tuple(windows), tuple(crash_list), skews, byz)


def no_fault_plan(
    node_count: int, fault_end_ms: int = 0, latency_ms: int = 50, jitter_ms: int = 20
) -> FaultPlan:
    """A plan with no faults at all (for benchmarks and smoke tests)."""
    link = LinkFaults.healthy(latency_ms, jitter_ms)
    return FaultPlan(fault_end_ms, link, link, skews=tuple(ClockSkew() for _ in range(node_count)))
