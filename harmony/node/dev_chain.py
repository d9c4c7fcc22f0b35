"""Final blocks made without a network: proposed by the chain and signed by the development committee's keys.

Sync tests and ``bench/sync.py`` need long chains whose every block carries a valid commit aggregate
(reference §1.3–§1.5) without running consensus for each. :func:`extend_final` proposes the next block on
the head (as the committee's first seat, with its VRF), signs its commit payload with a quorum of the
committee's keys and stores it with that aggregate, exactly as a finalized block is stored. The keys must be
those of the committee: on a development genesis :func:`harmony.chain.genesis.dev_bls_key` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from harmony.chain.payloads import commit_payload
from harmony.chain.proposal import HeaderFields
from harmony.chain.randomness import make_header_vrf
from harmony.chain.transition import BlockBody
from harmony.crypto.bitmap import encode_bitmap
from harmony.crypto.bls import CURVE_ORDER, SecretKey
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.types.block import Block
from harmony.types.shard_state import Committee
from harmony.types.transaction import Transaction


def sign_commit(block: Block, committee: Committee, keys: Sequence[SecretKey]) -> tuple[bytes, bytes]:
    """The aggregate commit signature of ``keys`` over ``block`` and its bitmap in ``committee``'s slot
    order (reference §1.3); every key must hold a seat."""
    seats = {slot.bls_public_key: index for index, slot in enumerate(committee.slots)}
    members = []
    for key in keys:
        index = seats.get(key.public_key.to_bytes())
        if index is None:
            raise HarmonyError("sign_commit: a key holds no seat in the committee")
        members.append(index)
    payload = commit_payload(block.number, block.hash(), block.header.view_id)
    return joint_key(keys).sign(payload).data, encode_bitmap(sorted(members), len(committee.slots))


def joint_key(keys: Sequence[SecretKey]) -> SecretKey:
    """The secret key whose signature is the aggregate of ``keys``' signatures of the same message
    (BLS is linear: ``Σ skᵢ·H(m) = (Σ skᵢ)·H(m)``): one signing instead of one per key."""
    return SecretKey(
        (sum(int.from_bytes(k.to_bytes(), "big") for k in keys) % CURVE_ORDER).to_bytes(32, "big")
    )


def extend_final(
    chain: Blockchain,
    keys: Sequence[SecretKey],
    transactions: Sequence[Transaction] = (),
    *,
    spacing: int = 2,
    end_epoch: bool = False,
) -> tuple[Block, bytes, bytes]:
    """Propose, sign and store the next block on ``chain``'s head; ``(block, signature, bitmap)``.

    ``keys`` are committee keys holding a quorum of the head epoch's committee, the first one leading;
    ``spacing`` the seconds between header times. ``end_epoch`` (a shard chain's block) makes the block
    its epoch's last: it carries the next epoch's shard state, the same committees again, as a shard leader
    relays the beacon chain's. Raises :class:`HarmonyError` if a transaction is skipped.
    """
    head = chain.head
    committee = chain.committee_for(chain.shard_id, head.epoch)
    if committee is None:
        raise HarmonyError(f"no committee known for epoch {head.epoch}")
    leader = keys[0]
    last = chain.db.get_commit_sig(head.number) if head.number else None
    seats = {slot.bls_public_key: slot for slot in committee.slots}
    coinbase = seats[leader.public_key.to_bytes()].ecdsa_address
    next_state = None
    if end_epoch:
        current = chain.db.get_shard_state(head.epoch)
        if current is None:
            raise HarmonyError(f"no shard state stored for epoch {head.epoch}")
        next_state = replace(current, epoch=head.epoch + 1)
    fields = HeaderFields(
        coinbase,
        head.time + spacing,
        head.view_id + 1,
        last_commit=last,
        vrf=make_header_vrf(leader, head.hash()),
        shard_state=next_state,
    )
    built, verified = chain.propose_verified(fields, BlockBody(transactions))
    if built.skipped:
        raise HarmonyError(f"block {built.block.number}: {len(built.skipped)} transactions skipped")
    signature, bitmap = sign_commit(built.block, committee, keys)
    chain.store(verified, commit_sig=(signature, bitmap))
    return built.block, signature, bitmap


__all__ = ["extend_final", "joint_key", "sign_commit"]
