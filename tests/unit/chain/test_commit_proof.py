"""A block's commit proof checked outside consensus: bitmap, quorum, signature (reference §1.3-§1.5)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from harmony.chain.commit_proof import (
    InvalidCommitProof,
    roster_for,
    verify_commit_signature,
    verify_commit_with_roster,
)
from harmony.chain.payloads import commit_payload
from harmony.crypto.bitmap import encode_bitmap
from harmony.crypto.bls import SecretKey, aggregate_signatures
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import Committee
from tests.unit.consensus.harness import Net, make_committee, make_keys

SHARE = Dec.from_str("0.68")
KEYS = make_keys(4)
COMMITTEE = make_committee(KEYS)
HASH = b"\xab" * 32
NUMBER = 17
VIEW = 5


def aggregate(keys: list[SecretKey], signers: list[int], message: bytes) -> bytes:
    return aggregate_signatures([keys[i].sign(message) for i in signers]).data


def proof(signers: list[int], *, n: int = 4, message: bytes | None = None) -> tuple[bytes, bytes]:
    msg = commit_payload(NUMBER, HASH, VIEW) if message is None else message
    return aggregate(KEYS, signers, msg), encode_bitmap(signers, n)


def check(
    committee: Committee,
    signature: bytes,
    bitmap: bytes,
    *,
    number: int = NUMBER,
    block_hash: bytes = HASH,
    view_id: int = VIEW,
) -> None:
    verify_commit_signature(
        committee,
        SHARE,
        number=number,
        block_hash=block_hash,
        view_id=view_id,
        signature=signature,
        bitmap=bitmap,
    )


def reason(committee: Committee, signature: bytes, bitmap: bytes, **over: int | bytes) -> str:
    with pytest.raises(InvalidCommitProof) as info:
        check(committee, signature, bitmap, **over)  # type: ignore[arg-type]
    return info.value.check


def test_quorum_aggregate_accepted() -> None:
    for signers in ([0, 1, 2], [1, 2, 3], [0, 1, 2, 3]):
        check(COMMITTEE, *proof(signers))


def test_bitmap_of_wrong_length_or_with_bits_beyond_the_committee() -> None:
    sig, bitmap = proof([0, 1, 2])
    assert reason(COMMITTEE, sig, bitmap + b"\x00") == "bitmap"
    assert reason(COMMITTEE, sig, b"") == "bitmap"
    assert reason(COMMITTEE, sig, bytes([bitmap[0] | 0x10])) == "bitmap"  # member 4 of a 4-member committee


def test_two_of_four_is_not_a_quorum() -> None:
    assert reason(COMMITTEE, *proof([0, 1])) == "quorum"
    assert reason(COMMITTEE, proof([0])[0], b"\x00") == "quorum"


def test_quorum_is_by_voting_power_when_staked() -> None:
    staked = make_committee(KEYS, stakes=[1, 1, 1, 7])
    # three of four keys hold 3/10 of the power: not a quorum; key 3 with one other holds 8/10
    assert reason(staked, *proof([0, 1, 2])) == "quorum"
    check(staked, *proof([0, 3]))


def test_exactly_two_thirds_is_not_enough() -> None:
    keys = make_keys(3, salt=9)
    committee = make_committee(keys, stakes=[1, 1, 1])
    msg = commit_payload(NUMBER, HASH, VIEW)
    with pytest.raises(InvalidCommitProof) as info:
        check(committee, aggregate(keys, [0, 1], msg), encode_bitmap([0, 1], 3))
    assert info.value.check == "quorum"
    check(committee, aggregate(keys, [0, 1, 2], msg), encode_bitmap([0, 1, 2], 3))


def test_signature_over_another_block_view_or_number_fails() -> None:
    sig, bitmap = proof([0, 1, 2])
    assert reason(COMMITTEE, sig, bitmap, block_hash=b"\xac" * 32) == "signature"
    assert reason(COMMITTEE, sig, bitmap, view_id=VIEW + 1) == "signature"
    assert reason(COMMITTEE, sig, bitmap, number=NUMBER + 1) == "signature"


def test_bitmap_claiming_a_signer_who_did_not_sign_fails() -> None:
    sig, _ = proof([0, 1, 2])
    assert reason(COMMITTEE, sig, encode_bitmap([0, 1, 2, 3], 4)) == "signature"
    assert reason(COMMITTEE, sig, encode_bitmap([0, 1, 3], 4)) == "signature"


def test_malformed_signature_bytes() -> None:
    _, bitmap = proof([0, 1, 2])
    assert reason(COMMITTEE, b"\x00" * 96, bitmap) == "signature"
    assert reason(COMMITTEE, b"\x01" * 95, bitmap) == "signature"
    assert reason(COMMITTEE, b"", bitmap) == "signature"


def test_payload_out_of_range() -> None:
    sig, bitmap = proof([0, 1, 2])
    assert reason(COMMITTEE, sig, bitmap, number=1 << 64) == "payload"
    assert reason(COMMITTEE, sig, bitmap, block_hash=b"\x01" * 31) == "payload"


def test_empty_or_invalid_committee() -> None:
    sig, bitmap = proof([0, 1, 2])
    assert reason(Committee(0, ()), sig, b"") == "committee"
    bad_key = dataclasses.replace(COMMITTEE.slots[0], bls_public_key=b"\x01" * 48)
    broken = dataclasses.replace(COMMITTEE, slots=(bad_key, *COMMITTEE.slots[1:]))
    assert reason(broken, sig, bitmap) == "committee"


def test_roster_is_reused() -> None:
    assert roster_for(COMMITTEE, SHARE) is roster_for(COMMITTEE, SHARE)
    sig, bitmap = proof([1, 2, 3])
    verify_commit_with_roster(
        roster_for(COMMITTEE, SHARE),
        number=NUMBER,
        block_hash=HASH,
        view_id=VIEW,
        signature=sig,
        bitmap=bitmap,
    )


def test_agrees_with_the_consensus_core() -> None:
    """Every aggregate the FBFT core finalizes with is a valid commit proof here, and the header's
    ``last_commit_*`` fields of the next block are too (reference §1.5)."""
    net = Net(4)
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 3)
    chain = net.nodes[0].chain
    assert len(chain) >= 3
    for commit in chain:
        header = commit.block.header
        verify_commit_signature(
            net.committee,
            SHARE,
            number=header.number,
            block_hash=commit.block.hash(),
            view_id=header.view_id,
            signature=commit.commit_signature,
            bitmap=commit.bitmap,
        )
    for parent, child in itertools.pairwise(chain):
        verify_commit_signature(
            net.committee,
            SHARE,
            number=parent.block.header.number,
            block_hash=child.block.header.parent_hash,
            view_id=parent.block.header.view_id,
            signature=child.block.header.last_commit_signature,
            bitmap=child.block.header.last_commit_bitmap,
        )
