"""The watched keys' validators' rewards: lifetime reward accumulated and APR, read from the beacon state.

Rewards belong to a validator (its ECDSA address), not to a key: a key's validator is the address of its
staked seat in this epoch's or the next epoch's committees, on any shard (Harmony-operated seats earn
nothing and have no record). :func:`read_rewards` reads each such validator's record at a block and at
its epoch snapshot (:func:`harmony.chain.staking.rewards.epoch_snapshot_number`) and applies the chain's
one APR rule (:func:`harmony.chain.staking.rewards.apr_since_snapshot`), as
``hmyv2_getValidatorInformation`` does, so the dashboard, the metrics and the RPC agree at the same block.
Only a beacon node (shard 0) holds the records; the ops service reads them once per new head, never per
scrape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harmony.chain.params import NetworkParams
from harmony.chain.staking.records import get_validator_wrapper
from harmony.chain.staking.rewards import apr_since_snapshot, epoch_snapshot_number
from harmony.encoding.fixed import Dec
from harmony.errors import RLPError
from harmony.state.statedb import StateDB
from harmony.state.trie import MissingTrieNode
from harmony.storage.chaindb import ChainDB
from harmony.types.shard_state import Committee
from harmony.types.validator import ValidatorWrapper


@dataclass(frozen=True, slots=True)
class ValidatorRewards:
    """One validator's rewards at block :attr:`block` (module docstring)."""

    address: bytes
    keys: tuple[bytes, ...]
    """The watched keys that seat this validator."""
    reward_atto: int
    """Lifetime block reward (``lifetime.reward-accumulated``), atto."""
    apr: Dec
    """``lifetime.apr`` at :attr:`block`."""
    block: int


def staked_owners(keys: Iterable[bytes], committees: Iterable[Committee | None]) -> dict[bytes, list[bytes]]:
    """Validator address → the ``keys`` it holds staked seats with in ``committees`` (first seen first)."""
    wanted = set(keys)
    owners: dict[bytes, list[bytes]] = {}
    for committee in committees:
        if committee is None:
            continue
        for slot in committee.slots:
            if slot.effective_stake is None or slot.bls_public_key not in wanted:
                continue
            held = owners.setdefault(slot.ecdsa_address, [])
            if slot.bls_public_key not in held:
                held.append(slot.bls_public_key)
    return owners


def _wrapper(state: StateDB, address: bytes) -> ValidatorWrapper | None:
    try:
        return get_validator_wrapper(state, address)
    except RLPError:  # an account whose code is not a validator record
        return None


def read_rewards(
    db: ChainDB, params: NetworkParams, number: int, owners: dict[bytes, list[bytes]]
) -> list[ValidatorRewards]:
    """Each of ``owners``' validators' reward and APR at block ``number`` of a beacon chain (module
    docstring); a validator without a record is left out, and so is everything when the block or its
    epoch snapshot is not stored or its state is pruned."""
    header = db.get_header_by_number(number)
    if header is None or not owners:
        return []
    snapshot_header = db.get_header_by_number(epoch_snapshot_number(params, header.epoch, number))
    if snapshot_header is None:
        return []
    nodes = db.state_nodes()
    state, snapshot_state = StateDB(nodes, header.root), StateDB(nodes, snapshot_header.root)
    out = []
    for address, keys in owners.items():
        try:
            wrapper = _wrapper(state, address)
            snapshot = _wrapper(snapshot_state, address)
        except MissingTrieNode:  # a pruned state: nothing to show for this block
            return []
        if wrapper is None:
            continue
        apr = apr_since_snapshot(wrapper, header.time, snapshot, snapshot_header.time)
        out.append(ValidatorRewards(address, tuple(keys), wrapper.block_reward, apr, number))
    return out
