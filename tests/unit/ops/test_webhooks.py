"""Alert webhooks against real local HTTP receivers: one that answers, one that hangs, one that refuses."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import trio

from harmony.ops.alerts import Alert, AlertEvent
from harmony.ops.webhooks import QUEUE_SIZE, NodeLabel, WebhookSender, alert_body
from tests.webhook_receiver import Receiver

NODE = NodeLabel("localnet", 0, "s0n1")
ALERT = Alert("missed_blocks:ab", "missed_blocks", "critical", "ab", "BLS key ab… missed 5 blocks in a row")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hanging() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    sock.close()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


async def _until(condition: object, limit: float = 20.0) -> None:
    with trio.fail_after(limit):
        while not condition():  # type: ignore[operator]
            await trio.sleep(0.02)


def test_the_body_suits_slack_discord_and_plain_json() -> None:
    body = alert_body(AlertEvent("firing", ALERT, 100.0, 100.0), NODE)
    assert body["text"] == body["content"]
    assert body["text"] == "[CRITICAL] s0n1 (localnet shard 0): BLS key ab… missed 5 blocks in a row"
    assert (body["status"], body["rule"], body["ends_at"]) == ("firing", "missed_blocks", None)
    resolved = alert_body(AlertEvent("resolved", ALERT, 160.0, 100.0), NODE)
    assert str(resolved["text"]).startswith("[RESOLVED]")
    assert (resolved["starts_at"], resolved["ends_at"]) == ("1970-01-01T00:01:40Z", "1970-01-01T00:02:40Z")
    long = Alert("x", "x", "warning", "node", "y" * 5000)
    assert len(str(alert_body(AlertEvent("firing", long, 0, 0), NODE)["content"])) <= 2000


def test_events_reach_a_real_receiver(receiver: Receiver) -> None:
    sender = WebhookSender([receiver.url], NODE, timeout=5.0)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender.run)
            sender.send(AlertEvent("firing", ALERT, 1.0, 1.0))
            sender.send(AlertEvent("resolved", ALERT, 2.0, 1.0))
            await _until(lambda: sender.counts["sent"] == 2)  # answered, not only received
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert [b["status"] for b in receiver.bodies] == ["firing", "resolved"]
    assert receiver.headers == ["application/json", "application/json"]
    assert sender.counts["sent"] == 2


def test_a_hanging_webhook_neither_blocks_the_caller_nor_the_others(receiver: Receiver, hanging: str) -> None:
    sender = WebhookSender([hanging, receiver.url], NODE, timeout=0.5, retry_delay=0.1)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender.run)
            await trio.sleep(0)
            for i in range(QUEUE_SIZE + 50):  # far more than the hanging webhook's queue holds
                sender.send(AlertEvent("firing", ALERT, float(i), float(i)))
            await _until(lambda: len(receiver.bodies) >= 10)
            await _until(lambda: sender.counts["failed"] >= 1)  # two attempts, each cut at the timeout
            nursery.cancel_scope.cancel()

    trio.run(main)
    # the hanging webhook's queue overflowed and dropped; the good one kept everything
    assert sender.counts["dropped"] >= 49
    assert receiver.bodies[0]["status"] == "firing"


def test_refusing_and_erroring_webhooks_count_as_failed() -> None:
    erroring = Receiver(status=500)
    try:
        sender = WebhookSender([_closed_port_url(), erroring.url], NODE, timeout=2.0, retry_delay=0.05)

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sender.run)
                sender.send(AlertEvent("firing", ALERT, 1.0, 1.0))
                await _until(lambda: sender.counts["failed"] == 2)
                nursery.cancel_scope.cancel()

        trio.run(main)
        assert len(erroring.bodies) == 2  # tried twice
        assert sender.counts["sent"] == 0
    finally:
        erroring.close()
