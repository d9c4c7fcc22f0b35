"""The network's validity rules are fixed from the genesis file (design §6, §7)."""

from __future__ import annotations

import dataclasses

import pytest

from harmony.chain import randomness as rnd
from harmony.chain.genesis import genesis_to_json, load_genesis, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.chain.rules import Assignment, ChainRules, operator_seats


def test_the_rules_come_from_the_genesis_file() -> None:
    genesis = make_localnet_genesis(accounts=2, vdf_iterations=5_000)
    text = genesis_to_json(genesis)
    assert '"vdf_iterations": 5000' in text
    rules = ChainRules.of(load_genesis(text))
    assert rules.params is LOCALNET
    assert rules.require_vrf and rules.assignment is Assignment.CUCKOO
    assert rules.vdf_iterations == 5_000 and rules.vdf_iterations_for(3) == 5_000
    assert rules.operator_slots == operator_seats(genesis.shard_state())
    assert [len(seats) for seats in rules.operator_slots] == [LOCALNET.harmony_seats_per_shard] * 2


def test_without_a_difficulty_the_preset_sizes_the_vdf() -> None:
    genesis = make_localnet_genesis(accounts=2)
    assert '"vdf_iterations"' not in genesis_to_json(genesis)
    rules = ChainRules.of(genesis)
    assert rules.vdf_iterations is None
    assert rules.vdf_iterations_for(0) == rnd.vdf_iterations(LOCALNET, 1)


def test_rules_are_frozen_and_checked() -> None:
    rules = ChainRules.of(make_localnet_genesis(accounts=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.require_vrf = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="vdf_iterations"):
        ChainRules(LOCALNET, vdf_iterations=0)
