"""The testnet's node processes: where each runs (a namespace, or loopback), started, killed, paused,
stopped and started again from another build, with a record of every exit the runner did not cause.

A :class:`Substrate` is what the processes run on: :class:`harmony.testnet.network.Network` (one Linux network
namespace per host) or :class:`Loopback` (every node on 127.0.0.1 with its own ports; no partitions), which
exists so that the runner can be tried where namespaces are not available.
"""

from __future__ import annotations

import compileall
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from harmony.cli.devnet import NodeToml, stop_all, write_node_toml
from harmony.errors import HarmonyError
from harmony.node.config import WAITING_FOR_STORE
from harmony.testnet.manifest import NodeSpec

STOP_GRACE_S = 15.0
HANDOVER_WAIT_S = 120
"""``--storage.wait-s`` of an upgrade's new process: how long it waits for the old one to exit."""
HANDOVER_LOAD_S = 60.0
"""How long an upgrade waits for the new process to load before it stops the old one anyway."""


class TestnetError(HarmonyError):
    """A testnet run cannot go on (a node that does not start, a perturbation the substrate cannot do)."""


class Substrate(Protocol):
    """Where the nodes run (``harmony.testnet.network.Network`` has this shape)."""

    def ip(self, host: str) -> str:
        """The host's address, reachable from the runner."""
        ...

    def popen(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``argv`` on ``host``; the Popen's pid is the program itself."""
        ...

    def partition(self, groups: Sequence[Sequence[str]]) -> None:
        """Cut the hosts into ``groups`` (hosts not named form one more group)."""
        ...

    def heal(self) -> None:
        """Undo every partition."""
        ...

    def down(self) -> None:
        """Remove everything (idempotent)."""
        ...


class Loopback:
    """Every node on 127.0.0.1 in the runner's own namespace: no latency, no caps, no partitions."""

    shared_ip = True

    def ip(self, host: str) -> str:
        """127.0.0.1 for every host."""
        return "127.0.0.1"

    def popen(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """A plain child process."""
        return subprocess.Popen(list(argv), **kwargs)

    def partition(self, groups: Sequence[Sequence[str]]) -> None:
        """Not possible on one loopback interface."""
        raise TestnetError("disconnect needs network namespaces (run as root without --loopback)")

    def heal(self) -> None:
        """Nothing to heal."""

    def down(self) -> None:
        """Nothing to remove."""


@dataclass
class NodeProcess:
    """One node: its manifest entry, files, addresses and current process."""

    spec: NodeSpec
    data: Path
    toml: NodeToml
    ip: str
    build: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False
    starts: int = 0
    unexpected_exits: list[int] = field(default_factory=list)

    @property
    def http(self) -> str:
        """The HTTP RPC URL."""
        return f"http://{self.ip}:{self.toml.http_port}"

    @property
    def metrics(self) -> str:
        """The Prometheus metrics URL."""
        return f"http://{self.ip}:{self.toml.metrics_port}/metrics"

    @property
    def running(self) -> bool:
        """Started and not exited."""
        return self.proc is not None and self.proc.poll() is None


def _terminate(proc: subprocess.Popen[bytes] | None, paused: bool, grace: float) -> None:
    """SIGTERM ``proc`` (SIGCONT first if ``paused``), SIGKILL after ``grace`` seconds; nothing if gone."""
    if proc is None or proc.poll() is not None:
        return
    if paused:
        proc.send_signal(signal.SIGCONT)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _log_says(log: Path, offset: int, text: str) -> bool:
    """Whether ``log`` holds ``text`` after byte ``offset``."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            return text.encode() in f.read()
    except OSError:
        return False


def compile_builds(trees: Iterable[Path]) -> None:
    """Write the bytecode of each source tree's ``harmony`` package (only what is missing or stale).

    A node started from a tree without it compiles every module at its start (about 0.3 s of its 1.3 s of
    import CPU at load 9, when ``PYTHONDONTWRITEBYTECODE`` is set as in these machines' shells): an upgrade's
    restart would be measured slower than the node is (issue 15). A tree that does not compile is left as it
    is; its node reports the error when it starts.
    """
    for tree in dict.fromkeys(trees):
        compileall.compile_dir(tree / "harmony", quiet=2)


class Fleet:
    """Starts and signals the node processes; thread-safe."""

    def __init__(self, substrate: Substrate, nodes: Sequence[NodeProcess]) -> None:
        self.substrate = substrate
        self.nodes = {n.spec.name: n for n in nodes}
        self.lock = threading.RLock()
        self.killed: set[str] = set()
        """Nodes the manifest killed at least once (their exits are expected)."""

    def start(
        self,
        name: str,
        *,
        build: Path | None = None,
        equivocate: bool | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        """Start node ``name`` (from ``build``, a source tree holding ``harmony/``, when given; ``extra``:
        more command-line arguments)."""
        with self.lock:
            node = self.nodes[name]
            if node.running:
                raise TestnetError(f"{name} is already running")
            if build is not None:
                node.build = build
            if equivocate is not None and equivocate != node.toml.equivocate:
                node.toml = replace(node.toml, equivocate=equivocate)
                write_node_toml(node.data, node.toml)
            env = dict(os.environ)
            if node.build is not None:
                env["PYTHONPATH"] = str(node.build)
            log = (node.data / "node.log").open("ab")
            argv = [
                sys.executable,
                "-m",
                "harmony.cli.main",
                "node",
                "--config",
                str(node.data / "node.toml"),
                *extra,
            ]
            try:
                node.proc = self.substrate.popen(
                    name,
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=node.data,
                    env=env,
                    start_new_session=True,
                )
            finally:
                log.close()
            node.paused = False
            node.starts += 1

    def kill(self, name: str) -> None:
        """SIGKILL node ``name`` (an expected exit)."""
        with self.lock:
            node = self.nodes[name]
            self.killed.add(name)
            if node.proc is not None and node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()
            node.proc = None

    def stop(self, name: str, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM node ``name`` (SIGCONT first if paused), SIGKILL after ``grace`` seconds."""
        with self.lock:
            node = self.nodes[name]
            proc = node.proc
            node.proc = None
            paused, node.paused = node.paused, False
        _terminate(proc, paused, grace)

    def hand_over(self, name: str, *, build: Path | None = None, grace: float = STOP_GRACE_S) -> float:
        """Upgrade node ``name`` as an operator would with ``[storage] wait_s``: start the new process (from
        ``build``) beside the old one, wait until it has loaded and waits for the data directory (its log
        says so; at most :data:`HANDOVER_LOAD_S`), then stop the old one, whose exit lets the new one in.
        Returns the ``time.monotonic()`` at which the old one was told to stop (its service ends then, not
        while the new one loads). A new process that exits before it is ready (a build that predates
        ``--storage.wait-s``) is started again the old way, once the old one has stopped."""
        with self.lock:
            node = self.nodes[name]
            old, paused = node.proc, node.paused
            node.proc, node.paused = None, False
            log = node.data / "node.log"
            offset = log.stat().st_size if log.exists() else 0
            try:
                self.start(name, build=build, extra=("--storage.wait-s", str(HANDOVER_WAIT_S)))
            except BaseException:
                node.proc, node.paused = old, paused
                raise
            new = node.proc
        assert new is not None
        deadline = time.monotonic() + HANDOVER_LOAD_S
        while time.monotonic() < deadline and not _log_says(log, offset, WAITING_FOR_STORE):
            if new.poll() is not None:  # a build without --storage.wait-s: stop, then start
                told = time.monotonic()
                _terminate(old, paused, grace)
                with self.lock:
                    node.proc = None
                self.start(name, build=build)
                return told
            time.sleep(0.05)
        told = time.monotonic()
        _terminate(old, paused, grace)
        return told

    def pause(self, name: str) -> None:
        """SIGSTOP node ``name``."""
        with self.lock:
            node = self.nodes[name]
            if node.proc is not None and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGSTOP)
                node.paused = True

    def resume(self, name: str) -> None:
        """SIGCONT node ``name``."""
        with self.lock:
            node = self.nodes[name]
            if node.proc is not None and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGCONT)
            node.paused = False

    def live(self, shard: int) -> list[str]:
        """HTTP URLs of the running, unpaused nodes of ``shard`` (not those outside its fence: they have
        none of its data)."""
        with self.lock:
            return [
                n.http
                for n in self.nodes.values()
                if n.spec.shard == shard and n.running and not n.paused and not n.spec.fenced_out
            ]

    def check_exits(self) -> list[str]:
        """Record nodes whose process exited by itself since the last call; their names."""
        out = []
        with self.lock:
            for name, node in self.nodes.items():
                if node.proc is not None and node.proc.poll() is not None:
                    node.unexpected_exits.append(node.proc.returncode)
                    node.proc = None
                    out.append(name)
        return out

    def stop_all(self, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM every node at once, SIGKILL what is left after ``grace`` seconds."""
        with self.lock:
            procs = [n.proc for n in self.nodes.values() if n.proc is not None]
            for node in self.nodes.values():
                node.proc = None
                node.paused = False
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a paused node could not act on SIGTERM
        stop_all(procs, grace)
