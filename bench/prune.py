"""State-pruning benchmark: disk of a pruned chain against an archive chain after the same blocks.

Run: ``.venv/bin/python bench/prune.py`` (``--blocks N --txs T`` to size it, ``--quick`` for a smoke run,
``--plot disk.png`` for a chart). What it does:

* builds one chain of ``N`` blocks of ``T`` transfers each (the crash test's blocks: localnet shard 1, 8
  funded senders paying ``--accounts`` recipients, the last transfer cross-shard; the state grows, then
  churns) and imports every block into two real LMDB databases through the node's import path: an
  *archive* one, never pruned, and a *pruned* one, pruned as a running node does (a
  :class:`harmony.storage.prune.Pruner` round every 64 blocks, keeping the last 128 blocks' states);
* every 10 % of the run prints, for both: the data file on disk (allocated blocks), the state-node table's
  entries and bytes; and at the end the time spent importing in each and pruning in the pruned one.

The archive chain is the baseline of the same run; ``ratio`` is pruned / archive disk. The last line is one
JSON object (``disk_pruned_mb``, ``disk_archive_mb``, ``ratio``, and the node tables' figures).
LMDB reuses freed pages, so the pruned file stops growing once the state stops growing instead of
shrinking.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from harmony.node.blockchain import Blockchain
from harmony.node.pruning import PRUNE_EVERY
from harmony.storage import schema
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore, data_file_bytes
from harmony.storage.prune import Pruner
from tests.e2e.crash_writer import GENESIS, SHARD, produce_block


def node_table(store: LMDBStore) -> tuple[int, int]:
    """Entries and bytes (keys and values) of the state-node table."""
    entries = size = 0
    for key, value in store.iterate(schema.STATE_NODE):
        entries += 1
        size += len(key) + len(value)
    return entries, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, default=1000, help="blocks to build (default 1000)")
    parser.add_argument("--txs", type=int, default=16, help="transfers per block (default 16)")
    parser.add_argument("--accounts", type=int, default=2000, help="recipients drawn from (default 2000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 blocks of 8 transfers")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of disk over blocks")
    args = parser.parse_args()
    if args.quick:
        args.blocks, args.txs = 300, 8
    if args.blocks < 1 or args.txs < 1 or args.accounts < 1:
        parser.error("--blocks, --txs and --accounts must be positive")
    work = Path(tempfile.mkdtemp(prefix="bench-prune-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    stores = {name: LMDBStore(work / name) for name in ("archive", "pruned")}
    chains = {name: Blockchain.open(ChainDB(s), GENESIS, SHARD) for name, s in stores.items()}
    pruner = Pruner(chains["pruned"].db)
    seconds = {"archive": 0.0, "pruned": 0.0, "prune": 0.0}
    rows: list[tuple[int, int, int, int, int]] = []
    step = max(1, args.blocks // 10)
    print(
        f"{args.blocks} blocks of {args.txs} transfers to {args.accounts} accounts "
        "(pruned: keep 128, every 64)"
    )
    print(f"{'block':>7} {'archive MB':>11} {'pruned MB':>10} {'archive nodes':>14} {'pruned nodes':>13}")
    for number in range(1, args.blocks + 1):
        block = produce_block(chains["archive"], args.txs, args.accounts)
        for name in ("archive", "pruned"):
            started = time.perf_counter()
            chains[name].import_block(block)
            seconds[name] += time.perf_counter() - started
        if number % PRUNE_EVERY == 0:
            started = time.perf_counter()
            pruner.run()
            seconds["prune"] += time.perf_counter() - started
        if number % step == 0 or number == args.blocks:
            archive_nodes, _ = node_table(stores["archive"])
            pruned_nodes, _ = node_table(stores["pruned"])
            row = (
                number,
                data_file_bytes(work / "archive"),
                data_file_bytes(work / "pruned"),
                archive_nodes,
                pruned_nodes,
            )
            rows.append(row)
            print(
                f"{number:>7} {row[1] / 1e6:>11.1f} {row[2] / 1e6:>10.1f} "
                f"{archive_nodes:>14,} {pruned_nodes:>13,}"
            )
    archive_entries, archive_table = node_table(stores["archive"])
    pruned_entries, pruned_table = node_table(stores["pruned"])
    disk_archive, disk_pruned = rows[-1][1], rows[-1][2]
    print(
        f"import: archive {seconds['archive']:.1f} s, pruned {seconds['pruned']:.1f} s; "
        f"pruning rounds {seconds['prune']:.1f} s in total"
    )
    if args.plot is not None:
        plot(rows, args.plot)
        print(f"plot: {args.plot}")
    for store in stores.values():
        store.close()
    print(
        json.dumps(
            {
                "blocks": args.blocks,
                "txs_per_block": args.txs,
                "disk_pruned_mb": round(disk_pruned / 1e6, 2),
                "disk_archive_mb": round(disk_archive / 1e6, 2),
                "ratio": round(disk_pruned / disk_archive, 3),
                "nodes_pruned": pruned_entries,
                "nodes_archive": archive_entries,
                "node_table_pruned_mb": round(pruned_table / 1e6, 2),
                "node_table_archive_mb": round(archive_table / 1e6, 2),
                "import_s_archive": round(seconds["archive"], 2),
                "import_s_pruned": round(seconds["pruned"], 2),
                "prune_s": round(seconds["prune"], 2),
            }
        )
    )


def plot(rows: list[tuple[int, int, int, int, int]], path: Path) -> None:
    """Disk of both chains over the blocks."""
    fig, ax = plt.subplots(figsize=(7, 4))
    blocks = [r[0] for r in rows]
    ax.plot(blocks, [r[1] / 1e6 for r in rows], label="archive")
    ax.plot(blocks, [r[2] / 1e6 for r in rows], label="pruned (last 128 blocks)")
    ax.set_xlabel("block")
    ax.set_ylabel("data file on disk (MB)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
