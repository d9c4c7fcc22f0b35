"""The view schedule of :class:`harmony.consensus.core.ConsensusCore`: when each view starts and ends.

View ``first + i`` of a height owns slot ``i`` after the tip header's time; slot lengths double from the
view-change timeout up to ``2**max_backoff_exponent`` times it (reference §1.7). These tests drive one core
directly with its timers at chosen times and read the timers it sets; no network.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from harmony.consensus.api import (
    Broadcast,
    ChainTip,
    ConsensusConfig,
    Effect,
    MemoryLogStore,
    MemorySignerStore,
    RequestProposal,
    SetTimer,
    Timer,
    TimerKind,
    create_core,
)
from harmony.consensus.core import ConsensusCore, Mode
from harmony.consensus.messages import MsgType
from harmony.types.header import EMPTY_COMMIT_SIGNATURE
from tests.unit.consensus.harness import GENESIS, make_committee, make_keys

BASE = 1_000
"""The view-change timeout: slot 0 lasts BASE, slot 1 2·BASE, ... up to 2**CAP·BASE."""
CAP = 3
HEADER_TIME = 100
"""The tip header's time (s); with ``clock_origin_unix_ms`` = ORIGIN the core's clock reads ``T0`` then."""
ORIGIN = 60_000
T0 = HEADER_TIME * 1000 - ORIGIN
TIP_VIEW = 7
"""The tip header's own view: the height's first view is TIP_VIEW + 1."""
FIRST = TIP_VIEW + 1
SLOT_STARTS = [0, 1_000, 3_000, 7_000, 15_000, 23_000, 31_000]
"""Offsets from T0 of slots 0-6: lengths 1, 2, 4, 8 (the cap) then 8, 8 seconds."""

KEYS = make_keys(4)
COMMITTEE = make_committee(KEYS)


def core(
    *,
    key: int | None = None,
    phase_timeout: int = BASE,
    block_time: int = 0,
    resend: int = 0,
    seen_view: int = TIP_VIEW,
) -> ConsensusCore:
    """A core at height 1 after a tip of view TIP_VIEW whose header time is HEADER_TIME, seen committed in
    ``seen_view``; it signs with ``KEYS[key]`` (default: a member that does not lead the first view)."""
    if key is None:
        key = next(i for i in range(4) if core(key=0).leader_of(FIRST) != i)
    config = ConsensusConfig(
        shard_id=0,
        epoch=0,
        committee=COMMITTEE,
        keys=(KEYS[key],),
        phase_timeout_ms=phase_timeout,
        view_change_timeout_ms=BASE,
        max_backoff_exponent=CAP,
        block_time_ms=block_time,
        clock_origin_unix_ms=ORIGIN,
        resend_interval_ms=resend,
    )
    header = replace(GENESIS, time=HEADER_TIME, view_id=TIP_VIEW)
    tip = ChainTip(header, EMPTY_COMMIT_SIGNATURE, b"", seen_view)
    return create_core(config, MemorySignerStore(), MemoryLogStore(), tip)


def timers(effects: list[Effect], kind: TimerKind) -> list[SetTimer]:
    return [e for e in effects if isinstance(e, SetTimer) and e.timer.kind is kind]


def only_timer(effects: list[Effect], kind: TimerKind) -> SetTimer:
    (found,) = timers(effects, kind)
    return found


@pytest.mark.parametrize(
    ("offset", "view"),
    [
        (-5_000, FIRST),  # before the header's time (a skewed clock): still the first view
        (0, FIRST),
        (999, FIRST),
        (1_000, FIRST + 1),
        (2_999, FIRST + 1),
        (3_000, FIRST + 2),
        (14_999, FIRST + 3),
        (15_000, FIRST + 4),  # past the cap every slot lasts 2**CAP · BASE
        (22_999, FIRST + 4),
        (23_000, FIRST + 5),
        (31_000, FIRST + 6),
        (31_000 + 80_000, FIRST + 16),
    ],
)
def test_the_scheduled_view_is_the_one_whose_slot_holds_now(offset: int, view: int) -> None:
    assert core().scheduled_view(T0 + offset) == view


def test_the_schedule_counts_from_the_tip_header_view_not_the_view_it_was_seen_committed_in() -> None:
    c = core(seen_view=TIP_VIEW + 3, phase_timeout=1)  # a re-proposed locked block keeps its header view
    assert c.view == TIP_VIEW + 4  # where this node resumes
    assert c.scheduled_view(T0) == FIRST  # what every node agrees on
    # its first view is slot 3 of the schedule: its phase timer runs to that slot's end
    assert only_timer(c.start(T0), TimerKind.PHASE).at == T0 + SLOT_STARTS[4]


def test_the_first_phase_timeout_is_a_full_phase_timeout_even_late_in_the_slot() -> None:
    c = core(phase_timeout=5_000)
    start = only_timer(c.start(T0 + 500), TimerKind.PHASE)
    assert start == SetTimer(Timer(TimerKind.PHASE, 1, FIRST), T0 + 500 + 5_000)  # past the slot's end
    short = core(phase_timeout=1)
    assert only_timer(short.start(T0 + 500), TimerKind.PHASE).at == T0 + SLOT_STARTS[1]  # the slot's end


def test_a_phase_timeout_moves_to_the_scheduled_view_and_waits_for_its_slot_end() -> None:
    c = core(phase_timeout=1)
    c.start(T0)
    out = c.on_timer(Timer(TimerKind.PHASE, 1, FIRST), T0 + SLOT_STARTS[1])
    assert c.mode is Mode.VIEW_CHANGING and c.view == FIRST + 1 and c.failed_views == 1
    assert only_timer(out, TimerKind.VIEW_CHANGE) == SetTimer(
        Timer(TimerKind.VIEW_CHANGE, 1, FIRST + 1), T0 + SLOT_STARTS[2]
    )
    sent = [e.message for e in out if isinstance(e, Broadcast)]
    assert [(m.type, m.view_id) for m in sent] == [(MsgType.VIEWCHANGE, FIRST + 1)]


def test_a_late_phase_timeout_skips_to_the_view_the_schedule_has_reached() -> None:
    c = core(phase_timeout=1)
    c.start(T0)
    out = c.on_timer(Timer(TimerKind.PHASE, 1, FIRST), T0 + 8_000)  # slot 3: FIRST + 3
    assert c.view == FIRST + 3
    assert only_timer(out, TimerKind.VIEW_CHANGE).at == T0 + SLOT_STARTS[4]


def test_failed_view_changes_double_the_slot_up_to_the_cap() -> None:
    c = core(phase_timeout=1)
    c.start(T0)
    out = c.on_timer(Timer(TimerKind.PHASE, 1, FIRST), T0 + SLOT_STARTS[1])
    ends = []
    for _ in range(5):
        deadline = only_timer(out, TimerKind.VIEW_CHANGE)
        ends.append(deadline.at - T0)
        out = c.on_timer(deadline.timer, deadline.at)
    assert ends == SLOT_STARTS[2:7]
    lengths = [b - a for a, b in itertools.pairwise([SLOT_STARTS[1], *ends])]
    assert lengths == [2_000, 4_000, 8_000, 8_000, 8_000]
    assert c.view == FIRST + 6 and c.failed_views == 6


def test_a_node_ahead_of_the_schedule_waits_in_its_view_until_the_slot_ends() -> None:
    c = core(phase_timeout=1)
    c.start(T0)
    c.on_timer(Timer(TimerKind.PHASE, 1, FIRST), T0 + SLOT_STARTS[1])  # now in FIRST + 1
    early = c.on_timer(Timer(TimerKind.VIEW_CHANGE, 1, FIRST + 1), T0 + 1_500)  # slot 1 runs to 3,000
    assert early == [SetTimer(Timer(TimerKind.VIEW_CHANGE, 1, FIRST + 1), T0 + SLOT_STARTS[2])]
    assert c.view == FIRST + 1 and c.failed_views == 1


def test_timers_of_another_view_or_height_or_mode_change_nothing() -> None:
    c = core(phase_timeout=1)
    c.start(T0)
    view = c.view
    assert c.on_timer(Timer(TimerKind.PHASE, 1, view - 1), T0 + 50_000) == []
    assert c.on_timer(Timer(TimerKind.PHASE, 2, view), T0 + 50_000) == []
    assert c.on_timer(Timer(TimerKind.VIEW_CHANGE, 1, view), T0 + 50_000) == []  # not view-changing
    assert c.view == view and c.mode is Mode.NORMAL
    c.on_timer(Timer(TimerKind.PHASE, 1, view), T0 + 50_000)
    assert c.on_timer(Timer(TimerKind.PHASE, 1, c.view), T0 + 60_000) == []  # view-changing: no phase


def test_the_leader_asks_for_its_block_one_block_time_after_it_starts() -> None:
    probe = core(key=0)
    leader = probe.leader_of(probe.view)
    c = core(key=leader, block_time=2_000)
    out = c.start(T0)
    assert only_timer(out, TimerKind.PROPOSE) == SetTimer(Timer(TimerKind.PROPOSE, 1, c.view), T0 + 2_000)
    assert not [e for e in out if isinstance(e, RequestProposal)]
    asked = c.on_timer(Timer(TimerKind.PROPOSE, 1, c.view), T0 + 2_000)
    assert [type(e) for e in asked] == [RequestProposal]
    assert core(key=leader).start(T0)[-1] == asked[0]  # block time 0: at once


def test_resends_back_off_to_four_times_the_interval() -> None:
    c = core(phase_timeout=1, resend=500)
    c.start(T0)
    out = c.on_timer(Timer(TimerKind.PHASE, 1, c.view), T0 + 50_000)  # sends VIEWCHANGE: resend armed
    resend = only_timer(out, TimerKind.RESEND)
    gaps = []
    for _ in range(4):
        now = resend.at
        again = c.on_timer(resend.timer, now)
        assert [m.message.type for m in again if isinstance(m, Broadcast)] == [MsgType.VIEWCHANGE]
        resend = only_timer(again, TimerKind.RESEND)
        gaps.append(resend.at - now)
    assert gaps == [1_000, 2_000, 2_000, 2_000]
    assert c.resent == 4
