"""State sync over real libp2p hosts into a real LMDB (issue 18 item 2).

A beacon chain of three epochs whose blocks fund many new accounts is served by honest peers and by peers
that lie: one serves an epoch header whose commit aggregate does not verify, one serves forged trie nodes,
one truncated nodes, one holds nothing, one answers too slowly. The syncing node follows the epoch chain from
genesis, picks the newest epoch-ending block, and downloads its state: each liar alone is penalized and
dropped and nothing it sent is written; an interrupted download resumes without fetching again what it
verified; at the end the database holds exactly the state the pivot's root names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final
from harmony.node.fast_sync import FastSync
from harmony.node.state_download import PENALTY_FORGED, StateDownload, StateProgress, StateSyncHalted
from harmony.node.state_sync import (
    ChainStateSource,
    find_pivot,
    follow_epoch_chain,
    state_sync_chain,
)
from harmony.node.sync import ChainSyncSource
from harmony.p2p.state_protocol import StateClient, serve_state
from harmony.p2p.sync_protocol import SyncClient, serve_sync
from harmony.p2p.topics import state_protocol_id, sync_protocol_id
from harmony.state.reach import mark_state
from harmony.storage import ChainDB, LMDBStore, MemoryStore, StorageError
from harmony.types.transaction import Transaction
from tests.unit.p2p.harness import config, hosts, run, wait_until

GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
KEYS = [dev_bls_key(0, i) for i in range(3)]
PID = state_protocol_id("localnet", 0)
EPOCHS = 3
PER_BLOCK = 12
PIVOT = LOCALNET.epoch_last_block(EPOCHS - 1)
PATIENT = 60.0
"""Request deadline of these tests: slowness is not what they test, and eight hosts in one process on a loaded
2-core machine take seconds to open a stream (the slow peer's penalty is the fast sync tests' subject)."""
PARTIAL = 500
"""Nodes the "partial" peer serves before it holds nothing: the download it serves alone stops part-way."""
AFTER = 5
"""Blocks past the pivot: block sync goes on from the pivot through an epoch's first blocks."""


@pytest.fixture(scope="module")
def beacon() -> Blockchain:
    """Three epochs of the beacon chain, each block paying ``PER_BLOCK`` new accounts."""
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, 0)
    sender = dev_account_key(0)
    nonce = 0
    for number in range(1, PIVOT + AFTER + 1):
        txs = []
        for i in range(PER_BLOCK):
            to = (number * 1000 + i).to_bytes(20, "big")
            txs.append(Transaction(nonce, 10**9, 21_000, 0, 0, to, 10**18).sign(sender, LOCALNET.chain_id))
            nonce += 1
        extend_final(chain, KEYS, txs)
    return chain


class Liar(ChainStateSource):
    """Serves the chain with one lie, named by ``mode``."""

    def __init__(self, chain: Blockchain, mode: str) -> None:
        super().__init__(chain)
        self.mode = mode
        self.served = 0

    def epoch_header(self, epoch: int) -> tuple[bytes, bytes, bytes] | None:
        found = super().epoch_header(epoch)
        if found is None or self.mode != "header":
            return found
        return found[0], bytes(96), found[2]

    def state_blob(self, node_hash: bytes) -> bytes | None:
        blob = super().state_blob(node_hash)
        if blob is None or self.mode in ("honest", "header"):
            return blob
        if self.mode == "partial":  # serves the first PARTIAL nodes, then holds nothing (a peer that prunes)
            self.served += 1
            return blob if self.served <= PARTIAL else None
        if self.mode == "forge":
            return blob[:-1] + bytes([blob[-1] ^ 1])
        if self.mode == "truncate":
            return blob[:-1]
        return None  # "empty": holds nothing


def test_state_sync_from_honest_and_lying_peers(beacon: Blockchain, tmp_path: Path) -> None:
    pivot_header = beacon.db.get_header_by_number(PIVOT)
    assert pivot_header is not None and pivot_header.is_last_block_in_epoch()
    root = pivot_header.root
    expected: set[bytes] = set()
    list(mark_state(beacon.db.state_nodes(), root, expected))
    assert len(expected) > 1000
    modes = ["honest", "honest", "header", "forge", "truncate", "empty", "partial"]

    async def body() -> None:
        async with hosts(*(config(tmp_path, f"server{i}") for i in range(len(modes)))) as servers:
            sources = [Liar(beacon, mode) for mode in modes]
            for server, source in zip(servers, sources, strict=True):
                serve_state(server, PID, source)
            addrs = tuple(a for s in servers for a in s.listen_addrs()[:1])
            async with hosts(config(tmp_path, "client", bootnodes=addrs)) as [client]:
                await wait_until(lambda: all(client.is_connected(s.peer_id) for s in servers))
                honest, honest2, header_liar, forger, truncater, empty, partial = (s.peer_id for s in servers)
                fetcher = StateClient(client, timeout=PATIENT)
                genesis_state = beacon.db.get_shard_state(0)
                assert genesis_state is not None
                # the epoch chain: the liar first, then an honest peer completes it
                chain = await follow_epoch_chain(
                    LOCALNET,
                    genesis_state,
                    fetcher,
                    penalize=client.penalize,
                    peers=[header_liar, honest],
                    protocol_id=PID,
                    timeout=PATIENT,
                )
                assert client.penalties["state sync: epoch header refused (commit)"] == PENALTY_FORGED
                assert sorted(chain.states) == list(range(EPOCHS + 1))
                pivot = await find_pivot(
                    LOCALNET,
                    chain,
                    0,
                    fetcher,
                    penalize=client.penalize,
                    peers=[honest],
                    protocol_id=PID,
                    timeout=PATIENT,
                )
                assert pivot.header.hash() == pivot_header.hash()
                # each liar alone: penalized, dropped, nothing written
                with LMDBStore(tmp_path / "chain") as store:
                    db = ChainDB(store)
                    for liar, reason in (
                        (forger, "state sync: forged state node (hash)"),
                        (truncater, "state sync: forged state node (hash)"),
                        (empty, "state sync: holds none of the nodes asked"),
                    ):
                        download = StateDownload(db, fetcher, client.penalize, PID, request_timeout=PATIENT)
                        with pytest.raises(StateSyncHalted, match="every peer was dropped"):
                            await download.run(root, [liar])
                        assert client.penalties.get(reason), reason
                        assert not list(store.iterate(b"t"))
                    # an interrupted download: a peer serves part of the state, then holds nothing more
                    progress = StateProgress()
                    download = StateDownload(
                        db, fetcher, client.penalize, PID, progress=progress, request_timeout=PATIENT
                    )
                    with pytest.raises(StateSyncHalted):
                        await download.run(root, [partial])
                    kept = {k[1:] for k, _ in store.iterate(b"t")}
                    assert (
                        0 < len(kept) <= PARTIAL and kept <= expected
                    )  # answers lost to a broken stream: fewer
                    snap = progress.snapshot()
                    assert 0 < snap.fraction < 1 and snap.nodes_per_s > 0 and "nodes/s" in snap.describe()
                    # the resumed download, from two honest peers and a forger: only what is missing
                    resumed = await StateDownload(
                        db, fetcher, client.penalize, PID, request_timeout=PATIENT
                    ).run(root, [honest, honest2, forger])
                    assert resumed.present == len(kept) and resumed.fetched == len(expected) - len(kept)
                    got: set[bytes] = set()
                    list(mark_state(db.state_nodes(verify=True), root, got))
                    assert got == expected

    run(body)


def test_the_source_serves_epoch_ends_only(beacon: Blockchain) -> None:
    source = ChainStateSource(beacon)
    for epoch in range(EPOCHS):
        found = source.epoch_header(epoch)
        assert found is not None
        assert found[0] == beacon.db.get_header_by_number(LOCALNET.epoch_last_block(epoch)).encode()  # type: ignore[union-attr]
    assert source.epoch_header(EPOCHS) is None and source.epoch_header(2**63) is None
    assert source.state_blob(bytes(32)) is None


def test_a_fresh_chain_state_syncs_to_the_pivot_then_block_syncs_past_it(
    beacon: Blockchain, tmp_path: Path
) -> None:
    """The node's whole ``--sync.mode state`` path in process: epoch chain, pivot, state, the pivot and its
    ancestors stored as the head (ChainDB.write_pivot), then fast sync executes the next epoch's first
    blocks on the downloaded state, and the result is the source chain's, block for block."""
    sync_pid = sync_protocol_id("localnet", 0)

    async def body() -> None:
        async with hosts(config(tmp_path, "a"), config(tmp_path, "b")) as servers:
            for server in servers:
                serve_state(server, PID, ChainStateSource(beacon))
                serve_sync(server, sync_pid, ChainSyncSource(beacon))
            addrs = tuple(s.listen_addrs()[0] for s in servers)
            async with hosts(config(tmp_path, "client", bootnodes=addrs)) as [client]:
                await wait_until(lambda: all(client.is_connected(s.peer_id) for s in servers))
                with LMDBStore(tmp_path / "chain") as store:
                    chain = Blockchain.open(ChainDB(store), GENESIS, 0)
                    blocks = SyncClient(client, sync_pid)
                    done = await state_sync_chain(
                        chain, client, StateClient(client), blocks, progress=StateProgress()
                    )
                    assert done and chain.head.hash() == beacon.db.get_canonical_hash(PIVOT)
                    # the ancestors (BLOCKHASH's 256, the pivot's epoch) are stored, never executed
                    first = beacon.db.get_canonical_hash(1)
                    assert first is not None and chain.db.get_header(first) is not None
                    assert chain.db.get_receipts(first) is None
                    heads = {s.peer_id: beacon.head.number for s in servers}
                    report = await FastSync(chain, blocks, client.penalize).run(heads)
                    assert report.stored == AFTER and chain.head.hash() == beacon.head.hash()
                    # a second start does nothing: the chain is no longer at genesis
                    assert not await state_sync_chain(
                        chain, client, StateClient(client), blocks, progress=StateProgress()
                    )

    run(body)


def test_write_pivot_refuses_what_it_must_not_store(beacon: Blockchain) -> None:
    blocks = [beacon.db.get_block_by_number(n) for n in range(PIVOT - 3, PIVOT + 1)]
    assert all(b is not None for b in blocks)
    chain_blocks = [b for b in blocks if b is not None]
    sig = beacon.db.get_commit_sig(PIVOT)
    assert sig is not None
    fresh = Blockchain.open(ChainDB(MemoryStore()), GENESIS, 0)
    with pytest.raises(StorageError, match="not stored"):  # the state must be downloaded first
        fresh.db.write_pivot(chain_blocks, sig, {})
    with pytest.raises(StorageError, match="not the child"):
        fresh.db.write_pivot([chain_blocks[0], chain_blocks[2]], sig, {})
    with pytest.raises(StorageError, match="no block"):
        fresh.db.write_pivot([], sig, {})
    with pytest.raises(StorageError, match="only genesis"):
        beacon.db.write_pivot(chain_blocks, sig, {})
    assert fresh.head.number == 0
