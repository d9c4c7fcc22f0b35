"""Block writer for the history-expiry crash test: ``python tests/e2e/history_writer.py <datadir>
[max_blocks]`` imports blocks of a shard chain whose epochs end every :data:`EPOCH` blocks, pruning as a
node does between them (states and history, in small write transactions), until killed.

The chain is shard 1 of the crash test's development genesis, each block proposed, signed by a quorum of
the committee and stored by :func:`harmony.node.dev_chain.extend_final`: two transfers in most blocks (the
second cross-shard in every fifth block), none in every fourth, every :data:`EPOCH`-th block ending its
epoch. The history window is :data:`WINDOW` blocks (the node keeps 256) and a history write expires at
most :data:`EXPIRE_TRANSACTIONS` transactions, so that kills land inside expiry. After each round it
compacts the database (a node does when that frees much). It prints ``ready`` once the database is open,
then each block number once it is durable.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harmony.chain.genesis import dev_bls_key
from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final
from harmony.storage import chaindb, prune
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.prune import PruneProgress, Pruner
from harmony.types.transaction import Transaction

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.e2e import crash_writer

SHARD = crash_writer.SHARD
KEYS = [dev_bls_key(SHARD, i) for i in range(3)]
EPOCH = 8
"""Blocks per epoch."""
WINDOW = 12
"""The history window of these chains (``HISTORY_BLOCKS``; the node keeps 256)."""
KEEP_RECENT = 16
"""States kept (the node keeps 128)."""
EXPIRE_TRANSACTIONS = 4
"""Transactions per history write (the node: 2,000)."""
SENDER, OTHER = crash_writer.KEYS[0], crash_writer.KEYS[1]
RECIPIENT = crash_writer.recipient(1)
PRUNE_SLICES_PER_BLOCK = 4


def transfers(chain: Blockchain, number: int) -> list[Transaction]:
    """Block ``number``'s transfers: two in most blocks, the second cross-shard in every fifth, none in
    every fourth."""
    if number % 4 == 0:
        return []
    state = chain.state()
    to_shard = crash_writer.OTHER_SHARD if number % 5 == 0 else SHARD
    return [
        Transaction(state.get_nonce(SENDER.address), 10**9, 21_000, SHARD, SHARD, RECIPIENT, number).sign(
            SENDER, LOCALNET.chain_id
        ),
        Transaction(state.get_nonce(OTHER.address), 10**9, 21_000, SHARD, to_shard, RECIPIENT, 1).sign(
            OTHER, LOCALNET.chain_id
        ),
    ]


def grow(chain: Blockchain, blocks: int) -> None:
    """Extend ``chain`` by ``blocks`` final blocks (module docstring)."""
    for _ in range(blocks):
        number = chain.head.number + 1
        extend_final(chain, KEYS, transfers(chain, number), end_epoch=number % EPOCH == 0)


def run(datadir: Path, max_blocks: int | None) -> None:
    """Import and prune until killed, or ``max_blocks`` blocks (module docstring)."""
    prune.HISTORY_BLOCKS = WINDOW
    prune.KEEP_RECENT = KEEP_RECENT
    chaindb.EXPIRE_TRANSACTIONS = EXPIRE_TRANSACTIONS
    store = LMDBStore(datadir, map_size=crash_writer.MAP_SIZE)
    chain = Blockchain.open(ChainDB(store), crash_writer.GENESIS, SHARD)
    print("ready", flush=True)
    rounds = iter(Pruner(chain.db).round())
    written = 0
    while max_blocks is None or written < max_blocks:
        grow(chain, 1)
        print(chain.head.number, flush=True)
        written += 1
        for _ in range(PRUNE_SLICES_PER_BLOCK):
            step: PruneProgress | None = next(rounds, None)
            if step is None:  # a round ended: compact, as a pruning node does when it is worth it
                store.compact()
                rounds = iter(Pruner(chain.db).round())
    store.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    run(Path(args[0]), int(args[1]) if len(args) > 1 else None)
