"""A graceful stop: a validator asked to stop (SIGTERM, Ctrl-C) first lets its turn to lead pass.

A stopped validator that leads the current view, or one of the next two (its last signature keeps it
among the leaders of the next two heights' first views: :mod:`harmony.consensus.leader`), costs its shard
a phase timeout and a view change: on a rolling upgrade, one per validator whose turn came up. So the node
keeps running while :meth:`ConsensusCore.leads_within` says it leads soon and until one block more is
final after that (its own block's COMMITTED must leave first), and stops as soon as that holds, or when
the shard has finalized nothing for :data:`STALLED_BLOCKS` block times (everyone is stopping: there is no
turn to wait for), or after :data:`LEAVE_WAIT_BLOCKS` block times (at most :data:`LEAVE_WAIT_MAX_S`). A
second signal stops at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LEAD_VIEWS = 2
"""Views after the current one a leaving node must not lead (see the module docstring)."""
LEAVE_WAIT_BLOCKS = 6
"""A graceful stop waits at most this many block times: a turn two views ahead, its block and the next."""
LEAVE_WAIT_MAX_S = 10.0
"""…and never longer than this (service managers and the testnet's fleet SIGKILL after 15 s)."""
STALLED_BLOCKS = 2
"""No block final for this many block times: nothing to wait for."""


@dataclass(frozen=True, slots=True)
class LeaveState:
    """What the rule reads of the node at one moment."""

    leads_soon: bool
    """This node leads the current view or one of the next :data:`LEAD_VIEWS`."""
    since_signal_s: float
    """Seconds since the stop was asked for."""
    since_last_block_s: float
    """Seconds since this node last saw a block become final (or since the signal, if longer)."""
    block_time_s: float


def may_leave(state: LeaveState) -> bool:
    """Whether a node asked to stop may stop now (the module docstring's rule)."""
    if not state.leads_soon:
        return True
    block_time = max(state.block_time_s, 0.1)
    if state.since_last_block_s >= STALLED_BLOCKS * block_time:
        return True
    return state.since_signal_s >= min(LEAVE_WAIT_BLOCKS * block_time, LEAVE_WAIT_MAX_S)


async def leave_when_ready(
    read: Callable[[], tuple[bool, int]], block_time_s: float, now: Callable[[], float]
) -> None:
    """Return once :func:`may_leave` holds; ``read()`` gives (leads soon, head number) and ``now()`` the
    time in seconds (trio's clock in the node)."""
    import trio  # noqa: PLC0415 - the rule above is importable without trio

    started = now()
    last_head, last_change = read()[1], started
    led_at: int | None = None
    """The head when this node last led soon: once it has, it also waits for the next block, so that the
    COMMITTED of the block it led has left (stopping right after finalizing its own block cost the others
    a view change: they never got the COMMITTED, on a namespaced rolling upgrade)."""
    while True:
        leads, head = read()
        moment = now()
        if head != last_head:
            last_head, last_change = head, moment
        if leads:
            led_at = head
        waits = leads or (led_at is not None and head <= led_at + 1)
        state = LeaveState(waits, moment - started, moment - last_change, block_time_s)
        if may_leave(state):
            return
        await trio.sleep(0.05)
