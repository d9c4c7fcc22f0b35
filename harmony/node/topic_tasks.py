"""The node's long-running tasks on its two gossip topics (reference §8.3; design §8).

* the shard topic: :func:`publish_forever` sends what the consensus driver and the transaction relay queued;
  :func:`read_shard_topic` hands each message by its kind byte (:mod:`harmony.node.wire`) to the driver,
  coded propagation, the transaction relay or the syncer, and scores down a sender of garbage;
* the network-wide topic (:func:`~harmony.node.crossshard.global_topic`): :class:`GlobalOutbox` takes what
  :class:`~harmony.node.services.ShardServices` publishes, :func:`publish_forever` sends it,
  :func:`read_global_topic` gives every message to the services (a forger loses 5), and
  :func:`tick_services` re-publishes due items and reports the driver's double-sign evidence once a second.
"""

from __future__ import annotations

import logging
from typing import Protocol

import trio

from harmony.errors import HarmonyError
from harmony.node.coded_propagation import CodedPropagation
from harmony.node.consensus_driver import ConsensusDriver
from harmony.node.crossshard import CrossShardError
from harmony.node.services import ShardServices
from harmony.node.sync import Syncer
from harmony.node.tx_relay import Penalize, TxRelay
from harmony.node.wire import (
    KIND_CODED,
    KIND_CONSENSUS,
    KIND_HEAD,
    KIND_TRANSACTION,
    WireError,
    split,
    unpack_head,
)
from harmony.p2p.host import GossipMessage

log = logging.getLogger("harmony.node")

GLOBAL_OUTBOX_SIZE = 1024
"""Global-topic messages waiting for the publisher at most."""


class Publisher(Protocol):
    """What :func:`publish_forever` needs of the host (:class:`~harmony.p2p.host.P2PHost`)."""

    async def publish(self, topic: str, data: bytes) -> None:
        """Publish ``data`` on ``topic``."""
        ...


class GlobalOutbox:
    """The global topic's bounded queue: :meth:`send` never blocks; a full queue drops with a warning."""

    def __init__(self, size: int = GLOBAL_OUTBOX_SIZE) -> None:
        self._send, self.outbox = trio.open_memory_channel[bytes](size)

    def send(self, data: bytes) -> None:
        """Queue ``data`` for the global publisher (the relay sends what matters again when it is dropped)."""
        try:
            self._send.send_nowait(data)
        except trio.WouldBlock:
            log.warning("global topic outbox full: message dropped (the relay sends it again)")


async def publish_forever(
    host: Publisher, topic: str, outbox: trio.MemoryReceiveChannel[bytes], failure: str
) -> None:
    """Publish everything from ``outbox`` on ``topic``; a failed publish is logged (``failure`` with the
    error) and the next one tried."""
    async for data in outbox:
        try:
            await host.publish(topic, data)
        except HarmonyError as exc:
            log.warning(failure, exc)


async def read_shard_topic(
    penalize: Penalize,
    inbox: trio.MemoryReceiveChannel[GossipMessage],
    *,
    driver: ConsensusDriver,
    relay: TxRelay,
    syncer: Syncer,
    coded: CodedPropagation | None,
) -> None:
    """Hand each shard-topic message to its reader by kind: consensus to the driver, a coded announce to
    coded propagation (when on), transactions to the relay, a head announcement to the syncer. A message
    whose envelope or head does not decode costs its sender 1; unknown kinds are ignored."""
    async for message in inbox:
        try:
            kind, payload = split(message.data)
        except WireError as exc:
            penalize(message.from_peer, f"topic: {exc}")
            continue
        if kind == KIND_CONSENSUS:
            driver.deliver(payload, message.from_peer)
        elif kind == KIND_CODED:
            if coded is not None:
                coded.on_announce(payload, message.from_peer)
        elif kind == KIND_TRANSACTION:
            relay.on_gossip(penalize, message.from_peer, payload)
        elif kind == KIND_HEAD:
            try:
                number, _ = unpack_head(payload)
            except WireError as exc:
                penalize(message.from_peer, f"topic: {exc}")
                continue
            syncer.heard_head(message.from_peer, number)


async def read_global_topic(
    penalize: Penalize, inbox: trio.MemoryReceiveChannel[GossipMessage], services: ShardServices
) -> None:
    """Cross-shard traffic (proofs, crosslinks, beacon headers, staking, evidence); forgers penalized."""
    async for message in inbox:
        try:
            services.on_global(message.data)
        except CrossShardError as exc:
            log.info("refused a global message from %s: %s", message.from_peer, exc)
            penalize(message.from_peer, f"global: {exc.check}", 5)
        except HarmonyError as exc:
            log.warning("global message from %s not handled: %s", message.from_peer, exc)


async def tick_services(services: ShardServices, driver: ConsensusDriver) -> None:
    """Once a second: re-publish due proofs and headers; send double-sign evidence to the beacon chain."""
    while True:
        await trio.sleep(1.0)
        services.tick()
        while driver.evidence:
            services.report_double_sign(driver.evidence.pop(0))
