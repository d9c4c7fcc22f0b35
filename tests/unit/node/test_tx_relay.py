"""The node's transaction relay: batched, re-relayed while pending, gossiped batches into the pool (a real
chain, pool and topic transport)."""

from __future__ import annotations

from collections import Counter

import pytest
import trio

from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node import tx_relay
from harmony.node.blockchain import Blockchain
from harmony.node.consensus_env import TopicTransport
from harmony.node.tx_relay import TxRelay
from harmony.node.txpool import TxPool
from harmony.node.wire import (
    KIND_TRANSACTION,
    MAX_BATCH_TRANSACTIONS,
    pack_transactions,
    split,
    unpack_transactions,
)
from harmony.storage import ChainDB, MemoryStore
from harmony.types.transaction import Transaction

KEY = dev_account_key(0)


def _chain() -> Blockchain:
    return Blockchain.open(ChainDB(MemoryStore()), make_localnet_genesis(timestamp=1_700_000_000), 0)


def _relay() -> tuple[Blockchain, TxRelay]:
    chain = _chain()
    relay = TxRelay(TxPool(chain.params, 0, chain.accounts()))
    relay.topic = TopicTransport(Counter())
    return chain, relay


def _tx(nonce: int) -> Transaction:
    return Transaction(nonce, 2 * 10**9, 21_000, 0, 0, b"\x01" * 20, 1, b"").sign(KEY, LOCALNET.chain_id)


def _sent(relay: TxRelay) -> list[bytes]:
    assert relay.topic is not None
    kind, payload = split(relay.topic.outbox.receive_nowait())
    assert kind == KIND_TRANSACTION
    return unpack_transactions(payload)


def _nothing_sent(relay: TxRelay) -> bool:
    assert relay.topic is not None
    try:
        relay.topic.outbox.receive_nowait()
    except trio.WouldBlock:
        return True
    return False


def test_pending_local_transactions_are_relayed_again() -> None:
    chain, relay = _relay()
    txs = [_tx(n) for n in range(3)]
    for tx in txs:
        relay.pool.add(tx)
        relay.submit(tx)
    assert _nothing_sent(relay)  # a batch waits for the interval (or a full batch)
    relay.flush()
    assert _sent(relay) == [tx.encode() for tx in txs]
    # nothing is re-relayed before the interval; after it, what is still pending goes out again
    relay.reannounce()
    assert _nothing_sent(relay)
    for tx_hash in relay.local:
        relay.local[tx_hash] -= tx_relay.REANNOUNCE_INTERVAL + 1
    relay.pool.set_state(_Mined(chain.accounts(), KEY.address, 1))  # nonce 0 was mined
    relay.reannounce()
    assert _sent(relay) == [tx.encode() for tx in txs[1:]]
    assert len(relay.local) == 2  # the mined one is forgotten


def test_a_batch_waits_for_the_topic_and_a_full_batch_goes_at_once() -> None:
    _, relay = _relay()
    topic, relay.topic = relay.topic, None
    relay.pool.add(_tx(0))
    relay.submit(_tx(0))
    relay.flush()  # no topic yet: the batch is kept
    relay.topic = topic
    relay.flush()
    assert _sent(relay) == [_tx(0).encode()]
    tx = _tx(1)
    for _ in range(MAX_BATCH_TRANSACTIONS - 1):
        relay.submit(tx)
    assert _nothing_sent(relay)
    relay.submit(tx)  # the batch is full: it goes at once, without waiting for the interval
    assert _sent(relay) == [tx.encode()] * MAX_BATCH_TRANSACTIONS


def test_what_the_route_hands_back_goes_on_the_topic_once_a_second_or_once_a_full_batch_waits() -> None:
    """No upcoming leader's peer known: the batches the route hands back are merged into one topic message
    a second (a full batch at once), instead of one every 100 ms that every node gets several times."""
    now = [100.0]
    chain = _chain()
    relay = TxRelay(TxPool(chain.params, 0, chain.accounts()), clock=lambda: now[0])
    relay.topic = TopicTransport(Counter())
    handed_back: list[bytes] = []
    relay.route = lambda packed: bool(handed_back.append(packed))  # always False: no leader known
    relay.submit(_tx(0))
    relay.flush()
    assert _sent(relay) == [_tx(0).encode()]  # the first goes at once
    for n in (1, 2):
        now[0] += tx_relay.TX_RELAY_INTERVAL
        relay.submit(_tx(n))
        relay.flush()
        assert _nothing_sent(relay)
    now[0] += tx_relay.TOPIC_FALLBACK_INTERVAL
    relay.flush()
    assert _sent(relay) == [_tx(1).encode(), _tx(2).encode()]  # one message for both
    assert len(handed_back) == 3  # the route was asked for every batch
    tx = _tx(3)
    for _ in range(MAX_BATCH_TRANSACTIONS):
        relay.submit(tx)  # a full batch is flushed at once, handed back, and then goes at once too
    assert _sent(relay) == [tx.encode()] * MAX_BATCH_TRANSACTIONS


class Penalties:
    """Records what a peer was penalized for, in place of the host's scoring (``P2PHost.penalize``)."""

    def __init__(self) -> None:
        self.given: list[tuple[str, str, int]] = []

    def __call__(self, peer_id: str, reason: str, weight: int = 1) -> None:
        self.given.append((peer_id, reason, weight))


def test_gossiped_batches_go_into_the_pool_and_to_the_listeners() -> None:
    _, relay = _relay()
    heard: list[list[bytes]] = []
    relay.pending_listeners.append(lambda hashes: heard.append(list(hashes)))
    penalties = Penalties()
    relay.on_gossip(penalties, "peer-a", pack_transactions([_tx(0).encode(), _tx(1).encode()])[1:])
    assert relay.pool.stats() == (2, 0)
    assert heard == [[_tx(0).hash(), _tx(1).hash()]]
    assert penalties.given == []
    # known again: no listener call, no penalty
    relay.on_gossip(penalties, "peer-a", pack_transactions([_tx(0).encode()])[1:])
    assert len(heard) == 1 and penalties.given == []


@pytest.mark.parametrize(
    ("payload", "penalty"),
    [
        (b"\xff\x00", ("peer-b", 5)),  # the batch does not decode
        (pack_transactions([b"\x01\x02"])[1:], ("peer-b", 1)),  # a malformed transaction in it
    ],
)
def test_garbage_costs_its_sender(payload: bytes, penalty: tuple[str, int]) -> None:
    _, relay = _relay()
    penalties = Penalties()
    relay.on_gossip(penalties, "peer-b", payload)
    assert [(peer, weight) for peer, _, weight in penalties.given] == [penalty]
    assert relay.pool.stats() == (0, 0)


class _Mined:
    """The head's accounts with one account's nonce moved on (as if its first transactions were mined)."""

    def __init__(self, base: object, address: bytes, nonce: int) -> None:
        self.base, self.address, self._nonce = base, address, nonce

    def nonce(self, address: bytes) -> int:
        return self._nonce if address == self.address else self.base.nonce(address)  # type: ignore[attr-defined]

    def balance(self, address: bytes) -> int:
        return self.base.balance(address)  # type: ignore[attr-defined]
