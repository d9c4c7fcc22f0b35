"""Hosts on Linux network namespaces, with latency, rate caps, loss and partitions (design.md §9).

Topology of one run with prefix ``p`` (all names carry it, so concurrent runs never collide)::

    host ns p-{name}              router ns p-r                         root ns
    eth0 10.213.X.N  ── veth ──  p r{i} 10.213.X.1   (tbf: downlink)
      (tbf: uplink)               p t  TUN ── the delaying router process
    adm0             ── veth ─────────────────────────────────────────  p a{i} 10.213.X.254

Host-to-host packets enter the router namespace, are routed into the TUN device (``ip rule``: anything not
from the TUN or from the namespace itself looks up a table whose default route is the TUN), wait there for
the one-way delay of their region pair in :mod:`harmony.testnet.router` (which also drops them for loss and
partitions), and come back out of the TUN to the destination's port. The root namespace reaches every host's
address directly over the host's management veth (``adm0``), so a runner's RPC calls see no delay, cap or
partition; a host can reach only its peers (through the router) and the root namespace's .254 address.

What was made is recorded in ``/run/harmony-testnet/{prefix}.json``; :meth:`Network.down` (also run on
SIGTERM, SIGHUP, at exit and by ``with``) and :func:`down_all` remove it all, processes included.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

from harmony.testnet import netlink
from harmony.testnet.netlink import NetworkError
from harmony.testnet.topology import (
    ADDRESS_BASE,
    HostSpec,
    NetworkConfigError,
    Plan,
    admin_link,
    check_delay,
    check_fraction,
    check_prefix,
    controller_address,
    host_address,
    host_namespace,
    make_plan,
    preferred_block,
    router_address,
    router_namespace,
    router_port,
    tun_name,
)

__all__ = [
    "HostSpec",
    "Network",
    "NetworkConfigError",
    "NetworkError",
    "down_all",
    "namespaces_available",
]

STATE_DIR = Path(os.environ.get("HARMONY_TESTNET_STATE", "/run/harmony-testnet"))
"""Where each run records what it made (``{prefix}.json``) for :func:`down_all`."""

ROUTER_TIMEOUT_S = 30.0
"""Longest wait for the router to start or to answer a command."""

TBF_LATENCY_MS = 100
"""Longest a packet may wait in a rate cap's queue (tbf ``latency``): about one bandwidth-delay product."""

HOST_SYSCTLS = {"net.ipv4.tcp_slow_start_after_idle": "0"}
"""Set in every host's namespace as on a tuned validator (docs/operators.md §1): a connection idle between
two blocks keeps its congestion window, so a block's first round trips are not cut to a few packets."""

DATA_TABLE = 100
"""The router namespace's routing table whose default route is the TUN device."""

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _record_path(prefix: str, state_dir: Path | None) -> Path:
    return (state_dir or STATE_DIR) / f"{prefix}.json"


def _admin_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(prefix)}a\d{{1,3}}")


class Network:
    """A set of hosts, each in its own network namespace with its own address, joined by a delaying router.

    Use as a context manager (``with Network(...) as net:`` calls :meth:`up`, and :meth:`down` on the way
    out), or call :meth:`up` and :meth:`down` yourself.
    """

    def __init__(
        self,
        prefix: str,
        hosts: Sequence[HostSpec],
        latency_ms: Mapping[tuple[str, str], float],
        loss: Mapping[tuple[str, str], float] | None = None,
        *,
        mtu: int = 1500,
        seed: int = 0,
        state_dir: Path | None = None,
    ) -> None:
        """Check the plan (raises :class:`NetworkConfigError` naming the field); nothing is created yet.

        ``latency_ms`` and ``loss`` map (source region, destination region) to a one-way delay in ms and
        to a fraction of packets dropped; a missing pair takes its reverse, else 0. ``seed`` seeds the loss.
        """
        self.plan: Plan = make_plan(prefix, hosts, latency_ms, loss, mtu)
        self.prefix = prefix
        self._seed = seed
        self._state_dir = state_dir
        self._block: int | None = None
        self._router: subprocess.Popen[bytes] | None = None
        self._processes: list[subprocess.Popen[bytes]] = []
        self._lock = threading.RLock()  # re-entered when a signal arrives during a command
        self._state = "new"  # new -> up -> down
        self._previous: dict[int, Any] = {}

    # -- names and addresses ----------------------------------------------------------------------------

    @property
    def hosts(self) -> list[str]:
        """Host names in the order given."""
        return [h.name for h in self.plan.hosts]

    def namespace(self, host: str) -> str:
        """The network namespace of ``host``."""
        return host_namespace(self.prefix, self.plan.hosts[self.plan.index(host)].name)

    def ip(self, host: str) -> str:
        """The address of ``host``: its peers and the root namespace reach it there."""
        return host_address(self._need_block(), self.plan.index(host))

    @property
    def subnet(self) -> str:
        """The run's /24 (known after :meth:`up`)."""
        return f"{ADDRESS_BASE}.{self._need_block()}.0/24"

    @property
    def controller_ip(self) -> str:
        """The root namespace's address as the hosts see it."""
        return controller_address(self._need_block())

    def _need_block(self) -> int:
        if self._block is None:
            raise NetworkError("the network has no addresses yet: call up() first")
        return self._block

    # -- life cycle -------------------------------------------------------------------------------------

    def __enter__(self) -> Network:
        self.up()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.down()

    def up(self) -> None:
        """Create every namespace, link, address, route, rate cap and the router; on failure remove them."""
        if self._state != "new":
            raise NetworkError(f"network {self.prefix!r} was already brought up; make a new Network")
        reason = namespaces_available()
        if reason is not None:
            raise NetworkError(reason)
        leftovers = [ns for ns in netlink.namespaces() if ns.startswith(f"{self.prefix}-")]
        if leftovers:
            raise NetworkError(
                f"prefix: an earlier run with prefix {self.prefix!r} left {', '.join(leftovers)}; "
                f"remove them with `harmony testnet down --prefix {self.prefix}` or pick another prefix"
            )
        self._state = "up"
        atexit.register(self.down)
        self._install_signal_handlers()
        try:
            with _machine_lock():
                self._claim_block()
                self._create()
        except BaseException:
            self.down()
            raise

    def _claim_block(self) -> None:
        """Choose a /24 that no root route and no live run's record uses, and record it.

        Called under the machine-wide lock, held until this run's root routes exist, so two runs starting
        together never pick the same block.
        """
        directory = self._state_dir or STATE_DIR
        directory.mkdir(parents=True, exist_ok=True)
        taken = netlink.root_routes_in(ADDRESS_BASE)
        live = set(netlink.namespaces())
        for path in directory.glob("*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                other = json.loads(path.read_text())
                if other["prefix"] != self.prefix and set(other["namespaces"]) & live:
                    taken.add(int(other["block"]))
        start = preferred_block(self.prefix)
        for step in range(250):
            block = (start - 1 + step) % 250 + 1
            if block not in taken:
                break
        else:
            raise NetworkError(f"every /24 of {ADDRESS_BASE}.0.0/16 is in use; run `harmony testnet down`")
        self._block = block
        self._write_record()

    def _write_record(self) -> None:
        plan = self.plan
        record = {
            "prefix": self.prefix,
            "block": self._block,
            "owner_pid": os.getpid(),
            "namespaces": [router_namespace(self.prefix)] + [self.namespace(h.name) for h in plan.hosts],
            "links": [admin_link(self.prefix, i) for i in range(len(plan.hosts))],
        }
        path = _record_path(self.prefix, self._state_dir)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(path)

    def _create(self) -> None:
        """Namespaces and veths, then addresses, routes and caps, then the router and the TUN's routing."""
        self._make_namespaces_and_links()
        self._address_and_cap()
        self._start_router()
        self._route_through_tun()

    def _make_namespaces_and_links(self) -> None:
        """Namespaces for hosts and router; per host a data veth to the router and an admin veth to root."""
        plan, prefix = self.plan, self.prefix
        router_ns = router_namespace(prefix)
        host_nss = [self.namespace(h.name) for h in plan.hosts]
        netlink.batch("ip", None, [f"netns add {ns}" for ns in [router_ns, *host_nss]])
        off6 = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
        netlink.sysctl(
            router_ns,
            {
                **off6,
                "net.ipv4.ip_forward": "1",
                "net.ipv4.conf.all.rp_filter": "0",
                "net.ipv4.conf.default.rp_filter": "0",
                "net.ipv4.conf.all.send_redirects": "0",
                "net.ipv4.conf.default.send_redirects": "0",
            },
        )
        mtu = plan.mtu
        root: list[str] = []
        for i, ns in enumerate(host_nss):
            root.append(
                f"link add name eth0 netns {ns} mtu {mtu} type veth peer name {router_port(prefix, i)} "
                f"netns {router_ns} mtu {mtu}"
            )
            root.append(f"link add name {admin_link(prefix, i)} type veth peer name adm0 netns {ns}")
        netlink.batch("ip", None, root)
        admin_sysctls: dict[str, str] = {}
        for i in range(len(host_nss)):
            link = admin_link(prefix, i)
            admin_sysctls[f"net.ipv4.conf.{link}.forwarding"] = "0"
            admin_sysctls[f"net.ipv6.conf.{link}.disable_ipv6"] = "1"
        netlink.sysctl(None, admin_sysctls)
        for ns in host_nss:
            netlink.sysctl(ns, HOST_SYSCTLS)

    def _address_and_cap(self) -> None:
        """Addresses and routes on every link (hosts reach peers via the router, .254 via adm0); tbf caps."""
        plan, prefix, block, mtu = self.plan, self.prefix, self._need_block(), self.plan.mtu
        router_ns = router_namespace(prefix)
        host_nss = [self.namespace(h.name) for h in plan.hosts]
        gateway, controller = router_address(block), controller_address(block)
        root = []
        downlinks: list[str] = []
        router_cmds = ["link set lo up"]
        for i, (spec, ns) in enumerate(zip(plan.hosts, host_nss, strict=True)):
            address = host_address(block, i)
            root += [
                f"link set {admin_link(prefix, i)} up",
                f"addr add {controller}/32 peer {address}/32 dev {admin_link(prefix, i)}",
            ]
            netlink.batch(
                "ip",
                ns,
                [
                    "link set lo up",
                    "link set dev eth0 addrgenmode none",  # no IPv6 link-local chatter; saves a sysctl call
                    "link set eth0 up",
                    f"addr add {address}/32 peer {gateway}/32 dev eth0",
                    f"route add {ADDRESS_BASE}.{block}.0/24 via {gateway} dev eth0",
                    "link set dev adm0 addrgenmode none",
                    "link set adm0 up",
                    f"route add {controller}/32 dev adm0 src {address}",
                ],
            )
            router_cmds += [
                f"link set {router_port(prefix, i)} up",
                f"addr add {gateway}/32 peer {address}/32 dev {router_port(prefix, i)}",
            ]
            if spec.uplink_mbit is not None:
                netlink.batch("tc", ns, [_tbf("eth0", spec.uplink_mbit, mtu)])
            if spec.downlink_mbit is not None:
                downlinks.append(_tbf(router_port(prefix, i), spec.downlink_mbit, mtu))
        netlink.batch("tc", router_ns, downlinks)
        netlink.batch("ip", None, root)
        netlink.batch("ip", router_ns, router_cmds)

    def _route_through_tun(self) -> None:
        """Policy routing in the router namespace: forwarded packets into the TUN, out of it by main."""
        tun, mtu = tun_name(self.prefix), self.plan.mtu
        netlink.batch(
            "ip",
            router_namespace(self.prefix),
            [
                f"link set {tun} mtu {mtu} txqueuelen 10000 up",
                f"route add default dev {tun} table {DATA_TABLE}",
                f"rule add iif {tun} lookup main pref 100",
                "rule add iif lo lookup main pref 101",
                f"rule add lookup {DATA_TABLE} pref 200",
            ],
        )

    def _start_router(self) -> None:
        """Start the router in the router namespace, send its configuration, wait until it is ready."""
        argv = [
            "ip",
            "netns",
            "exec",
            router_namespace(self.prefix),
            sys.executable,
            "-m",
            "harmony.testnet.router",
        ]
        self._router = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        config = {
            "tun": tun_name(self.prefix),
            "hosts": {str(i + 2): self.plan.regions.index(h.region) for i, h in enumerate(self.plan.hosts)},
            "delay_ms": self.plan.delay_ms,
            "loss": self.plan.loss,
            "seed": self._seed,
        }
        self._exchange(config)

    def _exchange(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Send one line to the router and read its one-line answer."""
        router = self._router
        if router is None or router.stdin is None or router.stdout is None or self._state != "up":
            raise NetworkError("the network is not up")
        if router.poll() is not None:
            raise NetworkError(f"the router (pid {router.pid}) exited with {router.returncode}: packets stop")
        with self._lock:
            try:
                router.stdin.write(json.dumps(message).encode() + b"\n")
                router.stdin.flush()
            except OSError as exc:
                raise NetworkError(f"the router (pid {router.pid}) is gone: {exc}") from exc
            line = _read_line(router.stdout, ROUTER_TIMEOUT_S)
        if line is None:
            raise NetworkError(f"the router (pid {router.pid}) did not answer within {ROUTER_TIMEOUT_S:g} s")
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError as exc:
            raise NetworkError(f"the router answered {line!r}") from exc
        if not answer.get("ok"):
            raise NetworkError(
                f"the router refused {message.get('op', 'its configuration')}: {answer.get('error')}"
            )
        return answer

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Remove the network, then let the signal do what it did before (by default, end the process)."""
        previous = self._previous.get(signum, signal.SIG_DFL)
        self.down()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def down(self) -> None:
        """Kill every process in the namespaces and remove every namespace, link, qdisc and the record.

        Idempotent; safe to call from a signal handler, ``atexit`` or ``__exit__``.
        """
        with self._lock:
            if self._state == "down":
                return
            was_up = self._state == "up"
            self._state = "down"
        atexit.unregister(self.down)
        if threading.current_thread() is threading.main_thread():
            for sig, previous in self._previous.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, previous)
        self._previous.clear()
        if not was_up:
            return
        router = self._router
        if router is not None and router.stdin is not None:
            with contextlib.suppress(OSError):
                router.stdin.close()
        down_all(self.prefix, state_dir=self._state_dir)
        for process in [*self._processes, *([router] if router else [])]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()

    # -- using it ---------------------------------------------------------------------------------------

    def popen(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``argv`` in ``host``'s namespace; ``ip netns exec`` execs it, so ``pid`` is the program.

        Keyword arguments go to :class:`subprocess.Popen`; :meth:`down` kills the process if still alive.
        """
        namespace = self.namespace(host)
        if isinstance(argv, str | bytes) or not argv or not all(isinstance(a, str) for a in argv):
            raise NetworkConfigError("argv: expected a non-empty sequence of strings")
        if self._state != "up":
            raise NetworkError("the network is not up")
        process: subprocess.Popen[bytes] = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv], **kwargs
        )
        self._processes.append(process)
        return process

    def partition(self, groups: Sequence[Sequence[str]]) -> None:
        """Cut the network into groups that cannot reach each other; hosts named in no group form one more.

        Packets between groups are dropped by the router; processes keep running. Replaces any earlier cut.
        """
        if isinstance(groups, str) or not isinstance(groups, Sequence):
            raise NetworkConfigError("groups: expected a sequence of sequences of host names")
        octets: list[list[int]] = []
        seen: set[str] = set()
        for g, members in enumerate(groups):
            if isinstance(members, str) or not isinstance(members, Sequence):
                raise NetworkConfigError(f"groups[{g}]: expected a sequence of host names, got {members!r}")
            group = []
            for host in members:
                if not isinstance(host, str):
                    raise NetworkConfigError(f"groups[{g}]: {host!r} is not a host name")
                if host in seen:
                    raise NetworkConfigError(f"groups[{g}]: host {host!r} is in two groups")
                seen.add(host)
                group.append(self.plan.index(host) + 2)
            octets.append(group)
        rest = [i + 2 for i, h in enumerate(self.plan.hosts) if h.name not in seen]
        if rest:
            octets.append(rest)
        self._exchange({"op": "partition", "groups": octets})

    def heal(self) -> None:
        """End any partition: every host reaches every other again."""
        self._exchange({"op": "heal"})

    def set_loss(self, src_region: str, dst_region: str, loss: float) -> None:
        """From now on, drop the fraction ``loss`` (0-1) of packets from ``src_region`` to ``dst_region``."""
        src = self.plan.region_index("src_region", src_region)
        dst = self.plan.region_index("dst_region", dst_region)
        self._exchange({"op": "loss", "src": src, "dst": dst, "loss": check_fraction("loss", loss)})

    def set_latency(self, src_region: str, dst_region: str, ms: float) -> None:
        """From now on, delay packets from ``src_region`` to ``dst_region`` by ``ms`` one way.

        Packets already held keep their release time, so a lower delay may reorder them once.
        """
        src = self.plan.region_index("src_region", src_region)
        dst = self.plan.region_index("dst_region", dst_region)
        self._exchange({"op": "delay", "src": src, "dst": dst, "ms": check_delay("ms", ms)})

    def router_stats(self) -> dict[str, int]:
        """The router's counters: packets ``in``, ``out``, dropped (``loss``, ``cut``, ``unknown``,
        ``overflow``), ``held`` now, and its lateness in µs (``late_us_total``, ``late_us_max``)."""
        answer = self._exchange({"op": "stats"})
        return {k: int(v) for k, v in answer.items() if k != "ok"}

    @property
    def router_pid(self) -> int | None:
        """The delaying router's process id (for measuring its CPU)."""
        return self._router.pid if self._router is not None else None


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """An exclusive lock shared by every run on this machine, whatever its state directory."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read_line(stream: IO[bytes], timeout: float) -> bytes | None:
    """One line from a pipe, or None if none came within ``timeout`` seconds or the pipe closed."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return None
    line = stream.readline()
    return line or None


def _tbf(device: str, mbit: float, mtu: int) -> str:
    """A tbf rate cap: a burst of 3 packets or 10 ms at the rate, a queue of :data:`TBF_LATENCY_MS`."""
    rate_bit = int(mbit * 1_000_000)
    burst = max(3 * (mtu + 14), rate_bit // 8 // 100)
    return f"qdisc add dev {device} root tbf rate {rate_bit}bit burst {burst} latency {TBF_LATENCY_MS}ms"


def down_all(prefix: str, *, state_dir: Path | None = None) -> list[str]:
    """Remove whatever a run with ``prefix`` left: kill its processes, delete its namespaces and links.

    Works from the run's record and from what exists, so it also cleans up after a SIGKILLed owner.
    Returns the names of the namespaces and links it removed.
    """
    check_prefix(prefix)
    path = _record_path(prefix, state_dir)
    recorded_ns: list[str] = []
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        recorded_ns = [str(n) for n in json.loads(path.read_text())["namespaces"]]
    existing = set(netlink.namespaces())
    doomed = sorted({ns for ns in existing if ns.startswith(f"{prefix}-")} | (set(recorded_ns) & existing))
    pattern = _admin_pattern(prefix)
    links = sorted(netlink.root_links(pattern))  # before the namespaces go, which takes their veths along
    netlink.kill_all(pid for ns in doomed for pid in netlink.namespace_pids(ns))
    if doomed:
        netlink.run(
            ["ip", "-force", "-batch", "-"], stdin="".join(f"netns del {ns}\n" for ns in doomed), check=False
        )
    _wait_links_gone(pattern)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    still = [ns for ns in netlink.namespaces() if ns in doomed]
    if still:
        raise NetworkError(f"could not remove namespaces {still}; see `ip netns pids NAME`")
    return doomed + links


def _wait_links_gone(pattern: re.Pattern[str]) -> None:
    """Root links vanish with their namespaces (asynchronously); delete any left after a grace period."""
    deadline = time.monotonic() + 5.0
    existing = netlink.root_links(pattern)
    while existing and time.monotonic() < deadline:
        time.sleep(0.05)
        existing = netlink.root_links(pattern)
    for link in existing:
        netlink.run(["ip", "link", "del", link], check=False)
    left = netlink.root_links(pattern)
    if left:
        raise NetworkError(f"could not remove links {left}")


@functools.lru_cache(maxsize=1)
def namespaces_available() -> str | None:
    """None if this machine can run a namespaced network, else a one-line reason saying what to do."""
    if os.geteuid() != 0:
        return "network namespaces need root: run this as root (for example with sudo)"
    missing = netlink.missing_tools()
    if missing:
        return (
            f"{', '.join(missing)} not found: install iproute2 and procps (apt-get install iproute2 procps)"
        )
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError as exc:
        return f"cannot open /dev/net/tun ({exc.strerror}): the delaying router needs TUN devices"
    probe = f"hnprobe{os.getpid()}"
    try:
        netlink.run(["ip", "netns", "add", probe])
        netlink.batch("ip", probe, ["link add hpa type veth peer name hpb"])
        netlink.batch("tc", probe, [_tbf("hpa", 1.0, 1500)])
    except NetworkError as exc:
        return f"network namespaces are not usable here: {exc}"
    finally:
        netlink.run(["ip", "netns", "del", probe], check=False)
    return None
