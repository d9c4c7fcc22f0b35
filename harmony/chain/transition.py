"""The state transition: a block applied to the world state (YP §4.3.2, §6; reference §2, §6.4).

Read top to bottom, as ethereum/execution-specs' ``fork.py``:

* :func:`state_transition` checks a block against its parent, applies it and checks the result;
* :func:`apply_block` applies every transaction in order, enforcing the block gas limit, and returns the
  receipts, gas used, outgoing cross-shard receipts, bloom and state root;
* :func:`apply_transaction` checks one transaction (:mod:`harmony.chain.transactions`) and executes it: a
  plain transfer on the fast path (:mod:`harmony.chain.transfers`), a cross-shard transfer as a debit and
  a :class:`CXReceipt`, everything else (contract creation, calls) through the injected EVM
  :class:`Executor`; it ends with the receipt (status, cumulative gas, logs, bloom);
* :func:`build_block` is the proposer's side: it applies candidate transactions, skips the invalid ones,
  and seals every header root.

A transaction that fails while executing (revert, out of gas) still pays for its gas and gets a status-0
receipt. A transaction that is invalid (bad nonce, funds, chain ID, gas) makes the whole block invalid:
:class:`InvalidBlockTransaction`, an :class:`InvalidBlock` naming the transaction's index and reason. An
invalid block leaves the state part-applied: the caller drops it (``harmony.state.StateDB`` keeps changes
in memory until ``commit``, so nothing reaches the database). Staking transactions are not executed yet
(the staking issue adds them): a block carrying one is invalid (:class:`StakingNotSupported`).

Fees go where :attr:`NetworkParams.fee_policy` says (burned on both presets).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from harmony.chain import transactions, transfers, validation
from harmony.chain.errors import InvalidBlock
from harmony.chain.params import NetworkParams
from harmony.chain.state_api import BlockEnv, ExecutionResult, Message, WorldState
from harmony.errors import InvalidTransaction
from harmony.types.block import Block, make_block
from harmony.types.cx import CXReceipt
from harmony.types.eth_transaction import EthTransaction
from harmony.types.header import Header
from harmony.types.receipt import Log, Receipt, receipts_bloom
from harmony.types.shard_state import ShardState
from harmony.types.transaction import Transaction, from_eth


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


class StakingNotSupported(InvalidBlock):
    """A block carries staking transactions, which are not executed yet (the staking issue adds them)."""

    def __init__(self, count: int) -> None:
        super().__init__("staking_transactions", f"{count} staking transaction(s): not supported yet")


@dataclass(frozen=True, slots=True)
class TransitionContext:
    """What the rules need besides the state and the block: the network, the shard and the EVM's view."""

    params: NetworkParams
    shard_id: int
    env: BlockEnv
    """The block as the EVM sees it; ``env.chain_id`` is the shard's Ethereum chain ID (EIP-1344)."""
    accepted_chain_ids: frozenset[int] = field(init=False, default=frozenset())
    """Chain IDs transactions may be signed for: the network's Harmony ID and the shard's Ethereum ID."""
    fee_recipient: bytes | None = field(init=False, default=None)
    """Who receives this block's fees (``None``: burned), per the network's fee policy."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "accepted_chain_ids", self.params.accepted_chain_ids(self.shard_id))
        object.__setattr__(self, "fee_recipient", self.params.fee_policy.fee_recipient(self.env.coinbase))

    @classmethod
    def for_header(
        cls, params: NetworkParams, header: Header, block_hashes: tuple[bytes, ...] = ()
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
        return cls(params, header.shard_id, env)


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
class BlockResult:
    """What applying a block produced: the values its header commits to (YP §4.3.2)."""

    receipts: tuple[Receipt, ...]
    gas_used: int
    outgoing_cx_receipts: tuple[CXReceipt, ...]
    bloom: bytes
    state_root: bytes
    outcomes: tuple[TxOutcome, ...] = ()
    """Per-transaction detail (sender, contract address, error) for storage and RPC."""


def state_transition(
    state: WorldState,
    block: Block,
    parent: Header,
    params: NetworkParams,
    executor: Executor,
    *,
    block_hashes: tuple[bytes, ...] = (),
    now: int | None = None,
) -> BlockResult:
    """Validate ``block`` on top of ``parent`` and apply it (YP §4.3.4, Go ``ValidateBody``/``Process``/
    ``ValidateState``); :class:`InvalidBlock` naming the failed check.

    On an invalid block ``state`` may be part-applied: the caller executes each block on a fresh state over
    its parent's root (``harmony.state.StateDB``) and drops it on failure, so nothing reaches the database.
    """
    validation.validate_header(block.header, parent, params, now=now)
    validation.validate_body(block, params)
    ctx = TransitionContext.for_header(params, block.header, block_hashes)
    result = apply_block(state, block, ctx, executor)
    validation.validate_result(
        block.header, result.receipts, result.gas_used, result.state_root, result.outgoing_cx_receipts
    )
    return result


def apply_block(state: WorldState, block: Block, ctx: TransitionContext, executor: Executor) -> BlockResult:
    """Apply every transaction of ``block`` in order and compute the state root (YP §4.3.2).

    Raises :class:`InvalidBlockTransaction` for an invalid transaction (the block gas limit included) and
    :class:`StakingNotSupported` for staking transactions; the state is then part-applied: drop it.
    """
    if block.staking_transactions:
        raise StakingNotSupported(len(block.staking_transactions))
    gas_used = 0
    outcomes: list[TxOutcome] = []
    for index, tx in enumerate(block.transactions):
        try:
            outcome = apply_transaction(state, tx, ctx, executor, block_gas_used=gas_used)
        except InvalidTransaction as exc:
            raise InvalidBlockTransaction(index, exc) from exc
        gas_used += outcome.gas_used
        outcomes.append(outcome)
    return _block_result(state, outcomes)


def _block_result(state: WorldState, outcomes: Sequence[TxOutcome]) -> BlockResult:
    receipts = tuple(o.receipt for o in outcomes)
    return BlockResult(
        receipts=receipts,
        gas_used=receipts[-1].cumulative_gas_used if receipts else 0,
        outgoing_cx_receipts=tuple(o.cx_receipt for o in outcomes if o.cx_receipt is not None),
        bloom=receipts_bloom(receipts),
        state_root=state.state_root(),
        outcomes=tuple(outcomes),
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


@dataclass(frozen=True, slots=True)
class BuiltBlock:
    """A proposer's block, what executing it produced, and the candidates it left out with the reason."""

    block: Block
    result: BlockResult
    skipped: tuple[tuple[Transaction, InvalidTransaction], ...]


def child_header(
    params: NetworkParams,
    parent: Header,
    *,
    coinbase: bytes,
    timestamp: int,
    view_id: int = 0,
    extra: bytes = b"",
    shard_state: ShardState | None = None,
) -> Header:
    """The unsealed header of ``parent``'s child: number, epoch and gas limit per the rules (§2.1, §6)."""
    epoch = validation.expected_epoch(params, parent)
    return Header(
        parent_hash=parent.hash(),
        coinbase=coinbase,
        number=parent.number + 1,
        gas_limit=params.gas_limit(epoch),
        time=timestamp,
        extra=extra,
        view_id=view_id,
        epoch=epoch,
        shard_id=parent.shard_id,
        shard_state=b"" if shard_state is None else shard_state.encode(),
    )


def build_block(
    state: WorldState,
    parent: Header,
    candidates: Iterable[Transaction],
    params: NetworkParams,
    executor: Executor,
    *,
    coinbase: bytes,
    timestamp: int,
    block_hashes: tuple[bytes, ...] = (),
    view_id: int = 0,
    extra: bytes = b"",
    shard_state: ShardState | None = None,
) -> BuiltBlock:
    """Propose a block on ``parent``: apply ``candidates`` in order, skip each invalid one (with its reason),
    and seal every root (transactions, receipts, bloom, outgoing receipts, state, gas used).

    On the beacon chain the last block of an epoch needs ``shard_state``, the next epoch's committees.
    """
    header = child_header(
        params,
        parent,
        coinbase=coinbase,
        timestamp=timestamp,
        view_id=view_id,
        extra=extra,
        shard_state=shard_state,
    )
    if params.is_beacon(header.shard_id) and params.is_last_block(header.number) and shard_state is None:
        raise ValueError(f"beacon block {header.number} ends an epoch: the next shard state is required")
    ctx = TransitionContext.for_header(params, header, block_hashes)
    included: list[Transaction] = []
    outcomes: list[TxOutcome] = []
    skipped: list[tuple[Transaction, InvalidTransaction]] = []
    gas_used = 0
    for tx in candidates:
        snapshot = state.snapshot()
        try:
            outcome = apply_transaction(state, tx, ctx, executor, block_gas_used=gas_used)
        except InvalidTransaction as exc:
            state.revert(snapshot)
            skipped.append((tx, exc))
            continue
        included.append(tx)
        outcomes.append(outcome)
        gas_used += outcome.gas_used
    result = _block_result(state, outcomes)
    sealed = header.replace(root=result.state_root, gas_used=result.gas_used)
    block = make_block(
        sealed,
        transactions=included,
        receipts=result.receipts,
        outgoing_receipts=result.outgoing_cx_receipts,
    )
    return BuiltBlock(block, result, tuple(skipped))


__all__ = [
    "BlockResult",
    "BuiltBlock",
    "Executor",
    "InvalidBlockTransaction",
    "StakingNotSupported",
    "TransitionContext",
    "TxOutcome",
    "apply_block",
    "apply_transaction",
    "build_block",
    "child_header",
    "state_transition",
]
