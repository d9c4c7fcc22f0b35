"""Leaders keep the configured block time from one proposal to the next, however long agreeing on a block
takes (the node's throughput depends on it): the node's consensus drivers on a virtual-time network with a
100 ms hop."""

from __future__ import annotations

from tests.unit.consensus.harness import Net

BLOCK_TIME_MS = 1_000
HOP_MS = 100


def _net() -> Net:
    return Net(4, latency=HOP_MS, phase_timeout=5_000, block_time=BLOCK_TIME_MS)


def test_blocks_follow_the_block_time_from_the_previous_proposal() -> None:
    net = _net()
    net.start()
    net.run(10_500)
    net.assert_safe()
    # a round takes four hops (400 ms): counted from the commit, blocks would come every 1.4 s (7 by now);
    # from the previous proposal (as the next leader saw it, one hop later), every 1.1 s
    assert min(net.heights()) >= 9, net.heights()
    assert max(net.heights()) <= 10, net.heights()


def test_a_slow_round_is_followed_by_an_immediate_proposal() -> None:
    # a round (1.6 s) longer than the block time
    net = Net(4, latency=400, phase_timeout=5_000, block_time=BLOCK_TIME_MS)
    net.start()
    net.run(11_500)
    net.assert_safe()
    # the first proposal waits 1 s; after that, each leader proposes as soon as it has committed (five hops
    # after the previous proposal): blocks every 2 s, where waiting a block time after the commit gives 3 s
    assert min(net.heights()) >= 5, net.heights()
