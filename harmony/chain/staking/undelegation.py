"""Paying out undelegations whose lock has expired (reference §2.5 "Lock period"; design §5).

At the last beacon block of epoch ``E`` (the committee-selection block), every undelegation entry dated
``e`` with ``E − e ≥`` :attr:`~harmony.chain.params.NetworkParams.undelegation_lock_epochs` (7) is credited
to its delegator's balance and removed from the delegation: an undelegation made in epoch ``e`` is paid at
the end of epoch ``e + 7``. Design §5: an entry is **never** removed without its payout (we do not port
Go's ``maxRateApplies`` branch, which drops old entries without crediting them), and there is no early
unlock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harmony.chain.params import NetworkParams
from harmony.chain.staking.records import get_validator_wrapper, set_validator_wrapper, validator_addresses
from harmony.chain.state_api import WorldState
from harmony.errors import DecodeError
from harmony.types.validator import Delegation


@dataclass(frozen=True, slots=True)
class Payout:
    """One delegator paid the undelegations it had locked with one validator."""

    validator: bytes
    delegator: bytes
    amount: int


def is_unlocked(entry_epoch: int, epoch: int, params: NetworkParams) -> bool:
    """Whether an undelegation of ``entry_epoch`` is paid at the end of ``epoch`` (§2.5: 7 epochs)."""
    return epoch - entry_epoch >= params.undelegation_lock_epochs


def payout_undelegations(state: WorldState, epoch: int, params: NetworkParams) -> tuple[Payout, ...]:
    """Pay every unlocked undelegation of every validator to its delegator (module docstring).

    Called at the last beacon block of ``epoch``; returns what was paid, in validator-list and delegation
    order. Validators whose records are unchanged are not rewritten.
    """
    payouts: list[Payout] = []
    for address in validator_addresses(state):
        try:
            wrapper = get_validator_wrapper(state, address)
        except DecodeError:
            continue
        if wrapper is None:
            continue
        delegations: list[Delegation] = []
        changed = False
        for delegation in wrapper.delegations:
            paid = sum(u.amount for u in delegation.undelegations if is_unlocked(u.epoch, epoch, params))
            kept = tuple(u for u in delegation.undelegations if not is_unlocked(u.epoch, epoch, params))
            if len(kept) == len(delegation.undelegations):
                delegations.append(delegation)
                continue
            changed = True
            delegations.append(replace(delegation, undelegations=kept))
            if paid:
                who = delegation.delegator_address
                state.set_balance(who, state.get_balance(who) + paid)
                payouts.append(Payout(address, who, paid))
        if changed:
            set_validator_wrapper(state, address, replace(wrapper, delegations=tuple(delegations)))
    return tuple(payouts)


__all__ = ["Payout", "is_unlocked", "payout_undelegations"]
