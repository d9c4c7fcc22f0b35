"""The graceful stop's rule (:mod:`harmony.node.leave`) and the core's ``leads_within`` it reads."""

from __future__ import annotations

import threading

import pytest
import trio

from harmony.node.leave import (
    COMMITTED_GRACE_S,
    LEAVE_WAIT_MAX_S,
    LeaveState,
    arm_exit_watchdog,
    leave_when_ready,
    may_leave,
)
from tests.unit.consensus.harness import Net


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (LeaveState(False, 0.0, 0.0, 1.0), True),  # not leading soon: at once
        (LeaveState(True, 0.5, 0.5, 1.0), False),  # its turn is coming and blocks flow: wait
        (LeaveState(True, 5.9, 0.2, 1.0), False),
        (LeaveState(True, 6.0, 0.2, 1.0), True),  # six block times at most
        (LeaveState(True, 2.0, 2.0, 1.0), True),  # no block for two block times: nothing to wait for
        (LeaveState(True, 2.0, 2.0, 1.0, leads_now=True), False),  # ...unless the stalled view is its own
        (LeaveState(True, 6.0, 6.0, 1.0, leads_now=True), True),  # six block times at most even then
        (LeaveState(True, LEAVE_WAIT_MAX_S, 0.0, 60.0), True),  # long blocks: 10 s at most
        (LeaveState(True, 0.0, 0.0, 0.0), False),  # a zero block time is read as 100 ms
        (LeaveState(True, 0.7, 0.0, 0.0), True),
    ],
)
def test_may_leave(state: LeaveState, expected: bool) -> None:
    assert may_leave(state) is expected


def test_leads_within_names_the_current_and_next_leaders() -> None:
    net = Net(4)
    leaders = [n.core.leader_of(1) for n in net.nodes]
    assert len(set(leaders)) == 1
    first = leaders[0]
    for index, node in enumerate(net.nodes):
        core = node.core
        soon = {core.leader_of(core.view + k) for k in range(3)}
        soon |= {core.candidates[(core.view + k) % len(core.candidates)] for k in range(3)}
        assert core.leads_within(2) is (index in soon)
    assert net.nodes[first].core.leads_within(0)


def test_a_node_without_keys_never_leads() -> None:
    net = Net(4, key_owner=[0, 0, 1, 1])
    for node in net.nodes:
        assert node.core.leads_within(10) is True  # two nodes of two keys each: one of them leads now
    net.nodes[0].core.my_indices = ()
    assert net.nodes[0].core.leads_within(10) is False


def test_leave_when_ready_waits_for_the_turn_and_its_committed() -> None:
    """The node leads soon until its own block 7 is final; it stops COMMITTED_GRACE_S after that (its
    block's COMMITTED has left), well before the stall or time bounds."""
    clock = {"t": 0.0}
    heads = iter([5, 5, 6, 6, 7, 7, 7, 7, 8])
    seen: list[int] = []

    def read() -> tuple[bool, int]:
        clock["t"] += 0.125
        head = next(heads, 8)
        seen.append(head)
        return head < 7, head

    async def main() -> None:
        with trio.fail_after(5):
            await leave_when_ready(read, 1.0, lambda: clock["t"])

    trio.run(main)
    assert seen == [5, 5, 6, 6, 7, 7, 7, 7]  # 0.375 s after block 7, before block 8
    assert COMMITTED_GRACE_S <= 0.375


def test_a_node_of_four_leaves_right_after_its_turn() -> None:
    """Four validators, one view per block: the node leads soon in three views of every four (its turn and
    the two before). Waiting for one more block after its turn always met the next "leads soon" again, so
    every stop ran to the six-block bound; now it stops right after its own block (view 4)."""
    clock = {"t": 0.0}

    def read() -> tuple[bool, int]:
        clock["t"] += 0.125
        head = 1 + int(clock["t"])  # a block a second, from head 1 (view 2)
        view = head + 1
        return any((view + k) % 4 == 0 for k in range(3)), head

    async def main() -> None:
        with trio.fail_after(5):
            await leave_when_ready(read, 1.0, lambda: clock["t"])

    trio.run(main)
    assert 3.0 <= clock["t"] < 4.0  # its block 4 final at 3 s (head 4, view 5), then the grace


def test_a_node_that_never_leads_soon_leaves_at_once() -> None:
    async def main() -> None:
        with trio.fail_after(5):
            await leave_when_ready(lambda: (False, 3), 1.0, lambda: 0.0)

    trio.run(main)


def test_the_exit_watchdog_ends_a_teardown_that_hangs() -> None:
    exited = threading.Event()
    codes: list[int] = []

    def exit_now(code: int) -> None:
        codes.append(code)
        exited.set()

    arm_exit_watchdog(0.05, exit_now)
    assert exited.wait(5)
    assert codes == [0]
    timer = arm_exit_watchdog(0.05, codes.append)
    timer.cancel()  # a process that exited in time: nothing more happens
    timer.join(1)
    assert codes == [0]
