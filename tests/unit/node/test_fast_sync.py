"""Fast sync over real libp2p hosts: an honest chain from several peers, while some peers lie.

The syncing node (real LMDB) asks an honest peer, a peer that serves blocks with forged commit aggregates,
a peer that answers too slowly, and a peer that announces a head it does not hold. It must end with the
honest chain, byte for byte, having penalized and dropped each bad peer, and lose nothing it verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from harmony.chain.commit_proof import InvalidCommitProof
from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final, sign_commit
from harmony.node.fast_sync import FastSync, Stored, SyncHalted, check_commit
from harmony.node.sync import ChainSyncSource
from harmony.p2p import sync_protocol as sp
from harmony.p2p.host import P2PHost
from harmony.p2p.topics import sync_protocol_id
from harmony.storage import ChainDB, LMDBStore, MemoryStore
from harmony.types.transaction import Transaction
from tests.unit.p2p.harness import config, hosts, run, wait_until

SHARD = 1
GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
KEYS = [dev_bls_key(SHARD, i) for i in range(3)]
PID = sync_protocol_id("localnet", SHARD)
HEAD = 45


def build_chain(blocks: int) -> Blockchain:
    """``blocks`` final blocks on shard 1, every fifth with a few transfers."""
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    sender = dev_account_key(0)
    nonce = 0
    for number in range(1, blocks + 1):
        txs = []
        if number % 5 == 0:
            for _ in range(3):
                tx = Transaction(nonce, 10**9, 21_000, SHARD, SHARD, b"\x11" * 20, number)
                txs.append(tx.sign(sender, LOCALNET.chain_id))
                nonce += 1
        extend_final(chain, KEYS, txs)
    return chain


@pytest.fixture(scope="module")
def source() -> Blockchain:
    return build_chain(HEAD)


class Forger(ChainSyncSource):
    """Serves the real blocks, but from block 12 on with a commit aggregate of another block."""

    def block_with_commit(self, number: int) -> tuple[bytes, bytes, bytes] | None:
        found = super().block_with_commit(number)
        if found is None or number < 12:
            return found
        other = self.chain.db.get_commit_sig(number - 1)
        assert other is not None
        return found[0], other[0], other[1]


class Hollow(ChainSyncSource):
    """Announces the real head but holds only the first three blocks."""

    def block_with_commit(self, number: int) -> tuple[bytes, bytes, bytes] | None:
        return super().block_with_commit(number) if number <= 3 else None


def serve_slowly(host: P2PHost, chain: Blockchain, delay: float) -> None:
    """Answers the head at once and block requests only after ``delay`` seconds."""
    source = ChainSyncSource(chain)

    async def handler(peer_id: str, request: bytes) -> bytes:
        kind, numbers = sp.decode_request(request)
        if kind == sp.GET_BLOCKS_BY_NUMBER:
            await trio.sleep(delay)
        return sp.answer(source, kind, numbers)

    host.set_request_handler(
        PID, handler, max_request_bytes=sp.MAX_REQUEST_BYTES, max_response_bytes=sp.MAX_BLOCKS_RESPONSE_BYTES
    )


def test_fast_sync_gets_the_honest_chain_and_drops_every_lying_peer(
    tmp_path: Path, source: Blockchain
) -> None:
    store = LMDBStore(tmp_path / "chain")
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    adopted: list[Stored] = []

    async def body() -> None:
        names = ["honest", "forger", "slow", "hollow"]
        async with hosts(*(config(tmp_path, n) for n in names)) as servers:
            addrs = tuple(a for s in servers for a in s.listen_addrs())
            async with hosts(config(tmp_path, "client", bootnodes=addrs)) as [client]:
                await wait_until(lambda: all(client.is_connected(s.peer_id) for s in servers))
                honest, forger, slow, hollow = servers
                sp.serve_sync(honest, PID, ChainSyncSource(source))
                sp.serve_sync(forger, PID, Forger(source))
                serve_slowly(slow, source, delay=30)
                sp.serve_sync(hollow, PID, Hollow(source))
                sync_client = sp.SyncClient(client, PID)
                heads = {s.peer_id: await sync_client.head_number(s.peer_id) for s in servers}
                assert set(heads.values()) == {HEAD}
                session = FastSync(
                    chain,
                    sync_client,
                    client.penalize,
                    on_stored=adopted.extend,
                    request_timeout=2.0,
                    flush_blocks=8,
                )
                report = await session.run(heads)
                assert report.stored == HEAD
                assert set(report.dropped) == {forger.peer_id, slow.peer_id, hollow.peer_id}
                assert "commit quorum" in report.dropped[forger.peer_id]
                assert "no answer" in report.dropped[slow.peer_id]
                assert "does not hold" in report.dropped[hollow.peer_id]
                assert client.score(forger.peer_id) >= 50
                assert client.score(slow.peer_id) > 0 and client.score(hollow.peer_id) > 0
                assert client.score(honest.peer_id) == 0

    run(body)
    assert chain.head.hash() == source.head.hash()
    assert [s.block.number for s in adopted] == list(range(1, HEAD + 1))
    store.close()
    with LMDBStore(tmp_path / "chain") as reopened:  # every block durable, with its commit aggregate
        db = ChainDB(reopened)
        assert db.head_number() == HEAD
        for number in (1, 12, HEAD):
            assert db.get_commit_sig(number) == source.db.get_commit_sig(number)


class Scripted:
    """A fetcher whose one peer answers from a script (no network: the importer's checks alone)."""

    def __init__(self, answers: dict[int, list[tuple[bytes, bytes, bytes]]]) -> None:
        self.answers = answers

    async def blocks(self, peer_id: str, numbers: Sequence[int]) -> list[tuple[bytes, bytes, bytes]]:
        return self.answers.get(numbers[0], [])


def triple(chain: Blockchain, number: int) -> tuple[bytes, bytes, bytes]:
    found = ChainSyncSource(chain).block_with_commit(number)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("bad", "fault"),
    [
        (lambda t: (b"\xc0garbage", t[1], t[2]), "undecodable"),
        (lambda t: (t[0], b"\x00" * 96, t[2]), "commit quorum"),
        (lambda t: (t[0], t[1], b"\x01"), "commit quorum"),  # one signer of four is no quorum
        (lambda t: (t[0], t[1], b""), "commit quorum"),
    ],
)
def test_a_forged_first_block_stores_nothing_and_penalizes(source: Blockchain, bad, fault) -> None:  # type: ignore[no-untyped-def]
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    penalties: list[tuple[str, str, int]] = []
    items = [triple(source, n) for n in range(1, 11)]
    items[0] = bad(items[0])
    session = FastSync(chain, Scripted({1: items}), lambda p, r, w=1: penalties.append((p, r, w)))
    report = trio.run(session.run, {"liar": 10})
    assert report.stored == 0 and chain.head.number == 0
    assert fault in report.dropped["liar"]
    assert penalties and penalties[0][0] == "liar" and penalties[0][2] >= 50


def test_blocks_out_of_order_or_of_another_chain_are_refused(source: Blockchain) -> None:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    other = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)  # same genesis, another block 1
    extend_final(other, KEYS, spacing=7)
    extend_final(other, KEYS)
    skipped = [triple(source, 2), triple(source, 1)]
    session = FastSync(chain, Scripted({1: skipped}), lambda p, r, w=1: None)
    assert "block 2 sent for 1" in trio.run(session.run, {"p": 2}).dropped["p"]
    good = [triple(source, 1), triple(other, 2)]
    session = FastSync(chain, Scripted({1: good}), lambda p, r, w=1: None)
    report = trio.run(session.run, {"p": 2})
    assert report.stored == 1 and "does not extend" in report.dropped["p"]
    assert chain.head.hash() == source.db.get_canonical_hash(1)


def test_check_commit_needs_the_committee_of_the_block_epoch(source: Blockchain) -> None:
    block = source.db.get_block_by_number(1)
    assert block is not None
    signature, bitmap = sign_commit(block, source.committee_for(SHARD, 0), KEYS)  # type: ignore[arg-type]
    check_commit(source, block, signature, bitmap)
    with pytest.raises(InvalidCommitProof):
        check_commit(source, block, signature, b"\x03")
    later = replace(block, header=replace(block.header, epoch=9))
    with pytest.raises(SyncHalted, match="epoch 9"):
        check_commit(source, later, signature, bitmap)
