"""Messages executed with Istanbul rules (Harmony's EVM level) by py-evm's interpreter over a StateDB.

py-evm's ``IstanbulComputation`` runs the bytecode; it reads and writes the world through a *state* object.
:class:`_BridgeState` is that object: a subclass of py-evm's ``IstanbulState`` whose account accessors go
straight to our :class:`~harmony.state.statedb.StateDB` (snapshots are journal positions), so py-evm's own
AccountDB and HexaryTrie are never used. The transaction-level rules around the interpreter are ours
(yellow paper §6, EIP-161, EIP-2028), in :func:`apply_message`:

1. validate: nonce equal to the account's, gas at least the intrinsic gas, gas within the block's limit,
   balance covering ``gas × gas_price + value``; each failure raises the typed error of
   :mod:`harmony.chain.errors` before anything changes;
2. buy the gas, increment the nonce;
3. run the call or the creation (a call to an account without code, not a precompile, is a plain value
   transfer and skips the interpreter: empty code does nothing and costs nothing);
4. refund ``min(refund counter + 24,000 per self-destruct, gas_used // 2)`` and the unused gas to the
   sender; pay ``gas_used × gas_price`` to the fee recipient (or burn it);
5. delete self-destructed accounts and touched empty ones (EIP-161), end the transaction.
"""

from __future__ import annotations

from typing import Any, cast

from eth.abc import ComputationAPI, MessageAPI, TransactionContextAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.exceptions import ContractCreationCollision
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.istanbul.computation import IstanbulComputation
from eth.vm.forks.istanbul.state import IstanbulState
from eth.vm.forks.spurious_dragon._utils import collect_touched_accounts
from eth.vm.message import Message as EVMMessage
from eth.vm.transaction_context import BaseTransactionContext
from eth_typing import Address, BlockNumber, Hash32

from harmony.chain.errors import GasLimitExceeded, InsufficientFunds, NonceTooHigh, NonceTooLow
from harmony.chain.staking.records import is_registered_validator
from harmony.chain.state_api import BlockEnv, ExecutionResult, Message, WorldState
from harmony.state.account import EMPTY_CODE_HASH, contract_address
from harmony.state.precompiles import PRECOMPILES, HarmonyComputation
from harmony.state.statedb import StateDB
from harmony.types.receipt import Log
from harmony.types.tx_common import IntrinsicGasTooLow, intrinsic_gas

__all__ = ["REFUND_SELFDESTRUCT", "apply_message", "contract_address"]

REFUND_SELFDESTRUCT = 24_000
"""Gas refunded per self-destructed account before London (YP appendix G, R_selfdestruct)."""

MAX_REFUND_QUOTIENT = 2
"""The refund is capped at gas_used // 2 before London (YP §6.2)."""

_PRECOMPILES = frozenset(PRECOMPILES)


class _BridgeState(IstanbulState):
    """py-evm's Istanbul state with every account access delegated to a :class:`StateDB`."""

    def __init__(self, db: StateDB, execution_context: ExecutionContext) -> None:
        # BaseState.__init__ would build py-evm's AccountDB over a trie: deliberately not called.
        self._db = None  # type: ignore[assignment]
        self._account_db = None  # type: ignore[assignment]
        self.execution_context = execution_context
        self.sdb = db

    @property
    def state_root(self) -> Hash32:
        return Hash32(self.sdb.state_root())

    def make_state_root(self) -> Hash32:
        return Hash32(self.sdb.state_root())

    def get_storage(self, address: Address, slot: int, from_journal: bool = True) -> int:
        if from_journal:
            return self.sdb.get_storage(address, slot)
        return self.sdb.get_original_storage(address, slot)

    def set_storage(self, address: Address, slot: int, value: int) -> None:
        self.sdb.set_storage(address, slot, value)

    def delete_storage(self, address: Address) -> None:
        self.sdb.delete_storage(address)

    def delete_account(self, address: Address) -> None:
        self.sdb.delete_account(address)

    def get_balance(self, address: Address) -> int:
        return self.sdb.get_balance(address)

    def set_balance(self, address: Address, balance: int) -> None:
        self.sdb.set_balance(address, balance)

    def delta_balance(self, address: Address, delta: int) -> None:
        if delta >= 0:
            self.sdb.add_balance(address, delta)
        else:
            self.sdb.sub_balance(address, -delta)

    def get_nonce(self, address: Address) -> int:
        return self.sdb.get_nonce(address)

    def set_nonce(self, address: Address, nonce: int) -> None:
        self.sdb.set_nonce(address, nonce)

    def increment_nonce(self, address: Address) -> None:
        self.sdb.increment_nonce(address)

    def get_code(self, address: Address) -> bytes:
        code = self.sdb.get_code(address)
        if code and is_registered_validator(self.sdb, address):
            return b""  # a validator's record is data, not a program: calling it runs nothing
        return code

    def set_code(self, address: Address, code: bytes) -> None:
        self.sdb.set_code(address, code)

    def get_code_hash(self, address: Address) -> Hash32:
        return Hash32(self.sdb.get_code_hash(address))

    def delete_code(self, address: Address) -> None:
        self.sdb.set_code(address, b"")

    def has_code_or_nonce(self, address: Address) -> bool:
        return _collides(self.sdb, address)

    def account_exists(self, address: Address) -> bool:
        return self.sdb.account_exists(address)

    def touch_account(self, address: Address) -> None:
        self.sdb.touch(address)

    def account_is_empty(self, address: Address) -> bool:
        return self.sdb.is_empty(address)

    def is_storage_warm(self, address: Address, slot: int) -> bool:  # EIP-2929 (Berlin): unused
        return True

    def mark_storage_warm(self, address: Address, slot: int) -> None:
        pass

    def is_address_warm(self, address: Address) -> bool:
        return True

    def mark_address_warm(self, address: Address) -> None:
        pass

    def snapshot(self) -> Any:
        return self.sdb.snapshot()

    def revert(self, snapshot: Any) -> None:
        self.sdb.revert(snapshot)

    def commit(self, snapshot: Any) -> None:
        pass

    def lock_changes(self) -> None:
        pass

    def persist(self) -> Any:
        raise NotImplementedError("the chain database persists a StateDB's commit, not the EVM state")


_context_cache: tuple[BlockEnv, ExecutionContext] | None = None


def _execution_context(env: BlockEnv) -> ExecutionContext:
    """py-evm's block context for ``env`` (reused while the same env object is passed)."""
    global _context_cache  # noqa: PLW0603 - a one-entry cache keyed by identity
    cached = _context_cache
    if cached is not None and cached[0] is env:
        return cached[1]
    ctx = ExecutionContext(
        coinbase=Address(env.coinbase),
        timestamp=env.timestamp,
        block_number=BlockNumber(env.number),
        difficulty=env.difficulty,
        mix_hash=Hash32(bytes(32)),
        gas_limit=env.gas_limit,
        prev_hashes=[Hash32(h) for h in reversed(env.block_hashes)],  # py-evm wants the newest first
        chain_id=env.chain_id,
    )
    _context_cache = (env, ctx)
    return ctx


def validate_message(state: StateDB, msg: Message, env: BlockEnv) -> int:
    """Check a message against the state before execution (YP §6.2 eq. 65); returns its intrinsic gas.

    Raises :class:`NonceTooLow` / :class:`NonceTooHigh` (nonce not the account's),
    :class:`IntrinsicGasTooLow` (gas below intrinsic gas, EIP-2028 data costs), :class:`GasLimitExceeded`
    (gas above the block's limit) or :class:`InsufficientFunds` (balance below gas × price + value).
    """
    nonce = state.get_nonce(msg.sender)
    if msg.nonce < nonce:
        raise NonceTooLow(f"nonce {msg.nonce} is below the account nonce {nonce}")
    if msg.nonce > nonce:
        raise NonceTooHigh(f"nonce {msg.nonce} is above the account nonce {nonce}")
    intrinsic = intrinsic_gas(msg.data, contract_creation=msg.to is None)
    if msg.gas < intrinsic:
        raise IntrinsicGasTooLow(f"gas {msg.gas} is below the intrinsic gas {intrinsic}")
    if msg.gas > env.gas_limit:
        raise GasLimitExceeded(f"gas {msg.gas} exceeds the block gas limit {env.gas_limit}")
    cost = msg.gas * msg.gas_price + msg.value
    balance = state.get_balance(msg.sender)
    if balance < cost:
        raise InsufficientFunds(f"balance {balance} does not cover gas × price + value = {cost}")
    return intrinsic


def _collides(state: StateDB, address: bytes) -> bool:
    """Whether creating a contract at ``address`` fails: it has code or a nonce (EIP-684) or storage
    (EIP-7610, retroactive to every fork; ethereum/tests expect it)."""
    return state.account_has_code_or_nonce(address) or state.has_storage(address)


def _is_plain_transfer(state: StateDB, to: bytes | None) -> bool:
    """Whether a call runs no code: the recipient has none and is not a precompile."""
    return (
        to is not None
        and to not in _PRECOMPILES
        and (state.get_code_hash(to) == EMPTY_CODE_HASH or is_registered_validator(state, to))
    )


def _run_evm(
    state: StateDB,
    msg: Message,
    env: BlockEnv,
    gas: int,
    interpreter: type[IstanbulComputation] = HarmonyComputation,
) -> tuple[ComputationAPI, bytes | None, _BridgeState]:
    """Run the call or creation through py-evm's Istanbul interpreter with our precompiles (YP §8, §7), or
    a subclass of it (a tracer's)."""
    vm_state = _BridgeState(state, _execution_context(env))
    tx_ctx = cast(TransactionContextAPI, BaseTransactionContext(msg.gas_price, Address(msg.sender)))
    computation: ComputationAPI
    if msg.to is None:
        created = contract_address(msg.sender, msg.nonce)
        evm_msg: MessageAPI = EVMMessage(
            gas=gas,
            to=CREATE_CONTRACT_ADDRESS,
            sender=Address(msg.sender),
            value=msg.value,
            data=b"",
            code=msg.data,
            create_address=Address(created),
        )
        if _collides(state, created):
            computation = vm_state.get_computation(evm_msg, tx_ctx)
            computation.error = ContractCreationCollision(f"address collision at 0x{created.hex()}")
        else:
            computation = interpreter.apply_create_message(vm_state, evm_msg, tx_ctx)
        return computation, created, vm_state
    evm_msg = EVMMessage(
        gas=gas,
        to=Address(msg.to),
        sender=Address(msg.sender),
        value=msg.value,
        data=msg.data,
        code=vm_state.get_code(Address(msg.to)),
    )
    return interpreter.apply_message(vm_state, evm_msg, tx_ctx), None, vm_state


def apply_message(
    state: StateDB,
    msg: Message,
    env: BlockEnv,
    *,
    fee_recipient: bytes | None,
    interpreter: type[IstanbulComputation] = HarmonyComputation,
) -> ExecutionResult:
    """Execute one transaction's message with Istanbul rules (YP §6, EIP-161, EIP-2028, EIP-2200).

    Validation failures raise typed errors (:func:`validate_message`) and leave ``state`` unchanged.
    Otherwise the gas is bought, the nonce incremented, the call or creation run, unused gas and the
    refund (capped at half the gas used) returned, ``gas_used × gas_price`` paid to ``fee_recipient``
    (``None`` burns it), self-destructed and touched empty accounts deleted, and the transaction ended
    (:meth:`StateDB.finalize_transaction`). ``interpreter`` is our Istanbul computation or a subclass
    that observes it (the RPC's tracers); plain transfers never reach it.
    """
    intrinsic = validate_message(state, msg, env)
    sender = msg.sender
    state.sub_balance(sender, msg.gas * msg.gas_price)
    state.increment_nonce(sender)
    gas = msg.gas - intrinsic

    if _is_plain_transfer(state, msg.to):
        to = cast(bytes, msg.to)
        if msg.value:
            state.sub_balance(sender, msg.value)
            state.add_balance(to, msg.value)
        else:
            state.touch(to)
        gas_used = intrinsic
        state.add_balance(sender, gas * msg.gas_price)
        if fee_recipient is not None:
            state.add_balance(fee_recipient, gas_used * msg.gas_price)
        touched = state.touched
        state.finalize_transaction()
        return ExecutionResult(gas_used=gas_used, success=True, touched=touched)

    computation, created, vm_state = _run_evm(state, msg, env, gas, interpreter)
    gas_remaining = computation.get_gas_remaining()
    gas_used = msg.gas - gas_remaining
    deletions = computation.get_accounts_for_deletion()
    if deletions:
        computation.refund_gas(REFUND_SELFDESTRUCT * len(deletions))
    refund = min(computation.get_gas_refund(), gas_used // MAX_REFUND_QUOTIENT)
    state.add_balance(sender, (refund + gas_remaining) * msg.gas_price)
    gas_used -= refund
    if fee_recipient is not None:
        state.add_balance(fee_recipient, gas_used * msg.gas_price)
    for address in deletions:
        state.delete_account(address)
    # py-evm's EIP-161 set (with the RIPEMD-160 special case of EIP-716); the block's coinbase is in it
    # only because py-evm always pays it, so it is dropped unless it is the fee recipient.
    evm_touched = set(collect_touched_accounts(computation))
    if vm_state.coinbase != fee_recipient:
        evm_touched.discard(vm_state.coinbase)
    for address in evm_touched:
        if state.account_exists(address) and state.is_empty(address):
            state.delete_account(address)
    touched = state.touched | evm_touched
    state.finalize_transaction()

    success = computation.is_success
    logs = tuple(
        Log(address, tuple(t.to_bytes(32, "big") for t in topics), data)
        for address, topics, data in computation.get_log_entries()
    )
    return ExecutionResult(
        gas_used=gas_used,
        success=success,
        logs=logs,
        contract_address=created if success else None,
        output=computation.output,
        error=None if success else _error_text(computation),
        touched=frozenset(touched),
    )


def _error_text(computation: ComputationAPI) -> str:
    """A short reason for a failed execution: the VM error's class and message."""
    error = computation.error
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def execute(
    state: WorldState, msg: Message, env: BlockEnv, /, *, fee_recipient: bytes | None
) -> ExecutionResult:
    """The chain layer's ``Executor`` (harmony.chain.transition): :func:`apply_message` over a StateDB."""
    if not isinstance(state, StateDB):
        raise TypeError(f"the EVM bridge runs over a StateDB, not {type(state).__name__}")
    return apply_message(state, msg, env, fee_recipient=fee_recipient)
