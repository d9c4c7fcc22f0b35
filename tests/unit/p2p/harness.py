"""Helpers for the p2p tests: real hosts on 127.0.0.1 with ephemeral ports, run under trio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import trio

from harmony.p2p.host import NextFrame, P2PConfig, P2PHost, open_host

HANG_LIMIT = 30.0
"""Bound on waits that only guard against hangs (never a timing assertion)."""
RUN_LIMIT = 300.0
"""Bound on a whole test body, also only a hang guard: the state sync test with seven peers took over 90 s
on a 2-core machine at load 25."""


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async test body under trio, bounded so a hang fails instead of blocking the suite."""

    async def main() -> Any:
        with trio.fail_after(RUN_LIMIT):
            return await fn()

    try:
        return trio.run(main)
    except BaseExceptionGroup as group:
        # The hosts' nested nurseries wrap a failure ten groups deep, past what a traceback prints: raise
        # the first real failure (not a cancellation) so the report names it.
        raise _first_failure(group) from group


def _first_failure(group: BaseExceptionGroup) -> BaseException:
    for exc in group.exceptions:
        inner = _first_failure(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if not isinstance(inner, trio.Cancelled):
            return inner
    return group


def config(tmp: Path, name: str, **overrides: Any) -> P2PConfig:
    """A test host config: ephemeral port, fast retries and discovery."""
    base = P2PConfig(
        key_path=tmp / f"{name}.key",
        port=0,
        bootnode_retry_seconds=0.5,
        discovery_interval_seconds=1.0,
        discovery_max_interval_seconds=2.0,
        dial_timeout=5.0,
    )
    return replace(base, **overrides)


@asynccontextmanager
async def hosts(*configs: P2PConfig) -> AsyncIterator[list[P2PHost]]:
    """Open several hosts at once."""
    async with AsyncExitStack() as stack:
        out = [await stack.enter_async_context(open_host(c)) for c in configs]
        yield out


async def wait_until(
    predicate: Callable[[], bool], limit: float = HANG_LIMIT, step: float = 0.05, what: str = ""
) -> None:
    """Poll until ``predicate()`` holds; fail after ``limit`` seconds (a hang guard), saying ``what``."""
    deadline = trio.current_time() + limit
    while not predicate():
        if trio.current_time() > deadline:
            raise AssertionError(f"not true after {limit} s: {what or predicate}")
        await trio.sleep(step)


def frames_of(frames: Sequence[bytes]) -> NextFrame:
    """A :data:`~harmony.p2p.host.NextFrame` source over a list of frames, for ``P2PHost.stream_frames``."""
    items = iter(frames)

    async def next_frame() -> bytes | None:
        return next(items, None)

    return next_frame
