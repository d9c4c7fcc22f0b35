"""``debug_traceTransaction``, ``debug_traceBlockByNumber``, ``debug_traceBlockByHash``: a stored block's
transactions traced by replaying the block (reference §9.2 "Debug"; geth ``TraceTransaction``,
``TraceBlockByNumber``).

The block is re-executed on a fresh state over its parent's state root with the chain's own functions:
:func:`harmony.chain.transition.begin_replay` (the context :func:`~harmony.chain.transition.state_transition`
builds and the steps it takes before the first transaction), then
:func:`~harmony.chain.transition.apply_transactions` (the loop the chain runs), so the order of steps is the
chain's. The transactions before the traced one run untraced; the traced ones run through the tracers of
:mod:`harmony.rpc.tracing` (struct logger or ``callTracer``) with the bounds of ``debug_traceCall``: the
time bound covers the replay as well, and in a block's trace the step and word bounds count all its
transactions together. Nothing is committed.

Staking transactions run no EVM code and have no trace. A node that prunes old states (the default keeps
the last 128 blocks' states) cannot replay a block whose parent state is gone: :class:`StatePruned` names
the block and says to run an archive node.
"""

from __future__ import annotations

from harmony.chain.state_api import BlockEnv, ExecutionResult, Message, WorldState
from harmony.chain.transition import apply_transactions, begin_replay
from harmony.errors import HarmonyError
from harmony.rpc.backend import RPCBackend
from harmony.rpc.context import MethodContext
from harmony.rpc.errors import ServerError, StatePruned
from harmony.rpc.formats import JSON, hex_data
from harmony.rpc.params import BlockRef, Params, block_ref, hash32
from harmony.rpc.tracing import (
    TraceConfig,
    Tracer,
    TraceStopped,
    trace_config,
    trace_result,
    traced_interpreter,
)
from harmony.state.evm import apply_message
from harmony.state.statedb import StateDB
from harmony.state.trie import MissingTrieNode
from harmony.storage.chaindb import TX_KIND_STAKING
from harmony.types.block import Block


class _TracingExecutor:
    """The chain's ``Executor`` with the tracer's interpreter; keeps the last result (its return data)."""

    def __init__(self, tracer: Tracer) -> None:
        self.interpreter = traced_interpreter(tracer)
        self.last: ExecutionResult | None = None

    def __call__(
        self, state: WorldState, msg: Message, env: BlockEnv, /, *, fee_recipient: bytes | None
    ) -> ExecutionResult:
        if not isinstance(state, StateDB):
            raise TypeError(f"the EVM bridge runs over a StateDB, not {type(state).__name__}")
        self.last = apply_message(state, msg, env, fee_recipient=fee_recipient, interpreter=self.interpreter)
        return self.last


def trace_block(
    backend: RPCBackend, block: Block, config: TraceConfig, only: int | None = None
) -> list[dict[str, JSON]]:
    """Replay ``block`` on its parent's state and trace its plain transactions (all, or only the one at
    index ``only``, after the earlier ones ran untraced); one trace per traced transaction (module
    docstring). Raises :class:`StatePruned` when the parent's state is no longer stored and
    :class:`TraceStopped` when a bound is passed."""
    chain = backend.chain
    header = block.header
    parent = chain.get_header(header.parent_hash)
    if parent is None:
        raise ServerError(f"block {header.number}'s parent is not stored")
    tracer = Tracer(config)
    executor = _TracingExecutor(tracer)
    traces: list[dict[str, JSON]] = []
    try:
        state = chain.state(parent.root)
        ctx = begin_replay(chain.rules, chain, state, block)
        start = 0 if only is None else only
        tracer.replaying = True
        before = apply_transactions(state, block, ctx, executor, stop=start)
        tracer.replaying = False
        gas = sum(outcome.gas_used for outcome in before)
        stop = len(block.transactions) if only is None else only + 1
        for index in range(start, stop):
            tracer.next_transaction()
            executor.last = None
            (outcome,) = apply_transactions(
                state, block, ctx, executor, start=index, stop=index + 1, block_gas_used=gas
            )
            gas += outcome.gas_used
            tx = block.transactions[index]
            msg = Message(outcome.sender, tx.to, tx.value, tx.data, tx.gas, tx.gas_price, tx.nonce)
            result = executor.last
            if result is None:  # a transfer on the chain's fast path: no code ran
                traces.append(trace_result(tracer, msg, outcome.gas_used, False, b""))
            else:
                traces.append(trace_result(tracer, msg, result.gas_used, not result.success, result.output))
    except MissingTrieNode:
        raise StatePruned(
            f"state for block {parent.number} is pruned, and tracing block {header.number} replays it; "
            "run with --archive"
        ) from None
    except TraceStopped:
        raise
    except HarmonyError as exc:
        raise ServerError(f"replaying block {header.number}: {str(exc)[:400]}") from None
    return traces


def debug_trace_transaction(ctx: MethodContext, p: Params) -> JSON:
    """``debug_traceTransaction(hash, options)``: the trace of a mined plain transaction, replayed from its
    block's parent state (:func:`trace_block`)."""
    tx_hash = p.get(0, "hash", hash32)
    config = p.get(1, "options", lambda v, n: trace_config(v, n, overrides=False), TraceConfig())
    db = ctx.backend.chain.db
    location = db.get_transaction_location(tx_hash)
    if location is None:
        raise ServerError(f"transaction {hex_data(tx_hash)} not found")
    if location.kind == TX_KIND_STAKING:
        raise ServerError(
            f"transaction {hex_data(tx_hash)} is a staking transaction: it runs no EVM code, so it has "
            "no trace"
        )
    block = db.get_block_by_hash(location.block_hash)
    if block is None or location.index >= len(block.transactions):
        raise ServerError(f"transaction {hex_data(tx_hash)} not found")
    return trace_block(ctx.backend, block, config, location.index)[0]


def _trace_stored_block(ctx: MethodContext, ref: BlockRef, config: TraceConfig) -> JSON:
    block = ctx.backend.block_at(ref)
    if block is None:
        raise ServerError("block not found")
    if block.header.number == 0:
        raise ServerError("genesis is not traceable")
    try:
        traces = trace_block(ctx.backend, block, config)
    except TraceStopped as exc:
        raise TraceStopped(f"{exc}; trace the transactions one at a time (debug_traceTransaction)") from None
    return [{"result": trace} for trace in traces]


def debug_trace_block_by_number(ctx: MethodContext, p: Params) -> JSON:
    """``debug_traceBlockByNumber(number, options)``: ``[{"result": trace}]`` for each plain transaction of
    the block (Harmony's ``txTraceResult``), within one trace's bounds."""
    ref = p.get(0, "number", block_ref)
    if isinstance(ref, bytes):
        raise ServerError("a block number, not a hash: use debug_traceBlockByHash")
    config = p.get(1, "options", lambda v, n: trace_config(v, n, overrides=False), TraceConfig())
    return _trace_stored_block(ctx, ref, config)


def debug_trace_block_by_hash(ctx: MethodContext, p: Params) -> JSON:
    """``debug_traceBlockByHash(hash, options)``: as :func:`debug_trace_block_by_number`."""
    block_hash = p.get(0, "hash", hash32)
    config = p.get(1, "options", lambda v, n: trace_config(v, n, overrides=False), TraceConfig())
    return _trace_stored_block(ctx, block_hash, config)
