"""Logs, accounts, ``net_``/``netv1_``/``netv2_`` and ``web3_`` (reference §9.2 "Network", "Filters").

``eth_getLogs`` accepts a range of at most ``max_log_blocks`` blocks (beyond the head the range is cut to
the head) or a single ``blockHash``, and answers at most :data:`~harmony.rpc.context.MAX_LOGS` logs.
"""

from __future__ import annotations

from functools import partial

from harmony.rpc.context import MAX_LOGS, Method, MethodContext, MethodTable
from harmony.rpc.errors import LimitExceeded
from harmony.rpc.formats import JSON, Style, log_json, qty
from harmony.rpc.logs import parse_filter_query
from harmony.rpc.params import Params


def get_logs(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getLogs(filter)`` (eth_ and hmy_, Go's filter API in both): the matching logs of the range or of
    one block."""
    query = p.get(0, "filter", parse_filter_query)
    backend = ctx.backend
    if query.block_hash is not None:
        block = backend.block_at(query.block_hash)
        if block is None:
            return []
        return [log_json(style, e) for e in backend.block_logs(block, query.log_filter)]
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
    return [log_json(style, entry) for entry in logs]


def accounts(ctx: MethodContext, p: Params) -> JSON:
    """``accounts`` (eth_, hmy_, hmyv2_): the node holds no account keys (Go: always empty)."""
    return []


NET_NAMESPACES = {"net": Style.ETH, "netv1": Style.V1, "netv2": Style.V2}
"""Go registers its net service three times: ``net`` (eth), ``netv1`` (V1) and ``netv2`` (V2)."""


def net_version(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``net_version``: a decimal string, the Ethereum chain ID on ``net_``, Harmony's elsewhere (Go)."""
    backend = ctx.backend
    return str(backend.eth_chain_id if style is Style.ETH else backend.chain_id)


def net_listening(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``net_listening``: true while the node runs."""
    return True


def net_peer_count(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``net_peerCount``: connected peers, hex on ``net_``/``netv1_``, a number on ``netv2_``."""
    return qty(style, ctx.backend.hooks.peer_count())


def client_version(ctx: MethodContext, p: Params) -> JSON:
    """``web3_clientVersion``."""
    return ctx.backend.client_version


def register_eth(table: MethodTable) -> None:
    """Register getLogs, accounts, the three net namespaces and web3_."""
    for style in (Style.ETH, Style.V1):
        table[f"{style.value}_getLogs"] = Method(partial(get_logs, style), 1)
    for style in Style:
        table[f"{style.value}_accounts"] = Method(accounts, 0)
    for namespace, style in NET_NAMESPACES.items():
        table[f"{namespace}_version"] = Method(partial(net_version, style), 0)
        table[f"{namespace}_listening"] = Method(partial(net_listening, style), 0)
        table[f"{namespace}_peerCount"] = Method(partial(net_peer_count, style), 0)
    table["web3_clientVersion"] = Method(client_version, 0)
