"""Methods registered in more than one namespace, parameterised by the response style (reference §9.2).

The same handler serves ``eth_X``, ``hmy_X`` and ``hmyv2_X`` where Harmony registers one Go method in
several namespaces; only the JSON shapes differ (:mod:`harmony.rpc.formats`). Staking transactions are
listed by hash in blocks; their own methods are in :mod:`harmony.rpc.methods_staking`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from harmony.encoding.address import to_bech32
from harmony.rpc import execution
from harmony.rpc.context import MAX_CALL_DATA, MAX_RAW_TX_BYTES, Method, MethodContext, MethodTable
from harmony.rpc.errors import InvalidParams, ServerError
from harmony.rpc.formats import (
    JSON,
    Style,
    TxInBlock,
    block_json,
    hex_data,
    hex_q,
    qty,
    receipt_json,
    transaction_json,
    tx_hash_for,
)
from harmony.rpc.methods_fees import refuse_typed
from harmony.rpc.params import (
    BlockOptions,
    BlockRef,
    CallArgs,
    Params,
    address,
    block_number_or_hash,
    block_options,
    block_ref,
    call_args,
    hash32,
    hex_bytes,
    quantity,
    storage_slot,
    uint64,
)
from harmony.types.block import Block

LATEST: BlockRef = "latest"
"""The default block parameter."""


# -- blocks ------------------------------------------------------------------------------------------


def format_block(ctx: MethodContext, style: Style, block: Block, options: BlockOptions) -> dict[str, JSON]:
    """A stored block in ``style`` with transaction hashes or, with ``fullTx``, objects (Go ``NewBlock``).

    hmy shapes carry ``stakingTransactions`` (null unless ``inclStaking``, as Go's nil slice) and, with
    ``withSigners``, ``signers``.
    """
    backend = ctx.backend
    transactions: list[JSON] = []
    for index, tx in enumerate(block.transactions):
        if options.full_tx:
            transactions.append(transaction_json(style, backend.tx_in_block(block, index)))
        else:
            transactions.append(hex_data(tx_hash_for(style, tx)))
    staking: list[JSON] | None = None
    if options.incl_staking and style is not Style.ETH:
        staking = [hex_data(stx.hash()) for stx in block.staking_transactions]
    signers = None
    if options.with_signers and style is not Style.ETH:
        signers = [to_bech32(slot.ecdsa_address) for slot in backend.block_signers(block.header.number)]
    return block_json(
        style,
        block,
        transactions=transactions,
        staking_transactions=staking,
        signers=signers,
        full=options.full_tx,
    )


TOO_HIGH = "requested block number greater than current block number"
"""Go ``ErrRequestedBlockTooHigh``: hmy namespaces answer it for a block past the head (eth: null)."""


def get_block_by_number(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockByNumber(block, fullTx | options)``: the block; past the head null on eth_, Go's
    ``requested block number greater than current block number`` error on hmy_ and hmyv2_; null for a block
    this node does not hold (expired by pruning, or before a state-synced node's first block)."""
    ref = p.get(0, "block", block_ref)
    options = p.get(1, "options", block_options, BlockOptions())
    block = ctx.backend.block_at(ref)
    if block is None:
        if style is Style.ETH or isinstance(ref, bytes) or ctx.backend.resolve_number(ref) is not None:
            return None
        raise ServerError(TOO_HIGH)
    return format_block(ctx, style, block, options)


def get_block_by_hash(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockByHash(hash, fullTx | options)``: the block, or null."""
    block_hash = p.get(0, "hash", hash32)
    options = p.get(1, "options", block_options, BlockOptions())
    block = ctx.backend.block_at(block_hash)
    return None if block is None else format_block(ctx, style, block, options)


def block_number(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``blockNumber``: the head's number."""
    return qty(style, ctx.backend.head_number())


def block_tx_count_by_number(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockTransactionCountByNumber(block)``: plain transactions in the block (null if none)."""
    block = ctx.backend.block_at(p.get(0, "block", block_ref))
    return None if block is None else qty(style, len(block.transactions))


def block_tx_count_by_hash(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockTransactionCountByHash(hash)``."""
    block = ctx.backend.block_at(p.get(0, "hash", hash32))
    return None if block is None else qty(style, len(block.transactions))


def _tx_at(style: Style, ctx: MethodContext, block: Block | None, index: int) -> JSON:
    if block is None or index >= len(block.transactions):
        return None
    return transaction_json(style, ctx.backend.tx_in_block(block, index))


def tx_by_block_number_and_index(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getTransactionByBlockNumberAndIndex(block, index)``."""
    block = ctx.backend.block_at(p.get(0, "block", block_ref))
    return _tx_at(style, ctx, block, p.get(1, "index", uint64))


def tx_by_block_hash_and_index(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getTransactionByBlockHashAndIndex(hash, index)``."""
    block = ctx.backend.block_at(p.get(0, "hash", hash32))
    return _tx_at(style, ctx, block, p.get(1, "index", uint64))


# -- transactions and receipts -----------------------------------------------------------------------


def get_transaction_by_hash(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getTransactionByHash(hash)`` by Harmony or eth hash; pooled transactions have no block."""
    found: TxInBlock | None = ctx.backend.find_transaction(p.get(0, "hash", hash32))
    return None if found is None else transaction_json(style, found)


def get_transaction_receipt(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getTransactionReceipt(hash)`` by Harmony or eth hash; null until mined."""
    found = ctx.backend.find_receipt(p.get(0, "hash", hash32))
    return None if found is None else receipt_json(style, found)


def send_raw_transaction(eth: bool, ctx: MethodContext, p: Params) -> JSON:
    """``sendRawTransaction(hex)``: Ethereum RLP on eth_, Harmony RLP on hmy_; the hash the pool returns."""
    raw = p.get(0, "data", lambda v, n: hex_bytes(v, n, max_len=MAX_RAW_TX_BYTES))
    if not raw:
        raise InvalidParams("invalid argument 0 (data): empty transaction")
    if eth:
        refuse_typed(raw)
    return hex_data(ctx.backend.send_raw(raw, eth=eth))


def get_transaction_count(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getTransactionCount(address, block)``: the account nonce; with ``pending``, the pool's next nonce."""
    account = p.get(0, "address", address)
    ref = p.get(1, "block", block_ref, LATEST)
    if ref == "pending":
        return qty(style, ctx.backend.pool.pending_nonce(account))
    return qty(style, ctx.backend.state_at(ref).get_nonce(account))


# -- state -------------------------------------------------------------------------------------------


def get_balance(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBalance(address, block?)``: atto, hex (eth, hmy) or a JSON integer (hmyv2)."""
    account = p.get(0, "address", address)
    ref = p.get(1, "block", block_ref, LATEST)
    return qty(style, ctx.backend.state_at(ref).get_balance(account))


def get_balance_by_block_number(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBalanceByBlockNumber(address, block)``."""
    account = p.get(0, "address", address)
    ref = p.get(1, "block", block_ref)
    return qty(style, ctx.backend.state_at(ref).get_balance(account))


def get_code(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getCode(address, block)``: the contract's code."""
    account = p.get(0, "address", address)
    ref = p.get(1, "block", block_ref, LATEST)
    return hex_data(ctx.backend.state_at(ref).get_code(account))


def get_storage_at(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getStorageAt(address, slot, block)``: the 32-byte word."""
    account = p.get(0, "address", address)
    slot = p.get(1, "slot", quantity)
    ref = p.get(2, "block", block_ref, LATEST)
    return hex_data(ctx.backend.state_at(ref).get_storage(account, slot).to_bytes(32, "big"))


MAX_PROOF_SLOTS = 1024
"""Most storage keys one ``getProof`` proves: each costs a walk of the account's storage trie."""


def get_proof(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getProof(address, storageKeys, block)`` (EIP-1186, Go ``GetProof``): the account and each slot
    with its Merkle proof against the block's state root, in Ethereum's shape in every namespace."""
    account = p.get(0, "address", address)
    keys = p.get(1, "storageKeys", _proof_keys)
    ref = p.get(2, "block", block_number_or_hash, LATEST)
    found = ctx.backend.account_proof(ref, account, [slot for _, slot in keys])
    return {
        "address": hex_data(account),
        "accountProof": [hex_data(node) for node in found.proof],
        "balance": hex_q(found.account.balance),
        "codeHash": hex_data(found.account.code_hash),
        "nonce": hex_q(found.account.nonce),
        "storageHash": hex_data(found.account.storage_root),
        "storageProof": [
            {"key": text, "value": hex_q(item.value), "proof": [hex_data(node) for node in item.proof]}
            for (text, _), item in zip(keys, found.storage, strict=True)
        ],
    }


def _proof_keys(value: object, name: str) -> list[tuple[str, int]]:
    """The storage keys of ``getProof``: a list of at most :data:`MAX_PROOF_SLOTS` hex slots, each
    kept with its text as the client wrote it (the response echoes it)."""
    if not isinstance(value, list):
        raise InvalidParams(f"invalid argument {name}: expected a list of 0x hex storage keys")
    if len(value) > MAX_PROOF_SLOTS:
        raise InvalidParams(
            f"invalid argument {name}: {len(value)} keys, at most {MAX_PROOF_SLOTS} per query"
        )
    return [(text, storage_slot(text, f"{name}[{i}]")) for i, text in enumerate(value)]


def _call_args(value: object, name: str) -> CallArgs:
    return call_args(value, name, max_data=MAX_CALL_DATA)


def eth_call(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``call(args, block)``: the return data (geth ``DoCall``); a revert answers code 3 with its data."""
    args = p.get(0, "args", _call_args)
    ref = p.get(1, "block", block_number_or_hash, LATEST)
    return hex_data(execution.call(ctx.backend, args, ref, ctx.call_gas_cap))


def estimate_gas(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``estimateGas(args, block?)``: the least sufficient gas limit, hex in every namespace (as Go)."""
    args = p.get(0, "args", _call_args)
    ref = p.get(1, "block", block_number_or_hash, LATEST)
    return hex_q(execution.estimate_gas(ctx.backend, args, ref, ctx.call_gas_cap))


def gas_price(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``gasPrice``: the pool's minimum gas price."""
    return qty(style, ctx.backend.min_gas_price)


def chain_id(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``chainId``: the shard's Ethereum chain ID on eth_, Harmony's chain ID on hmy (§9.3)."""
    if style is Style.ETH:
        return hex_q(ctx.backend.eth_chain_id)
    return qty(style, ctx.backend.chain_id)


def syncing(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``syncing``: eth: false or ``{startingBlock, currentBlock, highestBlock}``; hmy: a boolean."""
    state = ctx.backend.hooks.syncing()
    if style is not Style.ETH:
        return state is not None
    if state is None:
        return False
    current, highest = state
    return {"startingBlock": "0x0", "currentBlock": hex_q(current), "highestBlock": hex_q(highest)}


SHARED: tuple[tuple[str, Callable[..., object], int], ...] = (
    ("getBlockByNumber", get_block_by_number, 2),
    ("getBlockByHash", get_block_by_hash, 2),
    ("blockNumber", block_number, 0),
    ("getBlockTransactionCountByNumber", block_tx_count_by_number, 1),
    ("getBlockTransactionCountByHash", block_tx_count_by_hash, 1),
    ("getTransactionByBlockNumberAndIndex", tx_by_block_number_and_index, 2),
    ("getTransactionByBlockHashAndIndex", tx_by_block_hash_and_index, 2),
    ("getTransactionByHash", get_transaction_by_hash, 1),
    ("getTransactionReceipt", get_transaction_receipt, 1),
    ("getTransactionCount", get_transaction_count, 2),
    ("getBalance", get_balance, 2),
    ("getCode", get_code, 2),
    ("getStorageAt", get_storage_at, 3),
    ("getProof", get_proof, 3),
    ("call", eth_call, 3),
    ("estimateGas", estimate_gas, 3),
    ("gasPrice", gas_price, 0),
    ("chainId", chain_id, 0),
    ("syncing", syncing, 0),
)
"""``(name, handler(style, ctx, params), max params)`` registered in eth_, hmy_ and hmyv2_."""


def register_shared(table: MethodTable) -> None:
    """Register :data:`SHARED` under every namespace, plus the two sendRawTransaction variants."""
    for style in Style:
        for name, handler, max_params in SHARED:
            table[f"{style.value}_{name}"] = Method(partial(handler, style), max_params)
        table[f"{style.value}_sendRawTransaction"] = Method(
            partial(send_raw_transaction, style is Style.ETH), 1
        )
    for style in (Style.V1, Style.V2):
        table[f"{style.value}_getBalanceByBlockNumber"] = Method(
            partial(get_balance_by_block_number, style), 2
        )


def not_found(what: str) -> ServerError:
    """The error for a missing block or transaction where null is not an answer."""
    return ServerError(f"{what} not found")
