"""Block importer for the SIGKILL crash test: ``python crash_writer.py <datadir> [max_blocks|-] [batch]``.

Opens an LMDB chain database in ``datadir`` for shard 1 of a development genesis, resumes from its head
(an empty database gets the genesis block) and imports blocks through the node's real import path
(:meth:`harmony.node.blockchain.Blockchain.import_block`: validation, execution, one write transaction) until
killed, or until ``max_blocks`` more are written. Each block is proposed by :func:`produce_block` from
transfers that depend only on the block number and the chain so far, so the checker can replay the same
chain in memory and compare. It prints ``ready`` once the database is open (startup imports take a while),
then each block number after its import returns, flushed: a printed number is durable. With ``batch`` > 0
the blocks are written as fast sync writes them (:meth:`ChainDB.staged`): ``batch`` blocks staged, then made
durable in one transaction, and only then printed.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.crypto.keccak import keccak256
from harmony.node.blockchain import Blockchain
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
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


def produce_block(chain: Blockchain) -> Block:
    """The next block on ``chain``'s head: transfers fixed by the block number (and the senders' nonces)."""
    number = chain.head.number + 1
    rng = random.Random(number)
    state = chain.state()
    nonces = {key.address: state.get_nonce(key.address) for key in KEYS}
    txs = []
    for i in range(TXS_PER_BLOCK):
        key = KEYS[rng.randrange(SENDERS)]
        to_shard = OTHER_SHARD if i == TXS_PER_BLOCK - 1 else SHARD
        value = rng.randrange(1, 10**18)
        tx = Transaction(
            nonces[key.address],
            GAS_PRICE,
            21_000,
            SHARD,
            to_shard,
            recipient(rng.randrange(RECIPIENTS)),
            value,
        )
        txs.append(tx.sign(key, LOCALNET.chain_id))
        nonces[key.address] += 1
    built = chain.propose(txs, leader=LEADER, timestamp=GENESIS.timestamp + 2 * number)
    if built.skipped:
        raise RuntimeError(f"block {number}: transactions skipped: {built.skipped}")
    return built.block


def run(datadir: Path, max_blocks: int | None, batch: int = 0) -> None:
    """Import blocks into ``datadir`` from its head on, printing each durable block number."""
    store = LMDBStore(datadir, map_size=MAP_SIZE)
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    print("ready", flush=True)
    written = 0
    while max_blocks is None or written < max_blocks:
        numbers = []
        with chain.db.staged():
            for _ in range(max(1, batch)):
                if max_blocks is not None and written >= max_blocks:
                    break
                block = produce_block(chain)
                number = block.header.number
                chain.import_block(block, commit_sig=commit_sig(number))
                numbers.append(number)
                written += 1
        for number in numbers:  # the stage is flushed: these blocks are durable
            print(number, flush=True)
    store.close()


if __name__ == "__main__":
    run(
        Path(sys.argv[1]),
        int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "-" else None,
        int(sys.argv[3]) if len(sys.argv) > 3 else 0,
    )
