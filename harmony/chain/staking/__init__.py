"""Staking rules (reference §2.4–§2.5, §3, §4, §5; design §5): pure functions over the world state.

* :mod:`~harmony.chain.staking.records`: where validator records and the registries (validator list,
  BLS keys, identities) live in the state.
* :mod:`~harmony.chain.staking.errors`: :class:`StakingError`, a refusal with a stable reason code.
* :mod:`~harmony.chain.staking.transactions`: the five staking messages checked and applied (§2.5).
* :mod:`~harmony.chain.staking.undelegation`: undelegations paid out after the 7-epoch lock (design §5).
* :mod:`~harmony.chain.staking.epoch`: the end-of-epoch hook of the beacon chain's last block.
"""
