"""A validator's per-block work, replayed without a network: CPU microseconds per transaction (issue 16).

Run: ``.venv/bin/python bench/validator_path.py`` (``--blocks 12``; ``--quick`` for a smoke run).

``bench/devnet.py`` measures a validator's CPU per finalized transaction on a live devnet, where two runs of
one tree differ by 5-10 % on this project's shared 2-core machines. This replay times the share of that work
that follows the blocks, deterministically, so that a change to it can be judged in one run:

* untimed: a leader chain (in memory) builds ``--blocks`` final blocks of 1,428 plain transfers each (a full
  30 M-gas block) from 1,000 funded senders, as ``bench/devnet.py``'s load makes them, with their commit
  aggregates (:func:`harmony.node.dev_chain.extend_final`);
* timed, per block, on a validator chain over LMDB in a temporary folder, with the node's pool:
  ``verify`` (decode-free execution and roots: :meth:`Blockchain.verify`), ``store`` (the block's write
  transaction), ``pool`` (the pool re-reads the new head: :meth:`TxPool.set_state`) and ``admit`` (the
  pool takes, from their encodings, the transactions of the block two ahead, senders recovered: what the
  relay and RPC hand a validator before the block that carries them).

Times are this process's CPU time (``time.process_time``) per transaction of the block, medians over the
blocks after the first two (the node's caches warm up) and before the last two (no block two ahead to admit).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devnet import presign  # bench/devnet.py

from harmony.chain.genesis import dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final
from harmony.node.txpool import TxPool
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.memory import MemoryStore
from harmony.types.block import Block
from harmony.types.tx_common import clear_sender_cache

SENDERS = 1_000
PER_BLOCK = 1_428
"""Plain transfers in a 30 M-gas block."""
AHEAD = 2
"""Blocks whose transactions the pool holds before the block is verified."""
PHASES = ("verify", "store", "pool", "admit")


def build_blocks(blocks: int) -> list[bytes]:
    """``blocks`` final blocks of :data:`PER_BLOCK` transfers, encoded (untimed)."""
    genesis = make_localnet_genesis(accounts=SENDERS, keys_per_shard=4, timestamp=1_700_000_000)
    per_sender = -(-blocks * PER_BLOCK // SENDERS)
    signed = presign(SENDERS, per_sender, 0)
    order = [signed[a][n] for n in range(per_sender) for a in range(SENDERS)]
    leader = Blockchain.open(ChainDB(MemoryStore(), tx_history=False), genesis, 0)
    keys = [dev_bls_key(0, k) for k in range(4)]
    out = []
    for b in range(blocks):
        block, _, _ = extend_final(leader, keys, order[b * PER_BLOCK : (b + 1) * PER_BLOCK])
        if len(block.transactions) != PER_BLOCK:
            raise SystemExit(f"block {block.number} took {len(block.transactions)} transfers")
        out.append(block.encode())
    return out


def replay(encoded: Sequence[bytes], folder: str) -> dict[str, list[float]]:
    """Per phase, CPU microseconds per transaction of each block (module docstring)."""
    clear_sender_cache()  # the leader chain recovered every sender: the validator starts cold
    genesis = make_localnet_genesis(accounts=SENDERS, keys_per_shard=4, timestamp=1_700_000_000)
    chain = Blockchain.open(ChainDB(LMDBStore(folder), tx_history=False), genesis, 0)
    pool = TxPool(LOCALNET, 0, chain.accounts())
    blocks = [Block.decode(data) for data in encoded]
    for block in blocks[:AHEAD]:
        for tx in block.transactions:
            pool.add_raw(tx.encode(), eth=False)
    clock = time.process_time
    times: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for k, block in enumerate(blocks):
        start = clock()
        verified = chain.verify(block, final=True)
        verify = clock()
        chain.store(verified)
        store = clock()
        pool.set_state(chain.accounts(), gas_limit=block.header.gas_limit)
        reread = clock()
        if k + AHEAD < len(blocks):
            for tx in blocks[k + AHEAD].transactions:
                pool.add_raw(tx.encode(), eth=False)
        admit = clock()
        marks = (start, verify, store, reread, admit)
        for phase, (a, b) in zip(PHASES, pairwise(marks), strict=True):
            times[phase].append((b - a) * 1e6 / len(block.transactions))
    return times


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, default=12, help="blocks to replay (default 12)")
    parser.add_argument("--quick", action="store_true", help="6 blocks: a smoke run")
    args = parser.parse_args()
    blocks = 6 if args.quick else args.blocks
    if blocks < 2 * AHEAD + 1:
        parser.error(f"--blocks must be at least {2 * AHEAD + 1} (module docstring)")
    print(f"building {blocks} blocks of {PER_BLOCK} transfers (untimed) …", flush=True)
    encoded = build_blocks(blocks)
    with tempfile.TemporaryDirectory(prefix="bench-validator-path-") as folder:
        times = replay(encoded, folder)
    timed = slice(AHEAD, blocks - AHEAD)
    figures = {phase: round(statistics.median(values[timed]), 1) for phase, values in times.items()}
    totals = [sum(values) for values in zip(*times.values(), strict=True)][timed]
    figures["total"] = round(statistics.median(totals), 1)
    for phase, value in figures.items():
        print(f"  {phase:>6}: {value:6.1f} µs CPU per transaction (median over {len(totals)} blocks)")
    print(json.dumps({"us_per_tx": figures, "blocks": blocks, "transactions_per_block": PER_BLOCK}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
