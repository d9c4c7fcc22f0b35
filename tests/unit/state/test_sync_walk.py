"""The state sync walk (harmony.state.sync_walk): a state fetched node by node from nothing is exactly the
state; a forged, truncated, undecodable or unasked answer is refused and changes nothing; an interrupted
walk resumes from the store without asking again for what is there; progress covers the key space."""

from __future__ import annotations

import pytest

from harmony.crypto.keccak import keccak256
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.state.reach import mark_state
from harmony.state.sync_walk import ForgedStateNode, StateWalk
from tests.unit.state.test_reach import _state


def _serve(walk: StateWalk, source: dict[bytes, bytes], target: dict[bytes, bytes], limit: int) -> int:
    """Run the walk against ``source`` until done or ``limit`` nodes; the nodes written."""
    written = 0
    while not walk.done and written < limit:
        for node_hash in walk.take(min(64, limit - written)):
            blob = source[node_hash]
            walk.accept(node_hash, blob)
            target[node_hash] = blob
            written += 1
    return written


def test_a_state_fetched_from_nothing_is_exactly_the_state() -> None:
    root, source = _state(2000)
    target: dict[bytes, bytes] = {}
    walk = StateWalk(target, root)
    assert not walk.done and walk.fraction_done == 0
    written = _serve(walk, source, target, 10**9)
    assert walk.done and walk.fraction_done == 1.0
    marked: set[bytes] = set()
    list(mark_state(source, root, marked))
    assert set(target) == marked and written == len(marked) == walk.accepted


def test_an_interrupted_walk_resumes_without_asking_again() -> None:
    root, source = _state(1500)
    target: dict[bytes, bytes] = {}
    first = StateWalk(target, root)
    written = _serve(first, source, target, 700)
    assert written == 700 and not first.done
    progress = first.fraction_done
    second = StateWalk(target, root)  # a restart: only the store survives
    assert second.present == 700 and second.fraction_done >= progress * 0.99
    asked: list[bytes] = []
    while not second.done:
        batch = second.take(50)
        asked.extend(batch)
        for node_hash in batch:
            second.accept(node_hash, source[node_hash])
            target[node_hash] = source[node_hash]
    assert not set(asked) & set(list(target)[:700])
    assert len(asked) + 700 == len(target) and second.fraction_done == 1.0


@pytest.mark.parametrize(
    ("forge", "check"),
    [
        (lambda blob: blob[:-1], "hash"),  # truncated
        (lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]), "hash"),  # one bit flipped
        (lambda blob: b"", "hash"),
    ],
)
def test_a_forged_or_truncated_node_is_refused_and_changes_nothing(forge: object, check: str) -> None:
    root, source = _state(300)
    walk = StateWalk({}, root)
    [asked] = walk.take(1)
    with pytest.raises(ForgedStateNode) as caught:
        walk.accept(asked, forge(source[asked]))  # type: ignore[operator]
    assert caught.value.check == check and "hashes to something else" in str(caught.value)
    walk.give_back([asked])  # the caller asks another peer
    assert walk.take(5) == [asked]
    walk.accept(asked, source[asked])
    assert walk.accepted == 1


def test_an_unasked_node_and_an_undecodable_node_are_refused() -> None:
    root, source = _state(50)
    walk = StateWalk({}, root)
    other = next(h for h in source if h != root)
    with pytest.raises(ForgedStateNode, match="unasked"):
        walk.accept(other, source[other])
    # a blob that hashes right but is no trie node: only possible when asked for its hash
    garbage = b"\x01\x02\x03"
    walk2 = StateWalk({}, keccak256(garbage))
    [asked] = walk2.take(1)
    with pytest.raises(ForgedStateNode) as caught:
        walk2.accept(asked, garbage)
    assert caught.value.check == "decode"


def test_the_empty_state_needs_nothing_and_a_bad_root_is_refused() -> None:
    assert StateWalk({}, EMPTY_TRIE_ROOT).done
    with pytest.raises(ValueError, match="32 bytes"):
        StateWalk({}, b"\x00" * 31)
