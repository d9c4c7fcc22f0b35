"""Two real shard chains (LMDB) joined by their ShardServices, the way two nodes are joined by the global
topic: a cross-shard transfer from shard 1 is relayed as a proof, verified and credited exactly once on the
beacon chain; shard 1's crosslink is verified and recorded by a beacon block; the beacon chain's
epoch-ending header teaches shard 1 its next committees; staking transactions travel to the beacon pool;
forged and garbage messages raise with a reason and change nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET, ONE
from harmony.chain.payloads import commit_payload
from harmony.chain.proposal import HeaderFields
from harmony.chain.randomness import make_header_vrf
from harmony.chain.transition import BlockBody
from harmony.crypto.bitmap import encode_bitmap
from harmony.crypto.bls import aggregate_signatures
from harmony.node.blockchain import Blockchain
from harmony.node.consensus_ledger import ProposalInputs
from harmony.node.crossshard import KIND_BEACON_HEADER, KIND_CROSSLINK, KIND_CX_PROOF, CrossShardError, split
from harmony.node.services import ShardServices
from harmony.node.staking_pool import StakingPool
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.block import Block
from harmony.types.staking import Delegate, StakingTransaction
from harmony.types.transaction import Transaction

GENESIS = make_localnet_genesis(accounts=4, timestamp=1_000)
GWEI = 10**9
ALICE = dev_account_key(0)
BOB = b"\xb0" * 20


class Net:
    """What each node published, by shard."""

    def __init__(self) -> None:
        self.sent: dict[int, list[bytes]] = {0: [], 1: []}

    def publisher(self, shard: int):  # type: ignore[no-untyped-def]
        return self.sent[shard].append


@pytest.fixture
def shards(tmp_path: Path) -> Iterator[tuple[Blockchain, Blockchain, ShardServices, ShardServices, Net]]:
    stores = [LMDBStore(tmp_path / f"s{i}") for i in (0, 1)]
    chains = [Blockchain.open(ChainDB(stores[i]), GENESIS, i) for i in (0, 1)]
    net = Net()
    pool = StakingPool(LOCALNET, 0, chains[0].accounts())
    beacon = ShardServices(chains[0], publish=net.publisher(0), staking_pool=pool)
    keys1 = frozenset(dev_bls_key(1, i).public_key.to_bytes() for i in range(4))
    shard1 = ShardServices(chains[1], publish=net.publisher(1), my_keys=keys1)
    yield chains[0], chains[1], beacon, shard1, net
    for store in stores:
        store.close()


def finalize(
    chain: Blockchain, inputs: ProposalInputs, txs: list[Transaction] = ()
) -> tuple[Block, bytes, bytes]:  # type: ignore[assignment]
    """Propose the next block as seat 0, sign its commit with seats 0–2, store it."""
    head = chain.head
    shard = chain.shard_id
    leader = dev_bls_key(shard, 0)
    committee = chain.committee_for(shard, head.epoch)
    assert committee is not None
    last = chain.db.get_commit_sig(head.number) if head.number else None
    fields = HeaderFields(
        committee.slots[0].ecdsa_address,
        head.time + 2,
        head.view_id + 1,
        shard_state=inputs.shard_state,
        last_commit=last,
        crosslinks=inputs.crosslinks,
        vrf=make_header_vrf(leader, head.hash()),
    )
    built, verified = chain.propose_verified(fields, BlockBody(txs, inputs.staking, inputs.incoming_proofs))
    block = built.block
    chain.verify(block)  # what every validator runs
    payload = commit_payload(block.number, block.hash(), block.header.view_id)
    signature = aggregate_signatures([dev_bls_key(shard, i).sign(payload) for i in range(3)]).data
    bitmap = encode_bitmap([0, 1, 2], len(committee.slots))
    chain.store(verified, commit_sig=(signature, bitmap))
    return block, signature, bitmap


def test_a_cross_shard_transfer_is_credited_exactly_once(shards) -> None:  # type: ignore[no-untyped-def]
    beacon_chain, chain1, beacon, shard1, net = shards
    finalize(
        chain1, ProposalInputs()
    )  # block 1: genesis is never signed, so block 2 carries a real last commit
    tx = Transaction(0, GWEI, 21_000, 1, 0, BOB, 7 * ONE).sign(ALICE, LOCALNET.chain_id)
    block, sig, bitmap = finalize(chain1, shard1.proposal_inputs(chain1.head), [tx])
    assert chain1.state().get_balance(ALICE.address) < GENESIS.shards[1].alloc[0].balance - 7 * ONE + 1
    shard1.on_commit(block, sig, bitmap, proposed_here=True)
    kinds = [split(m)[0] for m in net.sent[1]]
    assert kinds == [KIND_CX_PROOF, KIND_CROSSLINK]
    for message in net.sent[1]:
        beacon.on_global(message)  # the global topic delivers both to the beacon node
    assert len(beacon.incoming) == 1 and len(beacon.crosslinks) == 1
    inputs = beacon.proposal_inputs(beacon_chain.head)
    assert len(inputs.incoming_proofs) == 1 and len(inputs.crosslinks) == 1
    finalize(beacon_chain, inputs)
    assert beacon_chain.state().get_balance(BOB) == 7 * ONE
    assert beacon_chain.db.get_crosslink(1, block.number) is not None
    beacon.incoming.prune()
    beacon.crosslinks.prune()
    assert len(beacon.incoming) == 0 and len(beacon.crosslinks) == 0
    # the relay publishes the same proof again later: dropped as spent, credited once
    for message in net.sent[1]:
        beacon.on_global(message)
    assert len(beacon.incoming) == 0
    finalize(beacon_chain, beacon.proposal_inputs(beacon_chain.head))
    assert beacon_chain.state().get_balance(BOB) == 7 * ONE


def test_forged_proofs_and_garbage_are_refused(shards) -> None:  # type: ignore[no-untyped-def]
    beacon_chain, chain1, beacon, shard1, net = shards
    finalize(chain1, ProposalInputs())
    tx = Transaction(0, GWEI, 21_000, 1, 0, BOB, 5 * ONE).sign(ALICE, LOCALNET.chain_id)
    block, sig, bitmap = finalize(chain1, ProposalInputs(), [tx])
    shard1.on_commit(block, sig, bitmap, proposed_here=True)
    proof_message = net.sent[1][0]
    proof = chain1.db.get_cx_receipts_proof(0, block.number)
    assert proof is not None
    richer = dataclasses.replace(proof.receipts[0], amount=500 * ONE)
    forged = dataclasses.replace(proof, receipts=(richer,))
    with pytest.raises(CrossShardError) as info:
        beacon.on_global(bytes([KIND_CX_PROOF]) + forged.encode())
    assert info.value.check == "receipts_root"
    too_few = dataclasses.replace(proof, commit_bitmap=encode_bitmap([0], 4))
    with pytest.raises(CrossShardError) as info:
        beacon.on_global(bytes([KIND_CX_PROOF]) + too_few.encode())
    assert info.value.check == "quorum"
    for garbage in (b"", b"\x01\xc0", b"\x07" + b"x" * 10, b"\x02\x01\x02"):
        with pytest.raises(CrossShardError):
            beacon.on_global(garbage)
    assert len(beacon.incoming) == 0
    beacon.on_global(proof_message)
    assert len(beacon.incoming) == 1
    # a block carrying the forged proof is invalid for every validator
    inputs = ProposalInputs(incoming_proofs=(forged,))
    with pytest.raises(Exception, match="incoming_receipts"):
        finalize(beacon_chain, inputs)


def test_beacon_epoch_header_teaches_shard_1_its_next_committees(shards) -> None:  # type: ignore[no-untyped-def]
    beacon_chain, chain1, beacon, shard1, net = shards
    last = LOCALNET.epoch_last_block(0)
    header_message = b""
    for _ in range(last):
        block, sig, bitmap = finalize(beacon_chain, beacon.proposal_inputs(beacon_chain.head))
        beacon.on_commit(block, sig, bitmap, proposed_here=True)
    assert beacon_chain.head.shard_state  # the chain elected the next committees itself
    header_message = net.sent[0][-1]
    assert split(header_message)[0] == KIND_BEACON_HEADER
    assert chain1.db.get_shard_state(1) is None
    shard1.on_global(header_message)
    assert chain1.db.get_shard_state(1) is not None
    inputs = shard1.proposal_inputs(chain1.head)
    assert inputs.shard_state is not None and inputs.shard_state.epoch == 1
    block, _, _ = finalize(chain1, inputs)  # shard 1 ends its epoch 0 with the beacon's committees
    assert block.header.epoch == 0 and chain1.head.shard_state
    nxt, _, _ = finalize(chain1, shard1.proposal_inputs(chain1.head))
    assert nxt.header.epoch == 1
    # a header whose signature does not verify is refused
    forged = bytearray(header_message)
    forged[-5] ^= 1
    with pytest.raises(CrossShardError):
        shard1.on_global(bytes(forged))


def test_staking_transactions_travel_to_the_beacon_pool(shards) -> None:  # type: ignore[no-untyped-def]
    _beacon_chain, _chain1, beacon, shard1, net = shards
    stx = StakingTransaction(Delegate(ALICE.address, BOB, 100 * ONE), 0, GWEI, 30_000).sign(
        ALICE, LOCALNET.chain_id
    )
    shard1.publish_staking(stx)
    beacon.on_global(net.sent[1][-1])
    assert beacon.staking_pool is not None
    # BOB is not a validator: the staking rules refuse it in the pool, not in a block
    assert len(beacon.staking_pool) == 0
    assert beacon.staking_pool.errors()[-1].reason == "staking-rule"


def test_a_crosslink_that_arrives_after_a_later_one_was_recorded_is_never_proposed(shards) -> None:  # type: ignore[no-untyped-def]
    """The devnet's stall: a beacon node heard shard 1 block 1's crosslink only after another leader had
    recorded block 2's. The chain takes only crosslinks above the last recorded one, so proposing block 1's
    link fails; the pool must treat it as settled, or every block this node leads fails to build."""
    beacon_chain, chain1, beacon, shard1, net = shards
    links = []
    for _ in range(2):
        block, sig, bitmap = finalize(chain1, shard1.proposal_inputs(chain1.head))
        net.sent[1].clear()
        shard1.on_commit(block, sig, bitmap, proposed_here=True)
        links += [m for m in net.sent[1] if split(m)[0] == KIND_CROSSLINK]
    assert len(links) == 2
    beacon.on_global(links[1])  # block 2's link first: another leader records it
    finalize(beacon_chain, beacon.proposal_inputs(beacon_chain.head))
    assert beacon_chain.db.get_last_crosslink(1).block_number == 2  # type: ignore[union-attr]
    beacon.crosslinks.prune()
    beacon.on_global(links[0])  # block 1's link arrives late
    assert len(beacon.crosslinks) == 0
    inputs = beacon.proposal_inputs(beacon_chain.head)
    assert inputs.crosslinks == ()
    finalize(beacon_chain, inputs)  # the next block builds
