"""Polled filters: ``newFilter``, ``newBlockFilter``, ``newPendingTransactionFilter``, ``getFilterChanges``,
``getFilterLogs``, ``uninstallFilter`` (Ethereum JSON-RPC filters; reference §9.2 "Filters", ``hmy_`` and
``eth_``).

A filter remembers where its client stopped reading:

* a block filter and a log filter keep the next block number to report, so a poll reads the canonical chain
  from there to the head (at most ``max_blocks`` blocks per poll; the rest comes with the next poll);
* a pending-transaction filter keeps the hashes the pool accepted since the last poll, in a bounded queue
  (the oldest are dropped first when a client stops polling).

A filter nobody polled for :data:`FILTER_TIMEOUT_S` seconds is removed (geth's deadline), and the store holds
at most :data:`MAX_FILTERS`, so clients cannot make the node keep unbounded state. The clock is injected.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from harmony.rpc.errors import LimitExceeded, ServerError
from harmony.rpc.logs import FilterQuery, LogFilter

FILTER_TIMEOUT_S = 300.0
"""Seconds without a poll after which a filter is removed (geth: 5 minutes)."""
MAX_FILTERS = 10_000
"""Most filters installed at once over all clients."""
MAX_PENDING_HASHES = 4096
"""Most pending-transaction hashes one filter buffers between polls."""


class FilterKind(Enum):
    """What a filter reports."""

    BLOCKS = "blocks"
    PENDING = "pending"
    LOGS = "logs"


@dataclass(eq=False)
class Filter:
    """One installed filter and its read position."""

    kind: FilterKind
    last_poll: float
    next_block: int = 0
    """Blocks and logs: the first block number not yet reported."""
    query: FilterQuery | None = None
    """Logs: the client's filter object."""
    to_block: int | None = None
    """Logs: the last block the filter covers (``None``: follows the head)."""
    from_block: int = 0
    """Logs: the first block ``getFilterLogs`` reports."""
    pending: deque[tuple[bytes, bytes]] = field(default_factory=lambda: deque(maxlen=MAX_PENDING_HASHES))
    """Pending: ``(Harmony hash, hash the sender knows)`` of each transaction accepted since the last poll."""


class FilterStore:
    """Every installed filter of one node (shared by its HTTP and WebSocket servers)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._filters: OrderedDict[str, Filter] = OrderedDict()
        self._pending_filters = 0

    def __len__(self) -> int:
        return len(self._filters)

    def _install(self, item: Filter) -> str:
        self.expire()
        if len(self._filters) >= MAX_FILTERS:
            raise LimitExceeded(f"too many filters installed (at most {MAX_FILTERS}); uninstall some")
        filter_id = "0x" + secrets.token_hex(16)
        self._filters[filter_id] = item
        self._pending_filters += item.kind is FilterKind.PENDING
        return filter_id

    def _remove(self, filter_id: str) -> bool:
        item = self._filters.pop(filter_id, None)
        if item is None:
            return False
        self._pending_filters -= item.kind is FilterKind.PENDING
        return True

    def expire(self) -> None:
        """Remove the filters not polled within :data:`FILTER_TIMEOUT_S`."""
        deadline = self._clock() - FILTER_TIMEOUT_S
        stale = [fid for fid, f in self._filters.items() if f.last_poll < deadline]
        for fid in stale:
            self._remove(fid)

    def new_block_filter(self, head: int) -> str:
        """Install a filter reporting the hashes of blocks after ``head`` (``eth_newBlockFilter``)."""
        return self._install(Filter(FilterKind.BLOCKS, self._clock(), next_block=head + 1))

    def new_pending_filter(self) -> str:
        """Install a filter reporting transactions the pool accepts from now on."""
        return self._install(Filter(FilterKind.PENDING, self._clock()))

    def new_log_filter(self, query: FilterQuery, head: int, first: int, last: int | None) -> str:
        """Install a log filter (``eth_newFilter``); ``first``/``last`` are the resolved range.

        ``getFilterChanges`` reports matching logs of blocks after ``head`` (new logs only, as geth does);
        ``getFilterLogs`` reports every matching log of ``first..last`` (``last`` ``None``: the head).
        """
        return self._install(
            Filter(
                FilterKind.LOGS,
                self._clock(),
                next_block=max(head + 1, first),
                query=query,
                to_block=last,
                from_block=first,
            )
        )

    def uninstall(self, filter_id: str) -> bool:
        """Remove a filter; whether it existed."""
        return self._remove(filter_id)

    def get(self, filter_id: str) -> Filter:
        """The filter with this id, marked as polled now; ``filter not found`` otherwise (as geth)."""
        self.expire()
        item = self._filters.get(filter_id)
        if item is None:
            raise ServerError("filter not found")
        item.last_poll = self._clock()
        return item

    def has_pending(self) -> bool:
        """Whether any pending-transaction filter is installed (else notifications cost nothing)."""
        return self._pending_filters > 0

    def notify_pending(self, hashes: Sequence[tuple[bytes, bytes]]) -> None:
        """Record transactions the pool just accepted (``(Harmony hash, Ethereum-style hash)`` pairs) for
        every pending-transaction filter."""
        if not hashes:
            return
        for item in self._filters.values():
            if item.kind is FilterKind.PENDING:
                item.pending.extend(hashes)


def advance(item: Filter, head: int, max_blocks: int) -> range:
    """The block numbers a poll of ``item`` reads now (at most ``max_blocks``), moving its position."""
    last = head if item.to_block is None else min(head, item.to_block)
    if last < item.next_block:
        return range(0)
    last = min(last, item.next_block + max_blocks - 1)
    span = range(item.next_block, last + 1)
    item.next_block = last + 1
    return span


def log_filter_of(item: Filter) -> LogFilter:
    """The address/topic rule of a log filter."""
    assert item.query is not None
    return item.query.log_filter
