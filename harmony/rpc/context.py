"""What every method handler receives, and the method table type (reference §9.1).

A handler is ``handler(ctx, params) -> JSON`` registered under its full name (``eth_getBalance``) with
the most positional parameters it takes; the dispatcher refuses more before calling it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harmony.rpc.backend import RPCBackend
from harmony.rpc.params import Params

MAX_RAW_TX_BYTES = 128 * 1024
"""Largest signed transaction accepted from a client (Go ``txMaxSize``: 128 KiB)."""
MAX_CALL_DATA = 512 * 1024
"""Largest call data of ``eth_call``/``eth_estimateGas``."""
MAX_BLOCKS_PER_REQUEST = 1024
"""``hmyv2_getBlocks`` returns at most this many blocks (reference §9.2)."""
MAX_LOGS = 10_000
"""Most logs one ``eth_getLogs`` answers with."""


@dataclass(frozen=True, slots=True)
class MethodContext:
    """The backend and the limits a method runs under."""

    backend: RPCBackend
    max_log_blocks: int = 1024
    call_gas_cap: int = 50_000_000


Handler = Callable[[MethodContext, Params], object]


@dataclass(frozen=True, slots=True)
class Method:
    """A registered method: its handler and how many positional parameters it takes at most."""

    handler: Handler
    max_params: int


MethodTable = dict[str, Method]
