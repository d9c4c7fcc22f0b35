"""Voting power and the quorum rule (reference §1.4).

* One key, one vote when every slot is Harmony-operated (pre-staking, ``one-node-one-vote.go``): quorum is
  ``count > 2n/3``, i.e. at least ``floor(2n/3) + 1`` keys, counted in integers.
* Otherwise (``SuperMajorityStake``): each Harmony slot gets ``H / #harmony``, each staked slot
  ``E × stake / total stake`` with ``E = 1 − H`` (all of 1 when one of the groups is empty); rounding
  dust goes to the last staked slot so the total is exactly 1. Quorum is power **strictly above 2/3**,
  checked as ``3·power > 2`` on the exact 18-decimal integers.
* A vote signed by several keys is accepted only if they all belong to one account (Harmony slots exempt).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harmony.chain.staking.rewards import voting_power
from harmony.crypto.bls import PublicKey
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import Committee


class Roster:
    """A committee's keys in bitmap order with their voting power."""

    def __init__(self, committee: Committee, harmony_vote_share: Dec) -> None:
        self.committee = committee
        self.keys: tuple[PublicKey, ...] = tuple(PublicKey(s.bls_public_key) for s in committee.slots)
        self.key_bytes: tuple[bytes, ...] = tuple(k.data for k in self.keys)
        self.index: dict[bytes, int] = {k: i for i, k in enumerate(self.key_bytes)}
        self.size = len(self.keys)
        slots = committee.slots
        self.equal = all(s.effective_stake is None for s in slots)
        self.power: tuple[Dec, ...] = () if self.equal else _staked_power(committee, harmony_vote_share)

    def power_of(self, indices: Iterable[int]) -> Dec:
        """Summed voting power of the given member indices (equal mode: count / n, for display)."""
        members = set(indices)
        if self.equal:
            return Dec.from_int(len(members)).quo_int(self.size) if self.size else Dec.zero()
        return sum((self.power[i] for i in members), Dec.zero())

    def is_quorum(self, indices: Iterable[int]) -> bool:
        """Whether the members reach quorum: strictly more than 2/3 (reference §1.4)."""
        members = set(indices)
        if self.equal:
            return 3 * len(members) > 2 * self.size
        return 3 * self.power_of(members).raw > 2 * Dec.one().raw

    def is_above_third(self, indices: Iterable[int]) -> bool:
        """Whether the members hold strictly more than 1/3 (at least one of them is honest)."""
        members = set(indices)
        if self.equal:
            return 3 * len(members) > self.size
        return 3 * self.power_of(members).raw > Dec.one().raw

    def same_owner(self, indices: Sequence[int]) -> bool:
        """Multi-key vote rule (reference §1.4): every staked key of one vote has one account."""
        owners = {
            self.committee.slots[i].ecdsa_address
            for i in indices
            if self.committee.slots[i].effective_stake is not None
        }
        return len(owners) <= 1


def _staked_power(committee: Committee, harmony_share: Dec) -> tuple[Dec, ...]:
    """Per-seat voting power: the chain's rule (:func:`harmony.chain.staking.rewards.voting_power`), so the
    quorum and the rewards always agree."""
    return voting_power(committee, harmony_share)
