"""``debug_traceTransaction`` and ``debug_traceBlockBy*``: a stored block replayed from its parent's state
in real LMDB, compared with ``debug_traceCall`` at that state; a pruned parent state and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.storage import prune
from harmony.storage.chaindb import ChainDB
from harmony.types.block import Block
from tests.unit.rpc.conftest import CONTRACT, GENESIS, KEYS, SHARD, _next, build_chain, eth_tx, harmony_tx
from tests.unit.rpc.test_dispatch import error, h, result

C = h(CONTRACT)
STORE_77 = (77).to_bytes(32, "big")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dispatcher, list[Block], Path]]:
    """The RPC fixture's chain and a fourth block: a call storing 77, then a read of slot 0 (which only
    sees 77 when the first call is replayed before it) and a plain transfer."""
    path = tmp_path_factory.mktemp("replay") / "db"
    store, chain, blocks = build_chain(path)
    blocks.append(
        _next(
            chain,
            [
                harmony_tx(4, 0, CONTRACT, 0, STORE_77, gas=100_000),
                harmony_tx(5, 0, CONTRACT, 0, b"", gas=60_000),
                harmony_tx(0, 1, KEYS[1].address, 3),
            ],
        )
    )
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(chain.state()))
    yield Dispatcher(RPCBackend(chain, pool)), blocks, path
    store.close()


def _as_call(tx_index: int, block: Block, key_index: int) -> dict[str, Any]:
    tx = block.transactions[tx_index]
    return {
        "from": h(KEYS[key_index].address),
        "to": h(tx.to or b""),
        "data": h(tx.data),
        "gas": hex(tx.gas),
        "gasPrice": hex(tx.gas_price),
    }


@pytest.mark.parametrize("options", [{}, {"tracer": "callTracer"}, {"enableMemory": True}])
def test_a_transaction_traces_as_the_same_call_at_its_parent_state(
    replayed: tuple[Dispatcher, list[Block], Path], options: dict[str, Any]
) -> None:
    d, blocks, _ = replayed
    block = blocks[2]  # key 3's call storing 42, alone in block 3
    tx = block.transactions[0]
    traced = result(d, "debug_traceTransaction", h(tx.hash()), options)
    parent = block.header.number - 1
    assert traced == result(d, "debug_traceCall", _as_call(0, block, 3), hex(parent), options)
    if options.get("tracer") is None:
        assert traced["failed"] is False and any(s["op"] == "SSTORE" for s in traced["structLogs"])


def test_earlier_transactions_of_the_block_run_first(replayed: tuple[Dispatcher, list[Block], Path]) -> None:
    d, blocks, _ = replayed
    block = blocks[3]
    read = result(d, "debug_traceTransaction", h(block.transactions[1].hash()))
    assert read["returnValue"] == STORE_77.hex()  # the first call of the block stored 77 before it
    at_parent = result(d, "debug_traceCall", _as_call(1, block, 5), hex(block.header.number - 1))
    assert at_parent["returnValue"] == (42).to_bytes(32, "big").hex()
    transfer = result(d, "debug_traceTransaction", h(block.transactions[2].hash()), {"tracer": "callTracer"})
    assert transfer["type"] == "CALL" and transfer["value"] == "0x3" and transfer["gasUsed"] == hex(21_000)

    whole = result(d, "debug_traceBlockByNumber", hex(block.header.number))
    assert [entry["result"] for entry in whole] == [
        result(d, "debug_traceTransaction", h(tx.hash())) for tx in block.transactions
    ]
    assert result(d, "debug_traceBlockByHash", h(block.hash()), {"tracer": "callTracer"}) == [
        {"result": result(d, "debug_traceTransaction", h(tx.hash()), {"tracer": "callTracer"})}
        for tx in block.transactions
    ]
    assert (
        result(d, "debug_traceBlockByNumber", "0x1", {"tracer": "callTracer"})[0]["result"]["value"] == "0x5"
    )


def test_the_bounds_cover_the_replay(
    replayed: tuple[Dispatcher, list[Block], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    d, blocks, _ = replayed
    monkeypatch.setattr("harmony.rpc.tracing.MAX_TRACE_STEPS", 5)
    stopped = error(d, "debug_traceTransaction", h(blocks[3].transactions[0].hash()))
    assert stopped == {"code": -32000, "message": "trace stopped: more than 5 steps"}
    whole = error(d, "debug_traceBlockByNumber", hex(blocks[3].header.number))
    assert whole["message"].startswith("trace stopped: more than 5 steps; trace the transactions one at")


@pytest.mark.parametrize(
    ("params", "code", "needle"),
    [
        (["0x" + "ab" * 32], -32000, "not found"),
        (["0x1234"], -32602, "a hash is 32 bytes"),
        (["nothex" * 11], -32602, "0 (hash)"),
        ([None], -32602, "missing value for required argument 0 (hash)"),
        ([7], -32602, "0 (hash)"),
        (["0x" + "ab" * 32, {"tracer": "x" * 100_000}], -32602, "is not served"),
        (["0x" + "ab" * 32, {"timeout": "9" * 1000 + "s"}], -32602, "1 (options).timeout"),
        (["0x" + "ab" * 32, {"tracerConfig": {"onlyTopCall": "yes"}}], -32602, "onlyTopCall"),
        (["0x" + "ab" * 32, "callTracer"], -32602, "a trace options object"),
    ],
)
def test_bad_input_gets_typed_errors(
    replayed: tuple[Dispatcher, list[Block], Path], params: list[Any], code: int, needle: str
) -> None:
    d, _, _ = replayed
    refused = error(d, "debug_traceTransaction", *params)
    assert refused["code"] == code and needle in refused["message"], refused


def test_overrides_are_not_fields_of_a_transaction_trace(
    replayed: tuple[Dispatcher, list[Block], Path],
) -> None:
    d, blocks, _ = replayed
    tx = blocks[2].transactions[0]
    options = {"stateOverrides": {C: {"stateDiff": "not even an object of slots"}}, "blockOverrides": 5}
    assert result(d, "debug_traceTransaction", h(tx.hash()), options) == result(
        d, "debug_traceTransaction", h(tx.hash())
    )


def test_bad_blocks_to_trace(replayed: tuple[Dispatcher, list[Block], Path]) -> None:
    d, _, _ = replayed
    assert error(d, "debug_traceBlockByNumber", "0x99")["message"] == "block not found"
    assert error(d, "debug_traceBlockByNumber", "0x0")["message"] == "genesis is not traceable"
    assert error(d, "debug_traceBlockByHash", "0x" + "00" * 32)["message"] == "block not found"
    assert error(d, "debug_traceBlockByHash", "latest")["code"] == -32602
    assert error(d, "debug_traceBlockByNumber", "0x" + "00" * 32)["code"] == -32000
    assert error(d, "debug_traceBlockByNumber", {"blockNumber": "x"})["code"] == -32602


def test_a_pruned_parent_state_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, chain, blocks = build_chain(tmp_path / "db")
    try:
        _next(chain, [eth_tx(3, 1, CONTRACT, 0, b"", gas=60_000)])
        monkeypatch.setattr(prune, "KEEP_RECENT", 1)
        assert prune.Pruner(chain.db).run().deleted > 0
        reopened = Blockchain.open(ChainDB(store), GENESIS, SHARD)  # no node cached from before the prune
        d = Dispatcher(RPCBackend(reopened, TxPool(LOCALNET, SHARD, WorldStateReader(reopened.state()))))
        refused = error(d, "debug_traceTransaction", h(blocks[2].transactions[0].hash()))
        assert refused["code"] == -32000
        assert "state for block 2 is pruned" in refused["message"] and "--archive" in refused["message"]
        head = reopened.head.number
        assert (
            f"state for block {head - 1} is pruned"
            in error(d, "debug_traceBlockByNumber", hex(head))["message"]
        )
    finally:
        store.close()
