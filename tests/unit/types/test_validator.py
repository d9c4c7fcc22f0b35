"""Validator records: RLP shape in Harmony's field order, round trips, bad input."""

from __future__ import annotations

import pytest

from harmony.encoding import rlp
from harmony.encoding.fixed import Dec
from harmony.errors import RLPError
from harmony.types.staking import CommissionRates, Description, EposStatus
from harmony.types.validator import (
    Commission,
    Counters,
    Delegation,
    Undelegation,
    Validator,
    ValidatorWrapper,
)

ADDR = b"\x01" * 20
DELEGATOR = b"\x02" * 20
KEY = b"\xaa" * 48
ONE = 10**18


def wrapper() -> ValidatorWrapper:
    rates = CommissionRates(Dec(10**17), Dec(9 * 10**17), Dec(5 * 10**16))
    validator = Validator(
        address=ADDR,
        slot_pub_keys=(KEY,),
        last_epoch_in_committee=3,
        min_self_delegation=10_000 * ONE,
        max_total_delegation=10**8 * ONE,
        status=EposStatus.ACTIVE,
        commission=Commission(rates, 100),
        description=Description("name", "id", "https://x", "sec", "details"),
        creation_height=100,
    )
    delegations = (
        Delegation(ADDR, 10_000 * ONE, 5),
        Delegation(DELEGATOR, 7 * ONE, 0, (Undelegation(ONE, 4), Undelegation(2 * ONE, 5))),
    )
    return ValidatorWrapper(validator, delegations, Counters(10, 9), 123)


def test_round_trip() -> None:
    w = wrapper()
    assert ValidatorWrapper.decode(w.encode()) == w
    assert w.total_delegation == 10_007 * ONE


def test_field_order_matches_go() -> None:
    w = wrapper()
    item = rlp.decode(w.encode())
    assert isinstance(item, list) and len(item) == 4
    validator, delegations, counters, reward = item
    assert isinstance(validator, list) and len(validator) == 9
    assert validator[0] == ADDR
    assert validator[1] == [KEY]
    assert validator[5] == b"\x01"  # status byte
    commission = validator[6]
    assert isinstance(commission, list) and len(commission) == 2 and len(commission[0]) == 3
    assert validator[7][0] == b"name"
    assert isinstance(delegations, list) and delegations[1][0] == DELEGATOR
    assert delegations[1][3] == [[rlp.encode_uint(ONE), b"\x04"], [rlp.encode_uint(2 * ONE), b"\x05"]]
    assert counters == [b"\x0a", b"\x09"]
    assert reward == b"\x7b"


def test_bad_input_is_typed() -> None:
    good = wrapper().encode()
    for bad in (b"", b"\xc0", good[:-1], good + b"\x00", rlp.encode([b"", b"", b"", b""])):
        with pytest.raises(RLPError):
            ValidatorWrapper.decode(bad)
    item = rlp.decode(good)
    item[0][5] = b"\x09"  # type: ignore[index]
    with pytest.raises(RLPError):
        ValidatorWrapper.decode(rlp.encode(item))
