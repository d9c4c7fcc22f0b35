"""Alert rules an operator needs long before the protocol evicts a key (issue 17; reference §4 availability).

The protocol only evicts a validator that signs under 2/3 of an epoch's blocks; an operator bound to 99.5 %
uptime has a budget of ``blocks_per_epoch × 0.5 %`` missed blocks per epoch. :func:`evaluate` is a pure
function from what the node sees (its :class:`~harmony.node.status.NodeStatus`, the signing of every watched
key, the committees of this epoch and the next, the disk) to the set of alerts open now. Each rule:

* ``missed_blocks``: a watched key missed ``missed_blocks`` final blocks in a row;
* ``signing_target``: a watched key missed more of this epoch's blocks than the target allows for the whole
  epoch (it cannot end the epoch at the target any more);
* ``not_elected``: a watched key is not in this epoch's committee, or not in the next epoch's once that is
  known;
* ``sync_lag``: the head is more than ``sync_lag`` blocks behind the highest head a peer announced;
* ``few_peers``: fewer than ``min_peers`` connected peers;
* ``disk_full``: the data directory's disk has less than ``disk_free_percent`` % free.

:class:`AlertBook` keeps the open alerts and turns each evaluation into the events to send: an alert that
opens, and its resolution when it no longer holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harmony.node.status import NodeStatus
from harmony.ops.signing import KeyView

BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The operator's thresholds (``[alerts]`` in node.toml; validated by ``harmony.node.config``)."""

    missed_blocks: int = 5
    signing_target_bp: int = 9950
    sync_lag: int = 50
    min_peers: int = 2
    disk_free_percent: int = 5
    not_elected: bool = True


@dataclass(frozen=True, slots=True)
class Alert:
    """One open alert; ``id`` is stable while the condition holds (the rule and its subject)."""

    id: str
    rule: str
    severity: str
    """``critical`` (signing is being lost now) or ``warning``."""
    subject: str
    """The key (hex) or ``node``."""
    message: str


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert that opened (``firing``) or closed (``resolved``) at ``at`` (Unix seconds)."""

    status: str
    alert: Alert
    at: float
    since: float
    """When the alert opened."""


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything the rules read, gathered at one moment (module docstring)."""

    status: NodeStatus
    keys: Sequence[KeyView]
    committee_now: frozenset[bytes] | None
    """This epoch's committee keys of our shard (``None`` when unknown)."""
    committee_next: frozenset[bytes] | None
    """The next epoch's committee keys, once the chain announced them."""
    disk_free_percent: int | None


def epoch_miss_budget(blocks_per_epoch: int, target_bp: int) -> int:
    """Missed blocks an epoch allows while signing at least ``target_bp`` basis points: exact integers."""
    return blocks_per_epoch * (BASIS_POINTS - target_bp) // BASIS_POINTS


def _short(key: bytes) -> str:
    return key.hex()[:12] + "…"


def evaluate(obs: Observation, limits: Thresholds) -> list[Alert]:
    """The alerts that hold for ``obs`` (module docstring for each rule)."""
    out: list[Alert] = []
    status = obs.status
    budget = epoch_miss_budget(status.blocks_per_epoch, limits.signing_target_bp)
    for view in obs.keys:
        if not view.watched:
            continue
        key = view.key.hex()
        if view.missed_streak >= limits.missed_blocks:
            out.append(
                Alert(
                    f"missed_blocks:{key}",
                    "missed_blocks",
                    "critical",
                    key,
                    f"BLS key {_short(view.key)} missed {view.missed_streak} blocks in a row "
                    f"(last signed: {view.last_signed if view.last_signed is not None else 'never'})",
                )
            )
        if view.epoch == status.head_epoch and view.epoch_missed > budget:
            target = f"{limits.signing_target_bp / 100:.2f}"  # display only
            out.append(
                Alert(
                    f"signing_target:{key}",
                    "signing_target",
                    "warning",
                    key,
                    f"BLS key {_short(view.key)} missed {view.epoch_missed} blocks of epoch {view.epoch}: "
                    f"more than the {budget} that a {target} % target allows",
                )
            )
    if limits.not_elected:
        for view in obs.keys:
            if not view.watched:
                continue
            for when, committee in (("this", obs.committee_now), ("the next", obs.committee_next)):
                if committee is not None and view.key not in committee:
                    out.append(
                        Alert(
                            f"not_elected:{when}:{view.key.hex()}",
                            "not_elected",
                            "warning",
                            view.key.hex(),
                            f"BLS key {_short(view.key)} is not in shard {status.shard_id}'s committee "
                            f"of {when} epoch",
                        )
                    )
    if status.sync_lag > limits.sync_lag:
        out.append(
            Alert(
                "sync_lag",
                "sync_lag",
                "critical",
                "node",
                f"{status.sync_lag} blocks behind the shard's head {status.highest_seen}",
            )
        )
    if status.peers < limits.min_peers:
        out.append(
            Alert(
                "few_peers",
                "few_peers",
                "warning",
                "node",
                f"{status.peers} connected peers (fewer than {limits.min_peers})",
            )
        )
    if obs.disk_free_percent is not None and obs.disk_free_percent < limits.disk_free_percent:
        out.append(
            Alert(
                "disk_full",
                "disk_full",
                "critical",
                "node",
                f"{obs.disk_free_percent} % free on the data directory's disk",
            )
        )
    return out


class AlertBook:
    """The open alerts, and the events each new evaluation brings (module docstring)."""

    def __init__(self) -> None:
        self.open: dict[str, tuple[Alert, float]] = {}
        """Alert id → (alert, when it opened)."""

    def update(self, alerts: Sequence[Alert], now: float) -> list[AlertEvent]:
        """Record ``alerts`` as the ones holding at ``now``; the alerts that opened and those resolved."""
        events: list[AlertEvent] = []
        current = {alert.id: alert for alert in alerts}
        for alert_id, (alert, since) in list(self.open.items()):
            if alert_id not in current:
                del self.open[alert_id]
                events.append(AlertEvent("resolved", alert, now, since))
        for alert_id, alert in current.items():
            if alert_id in self.open:
                self.open[alert_id] = (alert, self.open[alert_id][1])  # newer numbers, same opening time
            else:
                self.open[alert_id] = (alert, now)
                events.append(AlertEvent("firing", alert, now, now))
        return events
