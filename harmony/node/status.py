"""What a running node shows its operators: one read-only snapshot (design §2: layer 13 reads, never writes).

:class:`NodeStatus` is everything the operators' layer (``harmony.ops``: metrics, alerts, dashboard) needs
from the node that the chain database does not already hold: the live consensus view, peers, pools, sync
and the VDF prover. It holds public data only: the node's BLS **public** keys, never key material.
``RuntimeHooks.status()`` (:mod:`harmony.node.hooks`) builds one; the ops layer never imports this layer's
mutable objects to read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A snapshot of a running node (module docstring); counts are as of the moment it was taken."""

    network: str
    shard_id: int
    version: str
    peer_id: str
    data_dir: Path
    started_unix: float
    """When the node process started (Unix seconds), for uptime."""
    head_number: int
    head_epoch: int
    head_time: int
    """The head header's timestamp (Unix seconds)."""
    blocks_per_epoch: int
    view_id: int
    """The consensus core's current view."""
    is_leader: bool
    highest_seen: int
    """The highest head any peer announced (the head itself when no peer is ahead)."""
    syncing: bool
    peers: int
    topic_peers: dict[str, int] = field(default_factory=dict)
    """Mesh peers per subscribed topic."""
    topic_messages: dict[str, int] = field(default_factory=dict)
    """Gossip messages received per topic since the node started (a fenced topic's outsider gets none):
    the node's shard and global topics, and any other topic a message came on."""
    topic_refused: dict[str, int] = field(default_factory=dict)
    """Gossip messages refused on a guarded (fenced) topic because their sender was not admitted."""
    answered_bytes: dict[str, int] = field(default_factory=dict)
    """Bytes of successful answers to this node's requests per stream protocol (sync, state sync…)."""
    history_floor: int = 0
    """The lowest block number stored whole (older ones expired by pruning; 0: every block)."""
    pool_pending: int = 0
    pool_queued: int = 0
    staking_pool: int = 0
    bls_public_keys: tuple[bytes, ...] = ()
    """The public keys this node signs with (never the secret keys)."""
    vdf_proving_epoch: int | None = None
    """The epoch whose seed the VDF prover works on now, if any."""
    vdf_last_ms: int | None = None
    vdf_failures: int = 0
    consensus_counters: dict[str, int] = field(default_factory=dict)
    """The consensus driver's event counters (commits, invalid blocks, full queues…)."""
    consensus_drops: dict[str, int] = field(default_factory=dict)
    """Consensus messages the core refused since the node started, by reason (stale view, bad signature…)."""
    coded_received: dict[str, int] = field(default_factory=dict)
    """Blocks coded propagation brought this node, by way: ``decoded`` from symbols, ``fallback`` fetched
    whole (a node that only ever falls back gets its blocks late, and may vote late or not at all)."""
    coded_rejected: dict[str, int] = field(default_factory=dict)
    """Coded batches and symbols refused, by reason (unknown round, unannounced block, bad proof…)."""
    coded_sent: int = 0
    """Blocks this node sent coded as the leader."""

    @property
    def sync_lag(self) -> int:
        """Blocks behind the highest head seen."""
        return max(0, self.highest_seen - self.head_number)
