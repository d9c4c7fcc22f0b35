"""The polled-filter methods under ``eth_`` and ``hmy_`` (reference §9.2 "Filters").

``newFilter`` takes the ``eth_getLogs`` filter object without ``blockHash``; ``getFilterChanges`` answers
block hashes, pending transaction hashes or logs according to the filter's kind; ``getFilterLogs`` answers
every matching log of a log filter's whole range (at most ``max_log_blocks`` blocks, like ``eth_getLogs``).
"""

from __future__ import annotations

from functools import partial

from harmony.rpc.context import MAX_LOGS, Method, MethodContext, MethodTable
from harmony.rpc.errors import InvalidParams, LimitExceeded, ServerError
from harmony.rpc.filters import FilterKind, advance, log_filter_of
from harmony.rpc.formats import JSON, Style, hex_data, log_json
from harmony.rpc.logs import parse_filter_query
from harmony.rpc.params import Params

MAX_FILTER_ID = 100


def _filter_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_FILTER_ID:
        raise InvalidParams(f"invalid argument {name}: expected a filter id")
    return value


def new_filter(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``newFilter(filter)``: a log filter over ``fromBlock``…``toBlock`` (default: from the head on)."""
    query = p.get(0, "filter", parse_filter_query)
    if query.block_hash is not None:
        raise InvalidParams("invalid argument 0: a filter cannot name a blockHash; use getLogs")
    backend = ctx.backend
    head = backend.head_number()
    if isinstance(query.from_block, int) and query.from_block > head:
        first = query.from_block
    else:
        resolved = backend.resolve_number(query.from_block)
        first = head + 1 if resolved is None else resolved
    last: int | None
    if query.to_block in ("latest", "pending"):
        last = None
    elif isinstance(query.to_block, int):
        last = query.to_block
    else:
        last = backend.resolve_number(query.to_block)
    if last is not None and last < first:
        raise InvalidParams("invalid argument 0: toBlock is before fromBlock")
    return backend.filters.new_log_filter(query, head, first, last)


def new_block_filter(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``newBlockFilter()``: reports the hashes of blocks imported after now."""
    return ctx.backend.filters.new_block_filter(ctx.backend.head_number())


def new_pending_filter(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``newPendingTransactionFilter()``: reports the hashes of transactions the pool accepts."""
    return ctx.backend.filters.new_pending_filter()


def get_filter_changes(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getFilterChanges(id)``: what happened since the filter's last poll."""
    backend = ctx.backend
    item = backend.filters.get(p.get(0, "id", _filter_id))
    if item.kind is FilterKind.PENDING:
        hashes = [hex_data(eth if style is Style.ETH else plain) for plain, eth in item.pending]
        item.pending.clear()
        return hashes
    span = advance(item, backend.head_number(), ctx.max_log_blocks)
    if item.kind is FilterKind.BLOCKS:
        out: list[JSON] = []
        for number in span:
            header = backend.chain.db.get_header_by_number(number)
            if header is None:
                break
            out.append(hex_data(header.hash()))
        return out
    if not span:
        return []
    logs = backend.logs(log_filter_of(item), span.start, span.stop - 1, MAX_LOGS)
    return [log_json(style, e) for e in logs]


def get_filter_logs(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getFilterLogs(id)``: every matching log of a log filter's range."""
    backend = ctx.backend
    item = backend.filters.get(p.get(0, "id", _filter_id))
    if item.kind is not FilterKind.LOGS:
        raise ServerError("filter not found")
    head = backend.head_number()
    last = head if item.to_block is None else min(head, item.to_block)
    if item.from_block > last:
        return []
    count = last - item.from_block + 1
    if count > ctx.max_log_blocks:
        raise LimitExceeded(f"block range too large: {count} blocks, at most {ctx.max_log_blocks} per query")
    logs = backend.logs(log_filter_of(item), item.from_block, last, MAX_LOGS)
    return [log_json(style, e) for e in logs]


def uninstall_filter(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``uninstallFilter(id)``: whether a filter was removed."""
    return ctx.backend.filters.uninstall(p.get(0, "id", _filter_id))


FILTERS = (
    ("newFilter", new_filter, 1),
    ("newBlockFilter", new_block_filter, 0),
    ("newPendingTransactionFilter", new_pending_filter, 0),
    ("getFilterChanges", get_filter_changes, 1),
    ("getFilterLogs", get_filter_logs, 1),
    ("uninstallFilter", uninstall_filter, 1),
)


def register_filters(table: MethodTable) -> None:
    """Register the filter methods under ``eth_`` and ``hmy_`` (Harmony has no ``hmyv2_`` filters)."""
    for style in (Style.ETH, Style.V1):
        for name, handler, max_params in FILTERS:
            table[f"{style.value}_{name}"] = Method(partial(handler, style), max_params)
