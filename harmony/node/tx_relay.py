"""The shard's transaction gossip (reference §8.4): what our RPC took goes to the other pools, what peers
gossip comes into ours.

:class:`TxRelay` batches the transactions our pool accepted from RPC into one shard-topic message every
:data:`TX_RELAY_INTERVAL` seconds (or sooner when a batch fills), relays again those still pending after
:data:`REANNOUNCE_INTERVAL`, and adds the batches peers gossip to the pool, scoring down a sender of
malformed ones. With ``[p2p] tx_relay = "leaders"`` a batch goes first to :attr:`TxRelay.route`, which
writes it straight to the shard's next leaders (:mod:`harmony.node.tx_routes`) or hands it back; else, and
then, it goes on the shard topic through the node's :class:`~harmony.node.consensus_env.TopicTransport`
outbox once the node has one (:attr:`TxRelay.topic`); until then batches wait.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import trio

from harmony.node.consensus_env import TopicTransport
from harmony.node.txpool import TxPool, TxPoolError
from harmony.node.wire import (
    MAX_BATCH_BYTES,
    MAX_BATCH_TRANSACTIONS,
    WireError,
    pack_transactions,
    unpack_transactions,
)
from harmony.types.transaction import Transaction

log = logging.getLogger("harmony.node")

TX_RELAY_INTERVAL = 0.1
"""Seconds between relayed transaction batches. Each batch is one gossip message that every peer receives
from each of its mesh peers; under load, halving the messages (50 ms before) saved more py-libp2p work than
the 25 ms it adds on average before a transaction reaches the leader's pool."""
TOPIC_FALLBACK_INTERVAL = 1.0
"""Seconds between the topic messages of transactions the :attr:`TxRelay.route` handed back (no upcoming
leader's peer known yet: a node new to the shard, or a committee with leaders it has not heard lead), unless
a full batch waits. Every node receives each topic message from several mesh peers: at one message per
:data:`TX_RELAY_INTERVAL`, 16 validators that each took a few transactions a second flooded one another
with one-transaction batches and stopped finalizing blocks (``bench/propagation.py --members 16``)."""
REANNOUNCE_INTERVAL = 5.0
"""A transaction our RPC took that is still pending this long after its last relay is relayed again."""
REANNOUNCE_MAX = 2048
"""Transactions re-relayed per round at most."""
LOCAL_TRACKED = 65_536
"""Locally submitted transactions remembered for re-relaying."""


class Penalize(Protocol):
    """Scores a peer down: :meth:`harmony.p2p.host.P2PHost.penalize`."""

    def __call__(self, peer_id: str, reason: str, weight: int = 1) -> None:
        """Record bad behaviour of ``peer_id`` with this ``weight``."""
        ...


class TxRelay:
    """Transaction gossip between our pool and the shard's other pools (module docstring)."""

    def __init__(self, pool: TxPool, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.pool = pool
        self._clock = clock
        self.topic: TopicTransport | None = None
        """The shard topic's outbox (set when the node starts); batches wait until there is one."""
        self.route: Callable[[bytes], bool] | None = None
        """With ``tx_relay = "leaders"``: takes a packed batch for the next leaders' streams, or returns False
        and the batch goes on the topic."""
        self.pending_listeners: list[Callable[[Sequence[bytes]], None]] = []
        """Told the hashes of transactions the pool accepted from peers (the RPC's pending filters and
        subscriptions)."""
        self._batch: list[bytes] = []
        self._batch_bytes = 0
        self._held: list[bytes] = []
        """Transactions the route handed back, for the next topic message (:data:`TOPIC_FALLBACK_INTERVAL`):
        their encodings and their bytes, and when the last such message went."""
        self._held_bytes = 0
        self._held_sent = float("-inf")
        self.local: OrderedDict[bytes, float] = OrderedDict()
        """Hashes of the transactions our RPC took, oldest relay first, with the time of their last relay."""

    def submit(self, tx: Transaction) -> None:
        """Gossip a transaction our pool accepted (from RPC) to the shard's other pools (reference §8.4).

        Transactions are relayed in batches every :data:`TX_RELAY_INTERVAL` seconds: one topic message per
        batch instead of one per transaction keeps gossip far below its message-rate limits under load.
        """
        encoded, tx_hash = self.pool.relay_form(tx)
        self._batch.append(encoded)
        self._batch_bytes += len(encoded)
        self.local[tx_hash] = time.monotonic()
        while len(self.local) > LOCAL_TRACKED:
            self.local.popitem(last=False)
        if self._batch_bytes >= MAX_BATCH_BYTES // 2 or len(self._batch) >= MAX_BATCH_TRANSACTIONS:
            self.flush()

    def flush(self) -> None:
        """Send the waiting transactions, in batches a receiver accepts (:func:`batches`): each to the
        :attr:`route` when it takes it, else as one topic message (kept while there is no topic). What the
        route hands back goes on the topic at most every :data:`TOPIC_FALLBACK_INTERVAL`, or once a full
        batch of it waits (as :meth:`submit` flushes one)."""
        if self.topic is None:
            return
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        for part in batches(batch):
            packed = pack_transactions(part)
            if self.route is None:
                self.publish(packed)
            elif not self.route(packed):
                self._held += part
                self._held_bytes += sum(map(len, part))
        now = self._clock()
        full = self._held_bytes >= MAX_BATCH_BYTES // 2 or len(self._held) >= MAX_BATCH_TRANSACTIONS
        if self._held and (full or now - self._held_sent >= TOPIC_FALLBACK_INTERVAL):
            held, self._held, self._held_bytes, self._held_sent = self._held, [], 0, now
            for part in batches(held):
                self.publish(pack_transactions(part))

    def publish(self, packed: bytes) -> None:
        """Queue a packed batch as one topic message (dropped with a warning when the outbox is full, or
        when the node has no topic yet)."""
        if self.topic is None:
            return
        try:
            self.topic.outbox_send.send_nowait(packed)
        except trio.WouldBlock:
            log.warning("outbox full: a batch of transactions not relayed")

    async def run(self) -> None:
        """Flush every :data:`TX_RELAY_INTERVAL` and re-relay every :data:`REANNOUNCE_INTERVAL`, forever."""
        last_reannounce = time.monotonic()
        while True:
            await trio.sleep(TX_RELAY_INTERVAL)
            self.flush()
            if time.monotonic() - last_reannounce >= REANNOUNCE_INTERVAL:
                last_reannounce = time.monotonic()
                self.reannounce()

    def reannounce(self) -> None:
        """Relay again the transactions our RPC took that are still pending after a while.

        A peer whose pool was full when the first relay came dropped them, leaving nonce gaps that keep the
        sender's later transactions out of its blocks when it leads; peers that have them answer "known"
        cheaply (before any signature check).
        """
        now = time.monotonic()
        stale = []
        for tx_hash, at in list(self.local.items()):
            if now - at < REANNOUNCE_INTERVAL:
                break
            encoded = self.pool.encoded(tx_hash)  # exact Harmony-hash lookup: a miss costs nothing more
            if encoded is None:
                del self.local[tx_hash]
                continue
            stale.append(encoded)
            self.local.move_to_end(tx_hash)
            self.local[tx_hash] = now
            if len(stale) >= REANNOUNCE_MAX:
                break
        self._batch.extend(stale)
        if stale:
            self.flush()

    def on_gossip(self, penalize: Penalize, peer: str, payload: bytes) -> None:
        """A transaction batch ``peer`` gossiped: each into the pool, the accepted ones' hashes to the
        :attr:`pending_listeners`; a batch that does not decode costs the peer 5, a malformed, oversized,
        badly signed or other shard's transaction 1 (a peer relays only what its pool accepted)."""
        try:
            batch = unpack_transactions(payload)
        except WireError as exc:
            penalize(peer, f"topic: {exc}", 5)
            return
        accepted: list[bytes] = []
        for raw in batch:
            try:
                accepted.append(self.pool.add_raw(raw, eth=False))
            except TxPoolError as exc:
                if exc.reason in ("malformed", "oversized", "invalid-signature", "wrong-shard"):
                    penalize(peer, f"transaction: {exc.reason}")
        if accepted:
            for listener in self.pending_listeners:
                listener(accepted)


def batches(encoded: Sequence[bytes]) -> list[list[bytes]]:
    """``encoded`` cut, in order, into batches of at most :data:`MAX_BATCH_TRANSACTIONS` transactions and
    :data:`MAX_BATCH_BYTES` ``// 2`` bytes of encodings (a single larger transaction alone), so that every
    batch, with its RLP headers, stays under what :func:`~harmony.node.wire.unpack_transactions` and the
    leaders' streams read."""
    out: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for item in encoded:
        if current and (size + len(item) > MAX_BATCH_BYTES // 2 or len(current) >= MAX_BATCH_TRANSACTIONS):
            out.append(current)
            current, size = [], 0
        current.append(item)
        size += len(item)
    if current:
        out.append(current)
    return out
