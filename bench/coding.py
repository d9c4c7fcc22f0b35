"""Coded block propagation against whole-block gossip, on the same loopback hosts in the same run (issue 16).

For committees of 4, 8 and 16 members (plus a leader), all py-libp2p hosts in this process on 127.0.0.1:

* RaptorQ encode and decode time of the block (``harmony.p2p.coding``, CPU only);
* the leader's upload per block byte, read from the kernel (``ss``: ``bytes_acked`` of every TCP socket under
  the leader's libp2p connections, before and after), for the coded broadcast and for publishing the block
  on GossipSub (so Noise, Yamux and protocol framing count in both);
* the time from the leader's start until 2/3 of the members hold the block (decoded, or received by gossip).

Loopback has no bandwidth limit, so the times measure CPU (one Python process runs every host); the upload
ratio is what a real uplink pays. Run: ``.venv/bin/python bench/coding.py [--members 4,8,16]
[--block-kib 256] [--trials 3]``. The last line is one JSON object with every figure.

With ``--mbit`` or ``--latency-ms`` (root), every host is a process of its own
(``bench/tools/coding_peer.py``) in its own network namespace (``harmony.testnet.network``): each capped at
``--mbit`` up and down, ``--latency-ms`` one way between any two. Nothing else runs there (no consensus, no
transactions), so the times are the propagation's on those links: what issue 16's time to 2/3 compares when
CPU is not what bounds it. The upload is then what the leader's ``eth0`` sent (IP and TCP headers included).

    sudo .venv/bin/python bench/coding.py --members 4,8,16 --block-kib 100 --mbit 25 --latency-ms 40
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harmony.crypto.keccak import keccak256
from harmony.p2p.coded_broadcast import CodedConfig
from harmony.p2p.coding import SymbolDecoder, encode_block
from harmony.p2p.host import GossipMessage, P2PHost
from harmony.p2p.keys import load_or_create_peer_key, peer_id_of
from harmony.testnet.network import HostSpec, Network, namespaces_available
from harmony.testnet.observe import interface_tx_bytes
from tests.unit.p2p.coded_helpers import Committee, block_bytes, open_committee

TOPIC = "bench/coding/blocks"
_SOCKET = re.compile(r"^\S+\s+\S+\s+\S+:(\d+)\s+\S+:(\d+)")
_ACKED = re.compile(r"bytes_acked:(\d+)")


def socket_ports(host: P2PHost) -> set[tuple[int, int]]:
    """(local port, peer port) of every TCP socket under the host's libp2p connections (swarm connection,
    Yamux, Noise, raw connection, trio socket stream)."""
    ports = set()
    for conns in host._host.get_network().connections.values():
        for conn in conns if isinstance(conns, list) else [conns]:
            try:
                sock = conn.muxed_conn.secured_conn.conn.conn.stream.stream.socket
                ports.add((sock.getsockname()[1], sock.getpeername()[1]))
            except (AttributeError, OSError):
                continue
    return ports


def acked_bytes(ports: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """``bytes_acked`` (from the kernel, ``ss -ti``) of the established loopback sockets in ``ports``."""
    out = subprocess.run(
        ["ss", "-tinH", "state", "established"], capture_output=True, text=True, check=True
    ).stdout
    acked: dict[tuple[int, int], int] = {}
    key: tuple[int, int] | None = None
    for line in out.splitlines():
        match = _SOCKET.match(line)  # a socket's line; its details follow on an indented line
        if match:
            key = (int(match.group(1)), int(match.group(2)))
            continue
        found = _ACKED.search(line)
        if found and key in ports:
            acked[key] = int(found.group(1))
        key = None
    return acked


def uploaded_since(host: P2PHost, before: dict[tuple[int, int], int]) -> int:
    """Bytes the host's sockets had acknowledged since ``before``."""
    after = acked_bytes(socket_ports(host))
    return sum(value - before.get(key, 0) for key, value in after.items())


def cpu_figures(data: bytes, members: int, overhead: int) -> dict[str, float]:
    """Median encode (with Merkle proofs) and decode (from a shuffled K + 2) times in ms."""
    encodes, decodes = [], []
    for run in range(5):
        start = time.perf_counter()
        encoded = encode_block(
            data, shard_id=0, block_number=run, view_id=0, members=members, overhead_percent=overhead
        )
        encodes.append(time.perf_counter() - start)
        symbols = list(encoded.symbols[members:]) + list(encoded.symbols[:members])
        start = time.perf_counter()
        decoder = SymbolDecoder(encoded.commitment)
        result = None
        for symbol in symbols:
            result = decoder.add(symbol.index, symbol.data)
            if result is not None:
                break
        decodes.append(time.perf_counter() - start)
        assert result == data
    return {
        "encode_ms": round(statistics.median(encodes) * 1e3, 2),
        "decode_ms": round(statistics.median(decodes) * 1e3, 2),
    }


ROUND_LIMIT = 60.0
"""Seconds a round may take until 2/3 of the members hold the block; a slower round counts as missed."""
LATE_GRACE = 3.0
"""Seconds the other members get after 2/3 hold the block, before the round ends."""


async def timed_round(committee: Committee, waits: list[Any], send: Any) -> tuple[float | None, int, int]:
    """Run ``send`` and the per-member ``waits`` (each returns when its member holds the block): returns
    (seconds until 2/3 held it or None, members that held it, bytes the leader uploaded)."""
    quorum = math.ceil(2 * len(committee.members) / 3)
    arrivals: list[float] = []
    reached = trio.Event()
    before = acked_bytes(socket_ports(committee.leader))
    start = trio.current_time()

    async def watch(wait: Any) -> None:
        await wait()
        arrivals.append(trio.current_time() - start)
        if len(arrivals) >= quorum:
            reached.set()

    async with trio.open_nursery() as nursery:
        for wait in waits:
            nursery.start_soon(watch, wait)
        nursery.start_soon(send)
        with trio.move_on_after(ROUND_LIMIT):
            await reached.wait()
        with trio.move_on_after(LATE_GRACE):
            while len(arrivals) < len(waits):
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    await trio.sleep(0.3)
    time_to_quorum = sorted(arrivals)[quorum - 1] if len(arrivals) >= quorum else None
    return time_to_quorum, len(arrivals), uploaded_since(committee.leader, before)


async def coded_round(committee: Committee, data: bytes, number: int) -> tuple[float | None, int, int]:
    """One coded broadcast (see :func:`timed_round`)."""

    def waiter(index: int) -> Any:
        async def wait() -> None:
            while True:
                delivery = await committee.coded[index].deliveries.receive()
                if delivery.data == data:
                    return

        return wait

    async def send() -> None:
        await committee.leader_coded.broadcast(
            data, shard_id=1, block_number=number, view_id=0, round_=committee.round_, sign=committee.sign()
        )

    return await timed_round(committee, [waiter(i) for i in range(len(committee.members))], send)


async def gossip_round(
    committee: Committee, inboxes: list[trio.MemoryReceiveChannel[GossipMessage]], data: bytes
) -> tuple[float | None, int, int]:
    """One whole-block gossip publish (see :func:`timed_round`)."""

    def waiter(inbox: trio.MemoryReceiveChannel[GossipMessage]) -> Any:
        async def wait() -> None:
            while (await inbox.receive()).data != data:
                pass

        return wait

    async def send() -> None:
        await committee.leader.publish(TOPIC, data)

    return await timed_round(committee, [waiter(inbox) for inbox in inboxes], send)


async def measure(members: int, block: int, trials: int, overhead: int, tmp: Path) -> dict[str, Any]:
    """Every figure for one committee size."""
    config = CodedConfig(overhead_percent=overhead, decode_timeout=120.0)
    async with open_committee(tmp, live=members, config=config) as committee:
        await committee.leader.subscribe(TOPIC)
        inboxes = [await host.subscribe(TOPIC) for host in committee.members]
        with trio.move_on_after(60):  # members the leader does not see yet still get gossip through others
            while len(committee.leader.topic_peers(TOPIC)) < members:
                await trio.sleep(0.2)
        await trio.sleep(3)  # a few heartbeats build the gossip mesh
        figures: dict[str, list[float]] = {key: [] for key in ("ct", "cu", "cm", "gt", "gu", "gm")}
        for trial in range(trials):
            # A fresh block each time (gossip drops a message it has seen).
            data = block_bytes(block, seed=members * 1000 + trial)
            for mode, result in (
                ("c", await coded_round(committee, data, trial + 1)),
                ("g", await gossip_round(committee, inboxes, data)),
            ):
                seconds, held, uploaded = result
                if seconds is not None:
                    figures[mode + "t"].append(seconds)
                figures[mode + "u"].append(uploaded / block)
                figures[mode + "m"].append(members - held)

    return summarize(figures, trials)


def summarize(figures: dict[str, list[float]], trials: int) -> dict[str, Any]:
    """The medians of one committee's rounds (``c``/``g``: coded/gossip; ``t``: seconds to 2/3, ``u``:
    upload per block byte, ``m``: members that never held the block)."""

    def median(key: str, scale: float = 1.0) -> float | None:
        values = figures[key]
        return round(statistics.median(values) * scale, 3) if values else None

    out: dict[str, Any] = {
        "coded_upload_ratio": median("cu"),
        "gossip_upload_ratio": median("gu"),
        "coded_two_thirds_ms": median("ct", 1e3),
        "gossip_two_thirds_ms": median("gt", 1e3),
        "coded_members_missed": sum(figures["cm"]),
        "gossip_members_missed": sum(figures["gm"]),
        "coded_rounds_without_two_thirds": trials - len(figures["ct"]),
    }
    if out["coded_upload_ratio"] and out["gossip_upload_ratio"]:
        out["upload_ratio_coded_vs_gossip"] = round(out["coded_upload_ratio"] / out["gossip_upload_ratio"], 3)
    if out["coded_two_thirds_ms"] and out["gossip_two_thirds_ms"]:
        out["two_thirds_time_coded_vs_gossip"] = round(
            out["coded_two_thirds_ms"] / out["gossip_two_thirds_ms"], 3
        )
    return out


PEER_PORT = 9100
PEER_SCRIPT = Path(__file__).resolve().parent / "tools" / "coding_peer.py"


class _Peers:
    """The namespaced hosts' processes and every line they print, in one queue (a reader thread each)."""

    def __init__(self, processes: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
        self.processes = processes
        self.logs = logs
        self.lines: queue.Queue[tuple[str, list[str]]] = queue.Queue()
        for name, process in processes.items():
            threading.Thread(target=self._read, args=(name, process), daemon=True).start()

    def _read(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            self.lines.put((name, raw.decode(errors="replace").split()))
        self.lines.put((name, ["exited"]))

    def tell(self, name: str, line: str) -> None:
        """Write one command line to a host."""
        stdin = self.processes[name].stdin
        assert stdin is not None
        stdin.write(line.encode() + b"\n")
        stdin.flush()

    def next(self, deadline: float) -> tuple[str, list[str]] | None:
        """The next line of any host, or None at ``deadline`` (monotonic); a host that exits is an error."""
        try:
            name, words = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if words == ["exited"]:
            tail = (self.logs / f"{name}.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"host {name} exited: {' / '.join(tail) or 'no log'}")
        return name, words

    def expect(self, name: str, first: str, seconds: float) -> list[str]:
        """Wait for ``name``'s next line starting with ``first`` (other hosts' lines are skipped)."""
        deadline = time.monotonic() + seconds
        while (line := self.next(deadline)) is not None:
            if line[0] == name and line[1][:1] == [first]:
                return line[1]
        raise RuntimeError(f"host {name} printed no {first!r} line within {seconds:.0f} s")


def netns_round(
    peers: _Peers, members: int, mode: str, number: int, seed: int, block: int
) -> tuple[float | None, int, int]:
    """One block from the namespaced leader (see :func:`timed_round`; times on the machine's one clock)."""
    quorum = math.ceil(2 * members / 3)
    expected = keccak256(block_bytes(block, seed=seed))[:8].hex()
    leader = peers.processes["lead"].pid
    before = interface_tx_bytes(leader)
    peers.tell("lead", f"{mode} {number} {seed} {block}")
    start = float(peers.expect("lead", "sent", 30)[3])
    arrivals: dict[str, float] = {}
    deadline = time.monotonic() + ROUND_LIMIT
    while len(arrivals) < members and (line := peers.next(deadline)) is not None:
        name, words = line
        if words[:3] == ["got", mode, expected]:
            arrivals.setdefault(name, float(words[3]) - start)
            if len(arrivals) == quorum:
                deadline = min(deadline, time.monotonic() + LATE_GRACE)
    time.sleep(0.5)
    uploaded = interface_tx_bytes(leader) - before
    times = sorted(arrivals.values())
    return (times[quorum - 1] if len(times) >= quorum else None), len(times), uploaded


def measure_netns(
    members: int, block: int, trials: int, overhead: int, mbit: float | None, latency_ms: float, tmp: Path
) -> dict[str, Any]:
    """Every figure for one committee size, each host in its own namespace (module docstring)."""
    names = ["lead", *(f"m{i}" for i in range(members))]
    keys = {name: tmp / f"{name}.key" for name in names}
    ids = {name: peer_id_of(load_or_create_peer_key(keys[name])) for name in names}
    hosts = [HostSpec(name, "r", mbit, mbit) for name in names]
    figures: dict[str, list[float]] = {key: [] for key in ("ct", "cu", "cm", "gt", "gu", "gm")}
    with Network(f"bcod{os.getpid() % 100000}", hosts, {("r", "r"): latency_ms}) as net:
        processes = {}
        for i, name in enumerate(names):
            dial = ",".join(f"/ip4/{net.ip(p)}/tcp/{PEER_PORT}/p2p/{ids[p]}" for p in names[:i])
            argv = [sys.executable, str(PEER_SCRIPT), "--key", str(keys[name]), "--ip", net.ip(name)]
            argv += ["--port", str(PEER_PORT), "--dial", dial, "--overhead", str(overhead)]
            argv += ["--round", ",".join(ids[n] for n in names)]
            with (tmp / f"{name}.log").open("wb") as log:
                processes[name] = net.popen(
                    name, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
                )
        peers = _Peers(processes, tmp)
        ready: set[str] = set()
        deadline = time.monotonic() + 120
        while len(ready) < len(names):
            if (line := peers.next(deadline)) is None:
                raise RuntimeError(f"hosts {sorted(set(names) - ready)} were not ready within 120 s")
            if line[1] == ["ready"]:
                ready.add(line[0])
        # One unmeasured block per mode first: a node's coded streams live as long as its connections, so
        # the first block's stream openings (a round trip or two each) are not what a block costs.
        for trial in range(-1, trials):
            for mode in ("coded", "gossip"):
                seed = members * 1000 + trial * 2 + (mode == "gossip")  # a fresh block each time
                seconds, held, uploaded = netns_round(peers, members, mode, trial + 2, seed, block)
                if trial < 0:
                    continue
                if seconds is not None:
                    figures[mode[0] + "t"].append(seconds)
                figures[mode[0] + "u"].append(uploaded / block)
                figures[mode[0] + "m"].append(members - held)
        for process in processes.values():
            if process.stdin is not None:
                process.stdin.close()
    return summarize(figures, trials)


COLUMNS = (
    "encode_ms",
    "decode_ms",
    "coded_upload_ratio",
    "gossip_upload_ratio",
    "coded_two_thirds_ms",
    "gossip_two_thirds_ms",
)
WIDTHS = (7, 7, 7, 9, 10, 13, 14)
"""Widths of the table's columns: members, then :data:`COLUMNS` (a missing figure prints as ``-``)."""


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions at the bottom of (nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def main() -> None:
    """Parse the arguments, run every committee size, print the figures and the JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--members", default="4,8,16", help="committee sizes, comma-separated (default 4,8,16)"
    )
    parser.add_argument("--block-kib", type=int, default=256, help="block size in KiB (default 256)")
    parser.add_argument("--trials", type=int, default=3, help="blocks per committee and mode (default 3)")
    parser.add_argument("--overhead", type=int, default=30, help="repair symbols in %% of K (default 30)")
    parser.add_argument(
        "--mbit", type=float, default=None, help="namespaced hosts, each capped at this many Mbit/s (root)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=None, help="namespaced hosts, this one-way latency (root)"
    )
    args = parser.parse_args()
    try:
        sizes = [int(x) for x in args.members.split(",")]
    except ValueError:
        parser.error("--members takes comma-separated integers, e.g. 4,8,16")
    if not sizes or any(not 2 <= n <= 32 for n in sizes):
        parser.error("each committee size must be between 2 and 32")
    if not 1 <= args.block_kib <= 2048 or not 1 <= args.trials <= 20 or not 0 <= args.overhead <= 300:
        parser.error("--block-kib in 1..2048, --trials in 1..20, --overhead in 0..300")
    netns = args.mbit is not None or args.latency_ms is not None
    if args.mbit is not None and not 0.1 <= args.mbit <= 10_000:
        parser.error("--mbit must be between 0.1 and 10000")
    latency = 0.0 if args.latency_ms is None else args.latency_ms
    if not 0 <= latency <= 2_000:
        parser.error("--latency-ms must be between 0 and 2000")
    if netns and (reason := namespaces_available()) is not None:
        sys.exit(f"bench/coding.py: --mbit/--latency-ms need network namespaces: {reason}")
    block = args.block_kib * 1024
    results: dict[str, Any] = {"block_bytes": block, "overhead_percent": args.overhead, "committees": {}}
    where = "hosts on 127.0.0.1"
    if netns:
        results |= {"mbit": args.mbit, "latency_ms": latency}
        where = (
            f"a process per host, each in its own namespace, {args.mbit or 'uncapped'} Mbit/s, {latency:g} ms"
        )
    print(f"block {args.block_kib} KiB, overhead {args.overhead} %, {args.trials} trials, {where}")
    print(
        f"{'members':>7} {'enc ms':>7} {'dec ms':>7} {'up coded':>9} {'up gossip':>10} "
        f"{'2/3 coded ms':>13} {'2/3 gossip ms':>14}"
    )
    for members in sizes:
        figures = cpu_figures(block_bytes(block, seed=members), members, args.overhead)
        with tempfile.TemporaryDirectory(prefix="bench-coding-") as tmp:
            try:
                if netns:
                    figures |= measure_netns(
                        members, block, args.trials, args.overhead, args.mbit, latency, Path(tmp)
                    )
                else:
                    figures |= trio.run(measure, members, block, args.trials, args.overhead, Path(tmp))
            except BaseException as exc:
                causes = "; ".join(
                    repr(leaf) for leaf in _leaves(exc) if not isinstance(leaf, trio.Cancelled)
                )
                sys.exit(f"bench/coding.py: the {members}-member run failed: {causes}")
        results["committees"][str(members)] = figures
        row = [members, *(figures[key] for key in COLUMNS)]
        cells = zip(row, WIDTHS, strict=True)
        print(" ".join(f"{'-' if value is None else value!s:>{width}}" for value, width in cells))
        sys.stdout.flush()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
