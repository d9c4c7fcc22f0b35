"""The RPC refusal outside a fence (issue 21) on a real shard-1 chain in LMDB whose genesis fences shard 1
to ``EU``: a node outside the fence refuses every request for the shard's data (blocks, transactions,
receipts, logs, state, calls, traces), whatever its parameters, with a typed error naming the
jurisdiction; it still answers what reveals no data; a node inside the fence answers everything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from harmony.chain.fences import Fence
from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.rpc.errors import METHOD_NOT_FOUND
from harmony.rpc.fence_refusal import FENCED_ERROR, OPEN_METHODS, fence_refusal
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from tests.unit.rpc.test_dispatch import call, error, result

_PLAIN = make_localnet_genesis(accounts=2, timestamp=1_000)
GENESIS = replace(
    _PLAIN,
    shards=(_PLAIN.shards[0], replace(_PLAIN.shards[1], fence="EU")),
    fences=(Fence("EU", (dev_account_key(9).address,)),),
)
ZERO_HASH = "0x" + "00" * 32
ADDRESS = "0x" + dev_account_key(0).address.hex()

DATA_REQUESTS: list[tuple[str, list[Any]]] = [
    ("eth_getBlockByNumber", ["0x0", False]),
    ("hmyv2_getBlockByNumber", [0, {"fullTx": True}]),
    ("hmy_getBlocks", ["0x0", "0x0", {}]),
    ("eth_getTransactionByHash", [ZERO_HASH]),
    ("eth_getTransactionReceipt", [ZERO_HASH]),
    ("hmyv2_getTransactionsHistory", [{"address": ADDRESS}]),
    ("eth_getBalance", [ADDRESS, "latest"]),
    ("eth_getStorageAt", [ADDRESS, "0x0", "latest"]),
    ("eth_getCode", [ADDRESS, "latest"]),
    ("eth_getProof", [ADDRESS, [], "latest"]),
    ("eth_getLogs", [{"fromBlock": "0x0"}]),
    ("eth_call", [{"to": ADDRESS}, "latest"]),
    ("hmyv2_getFullHeader", [0]),
    ("hmy_getCXReceiptByHash", [ZERO_HASH]),
    ("debug_traceTransaction", [ZERO_HASH]),
    ("eth_sendRawTransaction", ["0x00"]),
    ("hmyv2_pendingTransactions", []),
]
BAD_PARAMS: list[list[Any]] = [[], ["0x" + "zz" * 40], [None, None, None], [{"a": [1] * 50}], ["x" * 10_000]]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Blockchain]:
    store = LMDBStore(tmp_path_factory.mktemp("fenced-shard") / "db")
    chain = Blockchain.open(ChainDB(store), GENESIS, 1)
    yield chain
    store.close()


def _dispatcher(chain: Blockchain, inside: bool | None) -> Dispatcher:
    pool = TxPool(LOCALNET, 1, WorldStateReader(chain.state()))
    return Dispatcher(RPCBackend(chain, pool, inside_fence=None if inside is None else lambda: inside))


@pytest.mark.parametrize(("method", "params"), DATA_REQUESTS)
@pytest.mark.parametrize("inside", [False, None])
def test_an_outside_node_refuses_the_shards_data(
    chain: Blockchain, method: str, params: list[Any], inside: bool | None
) -> None:
    err = error(_dispatcher(chain, inside), method, *params)
    assert err["code"] == FENCED_ERROR
    assert "fenced to jurisdiction EU" in err["message"] and "shard 1" in err["message"]
    assert err["data"] == {"shardID": 1, "jurisdiction": "EU"}


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_bad_parameters_get_the_same_refusal(chain: Blockchain, params: list[Any]) -> None:
    d = _dispatcher(chain, False)
    for method in ("eth_getBlockByHash", "hmyv2_getTransactionReceipt", "eth_getBalance"):
        assert error(d, method, *params)["code"] == FENCED_ERROR


def test_bad_method_names_are_not_found_before_the_fence(chain: Blockchain) -> None:
    d = _dispatcher(chain, False)
    for method in ("getBlockByNumber", "eth_", "_getFences", "eth_getBlockByNumber\x00", "x" * 120):
        assert error(d, method)["code"] == METHOD_NOT_FOUND
    # a batch: each request is judged alone
    raw = d.handle(
        json.dumps(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
                {"jsonrpc": "2.0", "id": 2, "method": "eth_getBlockByNumber", "params": ["0x0", False]},
            ]
        )
    )
    assert raw is not None
    first, second = json.loads(raw)
    assert first["result"] == "0x0" and second["error"]["code"] == FENCED_ERROR


def test_what_reveals_no_data_is_still_answered(chain: Blockchain) -> None:
    d = _dispatcher(chain, False)
    assert result(d, "eth_blockNumber") == "0x0"
    assert result(d, "hmyv2_getFences")["shardFences"] == [None, "EU"]
    assert result(d, "net_version") is not None
    assert result(d, "hmyv2_getShardID") == 1
    assert "error" not in call(d, "eth_chainId")


def test_a_node_inside_the_fence_answers(chain: Blockchain) -> None:
    d = _dispatcher(chain, True)
    block = result(d, "eth_getBlockByNumber", "0x0", False)
    assert block["number"] == "0x0"
    assert int(result(d, "eth_getBalance", ADDRESS, "latest"), 16) >= 0


def test_the_rule_alone() -> None:
    assert fence_refusal("eth_getBlockByNumber", 1, None, False) is None  # unfenced shard
    assert fence_refusal("eth_getBlockByNumber", 1, "EU", True) is None  # inside
    refused = fence_refusal("eth_getBlockByNumber", 1, "EU", False)
    assert refused is not None and refused.code == FENCED_ERROR
    for name in OPEN_METHODS:
        assert fence_refusal(f"hmyv2_{name}", 1, "EU", False) is None
    # a name that is open only after another prefix is still judged by what follows the first "_"
    assert fence_refusal("eth_blockNumber_getBlockByNumber", 1, "EU", False) is not None
