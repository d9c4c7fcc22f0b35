"""The namespaced network's delaying router: throughput, packets per second, added CPU, delay accuracy.

Needs root. Phases, each on a real network with real TCP/UDP traffic from processes in the namespaces:

1. idle accuracy: UDP round trips across a 40 ms one-way pair (so 80 ms expected) and inside a 0 ms region;
   the excess over the configured round trip is what the router adds;
2. one uncapped TCP flow through the router, against the same flow from the root namespace over the host's
   management veth (kernel only, no router): the baseline from the same run, and the ratio;
3. the worst case of the testnet scenario: 10 hosts, each capped at 20 Mbit/s up and down, each sending to
   the next for a few seconds (200 Mbit/s offered), while two uncapped probe hosts measure round trips
   through the loaded router: aggregate goodput, router packets/s and CPU, delay excess under load.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harmony.testnet import probe
from harmony.testnet.network import HostSpec, Network, namespaces_available

ONE_WAY_MS = 40.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from ``/proc/PID/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0-1) of samples, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def idle_accuracy(prefix: str, mtu: int) -> dict[str, float]:
    """Round trips across regions (2 × 40 ms) and inside one (0 ms) on an idle network."""
    hosts = [HostSpec("a", "eu"), HostSpec("b", "us"), HostSpec("c", "eu")]
    with Network(prefix, hosts, {("eu", "us"): ONE_WAY_MS}, mtu=mtu) as net:
        probe.start_server(net, "b", "echo", "7000")
        probe.start_server(net, "c", "echo", "7000")
        far = probe.run_client(net, "a", "rtt", net.ip("b"), "7000", "--count", "100")["rtt_ms"]
        near = probe.run_client(net, "a", "rtt", net.ip("c"), "7000", "--count", "100")["rtt_ms"]
        direct = probe.rtt(net.ip("b"), 7000, 100, 2.0)["rtt_ms"]
    expected = 2 * ONE_WAY_MS
    return {
        "rtt_expected_ms": expected,
        "rtt_median_ms": statistics.median(far),
        "rtt_excess_p50_ms": statistics.median(far) - expected,
        "rtt_excess_p99_ms": percentile(far, 0.99) - expected,
        "rtt_min_ms": min(far),
        "zero_delay_rtt_p50_ms": statistics.median(near),
        "direct_rtt_p50_ms": statistics.median(direct),
    }


def single_flow(prefix: str, mtu: int, seconds: float) -> dict[str, float]:
    """One uncapped TCP flow through the router, and the same from the root namespace (no router)."""
    hosts = [HostSpec("a", "r"), HostSpec("b", "r")]
    with Network(prefix, hosts, {("r", "r"): 1.0}, mtu=mtu) as net:
        assert net.router_pid is not None
        sink = probe.start_server(net, "b", "sink", "7100")
        before_cpu, before = cpu_seconds(net.router_pid), net.router_stats()
        start = time.monotonic()
        probe.run_client(net, "a", "send", net.ip("b"), "7100", "--seconds", str(seconds))
        routed = probe.server_result(sink)
        wall = time.monotonic() - start
        cpu, stats = cpu_seconds(net.router_pid) - before_cpu, net.router_stats()
        sink = probe.start_server(net, "b", "sink", "7101")
        probe.send(net.ip("b"), 7101, seconds)
        direct = probe.server_result(sink)
    packets = stats["in"] - before["in"]
    return {
        "routed_mbit_s": routed["mbit_s"],
        "direct_mbit_s": direct["mbit_s"],
        "routed_over_direct": routed["mbit_s"] / direct["mbit_s"],
        "router_max_packets_s": packets / wall,
        "router_cpu_s_per_100k_packets": cpu / max(packets, 1) * 100_000,
    }


def loaded(prefix: str, mtu: int, nodes: int, mbit: float, seconds: float) -> dict[str, float]:
    """``nodes`` capped hosts each sending to the next, two probe hosts measuring round trips meanwhile."""
    hosts = [HostSpec(f"n{i}", "eu" if i % 2 else "us", mbit, mbit) for i in range(nodes)]
    hosts += [HostSpec("pa", "eu"), HostSpec("pb", "us")]
    net = Network(prefix, hosts, {("eu", "us"): ONE_WAY_MS, ("eu", "eu"): 5.0, ("us", "us"): 5.0}, mtu=mtu)
    started = time.monotonic()
    net.up()
    setup_s = time.monotonic() - started
    try:
        assert net.router_pid is not None
        sinks = [probe.start_server(net, f"n{(i + 1) % nodes}", "sink", "7200") for i in range(nodes)]
        probe.start_server(net, "pb", "echo", "7300")
        before_cpu, before = cpu_seconds(net.router_pid), net.router_stats()
        start = time.monotonic()
        senders = [
            net.popen(
                f"n{i}",
                [
                    sys.executable,
                    "-m",
                    "harmony.testnet.probe",
                    "send",
                    net.ip(f"n{(i + 1) % nodes}"),
                    "7200",
                    "--seconds",
                    str(seconds),
                ],
                stdout=subprocess.DEVNULL,
            )
            for i in range(nodes)
        ]
        time.sleep(1.0)  # let the flows ramp up before sampling delay
        count = max(1, int((seconds - 2.0) * 10))
        rtts = probe.run_client(net, "pa", "rtt", net.ip("pb"), "7300", "--count", str(count))
        for sender in senders:
            sender.wait(timeout=seconds + 60)
        results = [probe.server_result(s) for s in sinks]
        wall = time.monotonic() - start
        cpu, stats = cpu_seconds(net.router_pid) - before_cpu, net.router_stats()
    finally:
        started = time.monotonic()
        net.down()
        teardown_s = time.monotonic() - started
    goodput = sum(r["mbit_s"] for r in results)
    samples = rtts["rtt_ms"] or [float("nan")]
    return {
        "setup_s": setup_s,
        "teardown_s": teardown_s,
        "offered_mbit_s": nodes * mbit,
        "goodput_mbit_s": goodput,
        "goodput_over_offered": goodput / (nodes * mbit),
        "per_flow_min_mbit_s": min(r["mbit_s"] for r in results),
        "router_packets_s": (stats["in"] - before["in"]) / wall,
        "router_cpu_percent": 100 * cpu / wall,
        "router_drops": stats["overflow"] - before["overflow"],
        "router_late_mean_ms": (stats["late_us_total"] - before["late_us_total"])
        / max(1, stats["out"] - before["out"])
        / 1000,
        "router_late_max_ms": stats["late_us_max"] / 1000,
        "loaded_rtt_excess_p50_ms": statistics.median(samples) - 2 * ONE_WAY_MS,
        "loaded_rtt_excess_p99_ms": percentile(samples, 0.99) - 2 * ONE_WAY_MS,
        "loaded_rtt_lost": rtts["lost"],
    }


def main() -> int:
    """Run the three phases and print their figures; the last line is one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=10, help="capped hosts in the load phase (default 10)")
    parser.add_argument("--mbit", type=float, default=20.0, help="cap per host, up and down (default 20)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each transfer (default 6)")
    parser.add_argument("--mtu", type=int, default=1500, help="MTU of every link (default 1500)")
    args = parser.parse_args()
    reason = namespaces_available()
    if reason is not None:
        print(reason, file=sys.stderr)
        print(json.dumps({"skipped": reason}))
        return 0
    tag = f"bn{os.getpid() % 100000}"
    figures: dict[str, Any] = {"mtu": args.mtu, "loadavg_1m_before": os.getloadavg()[0]}
    print("[1/3] idle delay accuracy", file=sys.stderr, flush=True)
    figures.update(idle_accuracy(tag + "i", args.mtu))
    print("[2/3] one uncapped flow: router vs direct", file=sys.stderr, flush=True)
    figures.update(single_flow(tag + "s", args.mtu, args.seconds))
    print(f"[3/3] {args.nodes} hosts x {args.mbit:g} Mbit/s", file=sys.stderr, flush=True)
    figures.update(loaded(tag + "l", args.mtu, args.nodes, args.mbit, args.seconds))
    figures["loadavg_1m_after"] = os.getloadavg()[0]
    print(
        f"idle RTT across 2 x {ONE_WAY_MS:g} ms: median {figures['rtt_median_ms']:.2f} ms "
        f"(excess p50 {figures['rtt_excess_p50_ms']:.2f} ms, p99 {figures['rtt_excess_p99_ms']:.2f} ms); "
        f"0 ms region {figures['zero_delay_rtt_p50_ms']:.2f} ms; "
        f"direct (no router) {figures['direct_rtt_p50_ms']:.2f} ms"
    )
    print(
        f"one uncapped TCP flow: {figures['routed_mbit_s']:.0f} Mbit/s through the router vs "
        f"{figures['direct_mbit_s']:.0f} Mbit/s direct (ratio {figures['routed_over_direct']:.3f}); "
        f"router {figures['router_max_packets_s']:.0f} packets/s, "
        f"{figures['router_cpu_s_per_100k_packets']:.2f} CPU s per 100k packets"
    )
    print(
        f"{args.nodes} hosts x {args.mbit:g} Mbit/s: goodput {figures['goodput_mbit_s']:.1f} of "
        f"{figures['offered_mbit_s']:.0f} Mbit/s (ratio {figures['goodput_over_offered']:.3f}, slowest flow "
        f"{figures['per_flow_min_mbit_s']:.1f}); router {figures['router_packets_s']:.0f} packets/s at "
        f"{figures['router_cpu_percent']:.0f}% of a core, {figures['router_drops']} drops, late by "
        f"{figures['router_late_mean_ms']:.2f} ms on average (max {figures['router_late_max_ms']:.1f}); "
        f"RTT excess under load p50 {figures['loaded_rtt_excess_p50_ms']:.1f} ms, "
        f"p99 {figures['loaded_rtt_excess_p99_ms']:.1f} ms"
    )
    print(f"{args.nodes + 2} hosts: up in {figures['setup_s']:.2f} s, down in {figures['teardown_s']:.2f} s")
    print(
        f"load average (1 min): {figures['loadavg_1m_before']:.2f} before, "
        f"{figures['loadavg_1m_after']:.2f} after"
    )
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
