"""Ethereum-only methods: logs, accounts, net_ and web3_ (reference §9.2 "Network", "Filters").

``eth_getLogs`` accepts a range of at most ``max_log_blocks`` blocks (beyond the head the range is cut to
the head) or a single ``blockHash``, and answers at most :data:`~harmony.rpc.context.MAX_LOGS` logs.
"""

from __future__ import annotations

from harmony.rpc.context import MAX_LOGS, Method, MethodContext, MethodTable
from harmony.rpc.errors import LimitExceeded
from harmony.rpc.formats import JSON, Style, hex_q, log_json
from harmony.rpc.logs import parse_filter_query
from harmony.rpc.params import Params


def get_logs(ctx: MethodContext, p: Params) -> JSON:
    """``eth_getLogs(filter)``: the matching logs of the range or of one block."""
    query = p.get(0, "filter", parse_filter_query)
    backend = ctx.backend
    if query.block_hash is not None:
        block = backend.block_at(query.block_hash)
        if block is None:
            return []
        return [log_json(Style.ETH, e) for e in backend.block_logs(block, query.log_filter)]
    head = backend.head_number()
    first = backend.resolve_number(query.from_block)
    last = backend.resolve_number(query.to_block)
    if first is None:
        return []
    last = head if last is None else last
    if first > last:
        return []
    if last - first + 1 > ctx.max_log_blocks:
        raise LimitExceeded(
            f"block range too large: {last - first + 1} blocks, at most {ctx.max_log_blocks} per query"
        )
    logs = backend.logs(query.log_filter, first, last, MAX_LOGS)
    return [log_json(Style.ETH, entry) for entry in logs]


def accounts(ctx: MethodContext, p: Params) -> JSON:
    """``eth_accounts``: the node holds no account keys."""
    return []


def net_version(ctx: MethodContext, p: Params) -> JSON:
    """``net_version``: the Ethereum chain ID as a decimal string (as Harmony's eth service answers)."""
    return str(ctx.backend.eth_chain_id)


def net_listening(ctx: MethodContext, p: Params) -> JSON:
    """``net_listening``: true while the node runs."""
    return True


def net_peer_count(ctx: MethodContext, p: Params) -> JSON:
    """``net_peerCount``: connected peers, hex."""
    return hex_q(ctx.backend.hooks.peer_count())


def client_version(ctx: MethodContext, p: Params) -> JSON:
    """``web3_clientVersion``."""
    return ctx.backend.client_version


def register_eth(table: MethodTable) -> None:
    """Register the eth-only, net_ and web3_ methods."""
    table["eth_getLogs"] = Method(get_logs, 1)
    table["eth_accounts"] = Method(accounts, 0)
    table["net_version"] = Method(net_version, 0)
    table["net_listening"] = Method(net_listening, 0)
    table["net_peerCount"] = Method(net_peer_count, 0)
    table["web3_clientVersion"] = Method(client_version, 0)
