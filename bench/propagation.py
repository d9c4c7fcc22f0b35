"""Coded (RaptorQ) against whole-block gossip propagation on the namespaced testnet, in one run (issue 16).

For each committee size and uplink, a one-shard testnet (``harmony.testnet``: every validator in its own
network namespace, 40 ms one way between every pair by default, each node capped at the uplink up and down)
runs twice, once per ``propagation``, under the same transfer load (``bench/devnet.py``'s load and watcher).
Every size runs on one network, ``--network`` (default ``localnet32``: localnet's rules with 32 seats per
shard, so 16 validators fit; a committee of genesis keys alone votes one key one vote on either preset, so
its 4 and 8 are localnet's).
Figures per run:

* ``upload_ratio``: bytes the leader's interface sent during the load (``/proc/<pid>/net/dev``: everything,
  votes and relayed transactions included) divided by the bytes of the blocks it announced;
* ``leader_excess_ratio``: the same less what the median other validator sent (votes and relayed
  transactions cost every node alike), i.e. what leading the blocks cost the leader per block byte;
* ``coded_upload_ratio`` (coded runs): the bytes of symbols, proofs and commitments the leaders' coded
  broadcasts sent per block byte, as the nodes count them (their ``coded block`` log lines): the figure
  for issue 16's goal of at most 1.5;
* ``two_thirds_p50_ms`` / ``two_thirds_p99_ms``: per block first announced in the load window, from the
  leader's announce until validators holding 2/3 of the voting power (equal stakes: ``ceil(2n/3)`` nodes,
  the leader among them) hold the block, from the nodes' ``harmony.node.propagation`` log lines (one clock:
  every namespace is on this machine); a block that never reached them counts until the logs were read
  (``undelivered`` says how many did);
* ``tps``: finalized transactions per second over the load window.

The load window is ``--seconds`` per 4 validators (``seconds`` in the JSON: 8 validators get twice it, 16
four times): larger committees finalize fewer blocks a second on a small machine, and every figure above
rests on the blocks of the window. The phase (view change) timeout is 5 s per 8 validators
(``phase_timeout_ms`` in the JSON; ``--phase-timeout-ms`` sets one for every size): 16 validators on two
cores take 3-5 s of CPU for a round of a large block whichever path carries it.

``--tx-relay`` sets the nodes' ``[p2p] tx_relay`` (where the transactions each node's RPC took go: the next
leaders, or gossip to every node); ``--modes`` picks the propagations to run. Needs root (namespaces). The
last line is one JSON object with every figure per setting and ``ratio`` (coded TPS / gossip TPS at
25 Mbit/s, or at the uplink nearest to it).

    sudo .venv/bin/python bench/propagation.py --members 4,8,16 --mbit 10,25,50 --seconds 20 --tx-bytes 1000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devnet import NamespacedCluster, presign  # bench/devnet.py
from devnet import run as run_load

from harmony.chain.params import DEVELOPMENT_PRESETS, LOCALNET32, get_preset
from harmony.testnet.manifest import parse_document
from harmony.testnet.network import namespaces_available
from harmony.testnet.observe import interface_tx_bytes
from harmony.testnet.runner import Runner, RunOptions, make_substrate

MODES = ("gossip", "raptorq")
_ANNOUNCE = re.compile(r"announce block \d+ ([0-9a-f]+) bytes (\d+) at (\d+)")
_HELD = re.compile(r"held block \d+ ([0-9a-f]+) at (\d+)")
_CODED = re.compile(r"coded block \d+ ([0-9a-f]+) to \d+ peers uploaded (\d+) bytes")


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def first_announces(logs: dict[str, str], since_ms: int) -> dict[str, tuple[str, int, int]]:
    """Each block (by hash) whose first announce, by any node, came at or after ``since_ms``: who announced
    it, its size and when (Unix ms). A block first announced before (in the warm-up) and announced again
    in the window (a resend, a new view's leader) is not one: its holders had it already, and counting
    its later announce read as a 2/3 time near zero."""
    first: dict[str, tuple[str, int, int]] = {}
    for name, text in logs.items():
        for block, size, at in _ANNOUNCE.findall(text):
            if block not in first or int(at) < first[block][2]:
                first[block] = (name, int(size), int(at))
    return {block: seen for block, seen in first.items() if seen[2] >= since_ms}


class BlockTimes(NamedTuple):
    """What :func:`block_times` finds in the logs."""

    times: list[float]
    """Per block: ms from its first announce until ``ceil(2n/3)`` nodes held it (or until the logs were
    read, for a block that never reached them)."""
    undelivered: int
    """How many blocks never reached ``ceil(2n/3)`` nodes."""
    leader: str | None
    """The node that announced the most bytes."""
    leader_bytes: int
    """The bytes it announced."""
    leader_blocks: int
    """How many blocks those were."""


def block_times(
    logs: dict[str, str], members: int, announced: dict[str, tuple[str, int, int]], end_ms: int
) -> BlockTimes:
    """The 2/3 times of the blocks of ``announced`` (:func:`first_announces`) and their leader's share: a
    block that never reached ``ceil(2n/3)`` nodes counts until ``end_ms`` (when the logs were read), so that
    the blocks a slow propagation never delivered count at least as long as they went undelivered instead of
    dropping out of its figures."""
    held: dict[str, list[int]] = {}
    for text in logs.values():
        for block, at in _HELD.findall(text):
            held.setdefault(block, []).append(int(at))
    need = math.ceil(2 * members / 3) - 1  # the leader holds it already
    times: list[float] = []
    undelivered = 0
    by_leader: dict[str, int] = {}
    blocks_by: dict[str, int] = {}
    for block, (leader, size, at) in announced.items():
        arrivals = sorted(t - at for t in held.get(block, []))
        if need <= 0:
            times.append(0.0)
        elif len(arrivals) >= need:
            times.append(float(max(0, arrivals[need - 1])))
        else:
            undelivered += 1
            times.append(float(max(0, end_ms - at)))
        by_leader[leader] = by_leader.get(leader, 0) + size
        blocks_by[leader] = blocks_by.get(leader, 0) + 1
    if not by_leader:
        return BlockTimes(times, undelivered, None, 0, 0)
    leader = max(by_leader, key=lambda n: by_leader[n])
    return BlockTimes(times, undelivered, leader, by_leader[leader], blocks_by[leader])


def coded_upload(logs: dict[str, str], announced: dict[str, tuple[str, int, int]]) -> float | None:
    """Bytes the leaders' coded broadcasts sent (symbols, proofs and commitments, as the nodes count them)
    per byte of the blocks they coded, over the blocks of ``announced`` (:func:`first_announces`); None
    without any (gossip)."""
    sizes = {block: size for block, (_, size, _) in announced.items()}
    uploaded = block_bytes = 0
    for text in logs.values():
        for block, sent in _CODED.findall(text):
            if block in sizes:
                uploaded += int(sent)
                block_bytes += sizes.pop(block)  # a block's first broadcast only
    return uploaded / block_bytes if block_bytes else None


def warm_up(cluster: NamespacedCluster, blocks: int, timeout: float = 120.0) -> None:
    """Wait until the first node's head is ``blocks`` past where it is (so that, with ``blocks`` at least the
    committee size, every validator has led once and its peer is known to the others as a leader's)."""
    if blocks <= 0:
        return
    url = cluster.nodes(0)[0]["http"]
    target = cluster.height(url) + blocks
    deadline = time.monotonic() + timeout
    while cluster.height(url) < target:
        if time.monotonic() > deadline:
            print(f"   warm-up: not {blocks} blocks in {timeout:.0f} s; loading anyway", flush=True)
            return
        time.sleep(0.5)


def window_seconds(seconds: float, members: int) -> float:
    """The load window of a committee of ``members``: ``seconds`` per 4 validators (at least ``seconds``).

    On a small machine a larger committee finalizes fewer blocks a second (16 validators on 2 cores: 2-12
    in a 20 s window), and its 2/3 figures and TPS rest on the blocks first announced in the window: a
    window in proportion keeps about as many behind each figure.
    """
    return seconds * max(1.0, members / 4)


PHASE_TIMEOUT_MS = 5000
"""The testnet manifest's phase (view change) timeout, per 8 validators (:func:`phase_timeout_ms`)."""


def phase_timeout_ms(members: int) -> int:
    """The phase timeout of a committee of ``members``: 5 s per 8 validators, at least 5 s (Harmony: 27 s).

    On two cores, 16 validators share the machine's CPU 16 ways, so a round of a 900 KB block takes 3-5 s
    whatever carries it, and at 5 s both propagations spent most of a run in view changes (coded 14 TPS,
    gossip 17): the figures measured the timeout, not the links. At 10 s the coded path's rounds finish.
    """
    return PHASE_TIMEOUT_MS * max(1, members // 8)


def one_run(args: argparse.Namespace, members: int, mbit: int, mode: str, txs: Any) -> dict[str, Any]:
    """One testnet with one propagation: its figures."""
    seconds = window_seconds(args.seconds, members)
    timeout = phase_timeout_ms(members) if args.phase_timeout_ms is None else args.phase_timeout_ms
    manifest = parse_document(
        {
            "name": "propagation",
            "network": args.network,
            "shards": 1,
            "validators": members,
            "block_time_ms": args.block_time_ms,
            "regions": ["all"],
            "latency_ms": {"all-all": args.latency_ms},
            "bandwidth_mbit": mbit,
            "propagation": mode,
            "tx_relay": args.tx_relay,
            "phase_timeout_ms": timeout,
        }
    )
    root = Path(tempfile.mkdtemp(prefix=f"bench-propagation-{mode}-"))
    options = RunOptions(
        manifest, root, prefix=f"bp{os.getpid() % 100000}", quiet=True, accounts=len(txs)
    )  # every sender funded (the runner's genesis funds 20 by default)
    runner = Runner(options, make_substrate(options))
    try:
        runner.start_network()
        cluster = NamespacedCluster(runner)
        pids = {n["name"]: cluster.pid_of(n["name"]) for n in cluster.nodes(0)}
        warm_up(cluster, members if args.warmup_blocks is None else args.warmup_blocks)
        before = {name: interface_tx_bytes(pid) for name, pid in pids.items()}
        since_ms = time.time_ns() // 1_000_000
        load = run_load(cluster, txs, argparse.Namespace(**{**vars(args), "seconds": seconds}))
        sent = {name: interface_tx_bytes(pid) - before[name] for name, pid in pids.items()}
        fleet = runner.fleet
        assert fleet is not None
        end_ms = time.time_ns() // 1_000_000
        logs = {
            node.spec.name: (node.data / "node.log").read_text(encoding="utf-8", errors="replace")
            for node in fleet.nodes.values()
        }
    finally:
        runner.teardown()
        if not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)
    announced = first_announces(logs, since_ms)
    found = block_times(logs, members, announced, end_ms)
    leader, announced_bytes = found.leader, found.leader_bytes
    ratio = excess = None
    if leader is not None and announced_bytes:
        ratio = sent[leader] / announced_bytes
        others = [v for name, v in sent.items() if name != leader]
        excess = (sent[leader] - statistics.median(others)) / announced_bytes if others else None
    p50, p99 = percentile(found.times, 0.5), percentile(found.times, 0.99)
    coded = coded_upload(logs, announced)
    return {
        "seconds": seconds,
        "phase_timeout_ms": timeout,
        "tps": load["tps"],
        "coded_upload_ratio": None if coded is None else round(coded, 3),
        "upload_ratio": None if ratio is None else round(ratio, 3),
        "leader_excess_ratio": None if excess is None else round(excess, 3),
        # the size of the blocks the upload ratio is over (those of the leader who announced most)
        "announced_kib_per_block": round(announced_bytes / 1024 / max(1, found.leader_blocks), 1),
        "two_thirds_p50_ms": p50,
        "two_thirds_p99_ms": p99,
        "blocks": len(found.times),
        "undelivered": found.undelivered,
        "block_time_s": load.get("block_time_s"),
    }


def _show(value: Any) -> str:
    return "-" if value is None else f"{value}"


def main() -> int:
    """Run every setting; print a table and the JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--network",
        choices=DEVELOPMENT_PRESETS,
        default=LOCALNET32.name,
        help="the testnet's network preset (default %(default)s)",
    )
    parser.add_argument(
        "--members",
        default="4,8,16",
        help="committee sizes, 2 to the network's seats per shard (default %(default)s)",
    )
    parser.add_argument("--mbit", default="10,25,50", help="per-node uplinks in Mbit/s (default %(default)s)")
    parser.add_argument("--latency-ms", type=int, default=40, help="one-way delay (default %(default)s)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=20,
        help="load window per run of 4 validators (default %(default)s); a larger committee's window is "
        "longer in proportion (window_seconds)",
    )
    parser.add_argument("--rate", type=float, default=400, help="submitted tx/s (default %(default)s)")
    parser.add_argument(
        "--accounts", type=int, default=400, help="senders, each funded in the genesis (default %(default)s)"
    )
    parser.add_argument(
        "--window", type=int, default=5, help="unfinalized transactions per sender (default %(default)s)"
    )
    parser.add_argument("--block-time-ms", type=int, default=1000)
    parser.add_argument(
        "--phase-timeout-ms",
        type=int,
        default=None,
        help="the nodes' phase (view change) timeout (default: 5000 per 8 validators, phase_timeout_ms)",
    )
    parser.add_argument(
        "--tx-bytes",
        type=int,
        default=1000,
        help="calldata bytes per transfer, to make blocks large at a rate the CPU can carry (default "
        "%(default)s: 400 tx/s make 440 KB blocks, which a 25 Mbit/s uplink feels; plain transfers, 0, make "
        "the 2 cores, not the links, the bound)",
    )
    parser.add_argument(
        "--tx-relay",
        choices=("leaders", "gossip"),
        default="leaders",
        help="the nodes' [p2p] tx_relay (default %(default)s)",
    )
    parser.add_argument(
        "--warmup-blocks",
        type=int,
        default=None,
        help="blocks the network makes before the load (default: the committee size, so that every"
        " validator has led once and the others know its peer as a leader's; 0: load from the first block)",
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help="propagations to run, comma-separated (default %(default)s)"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep each run's folder (node logs)")
    args = parser.parse_args()
    modes = tuple(m for m in MODES if m in args.modes.split(","))
    if not modes or set(args.modes.split(",")) - set(MODES):
        print(f"--modes takes some of {', '.join(MODES)}", file=sys.stderr)
        return 2
    reason = namespaces_available()
    if reason is not None:
        print(f"bench/propagation.py needs network namespaces: {reason}", file=sys.stderr)
        return 2
    try:
        sizes = [int(x) for x in args.members.split(",")]
        uplinks = [int(x) for x in args.mbit.split(",")]
    except ValueError:
        print("--members and --mbit take comma-separated integers", file=sys.stderr)
        return 2
    seats = get_preset(args.network).seats_per_shard
    if not all(2 <= m <= seats for m in sizes) or not all(1 <= b <= 1000 for b in uplinks):
        print(
            f"--members must be 2-{seats} ({args.network}'s seats per shard) and --mbit 1-1000",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.tx_bytes <= 16_384:
        print("--tx-bytes must be 0-16384", file=sys.stderr)
        return 2
    if not 1 <= args.accounts <= 1000 or args.window < 1:
        print("--accounts must be 1-1000 and --window at least 1", file=sys.stderr)
        return 2
    accounts = args.accounts
    longest = max(window_seconds(args.seconds, members) for members in sizes)
    per_account = max(1, int(args.rate * longest / accounts) + 1)
    print(f"pre-signing {accounts * per_account} transfers …", flush=True)
    results: dict[str, dict[str, Any]] = {}
    for members in sizes:
        for mbit in uplinks:
            setting: dict[str, Any] = {}
            for mode in modes:
                print(f"== {members} validators, {mbit} Mbit/s, {args.latency_ms} ms: {mode}", flush=True)
                txs = presign(accounts, per_account, 0, args.tx_bytes)  # fresh nonces per network
                try:
                    setting[mode] = one_run(args, members, mbit, mode, txs)
                except Exception as exc:  # one failed setting must not lose the others' figures
                    print(f"   failed: {exc!r}", flush=True)
                    setting[mode] = {"error": repr(exc)[:200]}
            gossip_tps = setting.get("gossip", {}).get("tps")
            coded_tps = setting.get("raptorq", {}).get("tps")
            if gossip_tps and coded_tps is not None:
                setting["tps_ratio"] = round(coded_tps / gossip_tps, 3)
            g50 = setting.get("gossip", {}).get("two_thirds_p50_ms")
            c50 = setting.get("raptorq", {}).get("two_thirds_p50_ms")
            if g50 and c50 is not None:
                setting["two_thirds_ratio"] = round(c50 / g50, 3)
            results[f"{members}x{mbit}"] = setting
    print(
        f"{'setting':>10} {'mode':>8} {'tps':>7} {'coded':>6} {'upload':>7} {'excess':>7} {'KiB/blk':>7} "
        f"{'2/3 p50':>8} {'2/3 p99':>8} {'blocks':>6}"
    )
    for key, setting in results.items():
        for mode in modes:
            f = setting[mode]
            print(
                f"{key:>10} {mode:>8} {_show(f.get('tps')):>7} {_show(f.get('coded_upload_ratio')):>6} "
                f"{_show(f.get('upload_ratio')):>7} "
                f"{_show(f.get('leader_excess_ratio')):>7} {_show(f.get('announced_kib_per_block')):>7} "
                f"{_show(f.get('two_thirds_p50_ms')):>8} {_show(f.get('two_thirds_p99_ms')):>8} "
                f"{_show(f.get('blocks')):>6}"
            )
    nearest = min(uplinks, key=lambda b: abs(b - 25))
    ratios = [results[f"{m}x{nearest}"].get("tps_ratio") for m in sizes]
    known = [r for r in ratios if r is not None]
    ratio = statistics.median(known) if known else None
    print(f"coded TPS / gossip TPS at {nearest} Mbit/s (median over committees): {_show(ratio)}")
    print(
        json.dumps(
            {
                "network": args.network,
                "latency_ms": args.latency_ms,
                "tx_bytes": args.tx_bytes,
                "tx_relay": args.tx_relay,
                "warmup_blocks": "committee size" if args.warmup_blocks is None else args.warmup_blocks,
                "ratio_mbit": nearest,
                "ratio": ratio,
                "settings": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
