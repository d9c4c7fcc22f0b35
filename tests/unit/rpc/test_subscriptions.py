"""The hub's one delivery rule (``Subscriber.push_all``): a subscriber whose queue fills is dropped and
detached at once, for ``newPendingTransactions`` as for ``newHeads``, and the others still get everything."""

from __future__ import annotations

import json
from typing import Any

from harmony.rpc.subscriptions import Subscriber, SubscriptionHub
from tests.unit.rpc.conftest import ChainFixture


class Queue:
    """A connection's outgoing queue of ``room`` messages (what the server's ``push`` stands for)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.messages: list[Any] = []

    def push(self, message: str) -> bool:
        if len(self.messages) == self.room:
            return False
        self.messages.append(json.loads(message))
        return True


def test_push_all_stops_at_the_first_full_queue() -> None:
    queue = Queue(2)
    subscriber = Subscriber(queue.push)
    assert subscriber.push_all(['"a"', '"b"']) and not subscriber.dropped
    assert not subscriber.push_all(['"c"', '"d"']) and subscriber.dropped
    assert queue.messages == ["a", "b"]


def test_a_full_pending_subscriber_is_dropped_and_the_others_served(built: ChainFixture) -> None:
    hub = SubscriptionHub(built.backend)
    small, large = Queue(3), Queue(100)
    slow, fast = Subscriber(small.push), Subscriber(large.push)
    for subscriber in (slow, fast):
        hub.attach(subscriber)
        for _ in range(2):
            assert hub.subscribe(subscriber, None, pending=True) is not None
    hub.notify_pending([(b"\x01" * 32, b"\x0a" * 32), (b"\x02" * 32, b"\x0b" * 32)])
    assert slow.dropped and len(small.messages) == 3
    assert not fast.dropped and len(large.messages) == 4  # two subscriptions, two transactions each
    assert {m["params"]["result"] for m in large.messages} == {"0x" + "0a" * 32, "0x" + "0b" * 32}
    assert hub._subscribers == {fast}
    hub.notify_pending([(b"\x03" * 32, b"\x0c" * 32)])
    assert len(small.messages) == 3 and len(large.messages) == 6  # the dropped one was detached


def test_a_full_block_subscriber_is_dropped(built: ChainFixture) -> None:
    hub = SubscriptionHub(built.backend)
    queue = Queue(1)
    subscriber = Subscriber(queue.push)
    hub.attach(subscriber)
    hub.subscribe(subscriber, None)
    hub.subscribe(subscriber, None)
    hub.notify_block(built.blocks[0])
    assert subscriber.dropped and len(queue.messages) == 1 and subscriber not in hub._subscribers
