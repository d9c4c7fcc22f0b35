"""Leader selection and rotation (reference §1.7 ``getNextLeaderKey``, §1.8 ``rotateLeader``).

Simplification, documented: the leader of a view is a pure function of the view ID,
``candidates[view_id % len(candidates)]``, where the candidates are the first key of each distinct account
in committee order (keys of one validator never follow one another, as in ``NthNextValidator``). Views go
up by one per block and by one per failed view, so the leader rotates every block and a view change moves
to the next validator. The reference's time-based view IDs (§1.7) are replaced by ``view + 1`` per timeout
with exponential backoff (see ``core``).

The reference skips a candidate absent from the last commit bitmaps (§1.8: all of the last four). Here the
rotation of a height runs over the candidates that signed the parent's commit, as the tip header's
``last_commit_bitmap`` says (:func:`present_candidates`): a validator that is down (stopped for an upgrade,
crashed) drops out of the rotation two blocks after it stopped signing, instead of costing a view change
(a phase timeout) every time its turn comes, and is back once a block it signed is the tip's parent. Only
the header's bitmap is used because every node agrees on it (the aggregate a node finalized a block with
may differ between nodes when two views gathered commits for one block); one bitmap instead of four keeps
the leader a function of the tip alone. A key left out of one aggregate by a late vote misses one turn.
After one round over those signers a height's later views go over every candidate again, so a bitmap that
names dead members only (or one of the previous committee, at an epoch's first block) costs at most a round.
"""

from __future__ import annotations

from collections.abc import Collection

from harmony.types.shard_state import Committee


def leader_candidates(committee: Committee) -> tuple[int, ...]:
    """Member indices that may lead: the first slot of each distinct account, in committee order."""
    seen: set[bytes] = set()
    out: list[int] = []
    for i, slot in enumerate(committee.slots):
        if slot.ecdsa_address not in seen:
            seen.add(slot.ecdsa_address)
            out.append(i)
    return tuple(out)


def present_candidates(candidates: tuple[int, ...], signed: Collection[int]) -> tuple[int, ...]:
    """The candidates among ``signed`` (the parent's commit signers, reference §1.8's skip of absent
    validators); every candidate when none of them signed (no bitmap, or another committee's)."""
    kept = tuple(c for c in candidates if c in signed)
    return kept or candidates


def leader_index(candidates: tuple[int, ...], view_id: int) -> int:
    """The committee index of the leader of ``view_id``."""
    return candidates[view_id % len(candidates)]
