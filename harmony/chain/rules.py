"""The rules one network validates by, fixed once from its preset and genesis (design §6, §7).

A :class:`ChainRules` is frozen: every switch that decides whether a block is valid is set when the chain
is opened, from the genesis file every node of the network shares, and nothing changes it afterwards. Two
nodes with the same genesis therefore accept the same blocks; a test that builds a chain with
:meth:`ChainRules.of` validates under exactly the node's rules.

* ``require_vrf``: every block after genesis carries its leader's VRF (design §7, reference §7);
* ``vdf_iterations``: the epoch VDF's difficulty, from the genesis file's ``vdf_iterations`` (``None``: the
  preset's, :func:`harmony.chain.randomness.vdf_iterations` of the epoch in which the VDF runs);
* ``assignment``: how the beacon chain's election places the elected seats: the Cuckoo rule over the epoch
  randomness (design §7) or key mod shards (the Go node's rule, kept for simulations and comparisons);
* ``operator_slots``: the genesis (operator-run) seats of every shard, which the beacon chain's election
  keeps and whose keys external validators may not register (reference §3.5);
* ``fences``: which shards are fenced to which jurisdiction and who may attest for it, from the genesis
  file's ``fences`` and each shard's ``fence`` (:mod:`harmony.chain.fences`,
  ``docs/design/fenced-shards.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from harmony.chain.epoch_randomness import vdf_iterations_for
from harmony.chain.fences import Fences
from harmony.chain.genesis import Genesis
from harmony.chain.params import NetworkParams
from harmony.crypto.vdf import MAX_ITERATIONS
from harmony.types.shard_state import ShardState, Slot


class Assignment(Enum):
    """How the election places elected seats in shards (design §7)."""

    CUCKOO = "cuckoo"
    """The Cuckoo rule over the epoch randomness (:func:`harmony.chain.assignment.cuckoo_assigner`)."""
    KEY_MOD = "key_mod"
    """BLS key modulo the shard count (:func:`harmony.chain.staking.election.key_mod_assign`)."""


@dataclass(frozen=True, slots=True)
class ChainRules:
    """The validity switches of one network (module docstring); build it with :meth:`of`."""

    params: NetworkParams
    operator_slots: tuple[tuple[Slot, ...], ...] = ()
    require_vrf: bool = True
    vdf_iterations: int | None = None
    assignment: Assignment = Assignment.CUCKOO
    fences: Fences = field(default_factory=Fences)

    def __post_init__(self) -> None:
        if self.vdf_iterations is not None and not 1 <= self.vdf_iterations <= MAX_ITERATIONS:
            raise ValueError(f"vdf_iterations must be in 1 .. 2^40, got {self.vdf_iterations}")
        if self.fences.shard_fences and len(self.fences.shard_fences) != self.params.shard_count:
            raise ValueError(
                f"fences name {len(self.fences.shard_fences)} shards, "
                f"the network has {self.params.shard_count}"
            )

    @classmethod
    def of(cls, genesis: Genesis) -> ChainRules:
        """The rules every node of ``genesis``'s network validates by: VRF required, the genesis file's VDF
        difficulty, the Cuckoo rule, the genesis committees as operator seats, the genesis file's fences."""
        return cls(
            genesis.params,
            operator_seats(genesis.shard_state()),
            require_vrf=True,
            vdf_iterations=genesis.vdf_iterations or None,
            assignment=Assignment.CUCKOO,
            fences=genesis.fence_rules(),
        )

    def vdf_iterations_for(self, seed_epoch: int) -> int:
        """The VDF difficulty for ``seed_epoch``'s seed (design §7): the genesis file's when it sets one, else
        :func:`~harmony.chain.randomness.vdf_iterations` of epoch ``seed_epoch + 1``, the one the VDF runs
        in. Consensus: every node of the network computes the same value."""
        return vdf_iterations_for(self.params, seed_epoch, self.vdf_iterations)


def operator_seats(shard_state: ShardState) -> tuple[tuple[Slot, ...], ...]:
    """The seats of every committee of ``shard_state`` in shard order, as :attr:`ChainRules.operator_slots`
    takes them: pass the genesis shard state (``Genesis.shard_state()``)."""
    return tuple(committee.slots for committee in sorted(shard_state.shards, key=lambda c: c.shard_id))


__all__ = ["Assignment", "ChainRules", "operator_seats"]
