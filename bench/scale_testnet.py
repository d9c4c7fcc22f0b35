"""The real side of the network model's calibration (issue 19): a namespaced testnet measured over JSON-RPC.

Builds, with the testnet runner (``harmony.testnet.runner``, prefix ``--prefix``, default ``c19``), 2 shards ×
4 validators on namespaces with ``testnets/small.toml``'s regions, one-way latency and bandwidth, no
perturbations, no full node. Then:

1. **idle** (``--idle-seconds``, no load): the nodes' CPU (``/proc``) per block: what a round costs a node;
2. **load** (``--seconds``): pre-signed transfers at ``--rate`` per second over both shards (a share
   ``--cross-share`` to the other shard), sent in JSON-RPC batches to the shard's validators in turn;
   meanwhile a transfer at a time per direction from its own account to a fresh recipient is timed from
   its submission until the destination's balance holds it (polled every 100 ms). A poller per shard
   records when each new head appears. Measured: finalized transactions per shard in the window (from the
   blocks themselves), the median interval between heads, the cross-shard latencies, the nodes' CPU and
   everything else's CPU on the machine (``/proc/stat``): other users, this load generator, the router.

Prints the figures; the last line is one JSON object (``harmony.sim.calibration.parse_testnet_figures``
reads it). ``bench/scale.py`` imports :func:`measure_testnet` and runs the model in the same run. Needs root.

    sudo .venv/bin/python bench/scale_testnet.py --seconds 150 --rate 40
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from devnet import proc_stats  # bench/devnet.py

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32
from harmony.testnet.load import GAS_PRICE, GWEI, TRANSFER_GAS
from harmony.testnet.manifest import Manifest, load_manifest, parse_document
from harmony.testnet.network import namespaces_available
from harmony.testnet.runner import ACCOUNTS, Runner, RunOptions, make_substrate
from harmony.types.transaction import Transaction

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "testnets" / "small.toml"
LOAD_SENDERS = 16
"""Development accounts 0..15 send the load (on both shards); the next ones time cross-shard transfers."""
PROBES = (0, 1, 0, 1)
"""The source shard of each timed cross-shard prober (accounts 16..19)."""
POLL_S = 0.1
HEAD_POLL_S = 0.05
PROBE_TIMEOUT_S = 90.0
TICK_S = 0.2


def manifest(shards: int, validators: int, scenario: Path = SCENARIO) -> Manifest:
    """``scenario``'s links, regions and timing for ``shards`` × ``validators``, without its perturbations,
    full nodes or load (this bench sends its own)."""
    small = load_manifest(scenario)
    return parse_document(
        {
            "name": "calibration",
            "shards": shards,
            "validators": validators,
            "block_time_ms": small.block_time_ms,
            "phase_timeout_ms": small.phase_timeout_ms,
            "bandwidth_mbit": small.nodes[0].uplink_mbit,
            "regions": list(small.regions),
            "latency_ms": {f"{a}-{b}": ms for (a, b), ms in small.latency_ms.items()},
            "propagation": small.propagation,
        }
    )


class Rpc:
    """One keep-alive JSON-RPC connection (a poller's own)."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def call(self, body: object) -> Any:
        """Send ``body`` (one request or a batch); the decoded reply. Reconnects once on a broken line."""
        data = json.dumps(body)
        for attempt in (0, 1):
            try:
                self.conn.request("POST", "/", data, {"Content-Type": "application/json"})
                return json.loads(self.conn.getresponse().read())
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                if attempt:
                    raise
        return None

    def result(self, method: str, params: list[Any]) -> Any:
        """One call's result; ValueError on a JSON-RPC error."""
        reply = self.call({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        if "error" in reply:
            raise ValueError(reply["error"])
        return reply["result"]


@dataclass
class Heads:
    """When each new head of a shard appeared (polled)."""

    url: str
    seen: list[tuple[float, int]] = field(default_factory=list)
    views: dict[int, int] = field(default_factory=dict)
    """Each seen head's view ID."""

    def run(self, stop: threading.Event) -> None:
        rpc = Rpc(self.url)
        while not stop.is_set():
            try:
                header = rpc.result("hmyv2_latestHeader", [])
                head, view = int(header["blockNumber"]), int(header["viewID"])
            except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException):
                time.sleep(HEAD_POLL_S)
                continue
            if not self.seen or head > self.seen[-1][1]:
                self.seen.append((time.monotonic(), head))
                self.views[head] = view
            time.sleep(HEAD_POLL_S)

    def view_changes(self, first: int, last: int) -> int:
        """Views beyond one per block between the heads ``first`` and ``last`` (both seen)."""
        if first not in self.views or last not in self.views:
            return 0
        return max(0, self.views[last] - self.views[first] - (last - first))

    def at(self, moment: float) -> int:
        """The head seen last at or before ``moment``."""
        before = [h for t, h in self.seen if t <= moment]
        return before[-1] if before else (self.seen[0][1] if self.seen else 0)

    def intervals(self, begin: float, end: float) -> list[float]:
        """Seconds per block between consecutive observations inside ``[begin, end]``."""
        inside = [(t, h) for t, h in self.seen if begin <= t <= end]
        out: list[float] = []
        for (t0, h0), (t1, h1) in itertools.pairwise(inside):
            out += [(t1 - t0) / (h1 - h0)] * (h1 - h0)
        return out


def machine_busy_s() -> tuple[float, int]:
    """(CPU seconds the whole machine was busy since boot, cores) from ``/proc/stat``."""
    with open("/proc/stat", encoding="ascii") as f:
        cpu = f.readline().split()[1:]
    values = [int(v) for v in cpu[:8]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1


def presign(rate: float, seconds: float, shards: int, share: float, seed: int) -> list[list[str]]:
    """Per shard, the load's raw transactions in sending order (round robin over the senders, each in
    nonce order); a share ``share`` credits another shard."""
    rng = random.Random(seed)
    per_shard = int(rate * seconds / shards) + 10
    out = []
    for shard in range(shards):
        keys = [dev_account_key(a) for a in range(LOAD_SENDERS)]
        raws = []
        for i in range(per_shard):
            sender, nonce = i % LOAD_SENDERS, i // LOAD_SENDERS
            to_shard = shard
            if shards > 1 and rng.random() < share:
                to_shard = (shard + 1 + rng.randrange(shards - 1)) % shards
            to = PrivateKey(keccak_seed(seed, sender)).address
            tx = Transaction(nonce, GAS_PRICE, TRANSFER_GAS, shard, to_shard, to, GWEI, b"")
            raws.append("0x" + tx.sign(keys[sender], LOCALNET.chain_id).encode().hex())
        out.append(raws)
    return out


def keccak_seed(seed: int, index: int) -> bytes:
    """A deterministic private key for recipient ``index`` of run ``seed``."""
    return keccak256(f"calibration-{seed}-{index}".encode())


def send_load(urls: list[str], raws: list[str], rate: float, until: float, accepted: list[int]) -> None:
    """Send ``raws`` at ``rate`` per second in batches, each batch to the next node of the shard."""
    rpcs = [Rpc(u) for u in urls]
    start, sent, turn = time.monotonic(), 0, 0
    while (now := time.monotonic()) < until and sent < len(raws):
        due = min(len(raws), int((now - start) * rate) + 1)
        if due > sent:
            batch = [
                {"jsonrpc": "2.0", "id": k, "method": "hmyv2_sendRawTransaction", "params": [raw]}
                for k, raw in enumerate(raws[sent:due])
            ]
            try:
                replies = rpcs[turn % len(rpcs)].call(batch)
                accepted[0] += sum(1 for r in replies if "error" not in r)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                print(f"  a load batch failed: {exc}", flush=True)
            sent, turn = due, turn + 1
        time.sleep(TICK_S)


def probe(
    account: int, route: tuple[int, int], urls: tuple[str, str], until: float, out: list[float]
) -> None:
    """Time cross-shard transfers from ``account`` one at a time along ``route`` (source shard,
    destination shard; ``urls`` a node of each): submission until the destination's balance holds it."""
    key = dev_account_key(account)
    shard, to_shard = route
    src, dst = Rpc(urls[0]), Rpc(urls[1])
    nonce = 0
    while time.monotonic() < until:
        to = PrivateKey(keccak_seed(10_000 + account, nonce)).address
        tx = Transaction(nonce, GAS_PRICE, TRANSFER_GAS, shard, to_shard, to, GWEI, b"")
        raw = "0x" + tx.sign(key, LOCALNET.chain_id).encode().hex()
        began = time.monotonic()
        try:
            src.result("hmyv2_sendRawTransaction", [raw])
        except (OSError, ValueError, http.client.HTTPException) as exc:
            print(f"  a timed transfer was refused: {str(exc)[:200]}", flush=True)
            time.sleep(1.0)
            continue
        nonce += 1
        while time.monotonic() - began < PROBE_TIMEOUT_S:
            try:
                if int(dst.result("hmyv2_getBalance", [to_bech32(to)])) >= GWEI:
                    out.append(time.monotonic() - began)
                    break
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(POLL_S)


def count_txs(url: str, first: int, last: int) -> int:
    """Transactions in blocks ``first..last`` of a node."""
    if last < first:
        return 0
    blocks = Rpc(url).result("hmyv2_getBlocks", [first, last, {"withSigners": False}])
    return sum(len(b["transactions"]) for b in blocks)


def cpu_of(pids: list[int]) -> float:
    """CPU seconds of processes so far."""
    return sum(proc_stats(p)[0] for p in pids)


def measure_testnet(
    *,
    seconds: float,
    idle_seconds: float,
    rate: float,
    cross_share: float,
    prefix: str,
    shards: int = 2,
    validators: int = 4,
    seed: int = 0,
    keep: bool = False,
) -> dict[str, Any]:
    """Run the testnet (module docstring) and return its figures as ``parse_testnet_figures`` reads them."""
    m = manifest(shards, validators)
    if LOAD_SENDERS + len(PROBES) > ACCOUNTS:
        raise RuntimeError(f"the testnet genesis funds {ACCOUNTS} accounts; this bench needs more")
    print(f"  pre-signing {rate * seconds:.0f} transfers …", flush=True)
    raws = presign(rate, seconds, shards, cross_share, seed)
    root = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    options = RunOptions(m, root, prefix=prefix, quiet=True, seed=seed)
    runner = Runner(options, make_substrate(options))
    stop = threading.Event()
    try:
        began = time.monotonic()
        runner.start_network()
        assert runner.fleet is not None
        nodes = list(runner.fleet.nodes.values())
        print(f"  {len(nodes)} nodes up in {time.monotonic() - began:.0f} s", flush=True)
        pids = [int(n.proc.pid) for n in nodes if n.proc is not None]
        urls = {s: [n.http for n in nodes if n.spec.shard == s] for s in range(shards)}
        heads = [Heads(urls[s][0]) for s in range(shards)]
        pollers = [threading.Thread(target=h.run, args=(stop,), daemon=True) for h in heads]
        for t in pollers:
            t.start()
        # idle phase
        time.sleep(2.0)
        i0, cpu_i0 = time.monotonic(), cpu_of(pids)
        time.sleep(idle_seconds)
        i1, cpu_i1 = time.monotonic(), cpu_of(pids)
        idle_blocks = sum(h.at(i1) - h.at(i0) for h in heads)
        print(f"  idle {i1 - i0:.0f} s: {idle_blocks} blocks, nodes' CPU {cpu_i1 - cpu_i0:.1f} s", flush=True)
        # loaded window
        t0 = time.monotonic()
        until = t0 + seconds
        cpu0, (busy0, cores) = cpu_of(pids), machine_busy_s()
        accepted = [[0] for _ in range(shards)]
        latencies: list[float] = []
        threads = [
            threading.Thread(target=send_load, args=(urls[s], raws[s], rate / shards, until, accepted[s]))
            for s in range(shards)
        ]
        for k, source in enumerate(PROBES[: 2 * shards] if shards > 1 else ()):
            to_shard = 1 - source
            pair = (urls[source][k % validators], urls[to_shard][0])
            args = (LOAD_SENDERS + k, (source, to_shard), pair, until, latencies)
            threads.append(threading.Thread(target=probe, args=args, daemon=True))
        for t in threads:
            t.start()
        time.sleep(max(0.0, until - time.monotonic()))
        t1 = time.monotonic()
        cpu1, (busy1, _) = cpu_of(pids), machine_busy_s()
        for t in threads:
            t.join(PROBE_TIMEOUT_S)
        stop.set()
        per_shard = []
        for s, h in enumerate(heads):
            first, last = h.at(t0), h.at(t1)
            txs = count_txs(urls[s][0], first + 1, last)
            per_shard.append(
                {
                    "txs": txs,
                    "blocks": last - first,
                    "block_intervals_s": h.intervals(t0, t1),
                    "view_changes": h.view_changes(first, last),
                }
            )
        nodes_cpu = cpu1 - cpu0
        figures = {
            "shards": shards,
            "validators": validators,
            "latency_ms": float(max(m.latency_ms.values(), default=0)),
            "bandwidth_mbit": float(m.nodes[0].uplink_mbit),
            "block_time_s": m.block_time_ms / 1000,
            "phase_timeout_s": m.phase_timeout_ms / 1000,
            "cross_shard_share": cross_share,
            "window_s": round(t1 - t0, 3),
            "offered_tps": round((sum(a[0] for a in accepted) + len(latencies)) / (t1 - t0), 3),
            "per_shard": per_shard,
            "cross_latencies_s": [round(v, 3) for v in latencies],
            "idle_s": round(i1 - i0, 3),
            "idle_blocks": max(1, idle_blocks),
            "idle_cpu_s": round(cpu_i1 - cpu_i0, 3),
            "load_cpu_s": round(nodes_cpu, 3),
            "cores": float(cores),
            "other_cpu_s": round(min(cores * (t1 - t0), max(0.0, busy1 - busy0 - nodes_cpu)), 3),
        }
        return figures
    finally:
        stop.set()
        runner.teardown()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def summary(figures: dict[str, Any]) -> str:
    """The measured figures in a few lines."""
    lines = []
    for s, shard in enumerate(figures["per_shard"]):
        median = statistics.median(shard["block_intervals_s"]) if shard["block_intervals_s"] else 0.0
        lines.append(
            f"  shard {s}: {shard['txs'] / figures['window_s']:.1f} TPS final, {shard['blocks']} blocks, "
            f"median interval {median:.3f} s, {shard['view_changes']} view changes"
        )
    lat = figures["cross_latencies_s"]
    if lat:
        lines.append(
            f"  cross-shard: {len(lat)} timed, p50 {statistics.median(lat):.2f} s, max {max(lat):.2f} s"
        )
    window = figures["window_s"]
    lines.append(
        f"  nodes' CPU {figures['load_cpu_s'] / window:.2f} cores loaded "
        f"({figures['idle_cpu_s'] / figures['idle_s']:.2f} idle); everything else on the machine "
        f"{figures['other_cpu_s'] / window:.2f} of {figures['cores']:.0f} cores"
    )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The testnet's options (shared with ``bench/scale.py``)."""
    parser.add_argument("--testnet-seconds", type=float, default=150, help="loaded window (default 150 s)")
    parser.add_argument("--idle-seconds", type=float, default=20, help="idle phase (default 20 s)")
    parser.add_argument(
        "--testnet-rate", type=float, default=20, help="offered tx/s, all shards (default 20)"
    )
    parser.add_argument("--cross-share", type=float, default=0.3, help="cross-shard share (default 0.3)")
    parser.add_argument("--prefix", default="c19", help="namespace prefix, distinct per concurrent run")
    parser.add_argument("--keep-data", action="store_true", help="keep the nodes' folders (logs)")


def check_arguments(args: argparse.Namespace) -> str | None:
    """A one-line complaint naming the bad option, or None."""
    checks = [
        ("--testnet-seconds", 10 <= args.testnet_seconds <= 3_600, "10..3600"),
        ("--idle-seconds", 5 <= args.idle_seconds <= 600, "5..600"),
        ("--testnet-rate", 0 < args.testnet_rate <= 2_000, "above 0, at most 2000"),
        ("--cross-share", 0 <= args.cross_share <= 1, "0..1"),
    ]
    for name, ok, allowed in checks:
        if not ok:
            return f"{name}: must be {allowed}"
    return None


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`measure_testnet` with the parsed options."""
    return measure_testnet(
        seconds=args.testnet_seconds,
        idle_seconds=args.idle_seconds,
        rate=args.testnet_rate,
        cross_share=args.cross_share,
        prefix=args.prefix,
        keep=args.keep_data,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    args = parser.parse_args()
    complaint = check_arguments(args)
    if complaint:
        parser.error(complaint)
    reason = namespaces_available()
    if reason is not None:
        print(f"a namespaced testnet cannot run here: {reason}", file=sys.stderr)
        return 2
    figures = run_from_args(args)
    print(summary(figures))
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
