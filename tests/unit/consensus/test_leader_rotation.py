"""The leader rotation of a height skips the candidates absent from the parent's commit (the tip header's
``last_commit_bitmap``; reference §1.8), so a validator that is down stops costing a view change per turn."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from harmony.consensus.api import (
    ChainTip,
    ConsensusConfig,
    MemoryLogStore,
    MemorySignerStore,
    create_core,
)
from harmony.consensus.core import ConsensusCore
from harmony.consensus.leader import present_candidates
from harmony.crypto.bitmap import encode_bitmap
from harmony.types.header import EMPTY_COMMIT_SIGNATURE
from tests.unit.consensus.harness import GENESIS, make_committee, make_keys

KEYS = make_keys(4)
COMMITTEE = make_committee(KEYS)


def core_at(bitmap: bytes, *, number: int = 5, epoch: int = 0) -> ConsensusCore:
    """A member's core configured for ``epoch`` after a tip at ``number`` (of epoch 0) whose header says
    ``bitmap`` signed its parent."""
    config = ConsensusConfig(shard_id=0, epoch=epoch, committee=COMMITTEE, keys=(KEYS[0],))
    header = replace(GENESIS, number=number, epoch=0, view_id=number, last_commit_bitmap=bitmap)
    return create_core(
        config, MemorySignerStore(), MemoryLogStore(), ChainTip(header, EMPTY_COMMIT_SIGNATURE, b"", number)
    )


def leaders(core: ConsensusCore, count: int = 4) -> list[int]:
    """The leaders of the height's first ``count`` views."""
    first = core.tip.header.view_id + 1
    return [core.leader_of(v) for v in range(first, first + count)]


def test_all_signers_rotate_over_every_candidate() -> None:
    assert sorted(set(leaders(core_at(encode_bitmap([0, 1, 2, 3], 4))))) == [0, 1, 2, 3]


def test_a_candidate_absent_from_the_parent_commit_never_leads_the_height() -> None:
    rotation = leaders(core_at(encode_bitmap([0, 1, 3], 4)), 3)
    assert 2 not in rotation
    assert sorted(set(rotation)) == [0, 1, 3]
    assert all(a != b for a, b in itertools.pairwise(rotation))  # a failed view changes leader


@pytest.mark.parametrize(
    ("bitmap", "number"),
    [
        (b"", 5),  # no bitmap
        (b"\x01\x02", 5),  # not a bitmap of this committee: hostile or another committee's
        (encode_bitmap([0, 1], 4), 1),  # the first block carries no commit of a real parent
    ],
)
def test_without_a_usable_bitmap_every_candidate_leads(bitmap: bytes, number: int) -> None:
    assert sorted(leaders(core_at(bitmap, number=number))) == [0, 1, 2, 3]


def test_the_leaders_depend_on_the_tip_alone_not_on_the_configured_epoch() -> None:
    bitmap = encode_bitmap([0, 1, 3], 4)
    rotation = leaders(core_at(bitmap, epoch=0), 3)
    assert rotation == leaders(core_at(bitmap, epoch=3), 3)
    assert 2 not in rotation


def test_after_one_round_over_the_signers_every_candidate_leads_again() -> None:
    core = core_at(encode_bitmap([0, 1, 3], 4))
    first = core.tip.header.view_id + 1
    assert {core.leader_of(v) for v in range(first, first + 3)} == {0, 1, 3}
    assert 2 in {core.leader_of(v) for v in range(first + 3, first + 7)}


def test_present_candidates_falls_back_to_all_when_none_signed() -> None:
    assert present_candidates((0, 2, 4), {1, 3}) == (0, 2, 4)
    assert present_candidates((0, 2, 4), {2, 3}) == (2,)


def test_leads_within_reads_the_next_heights_leaders_from_the_tips_commit() -> None:
    """The next height's rotation goes over the tip's commit signers (the next header's bitmap): with key 2
    missing from it, key 1 leads the next view there although this height's list and the whole candidate
    list name keys 2, 3 and 0 for the current view and the next two (a leaving node must wait for it)."""

    def core_with_commit(signed: list[int]) -> ConsensusCore:
        config = ConsensusConfig(shard_id=0, epoch=0, committee=COMMITTEE, keys=(KEYS[1],))
        header = replace(
            GENESIS, number=5, epoch=0, view_id=5, last_commit_bitmap=encode_bitmap([0, 1, 2, 3], 4)
        )
        tip = ChainTip(header, EMPTY_COMMIT_SIGNATURE, encode_bitmap(signed, 4), 5)
        return create_core(config, MemorySignerStore(), MemoryLogStore(), tip)

    everyone = core_with_commit([0, 1, 2, 3])
    assert [everyone.leader_of(v) for v in (6, 7, 8)] == [2, 3, 0]
    assert everyone.leads_within(2) is False
    assert core_with_commit([0, 1, 3]).leads_within(2) is True  # [0, 1, 3][7 % 3] == 1
    assert core_with_commit([0, 1, 3]).leads_within(0) is False  # the current view is key 2's
