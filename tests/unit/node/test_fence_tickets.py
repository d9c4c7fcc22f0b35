"""When a fenced shard's node shows its fence ticket to each peer (``harmony.node.fence.TicketSchedule``): a
peer that took it is shown it again after RETRY_SECONDS; one whose stream failed is asked again soon, backing
off; a peer seen disconnected (a member killed and restarted: a new process that admits nobody) is shown
it as soon as it is back, not half a minute later; a new epoch makes every peer due."""

from __future__ import annotations

from harmony.chain.genesis import dev_bls_key, make_localnet_genesis
from harmony.cli.devnet_fences import with_fences
from harmony.crypto import bls
from harmony.node.blockchain import Blockchain
from harmony.node.fence import RETRY_SECONDS, TICKET_INTERVAL, TicketSchedule, tickets_to_show
from harmony.storage import ChainDB, MemoryStore

PEER = "12D3KooWBMig7v6UiaEtAvBpTegPxGtgB6ZfYXYkTKka1mZXccXj"


def test_a_peer_that_took_the_ticket_is_shown_it_again_after_the_retry_period() -> None:
    schedule = TicketSchedule()
    assert schedule.due(["a", "b"], 0.0) == ["a", "b"]
    schedule.accepted("a", 0.0)
    schedule.accepted("b", 0.0)
    assert schedule.due(["a", "b"], RETRY_SECONDS - 0.1) == []
    assert schedule.due(["a", "b"], RETRY_SECONDS) == ["a", "b"]


def test_a_failed_presentation_is_retried_soon_then_less_often() -> None:
    schedule = TicketSchedule()
    now, waits = 0.0, []
    for _ in range(7):
        schedule.failed("m", now)
        wait = TICKET_INTERVAL / 4
        while not schedule.due(["m"], now + wait):
            wait += TICKET_INTERVAL / 4
        waits.append(wait)
        now += wait
    assert waits[:4] == [TICKET_INTERVAL, 2 * TICKET_INTERVAL, 4 * TICKET_INTERVAL, 8 * TICKET_INTERVAL]
    assert waits[-1] == RETRY_SECONDS  # capped
    schedule.accepted("m", now)
    schedule.failed("m", now + RETRY_SECONDS)  # after a success, the back-off starts again
    assert schedule.due(["m"], now + RETRY_SECONDS + TICKET_INTERVAL) == ["m"]


def test_a_peer_back_after_a_disconnection_is_due_at_once() -> None:
    schedule = TicketSchedule()
    schedule.accepted("restarted", 0.0)
    schedule.accepted("steady", 0.0)
    assert schedule.due(["steady"], 3.0) == []  # "restarted" was killed: not connected this round
    assert schedule.due(["steady", "restarted"], 9.0) == ["restarted"]  # back as a new process


def test_a_new_epoch_makes_every_peer_due() -> None:
    schedule = TicketSchedule()
    schedule.accepted("a", 0.0)
    schedule.failed("b", 0.0)
    schedule.reset()
    assert schedule.due(["a", "b"], 0.5) == ["a", "b"]


def _fenced_chain() -> Blockchain:
    genesis = with_fences(make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000), {1: "EU"})
    return Blockchain.open(ChainDB(MemoryStore()), genesis, 1)


def test_a_seated_node_shows_its_seat_key_and_a_node_not_seated_yet_shows_each_key() -> None:
    chain = _fenced_chain()
    member, stranger, newcomer = dev_bls_key(1, 2), dev_bls_key(0, 1), bls.SecretKey.key_gen(b"n" * 32)
    (ticket,) = tickets_to_show(chain, 1, [stranger, member], PEER)
    assert ticket.bls_public_key == member.public_key.to_bytes() and ticket.epoch == 0
    # elected in an epoch past this node's head: it cannot know, so it shows every key; the members decide
    shown = tickets_to_show(chain, 1, [newcomer, stranger], PEER)
    assert [t.bls_public_key for t in shown] == [k.public_key.to_bytes() for k in (newcomer, stranger)]
    assert tickets_to_show(chain, 1, [], PEER) == []  # a full node: outside the fence
