"""The staking RPC group on a real beacon chain in LMDB: a validator created and delegated to by staking
transactions, elected at the end of epoch 0, paid block rewards in epoch 1 by the parent-commit bitmaps,
then read back with Harmony's shapes: validator information, delegations, committees, supply, the median
stake snapshot and the staking network info; the staking pool over RPC, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET, ONE
from harmony.chain.proposal import HeaderFields
from harmony.chain.randomness import make_header_vrf
from harmony.chain.staking.supply import minted_total
from harmony.chain.staking.transactions import StakingContext, apply_staking_message
from harmony.chain.transition import BlockBody
from harmony.crypto.bitmap import encode_bitmap
from harmony.encoding.address import to_bech32
from harmony.encoding.fixed import Dec
from harmony.node.blockchain import Blockchain
from harmony.node.staking_pool import StakingPool
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.staking import Delegate, StakingTransaction
from tests.unit.chain.staking.test_transactions import create_msg, pub
from tests.unit.rpc.harmony_recorded import DELEGATION, VALIDATOR_INFORMATION, shape_differences
from tests.unit.rpc.test_dispatch import error, result

GENESIS = make_localnet_genesis(accounts=4, timestamp=1_000)
GWEI = 10**9
VKEY, DKEY = dev_account_key(0), dev_account_key(1)
V, D = VKEY.address, DKEY.address
SIG = b"\x00" * 96


def _stx(key: object, nonce: int, msg: object, gas: int = 100_000) -> StakingTransaction:
    return StakingTransaction(msg, nonce, GWEI, gas).sign(key, LOCALNET.chain_id)  # type: ignore[arg-type]


class Beacon:
    def __init__(self, path: Path) -> None:
        self.store = LMDBStore(path)
        self.chain = Blockchain.open(ChainDB(self.store), GENESIS, 0)

    def step(self, staking: list[StakingTransaction] | None = None) -> None:
        chain = self.chain
        head = chain.head
        committee = chain.committee_for(0, head.epoch)
        assert committee is not None
        last = (
            None
            if head.number == 0
            else (SIG, encode_bitmap(range(len(committee.slots)), len(committee.slots)))
        )
        leader = dev_bls_key(0, 0)
        fields = HeaderFields(
            committee.address_for_bls_key(leader.public_key.to_bytes()),
            head.time + 2,
            last_commit=last,
            vrf=make_header_vrf(leader, head.hash()),
        )
        built, verified = chain.propose_verified(fields, BlockBody((), staking or []))
        assert not built.skipped_staking, built.skipped_staking
        chain.verify(built.block)
        chain.store(verified, commit_sig=(SIG, encode_bitmap([0, 1, 2], len(committee.slots))))


@pytest.fixture(scope="module")
def beacon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Beacon, Dispatcher, RPCBackend]]:
    b = Beacon(tmp_path_factory.mktemp("beacon") / "db")
    b.step([_stx(VKEY, 0, create_msg(V, (1, 0)), gas=6_000_000)])
    b.step([_stx(DKEY, 0, Delegate(D, V, 500 * ONE))])
    while b.chain.head.number < LOCALNET.epoch_last_block(0) + 6:
        b.step()
    pool = TxPool(LOCALNET, 0, WorldStateReader(b.chain.state()))
    head = b.chain.head
    ctx = StakingContext(LOCALNET, head.epoch, head.number + 1)

    def check(tx: StakingTransaction, sender: bytes) -> None:
        apply_staking_message(b.chain.state(), tx.msg, ctx)

    staking_pool = StakingPool(LOCALNET, 0, b.chain.accounts(), check=check)
    backend = RPCBackend(b.chain, pool, staking_pool=staking_pool)
    yield b, Dispatcher(backend), backend
    b.store.close()


def test_validator_information_shape(beacon: tuple[Beacon, Dispatcher, RPCBackend]) -> None:
    _b, d, _ = beacon
    assert result(d, "hmyv2_getAllValidatorAddresses") == [to_bech32(V)]
    assert result(d, "hmyv2_getElectedValidatorAddresses") == [to_bech32(V)]
    info = result(d, "hmyv2_getValidatorInformation", to_bech32(V))
    validator = info["validator"]
    assert validator["address"] == to_bech32(V) and validator["bls-public-keys"] == [
        pub(1).hex(),
        pub(0).hex(),
    ]
    assert validator["min-self-delegation"] == 10_000 * ONE and validator["rate"].startswith("0.1")
    assert [x["delegator-address"] for x in validator["delegations"]] == [to_bech32(V), to_bech32(D)]
    assert info["total-delegation"] == 20_500 * ONE
    assert info["currently-in-committee"] is True and info["epos-status"] == "currently elected"
    assert info["active-status"] == "active" and info["booted-status"] is None
    performance = info["current-epoch-performance"]["current-epoch-signing-percent"]
    assert performance["current-epoch-signed"] == performance["current-epoch-to-sign"] > 0
    assert performance["current-epoch-signing-percentage"] == "1.000000000000000000"
    signed = result(d, "hmyv2_getSignedBlocks", to_bech32(V))
    assert signed == performance["current-epoch-signed"]
    assert result(d, "hmy_getSignedBlocks", to_bech32(V)) == hex(signed)
    assert error(d, "hmyv2_getSignedBlocks", "0x" + "12" * 20)["code"] == -32000  # not a validator
    everyone = result(d, "hmyv2_getAllDelegationInformation", 0)
    assert everyone == [result(d, "hmyv2_getDelegationsByValidator", to_bech32(V))]
    assert result(d, "hmyv2_getAllDelegationInformation", 1) == []
    assert result(d, "hmyv2_getAllDelegationInformation", -1) == []
    assert error(d, "hmyv2_getAllDelegationInformation", "0")["code"] == -32602
    assert result(d, "hmyv2_getAvailableRedelegationBalance", to_bech32(D)) == 0  # never redelegated
    assert error(d, "hmyv2_getAvailableRedelegationBalance", "one1nope")["code"] == -32602
    assert info["lifetime"]["reward-accumulated"] > 0
    assert float(info["lifetime"]["apr"]) > 0
    by_number = result(d, "hmyv2_getValidatorInformationByBlockNumber", to_bech32(V), 3)
    assert by_number["currently-in-committee"] is False and by_number["lifetime"]["reward-accumulated"] == 0


KNOWN_STAKING_SHAPE_GAPS: list[str] = []
"""Where our validator information still differs from Harmony's: nowhere."""


def test_staking_shapes_against_harmony(beacon: tuple[Beacon, Dispatcher, RPCBackend]) -> None:
    _b, d, _ = beacon
    info = result(d, "hmyv2_getValidatorInformation", to_bech32(V))
    info["validator"]["delegations"][0]["undelegations"] = [{"amount": 1, "epoch": 1}]  # none here yet
    assert shape_differences(info, VALIDATOR_INFORMATION) == KNOWN_STAKING_SHAPE_GAPS
    votes = info["metrics"]["by-bls-key"]
    assert sorted(v["key"]["shard-id"] for v in votes) == [0, 1]
    earned = {vote["key"]["shard-id"]: vote["earned-reward"] for vote in votes}
    last_of_0 = LOCALNET.epoch_last_block(0)
    before = result(d, "hmyv2_getValidatorInformationByBlockNumber", to_bech32(V), last_of_0)
    this_epoch = info["lifetime"]["reward-accumulated"] - before["lifetime"]["reward-accumulated"]
    # each key's part of the epoch's pay: shard 1 sent no crosslinks here, so its key earned nothing
    assert earned[0] > 0 and earned[1] == 0 and sum(earned.values()) == this_epoch
    for vote in votes:  # the only staked seat of each committee: all of the staked group's 32 %
        assert vote["key"]["group-percent"] == "1.000000000000000000"
        assert vote["key"]["overall-percent"] == "0.320000000000000000"
        assert vote["key"]["raw-stake"] == str(Dec.from_int(20_500 * ONE).quo_int(2))
    delegations = result(d, "hmyv2_getDelegationsByDelegator", to_bech32(D))
    delegations[0]["Undelegations"] = [{"Amount": 1, "Epoch": 1}]
    assert shape_differences(delegations, [DELEGATION]) == []


def test_delegations_and_committees(beacon: tuple[Beacon, Dispatcher, RPCBackend]) -> None:
    _, d, _ = beacon
    mine = result(d, "hmyv2_getDelegationsByDelegator", to_bech32(D))
    assert len(mine) == 1 and mine[0]["validator_address"] == to_bech32(V) and mine[0]["amount"] == 500 * ONE
    assert mine[0]["reward"] > 0 and mine[0]["Undelegations"] == []
    assert len(result(d, "hmyv2_getDelegationsByValidator", to_bech32(V))) == 2
    pair = result(d, "hmyv2_getDelegationByDelegatorAndValidator", to_bech32(D), to_bech32(V))
    assert pair["amount"] == 500 * ONE
    assert result(d, "hmyv2_getValidatorSelfDelegation", to_bech32(V)) == 20_000 * ONE
    assert result(d, "hmyv2_getValidatorTotalDelegation", to_bech32(V)) == 20_500 * ONE
    assert result(d, "hmyv2_getTotalStaking") == 20_500 * ONE
    supers = result(d, "hmyv2_getSuperCommittees")
    assert supers["current"]["epoch"] == 1 and supers["previous"]["epoch"] == 0
    members = [m for s in supers["current"]["quorum-deciders"].values() for m in s["committee-members"]]
    external = [m for m in members if not m["is-harmony-slot"]]
    assert sorted(m["bls-public-key"] for m in external) == sorted(pub(i).hex() for i in (0, 1))
    assert supers["current"]["external-slot-count"] == 2


def test_supply_median_and_network_info(beacon: tuple[Beacon, Dispatcher, RPCBackend]) -> None:
    b, d, _ = beacon
    minted = minted_total(b.chain.state())
    assert minted > 0
    genesis = sum(a.balance for s in GENESIS.shards for a in s.alloc)
    total = result(d, "hmyv2_getTotalSupply")
    assert total == str(Dec(genesis + minted))
    assert result(d, "hmyv2_getCirculatingSupply") == total
    median = result(d, "hmyv2_getMedianRawStakeSnapshot")
    assert median["max-external-slots"] == LOCALNET.external_seats
    assert [w["slot-owner"] for w in median["epos-slot-winners"]] == [to_bech32(V)] * 2
    assert median["epos-median-stake"] == median["epos-slot-winners"][0]["raw-stake"]
    network = result(d, "hmyv2_getStakingNetworkInfo")
    assert network["total-supply"] == total and network["total-staking"] == 20_500 * ONE
    assert network["epoch-last-block"] == LOCALNET.epoch_last_block(1)
    assert network["median-raw-stake"] == median["epos-median-stake"]


def test_staking_pool_over_rpc(beacon: tuple[Beacon, Dispatcher, RPCBackend]) -> None:
    _, d, backend = beacon
    stx = _stx(DKEY, 1, Delegate(D, V, 100 * ONE))
    assert result(d, "hmyv2_sendRawStakingTransaction", "0x" + stx.encode().hex()) == "0x" + stx.hash().hex()
    pending = result(d, "hmyv2_pendingStakingTransactions")
    assert [p["hash"] for p in pending] == ["0x" + stx.hash().hex()] and pending[0]["type"] == "Delegate"
    found = result(d, "hmyv2_getStakingTransactionByHash", "0x" + stx.hash().hex())
    assert found["nonce"] == 1 and found["blockNumber"] == 0
    too_small = _stx(VKEY, 1, Delegate(V, V, ONE))  # below the 100 ONE minimum delegation
    err = error(d, "hmyv2_sendRawStakingTransaction", "0x" + too_small.encode().hex())
    assert err["code"] == -32000
    assert result(d, "hmyv2_getCurrentStakingErrorSink")
    assert error(d, "hmyv2_sendRawStakingTransaction", "0x1234")["code"] == -32000
    mined = result(d, "hmyv2_getStakingTransactionByBlockNumberAndIndex", 1, 0)
    assert mined["type"] == "CreateValidator" and mined["blockNumber"] == 1
    assert mined["msg"]["slotPubKeys"] == [pub(1).hex(), pub(0).hex()]
    assert mined["msg"]["minSelfDelegation"] == 10_000 * ONE and "." in mined["msg"]["commissionRate"]
    assert result(d, "hmyv2_getBlockStakingTransactionCountByNumber", 2) == 1
    assert backend.staking_pool is not None and len(backend.staking_pool) == 1


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("hmyv2_getValidatorInformation", ["0x" + "12" * 20]),
        ("hmyv2_getValidatorSelfDelegation", ["0x" + "12" * 20]),
    ],
)
def test_unknown_validator(
    beacon: tuple[Beacon, Dispatcher, RPCBackend], method: str, params: list[str]
) -> None:
    assert "not found" in error(beacon[1], method, *params)["message"]
