"""Staking rules (reference §2.4–§2.5, §3, §4, §5; design §5): pure functions over the world state.

* :mod:`~harmony.chain.staking.records`: where validator records and the registries (validator list,
  BLS keys, identities) live in the state.
"""
