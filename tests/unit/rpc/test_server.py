"""The real servers on ephemeral ports, on trio in a background thread, driven by web3.py, pyhmy, raw HTTP
and a trio-websocket client."""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import trio
from eth_account import Account
from pyhmy import account as hmy_account
from pyhmy import blockchain as hmy_blockchain
from pyhmy import transaction as hmy_transaction
from trio_websocket import ConnectionClosed, open_websocket_url
from web3 import HTTPProvider, Web3

from harmony.chain.params import LOCALNET
from harmony.encoding.address import to_bech32, to_checksum_hex
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.server import RPCConfig, RPCServer
from tests.unit.rpc.conftest import CONTRACT, ETH_CHAIN_ID, KEYS, SHARD, SINK, TOPIC, ChainFixture

GWEI = 10**9
TIMEOUT = 60


@dataclass
class Running:
    server: RPCServer
    http_port: int
    ws_port: int
    token: trio.lowlevel.TrioToken

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def run_sync(self, fn: Any, *args: Any) -> Any:
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)


def start(backend: RPCBackend, config: RPCConfig) -> Iterator[Running]:
    server = RPCServer(backend, config)
    started: queue.Queue[tuple[int, int, trio.lowlevel.TrioToken, trio.CancelScope]] = queue.Queue()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            http_port, ws_port = await nursery.start(server.serve)
            started.put((http_port, ws_port, trio.lowlevel.current_trio_token(), nursery.cancel_scope))

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    http_port, ws_port, token, scope = started.get(timeout=TIMEOUT)
    yield Running(server, http_port, ws_port, token)
    trio.from_thread.run_sync(scope.cancel, trio_token=token)
    thread.join(TIMEOUT)
    assert not thread.is_alive()


@pytest.fixture(scope="module")
def running(built: ChainFixture) -> Iterator[Running]:
    # a pool of its own, so the dispatcher tests' pooled transactions do not show here
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(built.chain.state()))
    yield from start(RPCBackend(built.chain, pool), RPCConfig(http_port=0, ws_port=0))


def post(
    port: int, body: bytes, *, method: str = "POST", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, "/", body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_web3(running: Running, built: ChainFixture) -> None:
    w3: Any = Web3(HTTPProvider(running.url, request_kwargs={"timeout": TIMEOUT}))
    assert w3.eth.chain_id == ETH_CHAIN_ID
    assert w3.eth.block_number == 3
    sink = to_checksum_hex(SINK)
    assert w3.eth.get_balance(sink) == 7
    block = w3.eth.get_block(1)
    assert block["number"] == 1 and block["hash"] == built.blocks[0].hash()
    assert len(block["transactions"]) == 2
    tx = w3.eth.get_transaction(block["transactions"][1])
    assert tx["to"] == sink and tx["value"] == 7 and tx["from"] == to_checksum_hex(KEYS[1].address)
    call_tx = built.blocks[2].transactions[0]
    receipt = w3.eth.get_transaction_receipt(call_tx.eth_hash())
    assert receipt["status"] == 1 and receipt["logs"][0]["topics"][0] == TOPIC
    deploy = w3.eth.get_transaction_receipt(built.blocks[1].transactions[0].hash())
    assert deploy["contractAddress"] == to_checksum_hex(CONTRACT)
    contract = to_checksum_hex(CONTRACT)
    assert int.from_bytes(w3.eth.call({"to": contract}), "big") == 42
    gas = w3.eth.estimate_gas(
        {"from": to_checksum_hex(KEYS[4].address), "to": contract, "data": "0x" + "00" * 31 + "07"}
    )
    assert 21_000 < gas < 100_000
    logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": contract})
    assert len(logs) == 1 and logs[0]["data"] == (42).to_bytes(32, "big")

    sender = Account.from_key(KEYS[4].secret)
    signed = sender.sign_transaction(
        {"nonce": 0, "gasPrice": GWEI, "gas": 21_000, "to": sink, "value": 3, "chainId": ETH_CHAIN_ID}
    )
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert tx_hash == signed.hash
    assert w3.eth.get_transaction_count(sender.address, "pending") == 1
    assert w3.eth.get_transaction_count(sender.address, "latest") == 0
    assert w3.eth.get_transaction(tx_hash)["blockHash"] is None


def test_pyhmy(running: Running, built: ChainFixture) -> None:
    url = running.url
    assert hmy_account.get_balance(to_bech32(SINK), endpoint=url) == 7
    assert hmy_account.get_balance_by_block(to_bech32(SINK), 0, endpoint=url) == 0
    assert hmy_account.get_account_nonce(to_bech32(KEYS[0].address), endpoint=url) == 1
    block = hmy_blockchain.get_block_by_number(1, full_tx=True, include_tx=True, endpoint=url)
    assert block["number"] == 1 and block["transactions"][1]["to"] == to_bech32(SINK)
    assert hmy_blockchain.get_block_number(endpoint=url) == 3
    assert hmy_blockchain.get_shard(endpoint=url) == SHARD
    assert hmy_blockchain.get_block_signers(3, endpoint=url)
    receipt = hmy_transaction.get_transaction_receipt(
        "0x" + built.blocks[0].transactions[0].hash().hex(), endpoint=url
    )
    assert receipt["status"] == 1 and receipt["to"] == to_bech32(KEYS[1].address)
    assert hmy_transaction.get_pool_stats(endpoint=url) is not None


def test_pyhmy_node_and_header_calls(running: Running, built: ChainFixture) -> None:
    """pyhmy's calls over the shapes issue 20 fixed: node metadata epochs, headers, chain headers."""
    url = running.url
    assert hmy_blockchain.get_prestaking_epoch(endpoint=url) == 0
    assert hmy_blockchain.get_staking_epoch(endpoint=url) == 0
    assert hmy_blockchain.get_node_metadata(endpoint=url)["shard-id"] == SHARD
    header = hmy_blockchain.get_header_by_number(2, endpoint=url)
    assert header["blockHash"] == "0x" + built.blocks[1].hash().hex() and header["blockNumber"] == 2
    assert hmy_blockchain.get_latest_header(endpoint=url)["blockNumber"] == 3
    pair = hmy_blockchain.get_latest_chain_headers(endpoint=url)
    assert pair["shard-chain-header"]["number"] == "0x3"
    assert hmy_blockchain.get_sharding_structure(endpoint=url)[SHARD]["current"] is True
    assert hmy_blockchain.in_sync(endpoint=url) is True


def test_pyhmy_history(running: Running, built: ChainFixture) -> None:
    url = running.url
    key1 = to_bech32(KEYS[1].address)
    first, second = ("0x" + tx.hash().hex() for tx in built.blocks[0].transactions)
    assert hmy_account.get_transaction_history(key1, endpoint=url) == [first, second]
    assert hmy_account.get_transaction_history(key1, order="DESC", tx_type="SENT", endpoint=url) == [second]
    full = hmy_account.get_transaction_history(key1, include_full_tx=True, page_size=1, page=1, endpoint=url)
    assert [tx["hash"] for tx in full] == [second] and full[0]["to"] == to_bech32(SINK)
    assert hmy_account.get_transactions_count(key1, "ALL", endpoint=url) == 2
    assert hmy_account.get_transactions_count(key1, "RECEIVED", endpoint=url) == 1
    assert hmy_account.get_staking_transactions_count(key1, "ALL", endpoint=url) == 0
    assert hmy_account.get_staking_transaction_history(key1, endpoint=url) == []


def test_http_edges(running: Running) -> None:
    port = running.http_port
    ok = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}).encode()
    status, body = post(port, ok)
    assert status == 200 and json.loads(body)["result"] == "0x3"
    status, _ = post(port, b"", method="GET")
    assert status == 405
    status, _ = post(port, ok, headers={"Content-Type": "text/plain"})
    assert status == 415
    # refused from the declared length, before the body is read: send only the headers
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 6000000\r\n\r\n{"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    # chunked (no declared length): refused once the bytes read pass the cap
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * (1024 * 1024)
        try:
            for _ in range(6):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    status, body = post(port, b"{bad")
    assert status == 200 and json.loads(body)["error"]["code"] == -32700
    status, body = post(port, b"[" * 200_000 + b"]" * 200_000)
    assert status == 200 and json.loads(body)["error"]["code"] == -32700
    batch = json.dumps(
        [{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber"} for i in range(150)]
    ).encode()
    status, body = post(port, batch)
    assert json.loads(body)["error"]["code"] == -32600
    status, body = post(port, b'{"jsonrpc":"2.0","method":"eth_blockNumber"}')
    assert status == 200 and body == b""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("OPTIONS", "/")
    response = conn.getresponse()
    assert response.status == 204 and response.getheader("access-control-allow-origin") == "*"
    conn.close()
    # still serving
    status, body = post(port, ok)
    assert json.loads(body)["result"] == "0x3"


def test_rate_limit(built: ChainFixture) -> None:
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(built.chain.state()))
    for run in start(RPCBackend(built.chain, pool), RPCConfig(http_port=0, ws_port=0, rate_limit_per_s=5)):
        ok = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}).encode()
        codes = [json.loads(post(run.http_port, ok)[1]).get("error", {}).get("code") for _ in range(30)]
        assert -32005 in codes and codes[0] is None


def test_websocket_subscriptions(running: Running, built: ChainFixture) -> None:
    url = f"ws://127.0.0.1:{running.ws_port}"
    received: dict[str, Any] = {}

    async def client() -> None:
        with trio.fail_after(TIMEOUT):
            async with open_websocket_url(url) as ws:
                await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}))
                received["number"] = json.loads(await ws.get_message())["result"]
                await ws.send_message(
                    json.dumps({"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["newHeads"]})
                )
                heads_id = json.loads(await ws.get_message())["result"]
                await ws.send_message(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": 3,
                            "method": "eth_subscribe",
                            "params": ["logs", {"topics": ["0x" + TOPIC.hex()]}],
                        }
                    )
                )
                logs_id = json.loads(await ws.get_message())["result"]
                await ws.send_message(
                    json.dumps({"jsonrpc": "2.0", "id": 4, "method": "eth_subscribe", "params": ["bogus"]})
                )
                received["bogus"] = json.loads(await ws.get_message())["error"]["code"]
                await trio.to_thread.run_sync(running.run_sync, running.server.notify_block, built.blocks[2])
                notes = [json.loads(await ws.get_message()) for _ in range(2)]
                by_id = {n["params"]["subscription"]: n["params"]["result"] for n in notes}
                received["head"] = by_id[heads_id]
                received["log"] = by_id[logs_id]
                await ws.send_message(
                    json.dumps({"jsonrpc": "2.0", "id": 5, "method": "eth_unsubscribe", "params": [heads_id]})
                )
                received["unsub"] = json.loads(await ws.get_message())["result"]
                await ws.send_message("{garbage")
                received["garbage"] = json.loads(await ws.get_message())["error"]["code"]

    trio.run(client)
    assert received["number"] == "0x3" and received["bogus"] == -32602
    assert (
        received["head"]["number"] == "0x3"
        and received["head"]["hash"] == "0x" + built.blocks[2].hash().hex()
    )
    assert received["log"]["address"] == "0x" + CONTRACT.hex() and received["log"]["topics"] == [
        "0x" + TOPIC.hex()
    ]
    assert received["unsub"] is True and received["garbage"] == -32700


def test_slow_subscriber_dropped(running: Running, built: ChainFixture) -> None:
    """A subscriber that never reads is dropped once its queue fills; the node is never blocked."""
    url = f"ws://127.0.0.1:{running.ws_port}"

    async def client() -> None:
        with trio.fail_after(TIMEOUT):
            async with open_websocket_url(url, max_message_size=1 << 20) as ws:
                await ws.send_message(
                    json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
                )
                json.loads(await ws.get_message())
                for _ in range(2000):
                    await trio.to_thread.run_sync(
                        running.run_sync, running.server.notify_block, built.blocks[2]
                    )
                assert not running.server.hub._subscribers or all(
                    s.dropped for s in running.server.hub._subscribers
                )
                # and the server ends the connection, even though its writer was stuck on this client
                with pytest.raises(ConnectionClosed):
                    while True:
                        await ws.get_message()

    trio.run(client)
