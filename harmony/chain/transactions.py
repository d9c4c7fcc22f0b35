"""Whether a transaction may be applied to the current state (YP §6.2; reference §2.2, §2.3, §6.4).

A transaction is checked before anything in the state changes, in this order, and the first failure raises
the typed error naming it:

1. **Shard**: a Harmony-format transaction executes on its ``shard_id`` (:class:`WrongShard`); an
   Ethereum-signed one never crosses shards; a cross-shard one names an existing destination shard.
2. **Signature and chain ID**: the signature recovers a sender, for the network's Harmony chain ID or the
   shard's Ethereum-compatible chain ID (both accepted, as Go's ``EIP155Signer``); another chain ID raises
   :class:`~harmony.types.tx_common.InvalidChainId` (:class:`WrongShard` when it is the Ethereum ID of
   another shard of this network); a malformed signature raises :class:`InvalidSignature`.
3. **Nonce** equal to the sender's account nonce (:class:`NonceTooLow` / :class:`NonceTooHigh`).
4. **Block gas**: the gas limit fits what is left of the block's (:class:`GasLimitExceeded`).
5. **Intrinsic gas** (Istanbul, EIP-2028) within the gas limit
   (:class:`~harmony.types.tx_common.IntrinsicGasTooLow`).
6. **Funds**: the balance covers ``gas × gasPrice + value`` (:class:`InsufficientFunds`).
"""

from __future__ import annotations

from harmony.chain.errors import (
    GasLimitExceeded,
    InsufficientFunds,
    NonceTooHigh,
    NonceTooLow,
    TransactionRejected,
    WrongShard,
)
from harmony.chain.params import NetworkParams
from harmony.chain.state_api import WorldState
from harmony.errors import InvalidTransaction, SignatureError
from harmony.types.chain_ids import is_eth_compatible
from harmony.types.transaction import Transaction
from harmony.types.tx_common import IntrinsicGasTooLow, InvalidChainId, chain_id_from_v


class InvalidSignature(TransactionRejected):
    """The signature is malformed (r/s out of range, high s) or recovers no key."""


class UnsupportedTransaction(TransactionRejected):
    """A transaction kind this chain does not execute yet (staking) or a malformed cross-shard transfer."""


def check_shard(tx: Transaction, params: NetworkParams, shard_id: int) -> None:
    """Rule 1: the transaction belongs to ``shard_id`` and a cross-shard one to an existing destination."""
    if tx.shard_id != shard_id:
        raise WrongShard(f"transaction is for shard {tx.shard_id}, this is shard {shard_id}")
    if not tx.is_cross_shard:
        return
    if tx.to_shard_id >= params.shard_count:
        raise WrongShard(f"destination shard {tx.to_shard_id} does not exist ({params.shard_count} shards)")
    if tx.to is None:
        raise UnsupportedTransaction("a cross-shard transaction cannot create a contract")
    if tx.data:
        raise UnsupportedTransaction("a cross-shard transaction carries no data")


def recover_sender(
    tx: Transaction, params: NetworkParams, shard_id: int, accepted: frozenset[int] | None = None
) -> bytes:
    """Rule 2: the sender, for the Harmony chain ID or the shard's Ethereum chain ID (reference §2.2-2.3).

    ``accepted`` is ``params.accepted_chain_ids(shard_id)``, passed by callers that keep it.
    """
    signed_for = chain_id_from_v(tx.v)
    if accepted is None:
        accepted = params.accepted_chain_ids(shard_id)
    if signed_for is not None and signed_for not in accepted:
        base = params.network.eth_chain_id_base
        if is_eth_compatible(signed_for) and 0 <= signed_for - base < params.shard_count:
            raise WrongShard(
                f"signed for chain ID {signed_for} (shard {signed_for - base}), this is shard {shard_id}"
            )
        raise InvalidChainId(
            f"signed for chain ID {signed_for}; shard {shard_id} of {params.name} accepts "
            f"{params.chain_id} (Harmony) or {params.eth_chain_id(shard_id)} (Ethereum)"
        )
    if signed_for is not None and is_eth_compatible(signed_for) and tx.is_cross_shard:
        raise UnsupportedTransaction("an Ethereum-signed transaction cannot cross shards (reference §2.3)")
    try:
        return tx.sender(accepted)
    except SignatureError as exc:
        raise InvalidSignature(f"bad signature: {exc}") from exc


def check_against_state(state: WorldState, tx: Transaction, sender: bytes, block_gas_left: int) -> None:
    """Rules 3-6: nonce, block gas, intrinsic gas and funds (YP §6.2, Go ``StateTransition.preCheck``)."""
    nonce = state.get_nonce(sender)
    if tx.nonce < nonce:
        raise NonceTooLow(f"nonce {tx.nonce} is below the account nonce {nonce}")
    if tx.nonce > nonce:
        raise NonceTooHigh(f"nonce {tx.nonce} is above the account nonce {nonce}")
    if tx.gas > block_gas_left:
        raise GasLimitExceeded(f"gas limit {tx.gas} exceeds the {block_gas_left} gas left in the block")
    needed = tx.intrinsic_gas()
    if tx.gas < needed:
        raise IntrinsicGasTooLow(f"gas limit {tx.gas} is below the intrinsic gas {needed}")
    cost = tx.gas * tx.gas_price + tx.value
    balance = state.get_balance(sender)
    if balance < cost:
        raise InsufficientFunds(f"balance {balance} does not cover gas × price + value = {cost}")


def check_transaction(
    state: WorldState,
    tx: Transaction,
    params: NetworkParams,
    shard_id: int,
    block_gas_left: int,
    *,
    accepted_chain_ids: frozenset[int] | None = None,
) -> bytes:
    """Every rule above, in order; returns the sender. Raises only :class:`InvalidTransaction` subclasses."""
    check_shard(tx, params, shard_id)
    sender = recover_sender(tx, params, shard_id, accepted_chain_ids)
    check_against_state(state, tx, sender, block_gas_left)
    return sender


__all__ = [
    "InvalidSignature",
    "InvalidTransaction",
    "UnsupportedTransaction",
    "check_against_state",
    "check_shard",
    "check_transaction",
    "recover_sender",
]
