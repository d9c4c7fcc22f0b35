"""A legacy-priced chain for Ethereum wallets: typed transactions refused with a clear error, fee answers
that lead ethers.js and MetaMask-style wallets to legacy pricing, and bad fee-history input."""

from __future__ import annotations

import pytest
from eth_account import Account

from tests.unit.rpc.conftest import ETH_CHAIN_ID, KEYS, ChainFixture
from tests.unit.rpc.test_dispatch import error, result


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}, "0x02 (EIP-1559 dynamic-fee)"),
        ({"gasPrice": 10**9, "accessList": []}, "0x01 (EIP-2930 access-list)"),
    ],
)
def test_typed_transactions_are_refused_saying_legacy(
    built: ChainFixture, fields: dict[str, object], kind: str
) -> None:
    tx = {"to": "0x" + "22" * 20, "value": 1, "gas": 21_000, "nonce": 0, "chainId": ETH_CHAIN_ID, **fields}
    raw = Account.sign_transaction(tx, KEYS[5].secret).raw_transaction
    refused = error(built.dispatcher, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
    assert refused["code"] == -32000
    assert kind in refused["message"] and "legacy transactions only" in refused["message"]


def test_fee_answers_lead_to_legacy_pricing(built: ChainFixture) -> None:
    d = built.dispatcher
    assert "baseFeePerGas" not in result(d, "eth_getBlockByNumber", "latest", False)
    assert result(d, "eth_maxPriorityFeePerGas") == "0x0"
    history = result(d, "eth_feeHistory", "0x2", "latest", [25, 75])
    head = built.blocks[-1].header
    assert history["oldestBlock"] == hex(head.number - 1)
    assert history["baseFeePerGas"] == ["0x0"] * 3
    assert history["gasUsedRatio"][-1] == head.gas_used / head.gas_limit
    assert history["reward"] == [[hex(built.chain.params.min_gas_price)] * 2] * 2
    assert "reward" not in result(d, "eth_feeHistory", 1, "latest")
    assert result(d, "eth_feeHistory", "0x0", "latest")["gasUsedRatio"] == []


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        (["0x2", "latest", [75, 25]], "ascending"),
        (["0x2", "latest", [101]], "0 to 100"),
        (["0x2", "latest", "25"], "rewardPercentiles"),
        (["0x2", "latest", [True]], "0 to 100"),
        (["0x100000", "latest"], "blockCount"),
        (["0x2", "nope"], "newestBlock"),
    ],
)
def test_fee_history_bad_input(built: ChainFixture, params: list[object], needle: str) -> None:
    refused = error(built.dispatcher, "eth_feeHistory", *params)
    assert refused["code"] == -32602 and needle in refused["message"], refused
    assert error(built.dispatcher, "eth_feeHistory", "0x1", "0x999")["code"] == -32000
