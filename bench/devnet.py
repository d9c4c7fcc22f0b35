"""Transfer load against a real local devnet: finalized TPS, latency to finality, block time, CPU and RSS.

Starts ``harmony devnet`` (1 shard, 4 validator processes by default) with many funded accounts, pre-signs
and pre-encodes Harmony-format transfers (our own signer) before the timed window, and submits them for
``--seconds`` at ``--rate`` transactions per second (by default 99.5 % of the nominal capacity, from 1,000
senders) in JSON-RPC batches of 100: one thread per node, each with a keep-alive connection, every sender's
transactions to one node in nonce order. A watcher polls the new blocks and records, for each transaction,
the time from its submission to the block that includes it being final.

Prints the figures and, last, one JSON object: ``tps`` (finalized transactions per second over the load
window), ``p50_latency_s``, ``p99_latency_s``, ``block_time_s`` (median), ``cpu_percent`` and ``rss_mb``
per node (median and max over the nodes), ``submitted``, ``finalized``, ``rejected``, and the capacity
figures of issue 16: ``nominal_tps`` (block gas limit / gas per transfer / configured block time),
``capacity_share`` (``tps`` over it) and ``cpu_ms_per_tx`` (CPU ms per finalized transaction, median over
the validators, drain included).

The validators run as validators do by default, without the per-address transaction index an explorer
keeps (``[storage] tx_history``); ``--tx-history`` adds it.

With ``--latency-ms`` or ``--bandwidth-mbit`` (root), the same load then runs a second time on the same
validators placed on a namespaced network (``harmony.testnet``: each node in its own namespace, the nodes
alternating between two regions that far apart one way, each capped up and down): both sets of figures
are printed, and the JSON object gains ``netns`` (the second set) and ``netns_over_loopback_tps``.

    .venv/bin/python bench/devnet.py --seconds 60 --block-time-ms 1000 --window 5
    sudo .venv/bin/python bench/devnet.py --seconds 30 --rate 300 --latency-ms 40 --bandwidth-mbit 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.crypto.secp256k1 import PrivateKey
from harmony.node.config import DEFAULT_PROPAGATION, PROPAGATIONS
from harmony.ops.memory import resident_memory
from harmony.testnet.manifest import parse_document
from harmony.testnet.network import namespaces_available
from harmony.testnet.runner import Runner, RunOptions, make_substrate
from harmony.types.transaction import Transaction
from harmony.types.tx_common import TX_GAS
from tests.e2e.devnet_fixture import rpc, start_devnet

GWEI = 10**9
BATCH = 100
UNCAPPED_MBIT = 1000
"""The namespaced pass's cap per node when ``--bandwidth-mbit`` is not given."""


class Cluster(Protocol):
    """What the load needs of a running network: its shard-0 nodes, their processes and heads."""

    def nodes(self, shard: int = 0) -> list[dict[str, Any]]:
        """The shard's nodes, each with ``name`` and ``http``."""
        ...

    def pid_of(self, name: str) -> int:
        """The process ID of node ``name``."""
        ...

    def height(self, url: str) -> int:
        """A node's head number."""
        ...


class NamespacedCluster:
    """The validators of a one-shard testnet manifest, each in its own namespace (``harmony.testnet``)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def nodes(self, shard: int = 0) -> list[dict[str, Any]]:
        """The shard's nodes, each with ``name`` and ``http``."""
        fleet = self.runner.fleet
        return [{"name": n.spec.name, "http": n.http} for n in fleet.nodes.values() if n.spec.shard == shard]

    def pid_of(self, name: str) -> int:
        """The process ID of node ``name`` (the program itself: ``ip netns exec`` execs it)."""
        return int(self.runner.fleet.nodes[name].proc.pid)

    def height(self, url: str) -> int:
        """A node's head number."""
        return int(rpc(url, "eth_blockNumber"), 16)


def run_namespaced(args: argparse.Namespace, txs: list[list[Transaction]], root: Path) -> dict[str, Any]:
    """The same load on the same validators, each in its own namespace, two regions ``--latency-ms`` apart."""
    manifest = parse_document(
        {
            "name": "bench",
            "shards": 1,
            "validators": args.validators,
            "block_time_ms": args.block_time_ms,
            "regions": ["eu", "us"],
            "latency_ms": {"eu-us": args.latency_ms or 0},
            "bandwidth_mbit": args.bandwidth_mbit or UNCAPPED_MBIT,
            "propagation": args.propagation,
            "tx_relay": args.tx_relay,
        }
    )
    # every sender of the loopback pass is funded here too (the runner's genesis funds 20 by default: with
    # them alone the pre-signed transfers ran out and the window held 20 x --window in flight)
    options = RunOptions(
        manifest, root, prefix=f"bd{os.getpid() % 100000}", quiet=True, accounts=args.accounts
    )
    runner = Runner(options, make_substrate(options))
    try:
        runner.start_network()
        return run(NamespacedCluster(runner), txs, args)
    finally:
        runner.teardown()


def post(url: str, body: list[dict[str, Any]], timeout: float = 30) -> list[dict[str, Any]]:
    """One JSON-RPC batch."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply: list[dict[str, Any]] = json.loads(response.read())
    return reply


def presign(accounts: int, per_account: int, shard: int, data_bytes: int = 0) -> list[list[Transaction]]:
    """``per_account`` transfers from each of ``accounts`` dev accounts, in nonce order, each carrying
    ``data_bytes`` of non-zero calldata (to make blocks large without more transactions)."""
    data = bytes(1 + i % 255 for i in range(data_bytes))
    gas = transfer_gas(data_bytes)
    out = []
    for a in range(accounts):
        key = dev_account_key(a)
        to = PrivateKey((a + 1).to_bytes(32, "big")).address
        out.append(
            [
                Transaction(n, 2 * GWEI, gas, shard, shard, to, 1, data).sign(key, LOCALNET.chain_id)
                for n in range(per_account)
            ]
        )
    return out


def transfer_gas(data_bytes: int) -> int:
    """Gas of a transfer carrying ``data_bytes`` of non-zero calldata (Istanbul: 16 gas per byte)."""
    return TX_GAS + 16 * data_bytes


def nominal_tps(block_time_ms: int, data_bytes: int) -> float:
    """What the chain could finalize per second at ``block_time_ms`` if every block were full of transfers
    carrying ``data_bytes`` of non-zero calldata: block gas limit / gas per transfer / block time."""
    return LOCALNET.gas_limit(0) // transfer_gas(data_bytes) / (block_time_ms / 1000)


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MB) of a process from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return cpu, rss


def rss_split(pid: int) -> tuple[float, float]:
    """(anonymous, file-backed) resident MB of a process: heap versus mapped files such as the LMDB map
    (:mod:`harmony.ops.memory`, what the node's metrics export)."""
    memory = resident_memory(pid)
    if memory is None:
        return 0.0, 0.0
    return memory.anon / 2**20, memory.files / 2**20


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--rate",
        type=float,
        help="submitted transactions per second (default: 99.5 %% of the nominal capacity at "
        "--block-time-ms, 1,421 at 1 s blocks: the chain can carry it, so the queue stays short and latency "
        "is the round's)",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=1000,
        help="senders, each with at most --window unfinalized (default %(default)s: with 400 the window held "
        "at most 2,000 in flight, which capped the load near 1,000 tx/s at 2 s to finality)",
    )
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--block-time-ms", type=int, default=1000)
    parser.add_argument("--keep-data", action="store_true", help="keep the devnet's folder (node logs)")
    parser.add_argument(
        "--tx-relay",
        choices=("leaders", "gossip"),
        default="leaders",
        help="the nodes' [p2p] tx_relay: RPC transactions straight to the next leaders, or on gossip "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--propagation",
        choices=PROPAGATIONS,
        default=DEFAULT_PROPAGATION,
        help="the nodes' [p2p] propagation: whole blocks on gossip, or RaptorQ-coded shares "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--tx-history",
        action="store_true",
        help="the loopback devnet's validators also keep the per-address transaction index, an explorer's "
        "work (default: not, as a validator does by default)",
    )
    parser.add_argument(
        "--commit-window-ms",
        type=int,
        help="the nodes' [consensus] commit_window_ms (default: the node's)",
    )
    parser.add_argument(
        "--window", type=int, default=5, help="unfinalized transactions per sender at most (default 5)"
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        help="also run on namespaces (root): one-way delay between the two regions the nodes alternate in",
    )
    parser.add_argument(
        "--bandwidth-mbit",
        type=int,
        help=f"also run on namespaces (root): each node's cap up and down (default {UNCAPPED_MBIT})",
    )
    args = parser.parse_args()
    if args.block_time_ms < 1 or (args.rate is not None and args.rate <= 0) or args.seconds <= 0:
        print("--block-time-ms must be at least 1, --rate and --seconds above 0", file=sys.stderr)
        return 2
    if args.rate is None:
        args.rate = round(0.995 * nominal_tps(args.block_time_ms, 0))
    namespaced = args.latency_ms is not None or args.bandwidth_mbit is not None
    if namespaced:
        reason = namespaces_available()
        if reason is not None:
            print(f"--latency-ms/--bandwidth-mbit: {reason}", file=sys.stderr)
            return 2
        if (
            not 0 <= (args.latency_ms or 0) <= 5000
            or not 1 <= (args.bandwidth_mbit or UNCAPPED_MBIT) <= 10_000
        ):
            print("--latency-ms must be 0-5000 and --bandwidth-mbit 1-10000", file=sys.stderr)
            return 2
    if not 1 <= args.accounts <= 1000:  # the devnet's and the testnet's genesis fund at most 1,000
        print("--accounts must be 1-1000", file=sys.stderr)
        return 2
    per_account = max(1, int(args.rate * args.seconds / args.accounts) + 1)
    print(f"pre-signing {args.accounts * per_account} transfers …", flush=True)
    txs = presign(args.accounts, per_account, 0)
    root = Path(tempfile.mkdtemp(prefix="bench-devnet-"))
    net = start_devnet(
        root,
        "--shards",
        "1",
        "--validators",
        str(args.validators),
        "--accounts",
        str(args.accounts),
        "--block-time-ms",
        str(args.block_time_ms),
        "--tx-relay",
        args.tx_relay,
        "--propagation",
        args.propagation,
        "--tx-history" if args.tx_history else "--no-tx-history",
        *(() if args.commit_window_ms is None else ("--commit-window-ms", str(args.commit_window_ms))),
    )
    try:
        figures = run(net, txs, args)
        figures["tx_relay"] = args.tx_relay
        figures["propagation"] = args.propagation
        figures["tx_history"] = args.tx_history
    finally:
        net.stop()
        if not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)
    if namespaced:
        print(
            f"== the same load on namespaces: {args.latency_ms or 0} ms one way between two regions, "
            f"{args.bandwidth_mbit or UNCAPPED_MBIT} Mbit/s per node",
            flush=True,
        )
        root = Path(tempfile.mkdtemp(prefix="bench-devnet-netns-"))
        try:
            figures["netns"] = run_namespaced(args, txs, root)
        finally:
            if not args.keep_data:
                shutil.rmtree(root, ignore_errors=True)
        figures["netns_over_loopback_tps"] = round(figures["netns"]["tps"] / max(figures["tps"], 1e-9), 3)
        print(
            f"finalized TPS: loopback {figures['tps']:.0f}, namespaces {figures['netns']['tps']:.0f} "
            f"(ratio {figures['netns_over_loopback_tps']:.3f}); "
            f"p50 latency {figures['p50_latency_s']:.2f} s vs "
            f"{figures['netns']['p50_latency_s']:.2f} s; block time {figures['block_time_s']:.2f} s vs "
            f"{figures['netns']['block_time_s']:.2f} s"
        )
    print(json.dumps(figures))
    return 0


def run(net: Cluster, txs: list[list[Transaction]], args: argparse.Namespace) -> dict[str, Any]:
    """Load, watch, print the figures; return them."""
    urls = [n["http"] for n in net.nodes(0)]
    pids = {n["name"]: net.pid_of(n["name"]) for n in net.nodes(0)}
    submitted: dict[str, float] = {}
    finalized: dict[str, float] = {}
    block_times: list[float] = []
    reasons: Counter[str] = Counter()
    stop = threading.Event()
    start_height = net.height(urls[0])
    # everything a submission sends is encoded before the timed window: per sender, in nonce order,
    # (hash, the raw transaction as a JSON string)
    encoded = [
        [("0x" + tx.hash().hex(), json.dumps("0x" + tx.encode().hex())) for tx in mine] for mine in txs
    ]
    sender_of = {h: a for a, mine in enumerate(encoded) for h, _ in mine}
    final_count = [0] * len(encoded)
    """Per sender: how many of its transactions are final (the watcher counts them)."""

    def watch() -> None:
        height = start_height
        last_seen: float | None = None
        while not stop.is_set():
            try:
                head = net.height(urls[0])
            except OSError:
                time.sleep(0.1)
                continue
            while height < head:
                height += 1
                block = rpc(urls[0], "hmyv2_getBlockByNumber", [height, {"fullTx": False, "inclTx": True}])
                now = time.monotonic()
                for tx_hash in block.get("transactions", []):
                    h = tx_hash if isinstance(tx_hash, str) else tx_hash["hash"]
                    if h not in finalized:
                        finalized[h] = now
                        if h in sender_of:
                            final_count[sender_of[h]] += 1
                if last_seen is not None:
                    block_times.append(now - last_seen)
                last_seen = now
            time.sleep(0.05)

    counts = {"retried": 0, "rejected": 0}
    lock = threading.Lock()

    def submit(url: str, senders: list[int]) -> None:
        """One node's senders: at ``rate / nodes`` per second, at most ``--window`` unfinalized per sender
        (a wallet does not run far ahead of the chain), one transaction per sender per batch, nonce order."""
        parsed = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
        rate = args.rate / len(urls)
        next_index = dict.fromkeys(senders, 0)
        sent = 0
        cursor = 0
        while time.monotonic() - t0 < args.seconds:
            room = min(BATCH, int((time.monotonic() - t0) * rate) - sent)
            batch: list[tuple[int, int]] = []
            for step in range(len(senders)):
                if len(batch) >= room:
                    break
                a = senders[(cursor + step) % len(senders)]
                i = next_index[a]
                if i < len(encoded[a]) and i - final_count[a] < args.window:
                    batch.append((a, i))
                    next_index[a] = i + 1
            cursor = (cursor + len(batch)) % len(senders)
            if not batch:
                time.sleep(0.01)
                continue
            body = ",".join(
                f'{{"jsonrpc":"2.0","id":{k},"method":"hmyv2_sendRawTransaction","params":[{encoded[a][i][1]}]}}'
                for k, (a, i) in enumerate(batch)
            )
            now = time.monotonic()
            try:
                conn.request("POST", "/", "[" + body + "]", {"Content-Type": "application/json"})
                replies = json.loads(conn.getresponse().read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                print(f"submit failed: {exc}", flush=True)
                conn.close()
                replies = [{"error": {"message": "pool is full (connection)"}}] * len(batch)
            full = False
            with lock:
                for (a, i), reply in zip(batch, replies, strict=True):
                    if "error" not in reply:
                        submitted[encoded[a][i][0]] = now
                        sent += 1
                    elif "pool is full" in str(reply["error"].get("message", "")):
                        next_index[a] = min(next_index[a], i)  # resubmit later, same nonce order
                        counts["retried"] += 1
                        full = True
                    else:
                        counts["rejected"] += 1
                        reasons[str(reply["error"].get("message", ""))[:60]] += 1
            time.sleep(0.25 if full else 0.005)
        conn.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    cpu0 = {name: proc_stats(pid)[0] for name, pid in pids.items()}
    own0 = proc_stats(os.getpid())[0]
    print(f"submitting at {args.rate:.0f} tx/s for {args.seconds:.0f} s to {len(urls)} nodes …", flush=True)
    t0 = time.monotonic()
    submitters = [
        threading.Thread(target=submit, args=(url, list(range(k, len(encoded), len(urls)))), daemon=True)
        for k, url in enumerate(urls)
    ]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join()
    retried, rejected = counts["retried"], counts["rejected"]
    load_end = time.monotonic()
    # let the pool drain for up to 10 block times
    deadline = load_end + 10 * args.block_time_ms / 1000
    while time.monotonic() < deadline and len(set(submitted) & set(finalized)) < len(submitted):
        time.sleep(0.2)
    stop.set()
    watcher.join(5)
    elapsed = time.monotonic() - t0
    cpu1 = {name: proc_stats(pid) for name, pid in pids.items()}
    split = {name: rss_split(pid) for name, pid in pids.items()}
    own_cpu = 100 * (proc_stats(os.getpid())[0] - own0) / (time.monotonic() - t0)
    done = [finalized[h] - submitted[h] for h in submitted if h in finalized]
    in_window = sum(1 for h in submitted if h in finalized and finalized[h] <= load_end)
    tps = in_window / (load_end - t0)
    lat = sorted(done)
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    cpu = {name: 100 * (cpu1[name][0] - cpu0[name]) / elapsed for name in pids}
    rss = {name: cpu1[name][1] for name in pids}
    block_time = statistics.median(block_times) if block_times else float("nan")
    data_bytes = getattr(args, "tx_bytes", 0)
    gas_per_tx = transfer_gas(data_bytes)
    nominal = nominal_tps(args.block_time_ms, data_bytes)
    cpu_ms = {name: 1000 * (cpu1[name][0] - cpu0[name]) / len(done) for name in pids} if done else {}
    cpu_ms_per_tx = statistics.median(cpu_ms.values()) if cpu_ms else float("nan")  # nothing finalized
    print(f"submitted {len(submitted)} ({rejected} rejected, {retried} resubmissions after 'pool full')")
    print(f"finalized {len(done)}")
    for reason, count in reasons.most_common(5):
        print(f"  rejected {count}: {reason}")
    print(f"finalized TPS over the load window: {tps:.0f}")
    print(
        f"nominal capacity {nominal:.0f} tx/s (gas limit / {gas_per_tx} gas per transfer / block time): "
        f"{100 * tps / nominal:.1f} % of it; CPU per finalized transaction per validator (median) "
        f"{cpu_ms_per_tx:.3f} ms"
    )
    print(
        f"latency submission→finality: p50 {p50:.2f} s, p99 {p99:.2f} s; median block time {block_time:.2f} s"
    )
    for name in pids:
        anon, mapped = split[name]
        print(
            f"  {name}: CPU {cpu[name]:.0f} %, RSS {rss[name]:.0f} MB "
            f"({anon:.0f} MB heap, {mapped:.0f} MB mapped files)"
        )
    print(f"  this load generator: CPU {own_cpu:.0f} %")
    return {
        "tps": round(tps, 1),
        "p50_latency_s": round(p50, 3),
        "p99_latency_s": round(p99, 3),
        "block_time_s": round(block_time, 3),
        "nominal_tps": round(nominal, 1),
        "capacity_share": round(tps / nominal, 3),
        "cpu_ms_per_tx": round(cpu_ms_per_tx, 3),
        "cpu_percent_median": round(statistics.median(cpu.values()), 1),
        "rss_mb_max": round(max(rss.values()), 1),
        "rss_heap_mb_max": round(max(a for a, _ in split.values()), 1),
        "load_generator_cpu_percent": round(own_cpu, 1),
        "submitted": len(submitted),
        "finalized": len(done),
        "rejected": rejected,
        "validators": len(pids),
    }


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
