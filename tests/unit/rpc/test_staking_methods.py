"""The staking RPC group on a non-beacon node (the shard-1 chain of the RPC fixture): committee reads work,
beacon-only reads and staking submissions answer a clear error; bad parameters get -32602."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.rpc.conftest import GENESIS, SHARD, ChainFixture
from tests.unit.rpc.test_dispatch import error, result


def test_committee_reads(built: ChainFixture) -> None:
    d = built.dispatcher
    committee = GENESIS.shard_state().committee(SHARD)
    keys = [k.hex() for k in committee.bls_public_keys()]  # bare hex, as Go
    assert result(d, "hmyv2_getValidatorKeys", 0) == keys
    validators = result(d, "hmyv2_getValidators", 0)
    assert validators["shardID"] == SHARD and len(validators["validators"]) == len(keys)
    supers = result(d, "hmyv2_getSuperCommittees")
    assert supers["previous"] is None and supers["current"]["epoch"] == 0
    deciders = supers["current"]["quorum-deciders"]
    assert set(deciders) == {"shard-0", "shard-1"}
    members = deciders["shard-1"]["committee-members"]
    assert [m["bls-public-key"] for m in members] == keys and all(m["is-harmony-slot"] for m in members)
    assert deciders["shard-1"]["external-validator-slot-count"] == 0
    assert result(d, "hmyv2_getElectedValidatorAddresses") == []
    assert error(d, "hmyv2_getValidatorKeys", 99)["message"] == "no committee stored for epoch 99"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("hmyv2_getAllValidatorAddresses", []),
        ("hmyv2_getValidatorInformation", ["0x" + "11" * 20]),
        ("hmyv2_getDelegationsByDelegator", ["0x" + "11" * 20]),
        ("hmyv2_getTotalStaking", []),
        ("hmyv2_sendRawStakingTransaction", ["0x1234"]),
    ],
)
def test_beacon_only_methods_say_where_to_go(built: ChainFixture, method: str, params: list[Any]) -> None:
    err = error(built.dispatcher, method, *params)
    assert err["code"] == -32000 and "shard 0" in err["message"]


def test_pool_reads_without_a_staking_pool(built: ChainFixture) -> None:
    d = built.dispatcher
    assert result(d, "hmyv2_pendingStakingTransactions") == []
    assert result(d, "hmyv2_getCurrentStakingErrorSink") == []
    assert result(d, "hmyv2_getStakingTransactionByHash", "0x" + "00" * 32) is None
    assert result(d, "hmyv2_getBlockStakingTransactionCountByNumber", 1) == 0
    assert result(d, "hmyv2_getStakingTransactionByBlockNumberAndIndex", 1, 0) is None


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("hmyv2_getValidatorInformation", ["not an address"]),
        ("hmyv2_getValidatorKeys", [-1]),
        ("hmyv2_getValidatorKeys", ["x"]),
        ("hmyv2_getAllValidatorInformation", [True]),
        ("hmyv2_sendRawStakingTransaction", ["zz"]),
        ("hmyv2_sendRawStakingTransaction", ["0x" + "00" * (70 * 1024)]),
        ("hmyv2_getStakingTransactionByHash", ["0x12"]),
    ],
)
def test_bad_parameters(built: ChainFixture, method: str, params: list[Any]) -> None:
    assert error(built.dispatcher, method, *params)["code"] == -32602


def test_supply_and_network_info_are_beacon_matters(built: ChainFixture) -> None:
    d = built.dispatcher
    for method in (
        "hmyv2_getTotalSupply",
        "hmyv2_getCirculatingSupply",
        "hmyv2_getStakingNetworkInfo",
        "hmyv2_getMedianRawStakeSnapshot",
    ):
        assert "shard 0" in error(d, method)["message"]
