"""The dispatcher over a real LMDB chain: eth_, hmy_ and hmyv2_ shapes field by field, errors, and a
fuzz of random JSON that must always get a well-formed JSON-RPC answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmony.encoding.address import to_bech32
from harmony.rpc.dispatch import MAX_JSON_DEPTH, Dispatcher, check_depth
from tests.unit.rpc.conftest import (
    CONTRACT,
    ETH_CHAIN_ID,
    GENESIS,
    KEYS,
    REVERT_PAYLOAD,
    RUNTIME,
    SHARD,
    SINK,
    TOPIC,
    ChainFixture,
    eth_tx,
)

GWEI = 10**9


def call(d: Dispatcher, method: str, *params: Any) -> dict[str, Any]:
    raw = d.handle(json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}))
    assert raw is not None
    response: dict[str, Any] = json.loads(raw)
    assert response["jsonrpc"] == "2.0" and response["id"] == 7
    return response


def result(d: Dispatcher, method: str, *params: Any) -> Any:
    response = call(d, method, *params)
    assert "error" not in response, response
    return response["result"]


def error(d: Dispatcher, method: str, *params: Any) -> dict[str, Any]:
    response = call(d, method, *params)
    assert "result" not in response, response
    err: dict[str, Any] = response["error"]
    return err


def h(b: bytes) -> str:
    return "0x" + b.hex()


def test_chain_ids_and_numbers(built: ChainFixture) -> None:
    d = built.dispatcher
    assert result(d, "eth_chainId") == hex(ETH_CHAIN_ID)
    assert result(d, "hmyv2_chainId") == GENESIS.params.chain_id
    assert result(d, "hmy_chainId") == hex(GENESIS.params.chain_id)
    assert result(d, "eth_blockNumber") == "0x3"
    assert result(d, "hmy_blockNumber") == "0x3"
    assert result(d, "hmyv2_blockNumber") == 3
    assert result(d, "net_version") == str(ETH_CHAIN_ID)
    assert result(d, "eth_gasPrice") == hex(GENESIS.params.min_gas_price)
    assert result(d, "hmyv2_gasPrice") == GENESIS.params.min_gas_price
    assert result(d, "eth_syncing") is False
    assert result(d, "hmyv2_getShardID") == SHARD
    assert result(d, "hmyv2_getEpoch") == 0
    assert result(d, "eth_accounts") == []
    assert result(d, "net_peerCount") == "0x0"


def test_balances_and_nonces(built: ChainFixture) -> None:
    d = built.dispatcher
    state = built.chain.state()
    balance = state.get_balance(KEYS[0].address)
    assert result(d, "eth_getBalance", h(KEYS[0].address), "latest") == hex(balance)
    assert result(d, "hmy_getBalance", to_bech32(KEYS[0].address), "latest") == hex(balance)
    assert result(d, "hmyv2_getBalance", to_bech32(KEYS[0].address)) == balance
    assert result(d, "hmyv2_getBalanceByBlockNumber", to_bech32(SINK), 0) == 0
    assert result(d, "hmyv2_getBalanceByBlockNumber", to_bech32(SINK), 1) == 7
    assert result(d, "eth_getBalance", h(SINK), "0x1") == "0x7"
    assert result(d, "eth_getTransactionCount", h(KEYS[0].address), "latest") == "0x1"
    assert result(d, "hmyv2_getTransactionCount", to_bech32(KEYS[2].address), "latest") == 1
    assert result(d, "hmyv2_getAccountNonce", to_bech32(KEYS[3].address), "latest") == 1
    assert result(d, "eth_getTransactionCount", h(KEYS[0].address), "earliest") == "0x0"


def test_eth_block_shape(built: ChainFixture) -> None:
    d = built.dispatcher
    block = built.blocks[0]
    got = result(d, "eth_getBlockByNumber", "0x1", False)
    header = block.header
    assert got["number"] == "0x1"
    assert got["hash"] == h(block.hash())
    assert got["parentHash"] == h(header.parent_hash)
    assert got["stateRoot"] == h(header.root)
    assert got["transactionsRoot"] == h(header.tx_hash)
    assert got["receiptsRoot"] == h(header.receipt_hash)
    assert got["logsBloom"] == h(header.bloom)
    assert got["miner"] == h(header.coinbase)
    assert got["gasLimit"] == hex(header.gas_limit)
    assert got["gasUsed"] == hex(42_000)
    assert got["timestamp"] == hex(header.time)
    assert got["size"] == hex(len(block.encode()))
    assert got["nonce"] == "0x0000000000000000" and got["difficulty"] == "0x0" and got["uncles"] == []
    assert got["transactions"] == [h(tx.hash()) for tx in block.transactions]
    assert result(d, "eth_getBlockByHash", h(block.hash()), False) == got
    full = result(d, "eth_getBlockByNumber", "0x1", True)
    tx = full["transactions"][1]
    assert tx["from"] == h(KEYS[1].address) and tx["to"] == h(SINK) and tx["value"] == "0x7"
    assert (
        tx["blockHash"] == h(block.hash()) and tx["blockNumber"] == "0x1" and tx["transactionIndex"] == "0x1"
    )
    assert tx["hash"] == h(block.transactions[1].hash()) and tx["gas"] == hex(21_000)
    assert tx["gasPrice"] == hex(GWEI) and tx["nonce"] == "0x0" and tx["input"] == "0x"
    assert result(d, "eth_getBlockByNumber", "0x99", False) is None
    assert result(d, "eth_getBlockTransactionCountByNumber", "0x1") == "0x2"
    assert result(d, "eth_getBlockTransactionCountByHash", h(block.hash())) == "0x2"
    assert result(d, "eth_getTransactionByBlockNumberAndIndex", "0x1", "0x1") == tx
    assert result(d, "eth_getTransactionByBlockNumberAndIndex", "0x1", "0x5") is None


def test_hmyv2_block_shape(built: ChainFixture) -> None:
    d = built.dispatcher
    block = built.blocks[0]
    got = result(d, "hmyv2_getBlockByNumber", 1, {"fullTx": False, "InclStaking": True, "withSigners": False})
    assert got["number"] == 1 and got["epoch"] == 0 and got["viewID"] == 0
    assert got["hash"] == h(block.hash())
    assert got["miner"] == to_bech32(block.header.coinbase)
    assert got["gasUsed"] == 42_000 and got["size"] == len(block.encode())
    assert got["timestamp"] == block.header.time
    assert got["transactions"] == [h(tx.hash()) for tx in block.transactions]
    assert got["transactionsInEthHash"] == [h(tx.eth_hash()) for tx in block.transactions]
    assert got["stakingTransactions"] == [] and "signers" not in got
    # the leader's VRF: output β (32 bytes) and proof π (its BLS signature of the parent hash)
    assert got["vrf"] == h(block.header.vrf[:32]) and got["vrfProof"] == h(block.header.vrf[32:])
    assert len(block.header.vrf) == 128
    v1 = result(d, "hmy_getBlockByNumber", "0x1", {"fullTx": False})
    assert v1["number"] == "0x1" and v1["gasUsed"] == hex(42_000)
    full = result(d, "hmyv2_getBlockByNumber", 1, {"fullTx": True, "inclTx": True})
    tx = full["transactions"][0]
    assert "transactionsInEthHash" not in full
    assert tx == {
        "blockHash": h(block.hash()),
        "blockNumber": 1,
        "from": to_bech32(KEYS[0].address),
        "timestamp": block.header.time,
        "gas": 21_000,
        "gasPrice": GWEI,
        "hash": h(block.transactions[0].hash()),
        "ethHash": h(block.transactions[0].eth_hash()),
        "input": "0x",
        "nonce": 0,
        "to": to_bech32(KEYS[1].address),
        "transactionIndex": 0,
        "value": 5,
        "shardID": SHARD,
        "toShardID": SHARD,
        "v": hex(block.transactions[0].v),
        "r": hex(block.transactions[0].r),
        "s": hex(block.transactions[0].s),
    }
    blocks = result(d, "hmyv2_getBlocks", 1, 3, {"fullTx": False})
    assert [b["number"] for b in blocks] == [1, 2, 3]
    header = result(d, "hmyv2_getHeaderByNumber", 2)
    assert header["blockNumber"] == 2 and header["shardID"] == SHARD
    assert header["blockHash"] == h(built.blocks[1].hash()) and "crossLinks" not in header
    full_header = result(d, "hmyv2_getFullHeader", 2)
    assert full_header["number"] == 2 and full_header["shardID"] == SHARD
    assert result(d, "hmyv2_latestHeader")["blockNumber"] == 3


def test_signers(built: ChainFixture) -> None:
    d = built.dispatcher
    committee = GENESIS.shard_state().committee(SHARD)
    expected = [to_bech32(committee.slots[i].ecdsa_address) for i in (0, 1)]
    assert result(d, "hmyv2_getBlockSigners", 3) == expected
    assert result(d, "hmyv2_getBlockSignerKeys", 3) == [
        committee.slots[i].bls_public_key.hex() for i in (0, 1)
    ]
    assert result(d, "hmyv2_isBlockSigner", 3, expected[0]) is True
    assert result(d, "hmyv2_getBlockSigners", 2) == []  # block 3's header carries no bitmap
    with_signers = result(d, "hmyv2_getBlockByNumber", 3, {"withSigners": True})
    assert with_signers["signers"] == expected
    assert error(d, "hmyv2_getBlockSigners", 99)["code"] == -32000


def test_receipts_and_logs(built: ChainFixture) -> None:
    d = built.dispatcher
    deploy = built.blocks[1].transactions[0]
    rec = result(d, "eth_getTransactionReceipt", h(deploy.hash()))
    assert rec["contractAddress"] == h(CONTRACT) and rec["to"] is None and rec["status"] == "0x1"
    assert rec["transactionHash"] == h(deploy.hash()) and rec["logs"] == []
    assert result(d, "eth_getCode", h(CONTRACT), "latest") == h(RUNTIME)
    assert result(d, "eth_getStorageAt", h(CONTRACT), "0x0", "latest") == h((42).to_bytes(32, "big"))
    v2 = result(d, "hmyv2_getTransactionReceipt", h(deploy.hash()))
    assert v2["contractAddress"] == h(CONTRACT) and v2["to"] == "" and v2["status"] == 1
    assert v2["from"] == h(KEYS[2].address) and v2["shardID"] == SHARD and v2["blockNumber"] == 2
    assert v2["gasUsed"] == v2["cumulativeGasUsed"] == built.blocks[1].header.gas_used

    call_tx = built.blocks[2].transactions[0]
    by_eth = result(d, "eth_getTransactionReceipt", h(call_tx.eth_hash()))
    assert by_eth == result(d, "eth_getTransactionReceipt", h(call_tx.hash()))
    (log,) = by_eth["logs"]
    assert log == {
        "address": h(CONTRACT),
        "topics": [h(TOPIC)],
        "data": h((42).to_bytes(32, "big")),
        "blockNumber": "0x3",
        "transactionHash": h(call_tx.eth_hash()),
        "transactionIndex": "0x0",
        "blockHash": h(built.blocks[2].hash()),
        "logIndex": "0x0",
        "removed": False,
    }
    assert by_eth["gasUsed"] == hex(built.blocks[2].header.gas_used) and by_eth["type"] == "0x0"
    tx = result(d, "eth_getTransactionByHash", h(call_tx.eth_hash()))
    assert tx["chainId"] == hex(ETH_CHAIN_ID) and tx["from"] == h(KEYS[3].address)
    assert result(d, "hmyv2_getTransactionByHash", h(call_tx.hash()))["ethHash"] == h(call_tx.eth_hash())
    assert result(d, "eth_getTransactionReceipt", h(b"\x01" * 32)) is None
    assert result(d, "eth_getTransactionByHash", h(b"\x01" * 32)) is None

    assert result(d, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"}) == [log]
    assert result(d, "eth_getLogs", {"fromBlock": "0x0", "address": h(CONTRACT), "topics": [h(TOPIC)]}) == [
        log
    ]
    assert result(d, "eth_getLogs", {"fromBlock": "0x0", "topics": [[h(TOPIC), h(b"\x02" * 32)]]}) == [log]
    assert result(d, "eth_getLogs", {"fromBlock": "0x0", "topics": [h(b"\x02" * 32)]}) == []
    assert result(d, "eth_getLogs", {"fromBlock": "0x0", "address": h(SINK)}) == []
    assert result(d, "eth_getLogs", {"blockHash": h(built.blocks[2].hash())}) == [log]
    assert result(d, "eth_getLogs", {"fromBlock": "0x3", "toBlock": "0x1"}) == []


def test_call_and_estimate(built: ChainFixture) -> None:
    d = built.dispatcher
    assert result(d, "eth_call", {"to": h(CONTRACT)}, "latest") == h((42).to_bytes(32, "big"))
    assert result(d, "hmyv2_call", {"to": to_bech32(CONTRACT)}, 2) == h(bytes(32))
    err = error(d, "eth_call", {"to": h(CONTRACT), "data": "0x01"}, "latest")
    assert err == {"code": 3, "message": "execution reverted: bad input", "data": h(REVERT_PAYLOAD)}
    assert error(d, "eth_estimateGas", {"to": h(CONTRACT), "data": "0x01"})["code"] == 3
    assert (
        result(d, "eth_estimateGas", {"from": h(KEYS[0].address), "to": h(SINK), "value": "0x1"}) == "0x5208"
    )
    args = {"from": h(KEYS[4].address), "to": h(CONTRACT), "data": h((7).to_bytes(32, "big"))}
    estimate = int(result(d, "eth_estimateGas", args), 16)
    # the estimate is the least gas that works: one less fails
    assert result(d, "eth_call", {**args, "gas": hex(estimate)}, "latest") == "0x"
    assert error(d, "eth_call", {**args, "gas": hex(estimate - 1)}, "latest")["code"] == -32000
    poor = {"from": h(b"\x07" * 20), "to": h(SINK), "value": "0x1"}
    assert error(d, "eth_call", poor, "latest")["code"] == -32000
    assert result(d, "hmy_estimateGas", args) == hex(estimate)


def test_pool_methods(built: ChainFixture) -> None:
    d = built.dispatcher
    tx = eth_tx(5, 0, SINK, 1)
    raw = tx.to_eth().encode()
    assert result(d, "eth_sendRawTransaction", h(raw)) == h(tx.eth_hash())
    assert result(d, "eth_getTransactionCount", h(KEYS[5].address), "pending") == "0x1"
    assert result(d, "eth_getTransactionCount", h(KEYS[5].address), "latest") == "0x0"
    pooled = result(d, "eth_getTransactionByHash", h(tx.eth_hash()))
    assert pooled["blockHash"] is None and pooled["from"] == h(KEYS[5].address)
    assert result(d, "hmyv2_getPoolStats") == {"executable-count": 1, "non-executable-count": 0}
    pending = result(d, "hmyv2_pendingTransactions")
    assert [p["ethHash"] for p in pending] == [h(tx.eth_hash())]
    again = error(d, "eth_sendRawTransaction", h(raw))
    assert again["code"] == -32000 and again["message"]
    assert error(d, "hmyv2_sendRawTransaction", "0xdeadbeef")["code"] == -32000
    sink = result(d, "hmyv2_getCurrentTransactionErrorSink")
    assert sink and {"tx-hash-id", "time-at-rejection", "error-message"} <= set(sink[-1])


def test_hmy_network_methods(built: ChainFixture) -> None:
    d = built.dispatcher
    assert result(d, "hmyv2_protocolVersion") == 1
    meta = result(d, "hmyv2_getNodeMetadata")
    assert meta["shard-id"] == SHARD and meta["chain-config"]["chain-id"] == GENESIS.params.chain_id
    structure = result(d, "hmyv2_getShardingStructure")
    assert [s["shardID"] for s in structure] == [0, 1] and structure[1]["current"] is True
    assert result(d, "hmyv2_inSync") is True
    peers = result(d, "hmy_getPeerInfo")
    assert peers == {"peerid": "", "blocked-peers": [], "connected-peers": []}
    assert result(d, "hmyv2_epochLastBlock", 0) == GENESIS.params.epoch_last_block(0)
    assert result(d, "hmyv2_isLastBlock", GENESIS.params.epoch_last_block(0)) is True
    assert result(d, "web3_clientVersion").startswith("Harmony")


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "code", "needle"),
    [
        ("eth_getBalance", ["one1notanaddress", "latest"], -32602, "0 (address)"),
        ("eth_getBalance", ["0x" + "zz" * 20, "latest"], -32602, "0 (address)"),
        ("eth_getBalance", [123, "latest"], -32602, "0 (address)"),
        ("eth_getBalance", [], -32602, "missing value for required argument 0"),
        ("eth_getBalance", ["0x" + "11" * 20, "latest", 1, 2], -32602, "too many arguments"),
        ("eth_getBalance", ["0x" + "11" * 20, "0x99"], -32000, "header not found"),
        ("eth_getBalance", ["0x" + "11" * 20, -5], -32602, "negative"),
        ("eth_getBalance", ["0x" + "11" * 20, "0x" + "f" * 65], -32602, "1 (block)"),
        ("eth_getBalance", ["0x" + "11" * 20, 2**70], -32602, "64 bits"),
        ("eth_getBalance", ["0x" + "11" * 20, 1.5], -32602, "1 (block)"),
        ("eth_getBlockByNumber", ["0x1", "yes"], -32602, "1 (options)"),
        ("eth_getBlockByHash", ["0x1234", False], -32602, "32 bytes"),
        ("eth_call", [{"to": "0x" + "11" * 20, "GAS": "x"}, "latest"], -32602, "(args).gas"),
        ("eth_call", [{"data": "0x" + "00" * (600 * 1024)}, "latest"], -32602, "longer than"),
        ("eth_sendRawTransaction", ["0x" + "00" * (200 * 1024)], -32602, "longer than"),
        ("eth_sendRawTransaction", ["nothex"], -32602, "0x prefix"),
        ("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest"}], -32005, "block range"),
        ("eth_getLogs", [{"topics": [1]}], -32602, "topics[0]"),
        ("eth_getLogs", ["x"], -32602, "filter object"),
        ("hmyv2_getBlocks", [0, 5000, {}], -32602, "at most 1024"),
        ("eth_nonexistent", [], -32601, "does not exist"),
        ("hmyv2_traceChain", [0], -32601, "does not exist"),
    ],
)
def test_bad_params(built: ChainFixture, method: str, params: list[Any], code: int, needle: str) -> None:
    # getLogs over a range larger than the cap needs the head to be that high: cap the dispatcher instead
    d = Dispatcher(built.backend, max_log_blocks=2)
    err = error(d, method, *params)
    assert err["code"] == code and needle in err["message"], err


def test_envelope_errors(built: ChainFixture) -> None:
    d = built.dispatcher
    parse = json.loads(d.handle(b"{not json") or b"")
    assert parse["error"]["code"] == -32700 and parse["id"] is None
    assert json.loads(d.handle(b"[]") or b"")["error"]["code"] == -32600
    assert json.loads(d.handle(b"42") or b"")["error"]["code"] == -32600
    assert json.loads(d.handle(b'{"jsonrpc":"2.0","id":1}') or b"")["error"]["code"] == -32600
    assert (
        json.loads(d.handle(b'{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}') or b"")["error"]["code"]
        == -32600
    )
    assert json.loads(d.handle(b'{"id":[1],"method":"eth_chainId"}') or b"")["error"]["code"] == -32600
    assert (
        json.loads(d.handle(b'{"id":1,"method":"eth_chainId","params":5}') or b"")["error"]["code"] == -32600
    )
    named = json.loads(d.handle(b'{"id":1,"method":"eth_getBalance","params":{"a":1}}') or b"")
    assert named["error"]["code"] == -32602
    assert d.handle(b'{"jsonrpc":"2.0","method":"eth_chainId"}') is None  # notification
    assert json.loads(d.handle(b"NaN") or b"")["error"]["code"] == -32700
    deep = b"[" * 100_000 + b"]" * 100_000
    assert json.loads(d.handle(deep) or b"")["error"]["code"] == -32700
    huge_int = b'{"id":1,"method":"eth_getBalance","params":["0x' + b"11" * 20 + b'", ' + b"9" * 5000 + b"]}"
    assert json.loads(d.handle(huge_int) or b"")["error"]["code"] == -32700
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber"} for i in range(3)]
    batch.append({"jsonrpc": "2.0", "method": "eth_blockNumber"})
    batch.append({"jsonrpc": "2.0", "id": 9, "method": "nope"})
    answers = json.loads(d.handle(json.dumps(batch)) or b"")
    assert [a["id"] for a in answers] == [0, 1, 2, 9] and answers[-1]["error"]["code"] == -32601
    too_many = json.dumps([{"id": i, "method": "eth_blockNumber"} for i in range(101)])
    assert json.loads(d.handle(too_many) or b"")["error"]["code"] == -32600
    assert d.handle(json.dumps([{"method": "eth_blockNumber"}])) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
METHODS = sorted(
    m
    for m in Dispatcher.__init__.__globals__["build_method_table"]()
    if "sendRaw" not in m and "estimate" not in m
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(METHODS) | st.text(max_size=30), params=json_values, request_id=json_values)
def test_fuzz_always_answers(built: ChainFixture, method: str, params: Any, request_id: Any) -> None:
    request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    raw = built.dispatcher.handle(json.dumps(request))
    assert raw is not None
    response = json.loads(raw)
    assert response["jsonrpc"] == "2.0"
    assert ("result" in response) != ("error" in response)
    if "error" in response:
        assert isinstance(response["error"]["code"], int) and isinstance(response["error"]["message"], str)
        assert response["error"]["code"] != -32603, response


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_raw_bodies(built: ChainFixture, body: bytes) -> None:
    raw = built.dispatcher.handle(body)
    if raw is not None:
        response = json.loads(raw)
        assert isinstance(response, (dict, list))


def test_header_rlp_hex_decodes_to_the_block_header(built: ChainFixture) -> None:
    from harmony.types.header import Header  # noqa: PLC0415

    raw = result(built.dispatcher, "hmyv2_getHeaderByNumberRLPHex", 2)
    assert Header.decode(bytes.fromhex(raw)).hash() == built.blocks[1].hash()
    assert error(built.dispatcher, "hmyv2_getHeaderByNumberRLPHex", 999)["message"] == "header not found"


def _json_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_json_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_json_depth(v) for v in value.values()), default=0)
    return 0


_BRACKETY_TEXT = st.text(alphabet='[]{}"\\ab\n\u00e9', max_size=12)
_NESTED_JSON = st.recursive(
    st.none() | st.integers() | _BRACKETY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_BRACKETY_TEXT, inner, max_size=3),
    max_leaves=200,
)


@given(value=_NESTED_JSON, indent=st.sampled_from([None, 1]), ascii_only=st.booleans())
@settings(max_examples=400, deadline=None)
def test_the_depth_bound_counts_the_brackets_outside_strings_only(
    value: object, indent: int | None, ascii_only: bool
) -> None:
    """Strings full of brackets, quotes and backslashes (escaped every way json writes them) do not count;
    the value's own nesting does, exactly."""

    wrapped: object = value
    for _ in range(MAX_JSON_DEPTH - 6):  # past the cheap count, so that the scan itself runs
        wrapped = [wrapped]
    body = json.dumps(wrapped, indent=indent, ensure_ascii=ascii_only).encode()
    if _json_depth(wrapped) > MAX_JSON_DEPTH:
        with pytest.raises(ValueError, match="nested deeper"):
            check_depth(body)
    else:
        check_depth(body)
