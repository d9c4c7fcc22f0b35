"""A graceful stop: a validator asked to stop (SIGTERM, Ctrl-C) first lets its turn to lead pass.

A stopped validator that leads the current view, or one of the next two (its last signature keeps it
among the leaders of the next two heights' first views: :mod:`harmony.consensus.leader`), costs its shard
a phase timeout and a view change: on a rolling upgrade, one per validator whose turn came up. So the node
keeps running while :meth:`ConsensusCore.leads_within` says it leads soon and, once it led, until its own
block is final and :data:`COMMITTED_GRACE_S` more have passed (its block's COMMITTED must leave first), and
stops as soon as that holds, or when
the shard has finalized nothing for :data:`STALLED_BLOCKS` block times (everyone is stopping: there is no
turn to wait for), or after :data:`LEAVE_WAIT_BLOCKS` block times (at most :data:`LEAVE_WAIT_MAX_S`). A
second signal stops at once.
"""

from __future__ import annotations

import logging
import os
import threading
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
COMMITTED_GRACE_S = 0.3
"""After its own block is final, a node that led waits this long (its COMMITTED leaves) and then stops
without asking :meth:`ConsensusCore.leads_within` again. It used to wait for one more final block instead,
but with 4 validators (1 s blocks) the node is then two views from its next turn and leads soon again: no
moment ever let it go, and every stop of the namespaced rolling upgrade ran to the 6 s bound, wherever the
node's turn then was (one was the leader two blocks after its stop, a 6 s gap)."""


TEARDOWN_LIMIT_S = 3.0
"""Once a node stops, its teardown may take this long before the process exits anyway (see
:func:`arm_exit_watchdog`)."""

log = logging.getLogger("harmony.node.leave")


def arm_exit_watchdog(
    limit_s: float = TEARDOWN_LIMIT_S, exit_now: Callable[[int], None] = os._exit
) -> threading.Timer:
    """End the process ``limit_s`` seconds from now unless it has exited by then.

    A node's teardown (py-libp2p's services, the streams and connections still coming in) usually takes
    25-100 ms, but on the namespaced rolling upgrade one of them hung until the testnet's SIGKILL 15 s
    later (peers' connections still arriving while the swarm stopped: "Cannot schedule task after service
    has stopped"), a validator out of service for 19 s instead of 4. Ending the process there loses
    nothing: every final block is in one LMDB transaction, every signature in the signer's fsynced state
    before it left, and a kill -9 at any moment keeps the last committed block (design §3.4)."""

    def expire() -> None:
        log.warning("teardown took over %.1f s: exiting now", limit_s)
        logging.shutdown()
        exit_now(0)

    timer = threading.Timer(limit_s, expire)
    timer.daemon = True
    timer.start()
    return timer


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
    leads_now: bool = False
    """This node leads the current view (its proposal may be in flight)."""


def may_leave(state: LeaveState) -> bool:
    """Whether a node asked to stop may stop now (the module docstring's rule)."""
    if not state.leads_soon:
        return True
    block_time = max(state.block_time_s, 0.1)
    if state.since_last_block_s >= STALLED_BLOCKS * block_time and not state.leads_now:
        # a stalled shard has no turn to wait for, unless the stall is this node's own round: its block
        # may still gather the votes of members that are catching up (run after1: s1v3 stopped 2 s into
        # the view it led, with its proposal out, and that view failed for sure)
        return True
    return state.since_signal_s >= min(LEAVE_WAIT_BLOCKS * block_time, LEAVE_WAIT_MAX_S)


async def leave_when_ready(
    read: Callable[[], tuple[bool, int]],
    block_time_s: float,
    now: Callable[[], float],
    leads_now: Callable[[], bool] = lambda: False,
) -> None:
    """Return once :func:`may_leave` holds; ``read()`` gives (leads soon, head number), ``leads_now()``
    whether this node leads the current view, and ``now()`` the time in seconds (trio's clock in the
    node)."""
    import trio  # noqa: PLC0415 - the rule above is importable without trio

    started = now()
    last_head, last_change = read()[1], started
    led_at: int | None = None
    """The head when this node last led soon (its own block is final once a later head is, and it no
    longer leads soon)."""
    final_at: float | None = None
    """When its own block was seen final (the grace runs from there)."""
    while True:
        leads, head = read()
        moment = now()
        if head != last_head:
            last_head, last_change = head, moment
        if leads and final_at is None:
            led_at = head
        elif led_at is not None and final_at is None and head > led_at:
            final_at = moment  # no longer leading soon, and a block after the last head it did so is final
        if final_at is not None and moment - final_at >= min(COMMITTED_GRACE_S, block_time_s / 2):
            return  # its turn passed and its COMMITTED left; the next turn is a round away
        waits = leads or led_at is not None
        state = LeaveState(waits, moment - started, moment - last_change, block_time_s, leads_now())
        if may_leave(state):
            return
        await trio.sleep(0.05)
