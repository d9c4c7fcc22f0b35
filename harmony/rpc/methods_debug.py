"""The ``debug_trace*`` methods, registered without importing their tracers until the first call.

The tracers (:mod:`harmony.rpc.tracing`, :mod:`harmony.rpc.trace_replay`) subclass py-evm's computation, so
importing them imports py-evm: about a second of CPU on an idle two-core machine, which a node's start
spent before it served RPC (issue 15). Each method here is the tracer module's handler, looked up when the
method is first called.
"""

from __future__ import annotations

import importlib

from harmony.rpc.context import Handler, Method, MethodContext, MethodTable
from harmony.rpc.params import Params

DEBUG_METHODS: tuple[tuple[str, str, str, int], ...] = (
    ("debug_traceCall", "harmony.rpc.tracing", "debug_trace_call", 3),
    ("debug_traceTransaction", "harmony.rpc.trace_replay", "debug_trace_transaction", 2),
    ("debug_traceBlockByNumber", "harmony.rpc.trace_replay", "debug_trace_block_by_number", 2),
    ("debug_traceBlockByHash", "harmony.rpc.trace_replay", "debug_trace_block_by_hash", 2),
)
"""(method, module, handler, most positional parameters) of every debug method."""


def deferred(module: str, name: str) -> Handler:
    """The handler ``module.name``, imported on the first call (an import of a loaded module is a lookup)."""

    def handler(ctx: MethodContext, p: Params) -> object:
        found: Handler = getattr(importlib.import_module(module), name)
        return found(ctx, p)

    handler.__name__ = handler.__qualname__ = name
    return handler


def register_debug(table: MethodTable) -> None:
    """Register ``debug_traceCall``, ``debug_traceTransaction``, ``debug_traceBlockByNumber`` and
    ``debug_traceBlockByHash``."""
    for method, module, name, max_params in DEBUG_METHODS:
        table[method] = Method(deferred(module, name), max_params)
