"""Real traffic for measuring a namespaced network: UDP echo and round trips, TCP bulk transfer, UDP counts.

Run inside a host's namespace (``Network.popen(host, [sys.executable, "-m", "harmony.testnet.probe", ...])``);
each client prints one JSON object on its last line. The tests and ``bench/netns.py`` use it to check the
network's delay, rate caps, loss and partitions with real packets through the real router.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harmony.testnet.network import Network

MAX_DATAGRAM = 2048
"""Largest datagram the echo and sink accept."""


def echo(port: int) -> None:
    """Answer every UDP datagram on ``port`` with the same bytes, forever."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", port))
        print("ready", flush=True)
        while True:
            data, peer = sock.recvfrom(MAX_DATAGRAM)
            sock.sendto(data, peer)


def rtt(host: str, port: int, count: int, timeout_s: float) -> dict[str, Any]:
    """Send ``count`` numbered datagrams one at a time and time each echo: round trips in ms, and losses."""
    samples: list[float] = []
    lost = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        for seq in range(count):
            tag = seq.to_bytes(4, "big")
            start = time.monotonic()
            sock.sendto(tag, (host, port))
            try:
                while sock.recv(MAX_DATAGRAM) != tag:
                    pass
            except TimeoutError:
                lost += 1
                continue
            samples.append((time.monotonic() - start) * 1000.0)
    result: dict[str, Any] = {"sent": count, "lost": lost, "rtt_ms": samples}
    if samples:
        result["min_ms"] = min(samples)
        result["median_ms"] = statistics.median(samples)
    return result


def sink(port: int) -> dict[str, Any]:
    """Accept one TCP connection on ``port`` and count its bytes until it closes: bytes and seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", port))
        server.listen(1)
        print("ready", flush=True)
        conn, _ = server.accept()
        total, first, last = 0, 0.0, 0.0
        with conn:
            while chunk := conn.recv(1 << 16):
                now = time.monotonic()
                if not total:
                    first = now
                total += len(chunk)
                last = now
    return {
        "bytes": total,
        "seconds": max(last - first, 1e-9),
        "mbit_s": total * 8 / max(last - first, 1e-9) / 1e6,
    }


def send(host: str, port: int, seconds: float) -> dict[str, Any]:
    """Send as fast as TCP allows to ``host:port`` for ``seconds``, then close: bytes sent."""
    block = b"\0" * (1 << 16)
    total = 0
    with socket.create_connection((host, port), timeout=30) as conn:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            conn.sendall(block)
            total += len(block)
    return {"bytes": total}


def count(port: int, quiet_s: float, expect: int | None = None) -> dict[str, Any]:
    """Count UDP datagrams on ``port`` until ``expect`` came or none came for ``quiet_s`` s after one."""
    got = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        sock.bind(("0.0.0.0", port))
        print("ready", flush=True)
        sock.settimeout(None)
        while True:
            try:
                sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                break
            got += 1
            if got == expect:
                break
            sock.settimeout(quiet_s)
    return {"received": got}


def blast(host: str, port: int, number: int, size: int, rate_pps: float) -> dict[str, Any]:
    """Send ``number`` UDP datagrams of ``size`` bytes at about ``rate_pps`` per second."""
    payload = b"\0" * size
    gap = 1.0 / rate_pps
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(number):
            wait = start + i * gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sock.sendto(payload, (host, port))
    return {"sent": number, "seconds": time.monotonic() - start}


def start_server(net: Network, host: str, *args: str) -> subprocess.Popen[bytes]:
    """Start a probe server (``echo``, ``sink``, ``count``) in ``host`` and wait until it listens."""
    process = net.popen(host, [sys.executable, "-m", "harmony.testnet.probe", *args], stdout=subprocess.PIPE)
    line = process.stdout.readline() if process.stdout is not None else b""
    if line.strip() != b"ready":
        process.kill()
        raise RuntimeError(f"probe {args} in {host} did not start: {line!r}")
    return process


def server_result(process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> dict[str, Any]:
    """The JSON object a probe server prints when it ends (``sink``, ``count``)."""
    out, _ = process.communicate(timeout=timeout_s)
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def run_client(net: Network, host: str, *args: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Run a probe client (``rtt``, ``send``, ``blast``) in ``host`` and return its JSON result."""
    process = net.popen(host, [sys.executable, "-m", "harmony.testnet.probe", *args], stdout=subprocess.PIPE)
    return server_result(process, timeout_s)


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not in 1-65535")
    return port


def _bounded(low: float, high: float, kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in {low:g}-{high:g}")
        return value

    return parse


_COMMANDS: dict[str, tuple[str, tuple[str, ...], dict[str, tuple[Any, int | float | None]]]] = {
    "echo": ("UDP echo server", ("port",), {}),
    "rtt": (
        "UDP round trips to an echo server",
        ("host", "port"),
        {"count": (_bounded(1, 1e6, int), 20), "timeout": (_bounded(0.01, 600, float), 5.0)},
    ),
    "sink": ("TCP sink: count the bytes of one connection", ("port",), {}),
    "send": ("TCP bulk sender", ("host", "port"), {"seconds": (_bounded(0.1, 3600, float), 3.0)}),
    "count": (
        "UDP sink: count datagrams",
        ("port",),
        {"quiet": (_bounded(0.01, 600, float), 3.0), "expect": (_bounded(1, 1e9, int), None)},
    ),
    "blast": (
        "UDP sender at a fixed rate",
        ("host", "port"),
        {
            "number": (_bounded(1, 1e7, int), 1000),
            "size": (_bounded(1, MAX_DATAGRAM, int), 200),
            "rate": (_bounded(1, 1e6, float), 2000.0),
        },
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``echo``, ``rtt``, ``sink``, ``send``, ``count``, ``blast`` (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m harmony.testnet.probe", description="Traffic probes for a namespaced testnet."
    )
    sub = parser.add_subparsers(dest="what", required=True)
    for name, (text, positional, options) in _COMMANDS.items():
        command = sub.add_parser(name, help=text)
        for arg in positional:
            command.add_argument(arg, type=_port if arg == "port" else str)
        for option, (kind, default) in options.items():
            command.add_argument(f"--{option}", type=kind, default=default, help=f"(default {default})")
    args = parser.parse_args(argv)
    if args.what == "echo":
        echo(args.port)
        return 0
    if args.what == "rtt":
        result = rtt(args.host, args.port, args.count, args.timeout)
    elif args.what == "sink":
        result = sink(args.port)
    elif args.what == "send":
        result = send(args.host, args.port, args.seconds)
    elif args.what == "count":
        result = count(args.port, args.quiet, args.expect)
    else:
        result = blast(args.host, args.port, args.number, args.size, args.rate)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
