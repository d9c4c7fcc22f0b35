"""Double-sign slashing: checking a slash record and applying it (reference §5.3, design §5).

:func:`verify_slash_record` decides whether a record carried in a beacon block may be applied; each refusal
is a :class:`SlashRejected` whose ``check`` names the rule. :func:`apply_slash` then takes the stake:

* the offender's self-delegation is debited ``rate`` (50 %) of its snapshot amount;
* the external delegators are debited, pro rata to their snapshot amounts, a total of ``delegator_rate``
  (80 %) of what was **actually** taken from the validator (each share truncated to an atto);
* each debit comes from the staked amount first, then the undelegations made at or after the offence
  epoch (oldest first), then the pending rewards; what a delegation cannot cover is not taken;
* the validator becomes Banned for good;
* ``beneficiary_share`` (half) of the total taken goes to the balance of the **reporter** named in the record
  (design §5; Harmony pays the block's leader), truncated; the rest is burned.

Every amount is an atto integer, so ``total_slashed == reporter_reward + burned`` exactly and the supply
falls by ``burned``. The BLS check of the two votes over their commit payloads belongs to the consensus
layer; it is injected as ``verify_votes``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from harmony.chain.staking.records import get_validator_wrapper, set_validator_wrapper
from harmony.chain.state_api import WorldState
from harmony.encoding.fixed import Dec
from harmony.errors import DecodeError
from harmony.types.shard_state import Committee
from harmony.types.slash import InvalidEvidence, Record, check_evidence_structure
from harmony.types.staking import EposStatus
from harmony.types.validator import Delegation, Undelegation, ValidatorWrapper

__all__ = [
    "BENEFICIARY_SHARE",
    "DELEGATOR_RATE",
    "SLASH_RATE",
    "SlashRejected",
    "SlashResult",
    "apply_slash",
    "apply_slash_records",
    "verify_slash_record",
]

SLASH_RATE = Dec.from_str("0.5")
"""Share of the offender's self-stake slashed (reference §5.3)."""
DELEGATOR_RATE = Dec.from_str("0.8")
"""External delegators lose in total this share of what was taken from the validator (§5.3)."""
BENEFICIARY_SHARE = Dec.from_str("0.5")
"""Share of the total slashed paid to the reporter (§5.3, design §5); the rest is burned."""

CHECKS = frozenset(
    {
        "offender_not_validator",
        "already_banned",
        "not_staking_era",
        "future_epoch",
        "wrong_shard",
        "key_not_in_committee",
        "signer_not_offender",
        "bad_signature",
    }
)
"""Checks of :func:`verify_slash_record` beyond the structural ones of
:func:`~harmony.types.slash.check_evidence_structure` (``reporter_is_offender``, ``empty_vote``,
``same_block``, ``no_common_key``)."""


class SlashRejected(InvalidEvidence):
    """A slash record cannot be applied; ``check`` names the rule (see :data:`CHECKS`)."""


@dataclass(frozen=True, slots=True)
class SlashResult:
    """What applying one slash record did (atto)."""

    offender: bytes
    """The banned validator."""
    total_slashed: int
    """Everything taken: ``validator_slashed + delegators_slashed``."""
    validator_slashed: int
    """Taken from the self-delegation."""
    delegators_slashed: int
    """Taken from the external delegations."""
    reporter_reward: int
    """Credited to the reporter's balance."""
    burned: int
    """Gone from the supply: ``total_slashed − reporter_reward``."""


def verify_slash_record(
    state: WorldState,
    record: Record,
    current_epoch: int,
    verify_votes: Callable[[Record], bool],
    *,
    committee: Committee | None = None,
    staking_epoch: int = 0,
) -> tuple[bytes, ...]:
    """Whether ``record`` may be applied at ``current_epoch`` (reference §5.3, Go ``slash.Verify``).

    In order, raising :class:`SlashRejected` (or the :class:`~harmony.types.slash.InvalidEvidence` of the
    structural checks): the offender holds a validator record (``offender_not_validator``) that is not
    banned (``already_banned``); the structural checks (reporter ≠ offender, non-empty votes, different
    block hashes, an overlapping key); the evidence epoch is in the staking era (``not_staking_era``) and not
    after ``current_epoch`` (``future_epoch``); when the evidence epoch's ``committee`` of the evidence shard
    is given, it is that shard's (``wrong_shard``) and every double-signed key sits in it
    (``key_not_in_committee``) for the offender (``signer_not_offender``); finally ``verify_votes`` (the BLS
    check of both votes over their commit payloads) holds (``bad_signature``). Returns the double-signed
    keys.
    """
    evidence = record.evidence
    offender = evidence.offender
    try:
        wrapper = get_validator_wrapper(state, offender)
    except DecodeError:
        wrapper = None
    if wrapper is None:
        raise SlashRejected("offender_not_validator", f"0x{offender.hex()} is not a validator")
    if wrapper.validator.status == EposStatus.BANNED:
        raise SlashRejected("already_banned", f"validator 0x{offender.hex()} is already banned")
    keys = check_evidence_structure(record)
    epoch = evidence.moment.epoch
    if epoch < staking_epoch:
        raise SlashRejected(
            "not_staking_era", f"evidence epoch {epoch} is before staking epoch {staking_epoch}"
        )
    if epoch > current_epoch:
        raise SlashRejected(
            "future_epoch", f"evidence epoch {epoch} is after the current epoch {current_epoch}"
        )
    if committee is not None:
        if committee.shard_id != evidence.moment.shard_id:
            raise SlashRejected(
                "wrong_shard",
                f"committee of shard {committee.shard_id} given for evidence"
                f" of shard {evidence.moment.shard_id}",
            )
        owners = {slot.bls_public_key: slot.ecdsa_address for slot in committee.slots}
        for key in keys:
            owner = owners.get(key)
            if owner is None:
                raise SlashRejected("key_not_in_committee", f"key {key.hex()} is not in the committee")
            if owner != offender:
                raise SlashRejected(
                    "signer_not_offender", f"key {key.hex()} belongs to 0x{owner.hex()}, not the offender"
                )
    if not verify_votes(record):
        raise SlashRejected("bad_signature", "a vote's signature does not verify over its commit payload")
    return keys


def _debit(delegation: Delegation, debt: int, offence_epoch: int) -> tuple[Delegation, int]:
    """Take up to ``debt`` from a delegation: staked amount, then undelegations at or after the offence
    epoch (in order), then pending rewards. Returns the new delegation and the amount taken."""
    taken = min(debt, delegation.amount)
    amount = delegation.amount - taken
    undelegations: list[Undelegation] = []
    for entry in delegation.undelegations:
        if entry.epoch >= offence_epoch and taken < debt:
            part = min(debt - taken, entry.amount)
            taken += part
            undelegations.append(replace(entry, amount=entry.amount - part))
        else:
            undelegations.append(entry)
    part = min(debt - taken, delegation.reward)
    taken += part
    debited = replace(
        delegation, amount=amount, reward=delegation.reward - part, undelegations=tuple(undelegations)
    )
    return debited, taken


def apply_slash(
    state: WorldState,
    record: Record,
    *,
    rate: Dec = SLASH_RATE,
    delegator_rate: Dec = DELEGATOR_RATE,
    beneficiary_share: Dec = BENEFICIARY_SHARE,
    snapshot: ValidatorWrapper | None = None,
) -> SlashResult:
    """Slash the offender of a verified ``record`` and pay its reporter (reference §5.3, design §5).

    Debts come from ``snapshot`` (the validator at the start of the offence epoch; the current record if
    not given): the self-delegation owes ``truncate(rate × amount)``; external delegators owe
    ``truncate(delegator_rate × validator_slashed)`` in total, each ``owed × amount // external total``.
    Debts are matched to the current delegations by delegator address and taken as the module docstring
    says. The validator becomes Banned; the reporter's balance gets ``truncate(beneficiary_share × total)``.
    Raises :class:`SlashRejected` (``offender_not_validator``) without a validator record.
    """
    offender = record.evidence.offender
    wrapper = get_validator_wrapper(state, offender)
    if wrapper is None:
        raise SlashRejected("offender_not_validator", f"0x{offender.hex()} is not a validator")
    basis = snapshot if snapshot is not None else wrapper
    offence_epoch = record.evidence.moment.epoch
    delegations = list(wrapper.delegations)
    index_of = {d.delegator_address: i for i, d in reversed(list(enumerate(delegations)))}

    validator_slashed = 0
    if basis.delegations and delegations:
        self_debt = rate.mul_int(basis.delegations[0].amount).truncate_int()
        delegations[0], validator_slashed = _debit(delegations[0], self_debt, offence_epoch)

    external = [d for d in basis.delegations[1:] if d.amount > 0]
    external_total = sum(d.amount for d in external)
    owed = delegator_rate.mul_int(validator_slashed).truncate_int()
    delegators_slashed = 0
    if external_total > 0 and owed > 0:
        for snap in external:
            i = index_of.get(snap.delegator_address)
            if i is None or i == 0:
                continue
            debt = owed * snap.amount // external_total
            delegations[i], taken = _debit(delegations[i], debt, offence_epoch)
            delegators_slashed += taken

    total = validator_slashed + delegators_slashed
    reporter_reward = beneficiary_share.mul_int(total).truncate_int()
    validator = replace(wrapper.validator, status=EposStatus.BANNED)
    set_validator_wrapper(
        state, offender, replace(wrapper, validator=validator, delegations=tuple(delegations))
    )
    if reporter_reward:
        state.set_balance(record.reporter, state.get_balance(record.reporter) + reporter_reward)
    return SlashResult(
        offender=offender,
        total_slashed=total,
        validator_slashed=validator_slashed,
        delegators_slashed=delegators_slashed,
        reporter_reward=reporter_reward,
        burned=total - reporter_reward,
    )


def apply_slash_records(
    state: WorldState,
    records: Sequence[Record],
    current_epoch: int,
    verify_votes: Callable[[Record], bool],
    *,
    committee_of: Callable[[int, int], Committee | None] | None = None,
    snapshot_of: Callable[[bytes], ValidatorWrapper | None] | None = None,
    staking_epoch: int = 0,
) -> tuple[SlashResult, ...]:
    """Verify and apply a beacon block's slash records in order (reference §5.3, Go ``applySlashes``).

    ``committee_of(epoch, shard_id)`` gives the committee the evidence is checked against and
    ``snapshot_of(offender)`` the validator snapshot the debts come from (both optional, see
    :func:`verify_slash_record` and :func:`apply_slash`). The first record that fails verification raises
    (the block is invalid); a second record against an offender banned by an earlier one is therefore
    refused (``already_banned``).
    """
    results: list[SlashResult] = []
    for record in records:
        moment = record.evidence.moment
        committee = committee_of(moment.epoch, moment.shard_id) if committee_of is not None else None
        verify_slash_record(
            state, record, current_epoch, verify_votes, committee=committee, staking_epoch=staking_epoch
        )
        snapshot = snapshot_of(record.evidence.offender) if snapshot_of is not None else None
        results.append(apply_slash(state, record, snapshot=snapshot))
    return tuple(results)
