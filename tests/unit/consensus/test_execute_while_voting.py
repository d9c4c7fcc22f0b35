"""Validators vote PREPARE on an announced block's consensus fields and execute it while the votes travel;
they lock and commit-vote only a block that executed (reference §1.3, as Harmony's validators do; issue 16's
pipelined round). So an invalid block can gather a prepared certificate but never a commit quorum, and a new
leader never re-proposes a certificate whose block does not execute."""

from __future__ import annotations

from harmony.consensus.messages import MsgType
from harmony.sim.ledger import MemoryLedger
from harmony.types.block import Block
from tests.unit.consensus.harness import GENESIS, Net

BAD = b"bad"
LEADER = 1
"""The leader of view 1 (the first block) in a 4-node net."""


def _refuse_bad(block: Block, now_ms: int) -> bool:
    return block.header.extra != BAD


def _bad_leader_net() -> Net:
    """Node ``LEADER`` builds blocks every other node's application refuses (its own accepts them: a
    leader whose state machine is wrong, or lying)."""
    net = Net(4, phase_timeout=1_000)
    for index, node in enumerate(net.nodes):
        if index == LEADER:
            node.ledger = MemoryLedger(GENESIS, extra=BAD)
        else:
            node.ledger = MemoryLedger(GENESIS, check=_refuse_bad)
        node.driver = net._driver(index, node.config, node.signer_store, node.log_store, node.ledger)
    return net


def test_a_validator_votes_prepare_before_it_executes_the_block() -> None:
    net = Net(4)
    events: list[tuple[str, int]] = []

    def check(index: int):  # type: ignore[no-untyped-def]
        def executed(block: Block, now_ms: int) -> bool:
            events.append(("execute", index))
            return True

        return executed

    for index, node in enumerate(net.nodes):
        node.ledger = MemoryLedger(GENESIS, check=check(index))
        node.driver = net._driver(index, node.config, node.signer_store, node.log_store, node.ledger)
    sent = net.nodes[0].driver.transport.send

    def send(to: bytes, message) -> None:  # type: ignore[no-untyped-def]
        if message.type == MsgType.PREPARE and message.block_num == 1:
            events.append(("prepare", 0))
        sent(to, message)

    net.nodes[0].driver.transport.send = send  # type: ignore[method-assign]
    net.start()
    net.run(10_000, stop=lambda: min(net.heights()) >= 2)
    assert min(net.heights()) >= 2
    net.assert_safe()
    mine = [kind for kind, node in events if node == 0]
    assert mine[:2] == ["prepare", "execute"]  # block 1: the vote left first, the block executed once


def test_an_invalid_block_gets_prepared_but_never_committed_and_the_height_moves_on() -> None:
    net = _bad_leader_net()
    leader = net.nodes[LEADER].driver
    broadcast = leader.transport.broadcast
    prepared: list[bytes] = []

    def record(message) -> None:  # type: ignore[no-untyped-def]
        if message.type == MsgType.PREPARED and message.block_num == 1:
            prepared.append(message.block_hash)
        broadcast(message)

    leader.transport.broadcast = record  # type: ignore[method-assign]
    commits: list[int] = []
    for index, node in enumerate(net.nodes):
        if index == LEADER:
            continue
        sent = node.driver.transport.send

        def send(to: bytes, message, sent=sent, index=index) -> None:  # type: ignore[no-untyped-def]
            if message.type == MsgType.COMMIT and message.view_id == 1:
                commits.append(index)
            sent(to, message)

        node.driver.transport.send = send  # type: ignore[method-assign]
    net.start()
    net.run(60_000, stop=lambda: min(h for i, h in enumerate(net.heights()) if i != LEADER) >= 2)
    honest = [node for i, node in enumerate(net.nodes) if i != LEADER]
    assert min(len(node.chain) for node in honest) >= 2
    net.assert_safe()
    # the validators prepared the bad block before executing it: a certificate formed...
    assert prepared and all(h == prepared[0] for h in prepared)
    # ...but none of them committed it, each refused it once it executed, and it never became final
    assert commits == []
    for node in honest:
        assert node.driver.drops()["invalid_block"] >= 1
        assert all(c.block.hash() != prepared[0] for c in node.chain)


def test_a_new_leader_does_not_repropose_a_certified_block_that_does_not_execute() -> None:
    """The bad leader locks on its own block (its prepare quorum is real) and hands the certificate to the
    next leader in its VIEWCHANGE: re-proposing it would cost every later view the same, for ever."""
    net = _bad_leader_net()
    net.start()
    net.run(60_000, stop=lambda: min(h for i, h in enumerate(net.heights()) if i != LEADER) >= 2)
    honest = [node for i, node in enumerate(net.nodes) if i != LEADER]
    assert min(len(node.chain) for node in honest) >= 2, net.heights()
    first = honest[0].chain[0]
    assert first.block.header.extra != BAD
    assert first.view_id == 2  # one view lost to the bad block, not more


def test_a_block_refused_right_after_its_announce_is_executed_again_when_prepared() -> None:
    """A refusal can be passing (a header time just ahead of a validator's clock): PREPARED checks once
    more, so the validator still commit-votes a block that executes by then."""
    net = Net(4)
    calls: list[int] = []

    def flaky(block: Block, now_ms: int) -> bool:
        calls.append(block.number)
        return calls.count(block.number) > 1  # refused the first time only

    node = net.nodes[0]
    node.ledger = MemoryLedger(GENESIS, check=flaky)
    node.driver = net._driver(0, node.config, node.signer_store, node.log_store, node.ledger)
    commits: list[int] = []
    sent = node.driver.transport.send

    def send(to: bytes, message) -> None:  # type: ignore[no-untyped-def]
        if message.type == MsgType.COMMIT:
            commits.append(message.block_num)
        sent(to, message)

    node.driver.transport.send = send  # type: ignore[method-assign]
    net.start()
    net.run(1_000, stop=lambda: node.core.awaiting_execution)
    assert node.core.awaiting_execution
    node.core.execute_announced()  # what the node's driver does once its PREPARE left: refused
    assert not node.core.awaiting_execution
    net.run(10_000, stop=lambda: min(net.heights()) >= 1)
    assert calls[:2] == [1, 1]
    assert commits[:1] == [1]
