"""The delaying router: a process in the router namespace that holds each packet for its one-way delay.

The router namespace sends every packet forwarded between hosts into a TUN device (policy routing, set up by
:mod:`harmony.testnet.network`). This process reads each packet from the TUN, finds its source and
destination host by the last octet of the IPv4 addresses (all hosts share one /24), drops it if the two are
on different sides of a partition or by the pair's loss, and otherwise writes it back after the one-way
delay of the (source region, destination region) pair; the kernel then routes it out to the destination
(``ip rule iif tun lookup main``). This is how latency is made without netem (design.md §9).

Packets of one delay share one FIFO queue (the delay is the same for each, so the queue is in release
order): a packet costs one append and one pop, with no heap, and packets between two hosts never reorder.

The parent talks to it over stdin and stdout, one JSON object per line: first the configuration, then
commands (``partition``, ``heal``, ``loss``, ``stats``), each answered with one line. When stdin closes
(the owner exited or was killed), the router exits and its TUN device goes with it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import select
import struct
import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

MAX_CONTROL_LINE = 1 << 20
"""A control line longer than this is refused (the parent never sends one)."""

MAX_QUEUED = 200_000
"""Packets held at once over all queues; above it new packets are dropped (counted as ``overflow``)."""

ROUTER_RT_PRIORITY = 1
"""The router's real-time priority (SCHED_RR, the lowest): on a loaded machine a packet must not wait for
CPU behind the nodes, or the delay it gets is the machine's load, not the configured latency. The kernel's
real-time throttling (``sched_rt_runtime_us``, 95 %) keeps the rest of the machine alive if it ever spins."""

ROUTER_NICE = -10
"""The fallback where real-time scheduling is refused."""

READ_BATCH = 256
"""Packets read from the TUN before the queues are served again, so releases are never starved."""

Queue = deque[tuple[float, bytes]]


class RouterConfigError(ValueError):
    """The router's configuration or a control command is malformed."""


def open_tun(name: str) -> int:
    """Open (and so create) the TUN device ``name``: raw IP packets, no packet-information header."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


class Router:
    """The delay, loss and partition state, and the per-delay FIFO queues of held packets."""

    def __init__(
        self,
        regions_of: dict[int, int],
        delay_ms: Sequence[Sequence[float]],
        loss: Sequence[Sequence[float]],
        seed: int,
    ) -> None:
        self.regions_of = regions_of
        self.delay_s = [[d / 1000.0 for d in row] for row in delay_ms]
        self.loss = [list(row) for row in loss]
        self.group_of: dict[int, int] = {}
        self.random = random.Random(seed).random
        self.queues: dict[float, Queue] = {}
        self.held = 0
        self.late_sum = 0.0
        """Seconds by which released packets passed their due time, summed (the router's own lateness)."""
        self.late_max = 0.0
        self.stats = {"in": 0, "out": 0, "loss": 0, "cut": 0, "unknown": 0, "overflow": 0}
        self.table: list[tuple[float, Queue | None, float] | None] = []
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute each (source octet, destination octet)'s delay, queue and loss, or None if cut."""
        table: list[tuple[float, Queue | None, float] | None] = [None] * 65536
        for src, rs in self.regions_of.items():
            for dst, rd in self.regions_of.items():
                if src == dst or self.group_of.get(src, -1) != self.group_of.get(dst, -1):
                    continue
                delay = self.delay_s[rs][rd]
                queue = self.queues.setdefault(delay, deque()) if delay > 0 else None
                table[(src << 8) | dst] = (delay, queue, self.loss[rs][rd])
        self.table = table

    def command(self, message: dict[str, Any]) -> dict[str, Any]:
        """Apply one control command and return its answer."""
        op = message.get("op")
        if op == "partition":
            groups = message.get("groups")
            if not isinstance(groups, list):
                raise RouterConfigError("partition: groups must be a list")
            group_of: dict[int, int] = {}
            for g, members in enumerate(groups):
                for octet in members:
                    if octet not in self.regions_of or octet in group_of:
                        raise RouterConfigError(f"partition: bad or repeated host {octet!r}")
                    group_of[octet] = g
            self.group_of = group_of
        elif op == "heal":
            self.group_of = {}
        elif op == "loss":
            src, dst = self._pair(message)
            value = message.get("loss")
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise RouterConfigError("loss: loss must be between 0 and 1")
            self.loss[src][dst] = float(value)
        elif op == "delay":
            src, dst = self._pair(message)
            value = message.get("ms")
            if not isinstance(value, int | float) or not 0.0 <= value <= 1e7:
                raise RouterConfigError("delay: ms must be a non-negative number")
            self.delay_s[src][dst] = value / 1000.0
        elif op == "stats":
            return {
                "ok": True,
                "held": self.held,
                "late_us_total": int(self.late_sum * 1e6),
                "late_us_max": int(self.late_max * 1e6),
                **self.stats,
            }
        else:
            raise RouterConfigError(f"unknown command {op!r}")
        self.rebuild()
        return {"ok": True}

    def _pair(self, message: dict[str, Any]) -> tuple[int, int]:
        src, dst = message.get("src"), message.get("dst")
        n = len(self.loss)
        if not (isinstance(src, int) and isinstance(dst, int) and 0 <= src < n and 0 <= dst < n):
            raise RouterConfigError(f"{message.get('op')}: src and dst must be region indexes")
        return src, dst

    def take(self, fd: int, out: int, now: float) -> None:
        """Read up to :data:`READ_BATCH` packets from ``fd`` and queue, drop, or write each to ``out`` now."""
        table = self.table
        stats = self.stats
        rand = self.random
        read = os.read
        for _ in range(READ_BATCH):
            try:
                packet = read(fd, 65536)
            except BlockingIOError:
                return
            stats["in"] += 1
            if len(packet) < 20 or packet[0] >> 4 != 4:
                stats["unknown"] += 1
                continue
            lane = table[(packet[15] << 8) | packet[19]]
            if lane is None:
                stats[
                    "cut" if packet[15] in self.regions_of and packet[19] in self.regions_of else "unknown"
                ] += 1
                continue
            delay, queue, loss = lane
            if loss and rand() < loss:
                stats["loss"] += 1
                continue
            if queue is None:
                self._write(out, packet)
            elif self.held >= MAX_QUEUED:
                stats["overflow"] += 1
            else:
                queue.append((now + delay, packet))
                self.held += 1

    def _write(self, fd: int, packet: bytes) -> None:
        try:
            os.write(fd, packet)
            self.stats["out"] += 1
        except OSError:
            self.stats["overflow"] += 1

    def release(self, fd: int, now: float) -> float | None:
        """Write back every packet whose time has come; return the next release time, if any."""
        nearest: float | None = None
        for queue in self.queues.values():
            while queue and queue[0][0] <= now:
                due, packet = queue.popleft()
                self._write(fd, packet)
                self.held -= 1
                late = now - due
                self.late_sum += late
                self.late_max = max(self.late_max, late)
            if queue and (nearest is None or queue[0][0] < nearest):
                nearest = queue[0][0]
        return nearest


def prioritize() -> str:
    """Raise this process's scheduling priority as far as allowed; return which policy it got."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(ROUTER_RT_PRIORITY))
        return "rr"
    except OSError:
        pass
    try:
        os.nice(ROUTER_NICE)
        return "nice"
    except OSError:
        return "normal"


def parse_config(line: bytes) -> tuple[str, Router]:
    """The first control line: ``{"tun", "hosts": {octet: region}, "delay_ms", "loss", "seed"}``."""
    try:
        config = json.loads(line)
        tun = config["tun"]
        regions_of = {int(octet): int(region) for octet, region in config["hosts"].items()}
        router = Router(regions_of, config["delay_ms"], config["loss"], int(config["seed"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RouterConfigError(f"bad router configuration: {exc}") from exc
    if not isinstance(tun, str) or not all(0 < o < 255 for o in regions_of):
        raise RouterConfigError("bad router configuration: tun name or host octets")
    return tun, router


def read_line(fd: int) -> tuple[bytes, bytes]:
    """Read up to the first newline from an unbuffered descriptor: (the line, whatever came after it)."""
    data = b""
    while b"\n" not in data and len(data) <= MAX_CONTROL_LINE:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    line, _, rest = data.partition(b"\n")
    return line, rest


def serve(router: Router, tun: int, control: int, answer: Any, pending: bytes = b"") -> None:
    """The loop: serve due packets, then wait for the next release, a packet or a command."""
    poller = select.epoll()
    poller.register(tun, select.EPOLLIN)
    poller.register(control, select.EPOLLIN)
    monotonic = time.monotonic
    while True:
        now = monotonic()
        nearest = router.release(tun, now)
        timeout = -1.0 if nearest is None else max(0.0, nearest - now)
        for fd, _ in poller.poll(timeout):
            if fd == tun:
                router.take(tun, tun, monotonic())
                continue
            chunk = os.read(control, 65536)
            if not chunk:
                return
            pending += chunk
            if len(pending) > MAX_CONTROL_LINE:
                return
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                try:
                    reply = router.command(json.loads(line))
                except (RouterConfigError, ValueError, AttributeError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                answer.write(json.dumps(reply) + "\n")
                answer.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the router: configuration on the first stdin line, then commands until stdin closes."""
    parser = argparse.ArgumentParser(
        prog="python -m harmony.testnet.router",
        description="The delaying router of a namespaced testnet (started by harmony.testnet.network).",
    )
    parser.parse_args(argv)
    control = sys.stdin.fileno()
    first, pending = read_line(control)
    try:
        name, router = parse_config(first)
        tun = open_tun(name)
    except (RouterConfigError, OSError) as exc:
        print(json.dumps({"ok": False, "error": str(exc)}), flush=True)
        return 2
    prioritize()
    print(json.dumps({"ok": True, "pid": os.getpid()}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        serve(router, tun, control, sys.stdout, pending)
    return 0


if __name__ == "__main__":
    sys.exit(main())
