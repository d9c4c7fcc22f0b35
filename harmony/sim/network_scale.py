"""The network-scale simulation (issue 19): a discrete-event model of a sharded network, 100 shards × 400
nodes and beyond, calibrated by the costs measured on the real node.

Model (every assumption is a named field of :class:`NetScenario` or :class:`NodeCosts`):

* **Nodes.** Each node has an uplink and a one-way latency drawn once, log-normally around the scenario's
  medians (spread ``sigma``). A node's CPU runs ``exec_tx_per_s`` transfers a second per core; on a
  single machine (``shared_cores``, the devnet) all nodes share those cores.
* **A shard's round (FBFT, reference §1).** The leader (rotating) builds a block of ``n`` transactions
  (``n / exec rate``), sends it; every node receives it (propagation below), executes it, signs PREPARE and
  sends the vote back; the leader waits for 2/3 of the votes, verifies them one by one
  (``verify_sig_s`` each) and broadcasts the aggregate; the same for COMMIT; the block is final one
  latency later. The next leader proposes one block time after it *saw* the previous announce (so the
  interval is the block time plus the announce's way to it, as ``harmony.consensus.core._begin_view``),
  or at the commit if that is later. Every node also admits every transaction of its shard once
  (``admit_tx_s``).
* **Measured per-node CPU** (``block_cpu_s``, ``tx_cpu_s`` > 0, measured on a real testnet): a round
  costs every node of its shard ``block_cpu_s`` (consensus messages and signatures, storage, timers) and
  every transaction the shard accepted costs each of them ``tx_cpu_s`` once, everything of its life
  counted (admission, gossip, pool, execution, storage, the receipt on the other shard: the calibration
  measures it so; credited receipts cost nothing again). The critical path holds the leader's build and
  each validator's execution (``n / exec_tx_per_s`` each) and half of ``block_cpu_s`` each, the rest runs
  between rounds.
* **Transaction capacity** (``tx_cpu_s`` > 0). A node's work asks, at the consensus pace ``T₀`` (the
  interval below without CPU limits), for ``b + a`` cores: ``b = block_cpu_s / T₀`` for its rounds and
  ``a = r·tx_cpu_s`` for its transactions, ``r`` its shard's offered transactions a second (at saturation,
  a block's worth per ``T₀``). When that exceeds its cores ``C`` (its ``cores_per_node``, or
  ``shared_cores / nodes`` on one machine), the cores are shared between an open loop and a closed one.
  Transactions arrive whatever the node's speed, and work that arrives at a rate below the cores is
  served in full; the rounds are a closed loop, each starting when the previous one is done, so they run
  on what the transactions leave, ``C − a``, and blocks come every ``block_cpu_s / (C − a)``. The rounds
  still get at least ``φ²·b`` (``φ = C / (b + a)``), which equals ``C − a`` where the demand meets the
  cores and keeps blocks coming when the transactions alone would fill them; the transactions then get
  the rest, and those beyond it wait unprocessed (a backlog, oldest first). Blocks hold only processed
  transactions, so when the offered load exceeds the capacity the backlog grows and with it every
  transaction's time from its submission to its block, as in the real pool under overload. (Measured on
  the namespaced testnet at 94 % of the cores: every accepted transaction was final in time and the blocks
  came later, which plain processor sharing, both loops slowed alike, does not give.)
* **CPU contention** (``shared_cores`` > 0: every node on one machine, ``shared_cores`` being what other
  work leaves of it). A node's round work is slowed as under processor sharing, by ``1 / (1 - ρ)`` where
  ``ρ`` is the share of the cores every node's rounds take at the shard's recent
  block interval (at most ``nodes / shared_cores``: every node busy at once); the interval and the
  transactions processed obey the utilization law through ``φ`` (above).
* **View changes** (``phase_timeout_s`` > 0): a round longer than its view's slot times out and the next
  leader re-proposes the block at the slot's end; the nodes keep what they executed, so the block is final
  at the later of the round's own end and the new view's consensus round (no execution); slots double
  per failed view of a height (``harmony.consensus.core``).
* **Propagation.** *Gossip*: a node at depth ``k`` of a gossip tree of degree ``D`` gets the block after
  ``k`` hops, each ``B·D/uplink + latency``. *RaptorQ*: the leader sends ``B·(1+ε)`` of symbols split over
  the nodes, each node forwards its share to all others, and a node decodes once ``1/(1+ε)`` of the shares
  have arrived.
* **Block size.** ``min(gas_limit / tx_gas, max_block_txs)`` transactions of ``tx_bytes``, or fewer when
  the offered load leaves fewer pending.
* **Across shards.** A share ``cross_shard_share`` of transactions credits another shard: its receipts proof
  (header, commit signature, Merkle path, receipts) is published on the network-wide topic, which every node
  follows (as our node does), reaches the destination after ``log_D(all nodes)`` gossip hops, and is
  credited by the destination's next block; cross-shard latency runs from the transaction's submission
  (under a steady offered load, uniformly within the interval before its block's start; at saturation, the
  block's start) to that credit's finality, as a wallet sees it. Each shard block's crosslink goes the same
  way to the beacon chain, whose blocks spend ``crosslink_s`` per crosslink (aggregate verification, reward
  split over the committee) before their own transactions: when the crosslinks of all shards no longer fit
  in a beacon block time, the backlog grows and the beacon chain is **saturated**.
* **Epochs and resharding.** Every ``epoch_s`` a share ``move_fraction`` of each shard's nodes (the Cuckoo
  rule) moves to another shard and syncs its state (``state_mb`` over its link) before it votes again.

Sustained TPS is the transactions final in ``duration_s`` over ``duration_s``; the 2018 experiment's
figure summed, per leader, transactions over round time with idle time not counted
(:attr:`NetResult.tps_2018_method`). Bytes per node per second count transaction gossip, block
propagation, votes and the network-wide topic. Everything is seeded and deterministic; numpy carries the
per-node arrays.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from harmony.sim.reporting import ParameterError

Floats = npt.NDArray[np.float64]
Origin = tuple[float, float]
"""When a block's own transactions were submitted: the middle of their submissions (the origin of their
cross-shard latency, as a wallet sees it) and the last one (a transfer sent up to then is in the block)."""
MAX_SHARDS = 10_000
MAX_NODES_PER_SHARD = 10_000
MAX_DURATION_S = 86_400.0
HEADER_BYTES = 680
"""A header with its commit signature and bitmap (our v3 header is about 600 bytes)."""
VOTE_BYTES = 200
"""A PREPARE/COMMIT message: header hash, BLS signature, key, envelope."""
RECEIPT_BYTES = 120
"""One cross-shard receipt in a proof."""
CROSSLINK_BYTES = 300
MAX_BACKOFF_EXPONENT = 4
"""View slots double up to ``2**4`` times the first (``harmony.consensus.api``'s ``max_backoff_exponent``)."""


NetParameterError = ParameterError
"""A network-simulation parameter out of range; :attr:`~ParameterError.parameter` names it."""


@dataclass(frozen=True, slots=True)
class NodeCosts:
    """What one node's work costs, measured on the real node (``bench/execution.py``, ``bench/crypto.py``;
    ``bench/scale.py`` measures them again and passes them in). Defaults: this project's figures."""

    exec_tx_per_s: float = 1_400.0
    """Plain transfers executed per second per core, state root included (design §4: 570–1,400)."""
    admit_tx_s: float = 60e-6
    """Admitting one gossiped transaction: decode, sender recovery (30 k/s), pool checks."""
    verify_sig_s: float = 0.9e-3
    """One BLS signature verification (design §4, blspy)."""
    agg_verify_s: float = 1.5e-3
    """Verifying an aggregate signature of up to 1,000 signers."""
    sign_s: float = 0.3e-3
    crosslink_s: float = 4e-3
    """The beacon's work per crosslink: aggregate verification and the reward split over a committee."""
    block_cpu_s: float = 0.0
    """CPU seconds one node spends per block of its shard besides executing transactions (consensus
    messages and signatures, storage, libp2p, timers); measured on an idle testnet (0: not counted)."""
    tx_cpu_s: float = 0.0
    """CPU seconds one node spends per transaction of its shard, everything counted (admission, gossip,
    execution, storage); measured on a loaded testnet (0: not counted)."""


@dataclass(frozen=True, slots=True)
class NetScenario:
    """One network to simulate; checked by :func:`check_net_scenario`."""

    name: str
    shards: int = 100
    nodes_per_shard: int = 400
    block_time_s: float = 2.0
    gas_limit: int = 30_000_000
    tx_gas: int = 21_000
    max_block_txs: int = 1_000_000
    """A cap besides gas (the 2018 UTXO blocks: 20,000)."""
    tx_bytes: int = 110
    cross_shard_share: float = 0.5
    offered_tps: float = 0.0
    """Load offered to the whole network; 0 saturates every shard."""
    uplink_mbps: float = 100.0
    latency_ms: float = 50.0
    sigma: float = 0.5
    """Log-normal spread of uplinks and latencies."""
    propagation: str = "raptorq"
    """``raptorq`` or ``gossip``."""
    gossip_degree: int = 8
    raptorq_overhead: float = 0.1
    cores_per_node: float = 2.0
    shared_cores: float = 0.0
    """When > 0, every node runs on one machine with this many cores (a devnet)."""
    phase_timeout_s: float = 0.0
    """A view's first slot (the node's phase and view-change timeout); a round that takes longer times out
    and the next leader re-proposes at the slot's end, each further slot of the height twice as long (up
    to ``2**MAX_BACKOFF_EXPONENT``), as ``harmony.consensus.core``'s view schedule. 0: no timeouts."""
    epoch_s: float = 0.0
    """Seconds between epoch changes; 0: none in the run."""
    move_fraction: float = 0.125
    state_mb: float = 500.0
    duration_s: float = 300.0
    seed: int = 0

    @property
    def nodes(self) -> int:
        """Nodes in the whole network."""
        return self.shards * self.nodes_per_shard


def check_net_scenario(scenario: NetScenario) -> NetScenario:
    """Every parameter in range, or :class:`NetParameterError` naming the first bad one."""
    s = scenario
    checks: list[tuple[str, bool, str]] = [
        ("shards", 1 <= s.shards <= MAX_SHARDS, f"{s.shards} is outside [1, {MAX_SHARDS}]"),
        (
            "nodes_per_shard",
            1 <= s.nodes_per_shard <= MAX_NODES_PER_SHARD,
            f"{s.nodes_per_shard} is outside [1, {MAX_NODES_PER_SHARD}]",
        ),
        ("block_time_s", 0.05 <= s.block_time_s <= 600, f"{s.block_time_s} is outside [0.05, 600]"),
        (
            "gas_limit",
            s.gas_limit >= s.tx_gas > 0,
            f"{s.gas_limit} must hold at least one tx of {s.tx_gas} gas",
        ),
        ("max_block_txs", s.max_block_txs >= 1, f"{s.max_block_txs} is below 1"),
        ("tx_bytes", 1 <= s.tx_bytes <= 1 << 20, f"{s.tx_bytes} is outside [1, 1 MiB]"),
        ("cross_shard_share", 0.0 <= s.cross_shard_share <= 1.0, f"{s.cross_shard_share} is outside [0, 1]"),
        ("offered_tps", 0.0 <= s.offered_tps <= 1e9, f"{s.offered_tps} is outside [0, 1e9]"),
        ("uplink_mbps", 0.01 <= s.uplink_mbps <= 1e6, f"{s.uplink_mbps} is outside [0.01, 1e6]"),
        ("latency_ms", 0.0 <= s.latency_ms <= 10_000, f"{s.latency_ms} is outside [0, 10000]"),
        ("sigma", 0.0 <= s.sigma <= 3.0, f"{s.sigma} is outside [0, 3]"),
        ("propagation", s.propagation in ("raptorq", "gossip"), f"{s.propagation!r}: raptorq or gossip"),
        ("gossip_degree", 2 <= s.gossip_degree <= 64, f"{s.gossip_degree} is outside [2, 64]"),
        ("raptorq_overhead", 0.0 <= s.raptorq_overhead <= 1.0, f"{s.raptorq_overhead} is outside [0, 1]"),
        ("cores_per_node", 0.1 <= s.cores_per_node <= 256, f"{s.cores_per_node} is outside [0.1, 256]"),
        ("shared_cores", 0.0 <= s.shared_cores <= 4096, f"{s.shared_cores} is outside [0, 4096]"),
        (
            "phase_timeout_s",
            s.phase_timeout_s == 0.0 or 0.1 <= s.phase_timeout_s <= 3_600,
            f"{s.phase_timeout_s} is neither 0 nor in [0.1, 3600]",
        ),
        ("epoch_s", 0.0 <= s.epoch_s <= MAX_DURATION_S, f"{s.epoch_s} is outside [0, {MAX_DURATION_S}]"),
        ("move_fraction", 0.0 <= s.move_fraction <= 1.0, f"{s.move_fraction} is outside [0, 1]"),
        ("state_mb", 0.0 <= s.state_mb <= 1e7, f"{s.state_mb} is outside [0, 1e7]"),
        (
            "duration_s",
            1.0 <= s.duration_s <= MAX_DURATION_S,
            f"{s.duration_s} is outside [1, {MAX_DURATION_S}]",
        ),
        ("seed", s.seed >= 0, f"{s.seed} is negative"),
    ]
    for name, ok, message in checks:
        if not ok or (isinstance(getattr(s, name), float) and math.isnan(getattr(s, name))):
            raise NetParameterError(name, message)
    return scenario


NET_FIELDS = {f.name: f.type for f in fields(NetScenario) if f.name != "name"}


def parse_net_value(name: str, text: str) -> Any:
    """A scenario field's value from text; :class:`NetParameterError` naming ``name`` otherwise."""
    kind = NET_FIELDS.get(name)
    if kind is None:
        raise NetParameterError(name, f"not a parameter; known: {', '.join(sorted(NET_FIELDS))}")
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
    except ValueError:
        raise NetParameterError(name, f"{text!r} is not a {kind}") from None
    return text.strip()


def net_presets() -> dict[str, NetScenario]:
    """The scenarios of ``harmony sim network`` by name.

    * ``harmony-2018``: the 2018 experiment's conditions (``benchmark-mix40k.json``): 40,000 small cloud VMs
      in 100 shards, 300 s, 50 % cross-shard, UTXO blocks of up to 20,000 transactions (about 250 bytes
      each, no gas limit), nodes across regions (100 Mbit/s, 50 ms);
    * ``today-40k``: the same nodes with today's blocks: 30 M gas (1,428 transfers), 2 s;
    * ``mainnet``: the mainnet preset, 4 shards × 250;
    * ``devnet``: a 2-shard × 4-validator devnet on this machine (2 shared cores, loopback), the
      calibration case.
    """
    y2018 = NetScenario(
        name="harmony-2018",
        max_block_txs=20_000,
        gas_limit=20_000 * 21_000,
        tx_bytes=250,
        block_time_s=0.05,
    )
    return {
        "harmony-2018": y2018,
        "today-40k": NetScenario(name="today-40k"),
        "mainnet": NetScenario(name="mainnet", shards=4, nodes_per_shard=250),
        "devnet": NetScenario(
            name="devnet",
            shards=2,
            nodes_per_shard=4,
            block_time_s=1.0,
            uplink_mbps=10_000.0,
            latency_ms=0.1,
            sigma=0.0,
            propagation="gossip",
            shared_cores=2.0,
            duration_s=60.0,
        ),
    }


@dataclass(frozen=True, slots=True)
class NetResult:
    """What a run measured."""

    scenario: NetScenario
    tps: float
    """Transactions final in the run over its duration (the beacon's included)."""
    tps_2018_method: float
    """Per leader, transactions over round time with idle time not counted, summed over shards."""
    block_time_s: float
    """Median time between a shard's blocks."""
    round_s: float
    """Median FBFT round (build to final), idle time excluded."""
    block_txs: float
    """Mean transactions per block."""
    cross_p50_s: float
    cross_p99_s: float
    bytes_per_node_s: float
    """Mean bytes sent and received by a node per second."""
    global_topic_share: float
    """Share of those bytes from the network-wide topic (crosslinks and cross-shard proofs)."""
    uplink_use: float
    """``bytes_per_node_s`` over the median uplink: above 1 the links cannot carry the traffic the rounds
    assume (the model counts bytes but does not slow rounds for the network-wide topic)."""
    beacon_backlog: int
    """Crosslinks waiting at the end of the run (growing: the beacon chain is saturated)."""
    beacon_saturated: bool
    stalled_s: float
    """Shard-seconds without quorum while moved nodes synced (epoch changes)."""
    view_changes: int = 0
    """Views that timed out before their block was final (``phase_timeout_s``)."""
    cross_probe_p50_s: float = 0.0
    """Median cross-shard latency as one-at-a-time transfers see it: per destination shard, one sent at the
    run's start and each next one when the previous is credited (how ``bench/scale_testnet.py`` times
    them); under a growing backlog these sample the slow end of the run less often than
    :attr:`cross_p50_s`, which weighs every receipt."""


def _lognormal(rng: np.random.Generator, median: float, sigma: float, size: int) -> Floats:
    if sigma == 0.0:
        return np.full(size, median)
    values: Floats = median * np.exp(rng.normal(0.0, sigma, size))
    return values


def _gossip_depths(count: int, degree: int) -> Floats:
    depths = np.empty(count)
    reached, depth, width = 1, 1, degree
    depths[0] = 0
    while reached < count:
        take = min(width, count - reached)
        depths[reached : reached + take] = depth
        reached += take
        depth += 1
        width *= degree
    return depths


class _Shard:
    """Per-shard node arrays and counters."""

    def __init__(self, scenario: NetScenario, rng: np.random.Generator, index: int) -> None:
        n = scenario.nodes_per_shard
        self.index = index
        self.uplink_bps = _lognormal(rng, scenario.uplink_mbps * 1e6, scenario.sigma, n)
        self.latency = _lognormal(rng, scenario.latency_ms / 1000.0, scenario.sigma, n)
        self.depths = rng.permutation(_gossip_depths(n, scenario.gossip_degree))
        self.pending = 0.0
        """Processed transactions not in a block yet."""
        self.backlog = 0.0
        """Accepted transactions not processed yet (the CPU left them behind: transaction capacity)."""
        self.taken = 0
        """Own transactions in this shard's blocks so far (the FIFO position of the next block's first)."""
        self.share = 1.0
        """The share of its transactions' demand the nodes' cores served at the last round (transaction
        capacity)."""
        self.blocks: list[tuple[float, float, int, int]] = []
        """(start, final, own transactions, all transactions incl. credited receipts) per block."""
        self.syncing_until = np.zeros(n)
        self.round = 0
        self.median_latency = float(np.median(self.latency))
        self.carry: list[tuple[float, Origin]] = []
        """Receipts that arrived but did not fit in a block yet: (count, :data:`Origin`)."""
        self.cursor = 0
        """Next entry of the network-wide proof log this shard has not credited."""


def _quorum_time(times: Floats, active: npt.NDArray[np.bool_]) -> float:
    """When 2/3 of the shard's votes (all nodes count, equal power) have arrived; inf without quorum."""
    need = (2 * len(times)) // 3 + 1
    usable = times[active]
    if len(usable) < need:
        return math.inf
    return float(np.partition(usable, need - 1)[need - 1])


class NetworkModel:
    """One run of :class:`NetScenario` with :class:`NodeCosts` (module docstring)."""

    def __init__(self, scenario: NetScenario, costs: NodeCosts | None = None) -> None:
        self.s = check_net_scenario(scenario)
        self.costs = costs or NodeCosts()
        self.rng = np.random.default_rng(scenario.seed)
        self.shards = [_Shard(self.s, self.rng, i) for i in range(self.s.shards)]
        self.proofs: list[tuple[float, float, Origin, int]] = []
        """The network-wide topic's cross-shard proofs in publication order: (arrival, receipts for each
        other shard, when their transactions were submitted, source shard)."""
        self.cross_latencies: list[tuple[float, float]] = []
        self.credits_by_shard: list[list[tuple[float, float]]] = [[] for _ in range(self.s.shards)]
        """Per destination shard, its credits as (last submission of their source block, final), in
        crediting order."""
        self.bytes_total = 0.0
        self.global_bytes = 0.0
        self.crosslink_queue: list[float] = []
        self.stalled = 0.0
        self.view_changes = 0
        per_block = min(self.s.gas_limit // self.s.tx_gas, self.s.max_block_txs)
        self.block_cap = max(per_block, 1)

    # -- costs ------------------------------------------------------------------------------------------

    def _exec_rate(self) -> float:
        s = self.s
        if s.shared_cores > 0:
            return self.costs.exec_tx_per_s * min(1.0, s.shared_cores / s.nodes)
        return self.costs.exec_tx_per_s

    def _recent_interval(self, shard: _Shard) -> float:
        """The shard's mean interval over its last blocks (the block time before it has two)."""
        recent = [b[0] for b in shard.blocks[-4:]]
        return (recent[-1] - recent[0]) / (len(recent) - 1) if len(recent) > 1 else self.s.block_time_s

    def _node_cores(self) -> float:
        """The cores one node has: its own, or its share of the machine's when every node shares one."""
        s = self.s
        return s.shared_cores / s.nodes if s.shared_cores > 0 else s.cores_per_node

    def _slowdown(self, shard: _Shard, work: float) -> float:
        """How much slower a node's round ``work`` (its CPU per block) runs than on a core of its own when
        the nodes share a machine: processor sharing among the rounds, ``1 / (1 - ρ)`` with ``ρ`` the share
        of the cores every node's rounds use at the shard's recent block interval, at most
        ``nodes / shared_cores`` (every node busy at once). A round's steps wake on a message after a wait
        and the scheduler runs a waking process ahead of those that used their share (Linux CFS), so the
        transactions' backlog takes the cores the rounds leave (``φ``) rather than delaying the rounds."""
        s = self.s
        if s.shared_cores <= 0:
            return 1.0
        worst = max(1.0, s.nodes / s.shared_cores)
        if work <= 0:
            return worst  # no measured per-node work: every node busy at once
        busy = work / max(self._recent_interval(shard), s.block_time_s) / self._node_cores()
        return worst if busy >= 1 else min(worst, 1.0 / (1.0 - busy))

    def _global_hops(self) -> float:
        return max(1.0, math.ceil(math.log(max(self.s.nodes, 2), self.s.gossip_degree)))

    def _global_delay(self, size: float) -> float:
        s = self.s
        hop = size * s.gossip_degree * 8 / (s.uplink_mbps * 1e6) + s.latency_ms / 1000.0
        return self._global_hops() * hop

    def _arrivals(self, shard: _Shard, leader: int, size: float) -> Floats:
        s = self.s
        if s.propagation == "gossip":
            hop = size * s.gossip_degree * 8 / shard.uplink_bps + shard.latency
            depth = np.abs(shard.depths - shard.depths[leader])
            middle = len(hop) // 2
            gossip: Floats = depth * float(np.partition(hop, middle)[middle]) + np.where(
                depth > 0, shard.latency, 0.0
            )
            return gossip
        encoded = size * (1 + s.raptorq_overhead)
        leader_send = encoded * 8 / shard.uplink_bps[leader] + shard.latency[leader]
        forward = encoded * 8 / shard.uplink_bps + shard.latency
        enough = 1.0 / (1.0 + s.raptorq_overhead)
        k = min(len(forward) - 1, math.ceil(enough * len(forward)) - 1)
        decoded = float(np.partition(forward, k)[k]) if len(forward) > 1 else 0.0
        arrivals: Floats = np.full(len(forward), leader_send + decoded) + shard.latency
        arrivals[leader] = 0.0
        return arrivals

    def _round(
        self, shard: _Shard, start: float, n: int, processed: float = 0.0, tx_rate: float = 0.0
    ) -> tuple[float, float, float]:
        """Seconds from the round's start to finality (inf: no quorum), the least seconds from its start
        to the next round's (the block time after the next leader saw the announce, stretched when the
        nodes' cores cannot serve their demand) and the share ``φ`` of the demand they serve (module
        docstring: transaction capacity). ``processed``: the shard's transactions its nodes processed since
        its previous block; ``tx_rate``: the transactions a second the shard's nodes are asked to process
        (inf at saturation: ``processed`` per round)."""
        c, s = self.costs, self.s
        nodes = s.nodes_per_shard
        leader = shard.round % nodes
        size = HEADER_BYTES + n * s.tx_bytes
        active = shard.syncing_until <= start
        # on the critical path: the leader's build, then each validator's execution, each with half the
        # node's measured per-block work, slowed by the other processes sharing the machine
        step = (n / c.exec_tx_per_s + c.block_cpu_s / 2) * self._slowdown(shard, c.block_cpu_s)
        build, execute = step, step + c.sign_s
        announced = self._arrivals(shard, leader, size)
        arrive = build + announced + execute + shard.latency
        need = (2 * nodes) // 3 + 1
        verify = need * c.verify_sig_s / (1 if s.shared_cores else s.cores_per_node)
        prepared = _quorum_time(arrive, active) + verify
        commit_votes = prepared + 2 * shard.latency + c.agg_verify_s + c.sign_s
        committed = _quorum_time(commit_votes, active) + verify
        # bytes: block propagation, votes, the shard's transaction gossip
        block_bytes: float
        if s.propagation == "gossip":
            block_bytes = size * s.gossip_degree * nodes
        else:
            block_bytes = 2 * size * (1 + s.raptorq_overhead) * nodes
        vote_bytes = 4 * VOTE_BYTES * nodes + 2 * (VOTE_BYTES + 96) * nodes
        self.bytes_total += 2 * (block_bytes + vote_bytes)
        seen = build + float(announced[(leader + 1) % nodes])
        pace = seen + s.block_time_s - min(build, s.block_time_s / 2)
        asked = processed / pace if math.isinf(tx_rate) else tx_rate
        rounds, txs = c.block_cpu_s / pace, asked * c.tx_cpu_s
        cores = self._node_cores()
        if rounds + txs <= cores:
            return committed + shard.median_latency, pace, 1.0
        phi = cores / (rounds + txs)
        served = max(cores - txs, phi * phi * rounds)  # the rounds' cores (0 only when they cost none)
        share = min(1.0, (cores - served) / txs) if txs > 0 else 1.0
        floor = c.block_cpu_s / served if rounds > 0 else pace
        return committed + shard.median_latency, floor, share

    def _view_changes(self, shard: _Shard, start: float, duration: float) -> float:
        """The round's duration with the views that time out during it (``phase_timeout_s``): at each slot's
        end the next leader re-proposes the block, which the nodes executed already (kept verified), so
        the round goes on and each new view adds a consensus round without execution; slots double."""
        s = self.s
        if s.phase_timeout_s <= 0 or duration <= s.phase_timeout_s:
            return duration
        retry = 0.0
        done, end, failed = duration, 0.0, 0
        while end < s.duration_s and done > end + s.phase_timeout_s * 2 ** min(failed, MAX_BACKOFF_EXPONENT):
            end += s.phase_timeout_s * 2 ** min(failed, MAX_BACKOFF_EXPONENT)
            failed += 1
            shard.round += 1
            self.view_changes += 1
            retry = retry or self._round(shard, start, 0)[0]
            done = max(duration, end + retry)
        return done

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> NetResult:
        """Simulate ``duration_s`` seconds (module docstring) and summarize."""
        s = self.s
        events: list[tuple[float, int]] = [(0.0, i) for i in range(s.shards)]
        heapq.heapify(events)
        per_shard_rate = s.offered_tps / s.shards if s.offered_tps > 0 else math.inf
        last_load = [0.0] * s.shards
        next_epoch = s.epoch_s if s.epoch_s > 0 else math.inf
        rng = np.random.default_rng(s.seed + 1)
        while events:
            start, index = heapq.heappop(events)
            if start >= s.duration_s:
                continue
            if start >= next_epoch:
                self._epoch_change(start, rng)
                next_epoch += s.epoch_s
            shard = self.shards[index]
            processed = 0.0
            if per_shard_rate < math.inf:
                elapsed = start - last_load[index]
                shard.backlog += per_shard_rate * elapsed
                capacity = shard.share * per_shard_rate if self.costs.tx_cpu_s > 0 else math.inf
                processed = min(shard.backlog, capacity * elapsed)
                shard.backlog -= processed
                shard.pending += processed
                last_load[index] = start
            credited, room = self._credits(shard, start)
            own = self.block_cap if per_shard_rate == math.inf else int(min(shard.pending, self.block_cap))
            own = min(own, room) if index != 0 else self._beacon_room(min(own, room))
            credits = sum(count for count, _ in credited)
            n = own + round(credits)
            if per_shard_rate == math.inf:
                processed = own  # saturated: a block's worth asked for per round
            duration, floor, shard.share = self._round(shard, start, n, processed, per_shard_rate)
            if math.isinf(duration):
                self.stalled += s.block_time_s
                heapq.heappush(events, (start + s.block_time_s, index))
                continue
            duration = self._view_changes(shard, start, duration)
            final = start + duration
            # under a steady offered load its transactions were submitted in order, the block's own being
            # the next ``own`` of them (oldest first); at saturation, at the block's start
            submitted = (
                ((shard.taken + own / 2) / per_shard_rate, (shard.taken + own) / per_shard_rate)
                if per_shard_rate < math.inf
                else (start, start)
            )
            shard.taken += own
            shard.round += 1
            shard.pending -= own if per_shard_rate < math.inf else 0
            shard.blocks.append((start, final, own, n))
            self.cross_latencies.extend((final - origin[0], count) for count, origin in credited)
            shard_credits = self.credits_by_shard[index]
            shard_credits.extend((origin[1], final) for _, origin in credited)
            self.bytes_total += 2 * own * s.tx_bytes * s.gossip_degree * s.nodes_per_shard
            self._publish(index, submitted, final, own)
            heapq.heappush(events, (max(final, start + floor), index))
        return self._result()

    def _beacon_room(self, own: int) -> int:
        """The beacon block's own transactions after the crosslinks it must process (FIFO)."""
        budget = self.s.block_time_s
        links = len(self.crosslink_queue)
        cost = self.costs.crosslink_s / max(self.s.cores_per_node, 1.0)
        fit = min(links, int(budget / cost)) if cost > 0 else links
        del self.crosslink_queue[:fit]
        left = max(0.0, budget - fit * cost)
        return int(min(own, left * self._exec_rate(), self.block_cap))

    def _publish(self, index: int, submitted: Origin, final: float, own: int) -> None:
        """The block's crosslink and cross-shard proof on the network-wide topic; ``submitted``: when its
        transactions were sent (:data:`Origin`)."""
        s = self.s
        if index != 0:
            self.crosslink_queue.append(final + self._global_delay(CROSSLINK_BYTES))
        cross = own * s.cross_shard_share if s.shards > 1 else 0.0
        proof = HEADER_BYTES + 96 + cross * RECEIPT_BYTES
        hops = self.s.gossip_degree * s.nodes
        self.global_bytes += 2 * (CROSSLINK_BYTES + (proof if cross else 0)) * hops
        if cross:
            self.proofs.append((final + self._global_delay(proof), cross / (s.shards - 1), submitted, index))

    def _credits(self, shard: _Shard, now: float) -> tuple[list[tuple[float, Origin]], int]:
        """The receipts ``shard``'s block starting ``now`` credits (oldest first, up to the block's room)
        and the room left for its own transactions; what does not fit waits for the next block."""
        room = float(self.block_cap)
        credited: list[tuple[float, Origin]] = []
        left: list[tuple[float, Origin]] = []
        for count, origin in [*shard.carry, *self._arrived(shard, now)]:
            take = min(count, room)
            if take > 0:
                credited.append((take, origin))
                room -= take
            if count - take > 0:
                left.append((count - take, origin))
        shard.carry = left
        return credited, int(room)

    def _arrived(self, shard: _Shard, now: float) -> list[tuple[float, Origin]]:
        """The proofs for ``shard`` that arrived by ``now`` and it has not credited: (receipts, submission
        time). Proofs are taken in publication order (arrival order up to the spread of round times)."""
        taken: list[tuple[float, Origin]] = []
        while shard.cursor < len(self.proofs) and self.proofs[shard.cursor][0] <= now:
            _, count, origin, source = self.proofs[shard.cursor]
            if source != shard.index:
                taken.append((count, origin))
            shard.cursor += 1
        return taken

    def _epoch_change(self, now: float, rng: np.random.Generator) -> None:
        s = self.s
        for shard in self.shards:
            moved = rng.random(s.nodes_per_shard) < s.move_fraction
            sync = s.state_mb * 8e6 / shard.uplink_bps
            shard.syncing_until = np.where(moved, now + sync, shard.syncing_until)

    def _probe_p50(self) -> float:
        """:attr:`NetResult.cross_probe_p50_s`: a transfer submitted at ``t`` goes into the first source
        block whose transactions were submitted until ``t`` or later, is credited with them, and the next
        is sent then."""
        samples: list[float] = []
        for credits in self.credits_by_shard:
            ordered = sorted(credits)
            origins = [o for o, _ in ordered]
            # the earliest finality among the credits submitted at or after each position
            earliest = [f for _, f in ordered]
            for i in range(len(earliest) - 2, -1, -1):
                earliest[i] = min(earliest[i], earliest[i + 1])
            sent = 0.0
            while sent < self.s.duration_s:
                i = bisect.bisect_left(origins, sent)
                if i == len(origins):
                    break
                samples.append(earliest[i] - sent)
                sent = max(earliest[i], sent + 1e-3)
        return float(np.median(samples)) if samples else 0.0

    def _result(self) -> NetResult:
        s = self.s
        finals = [own for shard in self.shards for (_, f, own, _) in shard.blocks if f <= s.duration_s]
        tps = sum(finals) / s.duration_s
        per_leader = 0.0
        gaps: list[float] = []
        rounds: list[float] = []
        sizes: list[int] = []
        for shard in self.shards:
            busy = sum(f - st for st, f, _, _ in shard.blocks)
            done = sum(own for _, _, own, _ in shard.blocks)
            per_leader += done / busy if busy > 0 else 0.0
            starts = [st for st, _, _, _ in shard.blocks]
            gaps.extend(b - a for a, b in itertools.pairwise(starts))
            rounds.extend(f - st for st, f, _, _ in shard.blocks)
            sizes.extend(n for _, _, _, n in shard.blocks)
        total_bytes = self.bytes_total + self.global_bytes
        per_node = total_bytes / s.nodes / s.duration_s / 2
        cross = sorted(self.cross_latencies)
        weights = np.array([c for _, c in cross], dtype=float)
        if len(weights) and weights.sum() <= 0:
            weights = np.ones(len(weights))
        values = np.array([v for v, _ in cross])

        def quantile(q: float) -> float:
            if not len(values):
                return 0.0
            cumulative = np.cumsum(weights) / weights.sum()
            return float(values[min(int(np.searchsorted(cumulative, q)), len(values) - 1)])

        backlog = sum(1 for t in self.crosslink_queue if t <= s.duration_s)
        return NetResult(
            scenario=s,
            tps=tps,
            tps_2018_method=per_leader,
            block_time_s=float(np.median(gaps)) if gaps else 0.0,
            round_s=float(np.median(rounds)) if rounds else 0.0,
            block_txs=float(np.mean(sizes)) if sizes else 0.0,
            cross_p50_s=quantile(0.5),
            cross_p99_s=quantile(0.99),
            bytes_per_node_s=per_node,
            global_topic_share=self.global_bytes / total_bytes if total_bytes else 0.0,
            uplink_use=per_node * 8 / (s.uplink_mbps * 1e6),
            beacon_backlog=backlog,
            beacon_saturated=backlog > s.shards,
            stalled_s=self.stalled,
            view_changes=self.view_changes,
            cross_probe_p50_s=self._probe_p50(),
        )


def simulate(scenario: NetScenario, costs: NodeCosts | None = None) -> NetResult:
    """Run one scenario (a picklable entry point for :func:`harmony.sim.sweeps.run_all`)."""
    return NetworkModel(scenario, costs).run()


def shard_sweep(scenario: NetScenario, shard_counts: list[int]) -> list[NetScenario]:
    """``scenario`` at each shard count (the same nodes per shard)."""
    return [replace(scenario, shards=count, name=f"{scenario.name} {count} shards") for count in shard_counts]


__all__ = [
    "NET_FIELDS",
    "NetParameterError",
    "NetResult",
    "NetScenario",
    "NetworkModel",
    "NodeCosts",
    "check_net_scenario",
    "net_presets",
    "parse_net_value",
    "shard_sweep",
    "simulate",
]
