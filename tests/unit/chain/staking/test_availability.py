"""Availability (reference §5.1): signing counters, the 2/3 threshold, deactivation at the election."""

from __future__ import annotations

import pytest

from harmony.chain.params import LOCALNET, ONE, SIGNING_THRESHOLD
from harmony.chain.staking.availability import (
    AvailabilityError,
    compute_and_mutate_status,
    compute_signing,
    counters_snapshot,
    is_eligible_for_auction,
    record_signing,
    signing_percentage,
)
from harmony.chain.staking.records import get_validator_wrapper
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import Committee, Slot
from harmony.types.staking import EposStatus
from harmony.types.validator import Counters
from tests.unit.chain.staking.test_election import addr, key, make_wrapper, new_state

T = SIGNING_THRESHOLD


def _counters(state: object, n: int) -> Counters:
    wrapper = get_validator_wrapper(state, addr(n))  # type: ignore[arg-type]
    assert wrapper is not None
    return wrapper.counters


def _committee() -> Committee:
    return Committee(
        0,
        (
            Slot(addr(900), key(1000)),  # Harmony-operated
            Slot(addr(1), key(2), Dec.from_int(5)),
            Slot(addr(1), key(4), Dec.from_int(5)),
            Slot(addr(2), key(6), Dec.from_int(5)),
        ),
    )


def test_record_signing_counts_once_per_external_seat() -> None:
    state = new_state(
        make_wrapper(addr(1), [key(2), key(4)], 10_000 * ONE, counters=Counters(10, 9)),
        make_wrapper(addr(2), [key(6)], 10_000 * ONE),
    )
    record_signing(state, _committee(), [0, 1])
    assert _counters(state, 1) == Counters(12, 10)
    assert _counters(state, 2) == Counters(1, 0)
    record_signing(state, _committee(), {1, 2, 3})
    assert _counters(state, 1) == Counters(14, 12)
    assert _counters(state, 2) == Counters(2, 1)


def test_record_signing_errors() -> None:
    state = new_state(make_wrapper(addr(1), [key(2), key(4)], 10_000 * ONE))
    with pytest.raises(AvailabilityError) as err:
        record_signing(state, _committee(), [4])
    assert err.value.reason == "signer_index"
    with pytest.raises(AvailabilityError) as err:
        record_signing(state, _committee(), [1])  # addr(2) holds no record
    assert err.value.reason == "not_a_validator"


def test_exactly_two_thirds_is_below_threshold() -> None:
    computed = compute_signing(Counters(13, 12), Counters(10, 10), T)
    assert (computed.signed, computed.to_sign) == (2, 3)
    assert computed.percentage == Dec.from_str("0.666666666666666667")
    assert computed.is_below_threshold


def test_above_two_thirds_is_not_below() -> None:
    computed = compute_signing(Counters(4, 3), Counters(), T)
    assert computed.percentage == Dec.from_str("0.75")
    assert not computed.is_below_threshold
    assert compute_signing(Counters(3, 0), Counters(), T).is_below_threshold


def test_nothing_to_sign_is_not_below_threshold_hip32() -> None:
    computed = compute_signing(Counters(7, 5), Counters(7, 5), T)
    assert computed.to_sign == 0 and computed.percentage == Dec.zero()
    assert not computed.is_below_threshold


def test_counters_going_backwards_are_refused() -> None:
    with pytest.raises(AvailabilityError) as err:
        compute_signing(Counters(5, 5), Counters(6, 5), T)
    assert err.value.reason == "counters_decreased"
    with pytest.raises(AvailabilityError):
        compute_signing(Counters(6, 7), Counters(5, 5), T)


def test_signing_percentage_for_rpc() -> None:
    assert signing_percentage(Counters(110, 105), Counters(100, 100)) == Dec.from_str("0.5")
    assert signing_percentage(Counters(3, 1), Counters(0, 0)) == Dec.from_str("0.333333333333333333")
    assert signing_percentage(Counters(3, 1), Counters(3, 1)) == Dec.zero()


def test_compute_and_mutate_status() -> None:
    snap = Counters(10, 10)
    state = new_state(
        make_wrapper(addr(1), [key(2)], 10_000 * ONE, counters=Counters(13, 12)),  # 2/3: below
        make_wrapper(addr(2), [key(4)], 10_000 * ONE, counters=Counters(14, 13)),  # 3/4
        make_wrapper(addr(3), [key(6)], 10_000 * ONE, counters=Counters(10, 10)),  # nothing to sign
        make_wrapper(addr(4), [key(8)], 10_000 * ONE, counters=Counters(20, 10), status=EposStatus.BANNED),
        make_wrapper(addr(5), [key(10)], 10_000 * ONE, counters=Counters(20, 10), status=EposStatus.INACTIVE),
    )
    snapshots = counters_snapshot(state, [addr(n) for n in (1, 2, 3, 4, 5, 77)])
    assert addr(77) not in snapshots
    snapshots = dict.fromkeys(snapshots, snap) | {addr(77): snap}
    assert compute_and_mutate_status(state, snapshots, T) == (addr(1),)
    statuses = []
    for n in (1, 2, 3, 4, 5):
        wrapper = get_validator_wrapper(state, addr(n))
        assert wrapper is not None
        statuses.append(wrapper.validator.status)
    assert statuses == [
        EposStatus.INACTIVE,
        EposStatus.ACTIVE,
        EposStatus.ACTIVE,
        EposStatus.BANNED,
        EposStatus.INACTIVE,
    ]


def test_eligibility() -> None:
    lazy = make_wrapper(addr(1), [key(2)], 10_000 * ONE, last_epoch=4, counters=Counters(3, 1))
    assert not is_eligible_for_auction(lazy, Counters(), 4, LOCALNET.signing_threshold)
    assert is_eligible_for_auction(lazy, Counters(), 5, LOCALNET.signing_threshold)  # not in epoch 5
    assert is_eligible_for_auction(lazy, None, 4, LOCALNET.signing_threshold)
    inactive = make_wrapper(addr(1), [key(2)], 10_000 * ONE, status=EposStatus.INACTIVE)
    assert not is_eligible_for_auction(inactive, None, 4, LOCALNET.signing_threshold)
