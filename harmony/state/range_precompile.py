"""The range-proof precompile: "the value in this Pedersen commitment is at least X", checked in the EVM.

Address ``0x00000000000000000000000000000000000000f8``, just below the block Harmony's Go node keeps for its
own precompiles, 0xf9-0xff (0xf9 cross-shard transfer, 0xfc staking, 0xff VRF: harmony-reference.md §2.4,
§8). Unlike Harmony's, it is not gated by an activation epoch: it exists from genesis on our networks.

Input, exactly 753 bytes (Solidity: ``abi.encodePacked(commitment, lowerBound, proof)``)::

    commitment (33 bytes, compressed secp256k1 point)
      ‖ lower bound X (uint256, below 2^128)
      ‖ proof (688 bytes)

Output: a 32-byte word, 1 when the proof shows ``X ≤ v < X + 2⁶⁴`` for the committed ``v``
(:func:`harmony.crypto.zk.range_proof.verify_at_least`), 0 when the input is well formed but the proof
does not hold. Malformed input (another length, a point off the curve or at a non-canonical x, a scalar
``≥ n``, ``X ≥ 2^128``) is an exceptional halt: the call fails and its gas is consumed, like any failing
precompile. Cost: :data:`RANGE_PROOF_GAS`, charged before anything is decoded.
"""

from __future__ import annotations

from eth.abc import ComputationAPI
from eth.exceptions import VMError
from eth_typing import Address

from harmony.crypto.zk.errors import ZkDecodeError
from harmony.crypto.zk.group import POINT_SIZE, decode_point
from harmony.crypto.zk.range_proof import LOWER_BOUND_LIMIT, RangeProof, proof_size, verify_at_least

RANGE_PROOF_ADDRESS = Address((0xF8).to_bytes(20, "big"))
"""Where the precompile lives."""
RANGE_PROOF_GAS = 600_000
"""Gas per call, from ``bench/zk.py``: one verification (11-18 ms on this 2-core machine, depending on the
load) takes about 190 times as long as an ecrecover (3,000 gas) measured in the same run, so about 580 k,
and Ethereum's rule of 35 Mgas per second of work (EIP-1108) gives 400-650 k."""
INPUT_SIZE = POINT_SIZE + 32 + proof_size(1)
"""753 bytes: commitment, lower bound, one-value proof."""

_TRUE = (1).to_bytes(32, "big")
_FALSE = bytes(32)


class MalformedRangeProofInput(VMError):
    """The precompile's input is not a well-formed (commitment, lower bound, proof); the message says why."""


def verify_range_input(data: bytes) -> bool:
    """Decode and check the precompile's input (the module's layout); :class:`MalformedRangeProofInput`
    names the bad field, before any curve arithmetic."""
    if len(data) != INPUT_SIZE:
        raise MalformedRangeProofInput(
            f"range proof precompile: input must be {INPUT_SIZE} bytes, got {len(data)}"
        )
    lower_bound = int.from_bytes(data[POINT_SIZE : POINT_SIZE + 32], "big")
    if lower_bound >= LOWER_BOUND_LIMIT:
        raise MalformedRangeProofInput("range proof precompile: lower bound must be below 2^128")
    try:
        commitment = decode_point(data[:POINT_SIZE], "commitment")
        proof = RangeProof.from_bytes(data[POINT_SIZE + 32 :])
    except ZkDecodeError as exc:
        raise MalformedRangeProofInput(f"range proof precompile: {exc}") from exc
    return verify_at_least(commitment, lower_bound, proof)


def range_proof_precompile(computation: ComputationAPI) -> ComputationAPI:
    """py-evm precompile entry: charge :data:`RANGE_PROOF_GAS`, then write 1 or 0 (or halt on malformed
    input). Only :class:`VMError` ever leaves it, which py-evm turns into a failed call."""
    computation.consume_gas(RANGE_PROOF_GAS, reason="range proof precompile")
    computation.output = _TRUE if verify_range_input(computation.msg.data_as_bytes) else _FALSE
    return computation


__all__ = [
    "INPUT_SIZE",
    "RANGE_PROOF_ADDRESS",
    "RANGE_PROOF_GAS",
    "MalformedRangeProofInput",
    "range_proof_precompile",
    "verify_range_input",
]
