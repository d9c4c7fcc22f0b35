"""The proposer's side of the state transition: a block built on its parent from candidates (reference
§1.3, §2, §6).

:func:`build_block` runs the very steps :func:`harmony.chain.transition.apply_block` runs to verify
(:func:`~harmony.chain.transition.execute_body`), except that it leaves invalid candidates out instead of
refusing the block, then seals every header root; so a built block verifies by construction. What the
proposer chooses for the header is one :class:`HeaderFields`; the candidates are one
:class:`~harmony.chain.transition.BlockBody`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from harmony.chain import validation
from harmony.chain.params import NetworkParams
from harmony.chain.state_api import WorldState
from harmony.chain.transition import (
    BlockBody,
    BuiltBlock,
    Economy,
    Executor,
    TransitionContext,
    elect_next,
    execute_body,
)
from harmony.types.block import make_block
from harmony.types.crosslink import CrossLink, encode_crosslinks, sort_crosslinks
from harmony.types.header import Header
from harmony.types.shard_state import ShardState
from harmony.types.slash import Record, encode_records


@dataclass(frozen=True, slots=True)
class HeaderFields:
    """What a proposer chooses for its block's header; number, epoch, gas limit and shard follow from the
    parent and the rules, and the roots from the execution."""

    coinbase: bytes
    timestamp: int
    view_id: int = 0
    extra: bytes = b""
    shard_state: ShardState | None = None
    """The next epoch's committees: taken as given on a shard (the beacon's, copied); on the beacon chain
    elected by :func:`build_block` when the economy has the operator seats, else required at an epoch's
    end."""
    last_commit: tuple[bytes, bytes] | None = None
    """The parent's commit (signature, bitmap; reference §1.5), verified already."""
    crosslinks: Sequence[CrossLink] = ()
    """Verified crosslinks (beacon chain), put in beacon-header order
    (:func:`~harmony.types.crosslink.sort_crosslinks`)."""
    slash_records: Sequence[Record] = ()
    """Verified slash records (beacon chain)."""
    vrf: bytes = b""
    """The leader's VRF (β ‖ π) over the parent hash (reference §7, :mod:`harmony.chain.randomness`)."""
    vdf: bytes = b""
    """An epoch VDF field where one is due."""


def child_header(params: NetworkParams, parent: Header, fields: HeaderFields) -> Header:
    """The unsealed header of ``parent``'s child with the proposer's ``fields``: number, epoch and gas limit
    per the rules (§2.1, §6), the parent's commit, crosslinks in beacon-header order, slash records and the
    randomness fields."""
    epoch = validation.expected_epoch(params, parent)
    header = Header(
        parent_hash=parent.hash(),
        coinbase=fields.coinbase,
        number=parent.number + 1,
        gas_limit=params.gas_limit(epoch),
        time=fields.timestamp,
        extra=fields.extra,
        view_id=fields.view_id,
        epoch=epoch,
        shard_id=parent.shard_id,
        shard_state=b"" if fields.shard_state is None else fields.shard_state.encode(),
        cross_links=encode_crosslinks(sort_crosslinks(fields.crosslinks)),
        slashes=encode_records(fields.slash_records),
        vrf=fields.vrf,
        vdf=fields.vdf,
    )
    return header if fields.last_commit is None else header.with_last_commit(*fields.last_commit)


def proposed_header(
    state: WorldState, parent: Header, fields: HeaderFields, params: NetworkParams, economy: Economy
) -> Header:
    """:func:`child_header`, with the beacon chain's election at an epoch's last block: with the economy's
    operator seats the chain elects the next committees itself
    (:func:`~harmony.chain.transition.elect_next` over ``state``, the parent's, before anything executes)
    and ``fields.shard_state`` is ignored; without, it is required (``ValueError``)."""
    number = parent.number + 1
    if params.is_beacon(parent.shard_id) and params.is_last_block(number):
        if economy.operator_slots:
            elected = elect_next(state, params, validation.expected_epoch(params, parent), economy)
            fields = replace(fields, shard_state=elected)
        elif fields.shard_state is None:
            raise ValueError(f"beacon block {number} ends an epoch: the next shard state is required")
    return child_header(params, parent, fields)


def build_block(
    state: WorldState,
    parent: Header,
    fields: HeaderFields,
    candidates: BlockBody,
    params: NetworkParams,
    *,
    executor: Executor,
    block_hashes: tuple[bytes, ...] = (),
    economy: Economy | None = None,
) -> BuiltBlock:
    """Propose a block on ``parent`` (``state`` is its state): the header of :func:`proposed_header`, then
    :func:`~harmony.chain.transition.execute_body` over ``candidates`` as a proposer (candidate
    transactions in order, then, on the beacon chain, the staking candidates, each invalid one skipped
    with its reason; the incoming proofs credited; finalized: slashes, rewards, crosslinks, the epoch's
    end), then every root sealed (transactions, receipts, bloom, outgoing and incoming receipts, state, gas
    used).

    The parent's commit, crosslinks and slash records go into the header **before** execution, since the
    rewards and slashes depend on them: the caller passes verified ones (an invalid one raises
    :class:`~harmony.chain.errors.InvalidBlock`, as it would for every validator); the same holds for the
    incoming proofs. Staking candidates given to another shard are all skipped (``WrongShard``). Without
    an ``economy`` the block pays no rewards and cannot elect (:class:`~harmony.chain.transition.Economy`).
    """
    economy = economy if economy is not None else Economy()
    header = proposed_header(state, parent, fields, params, economy)
    ctx = TransitionContext.for_header(params, header, block_hashes, economy)
    executed = execute_body(state, header, candidates, ctx, executor, proposing=True)
    result = executed.result
    block = make_block(
        header.replace(root=result.state_root, gas_used=result.gas_used),
        transactions=executed.transactions,
        staking_transactions=executed.staking_transactions,
        receipts=result.receipts,
        outgoing_receipts=result.outgoing_cx_receipts,
        incoming_receipts=candidates.incoming_receipts,
    )
    return BuiltBlock(block, result, executed.skipped, executed.skipped_staking)


__all__ = ["HeaderFields", "build_block", "child_header", "proposed_header"]
