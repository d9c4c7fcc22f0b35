"""Network parameters and epoch arithmetic (design §6, reference §6.1)."""

from __future__ import annotations

import pytest

from harmony.chain.assignment import CUCKOO_MOVE_FRACTION
from harmony.chain.params import (
    DEVELOPMENT_PRESETS,
    GWEI,
    LOCALNET,
    LOCALNET32,
    MAINNET,
    ONE,
    PRESETS,
    EpochSchedule,
    EpochSegment,
    FeePolicy,
    FeeRecipient,
    NetworkParams,
    UnknownPreset,
    get_preset,
)
from harmony.chain.randomness import VDF_DEADLINE_FRACTION, VDF_MAX_SECONDS
from harmony.encoding.fixed import Dec

T = (366 - 1) * 16384 + 344064  # first block of the 2-second era, by hand: 6,324,224


def test_mainnet_two_seconds_first_block_by_hand() -> None:
    assert T == 6_324_224
    assert MAINNET.epoch_first_block(366) == T


@pytest.mark.parametrize(
    ("number", "epoch"),
    [
        (0, 0),
        (1, 0),
        (344_063, 0),
        (344_064, 1),
        (344_064 + 16_383, 1),
        (344_064 + 16_384, 2),
        (T - 1, 365),
        (T, 366),
        (T + 32_767, 366),
        (T + 32_768, 367),
        (T + 10 * 32_768 + 5, 376),
    ],
)
def test_mainnet_epoch_of(number: int, epoch: int) -> None:
    assert MAINNET.epoch_of(number) == epoch


@pytest.mark.parametrize(
    ("epoch", "first", "last"),
    [
        (0, 0, 344_063),
        (1, 344_064, 360_447),
        (2, 360_448, 376_831),
        (365, T - 16_384, T - 1),
        (366, T, T + 32_767),
        (367, T + 32_768, T + 65_535),
    ],
)
def test_mainnet_epoch_bounds(epoch: int, first: int, last: int) -> None:
    assert MAINNET.epoch_first_block(epoch) == first
    assert MAINNET.epoch_last_block(epoch) == last
    assert MAINNET.is_last_block(last)
    assert not MAINNET.is_last_block(first) or first == last
    assert MAINNET.is_last_block(first - 1) if first > 0 else True
    assert not MAINNET.is_last_block(last - 1)


def test_mainnet_is_last_block_only_at_boundaries() -> None:
    lasts = [n for n in range(340_000, 380_000) if MAINNET.is_last_block(n)]
    assert lasts == [344_063, 360_447, 376_831]


def test_localnet_epochs() -> None:
    assert LOCALNET.epoch_of(31) == 0
    assert LOCALNET.epoch_of(32) == 1
    assert LOCALNET.epoch_last_block(0) == 31
    assert LOCALNET.is_last_block(63)
    assert LOCALNET.shard_count == 2
    assert LOCALNET.harmony_seats_per_shard == 4


def test_presets_values() -> None:
    assert MAINNET.shard_count == 4
    assert MAINNET.seats_per_shard == 250
    assert MAINNET.external_seats_per_shard == 100  # 40 %
    assert MAINNET.external_seats == 400
    assert MAINNET.min_self_delegation == 10_000 * ONE
    assert MAINNET.min_delegation == 100 * ONE
    assert MAINNET.undelegation_lock_epochs == 7
    assert MAINNET.signing_threshold == Dec.from_str("0.666666666666666667")
    assert MAINNET.effective_stake_band == Dec.from_str("0.35")
    assert MAINNET.min_gas_price == 100 * GWEI
    assert MAINNET.gas_limit(0) == 80_000_000
    assert MAINNET.gas_limit(1672) == 80_000_000
    assert MAINNET.gas_limit(1673) == 30_000_000
    assert MAINNET.block_reward(365) == 17_500_000_000_000_000_000
    assert MAINNET.block_reward(366) == 7 * ONE
    assert MAINNET.chain_id == 1
    assert MAINNET.eth_chain_id(1) == 1_666_600_001
    assert LOCALNET.accepted_chain_ids(1) == frozenset({2, 1_666_700_001})


def test_get_preset() -> None:
    assert get_preset("mainnet") is MAINNET
    assert get_preset("localnet") is LOCALNET
    assert get_preset("localnet32") is LOCALNET32
    with pytest.raises(UnknownPreset, match="known: localnet, localnet32, mainnet"):
        get_preset("devnet")


def test_localnet32_is_localnet_with_32_seats() -> None:
    assert (LOCALNET32.seats_per_shard, LOCALNET32.harmony_seats_per_shard) == (32, 16)
    assert LOCALNET32.external_seats_per_shard == 16
    assert LOCALNET32.external_seats == 32
    differ = {"name", "seats_per_shard", "harmony_seats_per_shard"}
    for name in NetworkParams.__dataclass_fields__:
        if name not in differ:
            assert getattr(LOCALNET32, name) == getattr(LOCALNET, name), name
    assert LOCALNET32.network is LOCALNET.network  # localnet's chain IDs: the same tools and keys sign for it
    assert set(DEVELOPMENT_PRESETS) == {"localnet", "localnet32"} and set(DEVELOPMENT_PRESETS) <= set(PRESETS)


def test_every_preset_has_its_name_keyed_rules() -> None:
    """The rules kept by preset name outside the parameters: a preset missing from a table would fall to the
    default silently; localnet32's are localnet's."""
    for table in (CUCKOO_MOVE_FRACTION, VDF_MAX_SECONDS, VDF_DEADLINE_FRACTION):
        assert set(PRESETS) <= set(table)
        assert table[LOCALNET32.name] == table[LOCALNET.name]


def test_bad_schedules_refused() -> None:
    with pytest.raises(ValueError, match="epoch 0"):
        EpochSchedule((EpochSegment(1, 0, 10),))
    with pytest.raises(ValueError, match="gaps"):
        EpochSchedule((EpochSegment(0, 0, 10), EpochSegment(2, 15, 10)))
    with pytest.raises(ValueError, match="negative"):
        MAINNET.epoch_of(-1)


def test_fee_policy() -> None:
    coinbase = b"\x01" * 20
    assert FeePolicy().fee_recipient(coinbase) is None
    assert FeePolicy(FeeRecipient.COINBASE).fee_recipient(coinbase) == coinbase
    collector = b"\x02" * 20
    assert FeePolicy(FeeRecipient.COLLECTOR, collector).fee_recipient(coinbase) == collector
    with pytest.raises(ValueError):
        FeePolicy(FeeRecipient.COLLECTOR)
