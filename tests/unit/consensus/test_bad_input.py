"""Hostile input: dropped with a counted reason, state unchanged (design §3.5)."""

import dataclasses

import pytest

from harmony.consensus.api import (
    Broadcast,
    MemoryLogStore,
    MemorySignerStore,
    RequestProposal,
    Send,
    build_proposal,
    create_core,
    genesis_tip,
)
from harmony.consensus.messages import MAX_MESSAGE_SIZE, Message, MsgType
from tests.unit.consensus.harness import GENESIS, Net


def _announce_and_votes() -> tuple[Net, Message, Message]:
    net = Net(4)
    net.start()
    # node 1 leads view 1: capture its ANNOUNCE and a PREPARE sent back to it
    announce = next(e.message for e in _effects(net, 1) if isinstance(e, Broadcast))
    return net, announce, announce


def _effects(net: Net, i: int) -> list[object]:
    # re-create the start of node i on a fresh core to observe its effects
    node = net.nodes[i]
    core = create_core(node.config, MemorySignerStore(), MemoryLogStore(), genesis_tip(GENESIS))
    out: list[object] = []
    for e in core.start(0):
        out.append(e)
        if isinstance(e, RequestProposal):
            out += core.on_proposal(build_proposal(e), 0)
    return out


def _snapshot(net: Net, i: int) -> tuple[object, ...]:
    c = net.nodes[i].core
    return (c.height, c.view, c.mode, c.stage, c.block, c.lock)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda m: b"\xff" * 10, "malformed"),
        (lambda m: b"\x00" * (MAX_MESSAGE_SIZE + 1), "oversized"),
        (lambda m: dataclasses.replace(m, shard_id=1).encode(), "wrong_shard"),
        (lambda m: dataclasses.replace(m, block_num=10**9).encode(), "far_future"),
        (lambda m: dataclasses.replace(m, view_id=10**6).encode(), "far_future"),
        (lambda m: dataclasses.replace(m, block_num=0).encode(), "stale_height"),
        (lambda m: dataclasses.replace(m, payload=b"x").encode(), "bad_signature"),
        (lambda m: m.with_signature(bytes(96)).encode(), "bad_signature"),
        (lambda m: dataclasses.replace(m, senders=b"\xff").encode(), "bad_senders"),
        (lambda m: dataclasses.replace(m, type=99).encode(), "malformed"),
        (lambda m: m.encode() + b"\x00", "malformed"),
    ],
)
def test_bad_announce_is_dropped(mutate: object, reason: str) -> None:
    net, announce, _ = _announce_and_votes()
    before = _snapshot(net, 2)
    assert callable(mutate)
    effects = net.nodes[2].core.on_message(mutate(announce), 0)
    assert effects == []
    assert net.nodes[2].core.drops[reason] == 1, net.nodes[2].core.drops
    assert _snapshot(net, 2) == before


def test_good_announce_then_replay_is_dropped() -> None:
    net, announce, _ = _announce_and_votes()
    core = net.nodes[2].core
    effects = core.on_message(announce.encode(), 0)
    assert any(isinstance(e, Send) and e.message.type == MsgType.PREPARE for e in effects)
    assert core.on_message(announce.encode(), 0) == []
    assert core.drops["duplicate"] == 1


def test_announce_from_non_leader_is_dropped() -> None:
    net, announce, _ = _announce_and_votes()
    # node 3 is not the leader of view 1; forge an announce signed by its own key
    key = net.nodes[3].config.keys[0]
    forged = dataclasses.replace(announce, senders=bytes([1 << 3]), signature=b"")
    forged = forged.with_signature(key.sign(forged.signing_hash()).data)
    assert net.nodes[2].core.on_message(forged.encode(), 0) == []
    assert net.nodes[2].core.drops["not_leader"] == 1


def test_wrongly_signed_vote_does_not_count() -> None:
    net = Net(4)
    net.start()
    leader = net.nodes[1].core
    assert leader.prepares is not None
    bad = Message(
        MsgType.PREPARE, 0, 1, 1, leader.block.hash() if leader.block else bytes(32), b"\x04", bytes(96)
    )
    leader.on_message(bad.encode(), 0)
    assert leader.drops["bad_signature"] == 1  # identity point is not a valid vote signature
    assert leader.prepares.members == {1}


def test_a_resent_copy_costs_no_second_signature_check_and_a_forged_one_is_still_checked() -> None:
    """Every round message is resent every couple of seconds while a round stalls; on a loaded machine the
    pairings of those copies were what the nodes spent their CPU on. A check that passed is remembered."""
    net = Net(4)
    core = net.nodes[2].core
    received: list[bytes] = []
    deliver = core.on_message

    def spy(data, now):  # type: ignore[no-untyped-def]
        received.append(data)
        return deliver(data, now)

    core.on_message = spy  # type: ignore[method-assign]
    net.start()
    announced = lambda: [d for d in received if Message.decode(d).msg_type is MsgType.ANNOUNCE]  # noqa: E731
    net.run(5_000, stop=lambda: bool(announced()))
    copy = announced()[0]
    before = core.pairing_checks
    deliver(copy, net.now)
    assert core.pairing_checks == before
    forged = Message.decode(copy)
    wrong_key = net.keys[3]  # a member's valid signature, but not the leader's
    forged = dataclasses.replace(forged, signature=wrong_key.sign(forged.signing_hash()).data)
    drops = core.drops["bad_signature"]
    deliver(forged.encode(), net.now)
    assert core.pairing_checks == before + 1
    assert core.drops["bad_signature"] == drops + 1
