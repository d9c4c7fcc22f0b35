"""``debug_traceCall``: geth's struct logger and ``callTracer`` over py-evm, bounded (reference §9.2 "Debug").

A trace runs the call like ``eth_call`` (throwaway state, never committed) through a subclass of py-evm's
Istanbul computation whose opcodes are wrapped: each step is recorded before it runs (struct logger:
``pc``, ``op``, ``gas``, ``gasCost``, ``depth``, ``stack``, optionally ``memory``), and each message frame
as it starts and ends (``callTracer``: ``type``, ``from``, ``to``, ``value``, ``gas``, ``gasUsed``,
``input``, ``output``, ``error``, ``calls``).

Bounds, so a tracer can neither stall nor exhaust the node: gas at most the node's call gas cap; at most
:data:`MAX_TRACE_STEPS` opcodes; at most :data:`MAX_RECORDED_WORDS` stack and memory words recorded in all;
at most :data:`MAX_TRACE_SECONDS` of wall time (less when the request's ``timeout`` says so). Passing any
bound stops the trace with a -32000 error naming it. Overrides (geth ``StateOverride``/``BlockOverrides``)
are validated and bounded the same way; an account with both ``state`` and ``stateDiff`` is refused with
geth's message.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from eth.abc import ComputationAPI, MessageAPI, StateAPI, TransactionContextAPI
from eth.vm.forks.istanbul.computation import IstanbulComputation

from harmony.chain.state_api import Message
from harmony.errors import HarmonyError
from harmony.rpc import execution
from harmony.rpc.backend import RPCBackend
from harmony.rpc.context import MAX_CALL_DATA, MethodContext
from harmony.rpc.errors import InvalidParams, ServerError
from harmony.rpc.formats import JSON, hex_address, hex_data, hex_q
from harmony.rpc.params import (
    BlockRef,
    CallArgs,
    Params,
    address,
    block_number_or_hash,
    boolean,
    call_args,
    go_fields,
    hash32,
    hex_bytes,
    quantity,
    uint64,
)
from harmony.state.evm import apply_message
from harmony.state.precompiles import HarmonyComputation
from harmony.state.statedb import StateDB

MAX_TRACE_STEPS = 50_000
"""Most opcodes one trace executes."""
MAX_RECORDED_WORDS = 1_000_000
"""Most 32-byte stack and memory words one struct log records in all."""
MAX_TRACE_SECONDS = 5.0
"""Longest wall time of one trace (a request's ``timeout`` may only shorten it)."""
MAX_OVERRIDE_ACCOUNTS = 256
MAX_OVERRIDE_SLOTS = 4096
"""Most storage slots all of a request's overrides set."""
MAX_OVERRIDE_CODE = 49_152
"""Largest code an override installs (twice EIP-170's contract size)."""
TRACERS = ("callTracer",)
"""Named tracers served; no name is the struct logger."""
_DURATION = re.compile(r"^(\d{1,9}(?:\.\d{1,9})?)(ms|s|m)$")


class TraceStopped(ServerError):
    """A trace passed one of its bounds (-32000, naming the bound)."""


@dataclass(frozen=True, slots=True)
class TraceConfig:
    """What to trace and how (geth ``TraceConfig``/``TraceCallConfig``)."""

    tracer: str | None = None
    disable_stack: bool = False
    enable_memory: bool = False
    only_top_call: bool = False
    seconds: float = MAX_TRACE_SECONDS
    state_overrides: tuple[AccountOverride, ...] = ()
    block_overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountOverride:
    """One account of a ``stateOverrides`` object."""

    address: bytes
    nonce: int | None = None
    balance: int | None = None
    code: bytes | None = None
    state: dict[int, int] | None = None
    """Replaces the whole storage."""
    state_diff: dict[int, int] | None = None
    """Changes these slots only."""


def _duration(value: object, name: str) -> float:
    if not isinstance(value, str) or not (match := _DURATION.match(value)):
        raise InvalidParams(f'invalid argument {name}: a duration such as "5s" or "300ms"')
    amount = float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match.group(2)]
    return min(amount, MAX_TRACE_SECONDS)


def _slots(value: object, name: str, budget: list[int]) -> dict[int, int]:
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid argument {name}: an object of 32-byte slot → 32-byte value")
    budget[0] -= len(value)
    if budget[0] < 0:
        raise InvalidParams(f"invalid argument {name}: at most {MAX_OVERRIDE_SLOTS} storage slots in all")
    return {
        int.from_bytes(hash32(k, f"{name} key"), "big"): int.from_bytes(hash32(v, f"{name}[{k[:20]}]"), "big")
        for k, v in value.items()
    }


_ACCOUNT_FIELDS = ("nonce", "balance", "code", "state", "stateDiff")


def state_overrides(value: object, name: str) -> tuple[AccountOverride, ...]:
    """geth's ``StateOverride``: ``{address: {nonce, balance, code, state | stateDiff}}``, bounded."""
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid argument {name}: an object keyed by address")
    if len(value) > MAX_OVERRIDE_ACCOUNTS:
        raise InvalidParams(f"invalid argument {name}: at most {MAX_OVERRIDE_ACCOUNTS} accounts")
    budget = [MAX_OVERRIDE_SLOTS]
    out = []
    for key, raw in value.items():
        where = f"{name}[{str(key)[:42]}]"
        account = address(key, where)
        fields = go_fields(
            raw, where, ("nonce", "balance", "code", "state", "stateDiff"), "an account object"
        )
        if "state" in fields and "stateDiff" in fields:
            raise ServerError(f"account {hex_address(account)} has both 'state' and 'stateDiff'")
        out.append(
            AccountOverride(
                account,
                nonce=uint64(fields["nonce"], f"{where}.nonce") if "nonce" in fields else None,
                balance=quantity(fields["balance"], f"{where}.balance") if "balance" in fields else None,
                code=hex_bytes(fields["code"], f"{where}.code", max_len=MAX_OVERRIDE_CODE)
                if "code" in fields
                else None,
                state=_slots(fields["state"], f"{where}.state", budget) if "state" in fields else None,
                state_diff=_slots(fields["stateDiff"], f"{where}.stateDiff", budget)
                if "stateDiff" in fields
                else None,
            )
        )
    return tuple(out)


_BLOCK_OVERRIDE_FIELDS = ("number", "time", "gasLimit", "coinbase", "difficulty", "baseFee", "random")


def block_overrides(value: object, name: str) -> dict[str, Any]:
    """geth's ``BlockOverrides``: ``number``, ``time``, ``gasLimit``, ``coinbase``, ``difficulty``; a base
    fee or ``random`` has no meaning on this chain and is refused."""
    fields = go_fields(value, name, _BLOCK_OVERRIDE_FIELDS, "a block overrides object")
    for absent in ("baseFee", "random"):
        if absent in fields:
            raise InvalidParams(f"invalid argument {name}.{absent}: this chain has no {absent}")
    out: dict[str, Any] = {}
    for key, attr in (("number", "number"), ("time", "timestamp"), ("gasLimit", "gas_limit")):
        if key in fields:
            out[attr] = uint64(fields[key], f"{name}.{key}")
    if "difficulty" in fields:
        out["difficulty"] = quantity(fields["difficulty"], f"{name}.difficulty")
    if "coinbase" in fields:
        out["coinbase"] = address(fields["coinbase"], f"{name}.coinbase")
    return out


_CONFIG_FIELDS = (
    "tracer",
    "tracerConfig",
    "disableStack",
    "enableMemory",
    "disableStorage",
    "enableReturnData",
    "timeout",
    "stateOverrides",
    "blockOverrides",
)


def trace_config(value: object, name: str, *, overrides: bool = True) -> TraceConfig:
    """The trace options object; unknown members ignored (as Go), each known one checked and named.
    Without ``overrides`` (a stored transaction's trace, geth ``TraceConfig``) ``stateOverrides`` and
    ``blockOverrides`` are not fields, so they are ignored as any unknown member."""
    known = _CONFIG_FIELDS if overrides else tuple(f for f in _CONFIG_FIELDS if not f.endswith("Overrides"))
    fields = go_fields(value, name, known, "a trace options object")
    tracer = fields.get("tracer")
    if tracer is not None and (not isinstance(tracer, str) or tracer not in ("", *TRACERS)):
        raise InvalidParams(
            f"invalid argument {name}.tracer: {str(tracer)[:40]!r} is not served; use callTracer, or omit "
            "it for the struct logger"
        )
    only_top = False
    if "tracerConfig" in fields:
        sub = go_fields(fields["tracerConfig"], f"{name}.tracerConfig", ("onlyTopCall",), "an object")
        only_top = boolean(sub["onlyTopCall"], f"{name}.tracerConfig.onlyTopCall") if sub else False

    def flag(key: str) -> bool:
        return boolean(fields[key], f"{name}.{key}") if key in fields else False

    return TraceConfig(
        tracer=tracer or None,
        disable_stack=flag("disableStack"),
        enable_memory=flag("enableMemory"),
        only_top_call=only_top,
        seconds=_duration(fields["timeout"], f"{name}.timeout") if "timeout" in fields else MAX_TRACE_SECONDS,
        state_overrides=state_overrides(fields["stateOverrides"], f"{name}.stateOverrides")
        if "stateOverrides" in fields
        else (),
        block_overrides=block_overrides(fields["blockOverrides"], f"{name}.blockOverrides")
        if "blockOverrides" in fields
        else {},
    )


# -- the tracer -------------------------------------------------------------------------------------------


@dataclass
class _Frame:
    kind: str
    sender: bytes
    to: bytes
    value: int
    gas: int
    data: bytes
    calls: list[dict[str, JSON]] = field(default_factory=list)


class Tracer:
    """Records steps and frames of one traced execution, within the bounds of :class:`TraceConfig`."""

    def __init__(self, config: TraceConfig) -> None:
        self.config = config
        self.steps = 0
        self.words = 0
        self.deadline = time.monotonic() + config.seconds
        self.struct_logs: list[dict[str, JSON]] = []
        self.frames: list[_Frame] = []
        self.top: dict[str, JSON] | None = None
        self.replaying = False
        """Running the transactions before the traced one: only the time bound applies, nothing is
        recorded."""
        self.replayed_steps = 0

    def next_transaction(self) -> None:
        """Start recording another transaction (a block's trace): the bounds keep counting."""
        self.struct_logs = []
        self.frames = []
        self.top = None

    def step(self, computation: ComputationAPI, mnemonic: str, depth: int) -> None:
        """Before an opcode runs: count it against the bounds, record it for the struct logger."""
        if self.replaying:
            self.replayed_steps += 1
            if self.replayed_steps % 256 == 0 and time.monotonic() > self.deadline:
                raise TraceStopped(f"trace stopped: more than {self.config.seconds:g} s")
            return
        self.steps += 1
        if self.steps > MAX_TRACE_STEPS:
            raise TraceStopped(f"trace stopped: more than {MAX_TRACE_STEPS} steps")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise TraceStopped(f"trace stopped: more than {self.config.seconds:g} s")
        if self.config.tracer is not None:
            return
        entry: dict[str, JSON] = {
            "pc": max(0, computation.code.program_counter - 1),
            "op": mnemonic,
            "gas": computation.get_gas_remaining(),
            "gasCost": 0,
            "depth": depth,
        }
        internals: Any = computation
        if not self.config.disable_stack:
            values = internals._stack.values
            self.words += len(values)
            entry["stack"] = [
                hex_q(v) if isinstance(v, int) else hex_q(int.from_bytes(v, "big")) for v in values
            ]
        if self.config.enable_memory:
            memory = bytes(internals._memory._bytes)
            self.words += len(memory) // 32
            entry["memory"] = [memory[i : i + 32].hex() for i in range(0, len(memory), 32)]
        if self.words > MAX_RECORDED_WORDS:
            raise TraceStopped(f"trace stopped: more than {MAX_RECORDED_WORDS} stack and memory words")
        self.struct_logs.append(entry)

    def after_step(self, computation: ComputationAPI, gas_before: int) -> None:
        """After an opcode ran: its cost (gas before minus gas after, children included for calls)."""
        if self.config.tracer is None and self.struct_logs and not self.replaying:
            self.struct_logs[-1]["gasCost"] = gas_before - computation.get_gas_remaining()

    def enter(self, message: MessageAPI) -> None:
        """A message frame starts (callTracer)."""
        if self.replaying:
            return
        if message.is_create:
            kind = "CREATE"
        elif message.code_address != message.storage_address:
            kind = "CALLCODE" if message.should_transfer_value else "DELEGATECALL"
        else:  # py-evm keeps no opcode: a static child frame is taken for a STATICCALL
            kind = "STATICCALL" if message.is_static and self.frames else "CALL"
        data = message.code if message.is_create else message.data_as_bytes
        self.frames.append(
            _Frame(
                kind,
                bytes(message.sender),
                bytes(message.storage_address),
                message.value,
                message.gas,
                bytes(data),
            )
        )

    def exit(self, computation: ComputationAPI) -> None:
        """A message frame ends: it joins its parent's calls, or becomes the top call."""
        if self.replaying:
            return
        frame = self.frames.pop()
        out: dict[str, JSON] = {
            "type": frame.kind,
            "from": hex_address(frame.sender),
            "to": hex_address(frame.to),
            "value": hex_q(frame.value),
            "gas": hex_q(frame.gas),
            "gasUsed": hex_q(frame.gas - computation.get_gas_remaining()),
            "input": hex_data(frame.data),
            "output": hex_data(computation.output),
        }
        if computation.is_error:
            out["error"] = type(computation.error).__name__
        if frame.calls and not self.config.only_top_call:
            out["calls"] = frame.calls
        if self.frames:
            self.frames[-1].calls.append(out)
        else:
            self.top = out


def traced_interpreter(tracer: Tracer) -> type[IstanbulComputation]:
    """py-evm's Istanbul computation with every opcode and message frame reported to ``tracer``."""

    def wrap(opcode: Any) -> Any:
        mnemonic = getattr(opcode, "mnemonic", "INVALID")

        def traced(computation: ComputationAPI) -> None:
            depth = computation.msg.depth + 1
            tracer.step(computation, mnemonic, depth)
            gas_before = computation.get_gas_remaining()
            try:
                opcode(computation=computation)
            finally:
                tracer.after_step(computation, gas_before)

        return traced

    opcodes = {code: wrap(fn) for code, fn in HarmonyComputation.opcodes.items()}

    class TracedComputation(HarmonyComputation):
        @classmethod
        def apply_computation(
            cls,
            state: StateAPI,
            message: MessageAPI,
            transaction_context: TransactionContextAPI,
            parent_computation: ComputationAPI | None = None,
        ) -> ComputationAPI:
            tracer.enter(message)
            computation = super().apply_computation(state, message, transaction_context, parent_computation)
            tracer.exit(computation)
            return computation

    TracedComputation.opcodes = opcodes
    return TracedComputation


# -- debug_traceCall ------------------------------------------------------------------------------------


def _apply_overrides(state: StateDB, overrides: tuple[AccountOverride, ...]) -> None:
    for o in overrides:
        if o.nonce is not None:
            state.set_nonce(o.address, o.nonce)
        if o.balance is not None:
            state.set_balance(o.address, o.balance)
        if o.code is not None:
            state.set_code(o.address, o.code)
        if o.state is not None:
            state.delete_storage(o.address)
            for slot, value in o.state.items():
                state.set_storage(o.address, slot, value)
        for slot, value in (o.state_diff or {}).items():
            state.set_storage(o.address, slot, value)


def trace_call(
    backend: RPCBackend, args: CallArgs, ref: BlockRef, config: TraceConfig, gas_cap: int
) -> dict[str, JSON]:
    """Trace ``args`` at block ``ref`` with ``config`` (geth ``TraceCall``): the struct log
    ``{gas, failed, returnValue, structLogs}`` or the call tracer's top frame."""
    header = backend.require_header(ref)
    gas = min(args.gas if args.gas is not None else gas_cap, gas_cap)
    state = backend.chain.state(header.root)
    _apply_overrides(state, config.state_overrides)
    env = execution.block_env(backend, header, gas)
    if config.block_overrides:
        env = replace(env, **config.block_overrides)
    sender = args.sender if args.sender is not None else bytes(20)
    msg = Message(sender, args.to, args.value, args.data, gas, args.gas_price or 0, state.get_nonce(sender))
    tracer = Tracer(config)
    try:
        result = apply_message(state, msg, env, fee_recipient=None, interpreter=traced_interpreter(tracer))
    except TraceStopped:
        raise
    except HarmonyError as exc:
        raise ServerError(str(exc)[:500]) from None
    return trace_result(tracer, msg, result.gas_used, not result.success, result.output)


def trace_result(tracer: Tracer, msg: Message, gas_used: int, failed: bool, output: bytes) -> dict[str, JSON]:
    """What a trace answers for ``msg`` (geth): the call tracer's top frame, or the struct log
    ``{gas, failed, returnValue, structLogs}``."""
    if tracer.config.tracer == "callTracer":
        if tracer.top is not None:
            return tracer.top
        return {  # a plain transfer never reaches the interpreter: geth still shows its frame
            "type": "CALL",
            "from": hex_address(msg.sender),
            "to": hex_address(msg.to or bytes(20)),
            "value": hex_q(msg.value),
            "gas": hex_q(msg.gas),
            "gasUsed": hex_q(gas_used),
            "input": hex_data(msg.data),
            "output": "0x",
        }
    return {
        "gas": gas_used,
        "failed": failed,
        "returnValue": output.hex(),
        "structLogs": tracer.struct_logs,
    }


def debug_trace_call(ctx: MethodContext, p: Params) -> JSON:
    """``debug_traceCall(args, block, options)``: :func:`trace_call` within the node's call gas cap."""
    args = p.get(0, "args", lambda v, n: call_args(v, n, max_data=MAX_CALL_DATA))
    latest: BlockRef = "latest"
    ref = p.get(1, "block", block_number_or_hash, latest)
    config = p.get(2, "options", trace_config, TraceConfig())
    return trace_call(ctx.backend, args, ref, config, ctx.call_gas_cap)
