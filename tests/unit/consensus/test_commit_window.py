"""The leader's commit window (reference §1.5): after a commit quorum it keeps collecting the other
members' commits, so that a slower member still appears in the block's commit aggregate and in the next
header's ``last_commit_bitmap``, and its conflicting votes are still checked."""

from __future__ import annotations

from dataclasses import replace

from harmony.chain.payloads import commit_payload, u64_le
from harmony.consensus.api import TimerKind
from harmony.consensus.core import Stage
from harmony.consensus.messages import Message, MsgType
from harmony.crypto.bitmap import decode_bitmap, encode_bitmap
from tests.unit.consensus.harness import Net

LEADER = 1
"""The leader of view 1 (the first block) in a 4-node net."""
SLOW = 3


def _slow_votes(net: Net, extra_ms: int) -> None:
    """Node ``SLOW``'s votes reach the leader ``extra_ms`` late."""
    net.delay = lambda src, dst, msg: (
        extra_ms if src == SLOW and msg.type in (MsgType.PREPARE, MsgType.COMMIT) else 0
    )


def _signers(bitmap: bytes) -> tuple[int, ...]:
    return decode_bitmap(bitmap, 4)


def _first_block_signers(net: Net) -> tuple[int, ...]:
    return _signers(net.nodes[0].chain[0].bitmap)


def test_without_a_window_the_slow_member_is_left_out() -> None:
    net = Net(4)
    _slow_votes(net, 200)
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 2)
    assert _first_block_signers(net) == (0, 1, 2)


def test_a_slow_members_commit_joins_the_aggregate_and_the_next_header() -> None:
    net = Net(4, commit_window=1_000)
    _slow_votes(net, 200)
    net.start()
    net.run(10_000, stop=lambda: min(net.heights()) >= 3)
    assert min(net.heights()) >= 3
    net.assert_safe()
    for node in net.nodes:
        first, second = node.chain[0], node.chain[1]
        assert _signers(first.bitmap) == (0, 1, 2, 3)
        assert second.block.header.last_commit_bitmap == first.bitmap
        assert second.block.header.last_commit_signature == first.commit_signature


def test_the_window_ends_as_soon_as_every_member_has_voted() -> None:
    net = Net(4, commit_window=5_000)
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 3)
    assert min(net.heights()) >= 3
    assert net.now < 5_000  # three blocks in less than one window: each closed at its last vote


def test_an_absent_member_costs_one_window_then_the_quorum_finalizes() -> None:
    net = Net(4, commit_window=700, phase_timeout=5_000)
    net.nodes[SLOW].up = False
    net.start()
    leader = net.nodes[LEADER]
    net.run(10_000, stop=lambda: len(leader.chain) >= 1)
    windows = [(t, at, armed) for t, at, armed in leader.armed if t.kind is TimerKind.COMMIT_WINDOW]
    assert len(windows) == 1
    _, deadline, armed = windows[0]
    assert deadline - armed == 700
    assert net.now == deadline  # finalized when the window closed, in view 1
    assert leader.chain[0].view_id == 1
    assert _signers(leader.chain[0].bitmap) == (0, 1, 2)


def test_the_window_ends_before_the_next_block_is_due() -> None:
    net = Net(4, commit_window=60_000, block_time=1_000, phase_timeout=5_000)
    net.nodes[SLOW].up = False
    net.start()
    leader = net.nodes[LEADER]
    net.run(10_000, stop=lambda: len(leader.chain) >= 1)
    (window,) = [(t, at) for t, at, _ in leader.armed if t.kind is TimerKind.COMMIT_WINDOW]
    propose = [at for t, at, _ in leader.armed if t.kind is TimerKind.PROPOSE and t.height == 1]
    # the first block is proposed at the PROPOSE timer's time; the window closes 200 ms before the next is due
    assert window[1] == propose[0] + 1_000 - 200


def test_a_phase_timeout_inside_the_window_finalizes_instead_of_changing_view() -> None:
    net = Net(4, commit_window=60_000, phase_timeout=600)
    net.nodes[SLOW].up = False
    net.start()
    leader = net.nodes[LEADER]
    net.run(10_000, stop=lambda: len(leader.chain) >= 1)
    assert leader.chain[0].view_id == 1
    assert leader.core.failed_views == 0


def test_a_forged_late_vote_is_dropped_and_the_real_one_counts() -> None:
    net = Net(4, commit_window=1_000)
    _slow_votes(net, 300)
    net.start()
    leader = net.nodes[LEADER].core
    net.run(5_000, stop=lambda: leader.stage is Stage.COMMIT and leader.commits is not None)
    net.run(5_000, stop=lambda: leader.commits is not None and leader.commits.has_quorum())
    assert leader.block is not None and leader.commits is not None
    block = leader.block
    forger = net.keys[0]  # signs for member 3: a wrong key
    forged = Message(
        MsgType.COMMIT,
        0,
        1,
        1,
        block.hash(),
        encode_bitmap([SLOW], 4),
        forger.sign(commit_payload(1, block.hash(), block.header.view_id)).data + u64_le(1),
    )
    leader.on_message(forged.encode(), net.now)
    net.run(10_000, stop=lambda: min(net.heights()) >= 2)
    assert leader.drops["bad_signature"] >= 1
    assert _first_block_signers(net) == (0, 1, 2, 3)


def test_a_late_conflicting_commit_becomes_evidence() -> None:
    """A member whose votes always come late is still checked for double signs (the equivocating
    validator of the staking test went unpunished when its votes arrived after the quorum)."""
    net = Net(4, commit_window=1_000)
    _slow_votes(net, 300)
    net.start()
    leader = net.nodes[LEADER].core
    net.run(5_000, stop=lambda: leader.commits is not None and leader.commits.has_quorum())
    assert leader.block is not None
    key = net.keys[SLOW]
    fake_hash = b"\x42" * 32
    fake = key.sign(commit_payload(1, fake_hash, leader.block.header.view_id))
    other = Message(MsgType.COMMIT, 0, 1, 1, fake_hash, encode_bitmap([SLOW], 4), fake.data + u64_le(1))
    leader.on_message(other.encode(), net.now)
    net.run(10_000, stop=lambda: min(net.heights()) >= 2)
    assert [e.evidence.offender for e in leader.evidence_found] == [net.committee.slots[SLOW].ecdsa_address]


def test_a_late_quorum_still_gets_a_short_window() -> None:
    """With 400 ms links the quorum comes after the next block was due less 200 ms: the window still lasts
    300 ms after it, so a member a little slower than the others is not cut off."""
    net = Net(4, commit_window=1_000, block_time=1_000, latency=400, phase_timeout=10_000)
    net.nodes[SLOW].up = False
    net.start()
    leader = net.nodes[LEADER]
    net.run(30_000, stop=lambda: len(leader.chain) >= 1)
    (window,) = [(at, armed) for t, at, armed in leader.armed if t.kind is TimerKind.COMMIT_WINDOW]
    assert window[0] - window[1] == 300


def _conflicting_commit(net: Net, member: int, height: int, view: int, signer: int | None = None) -> Message:
    """A COMMIT from ``member`` for another block at (``height``, ``view``), signed by ``signer``'s key
    (default: the member's own)."""
    fake_hash = b"\x42" * 32
    key = net.keys[member if signer is None else signer]
    signature = key.sign(commit_payload(height, fake_hash, view))
    return Message(
        MsgType.COMMIT, 0, view, height, fake_hash, encode_bitmap([member], 4), signature.data + u64_le(view)
    )


def _finished_first_height(net: Net) -> Net:
    net.start()
    leader = net.nodes[LEADER].core
    net.run(5_000, stop=lambda: leader.height >= 2)
    assert leader.previous_votes is not None and leader.previous_votes.height == 1
    return net


def test_a_conflicting_commit_after_the_height_ended_becomes_evidence() -> None:
    """The leader finishes a height as soon as every member voted, so an equivocator's second COMMIT
    (gossiped after its first went to the leader) usually arrives after the height ended: it is still
    checked against that height's votes."""
    net = _finished_first_height(Net(4, commit_window=1_000))
    leader = net.nodes[LEADER].core
    view = net.nodes[LEADER].chain[0].block.header.view_id
    leader.on_message(_conflicting_commit(net, SLOW, 1, view).encode(), net.now)
    assert [e.evidence.offender for e in leader.evidence_found] == [net.committee.slots[SLOW].ecdsa_address]
    assert leader.evidence_found[0].evidence.moment.height == 1
    # reported once per member and view: a second copy is dropped unverified
    stale = leader.drops["stale_height"]
    leader.on_message(_conflicting_commit(net, SLOW, 1, view).encode(), net.now)
    assert len(leader.evidence_found) == 1 and leader.drops["stale_height"] == stale + 1


def test_late_commits_that_cannot_conflict_are_dropped() -> None:
    """Late commits of the finished height: a forged conflicting one is refused by its signature; an honest
    late one (the committed block), one from before that height, and malformed ones are stale."""
    net = _finished_first_height(Net(4, commit_window=1_000))
    leader = net.nodes[LEADER].core
    block = net.nodes[LEADER].chain[0].block
    view = block.header.view_id
    leader.on_message(_conflicting_commit(net, SLOW, 1, view, signer=0).encode(), net.now)
    assert leader.drops["bad_signature"] == 1
    honest = net.keys[SLOW].sign(commit_payload(1, block.hash(), view))
    stale = [
        Message(
            MsgType.COMMIT, 0, view, 1, block.hash(), encode_bitmap([SLOW], 4), honest.data + u64_le(view)
        ),
        _conflicting_commit(net, SLOW, 0, view),
        replace(_conflicting_commit(net, SLOW, 1, view), payload=b"\x00" * 10),
        _conflicting_commit(net, SLOW, 1, view + 1),
    ]
    before = leader.drops["stale_height"]
    for msg in stale:
        leader.on_message(msg.encode(), net.now)
    assert leader.drops["stale_height"] == before + len(stale)
    assert leader.evidence_found == []
