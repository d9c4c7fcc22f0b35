"""The node's :class:`~harmony.node.consensus_env.Ledger`: the consensus driver's view of the real chain.

* an announced block is checked by executing it (:meth:`Blockchain.verify`); the result is kept, so a
  finalized block is executed once per node;
* a proposal is filled from the pool's executable transactions and the node's cross-shard, staking and
  randomness parts (:class:`BlockExtras`) by :meth:`Blockchain.propose_verified`; when the chain refuses an
  item of those pools, the block is built without them (the next block retries);
* a final block is stored with its commit aggregate in one write transaction, then the extras hear of it.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from typing import Protocol

from harmony.chain.errors import InvalidBlock
from harmony.chain.proposal import HeaderFields
from harmony.chain.randomness import make_header_vrf
from harmony.chain.transition import BlockBody, BuiltBlock
from harmony.consensus.api import (
    ChainTip,
    Commit,
    ConsensusConfig,
    LogStore,
    RequestProposal,
    SignerStore,
    genesis_tip,
)
from harmony.crypto.bls import SecretKey
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain, VerifiedBlock
from harmony.node.consensus_driver import ConsensusDriver
from harmony.node.consensus_env import TopicTransport
from harmony.node.txpool import TxPool
from harmony.types.block import Block
from harmony.types.crosslink import CrossLink
from harmony.types.cx import CXReceiptsProof
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState
from harmony.types.slash import Record
from harmony.types.staking import StakingTransaction
from harmony.types.transaction import Transaction
from harmony.types.tx_common import TX_GAS

log = logging.getLogger("harmony.node.consensus")

VERIFIED_CACHE = 16
"""Executed proposals kept for their commit (a few views' worth)."""


def chain_tip(chain: Blockchain) -> ChainTip:
    """Where consensus resumes: the stored head with its commit aggregate (genesis: no aggregate)."""
    head = chain.head
    if head.number == 0:
        return genesis_tip(head)
    sig = chain.db.get_commit_sig(head.number)
    if sig is None:
        raise HarmonyError(
            f"block {head.number} is stored without its commit signature: the data directory is damaged"
        )
    return ChainTip(head, sig[0], sig[1], head.view_id)


@dataclass(frozen=True, slots=True)
class ProposalInputs:
    """What a proposal carries besides the pool's transactions, each already verified by its pool."""

    staking: tuple[StakingTransaction, ...] = ()
    incoming_proofs: tuple[CXReceiptsProof, ...] = ()
    crosslinks: tuple[CrossLink, ...] = ()
    slash_records: tuple[Record, ...] = ()
    vdf: bytes = b""
    shard_state: ShardState | None = None
    """A non-beacon shard's copy of the next committees the beacon chain announced (reference §6.2)."""


class BlockExtras(Protocol):
    """The node's cross-shard, staking and randomness parts, as the driver sees them."""

    def proposal_inputs(self, parent: Header) -> ProposalInputs:
        """What the next block on ``parent`` should carry besides plain transactions."""
        ...

    def on_commit(self, block: Block, signature: bytes, bitmap: bytes, proposed_here: bool) -> None:
        """``block`` is final and stored with its commit aggregate (relay proofs, crosslinks, headers)."""
        ...


@dataclass(frozen=True, slots=True)
class ProposerLimits:
    """How much the leader puts in a block (beyond the gas limit the chain enforces)."""

    max_transactions: int = 5_000


MAX_HALVINGS = 4
"""A proposal after view changes takes at least 1/16 of what a block may hold."""


def failed_views(header_view: int, parent_view: int) -> int:
    """Views that ended without a block between a block's parent and the block (its view follows the
    parent's by one when none did)."""
    return max(0, header_view - parent_view - 1)


def halvings(request: RequestProposal, grandparent_view: int | None) -> int:
    """How many times a proposal is halved (:func:`lighter`): once per view that failed at this height and
    per view that failed at the parent's, at most :data:`MAX_HALVINGS`.

    Leader policy, not a validity rule: a view that timed out while its round carried a full block leaves
    an even larger backlog, so the next leader's full block would take longer still and time out again (16
    validators on two cores, 900 KB blocks: three views per height). A lighter block fits the round, and the
    height after a troubled one starts lighter too; a height whose parent needed no view change is full.
    """
    here = failed_views(request.view_id, request.parent.view_id)
    before = 0 if grandparent_view is None else failed_views(request.parent.view_id, grandparent_view)
    return min(here + before, MAX_HALVINGS)


def lighter(candidates: list[Transaction], gas_limit: int, limit: int, times: int) -> list[Transaction]:
    """The first of ``candidates`` (in the pool's order) within ``gas_limit`` and ``limit`` transactions,
    each halved ``times`` times (at least one transaction)."""
    budget, cap = gas_limit >> times, max(1, limit >> times)
    out: list[Transaction] = []
    for tx in candidates[:cap]:
        budget -= tx.gas
        if budget < 0:
            break
        out.append(tx)
    return out or candidates[:1]


class NodeLedger:
    """The driver's :class:`~harmony.node.consensus_env.Ledger` over a :class:`Blockchain` (module
    docstring); ``counters`` is the driver's."""

    def __init__(
        self,
        chain: Blockchain,
        pool: TxPool | None,
        counters: Counter[str],
        *,
        extras: BlockExtras | None = None,
        limits: ProposerLimits | None = None,
    ) -> None:
        self.chain = chain
        self.pool = pool
        self.counters = counters
        self.extras = extras
        self.limits = limits or ProposerLimits()
        self.verified: OrderedDict[bytes, VerifiedBlock] = OrderedDict()
        """Executed blocks not yet final, by hash (at most :data:`VERIFIED_CACHE`)."""

    def tip(self) -> ChainTip:
        """:func:`chain_tip` of the chain."""
        return chain_tip(self.chain)

    def head_number(self) -> int:
        """The stored head's number."""
        return self.chain.head.number

    def canonical_hash(self, number: int) -> bytes | None:
        """The stored block ``number``'s hash."""
        return self.chain.db.get_canonical_hash(number)

    def validate(self, block: Block, now_ms: int) -> bool:
        """Execute ``block`` on the head's state (design §3.4) and keep the result for its commit."""
        block_hash = block.hash()
        if block_hash in self.verified:
            return True
        try:
            verified = self.chain.verify(block, now=now_ms // 1000)
        except InvalidBlock as exc:
            log.warning("rejecting block %d 0x%s: %s", block.number, block_hash.hex()[:16], exc)
            self.counters[f"invalid_block_{exc.check}"] += 1
            return False
        self._remember(verified)
        return True

    def _remember(self, verified: VerifiedBlock) -> None:
        self.verified[verified.block.hash()] = verified
        while len(self.verified) > VERIFIED_CACHE:
            self.verified.popitem(last=False)

    def forget(self) -> None:
        """Drop the executed results of blocks not yet final."""
        self.verified.clear()

    def propose(
        self, request: RequestProposal, keys: tuple[SecretKey, ...], committee: Committee, now_ms: int
    ) -> Block | None:
        """Fill a block from the pool and the extras on the head; without the extras' pool items when the
        chain refuses one of them (a stale crosslink must not stop this leader from proposing)."""
        head = self.chain.head
        if request.parent.hash() != head.hash():
            log.error("asked to propose on block %d, but the head is %d", request.parent.number, head.number)
            self.counters["propose_not_on_head"] += 1
            return None
        # no block holds more than gas limit / 21,000 transactions: do not try the rest
        gas_limit = self.chain.params.gas_limit(head.epoch)
        limit = min(self.limits.max_transactions, gas_limit // TX_GAS)
        candidates = self.pool.executable(limit) if self.pool is not None else []
        grandparent = self.chain.get_header(head.parent_hash) if head.number > 0 else None
        times = halvings(request, None if grandparent is None else grandparent.view_id)
        if times and candidates:
            candidates = lighter(candidates, gas_limit, limit, times)
            self.counters["proposals_lighter"] += 1
        try:
            coinbase = committee.address_for_bls_key(request.leader_key)
        except HarmonyError:
            coinbase = b"\x00" * 20
        inputs = self.extras.proposal_inputs(head) if self.extras is not None else ProposalInputs()
        leader = next((k for k in keys if k.public_key.to_bytes() == request.leader_key), None)
        vrf = make_header_vrf(leader, head.hash()) if leader is not None else b""
        # a header's time must be after its parent's (reference §2.1): a second block within one second
        # takes the next second (the chain then runs up to ALLOWED_FUTURE_SECONDS ahead)
        shell = _Shell(request, candidates, coinbase, max(now_ms // 1000, head.time + 1), vrf)
        try:
            built, verified = self._build(shell, inputs)
        except HarmonyError as exc:
            log.error("cannot build block %d: %s", request.height, exc)
            self.counters["propose_failed"] += 1
            optional = (inputs.staking, inputs.incoming_proofs, inputs.crosslinks, inputs.slash_records)
            if not any(optional):
                return None
            plain = replace(inputs, staking=(), incoming_proofs=(), crosslinks=(), slash_records=())
            try:
                built, verified = self._build(shell, plain)
            except HarmonyError as again:
                log.error("cannot build block %d without the pools' items either: %s", request.height, again)
                return None
            self.counters["propose_without_pool_items"] += 1
        self._remember(verified)
        log.info(
            "proposing block %d (view %d) with %d transactions (%d skipped)",
            request.height,
            request.view_id,
            len(built.block.transactions),
            len(built.skipped),
        )
        return built.block

    def _build(self, shell: _Shell, inputs: ProposalInputs) -> tuple[BuiltBlock, VerifiedBlock]:
        """Build and verify the block ``shell`` asks for from ``inputs`` (``InvalidBlock`` if refused)."""
        request = shell.request
        fields = HeaderFields(
            shell.coinbase,
            shell.timestamp,
            request.view_id,
            shard_state=inputs.shard_state,
            last_commit=(request.last_commit_signature, request.last_commit_bitmap),
            crosslinks=inputs.crosslinks,
            slash_records=inputs.slash_records,
            vrf=shell.vrf,
            vdf=inputs.vdf,
        )
        return self.chain.propose_verified(
            fields, BlockBody(shell.candidates, inputs.staking, inputs.incoming_proofs)
        )

    def store(self, commit: Commit) -> bool:
        """Store the head's final child with its commit aggregate (executed again only if its kept result
        is gone); the results of other blocks at or below its height are freed."""
        block = commit.block
        block_hash = block.hash()
        head = self.chain.head
        verified = self.verified.pop(block_hash, None)
        try:
            if verified is None or verified.block.header.parent_hash != head.hash():
                verified = self.chain.verify(block, final=True)  # the core checked its commit quorum
            self.chain.store(verified, commit_sig=(commit.commit_signature, commit.bitmap))
        except HarmonyError as exc:
            log.critical("finalized block %d 0x%s cannot be stored: %s", block.number, block_hash.hex(), exc)
            return False
        # results of other blocks of this height or below can never be committed now: free them
        for stale in [h for h, v in self.verified.items() if v.block.number <= block.number]:
            del self.verified[stale]
        return True

    def after_commit(self, block: Block, signature: bytes, bitmap: bytes, proposed_here: bool) -> None:
        """The extras' work after a final block (relays, crosslinks); a failure is logged, not raised."""
        if self.extras is None:
            return
        try:
            self.extras.on_commit(block, signature, bitmap, proposed_here)
        except Exception:
            log.exception("cross-shard work after block %d failed", block.number)


@dataclass(frozen=True, slots=True)
class _Shell:
    """What a proposal is built around besides the extras' inputs."""

    request: RequestProposal
    candidates: list[Transaction]
    coinbase: bytes
    timestamp: int
    vrf: bytes


def node_driver(
    chain: Blockchain,
    pool: TxPool | None,
    config: ConsensusConfig,
    stores: tuple[SignerStore, LogStore],
    transport: TopicTransport,
    *,
    extras: BlockExtras | None = None,
    all_keys: tuple[SecretKey, ...] | None = None,
    debug_equivocate: bool = False,
) -> ConsensusDriver:
    """The node's driver: over :class:`NodeLedger`, the shard topic's ``transport``, a
    :class:`~harmony.node.consensus_env.TimerTable` and the wall clock (``transport.counters`` are the
    driver's counters)."""
    counters = transport.counters
    return ConsensusDriver(
        ledger=NodeLedger(chain, pool, counters, extras=extras),
        transport=transport,
        config=config,
        signer_store=stores[0],
        log_store=stores[1],
        shard_id=chain.shard_id,
        counters=counters,
        all_keys=all_keys,
        debug_equivocate=debug_equivocate,
    )
