"""The dashboard's and metrics' rewards on a real beacon chain (the staking RPC tests' chain: a validator
elected at the end of epoch 0 and paid in epoch 1): equal to ``hmyv2_getValidatorInformation`` at the same
block, per validator of the watched keys; nothing for Harmony-operated seats, other shards or unknown keys."""

from __future__ import annotations

from pathlib import Path

from harmony.chain.params import LOCALNET
from harmony.encoding.address import to_bech32
from harmony.node.status import NodeStatus
from harmony.ops.dashboard import dashboard_state
from harmony.ops.rewards import read_rewards, staked_owners
from harmony.ops.service import OpsService, OpsSettings
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from tests.unit.chain.staking.test_transactions import pub
from tests.unit.ops.test_server import status_of
from tests.unit.rpc.test_dispatch import result
from tests.unit.rpc.test_staking_beacon import Beacon, V, beacon  # noqa: F401 - the fixture

Fixture = tuple[Beacon, Dispatcher, RPCBackend]


def _service(b: Beacon, tmp_path: Path, shard: int = 0, watched: tuple[bytes, ...] = ()) -> OpsService:
    def status() -> NodeStatus:
        return status_of(b.chain, tmp_path, shard_id=shard, bls_public_keys=())

    settings = OpsSettings(port=0, watched=watched)
    return OpsService(status, b.chain.db, settings, params=LOCALNET)


def test_the_page_and_metrics_show_the_rpcs_rewards(beacon: Fixture, tmp_path: Path) -> None:  # noqa: F811
    b, d, _ = beacon
    service = _service(b, tmp_path, watched=(pub(0), pub(1)))
    head = b.chain.head
    service.tick()
    info = result(d, "hmyv2_getValidatorInformationByBlockNumber", to_bech32(V), head.number)
    state = dashboard_state(service.snapshot(), service.settings.thresholds)
    [row] = state["rewards"]
    assert row["validator"] == to_bech32(V) and row["block"] == head.number
    assert int(row["reward_atto"]) == info["lifetime"]["reward-accumulated"] > 0
    assert row["apr"] == info["lifetime"]["apr"] and float(row["apr"]) > 0
    # both its keys, though one sits on shard 1: the beacon node reads every shard's committee
    assert sorted(row["keys"]) == sorted([pub(0).hex(), pub(1).hex()])
    metrics = service.exporter.render().decode()
    assert f'hmy_validator_apr{{validator="{to_bech32(V)}"}}' in metrics
    assert f'hmy_validator_reward_accumulated_one{{validator="{to_bech32(V)}"}}' in metrics
    # an earlier block: the record and the APR at that block, as the RPC answers for it
    earlier = head.number - 2
    owners = staked_owners([pub(0), pub(1)], [service.committee(head.epoch)])
    [then] = read_rewards(b.chain.db, LOCALNET, earlier, owners)
    info = result(d, "hmyv2_getValidatorInformationByBlockNumber", to_bech32(V), earlier)
    assert (then.reward_atto, str(then.apr)) == (
        info["lifetime"]["reward-accumulated"],
        info["lifetime"]["apr"],
    )
    assert then.reward_atto < int(row["reward_atto"])


def test_no_rewards_where_there_is_no_record(beacon: Fixture, tmp_path: Path) -> None:  # noqa: F811
    b, _, _ = beacon
    head = b.chain.head
    # only Harmony-operated seats and unknown keys watched: nothing to read
    operated = _service(b, tmp_path, watched=(b"\x01" * 48,))
    operated.tick()
    assert operated.snapshot().rewards == ()
    # a shard-1 node holds no validator records
    other = _service(b, tmp_path, shard=1, watched=(pub(0), pub(1)))
    other.tick()
    assert other.snapshot().rewards == ()
    # a block that is not stored, and no owners: nothing, never an error
    owners = staked_owners([pub(0), pub(1)], [b.chain.committee_for(0, head.epoch)])
    assert list(owners) == [V]
    assert read_rewards(b.chain.db, LOCALNET, head.number + 100, owners) == []
    assert read_rewards(b.chain.db, LOCALNET, head.number, {}) == []
