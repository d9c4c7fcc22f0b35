"""The beacon chain's supply accounting (reference §4.3: Harmony's ``BlockRewardAccumulator``, adapted).

Every beacon block that mints rewards or burns slashed stake adds them to two counters in the staking
registry's storage (:func:`record_supply_change`, called by
:func:`harmony.chain.transition.finalize_block`); the supply is read back from any beacon state with
:func:`total_supply`. Our networks release the whole genesis allocation at once and have no inaccessible
addresses, so the circulating supply is the total supply (``getCirculatingSupply``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harmony.chain.staking.records import REGISTRY_ADDRESS, get_validator_wrapper, validator_addresses
from harmony.chain.state_api import WorldState
from harmony.crypto.keccak import keccak256
from harmony.types.validator import Delegation

MINTED_SLOT = int.from_bytes(keccak256(b"supply-minted"), "big")
"""Registry storage slot: every block reward the beacon chain has minted, atto."""
SLASH_BURNED_SLOT = int.from_bytes(keccak256(b"supply-slash-burned"), "big")
"""Registry storage slot: every atto slashing burned (the part not paid to reporters)."""


def record_supply_change(state: WorldState, *, minted: int, burned: int) -> None:
    """Add a block's minted rewards and slashing burns to the counters (reference §4.3)."""
    state.set_storage(
        REGISTRY_ADDRESS, MINTED_SLOT, state.get_storage(REGISTRY_ADDRESS, MINTED_SLOT) + minted
    )
    state.set_storage(
        REGISTRY_ADDRESS, SLASH_BURNED_SLOT, state.get_storage(REGISTRY_ADDRESS, SLASH_BURNED_SLOT) + burned
    )


def minted_total(state: WorldState) -> int:
    """Block rewards minted so far on this (beacon) chain, atto."""
    return state.get_storage(REGISTRY_ADDRESS, MINTED_SLOT)


def slash_burned_total(state: WorldState) -> int:
    """Atto burned by slashing so far on this (beacon) chain."""
    return state.get_storage(REGISTRY_ADDRESS, SLASH_BURNED_SLOT)


def total_supply(state: WorldState, genesis_supply: int) -> int:
    """The supply at a beacon ``state`` (reference §4.3): the genesis allocation, plus every reward minted,
    less what slashing burned; fees burned by transactions are not subtracted, as Harmony's total supply
    does not subtract them either. It is also the circulating supply (module docstring)."""
    return genesis_supply + minted_total(state) - slash_burned_total(state)


@dataclass(frozen=True, slots=True)
class SupplyBreakdown:
    """Where the tokens are (atto): account balances and what staking holds."""

    balances: int
    """Balances of the accounts counted."""
    delegated: int
    """Staked in delegations."""
    undelegating: int
    """Pending undelegations, not yet paid out."""
    pending_rewards: int
    """Rewards credited and not yet collected."""

    @property
    def total(self) -> int:
        """All of it."""
        return self.balances + self.delegated + self.undelegating + self.pending_rewards


def _delegation_parts(delegation: Delegation) -> tuple[int, int, int]:
    return delegation.amount, sum(u.amount for u in delegation.undelegations), delegation.reward


def staked_supply(state: WorldState) -> tuple[int, int, int]:
    """``(delegated, undelegating, pending rewards)`` summed over every registered validator (§4.3)."""
    delegated = undelegating = pending = 0
    for address in validator_addresses(state):
        wrapper = get_validator_wrapper(state, address)
        if wrapper is None:
            continue
        for delegation in wrapper.delegations:
            amount, locked, reward = _delegation_parts(delegation)
            delegated += amount
            undelegating += locked
            pending += reward
    return delegated, undelegating, pending


def counted_supply(state: WorldState, accounts: Iterable[bytes]) -> SupplyBreakdown:
    """The supply held by ``accounts`` (their balances) plus everything staking holds (reference §4.3):
    what :func:`total_supply` must equal when ``accounts`` are every funded account (the tests' check).

    The world state cannot list its accounts, so the caller names them (every funded account); each is
    counted once.
    """
    balances = sum(state.get_balance(address) for address in set(accounts))
    delegated, undelegating, pending = staked_supply(state)
    return SupplyBreakdown(balances, delegated, undelegating, pending)


__all__ = [
    "MINTED_SLOT",
    "SLASH_BURNED_SLOT",
    "SupplyBreakdown",
    "counted_supply",
    "minted_total",
    "record_supply_change",
    "slash_burned_total",
    "staked_supply",
    "total_supply",
]
