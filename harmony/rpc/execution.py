"""``eth_call`` and ``eth_estimateGas`` on throwaway state (geth ``DoCall``/``DoEstimateGas``, §9.2).

Both run the message with :func:`harmony.state.evm.apply_message` (imported on the first call:
:mod:`harmony.state.lazy_evm`) on a fresh :class:`StateDB` over the block's state root; nothing is ever
committed. The nonce is the sender's current one, the default gas price 0 and the default sender the zero
address, so a call needs no funds beyond its value. Fees go to no one. A revert is answered like geth:
code 3, ``execution reverted[: reason]``, ``data`` = revert bytes. The gas estimate is a binary search
for the least gas limit under which the message succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony.chain.state_api import BlockEnv, ExecutionResult, Message
from harmony.errors import HarmonyError
from harmony.rpc.backend import RPCBackend
from harmony.rpc.errors import ExecutionReverted, ServerError
from harmony.rpc.formats import hex_data
from harmony.rpc.params import BlockRef, CallArgs
from harmony.state.lazy_evm import execute
from harmony.types.header import Header
from harmony.types.tx_common import TX_GAS, intrinsic_gas

ERROR_SELECTOR = bytes.fromhex("08c379a0")
"""Selector of Solidity's ``Error(string)``, the revert reason encoding."""
MAX_REASON_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """A finished call: the EVM's result, or the validation error that stopped it before running."""

    result: ExecutionResult | None
    rejected: str | None = None


def revert_reason(data: bytes) -> str | None:
    """The string of an ABI-encoded ``Error(string)`` revert, or ``None``."""
    if len(data) < 4 + 64 or data[:4] != ERROR_SELECTOR:
        return None
    body = data[4:]
    offset = int.from_bytes(body[:32], "big")
    if offset + 32 > len(body):
        return None
    length = int.from_bytes(body[offset : offset + 32], "big")
    if length > MAX_REASON_LENGTH or offset + 32 + length > len(body):
        return None
    return body[offset + 32 : offset + 32 + length].decode("utf-8", errors="replace")


def block_env(backend: RPCBackend, header: Header, gas: int) -> BlockEnv:
    """What the EVM sees of block ``header`` for a call with ``gas`` (the gas limit raised to it)."""
    return BlockEnv(
        coinbase=header.coinbase,
        number=header.number,
        timestamp=header.time,
        gas_limit=max(header.gas_limit, gas),
        chain_id=backend.eth_chain_id,
        block_hashes=backend.chain.block_hashes(header.number),
    )


def run(backend: RPCBackend, args: CallArgs, header: Header, gas: int) -> CallOutcome:
    """Execute ``args`` with gas limit ``gas`` on a fresh state at ``header``; never commits."""
    state = backend.chain.state(header.root)
    sender = args.sender if args.sender is not None else bytes(20)
    msg = Message(
        sender=sender,
        to=args.to,
        value=args.value,
        data=args.data,
        gas=gas,
        gas_price=args.gas_price or 0,
        nonce=state.get_nonce(sender),
    )
    try:
        result = execute(state, msg, block_env(backend, header, gas), fee_recipient=None)
    except HarmonyError as exc:
        return CallOutcome(None, str(exc))
    return CallOutcome(result)


def failure(outcome: CallOutcome) -> ServerError | ExecutionReverted:
    """The error a failed call answers with: geth's code 3 for a revert, -32000 otherwise."""
    if outcome.rejected is not None:
        return ServerError(outcome.rejected)
    result = outcome.result
    assert result is not None
    if result.error is not None and result.error.startswith("Revert"):
        reason = revert_reason(result.output)
        message = "execution reverted" if reason is None else f"execution reverted: {reason}"
        return ExecutionReverted(message, data=hex_data(result.output))
    return ServerError(result.error or "execution failed")


def call(backend: RPCBackend, args: CallArgs, ref: BlockRef, gas_cap: int) -> bytes:
    """The return data of ``args`` run at block ``ref`` (``eth_call``); gas defaults to ``gas_cap``."""
    header = backend.require_header(ref)
    gas = min(args.gas if args.gas is not None else gas_cap, gas_cap)
    outcome = run(backend, args, header, gas)
    if outcome.result is None or not outcome.result.success:
        raise failure(outcome)
    return outcome.result.output


def estimate_gas(backend: RPCBackend, args: CallArgs, ref: BlockRef, gas_cap: int) -> int:
    """The least gas limit under which ``args`` succeeds at block ``ref`` (``eth_estimateGas``).

    The upper bound is the given gas, else the block gas limit, capped by ``gas_cap`` and, with a gas
    price, by what the sender's balance pays for. If the message fails at the upper bound the error is
    that failure (a revert with its data); else a binary search between the gas the run used and the bound.
    """
    header = backend.require_header(ref)
    hi = args.gas if args.gas is not None and args.gas >= TX_GAS else header.gas_limit
    hi = min(hi, gas_cap)
    if args.gas_price:
        sender = args.sender if args.sender is not None else bytes(20)
        balance = backend.chain.state(header.root).get_balance(sender)
        if balance < args.value:
            raise ServerError("insufficient funds for transfer")
        hi = min(hi, (balance - args.value) // args.gas_price)
    floor = intrinsic_gas(args.data, contract_creation=args.to is None)
    if hi < floor:
        raise ServerError(f"gas required exceeds allowance ({hi})")
    top = run(backend, args, header, hi)
    if top.result is None or not top.result.success:
        error = failure(top)
        if isinstance(error, ExecutionReverted) or top.result is None:
            raise error
        raise ServerError(f"gas required exceeds allowance ({hi})")
    if args.to is not None and not args.data and not backend.chain.state(header.root).get_code(args.to):
        return TX_GAS
    lo = max(floor, top.result.gas_used) - 1
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        outcome = run(backend, args, header, mid)
        if outcome.result is not None and outcome.result.success:
            hi = mid
        else:
            lo = mid
    return hi
