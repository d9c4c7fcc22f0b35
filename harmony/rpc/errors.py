"""JSON-RPC error objects (JSON-RPC 2.0 §5.1, geth's server errors, reference §9).

Every failure a method reports is an :class:`RPCError` carrying its code, a message and optional data;
the dispatcher turns it into the response's ``error`` member. Nothing else a handler raises reaches a
client except as a generic internal error.
"""

from __future__ import annotations

from harmony.errors import HarmonyError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
"""Geth's generic server error: pool rejections, missing headers, execution failures."""
LIMIT_EXCEEDED = -32005
"""Rate limit or request-size limit exceeded (EIP-1474 ``limit exceeded``)."""
EXECUTION_REVERTED = 3
"""Geth's code for a call or gas estimate that reverted; ``data`` holds the revert bytes."""


class RPCError(HarmonyError):
    """An error a method answers with: ``{"code", "message", "data"?}``."""

    code: int = SERVER_ERROR

    def __init__(self, message: str, *, code: int | None = None, data: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data

    def to_json(self) -> dict[str, object]:
        """The JSON-RPC error object."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class InvalidRequest(RPCError):
    """The request object is not a valid JSON-RPC 2.0 request."""

    code = INVALID_REQUEST


class MethodNotFound(RPCError):
    """No such method in this namespace."""

    code = METHOD_NOT_FOUND


class InvalidParams(RPCError):
    """A parameter is missing, of the wrong type or out of range; the message names it."""

    code = INVALID_PARAMS


class ServerError(RPCError):
    """The request was understood but cannot be served (unknown block, pool rejection, range too big)."""

    code = SERVER_ERROR


class LimitExceeded(RPCError):
    """Too many requests from this client, or a request too large."""

    code = LIMIT_EXCEEDED


class ExecutionReverted(RPCError):
    """A call or gas estimate hit REVERT: code 3, ``data`` = the revert bytes in hex (as geth)."""

    code = EXECUTION_REVERTED


class StatePruned(ServerError):
    """The state a query needs is no longer stored: this node prunes old states (``harmony node --archive``
    keeps them)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "state not available: pruned by this node, which keeps the states of the last 128 blocks and "
            f"of every epoch's last block ({detail}); query an archive node (harmony node --archive)"
        )
