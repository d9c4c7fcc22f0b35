"""Why a staking transaction is refused (reference §2.5): one error type with a stable reason code.

Every refusal is a :class:`StakingError` whose :attr:`~StakingError.reason` names the rule it breaks, so a
node can log it, an RPC client can read it and a test can assert it. The codes are stable; the message
adds the numbers. Checks that staking and plain transactions share (nonce, gas, funds for gas, signature)
raise the errors of :mod:`harmony.chain.errors` and :mod:`harmony.chain.transactions` instead.
"""

from __future__ import annotations

from typing import Final

from harmony.chain.errors import TransactionRejected

REASONS: Final[frozenset[str]] = frozenset(
    {
        # create and edit: the validator's own fields
        "validator_exists",
        "not_a_validator",
        "validator_banned",
        "invalid_status",
        "description_too_long",
        "identity_taken",
        "commission_rate_negative",
        "commission_rate_too_high",
        "commission_rate_too_low",
        "max_rate_too_high",
        "max_change_rate_too_high",
        "commission_change_too_large",
        "min_self_delegation_too_small",
        "max_total_delegation_too_small",
        "max_total_delegation_exceeded",
        "self_delegation_too_small",
        # BLS keys
        "no_bls_keys",
        "too_many_bls_keys",
        "bls_signature_count",
        "duplicate_bls_key",
        "bls_key_invalid",
        "bls_key_taken",
        "bls_key_reserved",
        "bls_key_not_found",
        "bls_proof_missing",
        "bls_proof_invalid",
        # delegation
        "delegation_too_small",
        "insufficient_balance",
        "no_delegation",
        "undelegate_zero",
        "undelegate_too_much",
        "remaining_delegation_too_small",
        "no_rewards",
        # attestations of the country fences (harmony.chain.staking.attestations)
        "unfenced",
        "unknown_jurisdiction",
        "attestor_signature_invalid",
        "not_attestor",
        "attestation_expired",
        "expiry_too_far",
        "attestation_replayed",
        "not_attested",
    }
)
"""Every reason code :class:`StakingError` may carry."""


class StakingError(TransactionRejected):
    """A staking message breaks a rule of reference §2.5; :attr:`reason` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown staking error reason {reason!r}")
        super().__init__(f"{reason}: {message}")
        self.reason = reason


__all__ = ["REASONS", "StakingError"]
