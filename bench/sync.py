"""Sync benchmark (issue 18 item 5): a fresh node fast-syncs a long chain from three peer processes.

Run: ``.venv/bin/python bench/sync.py`` (the issue's sizes: 100,000 blocks, 50,000 accounts), or smaller for
a quick run: ``bench/sync.py --blocks 3000 --accounts 5000``. What it does:

* **Generate once, then reuse.** A chain of shard 1 of a development genesis (four seats, the 80 M gas
  limit) with localnet's 32-block epochs (each epoch's last block carries the next shard state, as a shard
  leader relays the beacon's): ``accounts / 1,000`` full blocks of 1,000 transfers from the dev accounts,
  each to a new account, in runs of :data:`FULL_RUN` spread evenly over the chain, and empty blocks between
  them up to ``--blocks``. Every block is proposed by the chain itself and carries a commit aggregate of
  three of the four committee keys (:func:`harmony.node.dev_chain.extend_final`), so it is a chain the
  node accepts. It is written under ``.cache/bench-sync/<blocks>-<accounts>-v<N>/`` (staged
  writes, made durable every few hundred blocks; the directory appears only once complete), with a progress
  bar; later runs reuse it.
* **Sync it, twice.** Three peer processes (``bench/sync.py --serve DIR``) open the cached database
  read-only and serve it over the sync protocol on real libp2p hosts. A fresh node (real LMDB in a
  temporary directory, a real host bootstrapped from the three) runs fast sync sessions
  (:class:`harmony.node.fast_sync.FastSync`) to the head as the node's sync loop does (a session that
  dropped every peer is followed by another, from where it stopped), timing every durable batch, with the
  node's pruning rounds beside it as a node runs them by default
  (:func:`harmony.node.pruning.prune_forever`, then the round it makes next at the head). A second fresh
  node syncs the same chain keeping every state (``--archive``). The peers dropped are printed.
* **Report.** From the pruning node, timed block by block (when each was executed and staged): tx/s over
  the runs of full blocks (from the block before a run to its last), blocks/s over the rest, and the
  syncing process's CPU per empty block and per 1,000 transactions over the same spans
  (``cpu_ms_per_empty_block``, ``cpu_s_per_1000_tx``; the checking processes' CPU, commit aggregates,
  VRFs and the senders they recover ahead, is ``worker_cpu_s`` in all and ``worker_cpu_ms_per_block``, as
  they measure it): on a shared machine the CPU figures move much less with the load than the rates.
  ``ratio`` = sync tx/s over the live execution tx/s of a 1,000-transfer block as ``bench/execution.py``
  measures it, in this same run. The archive node's rates are ``archive_blocks_per_s`` and
  ``archive_tx_per_s``. Disk: both data files at every tenth of the chain, ``disk_pruned_mb`` and
  ``disk_archive_mb`` at the end (``disk_ratio`` the first over the second), each one's state-node table
  (``state_table_pruned_mb``, ``state_table_archive_mb``) and their largest tables. The pruning node
  compacts its file as a node does (:class:`harmony.node.pruning.Compactor`: after a round when that frees
  much, and once its long fast sync caught up); ``disk_pruned_peak_mb`` is its largest file on the way.
  For reference, ``disk_archive_compacted_mb`` is the archive's file after ``harmony db compact`` (no
  archive node runs the compactor, and its file is barely larger than its pages in use). The pruning node
  expires old blocks as it syncs (:mod:`harmony.storage.prune`: the last four epochs and 256 blocks stay
  whole, epoch ends keep their headers). ``--no-state-sync`` stops after these.
* **State sync.** A second fresh node downloads the head's state (accounts, storage, code) from the same
  three peers over the state sync protocol (:class:`harmony.node.state_sync.StateDownload`: every node
  checked against its hash before it is written), with a progress bar; ``state_sync_s`` is that download's
  time. The generated chain has no beacon chain, so following the epoch chain (a few headers, each one
  aggregate check) is not in it.

The last line is one JSON object with those keys. The machine's load average is printed with the figures:
other work on the machine slows every figure here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import execution  # bench/execution.py, the live execution the sync is compared with
import trio
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.crypto.keccak import keccak256
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final
from harmony.node.fast_sync import CLIENT_TIMEOUT, FastSync, Stored
from harmony.node.pruning import Compactor, prune_forever
from harmony.node.state_download import StateDownload, StateProgress
from harmony.node.state_sync import ChainStateSource
from harmony.node.sync import ChainSyncSource
from harmony.p2p.host import P2PConfig, open_host
from harmony.p2p.state_protocol import StateClient, serve_state
from harmony.p2p.sync_protocol import SyncClient, serve_sync
from harmony.p2p.topics import state_protocol_id, sync_protocol_id
from harmony.storage import ChainDB, LMDBStore, schema
from harmony.storage.inspect import DBReport, inspect_store
from harmony.storage.lmdb_store import DATA_FILE, Compaction, data_file_bytes
from harmony.storage.prune import Pruner
from harmony.types.transaction import Transaction

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench-sync"
VERSION = 2
"""Bump when the generated chain changes: a cached chain of another version is not reused (2: epochs, and
the full blocks spread over the chain)."""
SHARD = 1
GENESIS = make_localnet_genesis(accounts=20, keys_per_shard=4, timestamp=1_700_000_000)
SENDERS = [dev_account_key(i) for i in range(20)]
SIGNERS = [dev_bls_key(SHARD, i) for i in range(3)]
PER_FULL_BLOCK = 1_000
FULL_RUN = 10
"""Full blocks in a row: the chain has ``accounts / 1,000 / FULL_RUN`` runs, spread evenly."""
PEERS = 3
PROTOCOL = sync_protocol_id("localnet", SHARD)
STATE_PROTOCOL = state_protocol_id("localnet", SHARD)
PRICE = 10**9
MAX_SESSIONS = 20
"""Sessions the node may need (a peer dropped for a failed stream ends one; the next round resumes)."""
STAGE = 500
"""Blocks the generator makes durable together."""


def recipient(index: int) -> bytes:
    """The ``index``-th new account."""
    return keccak256(b"bench-sync-account" + index.to_bytes(4, "big"))[:20]


def chain_dir(blocks: int, accounts: int) -> Path:
    return CACHE / f"{blocks}-{accounts}-v{VERSION}"


def full_blocks(blocks: int, accounts: int) -> list[int]:
    """The numbers of the full blocks (1,000 transfers each, one new account per transfer): runs of
    :data:`FULL_RUN` starting at block 1 and then every ``blocks / runs`` blocks."""
    count = -(-accounts // PER_FULL_BLOCK)
    runs = -(-count // FULL_RUN)
    spacing = blocks // max(1, runs)
    numbers = [1 + run * spacing + i for run in range(runs) for i in range(FULL_RUN)][:count]
    return [n for n in numbers if n <= blocks]


def generate(blocks: int, accounts: int) -> tuple[Path, float]:
    """The cached chain's directory, generated now if missing; and the seconds generating took (0 if
    cached)."""
    final = chain_dir(blocks, accounts)
    if (final / DATA_FILE).exists():
        return final, 0.0
    work = final.with_name(final.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    full = set(full_blocks(blocks, accounts))
    store = LMDBStore(work)
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    nonces = [0] * len(SENDERS)
    made = 0
    with Progress(
        TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
    ) as bar:
        task = bar.add_task("blocks", total=blocks)
        for first in range(1, blocks + 1, STAGE):
            with chain.db.staged():  # STAGE blocks per durable write
                for number in range(first, min(blocks, first + STAGE - 1) + 1):
                    txs = []
                    if number in full:
                        for _ in range(min(PER_FULL_BLOCK, accounts - made)):
                            sender = made % len(SENDERS)
                            tx = Transaction(
                                nonces[sender], PRICE, 21_000, SHARD, SHARD, recipient(made), 10**15
                            )
                            txs.append(tx.sign(SENDERS[sender], LOCALNET.chain_id))
                            nonces[sender] += 1
                            made += 1
                    extend_final(chain, SIGNERS, txs, end_epoch=LOCALNET.is_last_block(number))
                    bar.update(task, completed=number)
    store.close()
    os.replace(work, final)
    return final, time.perf_counter() - started


# -- a serving peer ----------------------------------------------------------------------------------


async def serve(directory: Path, key_dir: Path) -> None:
    """Serve the cached chain read-only over the sync and state protocols until killed; print ``PEER id
    addr``."""
    store = LMDBStore(directory, readonly=True)
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)  # the genesis is stored: nothing is written
    async with open_host(P2PConfig(key_path=key_dir / "peer.key", port=0)) as host:
        serve_sync(host, PROTOCOL, ChainSyncSource(chain))
        serve_state(host, STATE_PROTOCOL, ChainStateSource(chain))
        print("PEER", host.peer_id, host.listen_addrs()[0], flush=True)
        await trio.sleep_forever()


# -- the syncing node --------------------------------------------------------------------------------


def start_peers(directory: Path, scratch: Path) -> tuple[list[subprocess.Popen[str]], list[tuple[str, str]]]:
    procs, peers = [], []
    for i in range(PEERS):
        keys = scratch / f"peer{i}"
        keys.mkdir()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(directory), "--key-dir", str(keys)],
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "PEER":
            raise RuntimeError(f"a peer process did not start: {line}")
        peers.append((line[1], line[2]))
    return procs, peers


@dataclass
class SyncRun:
    """What one fresh node's sync recorded."""

    started: float
    timeline: list[tuple[float, Stored]] = field(default_factory=list)
    """(time, block) of every stored block."""
    cpu_started: float = 0.0
    """This process's CPU seconds (``time.process_time()``) when the sync started."""
    worker_cpu: float = 0.0
    """CPU seconds of the checking processes (commit aggregates, VRFs, senders) in all."""
    disk_at: dict[int, tuple[int, int]] = field(default_factory=dict)
    """At every tenth of the chain (1 to 10): the first block stored past it and the data file's bytes on
    disk then."""
    report: DBReport | None = None
    """The database after the sync (and, pruning, after the round the node runs next)."""
    compacted: Compaction | None = None
    """Pruning: the compaction the node made after that round, if it was worth one. Archive: the compaction
    ``harmony db compact`` makes of its database, for reference."""


async def sync_from(peers: list[tuple[str, str]], scratch: Path, target: int, *, prune: bool) -> SyncRun:
    """A fresh node syncs from ``peers`` into ``scratch/<pruned|archive>``, pruning as a node does by
    default (:func:`harmony.node.pruning.prune_forever` beside the sync) or keeping every state
    (``--archive``)."""
    path = scratch / ("pruned" if prune else "archive")
    store = LMDBStore(path)
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    compactor = Compactor(store)
    run = SyncRun(started=0.0)
    dropped: list[str] = []
    tenth = max(1, target // 10)
    config = P2PConfig(key_path=scratch / f"{path.name}.key", port=0, bootnodes=tuple(a for _, a in peers))
    async with open_host(config) as host, trio.open_nursery() as nursery:
        if prune:
            nursery.start_soon(partial(prune_forever, chain.db, compactor=compactor))
        with trio.fail_after(60):
            while not all(host.is_connected(p) for p, _ in peers):
                await trio.sleep(0.1)
        client = SyncClient(host, PROTOCOL, timeout=CLIENT_TIMEOUT)
        heads = {p: (await client.head(p)).number for p, _ in peers}
        if min(heads.values()) != target:
            raise RuntimeError(f"peers announce heads {sorted(heads.values())}, expected {target}")
        with Progress(
            TextColumn(f"syncing ({path.name})"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} blocks/s"),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("sync", total=target, rate="-")
            started = run.started = time.perf_counter()
            run.cpu_started = time.process_time()

            def stored(batch: list[Stored]) -> None:
                now = time.perf_counter()
                run.timeline.extend((now, s) for s in batch)
                number = batch[-1].block.number
                if number >= tenth * (len(run.disk_at) + 1):
                    run.disk_at[min(10, number // tenth)] = (number, data_file_bytes(path))
                bar.update(task, completed=number, rate=f"{number / (now - started):.0f}")

            sessions = 0
            while chain.head.number < target:  # as the node's sync loop: a new round after a session
                sessions += 1
                if sessions > MAX_SESSIONS:
                    raise RuntimeError(f"sync stuck at block {chain.head.number} of {target}: {dropped}")
                if sessions > 1:
                    await trio.sleep(1.0)
                report = await FastSync(chain, client, host.penalize, on_stored=stored).run(heads)
                run.worker_cpu += report.worker_cpu_s
                for peer, reason in report.dropped.items():
                    dropped.append(f"{peer[-8:]}: {reason}")
        nursery.cancel_scope.cancel()
    if prune:  # the node's sync loop tells the compactor its fast sync caught up (Syncer.on_caught_up);
        compactor.synced(chain.head.number)
        await trio.sleep_until(compactor.due)  # the next round the running node makes (PRUNE_EVERY blocks
        Pruner(chain.db).run()  # on, once its compactions' share allows) and what its compactor does
        run.compacted = compactor.after_round()
    run.report = inspect_store(store, path)
    if not prune:  # for reference: the archive as `harmony db compact` would leave it (no node does it)
        run.compacted = store.compact()
    store.close()
    for line in dropped:
        print(f"  a session dropped peer {line}")
    return run


async def state_sync_from(peers: list[tuple[str, str]], scratch: Path, root: bytes) -> tuple[float, int, int]:
    """A fresh node downloads the state at ``root`` from ``peers``; seconds, nodes and bytes fetched."""
    store = LMDBStore(scratch / "state-node")
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    config = P2PConfig(key_path=scratch / "state-node.key", port=0, bootnodes=tuple(a for _, a in peers))
    async with open_host(config) as host:
        with trio.fail_after(60):
            while not all(host.is_connected(p) for p, _ in peers):
                await trio.sleep(0.1)
        progress = StateProgress()
        download = StateDownload(
            chain.db, StateClient(host), host.penalize, STATE_PROTOCOL, progress=progress
        )
        with Progress(
            TextColumn("state sync"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f} %  {task.fields[nodes]} nodes  {task.fields[rate]} nodes/s"),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("state", total=1.0, nodes=0, rate="-")
            async with trio.open_nursery() as nursery:

                async def show() -> None:
                    while True:
                        snap = progress.snapshot()
                        bar.update(
                            task, completed=snap.fraction, nodes=snap.nodes, rate=f"{snap.nodes_per_s:.0f}"
                        )
                        await trio.sleep(0.2)

                nursery.start_soon(show)
                report = await download.run(root, [p for p, _ in peers])
                nursery.cancel_scope.cancel()
    store.close()
    for peer in report.dropped:
        print(f"  state sync dropped peer {peer[-8:]}")
    return report.seconds, report.fetched, report.bytes


def head_root(directory: Path) -> bytes:
    """The state root of the cached chain's head."""
    store = LMDBStore(directory, readonly=True)
    try:
        head = ChainDB(store).head_header()
        assert head is not None
        return head.root
    finally:
        store.close()


def state_table_mb(report: DBReport) -> float:
    """Megabytes of keys and values in the state-node table."""
    name = schema.TABLES[schema.STATE_NODE]
    return round(sum(t.total_bytes for t in report.tables if t.name == name) / 1e6, 1)


def live_execution_tps() -> float:
    """tx/s of a 1,000-transfer block executed live, as ``bench/execution.py`` measures it (cold senders, as
    a syncing node recovers them)."""
    keys = execution.sender_keys(execution.SENDERS)
    store, root = execution.genesis_store(keys)
    block = execution.our_block(store, root, keys, execution.transfer_plan(PER_FULL_BLOCK, len(keys)))
    seconds = execution.median_seconds(
        lambda b: execution.run_ours(store, root, b), lambda: execution.cold(block)
    )
    return PER_FULL_BLOCK / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--blocks", type=int, default=100_000, help="chain length (default: 100000)")
    parser.add_argument("--accounts", type=int, default=50_000, help="new accounts (default: 50000)")
    parser.add_argument(
        "--no-state-sync", action="store_true", help="measure full sync only (state_sync_s is null)"
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        trio.run(serve, args.serve, args.key_dir)
        return
    if args.blocks < 2 or args.accounts < 0:
        parser.error("--blocks must be at least 2 and --accounts not negative")
    full = full_blocks(args.blocks, args.accounts)
    if len(full) < -(-args.accounts // PER_FULL_BLOCK) or len(full) >= args.blocks // 2:
        parser.error(f"{args.accounts} accounts need more than twice as many --blocks in runs of {FULL_RUN}")
    directory, generate_s = generate(args.blocks, args.accounts)
    print(
        f"chain: {args.blocks} blocks ({len(full)} of 1,000 transfers in runs of {FULL_RUN}), {directory}"
        + (f", generated in {generate_s:.0f} s" if generate_s else ", cached")
    )
    live_tps = live_execution_tps()
    print(f"live execution of a 1,000-transfer block: {live_tps:.0f} tx/s")
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        scratch = Path(tmp)
        procs, peers = start_peers(directory, scratch)
        try:
            pruned = trio.run(partial(sync_from, peers, scratch, args.blocks, prune=True))
            figures = summarize(pruned, full, live_tps)
            figures["worker_cpu_s"] = round(pruned.worker_cpu, 1)
            figures["worker_cpu_ms_per_block"] = round(1000 * pruned.worker_cpu / args.blocks, 2)
            print(
                f"full sync from {PEERS} peers, pruning: {figures['blocks_per_s']} empty blocks/s "
                f"({figures['cpu_ms_per_empty_block']} ms CPU each in this process), "
                f"{figures['tx_per_s']} tx/s of full blocks "
                f"({figures['cpu_s_per_1000_tx']} s CPU per 1,000 tx), "
                f"checking processes {figures['worker_cpu_s']} s CPU in all "
                f"({figures['worker_cpu_ms_per_block']} ms per block); "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            archive = trio.run(partial(sync_from, peers, scratch, args.blocks, prune=False))
            archive_figures = summarize(archive, full, live_tps)
            print(
                f"full sync from {PEERS} peers, archive: {archive_figures['blocks_per_s']} empty blocks/s, "
                f"{archive_figures['tx_per_s']} tx/s of full blocks; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            state_s: float | None = None
            state_nodes = state_bytes = 0
            if not args.no_state_sync:
                state_s, state_nodes, state_bytes = trio.run(
                    state_sync_from, peers, scratch, head_root(directory)
                )
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    assert pruned.report is not None and archive.report is not None
    print_disk(pruned, archive)
    figures.update(
        state_sync_s=None if state_s is None else round(state_s, 1),
        state_nodes=state_nodes,
        state_mb=round(state_bytes / 1e6, 1),
        disk_pruned_mb=round(pruned.report.file_bytes / 1e6, 1),
        disk_archive_mb=round(archive.report.file_bytes / 1e6, 1),
        disk_ratio=round(pruned.report.file_bytes / archive.report.file_bytes, 3),
        disk_pruned_peak_mb=round(max(b for _, b in pruned.disk_at.values()) / 1e6, 1),
        disk_archive_compacted_mb=round(archive.compacted.after / 1e6, 1) if archive.compacted else None,
        state_table_pruned_mb=state_table_mb(pruned.report),
        state_table_archive_mb=state_table_mb(archive.report),
        archive_blocks_per_s=archive_figures["blocks_per_s"],
        archive_tx_per_s=archive_figures["tx_per_s"],
        blocks=args.blocks,
        accounts=args.accounts,
        generate_s=round(generate_s, 1),
        load_average=round(os.getloadavg()[0], 1),
    )
    print(
        f"sync from {PEERS} peers: {figures['blocks_per_s']} empty blocks/s, {figures['tx_per_s']} tx/s "
        f"of full blocks ({figures['ratio']}x live execution), {figures['total_s']} s in all; "
        f"on disk {figures['disk_pruned_mb']} MB pruned, {figures['disk_archive_mb']} MB archive "
        f"({figures['disk_ratio']}x; state nodes {figures['state_table_pruned_mb']} MB and "
        f"{figures['state_table_archive_mb']} MB); load average {figures['load_average']}"
    )
    done = pruned.compacted
    print(
        f"the pruning node's file peaked at {figures['disk_pruned_peak_mb']} MB; "
        + (
            f"its compaction after the last round took it from {done.before / 1e6:.1f} to "
            f"{done.after / 1e6:.1f} MB in {done.seconds:.2f} s"
            if done
            else "it did not need a compaction after the last round"
        )
        + f"; the archive compacted (`harmony db compact`, no node does it) is "
        f"{figures['disk_archive_compacted_mb']} MB"
    )
    if state_s is not None:
        print(
            f"state sync of the head's state from {PEERS} peers: {state_nodes} nodes, "
            f"{figures['state_mb']} MB in {figures['state_sync_s']} s"
        )
    print(json.dumps(figures))


def print_disk(pruned: SyncRun, archive: SyncRun) -> None:
    """The data files of both nodes at every tenth of the chain, and their largest tables at the end (keys
    and values; LMDB's pages hold them with some room to spare)."""
    print(f"{'synced':>7} {'block':>8} {'pruned MB':>10} {'archive MB':>11}")
    for tenth in sorted(set(pruned.disk_at) & set(archive.disk_at)):
        number, left = pruned.disk_at[tenth]
        print(f"{10 * tenth:>6} % {number:>8} {left / 1e6:>10.1f} {archive.disk_at[tenth][1] / 1e6:>11.1f}")
    assert pruned.report is not None and archive.report is not None
    sizes = {t.name: [t.total_bytes, 0] for t in pruned.report.tables}
    for t in archive.report.tables:
        sizes.setdefault(t.name, [0, 0])[1] = t.total_bytes
    print(f"{'table':>32} {'pruned MB':>10} {'archive MB':>11}")
    for name, (left, right) in sorted(sizes.items(), key=lambda item: -item[1][1])[:8]:
        print(f"{name:>32} {left / 1e6:>10.1f} {right / 1e6:>11.1f}")
    print(
        f"{'all keys and values':>32} {sum(v[0] for v in sizes.values()) / 1e6:>10.1f} "
        f"{sum(v[1] for v in sizes.values()) / 1e6:>11.1f}"
    )


def summarize(run: SyncRun, full: list[int], live_tps: float) -> dict[str, Any]:
    """Rates from the block-by-block timeline (when each block was staged): tx/s over the runs of full
    blocks, each from the block before it to its last, blocks/s over the rest; and the syncing process's
    CPU per empty block and per 1,000 transactions over the same spans (less sensitive to the load)."""
    at = {s.block.number: s.staged_at for _, s in run.timeline}
    at[0] = run.started
    cpu = {s.block.number: s.staged_cpu - run.cpu_started for _, s in run.timeline}
    cpu[0] = 0.0
    last = max(at)
    full_set = set(full)
    runs = [n for n in full if n - 1 not in full_set]
    full_s = full_cpu = 0.0
    for first in runs:
        end = first
        while end + 1 in full_set:
            end += 1
        full_s += at[end] - at[first - 1]
        full_cpu += cpu[end] - cpu[first - 1]
    txs = sum(len(s.block.transactions) for _, s in run.timeline if s.block.number in full_set)
    empty_blocks = last - len(full)
    empty_s = at[last] - at[0] - full_s
    tx_per_s = txs / full_s if full_s > 0 else None
    return {
        "cpu_ms_per_empty_block": round(1000 * (cpu[last] - full_cpu) / empty_blocks, 2),
        "cpu_s_per_1000_tx": round(1000 * full_cpu / txs, 3) if txs else None,
        "blocks_per_s": round(empty_blocks / empty_s) if empty_s > 0 else None,
        "tx_per_s": None if tx_per_s is None else round(tx_per_s),
        "state_sync_s": None,
        "disk_pruned_mb": None,
        "disk_archive_mb": None,
        "ratio": None if tx_per_s is None else round(tx_per_s / live_tps, 3),
        "live_tx_per_s": round(live_tps),
        "total_s": round(at[last] - at[0], 1),
    }


if __name__ == "__main__":
    main()
