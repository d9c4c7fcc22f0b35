"""The operators' service of one node: metrics, alerts and the dashboard on the node's trio loop (layer 13).

The node (layer 9) never imports this layer. The CLI builds an :class:`OpsService` over two read-only
views of the node, its ``status()`` snapshot (:class:`~harmony.node.status.NodeStatus`) and its chain
database, and registers :meth:`OpsService.on_block` as a block listener of the consensus driver. Then
:meth:`OpsService.run` serves ``/metrics``, the dashboard and its WebSocket (:mod:`harmony.ops.server`),
runs the webhook workers, and once a second evaluates the alert rules and pushes the dashboard's state.

At start the tracker counts the last :data:`BACKFILL` stored blocks, so a restarted node shows its keys'
recent signing at once. Metrics, alerts and the page cover the watched keys (the node's own and
``[alerts] keys``): a mainnet committee's 250 keys would make every scrape a few thousand samples.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from harmony.chain.params import NetworkParams
from harmony.node.status import NodeStatus
from harmony.ops.alerts import AlertBook, AlertEvent, Thresholds, evaluate
from harmony.ops.metrics import MetricsExporter
from harmony.ops.network_view import NetworkView
from harmony.ops.rewards import ValidatorRewards, read_rewards, staked_owners
from harmony.ops.signing import SigningTracker
from harmony.ops.snapshot import DiskUsage, OpsSnapshot, disk_usage
from harmony.ops.webhooks import NodeLabel, WebhookSender
from harmony.storage.chaindb import ChainDB
from harmony.types.block import Block
from harmony.types.header import Header
from harmony.types.shard_state import Committee

log = logging.getLogger("harmony.ops")

BACKFILL = 512
"""Stored blocks counted at start."""
TICK = 1.0
"""Seconds between alert evaluations and dashboard pushes."""
DISK_EVERY = 10.0
"""Seconds a disk reading is reused (a scrape must stay cheap)."""
RECENT_EVENTS = 50
INTERVALS = 120


@dataclass(frozen=True, slots=True)
class OpsSettings:
    """Where the service listens and what it watches (``[metrics]``, ``[dashboard]``, ``[alerts]``)."""

    host: str = "127.0.0.1"
    port: int = 9900
    dashboard: bool = True
    webhooks: tuple[str, ...] = ()
    watched: tuple[bytes, ...] = ()
    """BLS public keys watched besides the node's own."""
    thresholds: Thresholds = field(default_factory=Thresholds)
    name: str = ""
    """How alerts name this node (default: network, shard and peer id)."""
    network_view: tuple[str, ...] = ()
    """Other nodes' dashboards (``http://host:port``) shown in the network view."""
    rpc_stats: Callable[[], dict[str, tuple[int, int, float]]] | None = None
    """The JSON-RPC server's per-method (requests, failures, seconds), when it runs."""


class OpsService:
    """Metrics, alerts and the dashboard of one node (module docstring)."""

    def __init__(
        self,
        status: Callable[[], NodeStatus],
        db: ChainDB,
        settings: OpsSettings,
        *,
        clock: Callable[[], float] = time.time,
        params: NetworkParams | None = None,
    ) -> None:
        self.status = status
        self.db = db
        self.settings = settings
        self.clock = clock
        self.params = params
        """The chain's parameters; with them a beacon node reads its validators' rewards."""
        first = status()
        self.shard_id = first.shard_id
        self.tracker = SigningTracker(mine=first.bls_public_keys, watched=settings.watched)
        self.exporter = MetricsExporter(self.snapshot)
        self.book = AlertBook()
        self.events: deque[AlertEvent] = deque(maxlen=RECENT_EVENTS)
        self.intervals: deque[tuple[int, float]] = deque(maxlen=INTERVALS)
        self.blocks_seen = 0
        self.view_changes = 0
        self._last_stored: float | None = None
        self._committees: OrderedDict[int, Committee | None] = OrderedDict()
        self._disk: tuple[float, DiskUsage | None] | None = None
        name = settings.name or f"{first.network}/s{first.shard_id}/{first.peer_id[-8:] or 'node'}"
        self.sender = WebhookSender(settings.webhooks, NodeLabel(first.network, first.shard_id, name))
        self.network = NetworkView(settings.network_view)
        self.rewards: tuple[ValidatorRewards, ...] = ()
        self._rewards_head: int | None = None
        self.listeners: list[Callable[[], None]] = []
        """Called after every tick (the dashboard's WebSocket sessions)."""

    # -- blocks ---------------------------------------------------------------------------------------

    def committee(self, epoch: int) -> Committee | None:
        """Our shard's committee of ``epoch`` from the chain database (a few epochs cached)."""
        if epoch in self._committees:
            self._committees.move_to_end(epoch)
            return self._committees[epoch]
        committee = self.db.committee_for(self.shard_id, epoch)
        if committee is not None:
            self._committees[epoch] = committee
            while len(self._committees) > 4:
                self._committees.popitem(last=False)
        return committee

    def _count(self, header: Header) -> None:
        """Count the signing of ``header``'s parent from ``header.last_commit_bitmap`` (signing module)."""
        if header.number < 2 or not header.last_commit_bitmap:
            return  # the genesis block is not signed
        parent = self.db.get_header_by_number(header.number - 1)
        if parent is None:
            return
        committee = self.committee(parent.epoch)
        if committee is None:
            return
        if self.tracker.observe(
            parent.number, parent.epoch, committee.bls_public_keys(), header.last_commit_bitmap
        ):
            self.view_changes += max(0, header.view_id - parent.view_id - 1)

    def catch_up(self, number: int) -> None:
        """Count every stored block up to the one whose child is block ``number`` that is not counted yet
        (at most the last :data:`BACKFILL`): at start, and after blocks stored while nobody listened."""
        last = self.tracker.last_block
        start = max(1, number - BACKFILL + 1, last + 2 if last is not None else 1)
        for child in range(start, number + 1):
            header = self.db.get_header_by_number(child)
            if header is not None:
                self._count(header)

    def backfill(self) -> None:
        """Count the last :data:`BACKFILL` stored blocks."""
        self.catch_up(self.db.head_number() or 0)

    def on_block(self, block: Block) -> None:
        """A block is final and stored (the consensus driver's block listener; never raises)."""
        try:
            now = self.clock()
            header = block.header
            self.catch_up(header.number)
            self.blocks_seen += 1
            self.exporter.finality.observe(max(0.0, now - header.time))
            if self._last_stored is not None:
                interval = now - self._last_stored
                self.exporter.block_interval.observe(interval)
                self.intervals.append((header.number, round(interval, 3)))
            self._last_stored = now
        except Exception:  # the operators' view must never break block import
            log.exception("ops: counting block %d failed", block.header.number)

    def refresh_rewards(self, head: int, epoch: int) -> None:
        """Read the watched keys' validators' rewards at ``head`` (:mod:`harmony.ops.rewards`), for keys
        seated on any shard: on a beacon node, once per new head, so no scrape or page load reads state."""
        if self.params is None or self.shard_id != 0 or head == self._rewards_head:
            return
        self._rewards_head = head
        states = (self.db.get_shard_state(epoch), self.db.get_shard_state(epoch + 1))
        committees = [c for state in states if state is not None for c in state.shards]
        owners = staked_owners((v.key for v in self.tracker.views(watched_only=True)), committees)
        self.rewards = tuple(read_rewards(self.db, self.params, head, owners))

    # -- snapshots and alerts -------------------------------------------------------------------------

    def _disk_usage(self, status: NodeStatus, now: float) -> DiskUsage | None:
        if self._disk is None or now - self._disk[0] >= DISK_EVERY:
            self._disk = (now, disk_usage(status.data_dir))
        return self._disk[1]

    def snapshot(self) -> OpsSnapshot:
        """Everything the node shows now."""
        now = self.clock()
        status = self.status()
        return OpsSnapshot(
            status=status,
            keys=self.tracker.views(watched_only=True),
            committee_now=self.committee(status.head_epoch),
            committee_next=self.db.committee_for(self.shard_id, status.head_epoch + 1),
            disk=self._disk_usage(status, now),
            alerts=sorted(self.book.open.values(), key=lambda item: item[1]),
            first_block=self.tracker.first_block,
            last_block=self.tracker.last_block,
            last_signatures=self.tracker.last_signatures,
            blocks_seen=self.blocks_seen,
            view_changes=self.view_changes,
            intervals=tuple(self.intervals),
            webhooks=dict(self.sender.counts),
            rewards=self.rewards,
            rpc=self.settings.rpc_stats() if self.settings.rpc_stats is not None else {},
            taken_unix=now,
        )

    def tick(self) -> list[AlertEvent]:
        """Evaluate the rules; queue each opened or resolved alert for the webhooks. The events."""
        head = self.status()
        self.refresh_rewards(head.head_number, head.head_epoch)
        snap = self.snapshot()
        events = self.book.update(evaluate(snap.observation(), self.settings.thresholds), snap.taken_unix)
        for event in events:
            log.warning("alert %s: %s", event.status, event.alert.message)
            self.events.append(event)
            self.sender.send(event)
        for listener in list(self.listeners):
            listener()
        self.exporter.prepare()
        return events

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve and tick until cancelled; reports the bound port (``nursery.start``-able)."""
        from harmony.ops.server import OpsServer  # noqa: PLC0415 - the server imports this module

        self.backfill()
        server = OpsServer(self)
        async with trio.open_nursery() as nursery:
            port = await nursery.start(server.serve, self.settings.host, self.settings.port)
            nursery.start_soon(self.sender.run)
            nursery.start_soon(self.network.run)
            task_status.started(port)
            while True:
                await trio.sleep(TICK)
                try:
                    self.tick()
                except Exception:  # never take the node down
                    log.exception("ops: alert evaluation failed")
