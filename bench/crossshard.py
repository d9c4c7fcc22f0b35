"""Cross-shard latency on a real 2-shard devnet: from a transfer's finality on its source shard to the credit
on its destination shard (issue 6; reference §6.4).

Starts ``harmony devnet`` with 2 shards × 4 validator processes, then sends ``--transfers`` Harmony-format
transfers (our own signer), alternating shard 0 → 1 and 1 → 0, each from its own funded account to a fresh
recipient, ``--parallel`` at a time. For each it polls, every ``--poll-ms``: the source node until the
transfer's receipt is there (the source block is final and stored), then the destination node until the
recipient's balance holds the amount. The latency is the time between the two observations; it includes
the relay over the global topic, proof verification (the source committee's BLS aggregate), the next
destination block and its finality.

Prints p50, p99 and max latency, both shards' mean block time over the run and the goal (2 block times);
the last line is one JSON object with ``p50_latency_s``, ``p99_latency_s``, ``max_latency_s``,
``block_time_s`` (per shard), ``goal_s`` and ``ratio`` (p50 over the goal: at most 1 meets it).

    .venv/bin/python bench/crossshard.py --transfers 40 --block-time-ms 1000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32
from harmony.types.transaction import Transaction
from tests.e2e.devnet_fixture import Devnet, rpc, start_devnet

GWEI = 10**9


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transfers", type=int, default=40, help="transfers to time (default 40)")
    parser.add_argument("--parallel", type=int, default=4, help="transfers in flight at once (default 4)")
    parser.add_argument("--block-time-ms", type=int, default=1000)
    parser.add_argument("--poll-ms", type=int, default=100, help="polling interval (default 100 ms)")
    parser.add_argument("--keep-data", action="store_true", help="keep the devnet's folder (node logs)")
    args = parser.parse_args()
    if not 1 <= args.transfers <= 1000 or not 1 <= args.parallel <= 50:
        parser.error("--transfers 1..1000, --parallel 1..50")
    root = Path(tempfile.mkdtemp(prefix="bench-crossshard-"))
    accounts = args.transfers + 2
    print(f"starting a 2-shard devnet with {accounts} funded accounts …", flush=True)
    net = start_devnet(
        root,
        "--shards", "2",
        "--validators", "4",
        "--accounts", str(accounts),
        "--block-time-ms", str(args.block_time_ms),
        "--phase-timeout-ms", "5000",
    )  # fmt: skip
    try:
        return run(net, args)
    finally:
        net.stop()
        if not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)


def one_transfer(net: Devnet, index: int, poll: float, out: dict[int, dict[str, Any]]) -> None:
    """Send transfer ``index`` and record when it is final on its source and credited on its destination."""
    src = index % 2
    dst = 1 - src
    key = dev_account_key(index)
    to = PrivateKey((0x5000 + index).to_bytes(32, "big")).address
    amount = (index + 1) * GWEI
    src_url, dst_url = net.url(src, index % 4), net.url(dst, (index + 1) % 4)
    tx = Transaction(0, GWEI, 21_000, src, dst, to, amount).sign(key, LOCALNET.chain_id)
    sent = time.monotonic()
    tx_hash = rpc(src_url, "hmyv2_sendRawTransaction", ["0x" + tx.encode().hex()])
    record: dict[str, Any] = {"src": src, "sent": sent}
    deadline = sent + 120
    while time.monotonic() < deadline:
        if rpc(src_url, "hmyv2_getTransactionReceipt", [tx_hash]):
            record["final"] = time.monotonic()
            break
        time.sleep(poll)
    while "final" in record and time.monotonic() < deadline:
        if int(rpc(dst_url, "hmyv2_getBalance", [to_bech32(to)])) >= amount:
            record["credited"] = time.monotonic()
            break
        time.sleep(poll)
    out[index] = record


def block_time(url: str, first: int, last: int) -> float:
    """Mean seconds between blocks ``first..last`` of a node, from their header times (whole seconds, so
    the mean over the run, not a per-block median)."""
    if last <= first:
        return 0.0

    def stamp(n: int) -> int:
        value = rpc(url, "hmyv2_getBlockByNumber", [n, {"fullTx": False}])["timestamp"]
        return int(value, 0) if isinstance(value, str) else int(value)

    return (stamp(last) - stamp(first)) / (last - first)


def run(net: Devnet, args: argparse.Namespace) -> int:
    poll = args.poll_ms / 1000
    heads = [net.height(net.url(s, 0)) for s in (0, 1)]
    out: dict[int, dict[str, Any]] = {}
    started = time.monotonic()
    for batch_start in range(0, args.transfers, args.parallel):
        threads = [
            threading.Thread(target=one_transfer, args=(net, i, poll, out))
            for i in range(batch_start, min(args.transfers, batch_start + args.parallel))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done = len([r for r in out.values() if "credited" in r])
        print(f"  {done}/{len(out)} transfers credited ({time.monotonic() - started:.0f} s)", flush=True)
    latencies = sorted(r["credited"] - r["final"] for r in out.values() if "credited" in r)
    lost = len(out) - len(latencies)
    ends = [net.height(net.url(s, 0)) for s in (0, 1)]
    block_times = [block_time(net.url(s, 0), heads[s] + 1, ends[s]) for s in (0, 1)]
    if not latencies:
        print("no transfer was credited", flush=True)
        return 1
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    goal = 2 * max(block_times)
    print(f"transfers credited: {len(latencies)} of {len(out)} ({lost} not within 120 s)")
    print(
        f"source finality → destination credit: p50 {p50:.2f} s, p99 {p99:.2f} s, max {latencies[-1]:.2f} s"
    )
    print(f"block time (mean): shard 0 {block_times[0]:.2f} s, shard 1 {block_times[1]:.2f} s")
    print(f"goal: within 2 block times = {goal:.2f} s; p50 / goal = {p50 / goal:.2f}")
    figures = {
        "transfers": len(out),
        "credited": len(latencies),
        "p50_latency_s": round(p50, 3),
        "p99_latency_s": round(p99, 3),
        "max_latency_s": round(latencies[-1], 3),
        "block_time_s": [round(b, 3) for b in block_times],
        "goal_s": round(goal, 3),
        "ratio": round(p50 / goal, 3),
    }
    print(json.dumps(figures), flush=True)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
