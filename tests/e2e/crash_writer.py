"""Block importer for the SIGKILL crash test: ``python tests/e2e/crash_writer.py <datadir> [max_blocks]
[--prune KEEP] [--batch N]`` (with ``--prune`` it also prunes old states between blocks, as a node does;
with ``--batch`` it writes as fast sync does: ``N`` blocks staged, then made durable in one transaction by
:meth:`ChainDB.staged`, and only then printed).

Opens an LMDB chain database in ``datadir`` for shard 1 of a development genesis, resumes from its head
(an empty database gets the genesis block) and imports blocks through the node's real import path
(:meth:`harmony.node.blockchain.Blockchain.import_block`: validation, execution, one write transaction) until
killed, or until ``max_blocks`` more are written. Each block is proposed by :func:`produce_block` from
transfers that depend only on the block number and the chain so far, so the checker can replay the same
chain in memory and compare. It prints ``ready`` once the database is open (startup imports take a while),
then each block number after its import returns, flushed: a printed number is durable.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.crypto.keccak import keccak256
from harmony.node.blockchain import Blockchain
from harmony.storage import prune
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.prune import Pruner
from harmony.types.block import Block
from harmony.types.transaction import Transaction

SHARD = 1
"""The shard the writer imports into (a non-beacon shard: no epoch-end shard states to produce)."""
OTHER_SHARD = 0
SENDERS = 8
GENESIS = make_localnet_genesis(accounts=SENDERS, timestamp=1_000)
KEYS = [dev_account_key(i) for i in range(SENDERS)]
RECIPIENTS = 400
"""New accounts the transfers draw from: the state trie keeps growing while the writer is killed."""
TXS_PER_BLOCK = 6
"""Transfers per block; the last one is cross-shard, so each block has one outgoing receipt."""
LEADER = dev_bls_key(SHARD, 0)
GAS_PRICE = 10**9
MAP_SIZE = 256 * 1024
"""A small initial map, so the store grows its map while it is being killed."""


def recipient(index: int) -> bytes:
    """The address of recipient ``index``."""
    return keccak256(b"crash-recipient" + index.to_bytes(4, "big"))[:20]


def commit_sig(number: int) -> tuple[bytes, bytes]:
    """The commit signature stored with block ``number``."""
    return keccak256(b"sig%d" % number) * 3, b"\x01"


def produce_block(
    chain: Blockchain, txs_per_block: int = TXS_PER_BLOCK, recipients: int = RECIPIENTS
) -> Block:
    """The next block on ``chain``'s head: transfers fixed by the block number (and the senders' nonces),
    ``txs_per_block`` of them (the last cross-shard) to recipients drawn from the first ``recipients``."""
    number = chain.head.number + 1
    rng = random.Random(number)
    state = chain.state()
    nonces = {key.address: state.get_nonce(key.address) for key in KEYS}
    txs = []
    for i in range(txs_per_block):
        key = KEYS[rng.randrange(SENDERS)]
        to_shard = OTHER_SHARD if i == txs_per_block - 1 else SHARD
        value = rng.randrange(1, 10**18)
        tx = Transaction(
            nonces[key.address],
            GAS_PRICE,
            21_000,
            SHARD,
            to_shard,
            recipient(rng.randrange(recipients)),
            value,
        )
        txs.append(tx.sign(key, LOCALNET.chain_id))
        nonces[key.address] += 1
    built = chain.propose(txs, leader=LEADER, timestamp=GENESIS.timestamp + 2 * number)
    if built.skipped:
        raise RuntimeError(f"block {number}: transactions skipped: {built.skipped}")
    return built.block


def run(datadir: Path, max_blocks: int | None, keep: int | None = None, batch: int = 0) -> None:
    """Import blocks into ``datadir`` from its head on, printing each durable block number.

    With ``keep``, prune as a node does, keeping the last ``keep`` blocks' states: a few slices of a
    pruning round after each block, a new round when one ends (:mod:`harmony.storage.prune`).
    """
    store = LMDBStore(datadir, map_size=MAP_SIZE)
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    rounds: Iterator[object] = iter(())
    if keep is not None:
        prune.KEEP_RECENT = keep
    print("ready", flush=True)
    written = 0
    while max_blocks is None or written < max_blocks:
        if batch:
            written += import_batch(chain, batch if max_blocks is None else min(batch, max_blocks - written))
            continue
        block = produce_block(chain)
        number = block.header.number
        chain.import_block(block, commit_sig=commit_sig(number))
        print(number, flush=True)
        written += 1
        for _ in range(PRUNE_SLICES_PER_BLOCK if keep is not None else 0):
            if next(rounds, None) is None:
                rounds = Pruner(chain.db).round()
    store.close()


def import_batch(chain: Blockchain, count: int) -> int:
    """Import ``count`` blocks staged together, durable at the end; print them once durable."""
    numbers = []
    with chain.db.staged():
        for _ in range(count):
            block = produce_block(chain)
            chain.import_block(block, commit_sig=commit_sig(block.header.number))
            numbers.append(block.header.number)
    for number in numbers:  # the stage is flushed: these blocks are durable
        print(number, flush=True)
    return count


PRUNE_SLICES_PER_BLOCK = 3
"""Slices of a pruning round the writer runs between two blocks (``--prune``)."""


if __name__ == "__main__":
    args = sys.argv[1:]
    keep_recent = None
    if "--prune" in args:
        at = args.index("--prune")
        keep_recent = int(args[at + 1])
        del args[at : at + 2]
    batch_size = 0
    if "--batch" in args:
        at = args.index("--batch")
        batch_size = int(args[at + 1])
        del args[at : at + 2]
    run(Path(args[0]), int(args[1]) if len(args) > 1 else None, keep_recent, batch_size)
