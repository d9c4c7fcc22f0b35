"""Fee answers of a legacy-priced chain, for Ethereum wallets and libraries (EIP-1559, EIP-2930, EIP-2718).

Harmony executes legacy transactions only (reference §2.3: Ethereum-compatible transactions are the
pre-EIP-2718 form). So:

* ``eth_sendRawTransaction`` of a typed envelope (first byte 0x01 access list, 0x02 dynamic fee, ...)
  answers -32000 saying the chain takes legacy transactions (:func:`refuse_typed`);
* blocks carry no ``baseFeePerGas`` (``formats.block_json``), which is how ethers.js v6 and MetaMask-style
  wallets decide to price with ``gasPrice``;
* ``eth_maxPriorityFeePerGas`` answers 0 and ``eth_feeHistory`` a base fee of 0 for every block, with
  each block's real gas-used ratio and, for each requested percentile, the pool's minimum gas price, so a
  wallet that asks still ends up with a legacy price.
"""

from __future__ import annotations

from harmony.rpc.context import Method, MethodContext, MethodTable
from harmony.rpc.errors import InvalidParams, ServerError
from harmony.rpc.formats import JSON, hex_q
from harmony.rpc.params import Params, block_ref, quantity

TX_TYPE_NAMES = {0x01: "EIP-2930 access-list", 0x02: "EIP-1559 dynamic-fee", 0x03: "EIP-4844 blob"}
MAX_FEE_HISTORY_BLOCKS = 1024
"""Most blocks one ``eth_feeHistory`` covers (geth's ``maxBlockFetchers`` range cap)."""
MAX_PERCENTILES = 100
"""Most reward percentiles one ``eth_feeHistory`` takes."""


def refuse_typed(raw: bytes) -> None:
    """Raise the legacy-only error for a typed transaction envelope (EIP-2718: first byte below 0x80)."""
    if raw and raw[0] <= 0x7F:
        kind = TX_TYPE_NAMES.get(raw[0], "typed")
        raise ServerError(
            f"transaction type 0x{raw[0]:02x} ({kind}) is not supported: this chain takes legacy "
            "transactions only (type 0, priced with gasPrice); sign the transaction as type 0"
        )


def max_priority_fee(ctx: MethodContext, p: Params) -> JSON:
    """``eth_maxPriorityFeePerGas``: 0; there is no base fee to tip above (module docstring)."""
    return hex_q(0)


def _percentiles(value: object, name: str) -> list[float]:
    if not isinstance(value, list) or len(value) > MAX_PERCENTILES:
        raise InvalidParams(f"invalid argument {name}: expected at most {MAX_PERCENTILES} percentiles")
    out: list[float] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 <= item <= 100:
            raise InvalidParams(f"invalid argument {name}: percentiles are numbers from 0 to 100")
        if out and item < out[-1]:
            raise InvalidParams(f"invalid argument {name}: percentiles must be ascending")
        out.append(float(item))
    return out


def fee_history(ctx: MethodContext, p: Params) -> JSON:
    """``eth_feeHistory(blockCount, newestBlock, rewardPercentiles?)`` (geth's shape) of a legacy chain:
    ``oldestBlock``, ``baseFeePerGas`` (count + 1 zeros), ``gasUsedRatio`` per block and, with
    percentiles, ``reward`` = the minimum gas price at each."""
    count = p.get(0, "blockCount", quantity)
    newest_ref = p.get(1, "newestBlock", block_ref)
    no_percentiles: list[float] = []
    percentiles = p.get(2, "rewardPercentiles", _percentiles, no_percentiles)
    if count > MAX_FEE_HISTORY_BLOCKS:
        raise InvalidParams(f"invalid argument 0 (blockCount): at most {MAX_FEE_HISTORY_BLOCKS} blocks")
    backend = ctx.backend
    newest = backend.resolve_number(newest_ref)
    if newest is None:
        raise ServerError("requested block number greater than current block number")
    if count == 0:
        return {"oldestBlock": hex_q(0), "baseFeePerGas": [], "gasUsedRatio": []}
    oldest = max(0, newest - count + 1)
    ratios: list[float] = []
    for number in range(oldest, newest + 1):
        header = backend.chain.db.get_header_by_number(number)
        ratios.append(0.0 if header is None or not header.gas_limit else header.gas_used / header.gas_limit)
    out: dict[str, JSON] = {
        "oldestBlock": hex_q(oldest),
        "baseFeePerGas": [hex_q(0)] * (len(ratios) + 1),
        "gasUsedRatio": ratios,
    }
    if percentiles:
        out["reward"] = [[hex_q(backend.min_gas_price)] * len(percentiles) for _ in ratios]
    return out


def register_fees(table: MethodTable) -> None:
    """Register ``eth_maxPriorityFeePerGas`` and ``eth_feeHistory``."""
    table["eth_maxPriorityFeePerGas"] = Method(max_priority_fee, 0)
    table["eth_feeHistory"] = Method(fee_history, 3)
