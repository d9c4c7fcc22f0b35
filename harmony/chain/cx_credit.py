"""Crediting incoming cross-shard receipts on the destination shard (reference §6.4).

A destination block carries up to ``IncomingReceiptsLimit`` = 6000 :class:`CXReceiptsProof`s, each for a
different source block. Once every proof passed the destination checks (structure here and in
:func:`harmony.chain.validation.validate_body`; the source committee's commit signature and the spent
markers in :func:`harmony.chain.crosslinks.verify_cx_proof`, injected by the node because this layer
never imports consensus), applying the block credits every receipt's ``amount`` to its ``to`` address,
proof by proof, receipt by receipt (Go ``ApplyIncomingReceipt``): the account is created when missing and
the amount added. With EIP-161 (Harmony's S3 epoch, active on our presets) an account that is still empty
after a zero credit is deleted, so a zero-amount receipt never leaves an empty account behind.

Failures raise :class:`InvalidIncomingReceipts`, an :class:`InvalidBlock` whose ``check`` is
``incoming_limit``, ``incoming_duplicate`` or ``incoming_recipient``.
"""

from __future__ import annotations

from collections.abc import Sequence

from harmony.chain.errors import InvalidBlock
from harmony.chain.state_api import WorldState
from harmony.types.block import MAX_INCOMING_PROOFS
from harmony.types.cx import CXReceiptsProof, InvalidCXProof, check_no_duplicate_proofs

INCOMING_RECEIPTS_LIMIT = MAX_INCOMING_PROOFS
"""Most incoming proofs in one block (Go ``IncomingReceiptsLimit``, §6.4)."""


class InvalidIncomingReceipts(InvalidBlock):
    """A block's incoming cross-shard receipts break a block rule; ``check`` names which."""


def check_incoming_limits(proofs: Sequence[CXReceiptsProof]) -> None:
    """At most 6000 proofs, and at most one per source block (§6.4, Go ``checkDuplicateCXReceipts``).

    A source block is identified both by its hash and by (source shard, block number), the key of the
    spent marker, so two proofs for one height of one shard are refused even with different hashes.
    """
    if len(proofs) > INCOMING_RECEIPTS_LIMIT:
        raise InvalidIncomingReceipts(
            "incoming_limit", f"{len(proofs)} incoming proofs, at most {INCOMING_RECEIPTS_LIMIT}"
        )
    try:
        check_no_duplicate_proofs(proofs)
    except InvalidCXProof as exc:
        raise InvalidIncomingReceipts("incoming_duplicate", str(exc)) from exc
    seen: set[tuple[int, int]] = set()
    for proof in proofs:
        source = (proof.merkle_proof.shard_id, proof.merkle_proof.block_num)
        if source in seen:
            raise InvalidIncomingReceipts(
                "incoming_duplicate", f"two proofs for shard {source[0]} block {source[1]}"
            )
        seen.add(source)


def credit_incoming_receipts(state: WorldState, proofs: Sequence[CXReceiptsProof]) -> int:
    """Credit each receipt's amount to its recipient (Go ``ApplyIncomingReceipt``); returns the total.

    Proofs and their receipts are applied in block order. A receipt without a recipient raises
    :class:`InvalidIncomingReceipts` (``incoming_recipient``); the state is then part-applied and the
    caller drops it, as for any invalid block. The proofs must already have passed
    :func:`check_incoming_limits` and the destination checks (module docstring).
    """
    total = 0
    for p, proof in enumerate(proofs):
        for r, receipt in enumerate(proof.receipts):
            to = receipt.to
            if to is None:
                raise InvalidIncomingReceipts(
                    "incoming_recipient", f"proof {p} receipt {r} ({receipt.tx_hash.hex()}) has no recipient"
                )
            if receipt.amount:
                state.set_balance(to, state.get_balance(to) + receipt.amount)
                total += receipt.amount
            elif (
                state.account_exists(to)
                and state.get_nonce(to) == 0
                and state.get_balance(to) == 0
                and not state.get_code(to)
            ):
                state.delete_account(to)  # EIP-161: touched and empty
    return total


__all__ = [
    "INCOMING_RECEIPTS_LIMIT",
    "InvalidIncomingReceipts",
    "check_incoming_limits",
    "credit_incoming_receipts",
]
