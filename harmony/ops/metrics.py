"""Prometheus metrics of a node (``GET /metrics``, port 9900 as Harmony's; reference §10.4).

Harmony's metric names where Harmony has one (``hmy_consensus_bingo``, ``hmy_consensus_viewchange``,
``hmy_consensus_signatures``, ``hmy_consensus_blskeys``, ``hmy_consensus_finality``, ``hmy_node_metadata``,
``hmy_p2p_*``, ``hmy_rpc_*`` per JSON-RPC method); counters carry the ``_total`` suffix the Prometheus
client library gives every counter. Per watched BLS key (label ``key``, hex; ``mine`` says whether this
node signs with it; the watched keys are the node's own and ``[alerts] keys``): blocks signed and missed,
last signed height, current missed streak, this epoch's signed and to-sign, elected in this epoch and the
next; per watched key's validator (label ``validator``, bech32; beacon nodes): the lifetime reward in ONE and
the APR (display figures: the exact ones are the RPC's and the dashboard's). Also the block interval and
finality histograms, head and sync lag, peers per topic, pool sizes, the VDF prover, the process (RSS, CPU,
open files: the client library's process collector; RSS split into heap and mapped files,
:mod:`harmony.ops.memory`), the database size and the disk.

Everything but the two histograms and the process's own figures is read from one
:class:`~harmony.ops.snapshot.OpsSnapshot`, so a rendering costs one snapshot and the client library's text
formatting, 5-20 ms on a loaded node: most of it the formatting, and all of it on the node's loop. So the
HTTP path does not render when it can help it
(:meth:`MetricsExporter.scrape`): the ops service's tick renders just before a regular scraper's next
scrape is due (:meth:`MetricsExporter.prepare`), and the scrape sends those bytes, at most
:data:`MAX_AGE` seconds old. A first or irregular scrape renders at once. ``bench/ops.py`` measures both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from harmony.chain.params import ONE
from harmony.encoding.address import to_bech32
from harmony.ops.memory import resident_memory
from harmony.ops.snapshot import OpsSnapshot

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
INTERVAL_BUCKETS = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0, 120.0)
FINALITY_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 30.0, 60.0)
MAX_AGE = 2.0
"""Seconds a prepared rendering may be served (two of the ops service's one-second ticks)."""
LEAD = 1.5
"""Seconds before a scrape is due that :meth:`MetricsExporter.prepare` renders it."""


def _gauge(name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


def _counters(name: str, doc: str, label: str, values: dict[str, int]) -> CounterMetricFamily:
    """One counter per ``label`` value."""
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, count in sorted(values.items()):
        family.add_metric([key], count)
    return family


class _SnapshotCollector(Collector):
    """Renders one snapshot per scrape (module docstring)."""

    def __init__(self, snapshot: Callable[[], OpsSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        yield from _node_metrics(snap)
        yield from _key_metrics(snap)
        yield from _reward_metrics(snap)
        yield from _resource_metrics(snap)
        yield from _memory_metrics()


def _node_metrics(snap: OpsSnapshot) -> Iterator[Metric]:
    st = snap.status
    meta = GaugeMetricFamily(
        "hmy_node_metadata",
        "Node metadata (always 1; the labels carry it)",
        labels=["version", "network", "shard", "peerid", "role"],
    )
    role = "validator" if st.bls_public_keys else "explorer"
    meta.add_metric([st.version, st.network, str(st.shard_id), st.peer_id, role], 1)
    yield meta
    uptime = snap.taken_unix - st.started_unix
    yield _gauge("hmy_node_uptime_seconds", "Seconds since the node started", uptime)
    yield CounterMetricFamily(
        "hmy_consensus_bingo", "Blocks this node stored as final since it started", value=snap.blocks_seen
    )
    yield CounterMetricFamily(
        "hmy_consensus_viewchange",
        "View changes the stored blocks show since the node started",
        value=snap.view_changes,
    )
    yield _gauge("hmy_consensus_signatures", "Signatures in the last counted commit", snap.last_signatures)
    keys = GaugeMetricFamily("hmy_consensus_blskeys", "This node's BLS public keys", labels=["pubkey"])
    for key in st.bls_public_keys:
        keys.add_metric([key.hex()], 1)
    yield keys
    yield _gauge("hmy_consensus_view_id", "The consensus core's current view", st.view_id)
    yield _gauge("hmy_consensus_is_leader", "1 when this node leads the current view", int(st.is_leader))
    events = CounterMetricFamily("hmy_consensus_events", "Consensus driver events by kind", labels=["event"])
    for event, count in sorted(st.consensus_counters.items()):
        events.add_metric([event], count)
    yield events
    dropped = CounterMetricFamily(
        "hmy_consensus_dropped_messages", "Consensus messages refused, by reason", labels=["reason"]
    )
    for reason, count in sorted(st.consensus_drops.items()):
        dropped.add_metric([reason], count)
    yield dropped
    yield _counters(
        "hmy_coded_blocks_received",
        "Blocks coded propagation brought, by way: decoded from symbols or fetched whole (fallback)",
        "via",
        {"decoded": 0, "fallback": 0, **st.coded_received},
    )
    yield _counters(
        "hmy_coded_rejections",
        "Coded symbol batches and symbols refused, by reason",
        "reason",
        st.coded_rejected,
    )
    yield CounterMetricFamily(
        "hmy_coded_blocks_sent", "Blocks this node sent coded as the leader", value=st.coded_sent
    )
    yield _gauge("hmy_chain_head_height", "Head block number", st.head_number)
    yield _gauge("hmy_chain_epoch", "Head block's epoch", st.head_epoch)
    yield _gauge("hmy_chain_blocks_per_epoch", "Blocks in the head's epoch", st.blocks_per_epoch)
    yield _gauge("hmy_chain_head_timestamp_seconds", "Head block's timestamp", st.head_time)
    yield _gauge(
        "hmy_chain_history_floor",
        "Lowest block stored whole: pruning expired the older ones (0: every block is stored)",
        st.history_floor,
    )
    yield _gauge("hmy_sync_highest_seen", "Highest head a peer announced", st.highest_seen)
    yield _gauge("hmy_sync_lag_blocks", "Blocks behind the highest head a peer announced", st.sync_lag)
    yield _gauge("hmy_sync_syncing", "1 while catching up", int(st.syncing))
    yield _gauge("hmy_p2p_peers", "Connected peers", st.peers)
    topics = GaugeMetricFamily("hmy_p2p_topic_peers", "Mesh peers per topic", labels=["topic"])
    for topic, count in sorted(st.topic_peers.items()):
        topics.add_metric([topic], count)
    yield topics
    yield _counters(
        "hmy_p2p_topic_messages_received", "Gossip messages received per topic", "topic", st.topic_messages
    )
    yield _counters(
        "hmy_p2p_topic_messages_refused",
        "Gossip messages refused on a fenced topic from a peer outside the fence",
        "topic",
        st.topic_refused,
    )
    yield _counters(
        "hmy_p2p_protocol_answer_bytes",
        "Bytes of successful answers to this node's requests, per stream protocol",
        "protocol",
        st.answered_bytes,
    )
    yield _gauge("hmy_txpool_pending", "Executable transactions in the pool", st.pool_pending)
    yield _gauge("hmy_txpool_queued", "Queued (future-nonce) transactions in the pool", st.pool_queued)
    yield _gauge("hmy_staking_pool_size", "Staking transactions waiting (beacon nodes)", st.staking_pool)
    yield _gauge("hmy_vdf_proving", "1 while the VDF prover works", int(st.vdf_proving_epoch is not None))
    if st.vdf_proving_epoch is not None:
        yield _gauge("hmy_vdf_proving_epoch", "The seed epoch being proven", st.vdf_proving_epoch)
    if st.vdf_last_ms is not None:
        yield _gauge("hmy_vdf_last_duration_seconds", "Duration of the last VDF proof", st.vdf_last_ms / 1000)
    yield CounterMetricFamily("hmy_vdf_failures", "VDF proofs that failed", value=st.vdf_failures)
    alerts = GaugeMetricFamily("hmy_alerts_open", "Open alerts by rule", labels=["rule"])
    rules: dict[str, int] = {}
    for alert, _ in snap.alerts:
        rules[alert.rule] = rules.get(alert.rule, 0) + 1
    for rule, count in sorted(rules.items()):
        alerts.add_metric([rule], count)
    yield alerts
    hooks = CounterMetricFamily("hmy_alerts_webhook", "Webhook deliveries by outcome", labels=["outcome"])
    for outcome in ("sent", "failed", "dropped"):
        hooks.add_metric([outcome], snap.webhooks.get(outcome, 0))
    yield hooks
    requests = CounterMetricFamily("hmy_rpc_requests", "JSON-RPC requests by method", labels=["method"])
    failures = CounterMetricFamily("hmy_rpc_failures", "JSON-RPC error answers by method", labels=["method"])
    seconds = CounterMetricFamily("hmy_rpc_request_seconds", "Seconds spent per method", labels=["method"])
    for method, (calls, failed, spent) in sorted(snap.rpc.items()):
        requests.add_metric([method], calls)
        failures.add_metric([method], failed)
        seconds.add_metric([method], spent)
    yield from (requests, failures, seconds)


def _key_metrics(snap: OpsSnapshot) -> Iterator[Metric]:
    labels = ["key", "mine"]
    signed = CounterMetricFamily("hmy_validator_blocks_signed", "Blocks the key signed", labels=labels)
    missed = CounterMetricFamily("hmy_validator_blocks_missed", "Blocks the key missed", labels=labels)
    last = GaugeMetricFamily("hmy_validator_last_signed_height", "Last block the key signed", labels=labels)
    streak = GaugeMetricFamily("hmy_validator_missed_streak", "Blocks missed in a row now", labels=labels)
    epoch_signed = GaugeMetricFamily("hmy_validator_epoch_signed", "Blocks signed this epoch", labels=labels)
    epoch_to_sign = GaugeMetricFamily(
        "hmy_validator_epoch_to_sign", "Blocks to sign this epoch", labels=labels
    )
    elected = GaugeMetricFamily(
        "hmy_validator_elected", "1 when the key is in the epoch's committee", labels=[*labels, "epoch"]
    )
    now = set(snap.committee_now.bls_public_keys()) if snap.committee_now is not None else None
    nxt = set(snap.committee_next.bls_public_keys()) if snap.committee_next is not None else None
    for view in snap.keys:
        values = [view.key.hex(), "true" if view.mine else "false"]
        signed.add_metric(values, view.signed)
        missed.add_metric(values, view.missed)
        if view.last_signed is not None:
            last.add_metric(values, view.last_signed)
        streak.add_metric(values, view.missed_streak)
        epoch_signed.add_metric(values, view.epoch_signed)
        epoch_to_sign.add_metric(values, view.epoch_to_sign)
        if now is not None:
            elected.add_metric([*values, "current"], int(view.key in now))
        if nxt is not None:
            elected.add_metric([*values, "next"], int(view.key in nxt))
    yield from (signed, missed, last, streak, epoch_signed, epoch_to_sign, elected)


def _reward_metrics(snap: OpsSnapshot) -> Iterator[Metric]:
    if not snap.rewards:
        return
    reward = GaugeMetricFamily(
        "hmy_validator_reward_accumulated_one", "Lifetime block reward of the validator", labels=["validator"]
    )
    apr = GaugeMetricFamily(
        "hmy_validator_apr", "The validator's APR (a fraction) this epoch", labels=["validator"]
    )
    for r in snap.rewards:
        name = to_bech32(r.address)
        whole, atto = divmod(r.reward_atto, ONE)
        reward.add_metric([name], whole + atto / ONE)  # display only
        apr.add_metric([name], float(str(r.apr)))  # display only
    yield from (reward, apr)


def _resource_metrics(snap: OpsSnapshot) -> Iterator[Metric]:
    if snap.disk is None:
        return
    yield _gauge("hmy_db_size_bytes", "Bytes the chain database occupies on disk", snap.disk.database)
    yield _gauge("hmy_disk_free_bytes", "Free bytes on the data directory's disk", snap.disk.free)
    yield _gauge("hmy_disk_size_bytes", "Size of the data directory's disk", snap.disk.total)


def _memory_metrics() -> Iterator[Metric]:
    """The process's RSS split (:mod:`harmony.ops.memory`): the heap, and the mapped files whose share
    follows the database's size."""
    memory = resident_memory()
    if memory is None:
        return
    yield _gauge(
        "hmy_process_resident_anon_bytes", "Resident anonymous memory (the heap) of the node", memory.anon
    )
    yield _gauge(
        "hmy_process_resident_file_bytes",
        "Resident pages of mapped files (the chain database's map, libraries): page cache, reclaimable",
        memory.files,
    )


class MetricsExporter:
    """The node's metrics registry (module docstring): the snapshot collector, the process collector
    and the two histograms the ops service feeds."""

    def __init__(
        self, snapshot: Callable[[], OpsSnapshot], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self._prepared: tuple[float, bytes] | None = None
        self._scrapes: tuple[float, float] | None = None
        """(the last scrape's time, the interval before it)."""
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_SnapshotCollector(snapshot))
        ProcessCollector(registry=self.registry)
        self.block_interval = Histogram(
            "hmy_chain_block_interval_seconds",
            "Seconds between consecutive blocks this node stored",
            buckets=INTERVAL_BUCKETS,
            registry=self.registry,
        )
        self.finality = Histogram(
            "hmy_consensus_finality",
            "Seconds from a block's timestamp to this node storing it (whole-second header times)",
            buckets=FINALITY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric, now."""
        return generate_latest(self.registry)

    def scrape(self) -> bytes:
        """What ``GET /metrics`` answers: the prepared rendering when it is at most :data:`MAX_AGE` seconds
        old and not served before (a scraper never sees one rendering twice), else a rendering now."""
        now = self.clock()
        last = self._scrapes
        self._scrapes = (now, now - last[0] if last is not None else 0.0)
        prepared, self._prepared = self._prepared, None
        if prepared is not None and now - prepared[0] <= MAX_AGE:
            return prepared[1]
        return self.render()

    def prepare(self) -> None:
        """Render ahead when a regular scraper's next scrape is due within :data:`LEAD` seconds (called
        every tick; renders at most once per expected scrape, and never for a scraper that stopped)."""
        if self._scrapes is None or self._prepared is not None:
            return
        last, interval = self._scrapes
        if interval <= 0:
            return
        now = self.clock()
        due = last + interval
        if due - LEAD <= now <= due + interval:
            self._prepared = (now, self.render())
