"""``getTransactionsHistory``, ``getStakingTransactionsHistory``, ``getTransactionsCount`` and
``getStakingTransactionsCount`` in hmy_ and hmyv2_ (reference §9.2; Go ``rpc/harmony/transaction.go``) over
the chain database's address index, with hostile parameters refused by typed errors naming them."""

from __future__ import annotations

from typing import Any

import pytest

from harmony.encoding.address import to_bech32, to_checksum_hex
from harmony.node.blockchain import Blockchain
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.rpc.errors import INVALID_PARAMS, SERVER_ERROR
from harmony.rpc.formats import StakingInBlock, Style, staking_transaction_json
from harmony.storage.chaindb import ChainDB
from harmony.types.staking import Delegate, StakingTransaction
from tests.unit.rpc.conftest import CONTRACT, GENESIS, KEYS, SHARD, SINK, ChainFixture
from tests.unit.rpc.test_dispatch import error, h, result


def _args(account: bytes, **extra: Any) -> dict[str, Any]:
    return {"address": to_bech32(account), **extra}


def test_history_hashes_in_order(built: ChainFixture) -> None:
    d = built.dispatcher
    b1, b2, b3 = built.blocks
    t0, t1 = (h(tx.hash()) for tx in b1.transactions)
    created = h(b2.transactions[0].hash())
    called = h(b3.transactions[0].hash())
    key1 = KEYS[1].address
    for prefix in ("hmy", "hmyv2"):
        method = f"{prefix}_getTransactionsHistory"
        assert result(d, method, _args(key1)) == {"transactions": [t0, t1]}
        assert result(d, method, _args(key1, order="DESC")) == {"transactions": [t1, t0]}
        assert result(d, method, _args(key1, txType="SENT")) == {"transactions": [t1]}
        assert result(d, method, _args(key1, txType="RECEIVED")) == {"transactions": [t0]}
        assert result(d, method, _args(key1, pageSize=1, pageIndex=1)) == {"transactions": [t1]}
        assert result(d, method, _args(key1, pageSize=1, pageIndex=2)) == {"transactions": []}
        assert result(d, method, _args(KEYS[2].address)) == {"transactions": [created]}
        assert result(d, method, _args(CONTRACT, txType="RECEIVED")) == {"transactions": [called]}
        # a 0x address names the same account; an unknown one has no history
        hex_args = {"address": to_checksum_hex(SINK), "pageIndex": 0, "pageSize": 1000}
        assert result(d, method, hex_args) == {"transactions": [t1]}
        assert result(d, method, _args(b"\x42" * 20)) == {"transactions": []}
        assert result(d, method, _args(key1, pageIndex=2**32 - 1, pageSize=1000)) == {"transactions": []}


def test_history_full_transactions_match_get_transaction_by_hash(built: ChainFixture) -> None:
    d = built.dispatcher
    key1 = KEYS[1].address
    for prefix in ("hmy", "hmyv2"):
        full = result(d, f"{prefix}_getTransactionsHistory", _args(key1, fullTx=True, order="DESC"))
        expected = [
            result(d, f"{prefix}_getTransactionByHash", h(tx.hash()))
            for tx in reversed(built.blocks[0].transactions)
        ]
        assert full == {"transactions": expected}
    v2 = result(d, "hmyv2_getTransactionsHistory", _args(key1, fullTx=True))["transactions"]
    assert v2[0]["blockNumber"] == 1 and v2[0]["from"] == to_bech32(KEYS[0].address)


def test_counts(built: ChainFixture) -> None:
    d = built.dispatcher
    key1 = KEYS[1].address
    for prefix in ("hmy", "hmyv2"):
        count = f"{prefix}_getTransactionsCount"
        assert result(d, count, to_bech32(key1), "ALL") == 2
        assert result(d, count, to_bech32(key1), "SENT") == 1
        assert result(d, count, to_checksum_hex(key1), "RECEIVED") == 1
        assert result(d, count, to_bech32(key1)) == 2  # txType defaults to ALL
        assert result(d, count, to_bech32(SINK), "SENT") == 0
        staking = f"{prefix}_getStakingTransactionsCount"
        assert result(d, staking, to_bech32(key1), "ALL") == 0
        assert result(d, f"{prefix}_getStakingTransactionsHistory", _args(key1)) == {
            "staking_transactions": []
        }
        full = result(d, f"{prefix}_getStakingTransactionsHistory", _args(key1, fullTx=True))
        assert full == {"staking_transactions": []}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"address": "one1notanaddress"}, "address"),
        ({"address": "0x1234"}, "address"),
        ({"address": 5}, "address"),
        ({"pageIndex": 0}, "address"),
        ({"address": to_bech32(SINK), "pageSize": 1001}, "pageSize"),
        ({"address": to_bech32(SINK), "pageSize": 2**40}, "pageSize"),
        ({"address": to_bech32(SINK), "pageSize": -1}, "pageSize"),
        ({"address": to_bech32(SINK), "pageIndex": -5}, "pageIndex"),
        ({"address": to_bech32(SINK), "pageIndex": 2**32}, "pageIndex"),
        ({"address": to_bech32(SINK), "pageIndex": "ten"}, "pageIndex"),
        ({"address": to_bech32(SINK), "txType": "BOTH"}, "txType"),
        ({"address": to_bech32(SINK), "txType": 1}, "txType"),
        ({"address": to_bech32(SINK), "order": "SIDEWAYS"}, "order"),
        ({"address": to_bech32(SINK), "fullTx": "yes"}, "fullTx"),
        ("one1", "args"),
        ([to_bech32(SINK)], "args"),
    ],
)
def test_history_bad_params(built: ChainFixture, args: object, named: str) -> None:
    for method in ("hmyv2_getTransactionsHistory", "hmy_getStakingTransactionsHistory"):
        err = error(built.dispatcher, method, args)
        assert err["code"] == INVALID_PARAMS and named in err["message"], err


def test_count_bad_params(built: ChainFixture) -> None:
    d = built.dispatcher
    for method in ("hmyv2_getTransactionsCount", "hmy_getStakingTransactionsCount"):
        err = error(d, method, "one1bad", "ALL")
        assert err["code"] == INVALID_PARAMS and "address" in err["message"]
        err = error(d, method, to_bech32(SINK), "SOME")
        assert err["code"] == INVALID_PARAMS and "txType" in err["message"]
        err = error(d, method, to_bech32(SINK), "ALL", "extra")
        assert err["code"] == INVALID_PARAMS
    err = error(d, "hmyv2_getTransactionsHistory", _args(SINK), {"second": 1})
    assert err["code"] == INVALID_PARAMS


def test_a_node_without_history_says_how_to_keep_it(built: ChainFixture) -> None:
    """A validator keeps no address index by default (``[storage] tx_history``): the four methods answer
    with a server error that names the setting, and the rest of the RPC is unchanged."""
    chain = Blockchain.open(ChainDB(built.chain.db.kv, tx_history=False), GENESIS, SHARD)
    d = Dispatcher(RPCBackend(chain, built.pool))
    for prefix in ("hmy", "hmyv2"):
        for method, params in (
            ("getTransactionsHistory", (_args(SINK),)),
            ("getStakingTransactionsHistory", (_args(SINK),)),
            ("getTransactionsCount", (to_bech32(SINK), "ALL")),
            ("getStakingTransactionsCount", (to_bech32(SINK), "SENT")),
        ):
            err = error(d, f"{prefix}_{method}", *params)
            assert err["code"] == SERVER_ERROR and "tx_history = true" in err["message"], err
    tx = built.blocks[0].transactions[0]
    assert result(d, "hmyv2_getTransactionByHash", h(tx.hash()))["hash"] == h(tx.hash())


def test_staking_transaction_shape() -> None:
    validator = KEYS[1].address
    stx = StakingTransaction(Delegate(KEYS[0].address, validator, 7), 3, 10**9, 30_000).sign(KEYS[0], 2)
    item = StakingInBlock(stx, KEYS[0].address, b"\x11" * 32, 9, 0, 1234)
    v2 = staking_transaction_json(Style.V2, item)
    assert v2["type"] == "Delegate" and v2["blockNumber"] == 9 and v2["nonce"] == 3
    assert v2["from"] == to_bech32(KEYS[0].address) and v2["hash"] == h(stx.hash())
    assert v2["msg"] == {
        "delegatorAddress": to_bech32(KEYS[0].address),
        "validatorAddress": to_bech32(validator),
        "amount": 7,
    }
    assert staking_transaction_json(Style.V1, item)["blockNumber"] == "0x9"
