"""A real devnet for end-to-end tests: ``harmony devnet`` in its own process group, nodes as processes.

:func:`start_devnet` runs the command exactly as a user would (``python -m harmony.cli.main devnet``), waits
for "devnet is up" and reads the manifest. :class:`Devnet` has the helpers the tests share: JSON-RPC calls,
waiting for heights, killing and restarting one node with the same command line the launcher used.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harmony.cli.devnet import rpc_call

STARTUP_TIMEOUT = 240.0
STALL_S = 120.0
"""A chain that makes no block for this long is stalled: four failed views of a 5 s phase timeout (5 + 10 +
20 + 40 s) and room; a loaded machine's chain is slow, not stalled, and is waited for by
:meth:`Devnet.wait_chain`."""


PORTS_LOW, PORTS_HIGH = 10_000, 31_000
"""Test devnets take their ports here: below Linux's ephemeral range (32768-60999), since a node killed and
restarted must find its ports free and an outgoing connection of any process may take an ephemeral port
while the node is down."""

NODES_PER_RANGE = 16
"""Node indices a base port's four ranges (p2p, HTTP, WS, metrics) are checked free for: a devnet's nodes and
the extra nodes a test adds beside it."""


def worker_ports() -> tuple[int, int]:
    """The ports [low, high) this pytest-xdist worker takes from. The workers split the range, so two
    workers never pick overlapping ports at the same moment: checked free by one, then bound by the other's
    devnet first, was CI's "Address already in use" at a devnet's start."""
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) % count if worker[2:].isdigit() else 0
    width = (PORTS_HIGH - PORTS_LOW) // count
    return PORTS_LOW + index * width, PORTS_LOW + (index + 1) * width


def free_base_port() -> int:
    """A base port, within this worker's ports, whose p2p, HTTP, WS and metrics ranges (base + 0, 500, 800,
    900, for :data:`NODES_PER_RANGE` nodes) are free right now."""
    low, high = worker_ports()
    span = 900 + NODES_PER_RANGE
    for attempt in range(200):
        base = low + (os.getpid() * 7919 + int(time.time() * 1000) + attempt * 104_729) % (high - low - span)
        if all(_port_free(base + off + k) for off in (0, 500, 800, 900) for k in range(NODES_PER_RANGE)):
            return base
    raise RuntimeError(f"no free port range in {low}-{high}")


_HANDED_OUT: set[int] = set()
"""Ports :func:`free_ports` returned before: a node started with them may not have bound them yet."""


def free_ports(count: int, seed: int = 0) -> list[int]:
    """``count`` ports within this worker's ports that are free right now and were never handed out before
    (for a node started beside a devnet: two nodes started a few milliseconds apart were given overlapping
    ports, since neither had bound its own yet, and one of them died on start)."""
    low, high = worker_ports()
    ports: list[int] = []
    port = low + (seed * 7919 + int(time.time() * 1000)) % (high - low)
    for _ in range(high - low):
        if port not in _HANDED_OUT and _port_free(port):
            ports.append(port)
            if len(ports) == count:
                _HANDED_OUT.update(ports)
                return ports
        port = low + (port + 1 - low) % (high - low)
    raise RuntimeError(f"no {count} free ports in {low}-{high}")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    """One JSON-RPC call with the launcher's own client (a JSON-RPC error raises ValueError), patient enough
    for a loaded machine."""
    return rpc_call(url, method, params, timeout)


def attempt(check: Callable[[], Any]) -> tuple[bool, Any]:
    """Call ``check`` once: whether its value is true, and the value (or the JSON-RPC error it raised)."""
    try:
        value = check()
    except ValueError as exc:  # a JSON-RPC error answer
        return False, exc
    return bool(value), value


@dataclass
class Devnet:
    """A running devnet."""

    root: Path
    proc: subprocess.Popen[str]
    manifest: dict[str, Any]
    restarted: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def nodes(self, shard: int = 0) -> list[dict[str, Any]]:
        """The shard's nodes from the manifest."""
        return list(self.manifest["shards"][shard]["nodes"])

    def url(self, shard: int = 0, index: int = 0) -> str:
        """A node's HTTP RPC URL."""
        return str(self.nodes(shard)[index]["http"])

    def height(self, url: str) -> int:
        """A node's head number."""
        return int(rpc(url, "eth_blockNumber"), 16)

    def wait_height(self, url: str, height: int, timeout: float = 120.0) -> int:
        """Wait until the node at ``url`` reaches ``height``; its head."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                head = self.height(url)
                if head >= height:
                    return head
            except (OSError, ValueError) as exc:
                last = exc
            time.sleep(0.5)
        raise AssertionError(
            f"{url} did not reach block {height} in {timeout} s (last error: {last})\n{self.diagnose()}"
        )

    def wait_chain(self, url: str, what: str, check: Callable[[], Any], *, blocks: int) -> Any:
        """Poll ``check`` until it returns something true (that value), while the chain at ``url`` grows:
        fail when ``blocks`` blocks have passed without it, or when no block came for :data:`STALL_S`. A
        bound in blocks, not seconds: a loaded 2-core machine makes blocks slower, not fewer, so a wait
        that counts them holds at any load; only a stalled chain fails on time."""
        start = best = self.height(url)
        since = time.monotonic()
        last: Any = None
        while True:
            done, last = attempt(check)
            if done:
                return last
            head = self.height(url)
            if head > best:
                best, since = head, time.monotonic()
            if best - start > blocks:
                raise AssertionError(
                    f"{what}: not within {blocks} blocks ({start}..{best}; last: {last!r})\n{self.diagnose()}"
                )
            if time.monotonic() - since > STALL_S:
                stalled = f"{url} stalled at block {best} for {STALL_S} s"
                raise AssertionError(f"{what}: {stalled} (last: {last!r})\n{self.diagnose()}")
            time.sleep(0.5)

    def diagnose(self) -> str:
        """Every node's head (or why it did not answer) and its log's last lines: what a failed wait
        prints, so that a failure on a CI machine can be explained from its output alone."""
        out = []
        for shard, spec in enumerate(self.manifest["shards"]):
            for node in spec["nodes"]:
                try:
                    head: object = int(rpc(str(node["http"]), "eth_blockNumber", timeout=3.0), 16)
                except (OSError, ValueError) as exc:
                    head = exc
                out.append(f"shard {shard} {node['name']}: head {head}")
        for log in sorted(self.root.glob("*/node.log")):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
            out.append(f"--- {log.parent.name} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(out)

    def pid_of(self, name: str) -> int:
        """The process ID of node ``name`` (e.g. ``s0n1``) from its command line."""
        if name in self.restarted:
            return self.restarted[name].pid
        config = str(self.root / name / "node.toml")
        out = subprocess.run(["pgrep", "-f", config], capture_output=True, text=True, check=False).stdout
        pids = [int(p) for p in out.split()]
        if not pids:
            raise AssertionError(f"node {name} is not running")
        return pids[0]

    def kill(self, name: str) -> None:
        """SIGKILL node ``name``."""
        os.kill(self.pid_of(name), signal.SIGKILL)
        self.restarted.pop(name, None)

    def restart(self, name: str, *flags: str) -> None:
        """Start node ``name`` again with its own configuration (as the launcher did) and ``flags``."""
        data = self.root / name
        out = (data / "node.log").open("ab")
        self.restarted[name] = subprocess.Popen(
            [sys.executable, "-m", "harmony.cli.main", "node", "--config", str(data / "node.toml"), *flags],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data,
            start_new_session=True,
        )

    def log(self, name: str) -> str:
        """Node ``name``'s log so far."""
        return (self.root / name / "node.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGTERM the launcher (it stops its nodes), stop what this fixture restarted, then SIGKILL any node
        still running (the nodes run in their own sessions, so a launcher killed first would orphan them).

        SIGTERM rather than SIGINT: a launcher started from a background job of a non-interactive shell
        inherits SIGINT ignored, and would never see a Ctrl-C.
        """
        nodes = self._node_pids()
        for _ in range(2):  # the second SIGTERM stops a validator waiting for its turn to lead to pass
            for proc in self.restarted.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for proc in self.restarted.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid in nodes:
            if pid in self._node_pids():
                os.kill(pid, signal.SIGKILL)

    def _node_pids(self) -> list[int]:
        """Node processes running from this devnet's folder."""
        pattern = f"harmony.cli.main node --config {self.root}/"
        out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False).stdout
        return [int(p) for p in out.split()]


SMALL = ("--shards", "1", "--validators", "4", "--block-time-ms", "1000", "--phase-timeout-ms", "5000")
"""One shard of four validators with 1 s blocks and a 5 s view change: the quick devnet of most tests."""


@contextmanager
def running_devnet(root: Path, *args: str) -> Iterator[Devnet]:
    """:func:`start_devnet`, stopped on exit (for module fixtures)."""
    net = start_devnet(root, *args)
    try:
        yield net
    finally:
        net.stop()


def start_devnet(root: Path, *args: str) -> Devnet:
    """Run ``harmony devnet --dir root args…`` and wait until it is up."""
    base = free_base_port()
    cmd = [
        sys.executable,
        "-m",
        "harmony.cli.main",
        "devnet",
        "--dir",
        str(root),
        "--base-port",
        str(base),
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, bufsize=1
    )
    assert proc.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if "devnet is up" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not ready.wait(0.5):
        if proc.poll() is not None:
            time.sleep(0.5)
            raise AssertionError("devnet exited:\n" + "\n".join(lines) + _logs(root))
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("devnet did not come up:\n" + "\n".join(lines) + _logs(root))
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return Devnet(root, proc, manifest)


def _logs(root: Path) -> str:
    out = []
    for log in sorted(root.glob("*/node.log")):
        text = log.read_text(encoding="utf-8", errors="replace")
        out.append(f"\n--- {log} (last 3000 chars)\n{text[-3000:]}")
    return "".join(out)
