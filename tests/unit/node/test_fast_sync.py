"""Fast sync over real libp2p hosts: an honest chain from two peers at once, after peers that lie.

The syncing node (real LMDB) first meets a peer that announces a head it does not hold, then serves blocks
with forged commit aggregates, then answers too slowly, then answers with more blocks than asked (over the
request's cap; the byte cap is the host's, tested with the protocol), each time alone in a session so that
it is surely asked: each time it must be penalized and dropped, and what was verified before the lie kept.
Then two peers telling the truth complete the chain, byte for byte.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from harmony.chain.commit_proof import InvalidCommitProof
from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.crypto.bls import SecretKey, Signature, aggregate_signatures
from harmony.encoding import rlp
from harmony.errors import RLPError
from harmony.node.blockchain import Blockchain
from harmony.node.commit_worker import Proof, check_commits, check_vrfs
from harmony.node.dev_chain import extend_final, sign_commit
from harmony.node.fast_sync import FastSync, SessionReport, Stored, SyncHalted, check_commit
from harmony.node.sync import ChainSyncSource
from harmony.p2p import sync_protocol as sp
from harmony.p2p.host import P2PHost
from harmony.p2p.topics import sync_protocol_id
from harmony.storage import ChainDB, LMDBStore, MemoryStore
from harmony.types import tx_common
from harmony.types.block import Block
from harmony.types.transaction import Transaction
from harmony.types.tx_common import clear_sender_cache
from tests.unit.p2p.harness import config, hosts, run, wait_until

SHARD = 1
GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
KEYS = [dev_bls_key(SHARD, i) for i in range(3)]
PID = sync_protocol_id("localnet", SHARD)
HEAD = 45
BLS_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""r, the order of the BLS12-381 groups."""


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


class Liar:
    """One peer whose lie changes between sessions: ``mode`` names it (``honest`` tells none)."""

    def __init__(self, chain: Blockchain) -> None:
        self.source = ChainSyncSource(chain)
        self.mode = "honest"

    def install(self, host: P2PHost) -> None:
        host.set_request_handler(
            PID,
            self.handler,
            max_request_bytes=sp.MAX_REQUEST_BYTES,
            max_response_bytes=sp.MAX_BLOCKS_RESPONSE_BYTES,
        )

    async def handler(self, peer_id: str, request: bytes) -> bytes:
        kind, numbers = sp.decode_request(request)
        if kind != sp.GET_BLOCKS_BY_NUMBER or self.mode == "honest":
            return sp.answer(self.source, kind, numbers)
        if self.mode == "slow":  # past the client's deadline, within the host's handler bound (30 s)
            await trio.sleep(20)
        if self.mode == "hollow":  # announces the head but holds only blocks 1-3
            numbers = [n for n in numbers if n <= 3]
        if self.mode == "overfull":  # one block more than asked: over the request's cap
            numbers = [*numbers, numbers[-1] + 1]
        items: list[rlp.Item] = []
        for number in numbers:
            found = self.source.block_with_commit(number)
            if found is None:
                break
            block, signature, bitmap = found
            if self.mode == "forger" and number >= 12:  # the commit aggregate of another block
                other = self.source.block_with_commit(number - 1)
                assert other is not None
                signature, bitmap = other[1], other[2]
            items.append([block, signature, bitmap])
        return rlp.encode(items)


def test_fast_sync_gets_the_honest_chain_and_drops_every_lying_peer(
    tmp_path: Path, source: Blockchain
) -> None:
    store = LMDBStore(tmp_path / "chain")
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    adopted: list[Stored] = []

    async def body() -> None:
        async with hosts(config(tmp_path, "honest"), config(tmp_path, "liar")) as servers:
            addrs = tuple(a for s in servers for a in s.listen_addrs())
            async with hosts(config(tmp_path, "client", bootnodes=addrs)) as [client]:
                await wait_until(lambda: all(client.is_connected(s.peer_id) for s in servers))
                honest, liar_host = servers
                sp.serve_sync(honest, PID, ChainSyncSource(source))
                liar = Liar(source)
                liar.install(liar_host)
                sync_client = sp.SyncClient(client, PID)
                heads = {s.peer_id: (await sync_client.head(s.peer_id)).number for s in servers}
                assert set(heads.values()) == {HEAD}

                async def session(*peers: P2PHost) -> SessionReport:
                    return await FastSync(
                        chain,
                        sync_client,
                        client.penalize,
                        on_stored=adopted.extend,
                        request_timeout=10.0,  # the default: honest peers answer on a loaded machine
                        flush_blocks=8,
                    ).run({peer.peer_id: HEAD for peer in peers})

                expected = [
                    ("hollow", 3, "does not hold blocks"),
                    ("forger", 11, "block 12 without a valid commit quorum"),
                    ("slow", 11, "no answer for blocks"),
                    ("overfull", 11, "expected a list of at most"),
                ]
                for mode, head, reason in expected:  # the liar alone in a session: surely asked
                    liar.mode = mode
                    before = client.score(liar_host.peer_id)
                    report = await session(liar_host)
                    assert list(report.dropped) == [liar_host.peer_id], mode
                    assert reason in report.dropped[liar_host.peer_id]
                    assert chain.head.number == head  # what was verified before the lie is kept
                    assert client.score(liar_host.peer_id) > before, mode
                liar.mode = "honest"
                report = await session(honest, liar_host)  # two peers at once
                assert report.stored == HEAD - 11 and not report.dropped
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
    """A fetcher whose one peer answers from a script (no network: the importer's checks alone): the items
    of ``answers[start]`` are blocks ``start``, ``start + 1``…"""

    def __init__(self, answers: dict[int, list[tuple[bytes, bytes, bytes]]]) -> None:
        self.by_number = {start + i: item for start, items in answers.items() for i, item in enumerate(items)}

    async def blocks(self, peer_id: str, numbers: Sequence[int]) -> list[tuple[bytes, bytes, bytes]]:
        out = []
        for number in numbers:
            if number not in self.by_number:
                break
            out.append(self.by_number[number])
        return out


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


def test_served_blocks_are_framed_from_storage_byte_for_byte(source: Blockchain) -> None:
    for number in (0, 1, 5, 10, HEAD):  # every fifth block holds transfers
        block = source.db.get_block_by_number(number)
        assert block is not None
        assert source.db.get_block_encoding(number) == block.encode()
    assert source.db.get_block_encoding(HEAD + 1) is None
    with pytest.raises(RLPError):
        rlp.list_payload(b"\x83abc")  # a string, not a list
    with pytest.raises(RLPError):
        rlp.list_payload(b"\xc1\x01\x02")  # trailing bytes


@pytest.mark.parametrize("forge", [False, True])
def test_the_commit_worker_process_gives_the_same_verdicts(source: Blockchain, forge: bool) -> None:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    penalties: list[tuple[str, str, int]] = []
    items = [triple(source, n) for n in range(1, 11)]
    if forge:
        items[6] = (items[6][0], items[5][1], items[5][2])  # block 7 with block 6's aggregate
    session = FastSync(
        chain, Scripted({1: items}), lambda p, r, w=1: penalties.append((p, r, w)), commit_worker=True
    )
    report = trio.run(session.run, {"p": 10})
    if forge:  # inside a batch of ten: the batch fails, each is checked alone, only block 7 is refused
        assert report.stored == 6 and "block 7 without a valid commit quorum" in report.dropped["p"]
        assert [(p, w) for p, _, w in penalties] == [("p", 50)]
    else:
        assert report.stored == 10 and not report.dropped and not penalties
    assert report.worker_cpu_s > 0  # the children's own CPU, counted for the benchmark
    assert chain.head.hash() == source.db.get_canonical_hash(report.stored)


def test_with_the_worker_the_importer_recovers_no_sender_itself(
    source: Blockchain, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    items = [triple(source, n) for n in range(1, 16)]  # blocks 5, 10 and 15 carry transfers
    clear_sender_cache()  # the source chain recovered them in this process
    recoveries: list[bytes] = []
    original = tx_common.sender_of

    def counting(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
        recoveries.append(msg_hash)
        return original(msg_hash, v, r, s)

    monkeypatch.setattr(tx_common, "sender_of", counting)  # in this process only, not in the children
    session = FastSync(chain, Scripted({1: items}), lambda p, r, w=1: None, commit_worker=True)
    report = trio.run(session.run, {"p": 15})
    assert report.stored == 15 and report.transactions == 9 and not report.dropped
    assert recoveries == []
    assert chain.head.hash() == source.db.get_canonical_hash(15)
    clear_sender_cache()


def test_time_spent_importing_is_not_charged_to_the_peers_in_flight() -> None:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    session = FastSync(chain, Scripted({}), lambda p, r, w=1: None, request_timeout=10.0)

    async def main() -> None:
        with trio.CancelScope(deadline=trio.current_time() + 10.0) as request:
            session._deadlines.add(request)
            session._excuse(4.0)  # the loop executed blocks for 4 s: the answer could not be read
            assert request.deadline == pytest.approx(trio.current_time() + 14.0, abs=1.0)

    trio.run(main)


def _proofs(chain: Blockchain, first: int, last: int) -> list[Proof]:
    """The commit proofs of blocks ``first``..``last`` as fast sync hands them to the worker."""
    blocks = [chain.db.get_block_by_number(n) for n in range(first, last + 2)]
    proofs: list[Proof] = []
    for block, following in itertools.pairwise(blocks):
        assert block is not None and following is not None
        signature, bitmap = triple(chain, block.number)[1:]
        bound = following.number <= last and (
            following.header.last_commit_signature,
            following.header.last_commit_bitmap,
        ) == (signature, bitmap)
        proofs.append((block.number, block.hash(), block.header.view_id, signature, bitmap, bound))
    return proofs


def test_a_batch_of_valid_commits_passes_and_every_forgery_in_one_is_found_alone(source: Blockchain) -> None:
    committee = source.committee_for(SHARD, 0)
    assert committee is not None
    share = source.params.harmony_vote_share
    proofs = _proofs(source, 1, 12)
    assert all(p[5] for p in proofs[:-1]) and not proofs[-1][5]  # each signature is in the next header
    assert check_commits(committee, share, proofs) == [""] * 12

    def with_signature(proof: Proof, signature: bytes) -> Proof:
        return (*proof[:3], signature, proof[4], False)  # type: ignore[return-value]

    # one block with another block's aggregate, in the middle of the batch
    forged = list(proofs)
    forged[5] = with_signature(proofs[5], proofs[4][3])
    verdicts = check_commits(committee, share, forged)
    assert [i for i, v in enumerate(verdicts) if v] == [5] and "signature" in verdicts[5]
    # two signatures off by opposite amounts keep the sum of the batch: both are still found
    key = dev_bls_key(SHARD, 3)  # X and -X: one message signed by a key and by its negation mod r
    negated = SecretKey.from_bytes(
        ((BLS_ORDER - int.from_bytes(key.to_bytes(), "big")) % BLS_ORDER).to_bytes(32, "big")
    )
    shift, unshift = key.sign(b"shift"), negated.sign(b"shift")
    shifted = list(proofs)
    shifted[3] = with_signature(proofs[3], aggregate_signatures([Signature(proofs[3][3]), shift]).to_bytes())
    shifted[4] = with_signature(
        proofs[4], aggregate_signatures([Signature(proofs[4][3]), unshift]).to_bytes()
    )
    assert aggregate_signatures([Signature(p[3]) for p in shifted]) == aggregate_signatures(
        [Signature(p[3]) for p in proofs]
    )
    verdicts = check_commits(committee, share, shifted)
    assert [i for i, v in enumerate(verdicts) if v] == [3, 4]
    # a proof that claims to be bound but is not is checked like the others
    lying = list(proofs)
    lying[7] = (*with_signature(proofs[7], proofs[2][3])[:5], True)  # type: ignore[assignment]
    assert [i for i, v in enumerate(check_commits(committee, share, lying)) if v] == [7]
    # cheap failures never reach a pairing; an empty list and a bad committee answer per proof
    broken = list(proofs)
    broken[0] = (*proofs[0][:4], b"\x01", False)  # type: ignore[assignment]
    broken[1] = (proofs[1][0], b"\x00" * 5, *proofs[1][2:])  # type: ignore[assignment]
    verdicts = check_commits(committee, share, broken)
    assert verdicts[0].startswith("quorum") and verdicts[1].startswith("payload") and not any(verdicts[2:])
    assert check_commits(committee, share, []) == []
    empty = replace(committee, slots=())
    assert all(v.startswith("committee") for v in check_commits(empty, share, proofs[:3]))


def _with_forged_vrf(chain: Blockchain, number: int) -> tuple[bytes, bytes, bytes]:
    """Block ``number`` of ``chain`` carrying the previous block's VRF (a well-formed ``β ‖ π`` of the
    leader, over the wrong parent hash), with a valid commit aggregate of the committee over it: only the
    VRF rule refuses it."""
    block = chain.db.get_block_by_number(number)
    previous = chain.db.get_block_by_number(number - 1)
    assert block is not None and previous is not None and previous.header.vrf != block.header.vrf
    forged = replace(block, header=replace(block.header, vrf=previous.header.vrf))
    committee = chain.committee_for(SHARD, forged.header.epoch)
    assert committee is not None
    signature, bitmap = sign_commit(forged, committee, KEYS)
    return forged.encode(), signature, bitmap


@pytest.mark.parametrize("worker", [False, True])
def test_a_forged_vrf_inside_a_valid_batch_is_found_and_its_peer_penalized(
    source: Blockchain, worker: bool
) -> None:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    penalties: list[tuple[str, str, int]] = []
    items = [triple(source, n) for n in range(1, 11)]
    items[6] = _with_forged_vrf(source, 7)
    check_commit(source, Block.decode(items[6][0]), items[6][1], items[6][2])  # its quorum is valid
    session = FastSync(
        chain, Scripted({1: items}), lambda p, r, w=1: penalties.append((p, r, w)), commit_worker=worker
    )
    report = trio.run(session.run, {"p": 10})
    assert report.stored == 6 and "block 7 with a forged VRF" in report.dropped["p"]
    assert [(p, w) for p, _, w in penalties] == [("p", 50)]
    assert chain.head.hash() == source.db.get_canonical_hash(6)


def test_vrfs_are_checked_against_the_leader_and_the_parent(source: Blockchain) -> None:
    committee = source.committee_for(SHARD, 0)
    assert committee is not None
    headers = []
    for number in range(1, 9):
        block = source.db.get_block_by_number(number)
        assert block is not None
        headers.append(block.header)
    assert check_vrfs(committee, headers, require_vrf=True) == [""] * 8
    forged = list(headers)
    forged[2] = replace(headers[2], vrf=headers[1].vrf)  # another block's VRF: not over this parent
    forged[5] = replace(headers[5], parent_hash=headers[3].hash())  # its VRF, named over another parent
    verdicts = check_vrfs(committee, forged, require_vrf=True)
    assert [i for i, v in enumerate(verdicts) if v] == [2, 5] and all(
        "vrf_proof" in verdicts[i] for i in (2, 5)
    )
    bare = replace(headers[0], vrf=b"")
    assert "vrf_missing" in check_vrfs(committee, [bare], require_vrf=True)[0]
    assert check_vrfs(committee, [bare], require_vrf=False) == [""]
    short = replace(headers[0], vrf=headers[0].vrf[:-1])
    assert "vrf_proof" in check_vrfs(committee, [short], require_vrf=True)[0]
    stranger = replace(headers[0], coinbase=b"\x42" * 20)  # no seat of the committee has that account
    assert "no committee key" in check_vrfs(committee, [stranger], require_vrf=True)[0]
    assert "no committee key" in check_vrfs(None, headers[:1], require_vrf=True)[0]


def test_peers_that_expired_the_next_block_are_not_asked_nor_penalized(source: Blockchain) -> None:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    penalties: list[tuple[str, str, int]] = []
    holder = Scripted({1: [triple(source, n) for n in range(1, 11)]})
    session = FastSync(chain, holder, lambda p, r, w=1: penalties.append((p, r, w)))
    report = trio.run(session.run, {"pruned": 10, "archive": 10}, {"pruned": 5, "archive": 1})
    assert report.stored == 10 and not report.dropped and not penalties  # all from the archive peer
    fresh = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    session = FastSync(fresh, holder, lambda p, r, w=1: penalties.append((p, r, w)))
    report = trio.run(session.run, {"pruned": 10}, {"pruned": 5})
    assert report.stored == 0 and not penalties
    assert "--sync.mode state" in report.halted and "from 5 on" in report.halted


def test_blocks_of_epochs_not_stored_yet_are_checked_ahead_under_the_announced_committee(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An answer spanning epoch ends: every block's commit is checked as the answer arrives, the next
    epochs' under the committee their epoch-ending block announces, and none again at import."""
    served = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    for number in range(1, 21):
        extend_final(served, KEYS, end_epoch=number % 4 == 0)
    assert served.head.epoch == 4  # block 20 ends it
    imported_checks: list[int] = []
    real_check = check_commit

    def counting(chain: Blockchain, block: Block, signature: bytes, bitmap: bytes) -> None:
        imported_checks.append(block.number)
        real_check(chain, block, signature, bitmap)

    monkeypatch.setattr("harmony.node.fast_sync.check_commit", counting)
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    items = [triple(served, n) for n in range(1, 21)]
    session = FastSync(chain, Scripted({1: items}), lambda p, r, w=1: None, commit_worker=False)
    monkeypatch.setattr("harmony.node.fast_sync.FIRST_RANGE", 20)  # one answer of every block
    report = trio.run(session.run, {"p": 20})
    assert report.stored == 20 and chain.head.hash() == served.head.hash()
    assert imported_checks == []


def test_blocks_checked_only_at_import_still_bring_their_recovered_senders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A block whose committee is not known as its answer arrives (here: no epoch end announces one) is
    checked by the importer, and the senders the worker recovered from it are not dropped."""
    served = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    sender = dev_account_key(0)
    for number in range(1, 13):
        tx = Transaction(number - 1, 10**9, 21_000, SHARD, SHARD, b"\x22" * 20, number)
        extend_final(served, KEYS, [tx.sign(sender, LOCALNET.chain_id)], end_epoch=number % 4 == 0)
    assert served.head.epoch == 2  # blocks 5-12 are of epochs 1 and 2, which the syncing node has not stored
    imported_checks: list[int] = []
    real_check = check_commit

    def counting(chain: Blockchain, block: Block, signature: bytes, bitmap: bytes) -> None:
        imported_checks.append(block.number)
        real_check(chain, block, signature, bitmap)

    recoveries: list[bytes] = []
    original = tx_common.sender_of

    def recovering(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
        recoveries.append(msg_hash)
        return original(msg_hash, v, r, s)

    monkeypatch.setattr("harmony.node.fast_sync.check_commit", counting)
    monkeypatch.setattr(FastSync, "_announce", lambda self, block: None)
    monkeypatch.setattr("harmony.node.fast_sync.FIRST_RANGE", 12)  # one answer of every block
    clear_sender_cache()
    monkeypatch.setattr(tx_common, "sender_of", recovering)  # in this process only, not in the children
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD)
    items = [triple(served, n) for n in range(1, 13)]
    session = FastSync(chain, Scripted({1: items}), lambda p, r, w=1: None, commit_worker=True)
    report = trio.run(session.run, {"p": 12})
    assert report.stored == 12 and chain.head.hash() == served.head.hash()
    assert imported_checks == list(range(5, 13))  # not checked ahead
    assert recoveries == []  # yet every sender came from the worker
    clear_sender_cache()
