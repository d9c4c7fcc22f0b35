"""Crosslinks and cross-shard receipt proofs checked against the source committee (reference §6.3, §6.4).

A real piece of source chain: shard 1's committee of four BLS keys, a header committing to outgoing
receipts for shards 0 and 2, and the aggregate commit signature of three of the four keys. The genuine
proof and crosslink are accepted; every forgery is refused with its own reason.
"""

from __future__ import annotations

import dataclasses

import pytest

from harmony.chain.crosslinks import (
    InvalidCrossLink,
    select_incoming_proofs,
    verify_block_crosslinks,
    verify_crosslink,
    verify_cx_proof,
    verify_incoming_proofs,
)
from harmony.chain.cx_credit import InvalidIncomingReceipts, check_incoming_limits, credit_incoming_receipts
from harmony.chain.payloads import commit_payload
from harmony.crypto.bitmap import encode_bitmap
from harmony.crypto.bls import SecretKey, aggregate_signatures
from harmony.encoding.fixed import Dec
from harmony.state.statedb import StateDB
from harmony.types.crosslink import CrossLink
from harmony.types.cx import (
    CXReceipt,
    CXReceiptsProof,
    InvalidCXProof,
    build_receipts_proof,
    outgoing_receipts_root,
)
from harmony.types.header import Header
from harmony.types.shard_state import Committee
from tests.unit.consensus.harness import make_committee, make_keys

SHARE = Dec.from_str("0.68")
SOURCE, DEST, EPOCH = 1, 0, 3
KEYS = make_keys(4, salt=1)
OTHER_KEYS = make_keys(4, salt=2)
COMMITTEE = dataclasses.replace(make_committee(KEYS), shard_id=SOURCE)
OTHER_COMMITTEE = dataclasses.replace(make_committee(OTHER_KEYS), shard_id=2)
ALICE, BOB, CAROL = b"\xa1" * 20, b"\xb0" * 20, b"\xc0" * 20

RECEIPTS = (
    CXReceipt(b"\x01" * 32, CAROL, ALICE, SOURCE, DEST, 5 * 10**18),
    CXReceipt(b"\x02" * 32, CAROL, CAROL, SOURCE, 2, 7),
    CXReceipt(b"\x03" * 32, CAROL, BOB, SOURCE, DEST, 123),
)
HEADER = Header(
    number=10,
    shard_id=SOURCE,
    epoch=EPOCH,
    view_id=12,
    time=1_000,
    outgoing_receipt_hash=outgoing_receipts_root(RECEIPTS),
)


def sign(keys: list[SecretKey], signers: list[int], header: Header = HEADER) -> tuple[bytes, bytes]:
    message = commit_payload(header.number, header.hash(), header.view_id)
    return aggregate_signatures([keys[i].sign(message) for i in signers]).data, encode_bitmap(signers, 4)


SIG, BITMAP = sign(KEYS, [0, 1, 2])
GENUINE = build_receipts_proof(HEADER, RECEIPTS, DEST, SIG, BITMAP)


def committee_for(shard: int, epoch: int) -> Committee | None:
    if epoch != EPOCH:
        return None
    return {SOURCE: COMMITTEE, 2: OTHER_COMMITTEE}.get(shard)


def verify(
    proof: CXReceiptsProof,
    *,
    my_shard: int = DEST,
    spent: frozenset[tuple[int, int]] = frozenset(),
    committees: object = committee_for,
) -> None:
    verify_cx_proof(proof, my_shard, committees, SHARE, lambda s, n: (s, n) in spent)  # type: ignore[arg-type]


def rejected(proof: CXReceiptsProof, **kwargs: object) -> str:
    with pytest.raises(InvalidCXProof) as info:
        verify(proof, **kwargs)  # type: ignore[arg-type]
    return info.value.check


# -- the genuine proof ---------------------------------------------------------------------------------


def test_genuine_proof_accepted_and_credits_exactly() -> None:
    verify(GENUINE)
    assert GENUINE.receipts == (RECEIPTS[0], RECEIPTS[2])
    # what a destination block does with it: block rules, then the credit
    check_incoming_limits([GENUINE])
    state = StateDB({})
    assert credit_incoming_receipts(state, [GENUINE]) == 5 * 10**18 + 123
    assert state.get_balance(ALICE) == 5 * 10**18
    assert state.get_balance(BOB) == 123


def test_genuine_proof_survives_its_wire_encoding() -> None:
    verify(CXReceiptsProof.decode(GENUINE.encode()))


def test_proof_for_the_other_destination_is_genuine_too() -> None:
    verify(build_receipts_proof(HEADER, RECEIPTS, 2, SIG, BITMAP), my_shard=2)


# -- every forged kind, each with its own reason ---------------------------------------------------------


def test_wrong_root_in_the_merkle_proof() -> None:
    mp = GENUINE.merkle_proof
    bad_root = dataclasses.replace(mp, cx_receipt_hash=b"\xee" * 32)
    assert rejected(dataclasses.replace(GENUINE, merkle_proof=bad_root)) == "merkle_root"
    other_entry = dataclasses.replace(mp, cx_shard_hashes=(mp.cx_shard_hashes[0], b"\xee" * 32))
    assert rejected(dataclasses.replace(GENUINE, merkle_proof=other_entry)) == "merkle_root"


def test_tampered_amount() -> None:
    richer = dataclasses.replace(GENUINE.receipts[0], amount=GENUINE.receipts[0].amount * 1000)
    forged = dataclasses.replace(GENUINE, receipts=(richer, GENUINE.receipts[1]))
    assert rejected(forged) == "receipts_root"


def test_tampered_recipient_or_dropped_receipt() -> None:
    stolen = dataclasses.replace(GENUINE.receipts[0], to=CAROL)
    assert rejected(dataclasses.replace(GENUINE, receipts=(stolen, GENUINE.receipts[1]))) == "receipts_root"
    assert rejected(dataclasses.replace(GENUINE, receipts=GENUINE.receipts[:1])) == "receipts_root"


def test_wrong_destination() -> None:
    assert rejected(GENUINE, my_shard=2) == "wrong_destination"
    smuggled = dataclasses.replace(GENUINE, receipts=(*GENUINE.receipts, RECEIPTS[1]))
    assert rejected(smuggled) == "wrong_destination"


def test_replayed_receipt() -> None:
    assert rejected(GENUINE, spent=frozenset({(SOURCE, HEADER.number)})) == "replayed"
    verify(GENUINE, spent=frozenset({(SOURCE, HEADER.number - 1), (2, HEADER.number)}))


def test_too_few_signers() -> None:
    sig, bitmap = sign(KEYS, [0, 3])
    assert rejected(dataclasses.replace(GENUINE, commit_sig=sig, commit_bitmap=bitmap)) == "quorum"


def test_wrong_committee() -> None:
    # a quorum of another committee's keys, with a bitmap that fits the source committee
    sig, bitmap = sign(OTHER_KEYS, [0, 1, 2])
    assert rejected(dataclasses.replace(GENUINE, commit_sig=sig, commit_bitmap=bitmap)) == "signature"
    # the node looks up another shard's committee for the source: refused, not trusted
    assert rejected(GENUINE, committees=lambda s, e: OTHER_COMMITTEE) == "committee"
    # no shard state known for the header's epoch
    assert rejected(GENUINE, committees=lambda s, e: None) == "committee"


def test_forged_header_with_consistent_roots_fails_the_signature() -> None:
    """A forger can make every hash agree; only the source committee's signature tells."""
    fake = (CXReceipt(b"\x09" * 32, CAROL, CAROL, SOURCE, DEST, 10**30),)
    header = dataclasses.replace(HEADER, outgoing_receipt_hash=outgoing_receipts_root(fake))
    forged = build_receipts_proof(header, fake, DEST, SIG, BITMAP)
    assert rejected(forged) == "signature"
    sig, bitmap = sign(OTHER_KEYS, [0, 1, 2, 3], header)
    assert rejected(dataclasses.replace(forged, commit_sig=sig, commit_bitmap=bitmap)) == "signature"


def test_header_mismatch() -> None:
    other = dataclasses.replace(HEADER, view_id=HEADER.view_id + 1)
    assert rejected(dataclasses.replace(GENUINE, header=other)) == "header"
    mp = dataclasses.replace(GENUINE.merkle_proof, block_num=HEADER.number + 1)
    assert rejected(dataclasses.replace(GENUINE, merkle_proof=mp)) == "header"


def test_malformed_signature_or_bitmap() -> None:
    assert rejected(dataclasses.replace(GENUINE, commit_bitmap=b"")) == "bitmap"
    assert rejected(dataclasses.replace(GENUINE, commit_bitmap=b"\xff")) == "bitmap"
    assert rejected(dataclasses.replace(GENUINE, commit_sig=b"\x00" * 96)) == "signature"
    assert rejected(dataclasses.replace(GENUINE, commit_sig=b"")) == "signature"


def test_empty_proof_and_missing_entry_and_own_shard() -> None:
    assert rejected(dataclasses.replace(GENUINE, receipts=())) == "empty"
    mp = GENUINE.merkle_proof
    no_entry = dataclasses.replace(mp, shard_ids=(1, 2))
    assert rejected(dataclasses.replace(GENUINE, merkle_proof=no_entry)) == "no_shard_entry"
    shape = dataclasses.replace(mp, shard_ids=(0,))
    assert rejected(dataclasses.replace(GENUINE, merkle_proof=shape)) == "proof_shape"
    own = (CXReceipt(b"\x04" * 32, CAROL, ALICE, SOURCE, SOURCE, 1),)
    header = dataclasses.replace(HEADER, outgoing_receipt_hash=outgoing_receipts_root(own))
    assert rejected(
        build_receipts_proof(header, own, SOURCE, *sign(KEYS, [0, 1, 2], header)), my_shard=SOURCE
    ) == ("source_shard")


# -- crosslinks ------------------------------------------------------------------------------------------


LINK = CrossLink(HEADER.hash(), HEADER.number, HEADER.view_id, SIG, BITMAP, SOURCE, EPOCH)


def link_rejected(link: CrossLink, committees: object = committee_for) -> str:
    with pytest.raises(InvalidCrossLink) as info:
        verify_crosslink(link, committees, SHARE)  # type: ignore[arg-type]
    return info.value.check


def test_genuine_crosslink_accepted() -> None:
    verify_crosslink(LINK, committee_for, SHARE)
    verify_crosslink(CrossLink.decode(LINK.encode()), committee_for, SHARE)


def test_crosslink_from_the_child_header() -> None:
    """The crosslink of block 10 comes from block 11's last-commit fields (§6.3)."""
    child = Header(
        parent_hash=HEADER.hash(),
        number=HEADER.number + 1,
        shard_id=SOURCE,
        epoch=EPOCH,
        view_id=HEADER.view_id + 1,
        last_commit_signature=SIG,
        last_commit_bitmap=BITMAP,
    )
    link = CrossLink.from_headers(child, HEADER)
    assert link == LINK
    verify_crosslink(link, committee_for, SHARE)


def test_crosslink_rejections() -> None:
    assert link_rejected(dataclasses.replace(LINK, shard_id=0)) == "beacon_shard"
    assert link_rejected(dataclasses.replace(LINK, epoch=EPOCH + 1)) == "committee"
    assert link_rejected(LINK, lambda s, e: OTHER_COMMITTEE) == "committee"
    sig, bitmap = sign(KEYS, [1, 2])
    assert link_rejected(dataclasses.replace(LINK, signature=sig, bitmap=bitmap)) == "quorum"
    assert link_rejected(dataclasses.replace(LINK, view_id=HEADER.view_id + 1)) == "signature"
    assert link_rejected(dataclasses.replace(LINK, hash=b"\x00" * 32)) == "signature"
    assert link_rejected(dataclasses.replace(LINK, block_number=HEADER.number - 1)) == "signature"
    assert link_rejected(dataclasses.replace(LINK, bitmap=b"\x1f")) == "bitmap"
    sig, bitmap = sign(OTHER_KEYS, [0, 1, 2, 3])
    assert link_rejected(dataclasses.replace(LINK, signature=sig, bitmap=bitmap)) == "signature"


def test_crosslink_already_recorded() -> None:
    stored = {(SOURCE, HEADER.number)}
    with pytest.raises(InvalidCrossLink) as info:
        verify_crosslink(LINK, committee_for, SHARE, is_stored=lambda s, n: (s, n) in stored)
    assert info.value.check == "exists"
    verify_crosslink(LINK, committee_for, SHARE, is_stored=lambda s, n: False)


def test_block_crosslinks_sorted_unique_and_each_valid() -> None:
    header_2 = dataclasses.replace(HEADER, number=HEADER.number + 1, view_id=HEADER.view_id + 1)
    link_2 = CrossLink(
        header_2.hash(), header_2.number, header_2.view_id, *sign(KEYS, [0, 1, 3], header_2), SOURCE, EPOCH
    )
    verify_block_crosslinks([LINK, link_2], committee_for, SHARE)
    verify_block_crosslinks([], committee_for, SHARE)

    def block_rejected(links: list[CrossLink]) -> str:
        with pytest.raises(InvalidCrossLink) as info:
            verify_block_crosslinks(links, committee_for, SHARE)
        return info.value.check

    assert block_rejected([link_2, LINK]) == "unsorted"
    assert block_rejected([LINK, dataclasses.replace(LINK, view_id=LINK.view_id + 1)]) == "duplicate"
    assert block_rejected([LINK, dataclasses.replace(link_2, view_id=0)]) == "signature"


# -- a block's proofs ------------------------------------------------------------------------------------


def other_block_proof(number: int, amount: int, signers: list[int] | None = None) -> CXReceiptsProof:
    receipts = (CXReceipt(bytes([number]) * 32, CAROL, BOB, SOURCE, DEST, amount),)
    header = dataclasses.replace(
        HEADER, number=number, outgoing_receipt_hash=outgoing_receipts_root(receipts)
    )
    return build_receipts_proof(header, receipts, DEST, *sign(KEYS, signers or [0, 1, 2], header))


def test_verify_incoming_proofs_of_a_block() -> None:
    second = other_block_proof(11, 9)
    spent = lambda s, n: False  # noqa: E731
    verify_incoming_proofs([GENUINE, second], DEST, committee_for, SHARE, spent)
    with pytest.raises(InvalidIncomingReceipts) as dup:
        verify_incoming_proofs([GENUINE, second, GENUINE], DEST, committee_for, SHARE, spent)
    assert dup.value.check == "incoming_duplicate"
    with pytest.raises(InvalidCXProof) as bad:
        verify_incoming_proofs([GENUINE, other_block_proof(12, 9, [0, 1])], DEST, committee_for, SHARE, spent)
    assert bad.value.check == "quorum"


def test_proposer_selects_valid_unspent_unique_proofs() -> None:
    second, weak, third = other_block_proof(11, 9), other_block_proof(12, 9, [0]), other_block_proof(13, 1)
    tampered = dataclasses.replace(third, receipts=(dataclasses.replace(third.receipts[0], amount=10**30),))
    candidates = [GENUINE, GENUINE, tampered, weak, second, third, other_block_proof(14, 2)]
    spent = {(SOURCE, 14)}
    chosen = select_incoming_proofs(candidates, DEST, committee_for, SHARE, lambda s, n: (s, n) in spent)
    assert chosen == (GENUINE, second, third)
    verify_incoming_proofs(chosen, DEST, committee_for, SHARE, lambda s, n: (s, n) in spent)
    assert select_incoming_proofs(candidates, DEST, committee_for, SHARE, lambda s, n: False, limit=2) == (
        GENUINE,
        second,
    )
