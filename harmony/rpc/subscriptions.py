"""WebSocket subscriptions ``newHeads``, ``logs`` and ``newPendingTransactions`` (geth ``eth_subscribe``,
reference §9.2 "Filters").

A subscriber is a connection's outgoing queue. :meth:`SubscriptionHub.notify_block` runs on the trio loop
right after a block is imported; it formats the header and the block's logs once, then puts each
notification into the subscribers' queues without waiting. A subscriber whose queue is full is dropped
(its connection closed by the server), so a slow client never holds up the node.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from harmony.rpc.backend import RPCBackend
from harmony.rpc.formats import JSON, Style, block_json, log_json
from harmony.rpc.logs import LogFilter
from harmony.types.block import Block

MAX_SUBSCRIPTIONS_PER_CONNECTION = 64
_HEADER_ONLY = ("transactions", "uncles", "size", "totalDifficulty")
_ABSENT = object()


@dataclass(eq=False)
class Subscriber:
    """One connection's side of the hub: a non-blocking ``push`` and the subscriptions it holds."""

    push: Callable[[str], bool]
    """Queue a message; ``False`` when the queue is full (the subscriber is then dropped)."""
    subscriptions: dict[str, LogFilter | None] = field(default_factory=dict)
    """Subscription id -> log filter (``None`` for newHeads) of the block subscriptions."""
    pending: set[str] = field(default_factory=set)
    """Ids of ``newPendingTransactions`` subscriptions."""
    dropped: bool = False
    """Set once a push found the queue full; the hub then detaches the subscriber."""

    def push_all(self, messages: Iterable[str]) -> bool:
        """Queue ``messages`` in order; on the first full queue mark the subscriber dropped and stop (the
        rule of the module docstring: a slow client is dropped, never waited for). Whether all were queued."""
        for message in messages:
            if not self.push(message):
                self.dropped = True
                return False
        return True


def new_heads_json(block: Block) -> dict[str, JSON]:
    """The ``newHeads`` payload: the eth block shape without transactions (geth's header JSON)."""
    full = block_json(Style.ETH, block, transactions=[], staking_transactions=[])
    return {k: v for k, v in full.items() if k not in _HEADER_ONLY}


def _notification(sub_id: str, result: JSON) -> str:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "eth_subscription",
            "params": {"subscription": sub_id, "result": result},
        },
        separators=(",", ":"),
    )


class SubscriptionHub:
    """Every live subscription of the server."""

    def __init__(self, backend: RPCBackend) -> None:
        self.backend = backend
        self._subscribers: set[Subscriber] = set()

    def attach(self, subscriber: Subscriber) -> None:
        """Start delivering to ``subscriber`` (a new connection)."""
        self._subscribers.add(subscriber)

    def detach(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber`` (its connection closed)."""
        self._subscribers.discard(subscriber)

    @staticmethod
    def subscribe(
        subscriber: Subscriber, log_filter: LogFilter | None, *, pending: bool = False
    ) -> str | None:
        """A new subscription id (``None`` when the connection holds too many already).

        ``pending`` subscribes to ``newPendingTransactions``; otherwise ``log_filter`` ``None`` means
        ``newHeads`` and a filter means ``logs``.
        """
        if len(subscriber.subscriptions) + len(subscriber.pending) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            return None
        sub_id = "0x" + secrets.token_hex(16)
        if pending:
            subscriber.pending.add(sub_id)
        else:
            subscriber.subscriptions[sub_id] = log_filter
        return sub_id

    @staticmethod
    def unsubscribe(subscriber: Subscriber, sub_id: str) -> bool:
        """End one subscription of the connection; whether it existed."""
        if sub_id in subscriber.pending:
            subscriber.pending.discard(sub_id)
            return True
        return subscriber.subscriptions.pop(sub_id, _ABSENT) is not _ABSENT

    def wants_pending(self) -> bool:
        """Whether any connection holds a ``newPendingTransactions`` subscription."""
        return any(s.pending for s in self._subscribers)

    def notify_pending(self, tx_hashes: Sequence[tuple[bytes, bytes]]) -> None:
        """Queue a ``newPendingTransactions`` notification per transaction (its Ethereum-style hash, what
        ``eth_sendRawTransaction`` answered); drop full subscribers."""
        wanted = [s for s in self._subscribers if s.pending and not s.dropped]
        if not wanted:
            return
        results = ["0x" + eth.hex() for _, eth in tx_hashes]
        for subscriber in wanted:
            for sub_id in list(subscriber.pending):
                if not subscriber.push_all(_notification(sub_id, result) for result in results):
                    break
            if subscriber.dropped:
                self.detach(subscriber)

    def notify_block(self, block: Block) -> None:
        """Queue ``newHeads`` and matching ``logs`` notifications of ``block``; drop full subscribers."""
        wanted = [s for s in self._subscribers if s.subscriptions and not s.dropped]
        if not wanted:
            return
        head: JSON | None = None
        logs = None
        for subscriber in wanted:
            for sub_id, log_filter in list(subscriber.subscriptions.items()):
                messages: list[str] = []
                if log_filter is None:
                    if head is None:
                        head = new_heads_json(block)
                    messages.append(_notification(sub_id, head))
                else:
                    if logs is None:
                        logs = list(self.backend.block_logs(block, LogFilter()))
                    messages.extend(
                        _notification(sub_id, log_json(Style.ETH, e))
                        for e in logs
                        if log_filter.matches(e.log)
                    )
                if not subscriber.push_all(messages):
                    break
            if subscriber.dropped:
                self.detach(subscriber)
