"""The node's transaction relay: batched, and re-relayed while pending (real Node, LMDB, pool, driver)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import trio

from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.consensus.api import MemoryLogStore, MemorySignerStore
from harmony.node import runtime
from harmony.node.config import NodeConfig
from harmony.node.consensus_env import TopicTransport
from harmony.node.consensus_ledger import node_driver
from harmony.node.runtime import Node
from harmony.node.wire import KIND_TRANSACTION, split, unpack_transactions
from harmony.types.transaction import Transaction


def test_pending_local_transactions_are_relayed_again(tmp_path: Path, monkeypatch: object) -> None:
    node = Node(
        NodeConfig(data_dir=tmp_path, shard_id=0), genesis=make_localnet_genesis(timestamp=1_700_000_000)
    )
    try:
        node.topic = TopicTransport(Counter())
        node.driver = node_driver(
            node.chain,
            node.pool,
            node.consensus_config(),
            (MemorySignerStore(), MemoryLogStore()),
            node.topic,
        )
        key = dev_account_key(0)
        txs = [
            Transaction(n, 2 * 10**9, 21_000, 0, 0, b"\x01" * 20, 1, b"").sign(key, LOCALNET.chain_id)
            for n in range(3)
        ]
        for tx in txs:
            node.pool.add(tx)
            node.on_transaction(tx)
        node._flush_relay()
        kind, payload = split(node.topic.outbox.receive_nowait())
        assert kind == KIND_TRANSACTION and unpack_transactions(payload) == [tx.encode() for tx in txs]
        # nothing is re-relayed before the interval; after it, what is still pending goes out again
        node._reannounce()
        try:
            node.topic.outbox.receive_nowait()
            raise AssertionError("re-relayed too early")
        except trio.WouldBlock:
            pass
        for tx_hash in node._local:
            node._local[tx_hash] -= runtime.REANNOUNCE_INTERVAL + 1
        node.pool.set_state(_Mined(node.chain.accounts(), key.address, 1))  # nonce 0 was mined
        node._reannounce()
        _, payload = split(node.topic.outbox.receive_nowait())
        assert unpack_transactions(payload) == [tx.encode() for tx in txs[1:]]
    finally:
        node.close()


class _Mined:
    """The head's accounts with one account's nonce moved on (as if its first transactions were mined)."""

    def __init__(self, base: object, address: bytes, nonce: int) -> None:
        self.base, self.address, self._nonce = base, address, nonce

    def nonce(self, address: bytes) -> int:
        return self._nonce if address == self.address else self.base.nonce(address)  # type: ignore[attr-defined]

    def balance(self, address: bytes) -> int:
        return self.base.balance(address)  # type: ignore[attr-defined]
