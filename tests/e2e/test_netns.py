"""The namespaced network with real packets: delay, rate caps, loss, partitions and cleanup (issue 15).

Every test builds a real network (namespaces, veths, tbf, the TUN router process) and measures it with real
UDP and TCP traffic from processes inside the namespaces. Lower bounds on delay are strict (the router never
releases a packet early); upper bounds are loose, for a loaded 2-core machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.testnet import netlink, probe
from harmony.testnet.network import (
    HOST_SYSCTLS,
    HostSpec,
    Network,
    NetworkError,
    down_all,
    namespaces_available,
)

UNAVAILABLE = namespaces_available()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(UNAVAILABLE is not None, reason=f"no namespaced network here: {UNAVAILABLE}"),
]

SLACK_MS = 150.0
"""Loose upper slack on a median round trip: scheduling on a loaded 2-core machine."""


def _prefix(tag: str) -> str:
    return f"tn{os.getpid() % 100000}{tag}"


def _leftovers(prefix: str) -> list[str]:
    links = netlink.root_links(__import__("re").compile(rf"{prefix}a\d+"))
    return [ns for ns in netlink.namespaces() if ns.startswith(f"{prefix}-")] + links


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def three(state_dir: Path) -> Iterator[Network]:
    hosts = [HostSpec("a", "eu"), HostSpec("b", "us"), HostSpec("c", "eu")]
    with Network(_prefix("x"), hosts, {("eu", "us"): 40.0, ("eu", "eu"): 5.0}, state_dir=state_dir) as net:
        yield net
    assert _leftovers(net.prefix) == []


def test_round_trip_is_twice_the_one_way_delay_of_the_region_pair(three: Network) -> None:
    echo = probe.start_server(three, "b", "echo", "7000")
    probe.start_server(three, "c", "echo", "7000")
    far = probe.run_client(three, "a", "rtt", three.ip("b"), "7000", "--count", "15")
    near = probe.run_client(three, "a", "rtt", three.ip("c"), "7000", "--count", "15")
    back = probe.run_client(three, "b", "rtt", three.ip("c"), "7000", "--count", "15")
    assert far["lost"] == near["lost"] == back["lost"] == 0
    assert far["min_ms"] >= 80.0 and far["median_ms"] < 80.0 + SLACK_MS
    assert back["min_ms"] >= 80.0 and back["median_ms"] < 80.0 + SLACK_MS
    assert near["min_ms"] >= 10.0 and near["median_ms"] < 10.0 + SLACK_MS
    # the root namespace reaches every host directly, past the router: no delay
    direct = probe.rtt(three.ip("b"), 7000, 10, 5.0)
    assert direct["lost"] == 0 and direct["min_ms"] < 40.0
    assert echo.poll() is None


def test_rate_caps_hold_the_uplink_and_the_downlink(state_dir: Path) -> None:
    hosts = [HostSpec("up", "r", uplink_mbit=8), HostSpec("mid", "r"), HostSpec("down", "r", downlink_mbit=4)]
    with Network(_prefix("c"), hosts, {("r", "r"): 5.0}, state_dir=state_dir) as net:
        sink = probe.start_server(net, "mid", "sink", "7100")
        probe.run_client(net, "up", "send", net.ip("mid"), "7100", "--seconds", "4")
        upload = probe.server_result(sink)
        sink = probe.start_server(net, "down", "sink", "7101")
        probe.run_client(net, "mid", "send", net.ip("down"), "7101", "--seconds", "4")
        download = probe.server_result(sink)
    assert 0.5 * 8 <= upload["mbit_s"] <= 1.1 * 8, upload
    assert 0.5 * 4 <= download["mbit_s"] <= 1.1 * 4, download


def test_popen_runs_the_program_itself_in_the_host_namespace(three: Network) -> None:
    """The Popen's pid is the program (not an ``ip`` wrapper), so SIGSTOP and SIGKILL reach it."""
    sleeper = three.popen("a", ["sleep", "60"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{sleeper.pid}/comm").read_text().strip() != "sleep" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Path(f"/proc/{sleeper.pid}/comm").read_text().strip() == "sleep"
    assert sleeper.pid in netlink.namespace_pids(three.namespace("a"))
    ip = subprocess.run(
        ["ip", "netns", "exec", three.namespace("a"), "ip", "-4", "-o", "addr", "show", "dev", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"inet {three.ip('a')} peer" in ip.stdout
    sleeper.send_signal(signal.SIGKILL)
    assert sleeper.wait(timeout=10) == -signal.SIGKILL


def test_every_host_keeps_its_tcp_window_between_blocks(three: Network) -> None:
    """Each host's namespace has the validator tuning of HOST_SYSCTLS; the root namespace is untouched."""
    for host in ("a", "b", "c"):
        for key, value in HOST_SYSCTLS.items():
            out = subprocess.run(
                ["ip", "netns", "exec", three.namespace(host), "sysctl", "-n", key],
                capture_output=True,
                text=True,
                check=True,
            )
            assert out.stdout.strip() == value, (host, key)


def test_partition_blocks_and_heal_restores_without_killing_processes(three: Network) -> None:
    echo = probe.start_server(three, "b", "echo", "7200")
    three.partition([["a"]])
    cut = probe.run_client(three, "a", "rtt", three.ip("b"), "7200", "--count", "3", "--timeout", "0.5")
    other = probe.run_client(three, "c", "rtt", three.ip("b"), "7200", "--count", "3")
    assert cut["lost"] == 3
    assert other["lost"] == 0
    assert three.router_stats()["cut"] >= 3
    three.heal()
    healed = probe.run_client(three, "a", "rtt", three.ip("b"), "7200", "--count", "3")
    assert healed["lost"] == 0 and healed["min_ms"] >= 80.0
    three.set_latency("eu", "us", 100.0)
    slower = probe.run_client(three, "a", "rtt", three.ip("b"), "7200", "--count", "3")
    assert slower["lost"] == 0 and slower["min_ms"] >= 140.0  # 100 ms out, 40 ms back
    assert echo.poll() is None


def test_loss_drops_about_the_fraction_and_can_be_changed(state_dir: Path) -> None:
    hosts = [HostSpec("a", "eu"), HostSpec("b", "us")]
    with Network(_prefix("l"), hosts, {("eu", "us"): 5.0}, {("eu", "us"): 0.3}, state_dir=state_dir) as net:
        counter = probe.start_server(net, "b", "count", "7300")
        probe.run_client(net, "a", "blast", net.ip("b"), "7300", "--number", "2000")
        lossy = probe.server_result(counter)["received"]
        net.set_loss("eu", "us", 0.0)
        counter = probe.start_server(net, "b", "count", "7301", "--expect", "2000")
        probe.run_client(net, "a", "blast", net.ip("b"), "7301", "--number", "2000")
        clean = probe.server_result(counter)["received"]
    assert 0.62 * 2000 <= lossy <= 0.78 * 2000
    assert clean == 2000


def test_two_runs_coexist_on_different_subnets(state_dir: Path) -> None:
    hosts = [HostSpec("a", "r"), HostSpec("b", "r")]
    with (
        Network(_prefix("p"), hosts, {}, state_dir=state_dir) as one,
        Network(_prefix("q"), hosts, {}, state_dir=state_dir) as two,
    ):
        assert one.subnet != two.subnet
        for net in (one, two):
            probe.start_server(net, "b", "echo", "7400")
            assert probe.run_client(net, "a", "rtt", net.ip("b"), "7400", "--count", "3")["lost"] == 0
    assert _leftovers(one.prefix) == _leftovers(two.prefix) == []


def test_up_refuses_a_prefix_with_leftovers_and_twice(state_dir: Path) -> None:
    net = Network(_prefix("u"), [HostSpec("a", "r")], {}, state_dir=state_dir)
    with net:
        with pytest.raises(NetworkError, match="already brought up"):
            net.up()
        with pytest.raises(NetworkError, match="prefix: an earlier run"):
            Network(net.prefix, [HostSpec("z", "r")], {}, state_dir=state_dir).up()
    with pytest.raises(NetworkError, match="not up"):
        net.heal()


def test_a_dead_router_is_reported(state_dir: Path) -> None:
    with Network(_prefix("d"), [HostSpec("a", "r")], {}, state_dir=state_dir) as net:
        assert net.router_pid is not None
        os.kill(net.router_pid, signal.SIGKILL)
        assert _gone(net.router_pid)
        with pytest.raises(NetworkError, match="exited with -9"):
            net.heal()
    assert _leftovers(net.prefix) == []


OWNER = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    from harmony.testnet.network import HostSpec, Network
    # as in a terminal: a suite started by nohup or as a shell's background job hands SIGINT down ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    net = Network(sys.argv[1], [HostSpec("a", "r"), HostSpec("b", "r")], {("r", "r"): 10.0},
                  state_dir=Path(sys.argv[2]))
    with net:
        net.popen("a", ["sleep", "300"])
        print(net.router_pid, flush=True)
        time.sleep(300)
    """
)


def _owner(prefix: str, state_dir: Path) -> tuple[subprocess.Popen[str], int]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, prefix, str(state_dir)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    return owner, int(owner.stdout.readline())


def _started_in(namespace: str) -> list[int]:
    """The processes in a namespace, once there is one (``popen`` returns before its child has joined)."""
    deadline = time.monotonic() + 30
    while not (pids := netlink.namespace_pids(namespace)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids, f"nothing started in {namespace}"
    return pids


def _gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not netlink.alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_sigkill_of_the_owner_then_down_all_removes_everything(state_dir: Path) -> None:
    prefix = _prefix("k")
    owner, router = _owner(prefix, state_dir)
    record = json.loads((state_dir / f"{prefix}.json").read_text())
    sleeper = _started_in(f"{prefix}-a")
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=10)
    assert _gone(router), "the router outlived its owner"
    assert sorted(_leftovers(prefix)) == sorted(record["namespaces"] + record["links"])
    removed = down_all(prefix, state_dir=state_dir)
    assert set(removed) == set(record["namespaces"]) | set(record["links"])
    assert _leftovers(prefix) == []
    assert all(_gone(pid, 1.0) for pid in sleeper)
    assert not (state_dir / f"{prefix}.json").exists()
    assert down_all(prefix, state_dir=state_dir) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_of_the_owner_cleans_up(state_dir: Path, sig: signal.Signals) -> None:
    prefix = _prefix("t" if sig == signal.SIGTERM else "i")
    owner, router = _owner(prefix, state_dir)
    sleeper = _started_in(f"{prefix}-a")
    owner.send_signal(sig)
    owner.wait(timeout=30)
    assert owner.returncode != 0
    assert _leftovers(prefix) == []
    assert _gone(router, 1.0) and all(_gone(pid, 1.0) for pid in sleeper)
    assert not (state_dir / f"{prefix}.json").exists()
