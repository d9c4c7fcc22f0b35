"""Our EVM's precompile table: Istanbul's nine (0x01-0x09) and the range-proof verifier at 0xf8.

:class:`HarmonyComputation` is py-evm's Istanbul computation with that table; the EVM bridge
(:mod:`harmony.state.evm`) and the RPC's tracers run it.
"""

from __future__ import annotations

from collections.abc import Callable

from eth.abc import ComputationAPI
from eth.vm.forks.istanbul.computation import IstanbulComputation
from eth_typing import Address

from harmony.state.range_precompile import RANGE_PROOF_ADDRESS, range_proof_precompile

PRECOMPILES: dict[Address, Callable[[ComputationAPI], ComputationAPI]] = {
    **IstanbulComputation.get_precompiles(),
    RANGE_PROOF_ADDRESS: range_proof_precompile,
}
"""Every precompiled contract by address."""


class HarmonyComputation(IstanbulComputation):
    """Istanbul's interpreter with :data:`PRECOMPILES`."""

    _precompiles = PRECOMPILES


__all__ = ["PRECOMPILES", "HarmonyComputation"]
