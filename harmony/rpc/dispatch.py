"""JSON-RPC 2.0 request handling without sockets (JSON-RPC 2.0 specification §4-§6, reference §9).

:meth:`Dispatcher.handle` takes a request body and returns the response body (``None`` when every request
was a notification). It never raises: malformed JSON answers -32700, a request that is not a request
object -32600, an unknown method -32601, bad parameters -32602 naming the parameter, and anything a
handler raises past its typed errors -32603 (logged). A batch holds at most ``max_batch`` requests.
"""

from __future__ import annotations

import json
import logging
import math
import operator
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from harmony.errors import HarmonyError
from harmony.rpc.backend import RPCBackend
from harmony.rpc.context import MethodContext, MethodTable
from harmony.rpc.errors import (
    INTERNAL_ERROR,
    PARSE_ERROR,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    RPCError,
    ServerError,
    StatePruned,
)
from harmony.rpc.fence_refusal import fence_refusal
from harmony.rpc.methods_cx import register_cx
from harmony.rpc.methods_debug import register_debug
from harmony.rpc.methods_eth import register_eth
from harmony.rpc.methods_fees import register_fees
from harmony.rpc.methods_fences import register_fences
from harmony.rpc.methods_filters import register_filters
from harmony.rpc.methods_hmy import register_hmy
from harmony.rpc.methods_shared import register_shared
from harmony.rpc.methods_staking import register_staking
from harmony.rpc.params import Params
from harmony.state.trie import MissingTrieNode

log = logging.getLogger(__name__)

MAX_METHOD_NAME = 128
MAX_ID_LENGTH = 256
"""Longest string ``id`` echoed back."""
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a request."""
_NOT_BRACKETS_OR_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"')
_TWO_PER_OPENER = bytes(2 if b in b"[{" else 0 for b in range(256))


def build_method_table() -> MethodTable:
    """Every method this node serves over HTTP: eth_, hmy_, hmyv2_, net_ and web3_."""
    table: MethodTable = {}
    register_shared(table)
    register_eth(table)
    register_hmy(table)
    register_filters(table)
    register_staking(table)
    register_cx(table)
    register_fees(table)
    register_fences(table)
    register_debug(table)
    return table


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_depth(body: bytes) -> None:
    """Refuse JSON nested deeper than :data:`MAX_JSON_DEPTH` before decoding it.

    py-evm raises the interpreter's recursion limit to 100,000 on import, so the C JSON decoder would
    overflow the C stack (a segfault, not a ``RecursionError``) on a few hundred thousand brackets. Brackets
    inside strings are ignored. Every step is a C-level pass over the body (a regex over the strings made
    this cost ten times the decoding of a batch of transactions).
    """
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return
    # escaped backslashes, then escaped quotes, go first (left to right, as a JSON scanner reads them); the
    # quotes left then delimit the strings, and what lies between every other pair of them is outside
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    unescaped = body.translate(None, _NOT_BRACKETS_OR_QUOTES)
    steps = b"".join(unescaped.split(b'"')[::2]).translate(_TWO_PER_OPENER)
    # the depth after the i-th bracket is (openers so far) - (closers so far) = 2 * openers - i
    if max(map(operator.sub, accumulate(steps), range(1, len(steps) + 1)), default=0) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def parse_json(body: bytes | str) -> Any:
    """Decode a request body: strict JSON (no NaN/Infinity), nesting bounded, :class:`ValueError` else."""
    data = body.encode("utf-8", errors="surrogatepass") if isinstance(body, str) else body
    check_depth(data)
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def error_response(request_id: object, error: RPCError) -> dict[str, object]:
    """A response object carrying ``error``."""
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def _valid_id(value: object) -> bool:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_ID_LENGTH
    return isinstance(value, float) and math.isfinite(value)


class Dispatcher:
    """Routes JSON-RPC requests to the method handlers over one :class:`RPCBackend`."""

    def __init__(
        self,
        backend: RPCBackend,
        *,
        max_batch: int = 100,
        max_log_blocks: int = 1024,
        call_gas_cap: int = 50_000_000,
        methods: MethodTable | None = None,
    ) -> None:
        self.backend = backend
        self.max_batch = max_batch
        self.context = MethodContext(backend, max_log_blocks=max_log_blocks, call_gas_cap=call_gas_cap)
        self.methods = methods if methods is not None else build_method_table()
        self.calls: Counter[str] = Counter()
        """Requests per served method (for ``hmy_rpc_*`` metrics; unknown names are not counted)."""
        self.failures: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def handle(self, body: bytes | str, extra: Mapping[str, Any] | None = None) -> bytes | None:
        """The response body for request ``body`` (single or batch), or ``None`` for notifications only.

        ``extra`` adds connection-bound methods (a WebSocket's ``eth_subscribe``) to the table.
        """
        try:
            request = parse_json(body)
        except ValueError as exc:
            return _dumps(error_response(None, RPCError(f"parse error: {exc}"[:200], code=PARSE_ERROR)))
        return self.handle_value(request, extra)

    def handle_value(self, request: object, extra: Mapping[str, Any] | None = None) -> bytes | None:
        """Like :meth:`handle` for an already decoded request."""
        if isinstance(request, list):
            if not request:
                return _dumps(error_response(None, InvalidRequest("empty batch")))
            if len(request) > self.max_batch:
                return _dumps(
                    error_response(
                        None, InvalidRequest(f"batch too large: at most {self.max_batch} requests")
                    )
                )
            responses = [r for r in (self._one(item, extra) for item in request) if r is not None]
            return _dumps(responses) if responses else None
        response = self._one(request, extra)
        return None if response is None else _dumps(response)

    def _one(self, request: object, extra: Mapping[str, Any] | None) -> dict[str, object] | None:
        """The response to one request object, or ``None`` for a notification."""
        if not isinstance(request, dict):
            return error_response(None, InvalidRequest("a request must be a JSON object"))
        notification = "id" not in request
        request_id = request.get("id")
        if not _valid_id(request_id):
            return error_response(None, InvalidRequest("id must be a string, a number or null"))
        try:
            result = self._call(request, extra)
        except RPCError as exc:
            return None if notification else error_response(request_id, exc)
        if notification:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _call(self, request: dict[str, Any], extra: Mapping[str, Any] | None) -> object:
        version = request.get("jsonrpc", "2.0")
        if version != "2.0":
            raise InvalidRequest('jsonrpc must be "2.0"')
        method = request.get("method")
        if not isinstance(method, str) or not method or len(method) > MAX_METHOD_NAME:
            raise InvalidRequest("method must be a non-empty string")
        spec = extra.get(method) if extra is not None else None
        if spec is None:
            spec = self.methods.get(method)
        if spec is None:
            raise MethodNotFound(f"the method {method} does not exist/is not available")
        jurisdiction = self.backend.fence_jurisdiction()
        if jurisdiction is not None:
            refused = fence_refusal(method, self.backend.shard_id, jurisdiction, self.backend.inside_fence())
            if refused is not None:
                raise refused
        raw_params = request.get("params", [])
        if raw_params is None:
            raw_params = []
        if isinstance(raw_params, dict):
            raise InvalidParams("parameters must be given by position (a JSON array)")
        if not isinstance(raw_params, list):
            raise InvalidRequest("params must be an array")
        self.calls[method] += 1
        started = time.perf_counter()
        try:
            params = Params(raw_params, spec.max_params)
            result = spec.handler(self.context, params)
            _dumps(result)  # a handler's result must serialise; fail here, inside the request
            return result
        except RPCError:
            self.failures[method] += 1
            raise
        except MissingTrieNode as exc:
            self.failures[method] += 1
            raise StatePruned(str(exc)) from None
        except HarmonyError as exc:
            self.failures[method] += 1
            raise ServerError(str(exc)[:500]) from None
        except RecursionError:
            self.failures[method] += 1
            raise InvalidParams("parameters nested too deeply") from None
        except Exception:
            self.failures[method] += 1
            log.exception("internal error in %s", method)
            raise RPCError("internal error", code=INTERNAL_ERROR) from None
        finally:
            self.seconds[method] += time.perf_counter() - started
