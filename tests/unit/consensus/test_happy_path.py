import itertools
import random

from harmony.consensus.api import TimerKind
from harmony.consensus.core import RESEND_BACKOFF_LIMIT, Mode
from harmony.consensus.messages import Message, MsgType
from harmony.types.block import Block
from tests.unit.consensus.harness import GENESIS, Net


def test_four_nodes_finalize_blocks() -> None:
    net = Net(4)
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 5)
    assert min(net.heights()) >= 5
    net.assert_safe()
    # each block's header carries the parent's commit aggregate (reference §1.5)
    chain = net.nodes[0].chain
    for prev, cur in itertools.pairwise(chain):
        assert cur.block.header.last_commit_signature == prev.commit_signature
        assert cur.block.header.last_commit_bitmap == prev.bitmap
    # only late votes (after quorum) are dropped
    assert all(set(n.core.drops) <= {"stale_height"} for n in net.nodes), [n.core.drops for n in net.nodes]


def test_silent_leader_view_change() -> None:
    net = Net(4, phase_timeout=500)
    net.nodes[1].up = False  # leader of view 1 (first block) is down
    net.start()
    net.run(60_000, stop=lambda: min(net.heights()[i] for i in (0, 2, 3)) >= 3)
    assert min(net.heights()[i] for i in (0, 2, 3)) >= 3
    net.assert_safe()
    views = [c.view_id for c in net.nodes[0].chain]
    assert views[0] > 1  # the first block needed a view change


def test_a_node_stops_resending_its_viewchange_once_the_view_is_entered() -> None:
    """Followers kept re-sending VIEWCHANGE for 14 s after NEWVIEW (seen on a testnet): harmless, but each
    copy is dropped as stale by every receiver and the logs read as a view change that never ends."""

    net = Net(4, phase_timeout=500)
    net.nodes[1].up = False  # leader of view 1 is down: view 2 comes by view change
    net.start()
    follower = net.nodes[0].core
    net.run(60_000, stop=lambda: follower.view >= 2 and follower.mode is Mode.NORMAL)
    assert follower.view >= 2 and follower.mode is Mode.NORMAL
    kinds = {e.message.type for e in follower._resend}  # type: ignore[union-attr]
    assert MsgType.VIEWCHANGE not in kinds


def test_lossy_network_stays_safe_and_live() -> None:
    rng = random.Random(7)
    net = Net(4, phase_timeout=300)
    net.drop = lambda src, dst, msg: rng.random() < 0.25
    net.start()
    net.run(20_000)
    net.assert_safe()
    net.drop = lambda src, dst, msg: False
    target = max(net.heights()) + 3
    net.run(net.now + 60_000, stop=lambda: min(net.heights()) >= target)
    assert min(net.heights()) >= target
    net.assert_safe()


def test_multi_key_nodes() -> None:
    # 7 keys on 3 nodes: node 0 holds 3, node 1 holds 2, node 2 holds 2
    net = Net(7, key_owner=[0, 0, 0, 1, 1, 2, 2])
    net.start()
    net.run(10_000, stop=lambda: min(net.heights()) >= 4)
    assert min(net.heights()) >= 4
    net.assert_safe()
    bitmap = net.nodes[0].chain[-1].bitmap
    assert bitmap  # several keys per vote, one bitmap


def test_crash_and_restart_resumes() -> None:
    net = Net(4, phase_timeout=400)
    net.start()
    net.run(2_000, stop=lambda: min(net.heights()) >= 2)
    net.nodes[2].up = False
    net.run(net.now + 3_000)
    net.restart(2)
    target = max(net.heights()) + 3
    net.run(net.now + 60_000, stop=lambda: min(net.heights()) >= target)
    assert min(net.heights()) >= target
    net.assert_safe()


def test_staked_voting_power() -> None:
    # one big staker holding > 2/3 of the external power with a Harmony share of 0.68
    net = Net(4, stakes=[100, 100, 100, 100])
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 2)
    assert min(net.heights()) >= 2


def test_committed_carries_the_block_only_when_some_member_has_not_shown_it_holds_it() -> None:
    seen: list[tuple[bool, int]] = []  # (block attached, destination) of every COMMITTED sent

    def watch(src: int, dst: int, msg: object) -> bool:
        if getattr(msg, "type", None) == MsgType.COMMITTED:
            seen.append((bool(msg.block), dst))  # type: ignore[attr-defined]
        return False

    net = Net(4)
    net.drop = watch
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 3)
    # every member voted before the commit quorum: no block on the wire a third time (reference §1.5)
    assert seen and not any(attached for attached, _ in seen)

    # node 3 misses every ANNOUNCE and PREPARED, so it never votes: COMMITTED brings it the block
    seen.clear()

    def starve(src: int, dst: int, msg: object) -> bool:
        watch(src, dst, msg)
        return dst == 3 and getattr(msg, "type", None) in (MsgType.ANNOUNCE, MsgType.PREPARED)

    net.drop = starve
    target = max(net.heights()) + 3
    net.run(net.now + 20_000, stop=lambda: min(net.heights()) >= target)
    assert min(net.heights()) >= target
    assert any(attached for attached, dst in seen if dst == 3)
    net.assert_safe()


def test_a_member_that_lost_the_block_syncs_from_a_committed_without_it() -> None:
    net = Net(4)
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 2)
    lost: list[int] = []

    def forget(src: int, dst: int, msg: object) -> bool:
        # node 2 forgets every block it was shown just before COMMITTED reaches it
        if dst == 2 and getattr(msg, "type", None) == MsgType.COMMITTED and not msg.block:  # type: ignore[attr-defined]
            net.nodes[2].core.known.clear()
            lost.append(1)
        return False

    net.drop = forget
    target = max(net.heights()) + 3
    net.run(net.now + 30_000, stop=lambda: min(net.heights()) >= target)
    assert lost and min(net.heights()) >= target  # it asked to sync and caught up
    net.assert_safe()


def test_a_stalled_round_is_resent_at_growing_intervals() -> None:
    """Copies every 2 s of every member's round messages made a slow round slower on a loaded testnet: the
    interval doubles per resend of the round, up to four times the configured one."""
    net = Net(4, phase_timeout=60_000)
    for i in (0, 2, 3):
        net.nodes[i].up = False  # the leader's ANNOUNCE (node 1, view 1) is never answered: its round stalls
    net.start()
    net.run(40_000)
    armed = [at - when for timer, at, when in net.nodes[1].armed if timer.kind is TimerKind.RESEND]
    base = net.nodes[1].core.config.resend_interval_ms
    # the first interval (armed with the ANNOUNCE) is the configured one
    assert armed[:4] == [base, 2 * base, 4 * base, (1 << RESEND_BACKOFF_LIMIT) * base]


def test_an_announce_that_overtakes_its_parents_commit_is_voted_on() -> None:
    """A validator that gets the next height's ANNOUNCE before the COMMITTED of the current one finalizes
    the parent from the announce's ``last_commit`` and then checks the announced block against a chain
    that holds the parent (its ledger, like the node's, refuses a block that does not extend the stored
    head). Before, the block was checked before the parent was stored and refused as invalid: a restarted
    validator on the namespaced rolling upgrade lost its vote on a block that way."""
    net = Net(4)
    late = net.nodes[3]

    def extends_the_stored_head(block: Block, now_ms: int) -> bool:
        head = late.chain[-1].block.hash() if late.chain else GENESIS.hash()
        return block.header.parent_hash == head

    late.ledger._check = extends_the_stored_head
    sent: list[tuple[int, MsgType, int]] = []

    def delay(src: int, dst: int, msg: Message) -> int:
        sent.append((src, MsgType(msg.type), msg.block_num))
        return 500 if dst == 3 and msg.type == MsgType.COMMITTED and msg.block_num == 1 else 0

    net.delay = delay
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 3)
    assert min(net.heights()) >= 3
    net.assert_safe()
    assert "invalid_block" not in late.core.drops, late.core.drops
    assert (3, MsgType.PREPARE, 2) in sent
