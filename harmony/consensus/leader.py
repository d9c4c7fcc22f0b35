"""Leader selection and rotation (reference §1.7 ``getNextLeaderKey``, §1.8 ``rotateLeader``).

Simplification, documented: the leader of a view is a pure function of the view ID,
``candidates[view_id % len(candidates)]``, where the candidates are the first key of each distinct account
in committee order (keys of one validator never follow one another, as in ``NthNextValidator``). Views go
up by one per block and by one per failed view, so the leader rotates every block and a view change moves
to the next validator. The reference's time-based view IDs (§1.7) are replaced by ``view + 1`` per timeout
with exponential backoff (see ``core``), and the reference's skip of candidates absent from the last four
commit bitmaps is left out.
"""

from __future__ import annotations

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


def leader_index(candidates: tuple[int, ...], view_id: int) -> int:
    """The committee index of the leader of ``view_id``."""
    return candidates[view_id % len(candidates)]
