"""One moment of a node as its operators see it: what metrics, alerts and the dashboard all render.

:class:`OpsSnapshot` joins the node's own :class:`~harmony.node.status.NodeStatus`, the per-key signing
(:mod:`harmony.ops.signing`), the committees of this epoch and the next, the disk, and the ops layer's own
counters. :func:`disk_usage` and :func:`directory_bytes` read the file system (bounded: one directory).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harmony.node.status import NodeStatus
from harmony.ops.alerts import Alert, Observation
from harmony.ops.rewards import ValidatorRewards
from harmony.ops.signing import KeyView
from harmony.types.shard_state import Committee


@dataclass(frozen=True, slots=True)
class DiskUsage:
    """The data directory's disk and database sizes (bytes)."""

    total: int
    free: int
    database: int

    @property
    def free_percent(self) -> int:
        """Free space in whole percent (rounded down)."""
        return self.free * 100 // self.total if self.total else 0


@dataclass(frozen=True, slots=True)
class OpsSnapshot:
    """Everything shown at one moment (module docstring)."""

    status: NodeStatus
    keys: Sequence[KeyView]
    committee_now: Committee | None
    committee_next: Committee | None
    disk: DiskUsage | None
    alerts: Sequence[tuple[Alert, float]] = ()
    """Open alerts and when each opened."""
    first_block: int | None = None
    last_block: int | None = None
    """The blocks the signing numbers cover."""
    last_signatures: int = 0
    blocks_seen: int = 0
    view_changes: int = 0
    intervals: Sequence[tuple[int, float]] = ()
    """(block number, seconds since the block before) of the last blocks this node stored."""
    webhooks: dict[str, int] = field(default_factory=dict)
    rpc: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    """JSON-RPC method → (requests, failures, seconds spent) since start."""
    rewards: Sequence[ValidatorRewards] = ()
    """The watched keys' validators' rewards at the last head read (beacon nodes)."""
    taken_unix: float = 0.0

    def observation(self) -> Observation:
        """What the alert rules read."""
        return Observation(
            status=self.status,
            keys=self.keys,
            committee_now=_keys(self.committee_now),
            committee_next=_keys(self.committee_next),
            disk_free_percent=self.disk.free_percent if self.disk is not None else None,
        )


def _keys(committee: Committee | None) -> frozenset[bytes] | None:
    return frozenset(committee.bls_public_keys()) if committee is not None else None


def directory_bytes(path: Path) -> int:
    """Bytes the files directly in ``path`` occupy on disk (LMDB's sparse map counts what is written)."""
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
    except OSError:
        return 0
    return total


def disk_usage(data_dir: Path) -> DiskUsage | None:
    """The disk holding ``data_dir`` and the chain database in it; ``None`` when unreadable."""
    try:
        usage = shutil.disk_usage(data_dir)
    except OSError:
        return None
    return DiskUsage(total=usage.total, free=usage.free, database=directory_bytes(data_dir / "chain"))
