"""Harmony-only methods in ``hmy_`` (V1, hex) and ``hmyv2_`` (V2, plain numbers) (reference §9.2, §9.3).

Network (protocolVersion, getNodeMetadata, inSync), blockchain (getBlocks, getEpoch, getShardingStructure,
getShardID, latestHeader, getHeaderByNumber, getBlockSigners, getBlockSignerKeys, isBlockSigner,
epochLastBlock, isLastBlock, getLeader), transaction (getAccountNonce, getTransactionsHistory,
getStakingTransactionsHistory, getTransactionsCount, getStakingTransactionsCount: over the chain
database's address index) and pool (getPoolStats, pendingTransactions, getCurrentTransactionErrorSink).
Staking methods are in :mod:`harmony.rpc.methods_staking`, cross-shard ones in :mod:`harmony.rpc.methods_cx`,
filters in :mod:`harmony.rpc.methods_filters`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from harmony.chain.quorum import Roster
from harmony.encoding.address import to_bech32
from harmony.encoding.fixed import SCALE
from harmony.rpc.context import MAX_BLOCKS_PER_REQUEST, Method, MethodContext, MethodTable
from harmony.rpc.errors import InvalidParams, ServerError
from harmony.rpc.formats import (
    JSON,
    StakingInBlock,
    Style,
    TxInBlock,
    go_header_json,
    header_information_json,
    header_json,
    hex_data,
    qty,
    receipt_json,
    staking_transaction_json,
    transaction_json,
)
from harmony.rpc.methods_shared import LATEST, TOO_HIGH, format_block
from harmony.rpc.node_info import node_metadata_json, peer_info_json, sharding_structure_json
from harmony.rpc.params import (
    BlockOptions,
    BlockRef,
    Params,
    address,
    block_number_or_hash,
    block_options,
    block_ref,
    history_args,
    tx_type,
    uint64,
)
from harmony.storage.chaindb import TxDirection

PROTOCOL_VERSION = 1
"""Harmony's ``proto.ProtocolVersion`` as the RPC reports it."""


def protocol_version(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``protocolVersion``."""
    return qty(style, PROTOCOL_VERSION)


def node_metadata(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getNodeMetadata``: Go's ``NodeMetadata`` (:func:`harmony.rpc.node_info.node_metadata_json`)."""
    return node_metadata_json(ctx.backend)


def peer_info(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getPeerInfo``: Go's ``NodePeerInfo``: peer id, banned peers, connected peers per topic."""
    return peer_info_json(ctx.backend)


def in_sync(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``inSync``: whether the node is not syncing."""
    return ctx.backend.hooks.syncing() is None


def sharding_structure(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getShardingStructure``: ``[{current, shardID, http, ws}]`` for every shard (§9.3)."""
    backend = ctx.backend
    return sharding_structure_json(
        backend.chain.params.shard_count, backend.shard_id, backend.hooks.shard_endpoints()
    )


def shard_id(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getShardID``."""
    return ctx.backend.shard_id


def get_epoch(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getEpoch``: the head's epoch."""
    return qty(style, ctx.backend.chain.head.epoch)


def get_leader(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getLeader``: the head block's coinbase, bech32."""
    return to_bech32(ctx.backend.chain.head.coinbase)


def _header_information(ctx: MethodContext, ref: BlockRef) -> JSON:
    backend = ctx.backend
    header = backend.header_at(ref)
    if header is None:
        raise ServerError(TOO_HIGH)
    return header_information_json(
        header, to_bech32(header.coinbase), beacon=backend.chain.params.is_beacon(header.shard_id)
    )


def latest_header(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``latestHeader``: Harmony's ``HeaderInformation`` of the head."""
    return _header_information(ctx, LATEST)


def header_by_number(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getHeaderByNumber(block)``: the block's ``HeaderInformation`` (Go, every version); past the head,
    Go's ``requested block number greater than current block number``."""
    return _header_information(ctx, p.get(0, "block", block_ref))


def full_header(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getFullHeader(block)``: every v3 header field (Harmony's ``BlockHeader``, v1 hex / v2 numbers)."""
    header = ctx.backend.header_at(p.get(0, "block", block_ref))
    if header is None:
        raise ServerError(TOO_HIGH)
    return header_json(style, header)


def header_rlp_hex(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getHeaderByNumberRLPHex(block)``: the header's tagged RLP encoding as hex, which a client can decode
    and check itself (its hash is the block hash; its VRF and VDF fields verify, reference §7)."""
    header = ctx.backend.header_at(p.get(0, "block", block_ref))
    if header is None:
        raise ServerError("header not found")
    return header.encode().hex()


def get_blocks(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlocks(start, end, options)``: blocks ``start..end`` that exist, at most 1024 (§9.2)."""
    start = p.get(0, "start", block_ref)
    end = p.get(1, "end", block_ref)
    options = p.get(2, "options", block_options, BlockOptions())
    backend = ctx.backend
    if isinstance(start, int) and isinstance(end, int) and end - start + 1 > MAX_BLOCKS_PER_REQUEST:
        raise InvalidParams(f"invalid argument 1 (end): at most {MAX_BLOCKS_PER_REQUEST} blocks per request")
    first = backend.resolve_number(start)
    last = backend.resolve_number(end)
    if first is None:
        return []
    last = backend.head_number() if last is None else last
    if last - first + 1 > MAX_BLOCKS_PER_REQUEST:
        raise InvalidParams(f"invalid argument 1 (end): at most {MAX_BLOCKS_PER_REQUEST} blocks per request")
    out: list[JSON] = []
    for number in range(first, last + 1):
        block = backend.block_at(number)
        if block is None:
            continue  # expired by a pruning node, or before a state-synced node's first block
        out.append(format_block(ctx, style, block, options))
    return out


def _signer_block(ctx: MethodContext, p: Params) -> int:
    number = ctx.backend.resolve_number(p.get(0, "block", block_ref))
    if number is None:
        raise ServerError("header not found")
    return number


def block_signers(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockSigners(block)``: bech32 addresses of the committee members who signed the block."""
    return [to_bech32(s.ecdsa_address) for s in ctx.backend.block_signers(_signer_block(ctx, p))]


def block_signer_keys(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockSignerKeys(block)``: hex BLS public keys of the signers (no 0x, as Go)."""
    return [s.bls_public_key.hex() for s in ctx.backend.block_signers(_signer_block(ctx, p))]


def is_block_signer(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``isBlockSigner(block, address)``."""
    number = _signer_block(ctx, p)
    account = p.get(1, "address", address)
    return any(s.ecdsa_address == account for s in ctx.backend.block_signers(number))


def epoch_last_block(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``epochLastBlock(epoch)``: the last block number of ``epoch``."""
    epoch = p.get(0, "epoch", uint64)
    return qty(style, ctx.backend.chain.params.epoch_last_block(epoch))


def is_last_block(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``isLastBlock(block)``: whether the block number ends its epoch."""
    return ctx.backend.chain.params.is_last_block(p.get(0, "block", uint64))


def last_signing_power(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getLastSigningPower``: the share of voting power that signed the head block, in whole percent
    over 100 (Go: ``GetLastKnownSignPower() / 100``, a JSON number such as ``0.68``); 0 before a commit."""
    backend = ctx.backend
    committee, members = backend.block_signer_indices(backend.head_number())
    if committee is None:
        return 0
    power = Roster(committee, backend.chain.params.harmony_vote_share).power_of(members)
    percent = power.mul_int(100).raw // SCALE
    return percent / 100


def latest_chain_headers(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getLatestChainHeaders``: Go's ``HeaderPair`` ``{beacon-chain-header, shard-chain-header}`` of
    heads, each as ``block.Header`` marshals; a shard node keeps no beacon chain, so its beacon header
    is null. The same in every version."""
    backend = ctx.backend
    head = backend.chain.head
    beacon = backend.chain.params.is_beacon(backend.shard_id)
    return {
        "beacon-chain-header": go_header_json(head) if beacon else None,
        "shard-chain-header": go_header_json(head),
    }


def beacon_in_sync(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``beaconInSync``: on a beacon node, whether it is in sync; other nodes keep no beacon chain."""
    backend = ctx.backend
    if not backend.chain.params.is_beacon(backend.shard_id):
        raise ServerError("this node does not keep the beacon chain: ask a shard 0 node")
    return backend.hooks.syncing() is None


def block_receipts(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockReceipts(block)``: the receipts of the block's plain transactions in order (v1, v2 or
    eth shapes), by hash as Go takes it, or by number as geth's ``eth_getBlockReceipts``; null if none."""
    block = ctx.backend.block_at(p.get(0, "block", block_number_or_hash))
    if block is None:
        return None
    return [receipt_json(style, rec) for rec in ctx.backend.block_receipts(block)]


def account_nonce(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getAccountNonce(address, block)``: the nonce at the block, a plain number in both versions (Go)."""
    account = p.get(0, "address", address)
    ref = p.get(1, "block", block_ref, LATEST)
    if ref == "pending":
        return ctx.backend.pool.pending_nonce(account)
    return ctx.backend.state_at(ref).get_nonce(account)


def _history(staking: bool, style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``get(Staking)TransactionsHistory({address, pageIndex, pageSize, fullTx, txType, order})``.

    Go ``GetTransactionsHistory``: the page ``pageIndex`` of size ``pageSize`` (default 100, at most 1000
    here) of the address's transactions of ``txType`` in chain order (``DESC``: newest first), as hashes or,
    with ``fullTx``, as ``getTransactionByHash`` objects; ``{"transactions": […]}`` (staking:
    ``{"staking_transactions": […]}``), the same in both versions apart from the objects' quantities.
    """
    args = p.get(0, "args", history_args)
    db = ctx.backend.chain.db
    hashes = db.address_transactions(
        args.address,
        staking=staking,
        direction=args.direction,
        start=args.start,
        limit=args.page_size,
        newest_first=args.newest_first,
    )
    key = "staking_transactions" if staking else "transactions"
    if not args.full_tx:
        return {key: [hex_data(h) for h in hashes]}
    found = ctx.backend.mined_transactions(hashes, staking=staking)
    return {
        key: [
            staking_transaction_json(style, item)
            if isinstance(item, StakingInBlock)
            else transaction_json(style, item)
            for item in found
        ]
    }


def _count(staking: bool, style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``get(Staking)TransactionsCount(address, txType)``: how many transactions of ``txType`` (``ALL``,
    ``SENT``, ``RECEIVED``) involve the address; a plain number in both versions (Go: "the same for all
    versions")."""
    account = p.get(0, "address", address)
    direction = p.get(1, "txType", tx_type, TxDirection.ALL)
    return ctx.backend.chain.db.address_transaction_count(account, staking=staking, direction=direction)


def pool_stats(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getPoolStats``: ``{executable-count, non-executable-count}``."""
    executable, non_executable = ctx.backend.pool.stats()
    return {"executable-count": executable, "non-executable-count": non_executable}


def pending_transactions(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``pendingTransactions``: the pool's executable and queued plain transactions."""
    backend = ctx.backend
    txs = backend.pool.pending() + backend.pool.queued()
    return [transaction_json(style, TxInBlock(tx, backend.sender(tx))) for tx in txs]


def error_sink(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getCurrentTransactionErrorSink``: ``[{tx-hash-id, time-at-rejection, error-message}]``."""
    return [
        {
            "tx-hash-id": hex_data(entry.tx_hash),
            "time-at-rejection": int(entry.time_at),
            "error-message": entry.message,
        }
        for entry in ctx.backend.pool.errors()
    ]


HMY: tuple[tuple[str, Callable[..., object], int], ...] = (
    ("protocolVersion", protocol_version, 0),
    ("getNodeMetadata", node_metadata, 0),
    ("inSync", in_sync, 0),
    ("getShardingStructure", sharding_structure, 0),
    ("getShardID", shard_id, 0),
    ("getPeerInfo", peer_info, 0),
    ("getEpoch", get_epoch, 0),
    ("getLeader", get_leader, 0),
    ("latestHeader", latest_header, 0),
    ("getHeaderByNumber", header_by_number, 1),
    ("getHeaderByNumberRLPHex", header_rlp_hex, 1),
    ("getFullHeader", full_header, 1),
    ("getBlocks", get_blocks, 3),
    ("getBlockSigners", block_signers, 1),
    ("getBlockSignerKeys", block_signer_keys, 1),
    ("isBlockSigner", is_block_signer, 2),
    ("epochLastBlock", epoch_last_block, 1),
    ("isLastBlock", is_last_block, 1),
    ("getAccountNonce", account_nonce, 2),
    ("getLastSigningPower", last_signing_power, 0),
    ("getLatestChainHeaders", latest_chain_headers, 0),
    ("beaconInSync", beacon_in_sync, 0),
    ("getTransactionsHistory", partial(_history, False), 1),
    ("getStakingTransactionsHistory", partial(_history, True), 1),
    ("getTransactionsCount", partial(_count, False), 2),
    ("getStakingTransactionsCount", partial(_count, True), 2),
    ("getPoolStats", pool_stats, 0),
    ("pendingTransactions", pending_transactions, 0),
    ("getCurrentTransactionErrorSink", error_sink, 0),
)
"""``(name, handler(style, ctx, params), max params)`` registered in hmy_ and hmyv2_."""


def register_hmy(table: MethodTable) -> None:
    """Register :data:`HMY` under ``hmy_`` and ``hmyv2_``, and ``getBlockReceipts`` in all three."""
    for style in (Style.V1, Style.V2):
        for name, handler, max_params in HMY:
            table[f"{style.value}_{name}"] = Method(partial(handler, style), max_params)
    for style in Style:
        table[f"{style.value}_getBlockReceipts"] = Method(partial(block_receipts, style), 1)
