"""Shared helpers of the chain tests: a funded state, signed transactions, an executor."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from harmony.chain.genesis import Genesis, dev_account_key, genesis_block, make_localnet_genesis
from harmony.chain.params import GWEI, LOCALNET, ONE, NetworkParams
from harmony.chain.proposal import HeaderFields, build_block
from harmony.chain.state_api import BlockEnv, ExecutionResult, Message, WorldState
from harmony.chain.transition import BlockBody, BuiltBlock, Economy, Executor
from harmony.crypto.secp256k1 import PrivateKey
from harmony.state.statedb import StateDB
from harmony.types.block import Block
from harmony.types.header import Header
from harmony.types.staking import StakingTransaction
from harmony.types.transaction import Transaction

PARAMS: NetworkParams = LOCALNET
GENESIS: Genesis = make_localnet_genesis(accounts=8, timestamp=1_000)
KEYS: list[PrivateKey] = [dev_account_key(i) for i in range(8)]
PRICE = 1 * GWEI
BALANCE = 1_000_000 * ONE


def fresh_state(shard_id: int = 0) -> tuple[StateDB, Block]:
    """A StateDB over an in-memory dict holding ``shard_id``'s genesis, and the genesis block."""
    state = StateDB({})
    block = genesis_block(GENESIS, shard_id, state)
    return state, block


def transfer(
    key: PrivateKey,
    nonce: int,
    to: bytes | None,
    value: int,
    *,
    shard: int = 0,
    to_shard: int | None = None,
    gas: int = 21_000,
    price: int = PRICE,
    data: bytes = b"",
    chain_id: int | None = PARAMS.chain_id,
) -> Transaction:
    """A signed Harmony transaction."""
    tx = Transaction(nonce, price, gas, shard, shard if to_shard is None else to_shard, to, value, data)
    return tx.sign(key, chain_id)


def load_evm() -> Callable[..., ExecutionResult] | None:
    """The state layer's ``apply_message`` if it exists yet, else ``None``."""
    try:
        module = importlib.import_module("harmony.state.evm")
    except ImportError:
        return None
    fn: Any = getattr(module, "apply_message", None)
    return fn


def no_evm(
    state: WorldState, msg: Message, env: BlockEnv, /, *, fee_recipient: bytes | None
) -> ExecutionResult:
    """An executor for tests that must never reach the EVM."""
    raise AssertionError(f"the EVM was called for {msg}")


def with_gas_limit(params: NetworkParams, gas_limit: int) -> NetworkParams:
    """``params`` with one gas limit for every epoch."""
    return replace(params, gas_limit_schedule=((0, gas_limit),))


COINBASE = b"\xcc" * 20


def build(
    state: WorldState,
    parent: Header,
    txs: Sequence[Transaction] = (),
    *,
    timestamp: int,
    staking: Sequence[StakingTransaction] = (),
    params: NetworkParams = PARAMS,
    executor: Executor = no_evm,
    economy: Economy | None = None,
    **header: Any,
) -> BuiltBlock:
    """:func:`harmony.chain.proposal.build_block` with the tests' coinbase: ``txs`` and ``staking`` are the
    candidates, ``header`` the other :class:`HeaderFields`."""
    return build_block(
        state,
        parent,
        HeaderFields(COINBASE, timestamp, **header),
        BlockBody(txs, staking),
        params,
        executor=executor,
        economy=economy,
    )
