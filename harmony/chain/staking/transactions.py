"""The five staking messages checked and applied to the world state (reference §2.4, §2.5; design §5).

Each ``apply_*`` function checks every rule of its message against the state and then changes it; it
either applies completely or raises :class:`~harmony.chain.staking.errors.StakingError` (reason code
naming the rule) and leaves the state exactly as it found it (``snapshot``/``revert``). The caller
(:func:`harmony.chain.transition.apply_staking_transaction`) has already checked the signature, the nonce
and the gas, and charged the fee; the sender is the message's validator or delegator
(:func:`harmony.types.staking.check_signer`).

Rules (reference §2.5), with the decisions this node takes where the reference leaves a choice:

* **CreateValidator**: the address is not already a validator; description fields within their byte
  limits; identity unused by any other validator; ``0 ≤ rate ≤ maxRate ≤ 1``, ``maxChangeRate ≤ maxRate``,
  ``rate ≥`` the network's minimum commission (7 %; there is no promotional period here);
  ``minSelfDelegation ≥`` 10,000 ONE; ``maxTotalDelegation ≥ minSelfDelegation``;
  ``minSelfDelegation ≤ amount ≤ maxTotalDelegation``; 1 to 106 BLS keys, one proof of possession each
  (:func:`harmony.crypto.bls.verify_pop`, design §5), no key twice, none held by a validator or reserved
  for Harmony-operated seats; the balance covers the amount. The amount is debited and becomes the
  self-delegation, index 0 of the delegations, and the validator is registered (list, keys, identity).
* **EditValidator**: the validator exists and is not banned (a banned validator cannot be edited at all,
  so never back to active); the status asked for is nil, active or inactive; non-empty description
  fields replace the old ones (Go ``UpdateDescription``); a new rate obeys the bounds above and differs
  from the rate **at the start of the current epoch** by at most ``maxChangeRate``; a key to remove must
  be the validator's; a key to add needs its proof and must be free; after the edit the validator holds 1
  to 106 keys, ``maxTotalDelegation ≥ minSelfDelegation ≥`` 10,000 ONE, the total delegation does not
  exceed ``maxTotalDelegation``, and an active validator's self-delegation is at least its
  ``minSelfDelegation``. Status active re-activates an inactive validator (reference §5.2).
* **Delegate**: the validator exists and is not banned; the amount is at least the minimum delegation
  (100 ONE, also for the validator's own top-ups); the total stays within ``maxTotalDelegation``; the
  balance covers the amount. It is added to the delegator's delegation, created at the end of the list
  if absent. **Decision**: tokens are always taken from the balance; Harmony's re-delegation of tokens
  still locked in undelegations (``RedelegationEpoch``) is not done, so locked tokens are always paid out
  by the lock (:mod:`~harmony.chain.staking.undelegation`) and then delegated anew.
* **Undelegate**: the amount is positive and at most the delegated amount; a delegation other than the
  self-delegation must keep 0 or at least the minimum delegation. The amount moves to an
  ``Undelegation(amount, epoch)`` entry, merged with an entry of the same epoch. If the self-delegation of
  an active validator drops below its ``minSelfDelegation``, the validator becomes inactive instead of the
  transaction failing.
* **CollectRewards**: every positive reward of the sender's delegations, over all validators, is paid to
  its balance and zeroed; ``no_rewards`` if they sum to 0.

The epoch-start commission rate (Go reads it from the validator snapshot) is kept in the storage of
:data:`~harmony.chain.staking.records.REGISTRY_ADDRESS` at slot ``keccak("ratebase" ‖ address)`` as
``(epoch + 1) << 128 | rate.raw``, written when the rate first changes in an epoch (and at creation), so a
validator cannot walk its rate further than ``maxChangeRate`` within one epoch by editing several times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from harmony.chain.fences import Fences
from harmony.chain.params import NetworkParams
from harmony.chain.staking.attestations import apply_attest, apply_revoke
from harmony.chain.staking.errors import StakingError
from harmony.chain.staking.records import (
    REGISTRY_ADDRESS,
    bls_key_owner,
    claim_bls_key,
    claim_identity,
    get_validator_wrapper,
    identity_owner,
    register_validator,
    release_bls_key,
    release_identity,
    set_validator_wrapper,
    validator_addresses,
)
from harmony.chain.state_api import WorldState
from harmony.crypto import bls
from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.errors import CryptoError, DecodeError
from harmony.types.staking import (
    MAX_DETAILS_LENGTH,
    MAX_NAME_LENGTH,
    Attest,
    CollectRewards,
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    EditValidator,
    EposStatus,
    Revoke,
    StakeMsg,
    Undelegate,
)
from harmony.types.validator import (
    Commission,
    Counters,
    Delegation,
    Undelegation,
    Validator,
    ValidatorWrapper,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StakingContext:
    """What the staking rules need besides the state: the network, and the block being applied."""

    params: NetworkParams
    epoch: int
    """Epoch of the block (undelegation entries and commission changes are dated by it)."""
    block_number: int
    """Number of the block (creation height, commission update height)."""
    reserved_bls_keys: frozenset[bytes] = frozenset()
    """BLS keys of the Harmony-operated seats, which no validator may register (reference §2.5)."""
    fences: Fences = field(default_factory=Fences)
    """The network's country fences (:attr:`harmony.chain.rules.ChainRules.fences`): what Attest and Revoke
    are checked against."""


# -- shared checks ---------------------------------------------------------------------------------------


def _atomic(state: WorldState, apply: Callable[[], T]) -> T:
    """Run ``apply``; on any error undo everything it changed and re-raise."""
    snapshot = state.snapshot()
    try:
        return apply()
    except BaseException:
        state.revert(snapshot)
        raise


def check_description(description: Description) -> None:
    """Every description field within its byte limit (reference §2.4: 140 bytes, details 280)."""
    limits = (
        ("name", description.name, MAX_NAME_LENGTH),
        ("identity", description.identity, MAX_NAME_LENGTH),
        ("website", description.website, MAX_NAME_LENGTH),
        ("security_contact", description.security_contact, MAX_NAME_LENGTH),
        ("details", description.details, MAX_DETAILS_LENGTH),
    )
    for name, text, limit in limits:
        size = len(text.encode("utf-8"))
        if size > limit:
            raise StakingError("description_too_long", f"{name} is {size} bytes, at most {limit}")


def check_rate(rate: Dec, max_rate: Dec, params: NetworkParams) -> None:
    """A commission rate: not negative, at most ``max_rate``, at least the network's floor (§2.5)."""
    if rate.is_negative():
        raise StakingError("commission_rate_negative", f"rate {rate} is negative")
    if rate > max_rate:
        raise StakingError("commission_rate_too_high", f"rate {rate} exceeds the max rate {max_rate}")
    if rate < params.min_commission_rate:
        raise StakingError(
            "commission_rate_too_low", f"rate {rate} is below the minimum {params.min_commission_rate}"
        )


def check_commission_rates(rates: CommissionRates, params: NetworkParams) -> None:
    """Rates of a new validator (§2.5): each in [0, 1], ``rate ≤ maxRate``, ``maxChangeRate ≤ maxRate``."""
    for name, value in (("max rate", rates.max_rate), ("max change rate", rates.max_change_rate)):
        if value.is_negative():
            raise StakingError("commission_rate_negative", f"{name} {value} is negative")
    if rates.max_rate > params.max_commission_rate:
        raise StakingError(
            "max_rate_too_high", f"max rate {rates.max_rate} exceeds {params.max_commission_rate}"
        )
    if rates.max_change_rate > rates.max_rate:
        raise StakingError(
            "max_change_rate_too_high",
            f"max change rate {rates.max_change_rate} exceeds the max rate {rates.max_rate}",
        )
    check_rate(rates.rate, rates.max_rate, params)


def check_delegation_bounds(min_self: int, max_total: int, params: NetworkParams) -> None:
    """``minSelfDelegation ≥`` the network minimum and ``maxTotalDelegation ≥ minSelfDelegation`` (§2.5)."""
    if min_self < params.min_self_delegation:
        raise StakingError(
            "min_self_delegation_too_small",
            f"min self-delegation {min_self} is below {params.min_self_delegation} atto",
        )
    if max_total < min_self:
        raise StakingError(
            "max_total_delegation_too_small",
            f"max total delegation {max_total} is below the min self-delegation {min_self}",
        )


def check_new_bls_key(
    state: WorldState, key: bytes, proof: bytes | None, ctx: StakingContext, seen: set[bytes]
) -> None:
    """A key a validator adds (§2.5): a valid point, not twice, not taken or reserved, a valid proof of
    possession (design §5: :func:`harmony.crypto.bls.verify_pop`)."""
    if key in seen:
        raise StakingError("duplicate_bls_key", f"BLS key {key.hex()} appears twice")
    seen.add(key)
    if key in ctx.reserved_bls_keys:
        raise StakingError("bls_key_reserved", f"BLS key {key.hex()} belongs to a Harmony-operated seat")
    owner = bls_key_owner(state, key)
    if owner is not None:
        raise StakingError("bls_key_taken", f"BLS key {key.hex()} is held by validator 0x{owner.hex()}")
    if proof is None:
        raise StakingError("bls_proof_missing", f"BLS key {key.hex()} comes without a proof of possession")
    try:
        public_key = bls.PublicKey.from_bytes(key)
    except CryptoError as exc:
        raise StakingError("bls_key_invalid", f"BLS key {key.hex()}: {exc}{IETF_ONLY}") from exc
    try:
        signature = bls.Signature.from_bytes(proof)
    except CryptoError as exc:
        raise StakingError("bls_proof_invalid", f"proof for BLS key {key.hex()}: {exc}{IETF_ONLY}") from exc
    if not bls.verify_pop(public_key, signature):
        raise StakingError(
            "bls_proof_invalid", f"proof of possession of BLS key {key.hex()} does not verify{IETF_ONLY}"
        )


IETF_ONLY = (
    "; this network encodes BLS keys and proves their possession with the IETF ciphersuite (design §5), so "
    "keys and proofs made by Harmony's herumi-based tools are refused: import the key with `harmony keys "
    "import-bls` (or make one with `harmony keys new-bls`) and sign with `harmony staking`"
)
"""What a refused BLS key or proof adds to its reason: why, and what to do."""


def _check_key_count(count: int, params: NetworkParams) -> None:
    if count == 0:
        raise StakingError("no_bls_keys", "a validator needs at least one BLS key")
    if count > params.max_bls_keys_per_validator:
        raise StakingError(
            "too_many_bls_keys", f"{count} BLS keys, at most {params.max_bls_keys_per_validator}"
        )


def _check_balance(state: WorldState, address: bytes, amount: int) -> None:
    balance = state.get_balance(address)
    if balance < amount:
        raise StakingError("insufficient_balance", f"balance {balance} does not cover {amount} atto")


def _require_validator(state: WorldState, address: bytes) -> ValidatorWrapper:
    try:
        wrapper = get_validator_wrapper(state, address)
    except DecodeError:
        wrapper = None
    if wrapper is None:
        raise StakingError("not_a_validator", f"0x{address.hex()} is not a validator")
    return wrapper


def find_delegation(wrapper: ValidatorWrapper, delegator: bytes) -> int | None:
    """Index of ``delegator``'s delegation with this validator, or ``None``."""
    for index, delegation in enumerate(wrapper.delegations):
        if delegation.delegator_address == delegator:
            return index
    return None


def _with_delegation(wrapper: ValidatorWrapper, index: int, delegation: Delegation) -> ValidatorWrapper:
    delegations = list(wrapper.delegations)
    delegations[index] = delegation
    return replace(wrapper, delegations=tuple(delegations))


# -- epoch-start commission rate ---------------------------------------------------------------------------

_RATE_BASE_TAG = b"ratebase"
_RATE_MASK = (1 << 128) - 1


def _rate_base_slot(address: bytes) -> int:
    return int.from_bytes(keccak256(_RATE_BASE_TAG + address), "big")


def epoch_start_rate(state: WorldState, address: bytes, epoch: int, current: Dec) -> Dec:
    """The validator's commission rate at the start of ``epoch`` (Go: the epoch snapshot's rate).

    ``current`` is the rate now; it is also the epoch-start rate unless the rate changed in ``epoch``.
    """
    value = state.get_storage(REGISTRY_ADDRESS, _rate_base_slot(address))
    if value >> 128 == epoch + 1:
        return Dec(value & _RATE_MASK)
    return current


def _record_rate_base(state: WorldState, address: bytes, epoch: int, rate: Dec) -> None:
    """Remember ``rate`` as the epoch-start rate of ``epoch``, unless one is recorded for it already."""
    slot = _rate_base_slot(address)
    if state.get_storage(REGISTRY_ADDRESS, slot) >> 128 != epoch + 1:
        state.set_storage(REGISTRY_ADDRESS, slot, (epoch + 1) << 128 | rate.raw)


# -- CreateValidator ---------------------------------------------------------------------------------------


def apply_create_validator(state: WorldState, msg: CreateValidator, ctx: StakingContext) -> None:
    """Register a validator with its self-delegation (reference §2.5 "create"; module docstring)."""
    _atomic(state, lambda: _create_validator(state, msg, ctx))


def _create_validator(state: WorldState, msg: CreateValidator, ctx: StakingContext) -> None:
    params = ctx.params
    address = msg.validator_address
    if get_validator_wrapper_or_none(state, address) is not None or state.get_code(address):
        raise StakingError("validator_exists", f"0x{address.hex()} is already a validator")
    check_description(msg.description)
    owner = identity_owner(state, msg.description.identity)
    if owner is not None:
        raise StakingError(
            "identity_taken", f"identity {msg.description.identity!r} is used by 0x{owner.hex()}"
        )
    check_commission_rates(msg.commission_rates, params)
    check_delegation_bounds(msg.min_self_delegation, msg.max_total_delegation, params)
    if msg.amount < msg.min_self_delegation:
        raise StakingError(
            "self_delegation_too_small",
            f"self-delegation {msg.amount} is below the min self-delegation {msg.min_self_delegation}",
        )
    if msg.amount > msg.max_total_delegation:
        raise StakingError(
            "max_total_delegation_exceeded",
            f"self-delegation {msg.amount} exceeds the max total delegation {msg.max_total_delegation}",
        )
    _check_key_count(len(msg.slot_pub_keys), params)
    if len(msg.slot_key_sigs) != len(msg.slot_pub_keys):
        raise StakingError(
            "bls_signature_count",
            f"{len(msg.slot_pub_keys)} BLS keys but {len(msg.slot_key_sigs)} proofs of possession",
        )
    seen: set[bytes] = set()
    for key, proof in zip(msg.slot_pub_keys, msg.slot_key_sigs, strict=True):
        check_new_bls_key(state, key, proof, ctx, seen)
    _check_balance(state, address, msg.amount)

    state.set_balance(address, state.get_balance(address) - msg.amount)
    validator = Validator(
        address=address,
        slot_pub_keys=tuple(msg.slot_pub_keys),
        last_epoch_in_committee=0,
        min_self_delegation=msg.min_self_delegation,
        max_total_delegation=msg.max_total_delegation,
        status=EposStatus.ACTIVE,
        commission=Commission(msg.commission_rates, ctx.block_number),
        description=msg.description,
        creation_height=ctx.block_number,
    )
    wrapper = ValidatorWrapper(validator, (Delegation(address, msg.amount, 0),), Counters(), 0)
    set_validator_wrapper(state, address, wrapper)
    register_validator(state, address)
    for key in msg.slot_pub_keys:
        claim_bls_key(state, key, address)
    claim_identity(state, msg.description.identity, address)
    _record_rate_base(state, address, ctx.epoch, msg.commission_rates.rate)


def get_validator_wrapper_or_none(state: WorldState, address: bytes) -> ValidatorWrapper | None:
    """The validator record at ``address``; ``None`` if there is none or the code is not a record."""
    try:
        return get_validator_wrapper(state, address)
    except DecodeError:
        return None


# -- EditValidator -----------------------------------------------------------------------------------------


def apply_edit_validator(state: WorldState, msg: EditValidator, ctx: StakingContext) -> None:
    """Change a validator's description, rate, bounds, keys or status (reference §2.5 "edit", §5.2)."""
    _atomic(state, lambda: _edit_validator(state, msg, ctx))


def _merge_description(old: Description, new: Description) -> Description:
    """Non-empty fields of ``new`` replace those of ``old`` (Go ``UpdateDescription``)."""
    return Description(
        name=new.name or old.name,
        identity=new.identity or old.identity,
        website=new.website or old.website,
        security_contact=new.security_contact or old.security_contact,
        details=new.details or old.details,
    )


def _edit_validator(state: WorldState, msg: EditValidator, ctx: StakingContext) -> None:
    params = ctx.params
    address = msg.validator_address
    wrapper = _require_validator(state, address)
    validator = wrapper.validator
    if validator.status is EposStatus.BANNED:
        raise StakingError("validator_banned", f"validator 0x{address.hex()} is banned and cannot be edited")
    status = EposStatus.NIL if msg.epos_status is None else msg.epos_status
    if status is EposStatus.BANNED:
        raise StakingError("invalid_status", "a validator cannot ban itself")

    check_description(msg.description)
    description = _merge_description(validator.description, msg.description)
    old_identity = validator.description.identity
    if description.identity != old_identity:
        owner = identity_owner(state, description.identity)
        if owner is not None and owner != address:
            raise StakingError(
                "identity_taken", f"identity {description.identity!r} is used by 0x{owner.hex()}"
            )
        release_identity(state, old_identity)
        claim_identity(state, description.identity, address)

    commission = validator.commission
    if msg.commission_rate is not None:
        rates = commission.commission_rates
        new_rate = msg.commission_rate
        check_rate(new_rate, rates.max_rate, params)
        base = epoch_start_rate(state, address, ctx.epoch, rates.rate)
        if abs(new_rate - base) > rates.max_change_rate:
            raise StakingError(
                "commission_change_too_large",
                f"rate {new_rate} is more than {rates.max_change_rate} from the epoch-start rate {base}",
            )
        _record_rate_base(state, address, ctx.epoch, rates.rate)
        commission = Commission(replace(rates, rate=new_rate), ctx.block_number)

    min_self = validator.min_self_delegation if msg.min_self_delegation is None else msg.min_self_delegation
    max_total = (
        validator.max_total_delegation if msg.max_total_delegation is None else msg.max_total_delegation
    )
    check_delegation_bounds(min_self, max_total, params)
    if wrapper.total_delegation > max_total:
        raise StakingError(
            "max_total_delegation_exceeded",
            f"total delegation {wrapper.total_delegation} exceeds the new max total delegation {max_total}",
        )

    keys = list(validator.slot_pub_keys)
    if msg.slot_key_to_remove is not None:
        if msg.slot_key_to_remove not in keys:
            raise StakingError(
                "bls_key_not_found", f"BLS key {msg.slot_key_to_remove.hex()} is not the validator's"
            )
        keys.remove(msg.slot_key_to_remove)
        release_bls_key(state, msg.slot_key_to_remove)
    if msg.slot_key_to_add is not None:
        check_new_bls_key(state, msg.slot_key_to_add, msg.slot_key_to_add_sig, ctx, set(keys))
        keys.append(msg.slot_key_to_add)
        claim_bls_key(state, msg.slot_key_to_add, address)
    _check_key_count(len(keys), params)

    new_status = validator.status if status is EposStatus.NIL else status
    self_stake = wrapper.delegations[0].amount if wrapper.delegations else 0
    if new_status is EposStatus.ACTIVE and self_stake < min_self:
        raise StakingError(
            "self_delegation_too_small",
            f"an active validator's self-delegation {self_stake} is below its minimum {min_self}",
        )
    edited = replace(
        validator,
        slot_pub_keys=tuple(keys),
        min_self_delegation=min_self,
        max_total_delegation=max_total,
        status=new_status,
        commission=commission,
        description=description,
    )
    set_validator_wrapper(state, address, replace(wrapper, validator=edited))


# -- Delegate and Undelegate ---------------------------------------------------------------------------


def apply_delegate(state: WorldState, msg: Delegate, ctx: StakingContext) -> None:
    """Delegate from the balance to a validator (reference §2.5 "delegate"; module docstring)."""
    _atomic(state, lambda: _delegate(state, msg, ctx))


def _delegate(state: WorldState, msg: Delegate, ctx: StakingContext) -> None:
    wrapper = _require_validator(state, msg.validator_address)
    validator = wrapper.validator
    if validator.status is EposStatus.BANNED:
        raise StakingError("validator_banned", f"validator 0x{validator.address.hex()} is banned")
    if msg.amount < ctx.params.min_delegation:
        raise StakingError(
            "delegation_too_small", f"delegation {msg.amount} is below {ctx.params.min_delegation} atto"
        )
    total = wrapper.total_delegation + msg.amount
    if total > validator.max_total_delegation:
        raise StakingError(
            "max_total_delegation_exceeded",
            f"total delegation would be {total}, above the maximum {validator.max_total_delegation}",
        )
    _check_balance(state, msg.delegator_address, msg.amount)

    state.set_balance(msg.delegator_address, state.get_balance(msg.delegator_address) - msg.amount)
    index = find_delegation(wrapper, msg.delegator_address)
    if index is None:
        wrapper = replace(
            wrapper, delegations=(*wrapper.delegations, Delegation(msg.delegator_address, msg.amount, 0))
        )
    else:
        old = wrapper.delegations[index]
        wrapper = _with_delegation(wrapper, index, replace(old, amount=old.amount + msg.amount))
    set_validator_wrapper(state, validator.address, wrapper)


def add_undelegation(entries: Sequence[Undelegation], amount: int, epoch: int) -> tuple[Undelegation, ...]:
    """``entries`` with ``amount`` undelegated at ``epoch``, merged into an entry of that epoch (§2.5)."""
    out = list(entries)
    for index, entry in enumerate(out):
        if entry.epoch == epoch:
            out[index] = Undelegation(entry.amount + amount, epoch)
            return tuple(out)
    out.append(Undelegation(amount, epoch))
    out.sort(key=lambda e: e.epoch)
    return tuple(out)


def apply_undelegate(state: WorldState, msg: Undelegate, ctx: StakingContext) -> None:
    """Move delegated tokens into a locked undelegation entry (reference §2.5 "undelegate")."""
    _atomic(state, lambda: _undelegate(state, msg, ctx))


def _undelegate(state: WorldState, msg: Undelegate, ctx: StakingContext) -> None:
    wrapper = _require_validator(state, msg.validator_address)
    validator = wrapper.validator
    if msg.amount <= 0:
        raise StakingError("undelegate_zero", "the amount to undelegate must be positive")
    index = find_delegation(wrapper, msg.delegator_address)
    if index is None:
        raise StakingError(
            "no_delegation",
            f"0x{msg.delegator_address.hex()} has no delegation with 0x{validator.address.hex()}",
        )
    delegation = wrapper.delegations[index]
    if msg.amount > delegation.amount:
        raise StakingError(
            "undelegate_too_much", f"undelegating {msg.amount} of a delegation of {delegation.amount}"
        )
    remaining = delegation.amount - msg.amount
    is_self = index == 0 and msg.delegator_address == validator.address
    if not is_self and 0 < remaining < ctx.params.min_delegation:
        raise StakingError(
            "remaining_delegation_too_small",
            f"{remaining} atto would remain delegated: 0 or at least {ctx.params.min_delegation}",
        )
    updated = Delegation(
        delegation.delegator_address,
        remaining,
        delegation.reward,
        add_undelegation(delegation.undelegations, msg.amount, ctx.epoch),
    )
    wrapper = _with_delegation(wrapper, index, updated)
    if is_self and validator.status is EposStatus.ACTIVE and remaining < validator.min_self_delegation:
        wrapper = replace(wrapper, validator=replace(validator, status=EposStatus.INACTIVE))
    set_validator_wrapper(state, validator.address, wrapper)


# -- CollectRewards ----------------------------------------------------------------------------------------


def apply_collect_rewards(state: WorldState, msg: CollectRewards, ctx: StakingContext) -> int:
    """Pay the sender every reward of its delegations, over all validators; returns the amount (§2.5)."""
    return _atomic(state, lambda: _collect_rewards(state, msg))


def _collect_rewards(state: WorldState, msg: CollectRewards) -> int:
    delegator = msg.delegator_address
    total = 0
    for address in validator_addresses(state):
        wrapper = get_validator_wrapper_or_none(state, address)
        if wrapper is None:
            continue
        changed = False
        delegations = list(wrapper.delegations)
        for index, delegation in enumerate(delegations):
            if delegation.delegator_address == delegator and delegation.reward > 0:
                total += delegation.reward
                delegations[index] = replace(delegation, reward=0)
                changed = True
        if changed:
            set_validator_wrapper(state, address, replace(wrapper, delegations=tuple(delegations)))
    if total == 0:
        raise StakingError("no_rewards", f"0x{delegator.hex()} has no rewards to collect")
    state.set_balance(delegator, state.get_balance(delegator) + total)
    return total


# -- dispatch ----------------------------------------------------------------------------------------------


def apply_staking_message(state: WorldState, msg: StakeMsg, ctx: StakingContext) -> int:
    """Check and apply any staking message; returns the amount of ONE atto it moved.

    Created, delegated and undelegated amounts, collected rewards; 0 for an edit, an attestation or a
    revocation (:mod:`~harmony.chain.staking.attestations`). Raises :class:`StakingError` with the state
    unchanged.
    """
    if isinstance(msg, Attest):
        _atomic(
            state,
            lambda: apply_attest(
                state, msg, fences=ctx.fences, epoch=ctx.epoch, chain_id=ctx.params.chain_id
            ),
        )
        return 0
    if isinstance(msg, Revoke):
        _atomic(state, lambda: apply_revoke(state, msg, fences=ctx.fences, epoch=ctx.epoch))
        return 0
    if isinstance(msg, CreateValidator):
        apply_create_validator(state, msg, ctx)
        return msg.amount
    if isinstance(msg, EditValidator):
        apply_edit_validator(state, msg, ctx)
        return 0
    if isinstance(msg, Delegate):
        apply_delegate(state, msg, ctx)
        return msg.amount
    if isinstance(msg, Undelegate):
        apply_undelegate(state, msg, ctx)
        return msg.amount
    return apply_collect_rewards(state, msg, ctx)


__all__ = [
    "StakingContext",
    "add_undelegation",
    "apply_collect_rewards",
    "apply_create_validator",
    "apply_delegate",
    "apply_edit_validator",
    "apply_staking_message",
    "apply_undelegate",
    "check_commission_rates",
    "check_delegation_bounds",
    "check_description",
    "check_new_bls_key",
    "check_rate",
    "epoch_start_rate",
    "find_delegation",
    "get_validator_wrapper_or_none",
]
