"""After a fast sync the consensus driver joins the committee at the new head and signs.

Three of four validators hold a chain of 25 final blocks; the fourth starts at genesis, fast-syncs the
chain (its driver adopting each durable batch), and then the validator that served it stops: the chain can
only go on if the synced validator signs, since three of four seats are the quorum.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from harmony.chain.genesis import dev_bls_key
from harmony.node.dev_chain import extend_final
from harmony.node.fast_sync import FastSync, Stored
from harmony.node.sync import ChainSyncSource
from tests.unit.node.test_consensus_driver import SHARD, Net, _until

SYNCED = 25


class Local:
    """A fetcher over another chain in this process (the p2p side has its own tests)."""

    def __init__(self, source: ChainSyncSource) -> None:
        self.source = source

    async def blocks(self, peer_id: str, numbers: Sequence[int]) -> list[tuple[bytes, bytes, bytes]]:
        out = []
        for number in numbers:
            found = self.source.block_with_commit(number)
            if found is None:
                break
            out.append(found)
        return out


def test_a_fast_synced_validator_joins_consensus_and_its_signature_is_needed() -> None:
    net = Net()
    keys = [dev_bls_key(SHARD, i) for i in range(3)]
    for chain in net.chains[:3]:
        for _ in range(SYNCED):
            extend_final(chain, keys)  # deterministic: the three chains are the same
    assert len({c.head.hash() for c in net.chains[:3]}) == 1
    net.drivers = [net.make(i) for i in range(4)]  # the drivers start at their stored heads
    late = net.drivers[3]

    def adopt(stored: list[Stored]) -> None:
        late.adopt_synced([(s.block, s.signature, s.bitmap) for s in stored])

    async def main() -> None:
        session = FastSync(
            net.chains[3], Local(ChainSyncSource(net.chains[0])), lambda *a: None, on_stored=adopt
        )
        report = await session.run({"peer": SYNCED})
        assert report.stored == SYNCED and net.chains[3].head.hash() == net.chains[0].head.hash()
        assert late.counters["blocks_synced"] == SYNCED and late.core.height == SYNCED + 1
        async with trio.open_nursery() as nursery:
            for i in (1, 2, 3):  # validator 0 served the chain and is gone
                nursery.start_soon(net.relay, i)
                await nursery.start(net.drivers[i].run)
            await _until(lambda: all(c.head.number >= SYNCED + 3 for c in net.chains[1:]))
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert late.counters["blocks_committed"] >= 3
    for number in range(SYNCED + 1, SYNCED + 4):
        assert len({c.db.get_canonical_hash(number) for c in net.chains[1:]}) == 1
        sig = net.chains[3].db.get_commit_sig(number)
        assert sig is not None and sig[1][0] & 0b1000  # seat 3 (the synced validator) signed
