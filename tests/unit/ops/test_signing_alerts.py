"""Per-key signing from commit bitmaps, and the alert rules over it (harmony.ops signing and alerts)."""

from __future__ import annotations

from pathlib import Path

from harmony.crypto.bitmap import encode_bitmap
from harmony.node.status import NodeStatus
from harmony.ops.alerts import AlertBook, Observation, Thresholds, epoch_miss_budget, evaluate
from harmony.ops.signing import TIMELINE, SigningTracker

A, B, C, D = (bytes([i]) * 48 for i in range(1, 5))
COMMITTEE = (A, B, C, D)


def _status(**changes: object) -> NodeStatus:
    base = {
        "network": "localnet",
        "shard_id": 0,
        "version": "test",
        "peer_id": "peer",
        "data_dir": Path("."),
        "started_unix": 0.0,
        "head_number": 100,
        "head_epoch": 3,
        "head_time": 0,
        "blocks_per_epoch": 1000,
        "view_id": 100,
        "is_leader": False,
        "highest_seen": 100,
        "syncing": False,
        "peers": 5,
    }
    base.update(changes)
    return NodeStatus(**base)  # type: ignore[arg-type]


def test_tracker_counts_signed_missed_streaks_and_epochs() -> None:
    tracker = SigningTracker(mine=[A], watched=[B])
    for number in range(1, 6):  # C never signs, D signs only block 5
        signers = [0, 1] + ([3] if number == 5 else [])
        assert tracker.observe(number, 0, COMMITTEE, encode_bitmap(signers, 4))
    views = {v.key: v for v in tracker.views()}
    assert [v.key for v in tracker.views()][:2] == [A, B]  # own key first, then the watched one
    assert views[A].mine and views[A].watched and not views[C].watched
    assert (views[A].signed, views[A].missed, views[A].last_signed, views[A].missed_streak) == (5, 0, 5, 0)
    assert (views[C].signed, views[C].missed, views[C].last_signed, views[C].missed_streak) == (0, 5, None, 5)
    assert (views[D].missed_streak, views[D].last_signed) == (0, 5)
    assert (views[C].epoch_signed, views[C].epoch_to_sign, views[C].epoch_missed) == (0, 5, 5)
    # a new epoch restarts the epoch counts, not the lifetime ones
    tracker.observe(6, 1, COMMITTEE, encode_bitmap([2], 4))
    views = {v.key: v for v in tracker.views()}
    assert (views[C].epoch, views[C].epoch_signed, views[C].epoch_to_sign, views[C].missed) == (1, 1, 1, 5)
    assert views[C].timeline[-2:] == ((5, False), (6, True))
    assert (tracker.first_block, tracker.last_block, tracker.last_signatures) == (1, 6, 1)


def test_tracker_ignores_replays_and_counts_nobody_for_a_bad_bitmap() -> None:
    tracker = SigningTracker()
    assert tracker.observe(10, 0, COMMITTEE, encode_bitmap([0, 1, 2, 3], 4))
    assert not tracker.observe(10, 0, COMMITTEE, b"\x00")
    assert not tracker.observe(9, 0, COMMITTEE, b"\x00")
    assert tracker.observe(11, 0, COMMITTEE, b"\xff\xff\xff")  # wrong length: nobody signed
    assert all(v.missed == 1 and v.signed == 1 for v in tracker.views())
    for number in range(12, 12 + 2 * TIMELINE):
        tracker.observe(number, 0, COMMITTEE, b"\x0f")
    assert len(tracker.views()[0].timeline) == TIMELINE


def test_keys_outside_the_committee_have_nothing_to_sign() -> None:
    outsider = bytes([9]) * 48
    tracker = SigningTracker(watched=[outsider])
    tracker.observe(1, 0, COMMITTEE, b"\x0f")
    view = next(v for v in tracker.views() if v.key == outsider)
    assert (view.signed, view.missed, view.epoch_to_sign) == (0, 0, 0)


def test_epoch_miss_budget_is_exact() -> None:
    assert epoch_miss_budget(16384, 9950) == 81  # 16384 × 0.5 % = 81.92
    assert epoch_miss_budget(32, 9950) == 0
    assert epoch_miss_budget(32, 5000) == 16
    assert epoch_miss_budget(1000, 10_000) == 0


def _observe(tracker: SigningTracker, **status: object) -> Observation:
    return Observation(
        status=_status(**status),
        keys=tracker.views(),
        committee_now=frozenset(COMMITTEE),
        committee_next=frozenset((A, B, C)),
        disk_free_percent=50,
    )


def test_rules_fire_for_watched_keys_and_the_node() -> None:
    tracker = SigningTracker(mine=[A], watched=[C, D])
    for number in range(1, 8):
        tracker.observe(number, 3, COMMITTEE, encode_bitmap([0, 1], 4))  # C and D miss everything
    limits = Thresholds(
        missed_blocks=7, signing_target_bp=9950, sync_lag=10, min_peers=3, disk_free_percent=5
    )
    alerts = {a.id: a for a in evaluate(_observe(tracker, peers=2, highest_seen=111), limits)}
    c, d = C.hex(), D.hex()
    assert set(alerts) == {
        f"missed_blocks:{c}",
        f"missed_blocks:{d}",
        f"signing_target:{c}",
        f"signing_target:{d}",
        f"not_elected:the next:{d}",
        "sync_lag",
        "few_peers",
    }
    assert "missed 7 blocks in a row" in alerts[f"missed_blocks:{c}"].message
    assert alerts["sync_lag"].message.startswith("11 blocks behind")
    # one block fewer in a row, the head caught up, enough peers: only the epoch budget and election remain
    limits = Thresholds(missed_blocks=8, sync_lag=11, min_peers=2, not_elected=False)
    assert {a.rule for a in evaluate(_observe(tracker, peers=2, highest_seen=111), limits)} == {
        "signing_target"
    }


def test_disk_rule_and_the_alert_book_opens_and_resolves() -> None:
    tracker = SigningTracker()
    obs = Observation(_status(), tracker.views(), None, None, disk_free_percent=3)
    alerts = evaluate(obs, Thresholds(disk_free_percent=5))
    assert [a.id for a in alerts] == ["disk_full"]
    book = AlertBook()
    (opened,) = book.update(alerts, 10.0)
    assert (opened.status, opened.at, opened.since) == ("firing", 10.0, 10.0)
    assert book.update(alerts, 11.0) == []  # still open: nothing new to send
    (closed,) = book.update([], 12.0)
    assert (closed.status, closed.at, closed.since, closed.alert.id) == ("resolved", 12.0, 10.0, "disk_full")
    assert book.open == {}
