"""Validator records in the world state: re-exported from :mod:`harmony.chain.staking.records`.

The records and registries are protocol rules (layer 4), so they live there; this name stays for the state
layer's readers.
"""

from __future__ import annotations

from harmony.chain.staking.records import get_validator_wrapper, is_validator, set_validator_wrapper

__all__ = ["get_validator_wrapper", "is_validator", "set_validator_wrapper"]
