"""The state transition: a block applied to the world state (YP §4.3.2, §6; reference §2, §6.4).

Read top to bottom, as ethereum/execution-specs' ``fork.py``:

* :func:`state_transition` checks a block against its parent, applies it and checks the result;
* :func:`apply_block` applies every transaction in order, enforcing the block gas limit, and returns the
  receipts, gas used, outgoing cross-shard receipts, bloom and state root;
* :func:`apply_transaction` checks one transaction (:mod:`harmony.chain.transactions`) and executes it: a
  plain transfer on the fast path (:mod:`harmony.chain.transfers`), a cross-shard transfer as a debit and
  a :class:`CXReceipt`, everything else (contract creation, calls) through the injected EVM
  :class:`Executor`; it ends with the receipt (status, cumulative gas, logs, bloom);
* :func:`apply_staking_transaction` checks and applies one staking transaction (beacon chain only,
  reference §2.4): signature for the Harmony chain ID, nonce, gas; it charges ``intrinsic gas × gas price``
  (paid per the fee policy, as plain transactions), bumps the nonce and applies the message
  (:mod:`harmony.chain.staking.transactions`); its receipt has status 1 and no logs (Harmony's staking
  receipts carry a log only for CollectRewards; we keep none);
* after the staking transactions, the block's incoming cross-shard receipts are credited
  (:mod:`harmony.chain.cx_credit`, reference §6.4);
* :func:`finalize_block` then runs the beacon chain's economy (:mod:`harmony.chain.staking.economy`): slash
  records, the block reward for the parent from ``last_commit_bitmap``, the rewards of the crosslinks; and at
  the last beacon block of an epoch :func:`harmony.chain.staking.epoch.end_of_epoch` (availability,
  undelegation payout, the election's side effects, the counter snapshot);
* the election (check ``shard_state``): the last beacon block of an epoch carries the next epoch's
  committees, :func:`harmony.chain.staking.epoch.next_shard_state` over the **parent's** state; the
  proposer computes it before executing anything and every validator recomputes it the same way
  (when the context has the operator seats, :attr:`TransitionContext.operator_slots`);
* :func:`begin_replay` re-executes a stored block for tracing: the same context and pre-transaction steps
  (:func:`begin_block`), then :func:`apply_transactions` (the loop :func:`apply_block` runs) in part;
* :func:`execute_body` is the sequence of steps after the header (transactions, staking transactions,
  incoming receipts, :func:`finalize_block`, the state root) that :func:`apply_block` runs to verify and
  :func:`harmony.chain.proposal.build_block` runs to propose, skipping the invalid candidates.

What the economy needs from outside this layer is injected through :class:`TransitionContext` (and the
:class:`Economy` of :func:`harmony.chain.proposal.build_block`): the genesis operator seats,
``committee_for(shard, epoch)``, the seat assignment and the slash-vote check. Left out, the block pays no
rewards and the chain cannot elect (the caller then passes the next shard state itself).

A transaction that fails while executing (revert, out of gas) still pays for its gas and gets a status-0
receipt. A transaction that is invalid (bad nonce, funds, chain ID, gas) makes the whole block invalid:
:class:`InvalidBlockTransaction`, an :class:`InvalidBlock` naming the transaction's index and reason. An
invalid block leaves the state part-applied: the caller drops it (``harmony.state.StateDB`` keeps changes
in memory until ``commit``, so nothing reaches the database). Staking transactions run after the plain
ones, as Harmony orders them, with receipts after theirs (one index space, reference §2.1); an invalid one
makes the block invalid (:class:`InvalidBlockStakingTransaction`, check ``staking_transaction``) and a
staking transaction outside the beacon chain is refused (check ``staking_shard``).

Fees go where :attr:`NetworkParams.fee_policy` says (burned on both presets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from harmony.chain import transactions, transfers, validation
from harmony.chain.cx_credit import check_incoming_limits, credit_incoming_receipts
from harmony.chain.epoch_randomness import assigner_for_parent, fenced_assigner_for_parent
from harmony.chain.errors import (
    GasLimitExceeded,
    InsufficientFunds,
    InvalidBlock,
    NonceTooHigh,
    NonceTooLow,
    WrongShard,
)
from harmony.chain.evidence import record_votes_valid
from harmony.chain.fenced_assignment import FencedAssignFn
from harmony.chain.fences import Fences
from harmony.chain.history_checks import check_cross_shard, check_randomness
from harmony.chain.params import NetworkParams
from harmony.chain.rules import Assignment, ChainRules, operator_seats
from harmony.chain.staking.economy import (
    CommitteeFor,
    VerifyVotes,
    apply_slashes,
    pay_crosslinks,
    pay_parent_commit,
)
from harmony.chain.staking.election import AssignFn, key_mod_assign
from harmony.chain.staking.epoch import EpochEnd, end_of_epoch, next_shard_state
from harmony.chain.staking.rewards import RewardPayout
from harmony.chain.staking.slashing import SlashResult
from harmony.chain.staking.supply import record_supply_change
from harmony.chain.staking.transactions import StakingContext, apply_staking_message
from harmony.chain.state_api import BlockEnv, ExecutionResult, Message, WorldState
from harmony.chain.view import ChainView
from harmony.errors import DecodeError, HarmonyError, InvalidTransaction, SignatureError
from harmony.types.block import Block
from harmony.types.crosslink import decode_crosslinks
from harmony.types.cx import CXReceipt, CXReceiptsProof
from harmony.types.eth_transaction import EthTransaction
from harmony.types.header import Header
from harmony.types.receipt import Log, Receipt, receipts_bloom
from harmony.types.shard_state import ShardState, Slot
from harmony.types.slash import decode_records
from harmony.types.staking import StakingTransaction, check_signer
from harmony.types.transaction import Transaction, from_eth
from harmony.types.tx_common import IntrinsicGasTooLow


class Executor(Protocol):
    """The EVM: runs a message over the state with Istanbul rules (``harmony.state.evm.apply_message``).

    It validates, buys gas, increments the nonce, executes, refunds, pays the fee to ``fee_recipient``
    (``None`` burns it) and applies EIP-161; it raises the typed errors of :mod:`harmony.chain.errors` for
    an invalid message.
    """

    def __call__(
        self, state: WorldState, msg: Message, env: BlockEnv, /, *, fee_recipient: bytes | None
    ) -> ExecutionResult:
        """Execute ``msg`` in the block described by ``env``."""
        ...


class InvalidBlockTransaction(InvalidBlock):
    """A block carries an invalid transaction; ``index`` and ``reason`` say which and why."""

    def __init__(self, index: int, reason: InvalidTransaction) -> None:
        super().__init__("transaction", f"transaction {index}: {type(reason).__name__}: {reason}")
        self.index = index
        self.reason = reason


class InvalidBlockStakingTransaction(InvalidBlock):
    """A block carries an invalid staking transaction; ``index`` (among the staking transactions) and
    ``reason`` (a :class:`~harmony.chain.staking.errors.StakingError` or a shared transaction check) say
    which and why."""

    def __init__(self, index: int, reason: InvalidTransaction) -> None:
        super().__init__(
            "staking_transaction", f"staking transaction {index}: {type(reason).__name__}: {reason}"
        )
        self.index = index
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Economy:
    """What the beacon chain's economy needs from outside this layer (all optional; module docstring).

    :func:`state_transition` fills it from the :class:`~harmony.chain.rules.ChainRules` and the
    :class:`~harmony.chain.view.ChainView`; a test of the execution alone passes the parts it exercises."""

    operator_slots: tuple[tuple[Slot, ...], ...] = ()
    """The genesis committees (:attr:`TransitionContext.operator_slots`)."""
    committee_for: CommitteeFor | None = None
    """The committee lookup (:attr:`TransitionContext.committee_for`)."""
    assign: AssignFn = key_mod_assign
    """The seat assignment of the election (:attr:`TransitionContext.assign`)."""
    verify_votes: VerifyVotes | None = None
    """The slash-vote check (:attr:`TransitionContext.verify_votes`)."""
    reserved_bls_keys: frozenset[bytes] = frozenset()
    """BLS keys validators may not register besides the operator seats'."""
    fences: Fences = field(default_factory=Fences)
    """The country fences (:attr:`TransitionContext.fences`)."""
    fenced_assign: FencedAssignFn | None = None
    """The fenced election's assignment (:attr:`TransitionContext.fenced_assign`)."""


@dataclass(frozen=True, slots=True)
class TransitionContext:
    """What the rules need besides the state and the block: the network, the shard, the EVM's view, and
    what the beacon chain's economy needs from outside this layer (all optional)."""

    params: NetworkParams
    shard_id: int
    env: BlockEnv
    """The block as the EVM sees it; ``env.chain_id`` is the shard's Ethereum chain ID (EIP-1344)."""
    epoch: int = 0
    """The block's epoch (staking: undelegation dates, commission changes; the end-of-epoch hook)."""
    reserved_bls_keys: frozenset[bytes] = frozenset()
    """BLS keys of Harmony-operated seats, which validators may not register (reference §2.5); the keys of
    :attr:`operator_slots` are always added."""
    operator_slots: tuple[tuple[Slot, ...], ...] = ()
    """The Harmony-operated seats of every shard (the genesis committees, :func:`operator_seats`); the
    election places them first. Empty: the chain cannot elect, and does not check the header's shard
    state against an election."""
    committee_for: CommitteeFor | None = None
    """``committee_for(shard, epoch)``: the committee that signs ``shard``'s blocks in ``epoch`` (``None``
    when unknown). Without it the beacon chain pays no block rewards and counts no signatures."""
    assign: AssignFn = key_mod_assign
    """Places the elected seats in shards (:data:`harmony.chain.staking.election.AssignFn`)."""
    verify_votes: VerifyVotes | None = None
    """The BLS check of a slash record's two votes; without it a block carrying slashes is invalid."""
    fences: Fences = field(default_factory=Fences)
    """The network's country fences (:attr:`~harmony.chain.rules.ChainRules.fences`), which attestations are
    checked against; default: none, so every attestation is refused."""
    fenced_assign: FencedAssignFn | None = None
    """Places the elected seats when :attr:`fences` fence a shard (:mod:`harmony.chain.fenced_assignment`);
    a fenced beacon chain without it cannot elect."""
    accepted_chain_ids: frozenset[int] = field(init=False, default=frozenset())
    """Chain IDs transactions may be signed for: the network's Harmony ID and the shard's Ethereum ID."""
    fee_recipient: bytes | None = field(init=False, default=None)
    """Who receives this block's fees (``None``: burned), per the network's fee policy."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "accepted_chain_ids", self.params.accepted_chain_ids(self.shard_id))
        object.__setattr__(self, "fee_recipient", self.params.fee_policy.fee_recipient(self.env.coinbase))
        if self.operator_slots:
            operator_keys = frozenset(s.bls_public_key for seats in self.operator_slots for s in seats)
            object.__setattr__(self, "reserved_bls_keys", self.reserved_bls_keys | operator_keys)

    @classmethod
    def for_header(
        cls,
        params: NetworkParams,
        header: Header,
        block_hashes: tuple[bytes, ...] = (),
        economy: Economy = Economy(),
    ) -> TransitionContext:
        """The context for executing the block whose header is ``header``."""
        env = BlockEnv(
            coinbase=header.coinbase,
            number=header.number,
            timestamp=header.time,
            gas_limit=header.gas_limit,
            chain_id=params.eth_chain_id(header.shard_id),
            block_hashes=block_hashes,
        )
        return cls(
            params,
            header.shard_id,
            env,
            header.epoch,
            economy.reserved_bls_keys,
            operator_slots=tuple(tuple(seats) for seats in economy.operator_slots),
            committee_for=economy.committee_for,
            assign=economy.assign,
            verify_votes=economy.verify_votes,
            fences=economy.fences,
            fenced_assign=economy.fenced_assign,
        )

    @property
    def staking(self) -> StakingContext:
        """The context the staking rules run in."""
        return StakingContext(self.params, self.epoch, self.env.number, self.reserved_bls_keys, self.fences)

    @property
    def ends_epoch_on_beacon(self) -> bool:
        """Whether this block is the beacon chain's last block of its epoch (the election block)."""
        number = self.env.number
        return self.params.is_beacon(self.shard_id) and number > 0 and self.params.is_last_block(number)


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """What applying one transaction did."""

    receipt: Receipt
    gas_used: int
    sender: bytes
    contract_address: bytes | None = None
    cx_receipt: CXReceipt | None = None
    error: str | None = None
    """Why execution failed (status-0 receipt), else ``None``."""


@dataclass(frozen=True, slots=True)
class Finalized:
    """What :func:`finalize_block` did after the transactions and incoming receipts."""

    rewards: tuple[RewardPayout, ...] = ()
    """Block rewards paid: the parent's commit first (when paid), then each paid crosslink in header order."""
    slashes: tuple[SlashResult, ...] = ()
    """Slash records applied, in header order."""
    epoch_end: EpochEnd | None = None
    """What the end-of-epoch hook did, on the beacon chain's last block of an epoch; else ``None``."""


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What applying a block produced: the values its header commits to (YP §4.3.2)."""

    receipts: tuple[Receipt, ...]
    gas_used: int
    outgoing_cx_receipts: tuple[CXReceipt, ...]
    bloom: bytes
    state_root: bytes
    outcomes: tuple[TxOutcome, ...] = ()
    """Per-transaction detail (sender, contract address, error) for storage and RPC; staking transactions
    follow the plain ones."""
    epoch_end: EpochEnd | None = None
    """What the end-of-epoch hook did, on the beacon chain's last block of an epoch; else ``None``."""
    rewards: tuple[RewardPayout, ...] = ()
    """Block rewards paid by this (beacon) block (:attr:`Finalized.rewards`)."""
    slashes: tuple[SlashResult, ...] = ()
    """Slash records applied by this (beacon) block."""
    incoming_credited: int = 0
    """Atto credited to recipients of incoming cross-shard receipts."""

    @property
    def minted(self) -> int:
        """Atto created by this block: the rewards paid (the supply grows by exactly this, less slashes'
        and fees' burns)."""
        return sum(payout.paid for payout in self.rewards)


def state_transition(
    rules: ChainRules,
    view: ChainView,
    state: WorldState,
    block: Block,
    *,
    executor: Executor,
    now: int | None = None,
    final: bool = False,
    vrf_checked: bool = False,
) -> BlockResult:
    """The whole rule of validity of ``block`` (reference §1.5, §2, §6, §7): ``state`` is its parent's state,
    ``view`` the chain's history. Raises :class:`InvalidBlock` naming the failed check; read top to bottom:

    1. the parent is known, and the header follows from it (number, time, epoch, gas limit, shard,
       :func:`harmony.chain.validation.validate_header`);
    2. the randomness: the leader's VRF, an epoch VDF only where due
       (:func:`harmony.chain.history_checks.check_randomness`; with ``vrf_checked`` the caller checked
       the VRF already by the same rule, :func:`harmony.chain.epoch_randomness.check_leader_vrf`);
    3. unless ``final`` (the block carries a verified commit quorum, so a node that missed the other
       shards' history takes them as the quorum checked them): incoming receipt proofs, crosslinks and a
       carried shard state against the history (:func:`~harmony.chain.history_checks.check_cross_shard`);
    4. the body matches the header's roots (:func:`~harmony.chain.validation.validate_body`);
    5. the execution (:func:`apply_block`: the election check, transactions, staking transactions,
       incoming receipts, rewards, slashes, the epoch end) under the rules' economy;
    6. the result matches the header (:func:`~harmony.chain.validation.validate_result`).

    On an invalid block ``state`` may be part-applied: the caller executes each block on a fresh state
    over its parent's root (``harmony.state.StateDB``) and drops it on failure.
    """
    header = block.header
    parent = view.get_header(header.parent_hash)
    if parent is None or parent.number + 1 != header.number:
        raise InvalidBlock(
            "parent", f"block {header.number}'s parent 0x{header.parent_hash.hex()[:16]}… is not stored"
        )
    validation.validate_header(header, parent, rules.params, now=now)
    check_randomness(rules, view, header, parent, vrf_checked=vrf_checked)
    if not final:
        check_cross_shard(rules, view, block)
    validation.validate_body(block, rules.params)
    ctx = context_of(rules, view, header, parent)
    result = apply_block(state, block, ctx, executor)
    validation.validate_result(
        header, result.receipts, result.gas_used, result.state_root, result.outgoing_cx_receipts
    )
    return result


def context_of(rules: ChainRules, view: ChainView, header: Header, parent: Header) -> TransitionContext:
    """The context block ``header`` (child of ``parent``) executes in: the rules' network, the view's block
    hashes for BLOCKHASH and the economy of :func:`economy_of`."""
    return TransitionContext.for_header(
        rules.params, header, view.block_hashes(header.number), economy_of(rules, view, parent)
    )


def begin_replay(rules: ChainRules, view: ChainView, state: WorldState, block: Block) -> TransitionContext:
    """Start re-executing a stored ``block`` on ``state``, its parent's state (for tracing: a transaction
    is replayed on the state it ran on): the context :func:`state_transition` builds and what
    :func:`apply_block` does before the first transaction (:func:`begin_block`). Then
    :func:`apply_transactions` runs the transactions, in part or whole, with any executor. The block was
    accepted, so its header and history checks are not repeated; :class:`InvalidBlock` ``parent`` when its
    parent is not stored."""
    header = block.header
    parent = view.get_header(header.parent_hash)
    if parent is None or parent.number + 1 != header.number:
        raise InvalidBlock("parent", f"block {header.number}'s parent is not stored")
    ctx = context_of(rules, view, header, parent)
    begin_block(state, block, ctx)
    return ctx


def economy_of(rules: ChainRules, view: ChainView, parent: Header) -> Economy:
    """The economy a block on ``parent`` runs under: the rules' operator seats, the view's committees,
    the double-sign vote check, the rules' seat assignment (the Cuckoo rule over the epoch randomness
    the view's headers hold, :func:`harmony.chain.epoch_randomness.assigner_for_parent`, or key mod
    shards) and the rules' fences with their fenced election (:func:`fenced_assigner_for_parent`)."""
    assign: AssignFn = key_mod_assign
    fenced: FencedAssignFn | None = None
    if rules.assignment is Assignment.CUCKOO and rules.params.is_beacon(parent.shard_id):
        assign = assigner_for_parent(view, rules.params, iterations=rules.vdf_iterations)(parent)
        if rules.fences.any:
            hook = fenced_assigner_for_parent(
                view, rules.params, rules.fences, iterations=rules.vdf_iterations
            )
            fenced = hook(parent)
    return Economy(
        rules.operator_slots,
        view.committee_for,
        assign,
        record_votes_valid,
        fences=rules.fences,
        fenced_assign=fenced,
    )


def replay_block(
    state: WorldState,
    block: Block,
    parent: Header,
    params: NetworkParams,
    executor: Executor,
    *,
    block_hashes: tuple[bytes, ...] = (),
    now: int | None = None,
    economy: Economy = Economy(),
) -> BlockResult:
    """Steps 1, 4, 5 and 6 of :func:`state_transition` alone: ``block`` checked against ``parent`` and
    executed, without the history checks (randomness, cross-shard) and under a given ``economy``. For
    tests and benchmarks of the execution; a chain validates with :func:`state_transition`."""
    validation.validate_header(block.header, parent, params, now=now)
    validation.validate_body(block, params)
    ctx = TransitionContext.for_header(params, block.header, block_hashes, economy)
    result = apply_block(state, block, ctx, executor)
    validation.validate_result(
        block.header, result.receipts, result.gas_used, result.state_root, result.outgoing_cx_receipts
    )
    return result


def apply_block(state: WorldState, block: Block, ctx: TransitionContext, executor: Executor) -> BlockResult:
    """Apply ``block`` (YP §4.3.2; reference §2.4, §2.5, §4.2, §6.4): on the beacon chain's last block of an
    epoch first check its shard state against the election over the parent's state (:func:`check_election`);
    then every transaction in order, its staking transactions, its incoming cross-shard receipts
    (limits, then credit), :func:`finalize_block`; and compute the state root.

    Raises :class:`InvalidBlockTransaction` or :class:`InvalidBlockStakingTransaction` for an invalid
    (staking) transaction (the block gas limit included), and :class:`InvalidBlock` for a broken block rule
    (``staking_shard``, ``shard_state``, ``incoming_*``, ``cross_links``, ``slashes``,
    ``last_commit_bitmap``); the state is then part-applied: drop it.
    """
    begin_block(state, block, ctx)
    return execute_body(state, block.header, BlockBody.of(block), ctx, executor).result


@dataclass(frozen=True, slots=True)
class BlockBody:
    """What a block carries besides its header, as the execution takes it. A proposer's candidates are
    one too (:func:`harmony.chain.proposal.build_block`); their iterables are then read once."""

    transactions: Iterable[Transaction] = ()
    staking_transactions: Iterable[StakingTransaction] = ()
    incoming_receipts: Sequence[CXReceiptsProof] = ()
    """Incoming cross-shard receipt proofs, already verified against their source committees."""

    @classmethod
    def of(cls, block: Block) -> BlockBody:
        """The body ``block`` carries."""
        return cls(block.transactions, block.staking_transactions, block.incoming_receipts)


@dataclass(frozen=True, slots=True)
class Executed:
    """What :func:`execute_body` did: the result, the transactions included and (proposing) those skipped."""

    result: BlockResult
    transactions: tuple[Transaction, ...]
    staking_transactions: tuple[StakingTransaction, ...]
    skipped: tuple[tuple[Transaction, InvalidTransaction], ...] = ()
    skipped_staking: tuple[tuple[StakingTransaction, InvalidTransaction], ...] = ()


def execute_body(
    state: WorldState,
    header: Header,
    body: BlockBody,
    ctx: TransitionContext,
    executor: Executor,
    *,
    proposing: bool = False,
) -> Executed:
    """The steps of a block after its header, in order, for the verifier (:func:`apply_block`) and the
    proposer (:func:`harmony.chain.proposal.build_block`) alike: every transaction, then the staking
    transactions after their gas, then the incoming receipts (:func:`credit_incoming`), then
    :func:`finalize_block`, then the state root. Verifying, an invalid (staking) transaction makes the block
    invalid (:class:`InvalidBlockTransaction`, :class:`InvalidBlockStakingTransaction`); ``proposing``, it
    is left out with its reason and its changes undone."""
    outcomes, included, skipped = _apply_in_order(
        state,
        body.transactions,
        lambda tx, gas: apply_transaction(state, tx, ctx, executor, block_gas_used=gas),
        InvalidBlockTransaction,
        proposing=proposing,
    )
    staking_outcomes, included_staking, skipped_staking = _apply_in_order(
        state,
        body.staking_transactions,
        lambda stx, gas: apply_staking_transaction(state, stx, ctx, block_gas_used=gas),
        InvalidBlockStakingTransaction,
        proposing=proposing,
        gas_used=sum(o.gas_used for o in outcomes),
    )
    credited = credit_incoming(state, body.incoming_receipts)
    finalized = finalize_block(state, ctx, header)
    return Executed(
        _block_result(state, outcomes + staking_outcomes, finalized, credited),
        tuple(included),
        tuple(included_staking),
        tuple(skipped),
        tuple(skipped_staking),
    )


@dataclass(frozen=True, slots=True)
class BuiltBlock:
    """A proposer's block, what executing it produced, and the candidates it left out with the reason."""

    block: Block
    result: BlockResult
    skipped: tuple[tuple[Transaction, InvalidTransaction], ...]
    skipped_staking: tuple[tuple[StakingTransaction, InvalidTransaction], ...] = ()
    """Candidate staking transactions left out, with the reason."""


AnyTransaction = TypeVar("AnyTransaction", Transaction, StakingTransaction)


def _apply_in_order(
    state: WorldState,
    txs: Iterable[AnyTransaction],
    apply: Callable[[AnyTransaction, int], TxOutcome],
    invalid: Callable[[int, InvalidTransaction], InvalidBlock],
    *,
    proposing: bool,
    gas_used: int = 0,
    first: int = 0,
) -> tuple[list[TxOutcome], list[AnyTransaction], list[tuple[AnyTransaction, InvalidTransaction]]]:
    """``apply(tx, block gas so far)`` for each of ``txs`` (indexed from ``first``): the outcomes, the
    transactions applied and, ``proposing``, the invalid ones skipped; verifying, ``invalid(index, reason)``
    is raised on the first invalid one."""
    outcomes: list[TxOutcome] = []
    applied: list[AnyTransaction] = []
    skipped: list[tuple[AnyTransaction, InvalidTransaction]] = []
    for index, tx in enumerate(txs, first):
        snapshot = state.snapshot() if proposing else None
        try:
            outcome = apply(tx, gas_used)
        except InvalidTransaction as exc:
            if snapshot is None:
                raise invalid(index, exc) from exc
            state.revert(snapshot)
            skipped.append((tx, exc))
            continue
        gas_used += outcome.gas_used
        outcomes.append(outcome)
        applied.append(tx)
    return outcomes, applied, skipped


def begin_block(state: WorldState, block: Block, ctx: TransitionContext) -> None:
    """What :func:`apply_block` checks before the first transaction: staking transactions only on the beacon
    chain (``staking_shard``), then the election (:func:`check_election`)."""
    if block.staking_transactions and not ctx.params.is_beacon(ctx.shard_id):
        raise InvalidBlock("staking_shard", "staking transactions are only processed on the beacon chain")
    check_election(state, block.header, ctx)


def apply_transactions(
    state: WorldState,
    block: Block,
    ctx: TransitionContext,
    executor: Executor,
    *,
    start: int = 0,
    stop: int | None = None,
    block_gas_used: int = 0,
) -> list[TxOutcome]:
    """Apply ``block``'s plain transactions ``start`` to ``stop`` (default: all) in order after
    ``block_gas_used`` gas (the gas of those before ``start``), as :func:`apply_block` does;
    :class:`InvalidBlockTransaction` names an invalid one's index."""
    outcomes, _, _ = _apply_in_order(
        state,
        block.transactions[start:stop],
        lambda tx, gas: apply_transaction(state, tx, ctx, executor, block_gas_used=gas),
        InvalidBlockTransaction,
        proposing=False,
        gas_used=block_gas_used,
        first=start,
    )
    return outcomes


def check_election(state: WorldState, header: Header, ctx: TransitionContext) -> None:
    """On the beacon chain's last block of an epoch, with :attr:`TransitionContext.operator_slots` known,
    the header's shard state must be exactly :func:`~harmony.chain.staking.epoch.next_shard_state` over
    ``state``, the **parent's** state (reference §3.6); :class:`InvalidBlock` ``shard_state`` otherwise.
    (Whether a shard state is present at all is :func:`harmony.chain.validation.validate_header`'s rule.)
    """
    if not (ctx.ends_epoch_on_beacon and ctx.operator_slots):
        return
    try:
        expected = elect_next(state, ctx.params, ctx.epoch, ctx)
    except HarmonyError as exc:
        raise InvalidBlock("shard_state", f"the election failed: {exc}") from exc
    if header.shard_state != expected.encode():
        raise InvalidBlock(
            "shard_state", f"the shard state differs from the election for epoch {ctx.epoch + 1}"
        )


def elect_next(
    state: WorldState, params: NetworkParams, epoch: int, economy: Economy | TransitionContext
) -> ShardState:
    """:func:`~harmony.chain.staking.epoch.next_shard_state` after ``epoch`` with ``economy``'s operator
    seats, assignment and fences (the block builder's and the verifier's election)."""
    return next_shard_state(
        state,
        params,
        epoch,
        economy.operator_slots,
        assign=economy.assign,
        fences=economy.fences,
        fenced_assign=economy.fenced_assign,
    )


def credit_incoming(state: WorldState, proofs: Sequence[CXReceiptsProof]) -> int:
    """Check the block limits on incoming proofs and credit their receipts (reference §6.4,
    :mod:`harmony.chain.cx_credit`); returns the atto credited. The proofs' commit signatures and spent
    markers are the node's to check before the transition."""
    if not proofs:
        return 0
    check_incoming_limits(proofs)
    return credit_incoming_receipts(state, proofs)


def finalize_block(state: WorldState, ctx: TransitionContext, header: Header) -> Finalized:
    """After the transactions and incoming receipts, on the beacon chain (Go ``Finalize``): apply the
    header's slash records, pay the parent's commit and the header's crosslinks
    (:mod:`harmony.chain.staking.economy`), and on the last block of an epoch run
    :func:`harmony.chain.staking.epoch.end_of_epoch` with the header's shard state.

    Another shard's block carrying crosslinks or slashes is invalid (``cross_links``, ``slashes``); it pays
    nothing itself (its blocks are paid through crosslinks on the beacon chain).
    """
    params = ctx.params
    if not params.is_beacon(ctx.shard_id):
        if header.cross_links:
            raise InvalidBlock("cross_links", "crosslinks are only processed on the beacon chain")
        if header.slashes:
            raise InvalidBlock("slashes", "slash records are only processed on the beacon chain")
        return Finalized()
    try:
        records = decode_records(header.slashes)
    except DecodeError as exc:
        raise InvalidBlock("slashes", f"undecodable slash records: {exc}") from exc
    try:
        links = decode_crosslinks(header.cross_links)
    except DecodeError as exc:
        raise InvalidBlock("cross_links", f"undecodable crosslinks: {exc}") from exc
    slashes = apply_slashes(state, records, ctx.epoch, ctx.verify_votes, ctx.committee_for)
    rewards: list[RewardPayout] = []
    if ctx.committee_for is not None:
        parent = pay_parent_commit(
            state,
            params,
            header.number,
            ctx.epoch,
            last_commit_bitmap=header.last_commit_bitmap,
            committee_for=ctx.committee_for,
        )
        if parent is not None:
            rewards.append(parent)
    rewards.extend(pay_crosslinks(state, params, ctx.epoch, links, ctx.committee_for))
    epoch_end = None
    if ctx.ends_epoch_on_beacon:
        try:
            next_state = header.get_shard_state()
        except DecodeError as exc:
            raise InvalidBlock("shard_state", f"undecodable shard state: {exc}") from exc
        epoch_end = end_of_epoch(state, ctx.epoch, params, next_state=next_state)
    minted = sum(r.paid for r in rewards)
    burned = sum(s.burned for s in slashes)
    if minted or burned:
        record_supply_change(state, minted=minted, burned=burned)
    return Finalized(tuple(rewards), slashes, epoch_end)


def _block_result(
    state: WorldState,
    outcomes: Sequence[TxOutcome],
    finalized: Finalized | None = None,
    incoming_credited: int = 0,
) -> BlockResult:
    receipts = tuple(o.receipt for o in outcomes)
    done = finalized if finalized is not None else Finalized()
    return BlockResult(
        receipts=receipts,
        gas_used=receipts[-1].cumulative_gas_used if receipts else 0,
        outgoing_cx_receipts=tuple(o.cx_receipt for o in outcomes if o.cx_receipt is not None),
        bloom=receipts_bloom(receipts),
        state_root=state.state_root(),
        outcomes=tuple(outcomes),
        epoch_end=done.epoch_end,
        rewards=done.rewards,
        slashes=done.slashes,
        incoming_credited=incoming_credited,
    )


def apply_transaction(
    state: WorldState,
    tx: Transaction | EthTransaction,
    ctx: TransitionContext,
    executor: Executor,
    *,
    block_gas_used: int = 0,
) -> TxOutcome:
    """Check and execute one transaction after ``block_gas_used`` gas of the block (YP §6, reference §2.2).

    An Ethereum-format transaction runs on the shard its chain ID names (reference §2.3), carried as a
    Harmony one. Raises an :class:`InvalidTransaction` subclass, before changing anything, if ``tx`` is
    invalid.
    """
    if isinstance(tx, EthTransaction):
        tx = from_eth(tx, tx.shard_id(ctx.params.network.eth_chain_id_base))
    sender = transactions.check_transaction(
        state,
        tx,
        ctx.params,
        ctx.shard_id,
        ctx.env.gas_limit - block_gas_used,
        accepted_chain_ids=ctx.accepted_chain_ids,
    )
    fee_recipient = ctx.fee_recipient
    if tx.is_cross_shard:
        gas_used, cx_receipt = transfers.apply_cross_shard_debit(state, tx, sender, fee_recipient)
        return _outcome(sender, block_gas_used, gas_used, success=True, cx_receipt=cx_receipt)
    if transfers.is_plain_transfer(state, tx):
        gas_used = transfers.apply_plain_transfer(state, tx, sender, fee_recipient)
        return _outcome(sender, block_gas_used, gas_used, success=True)
    msg = Message(
        sender=sender,
        to=tx.to,
        value=tx.value,
        data=tx.data,
        gas=tx.gas,
        gas_price=tx.gas_price,
        nonce=tx.nonce,
    )
    result = executor(state, msg, ctx.env, fee_recipient=fee_recipient)
    return _outcome(
        sender,
        block_gas_used,
        result.gas_used,
        success=result.success,
        logs=result.logs,
        contract_address=result.contract_address,
        error=result.error,
    )


def apply_staking_transaction(
    state: WorldState,
    stx: StakingTransaction,
    ctx: TransitionContext,
    *,
    block_gas_used: int = 0,
) -> TxOutcome:
    """Check and apply one staking transaction after ``block_gas_used`` gas of the block (reference §2.4,
    §2.5; Go ``ApplyStakingTransaction``).

    Checks, in order: beacon chain (:class:`WrongShard`); signature for the network's Harmony chain ID by
    the message's validator or delegator; nonce; block gas; intrinsic gas (5,300,000 for CreateValidator,
    else 21,000, plus data); a balance covering ``gasLimit × gasPrice``. Then it charges ``intrinsic gas ×
    gasPrice`` (to the fee recipient, or burned), bumps the nonce and applies the message against the
    balance left. Raises an :class:`InvalidTransaction` subclass (a
    :class:`~harmony.chain.staking.errors.StakingError` for a broken staking rule) with the state unchanged.
    """
    if not ctx.params.is_beacon(ctx.shard_id):
        raise WrongShard(f"staking transactions run on the beacon chain only, this is shard {ctx.shard_id}")
    try:
        sender = check_signer(stx, ctx.params.chain_id)
    except SignatureError as exc:
        raise transactions.InvalidSignature(f"bad signature: {exc}") from exc
    nonce = state.get_nonce(sender)
    if stx.nonce < nonce:
        raise NonceTooLow(f"nonce {stx.nonce} is below the account nonce {nonce}")
    if stx.nonce > nonce:
        raise NonceTooHigh(f"nonce {stx.nonce} is above the account nonce {nonce}")
    block_gas_left = ctx.env.gas_limit - block_gas_used
    if stx.gas_limit > block_gas_left:
        raise GasLimitExceeded(
            f"gas limit {stx.gas_limit} exceeds the {block_gas_left} gas left in the block"
        )
    gas_used = stx.intrinsic_gas()
    if stx.gas_limit < gas_used:
        raise IntrinsicGasTooLow(f"gas limit {stx.gas_limit} is below the intrinsic gas {gas_used}")
    balance = state.get_balance(sender)
    if balance < stx.gas_limit * stx.gas_price:
        raise InsufficientFunds(
            f"balance {balance} does not cover gas × price = {stx.gas_limit * stx.gas_price}"
        )
    snapshot = state.snapshot()
    try:
        fee = gas_used * stx.gas_price
        state.set_nonce(sender, stx.nonce + 1)
        state.set_balance(sender, balance - fee)
        recipient = ctx.fee_recipient
        if recipient is not None and fee:
            state.set_balance(recipient, state.get_balance(recipient) + fee)
        apply_staking_message(state, stx.msg, ctx.staking)
    except BaseException:
        state.revert(snapshot)
        raise
    return _outcome(sender, block_gas_used, gas_used, success=True)


def _outcome(
    sender: bytes,
    block_gas_used: int,
    gas_used: int,
    *,
    success: bool,
    logs: Sequence[Log] = (),
    contract_address: bytes | None = None,
    cx_receipt: CXReceipt | None = None,
    error: str | None = None,
) -> TxOutcome:
    """The receipt of a transaction (EIP-658 status, cumulative gas, logs and their bloom)."""
    kept = tuple(logs) if success else ()
    receipt = Receipt.make(success=success, cumulative_gas_used=block_gas_used + gas_used, logs=kept)
    return TxOutcome(receipt, gas_used, sender, contract_address, cx_receipt, None if success else error)


__all__ = [
    "BlockBody",
    "BlockResult",
    "BuiltBlock",
    "Economy",
    "Executed",
    "Executor",
    "Finalized",
    "InvalidBlockStakingTransaction",
    "InvalidBlockTransaction",
    "TransitionContext",
    "TxOutcome",
    "apply_block",
    "apply_staking_transaction",
    "apply_transaction",
    "apply_transactions",
    "begin_block",
    "begin_replay",
    "check_election",
    "context_of",
    "credit_incoming",
    "economy_of",
    "elect_next",
    "execute_body",
    "finalize_block",
    "operator_seats",
    "replay_block",
    "state_transition",
]
