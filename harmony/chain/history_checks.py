"""The checks of a block against the chain's history (reference §6.3, §6.4, §7; design §7).

What a block claims about other blocks and other shards is checked here, through a
:class:`~harmony.chain.view.ChainView`, before anything executes:

* :func:`check_randomness`: the leader's VRF (a BLS signature over the parent hash by a key of this
  epoch's committee whose account is the coinbase), and on the beacon chain an epoch VDF field only where
  and once it is due, with a valid proof (:func:`harmony.chain.epoch_randomness.check_block_randomness`);
* :func:`check_cross_shard`: every incoming receipt proof against its source committee and unspent here;
  on the beacon chain every crosslink against its shard's committee and not yet recorded; on another shard
  a carried shard state must be the one the beacon chain announced.

Both raise :class:`~harmony.chain.errors.InvalidBlock` naming the failed check.
"""

from __future__ import annotations

from harmony.chain.crosslinks import InvalidCrossLink, verify_block_crosslinks, verify_incoming_proofs
from harmony.chain.epoch_randomness import check_block_randomness, leader_keys
from harmony.chain.errors import InvalidBlock
from harmony.chain.rules import ChainRules
from harmony.chain.view import ChainView
from harmony.errors import HarmonyError
from harmony.types.block import Block
from harmony.types.crosslink import decode_crosslinks
from harmony.types.cx import InvalidCXProof
from harmony.types.header import Header


def check_randomness(
    rules: ChainRules, view: ChainView, header: Header, parent: Header, *, vrf_checked: bool = False
) -> None:
    """The randomness rules of ``header`` on ``parent`` (module docstring); a header without VRF or VDF
    passes only when the rules do not require a VRF. ``vrf_checked``: the caller ran
    :func:`~harmony.chain.epoch_randomness.check_leader_vrf` on this header already (see
    :func:`~harmony.chain.epoch_randomness.check_block_randomness`). Raises ``InvalidRandomness`` (an
    :class:`InvalidBlock`).
    """
    if not header.vrf and not header.vdf and not rules.require_vrf:
        return
    committee = None if vrf_checked else view.committee_for(header.shard_id, header.epoch)
    check_block_randomness(
        view,
        rules.params,
        header,
        parent,
        leader_keys(committee, header.coinbase),
        iterations=rules.vdf_iterations,
        require_vrf=rules.require_vrf,
        vrf_checked=vrf_checked,
    )


def check_cross_shard(rules: ChainRules, view: ChainView, block: Block) -> None:
    """The cross-shard parts of ``block`` against the history (module docstring). Raises
    :class:`InvalidBlock` (``incoming_receipts``, ``cross_links``, ``shard_state``)."""
    header = block.header
    share = rules.params.harmony_vote_share
    if block.incoming_receipts:
        try:
            verify_incoming_proofs(
                block.incoming_receipts, header.shard_id, view.committee_for, share, view.is_cx_spent
            )
        except (InvalidCXProof, InvalidBlock) as exc:
            raise InvalidBlock("incoming_receipts", str(exc)) from exc
    if header.cross_links:
        try:
            links = decode_crosslinks(header.cross_links)
            verify_block_crosslinks(
                links,
                view.committee_for,
                share,
                is_stored=lambda shard, number: view.get_crosslink(shard, number) is not None,
            )
        except (InvalidCrossLink, HarmonyError) as exc:
            raise InvalidBlock("cross_links", str(exc)) from exc
    if header.shard_state and not rules.params.is_beacon(header.shard_id):
        known = view.get_shard_state(header.epoch + 1)
        if known is None or known.encode() != header.shard_state:
            raise InvalidBlock(
                "shard_state",
                f"shard state for epoch {header.epoch + 1} is not the one the beacon chain announced",
            )


__all__ = ["check_cross_shard", "check_randomness"]
