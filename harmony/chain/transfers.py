"""Value transfers that need no EVM: the plain-transfer fast path and the cross-shard debit.

Both run after :func:`harmony.chain.transactions.check_transaction` accepted the transaction, and give
exactly what the Istanbul EVM would (YP §6, EIP-161):

* **Plain transfer** (recipient without code, outside the precompile range, no data, same shard): the
  sender's nonce goes up by one, it pays ``21,000 × gasPrice + value``, the recipient gets ``value``, the
  fee goes to the fee recipient (or is burned), and touched accounts left empty are deleted (EIP-161:
  a zero-value transfer never creates an account).
* **Cross-shard transfer** (reference §6.4, Go ``SubtractionOnly``): the sender's nonce goes up, it pays
  ``intrinsic gas × gasPrice + value``; nobody on this shard is credited; a :class:`CXReceipt` tells the
  destination shard to credit ``value`` to the recipient.
"""

from __future__ import annotations

from harmony.chain.staking.records import is_registered_validator
from harmony.chain.state_api import WorldState
from harmony.types.cx import CXReceipt
from harmony.types.transaction import Transaction
from harmony.types.tx_common import TX_GAS

PRECOMPILE_RANGE_END = 0x100
"""Addresses below this may hold precompiled contracts (Ethereum's 1-9, Harmony's 0xf9, 0xfc, 0xff):
calling one runs code, so transfers to them go through the EVM."""


def is_plain_transfer(state: WorldState, tx: Transaction) -> bool:
    """Whether ``tx`` is a same-shard value transfer to an account without code (a validator's record is not
    code: :func:`~harmony.chain.staking.records.is_registered_validator`): the fast path applies."""
    to = tx.to
    return (
        to is not None
        and not tx.data
        and not tx.is_cross_shard
        and int.from_bytes(to, "big") >= PRECOMPILE_RANGE_END
        and (not state.get_code(to) or is_registered_validator(state, to))
    )


def _credit(state: WorldState, address: bytes, amount: int) -> None:
    """Add ``amount``; a zero amount never creates an account (it only touches it)."""
    if amount or state.account_exists(address):
        state.set_balance(address, state.get_balance(address) + amount)


def _clear_if_empty(state: WorldState, address: bytes) -> None:
    """EIP-161 (d): a touched account with nonce 0, balance 0 and no code is deleted."""
    if (
        state.account_exists(address)
        and state.get_nonce(address) == 0
        and state.get_balance(address) == 0
        and not state.get_code(address)
    ):
        state.delete_account(address)


def apply_plain_transfer(
    state: WorldState, tx: Transaction, sender: bytes, fee_recipient: bytes | None
) -> int:
    """Apply a checked plain transfer (module docstring); returns the gas used, always 21,000."""
    to = tx.to
    if to is None:
        raise ValueError("a contract creation is not a plain transfer")
    fee = TX_GAS * tx.gas_price
    state.set_nonce(sender, tx.nonce + 1)
    state.set_balance(sender, state.get_balance(sender) - fee - tx.value)
    _credit(state, to, tx.value)
    if fee_recipient is not None:
        _credit(state, fee_recipient, fee)
    if not tx.value:  # an account just credited is not empty
        _clear_if_empty(state, to)
    if fee_recipient is not None and not fee:
        _clear_if_empty(state, fee_recipient)
    return TX_GAS


def apply_cross_shard_debit(
    state: WorldState, tx: Transaction, sender: bytes, fee_recipient: bytes | None
) -> tuple[int, CXReceipt]:
    """Debit a checked cross-shard transfer (reference §6.4); returns the gas used and its receipt."""
    gas_used = tx.intrinsic_gas()
    fee = gas_used * tx.gas_price
    state.set_nonce(sender, tx.nonce + 1)
    state.set_balance(sender, state.get_balance(sender) - fee - tx.value)
    if fee_recipient is not None:
        _credit(state, fee_recipient, fee)
        if not fee:
            _clear_if_empty(state, fee_recipient)
    receipt = CXReceipt(
        tx_hash=tx.hash(),
        from_=sender,
        to=tx.to,
        shard_id=tx.shard_id,
        to_shard_id=tx.to_shard_id,
        amount=tx.value,
    )
    return gas_used, receipt


__all__ = ["PRECOMPILE_RANGE_END", "apply_cross_shard_debit", "apply_plain_transfer", "is_plain_transfer"]
