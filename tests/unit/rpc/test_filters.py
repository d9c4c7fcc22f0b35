"""Polled filters (eth_/hmy_ newFilter, newBlockFilter, newPendingTransactionFilter, getFilterChanges,
getFilterLogs, uninstallFilter) over a real LMDB chain that grows during the test, and the WebSocket
``newPendingTransactions`` subscription on the real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import open_websocket_url

from harmony.chain.params import LOCALNET
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc import filters as filters_mod
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.rpc.filters import FILTER_TIMEOUT_S, FilterStore
from harmony.rpc.server import RPCConfig
from tests.unit.rpc.conftest import (
    CONTRACT,
    SHARD,
    SINK,
    TOPIC,
    ChainFixture,
    _next,
    build_chain,
    eth_tx,
    harmony_tx,
)
from tests.unit.rpc.test_dispatch import error, result
from tests.unit.rpc.test_server import TIMEOUT, post, start


@pytest.fixture
def growing(tmp_path: Path) -> Iterator[ChainFixture]:
    """A chain of its own (function scope), so a test can import more blocks."""
    store, chain, blocks = build_chain(tmp_path / "db")
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(chain.state()))
    backend = RPCBackend(chain, pool)
    yield ChainFixture(chain, pool, backend, Dispatcher(backend), blocks)
    store.close()


def _store_call(nonce: int, word: int) -> Any:
    return eth_tx(3, nonce, CONTRACT, 0, word.to_bytes(32, "big"), gas=100_000)


def test_block_filter_reports_each_new_block_once(growing: ChainFixture) -> None:
    d = growing.dispatcher
    fid = result(d, "eth_newBlockFilter")
    assert result(d, "eth_getFilterChanges", fid) == []
    b4 = _next(growing.chain, [eth_tx(4, 0, SINK, 1)])
    b5 = _next(growing.chain, [])
    assert result(d, "eth_getFilterChanges", fid) == ["0x" + b4.hash().hex(), "0x" + b5.hash().hex()]
    assert result(d, "eth_getFilterChanges", fid) == []
    # getFilterLogs is for log filters only
    assert error(d, "eth_getFilterLogs", fid)["message"] == "filter not found"


def test_log_filter_changes_and_whole_range(growing: ChainFixture) -> None:
    d = growing.dispatcher
    topic = "0x" + TOPIC.hex()
    fid = result(d, "eth_newFilter", {"fromBlock": "0x0", "topics": [topic]})
    other = result(d, "eth_newFilter", {"address": "0x" + (b"\x07" * 20).hex()})
    # changes start after the head at creation (as geth), getFilterLogs covers fromBlock..head
    assert result(d, "eth_getFilterChanges", fid) == []
    assert [e["blockNumber"] for e in result(d, "eth_getFilterLogs", fid)] == ["0x3"]
    _next(growing.chain, [_store_call(1, 7)])
    changes = result(d, "eth_getFilterChanges", fid)
    assert len(changes) == 1 and changes[0]["blockNumber"] == "0x4"
    assert changes[0]["data"] == "0x" + (7).to_bytes(32, "big").hex() and changes[0]["topics"] == [topic]
    assert result(d, "eth_getFilterChanges", fid) == []
    assert [e["blockNumber"] for e in result(d, "eth_getFilterLogs", fid)] == ["0x3", "0x4"]
    assert result(d, "eth_getFilterChanges", other) == []
    # hmy_ namespace: same filters, Harmony hashes
    hid = result(d, "hmy_newFilter", {"topics": [topic]})
    _next(growing.chain, [_store_call(2, 8)])
    assert [e["blockNumber"] for e in result(d, "hmy_getFilterChanges", hid)] == ["0x5"]


def test_log_filter_with_closed_range(growing: ChainFixture) -> None:
    d = growing.dispatcher
    fid = result(d, "eth_newFilter", {"fromBlock": "0x4", "toBlock": "0x4"})
    _next(growing.chain, [_store_call(1, 1)])
    _next(growing.chain, [_store_call(2, 2)])
    changes = result(d, "eth_getFilterChanges", fid)
    assert [e["blockNumber"] for e in changes] == ["0x4"]
    assert result(d, "eth_getFilterChanges", fid) == []


def test_pending_filter_sees_client_and_peer_transactions(growing: ChainFixture) -> None:
    d = growing.dispatcher
    fid = result(d, "eth_newPendingTransactionFilter")
    hid = result(d, "hmy_newPendingTransactionFilter")
    tx = eth_tx(4, 0, SINK, 1)
    tx_hash = result(d, "eth_sendRawTransaction", "0x" + tx.to_eth().encode().hex())
    from_peer = harmony_tx(4, 1, SINK, 1)
    growing.backend.notify_pending([from_peer])  # what the node does for transactions from peers
    assert result(d, "eth_getFilterChanges", fid) == [tx_hash, "0x" + from_peer.hash().hex()]
    assert result(d, "eth_getFilterChanges", fid) == []
    assert result(d, "hmy_getFilterChanges", hid) == ["0x" + tx.hash().hex(), "0x" + from_peer.hash().hex()]


def test_uninstall_and_unknown(growing: ChainFixture) -> None:
    d = growing.dispatcher
    fid = result(d, "eth_newBlockFilter")
    assert result(d, "eth_uninstallFilter", fid) is True
    assert result(d, "eth_uninstallFilter", fid) is False
    assert error(d, "eth_getFilterChanges", fid)["message"] == "filter not found"
    assert error(d, "eth_getFilterChanges", "0xdead")["message"] == "filter not found"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_newFilter", [{"blockHash": "0x" + "00" * 32}]),
        ("eth_newFilter", [{"fromBlock": "0x5", "toBlock": "0x2"}]),
        ("eth_newFilter", [{"bogus": 1}]),
        ("eth_newFilter", ["not an object"]),
        ("eth_newFilter", [{"topics": [["0x12"]]}]),
        ("eth_getFilterChanges", [12]),
        ("eth_getFilterChanges", ["x" * 101]),
        ("eth_getFilterChanges", []),
        ("eth_uninstallFilter", [None]),
        ("eth_newBlockFilter", [1]),
    ],
)
def test_bad_parameters(growing: ChainFixture, method: str, params: list[Any]) -> None:
    assert error(growing.dispatcher, method, *params)["code"] == -32602


def test_filters_expire_and_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    store = FilterStore(clock=lambda: now[0])
    old = store.new_pending_filter()
    now[0] += FILTER_TIMEOUT_S / 2
    store.new_block_filter(0)
    store.get(old)  # a poll keeps it alive
    now[0] += FILTER_TIMEOUT_S * 0.75
    store.expire()
    assert len(store) == 2
    now[0] += FILTER_TIMEOUT_S + 1
    store.expire()
    assert len(store) == 0
    monkeypatch.setattr(filters_mod, "MAX_FILTERS", 3)
    for _ in range(3):
        store.new_pending_filter()
    with pytest.raises(Exception, match="too many filters"):
        store.new_pending_filter()
    # the pending buffer is bounded: the oldest hashes go first
    store = FilterStore(clock=lambda: now[0])
    fid = store.new_pending_filter()
    store.notify_pending([i.to_bytes(32, "big") for i in range(filters_mod.MAX_PENDING_HASHES + 10)])
    item = store.get(fid)
    assert len(item.pending) == filters_mod.MAX_PENDING_HASHES and item.pending[0] == (10).to_bytes(32, "big")


def test_websocket_new_pending_transactions(built: ChainFixture) -> None:
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(built.chain.state()))
    received: dict[str, Any] = {}
    tx = eth_tx(5, 0, SINK, 3)
    for running in start(RPCBackend(built.chain, pool), RPCConfig(http_port=0, ws_port=0)):

        async def client(port_ws: int, port_http: int) -> None:
            with trio.fail_after(TIMEOUT):
                async with open_websocket_url(f"ws://127.0.0.1:{port_ws}") as ws:
                    await ws.send_message(
                        json.dumps(
                            {
                                "jsonrpc": "2.0",
                                "id": 1,
                                "method": "eth_subscribe",
                                "params": ["newPendingTransactions"],
                            }
                        )
                    )
                    sub_id = json.loads(await ws.get_message())["result"]
                    body = json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": 2,
                            "method": "eth_sendRawTransaction",
                            "params": ["0x" + tx.to_eth().encode().hex()],
                        }
                    ).encode()
                    _status, answer = await trio.to_thread.run_sync(post, port_http, body)
                    received["sent"] = json.loads(answer)["result"]
                    note = json.loads(await ws.get_message())
                    received["note"] = note["params"]
                    received["sub"] = sub_id
                    await ws.send_message(
                        json.dumps(
                            {
                                "jsonrpc": "2.0",
                                "id": 3,
                                "method": "eth_subscribe",
                                "params": ["newPendingTransactions", {"x": 1}],
                            }
                        )
                    )
                    received["options"] = json.loads(await ws.get_message())["error"]["code"]
                    await ws.send_message(
                        json.dumps(
                            {"jsonrpc": "2.0", "id": 4, "method": "eth_unsubscribe", "params": [sub_id]}
                        )
                    )
                    received["unsub"] = json.loads(await ws.get_message())["result"]

        trio.run(client, running.ws_port, running.http_port)
    assert received["note"] == {"subscription": received["sub"], "result": received["sent"]}
    assert received["options"] == -32602 and received["unsub"] is True
    assert received["sent"] == "0x" + tx.hash_by_type().hex()
