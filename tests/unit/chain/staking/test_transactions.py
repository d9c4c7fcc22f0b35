"""The five staking messages (reference §2.5): every rule accepted and refused, refusals change nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache

import pytest

from harmony.chain.params import LOCALNET, ONE
from harmony.chain.staking import records
from harmony.chain.staking.errors import StakingError
from harmony.chain.staking.transactions import (
    StakingContext,
    add_undelegation,
    apply_collect_rewards,
    apply_create_validator,
    apply_delegate,
    apply_edit_validator,
    apply_staking_message,
    apply_undelegate,
    epoch_start_rate,
)
from harmony.crypto import bls
from harmony.encoding.fixed import Dec
from harmony.state.statedb import StateDB
from harmony.types.staking import (
    CollectRewards,
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    EditValidator,
    EposStatus,
    StakeMsg,
    Undelegate,
)
from harmony.types.validator import Delegation, Undelegation, ValidatorWrapper
from tests.unit.chain.support import BALANCE, KEYS, fresh_state

PARAMS = LOCALNET
CTX = StakingContext(PARAMS, epoch=3, block_number=100)
V1, V2, D1, D2 = (k.address for k in KEYS[:4])
NOBODY = b"\x55" * 20


@cache
def bls_key(i: int) -> bls.SecretKey:
    """A deterministic BLS key."""
    return bls.SecretKey.key_gen(bytes([i + 1]) * 32)


def pub(i: int) -> bytes:
    return bls_key(i).public_key.to_bytes()


def pop(i: int) -> bytes:
    return bls.sign_pop(bls_key(i)).to_bytes()


def rates(rate: str = "0.1", max_rate: str = "0.9", max_change: str = "0.05") -> CommissionRates:
    return CommissionRates(Dec.from_str(rate), Dec.from_str(max_rate), Dec.from_str(max_change))


def create_msg(
    address: bytes = V1,
    keys: tuple[int, ...] = (0,),
    *,
    amount: int = 20_000 * ONE,
    identity: str | None = None,
    commission: CommissionRates | None = None,
    min_self: int = 10_000 * ONE,
    max_total: int = 1_000_000 * ONE,
) -> CreateValidator:
    """A valid CreateValidator unless overridden."""
    return CreateValidator(
        validator_address=address,
        description=Description(
            "Validator",
            f"id-{address.hex()}" if identity is None else identity,
            "https://v.example",
            "sec@v",
            "details",
        ),
        commission_rates=commission or rates(),
        min_self_delegation=min_self,
        max_total_delegation=max_total,
        slot_pub_keys=tuple(pub(i) for i in keys),
        slot_key_sigs=tuple(pop(i) for i in keys),
        amount=amount,
    )


def with_validators() -> StateDB:
    """A genesis state with validators V1 (key 0, identity v1) and V2 (key 1, identity v2)."""
    state, _ = fresh_state()
    apply_create_validator(state, create_msg(identity="v1"), CTX)
    apply_create_validator(state, create_msg(V2, (1,), identity="v2"), CTX)
    return state


def wrapper(state: StateDB, address: bytes = V1) -> ValidatorWrapper:
    found = records.get_validator_wrapper(state, address)
    assert found is not None
    return found


def edit(state: StateDB, address: bytes, change: Callable[[ValidatorWrapper], ValidatorWrapper]) -> None:
    records.set_validator_wrapper(state, address, change(wrapper(state, address)))


def assert_refused(state: StateDB, msg: StakeMsg, reason: str, ctx: StakingContext = CTX) -> None:
    """``msg`` is refused for ``reason`` and the state root is unchanged."""
    before = state.state_root()
    with pytest.raises(StakingError) as info:
        apply_staking_message(state, msg, ctx)
    assert info.value.reason == reason, str(info.value)
    assert state.state_root() == before


def test_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        StakingError("no_such_rule", "x")
    assert str(StakingError("no_rewards", "none")) == "no_rewards: none"


# -- CreateValidator ----------------------------------------------------------------------------------


def test_create_validator_registers_and_self_delegates() -> None:
    state, _ = fresh_state()
    assert apply_staking_message(state, create_msg(keys=(0, 2), identity="v1"), CTX) == 20_000 * ONE
    assert state.get_balance(V1) == BALANCE - 20_000 * ONE
    w = wrapper(state)
    v = w.validator
    assert v.address == V1 and v.slot_pub_keys == (pub(0), pub(2))
    assert v.status is EposStatus.ACTIVE
    assert v.creation_height == 100 and v.commission.update_height == 100
    assert v.commission.commission_rates == rates()
    assert (v.min_self_delegation, v.max_total_delegation) == (10_000 * ONE, 1_000_000 * ONE)
    assert w.delegations == (Delegation(V1, 20_000 * ONE, 0),)
    assert w.block_reward == 0 and w.counters.num_blocks_to_sign == 0
    assert records.validator_addresses(state) == (V1,)
    assert records.bls_key_owner(state, pub(0)) == V1 == records.bls_key_owner(state, pub(2))
    assert records.identity_owner(state, "v1") == V1
    assert epoch_start_rate(state, V1, 3, Dec.from_str("0.5")) == Dec.from_str("0.1")


def test_create_validator_at_the_bounds() -> None:
    state, _ = fresh_state()
    msg = create_msg(
        amount=10_000 * ONE,
        min_self=10_000 * ONE,
        max_total=10_000 * ONE,
        commission=rates("0.07", "1", "1"),
        keys=tuple(range(3)),
    )
    apply_create_validator(state, msg, StakingContext(replace(PARAMS, max_bls_keys_per_validator=3), 3, 100))
    assert wrapper(state).total_delegation == 10_000 * ONE


CREATE_REJECTS: list[tuple[str, Callable[[], StakeMsg]]] = [
    ("validator_exists", lambda: create_msg(V1, (5,), identity="new")),
    (
        "description_too_long",
        lambda: replace(
            create_msg(D1, (5,)),
            validator_address=D1,
            description=Description("n" * 141, "", "", "", ""),
        ),
    ),
    ("identity_taken", lambda: create_msg(D1, (5,), identity="v2")),
    ("commission_rate_negative", lambda: create_msg(D1, (5,), commission=rates("-0.1"))),
    ("commission_rate_negative", lambda: create_msg(D1, (5,), commission=rates(max_change="-0.01"))),
    ("max_rate_too_high", lambda: create_msg(D1, (5,), commission=rates("0.1", "1.000000000000000001"))),
    ("max_change_rate_too_high", lambda: create_msg(D1, (5,), commission=rates("0.1", "0.2", "0.3"))),
    ("commission_rate_too_high", lambda: create_msg(D1, (5,), commission=rates("0.5", "0.4", "0.1"))),
    ("commission_rate_too_low", lambda: create_msg(D1, (5,), commission=rates("0.069999999999999999"))),
    ("min_self_delegation_too_small", lambda: create_msg(D1, (5,), min_self=10_000 * ONE - 1)),
    (
        "max_total_delegation_too_small",
        lambda: create_msg(D1, (5,), min_self=20_000 * ONE, max_total=19_999 * ONE),
    ),
    ("self_delegation_too_small", lambda: create_msg(D1, (5,), amount=10_000 * ONE - 1)),
    (
        "max_total_delegation_exceeded",
        lambda: create_msg(D1, (5,), amount=30_000 * ONE, max_total=29_999 * ONE),
    ),
    ("no_bls_keys", lambda: create_msg(D1, ())),
    ("too_many_bls_keys", lambda: create_msg(D1, (5, 6, 7))),
    ("bls_signature_count", lambda: replace(create_msg(D1, (5, 6)), slot_key_sigs=(pop(5),))),
    ("duplicate_bls_key", lambda: create_msg(D1, (5, 5))),
    ("bls_key_taken", lambda: create_msg(D1, (5, 1))),
    ("bls_key_reserved", lambda: create_msg(D1, (4,))),
    ("bls_key_invalid", lambda: replace(create_msg(D1, (5,)), slot_pub_keys=(b"\x01" * 48,))),
    ("bls_proof_invalid", lambda: replace(create_msg(D1, (5,)), slot_key_sigs=(pop(6),))),
    ("bls_proof_invalid", lambda: replace(create_msg(D1, (5,)), slot_key_sigs=(b"\x02" * 96,))),
    (
        "bls_proof_invalid",  # a plain signature of the key's bytes is no proof of possession
        lambda: replace(create_msg(D1, (5,)), slot_key_sigs=(bls_key(5).sign(pub(5)).to_bytes(),)),
    ),
    ("insufficient_balance", lambda: create_msg(D1, (5,), amount=BALANCE + 1, max_total=10 * BALANCE)),
]


@pytest.mark.parametrize(("reason", "make"), CREATE_REJECTS, ids=[r for r, _ in CREATE_REJECTS])
def test_create_validator_refusals(reason: str, make: Callable[[], StakeMsg]) -> None:
    state = with_validators()
    ctx = StakingContext(
        replace(PARAMS, max_bls_keys_per_validator=2), 3, 100, reserved_bls_keys=frozenset({pub(4)})
    )
    assert_refused(state, make(), reason, ctx)
    assert records.validator_addresses(state) == (V1, V2)


def test_create_refusal_leaves_registry_free() -> None:
    state = with_validators()
    assert_refused(state, create_msg(D1, (5, 1)), "bls_key_taken")
    assert records.bls_key_owner(state, pub(5)) is None and not state.get_code(D1)


# -- EditValidator ------------------------------------------------------------------------------------


def edit_msg(address: bytes = V1, **fields: object) -> EditValidator:
    description = fields.pop("description", Description("", "", "", "", ""))
    return EditValidator(address, description, **fields)  # type: ignore[arg-type]


def test_edit_description_keeps_empty_fields_and_moves_identity() -> None:
    state = with_validators()
    apply_edit_validator(state, edit_msg(description=Description("New", "v1-new", "", "", "")), CTX)
    d = wrapper(state).validator.description
    assert (d.name, d.identity, d.website, d.details) == ("New", "v1-new", "https://v.example", "details")
    assert records.identity_owner(state, "v1") is None
    assert records.identity_owner(state, "v1-new") == V1
    # its own identity again is no conflict
    apply_edit_validator(state, edit_msg(description=Description("", "v1-new", "", "", "")), CTX)


def test_edit_rate_limited_by_epoch_start_rate() -> None:
    state = with_validators()
    later = StakingContext(PARAMS, 4, 140)
    apply_edit_validator(state, edit_msg(commission_rate=Dec.from_str("0.15")), later)
    c = wrapper(state).validator.commission
    assert c.commission_rates.rate == Dec.from_str("0.15") and c.update_height == 140
    # a second edit in epoch 4 is measured from 0.10, the rate at the epoch's start
    assert_refused(
        state,
        edit_msg(commission_rate=Dec.from_str("0.150000000000000001")),
        "commission_change_too_large",
        later,
    )
    apply_edit_validator(state, edit_msg(commission_rate=Dec.from_str("0.07")), later)
    apply_edit_validator(state, edit_msg(commission_rate=Dec.from_str("0.15")), later)
    # next epoch: measured from 0.15
    apply_edit_validator(state, edit_msg(commission_rate=Dec.from_str("0.2")), StakingContext(PARAMS, 5, 180))
    assert wrapper(state).validator.commission.commission_rates.rate == Dec.from_str("0.2")


def test_edit_rate_same_epoch_as_creation() -> None:
    state = with_validators()
    assert_refused(state, edit_msg(commission_rate=Dec.from_str("0.16")), "commission_change_too_large")
    apply_edit_validator(state, edit_msg(commission_rate=Dec.from_str("0.15")), CTX)


def test_edit_keys_bounds_and_status() -> None:
    state = with_validators()
    apply_edit_validator(state, edit_msg(slot_key_to_add=pub(5), slot_key_to_add_sig=pop(5)), CTX)
    assert wrapper(state).validator.slot_pub_keys == (pub(0), pub(5))
    assert records.bls_key_owner(state, pub(5)) == V1
    apply_edit_validator(state, edit_msg(slot_key_to_remove=pub(0)), CTX)
    assert wrapper(state).validator.slot_pub_keys == (pub(5),)
    assert records.bls_key_owner(state, pub(0)) is None
    # swap in one message
    apply_edit_validator(
        state, edit_msg(slot_key_to_remove=pub(5), slot_key_to_add=pub(0), slot_key_to_add_sig=pop(0)), CTX
    )
    assert wrapper(state).validator.slot_pub_keys == (pub(0),)
    apply_edit_validator(
        state, edit_msg(min_self_delegation=15_000 * ONE, max_total_delegation=50_000 * ONE), CTX
    )
    v = wrapper(state).validator
    assert (v.min_self_delegation, v.max_total_delegation) == (15_000 * ONE, 50_000 * ONE)
    apply_edit_validator(state, edit_msg(epos_status=EposStatus.INACTIVE), CTX)
    assert wrapper(state).validator.status is EposStatus.INACTIVE
    apply_edit_validator(state, edit_msg(epos_status=None), CTX)  # pyhmy's form: unchanged
    assert wrapper(state).validator.status is EposStatus.INACTIVE
    apply_edit_validator(state, edit_msg(epos_status=EposStatus.ACTIVE), CTX)  # §5.2 re-activation
    assert wrapper(state).validator.status is EposStatus.ACTIVE


def _banned(w: ValidatorWrapper) -> ValidatorWrapper:
    return replace(w, validator=replace(w.validator, status=EposStatus.BANNED))


def _inactive_low_self(w: ValidatorWrapper) -> ValidatorWrapper:
    self_delegation = replace(w.delegations[0], amount=9_000 * ONE)
    return replace(
        w, validator=replace(w.validator, status=EposStatus.INACTIVE), delegations=(self_delegation,)
    )


EDIT_REJECTS: list[tuple[str, EditValidator, Callable[[ValidatorWrapper], ValidatorWrapper] | None]] = [
    ("not_a_validator", edit_msg(D1), None),
    ("validator_banned", edit_msg(epos_status=EposStatus.ACTIVE), _banned),
    ("validator_banned", edit_msg(description=Description("x", "", "", "", "")), _banned),
    ("invalid_status", edit_msg(epos_status=EposStatus.BANNED), None),
    ("description_too_long", edit_msg(description=Description("", "", "", "", "d" * 281)), None),
    ("identity_taken", edit_msg(description=Description("", "v2", "", "", "")), None),
    ("commission_rate_too_high", edit_msg(commission_rate=Dec.from_str("0.91")), None),
    ("commission_rate_too_low", edit_msg(commission_rate=Dec.from_str("0.06")), None),
    ("commission_rate_negative", edit_msg(commission_rate=Dec.from_str("-0.01")), None),
    ("commission_change_too_large", edit_msg(commission_rate=Dec.from_str("0.150000000000000001")), None),
    ("min_self_delegation_too_small", edit_msg(min_self_delegation=9_999 * ONE), None),
    ("max_total_delegation_too_small", edit_msg(max_total_delegation=9_999 * ONE), None),
    ("max_total_delegation_exceeded", edit_msg(max_total_delegation=19_999 * ONE), None),
    ("bls_key_not_found", edit_msg(slot_key_to_remove=pub(1)), None),
    ("bls_proof_missing", edit_msg(slot_key_to_add=pub(5)), None),
    ("bls_proof_invalid", edit_msg(slot_key_to_add=pub(5), slot_key_to_add_sig=pop(6)), None),
    ("bls_key_taken", edit_msg(slot_key_to_add=pub(1), slot_key_to_add_sig=pop(1)), None),
    ("duplicate_bls_key", edit_msg(slot_key_to_add=pub(0), slot_key_to_add_sig=pop(0)), None),
    ("no_bls_keys", edit_msg(slot_key_to_remove=pub(0)), None),
    ("self_delegation_too_small", edit_msg(min_self_delegation=20_000 * ONE + 1), None),
    ("self_delegation_too_small", edit_msg(epos_status=EposStatus.ACTIVE), _inactive_low_self),
]


@pytest.mark.parametrize(("reason", "msg", "prepare"), EDIT_REJECTS, ids=[r for r, _, _ in EDIT_REJECTS])
def test_edit_validator_refusals(
    reason: str, msg: EditValidator, prepare: Callable[[ValidatorWrapper], ValidatorWrapper] | None
) -> None:
    state = with_validators()
    if prepare is not None:
        edit(state, V1, prepare)
    assert_refused(state, msg, reason)


def test_edit_too_many_keys() -> None:
    state = with_validators()
    ctx = StakingContext(replace(PARAMS, max_bls_keys_per_validator=1), 3, 100)
    assert_refused(
        state, edit_msg(slot_key_to_add=pub(5), slot_key_to_add_sig=pop(5)), "too_many_bls_keys", ctx
    )
    assert records.bls_key_owner(state, pub(5)) is None


def test_edit_refused_late_changes_nothing_already_done() -> None:
    """A refusal after the identity and a key were moved leaves the registry as it was."""
    state = with_validators()
    msg = edit_msg(
        description=Description("", "brand-new", "", "", ""),
        slot_key_to_remove=pub(0),
        slot_key_to_add=pub(5),
        slot_key_to_add_sig=pop(5),
        min_self_delegation=30_000 * ONE,  # above the self-delegation: refused last
    )
    assert_refused(state, msg, "self_delegation_too_small")
    assert records.identity_owner(state, "v1") == V1 and records.identity_owner(state, "brand-new") is None
    assert records.bls_key_owner(state, pub(0)) == V1 and records.bls_key_owner(state, pub(5)) is None


# -- Delegate -------------------------------------------------------------------------------------------


def test_delegate_creates_then_adds() -> None:
    state = with_validators()
    apply_delegate(state, Delegate(D1, V1, 100 * ONE), CTX)
    apply_delegate(state, Delegate(D2, V1, 250 * ONE), CTX)
    apply_delegate(state, Delegate(D1, V1, 150 * ONE), CTX)
    apply_delegate(state, Delegate(V1, V1, 1_000 * ONE), CTX)  # a self top-up stays at index 0
    w = wrapper(state)
    assert [(d.delegator_address, d.amount) for d in w.delegations] == [
        (V1, 21_000 * ONE),
        (D1, 250 * ONE),
        (D2, 250 * ONE),
    ]
    assert state.get_balance(D1) == BALANCE - 250 * ONE
    assert state.get_balance(V1) == BALANCE - 21_000 * ONE
    assert w.total_delegation == 21_500 * ONE


def _max_total_20_100(w: ValidatorWrapper) -> ValidatorWrapper:
    return replace(w, validator=replace(w.validator, max_total_delegation=20_100 * ONE))


DELEGATE_REJECTS: list[tuple[str, Delegate, Callable[[ValidatorWrapper], ValidatorWrapper] | None]] = [
    ("not_a_validator", Delegate(D1, D2, 100 * ONE), None),
    ("validator_banned", Delegate(D1, V1, 100 * ONE), _banned),
    ("delegation_too_small", Delegate(D1, V1, 100 * ONE - 1), None),
    ("max_total_delegation_exceeded", Delegate(D1, V1, 100 * ONE + 1), _max_total_20_100),
    (
        "insufficient_balance",
        Delegate(D1, V1, BALANCE + 1),
        lambda w: replace(w, validator=replace(w.validator, max_total_delegation=10 * BALANCE)),
    ),
]


@pytest.mark.parametrize(
    ("reason", "msg", "prepare"), DELEGATE_REJECTS, ids=[r for r, _, _ in DELEGATE_REJECTS]
)
def test_delegate_refusals(
    reason: str, msg: Delegate, prepare: Callable[[ValidatorWrapper], ValidatorWrapper] | None
) -> None:
    state = with_validators()
    if prepare is not None:
        edit(state, V1, prepare)
    assert_refused(state, msg, reason)


def test_delegate_up_to_max_total_exactly() -> None:
    state = with_validators()
    edit(state, V1, _max_total_20_100)
    apply_delegate(state, Delegate(D1, V1, 100 * ONE), CTX)
    assert wrapper(state).total_delegation == 20_100 * ONE


# -- Undelegate -----------------------------------------------------------------------------------------


def test_undelegate_locks_and_merges_by_epoch() -> None:
    state = with_validators()
    apply_delegate(state, Delegate(D1, V1, 1_000 * ONE), CTX)
    apply_undelegate(state, Undelegate(D1, V1, 100 * ONE), CTX)
    apply_undelegate(state, Undelegate(D1, V1, 200 * ONE), CTX)
    apply_undelegate(state, Undelegate(D1, V1, 300 * ONE), StakingContext(PARAMS, 4, 130))
    d = wrapper(state).delegations[1]
    assert d.amount == 400 * ONE
    assert d.undelegations == (Undelegation(300 * ONE, 3), Undelegation(300 * ONE, 4))
    assert state.get_balance(D1) == BALANCE - 1_000 * ONE  # nothing paid before the lock ends
    apply_undelegate(state, Undelegate(D1, V1, 400 * ONE), StakingContext(PARAMS, 4, 131))  # all of it
    assert wrapper(state).delegations[1].amount == 0


def test_self_undelegation_below_minimum_makes_inactive() -> None:
    state = with_validators()
    apply_undelegate(state, Undelegate(V1, V1, 10_000 * ONE), CTX)
    assert wrapper(state).validator.status is EposStatus.ACTIVE  # 10,000 left: still the minimum
    apply_undelegate(state, Undelegate(V1, V1, 1), CTX)
    w = wrapper(state)
    assert w.validator.status is EposStatus.INACTIVE
    assert w.delegations[0].amount == 10_000 * ONE - 1
    assert w.delegations[0].undelegations == (Undelegation(10_000 * ONE + 1, 3),)


UNDELEGATE_REJECTS: list[tuple[str, Undelegate]] = [
    ("not_a_validator", Undelegate(D1, D2, ONE)),
    ("undelegate_zero", Undelegate(D1, V1, 0)),
    ("no_delegation", Undelegate(D2, V1, ONE)),
    ("undelegate_too_much", Undelegate(D1, V1, 500 * ONE + 1)),
    ("remaining_delegation_too_small", Undelegate(D1, V1, 400 * ONE + 1)),
    ("undelegate_too_much", Undelegate(V1, V1, 20_000 * ONE + 1)),
]


@pytest.mark.parametrize(("reason", "msg"), UNDELEGATE_REJECTS, ids=[r for r, _ in UNDELEGATE_REJECTS])
def test_undelegate_refusals(reason: str, msg: Undelegate) -> None:
    state = with_validators()
    apply_delegate(state, Delegate(D1, V1, 500 * ONE), CTX)
    assert_refused(state, msg, reason)


def test_add_undelegation_keeps_epoch_order() -> None:
    entries = (Undelegation(1, 2), Undelegation(2, 5))
    assert add_undelegation(entries, 3, 4) == (Undelegation(1, 2), Undelegation(3, 4), Undelegation(2, 5))
    assert add_undelegation(entries, 3, 5) == (Undelegation(1, 2), Undelegation(5, 5))


# -- CollectRewards ---------------------------------------------------------------------------------------


def _rewards(state: StateDB, address: bytes, rewards: dict[bytes, int]) -> None:
    def change(w: ValidatorWrapper) -> ValidatorWrapper:
        delegations = tuple(
            replace(d, reward=rewards.get(d.delegator_address, d.reward)) for d in w.delegations
        )
        return replace(w, delegations=delegations)

    edit(state, address, change)


def test_collect_rewards_over_all_validators() -> None:
    state = with_validators()
    apply_delegate(state, Delegate(D1, V1, 100 * ONE), CTX)
    apply_delegate(state, Delegate(D1, V2, 100 * ONE), CTX)
    apply_delegate(state, Delegate(D2, V2, 100 * ONE), CTX)
    _rewards(state, V1, {D1: 3 * ONE, V1: 7})
    _rewards(state, V2, {D1: 5, D2: 11})
    before = state.get_balance(D1)
    assert apply_collect_rewards(state, CollectRewards(D1), CTX) == 3 * ONE + 5
    assert state.get_balance(D1) == before + 3 * ONE + 5
    assert [d.reward for d in wrapper(state, V1).delegations] == [7, 0]
    assert [d.reward for d in wrapper(state, V2).delegations] == [0, 0, 11]
    assert_refused(state, CollectRewards(D1), "no_rewards")
    assert_refused(state, CollectRewards(NOBODY), "no_rewards")
