"""Validator records in the world state, stored the way Harmony stores them (reference §3).

Harmony keeps a validator's whole :class:`~harmony.types.validator.ValidatorWrapper` as the RLP *code* of
the validator's account (Go ``core/state/statedb.go`` ``UpdateValidatorWrapper`` / ``ValidatorWrapper``),
so it is covered by the state root through the account's code hash and reverts with the journal like any
other change. The rules that change these records come with ``harmony.chain``'s staking.
"""

from __future__ import annotations

from harmony.chain.state_api import WorldState
from harmony.errors import DecodeError
from harmony.types.validator import ValidatorWrapper

__all__ = ["get_validator_wrapper", "is_validator", "set_validator_wrapper"]


def get_validator_wrapper(state: WorldState, address: bytes) -> ValidatorWrapper | None:
    """The validator record at ``address``, or ``None`` if the account has no code.

    Raises :class:`~harmony.errors.RLPError` if the account's code is not a validator record.
    """
    code = state.get_code(address)
    if not code:
        return None
    return ValidatorWrapper.decode(code)


def set_validator_wrapper(state: WorldState, address: bytes, wrapper: ValidatorWrapper) -> None:
    """Store ``wrapper`` as the code of ``address`` (Go ``UpdateValidatorWrapper``).

    Raises ``ValueError`` if the record is for another address.
    """
    if wrapper.validator.address != address:
        raise ValueError(
            f"validator record for 0x{wrapper.validator.address.hex()} stored at 0x{address.hex()}"
        )
    state.set_code(address, wrapper.encode())


def is_validator(state: WorldState, address: bytes) -> bool:
    """Whether the account holds a validator record (Go ``IsValidator``)."""
    try:
        return get_validator_wrapper(state, address) is not None
    except DecodeError:
        return False
