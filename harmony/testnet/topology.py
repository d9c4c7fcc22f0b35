"""The plan of a namespaced network, checked and computed before anything is created.

Pure values only: host specifications, names of namespaces and interfaces, addresses, and the matrices of
one-way delay and loss between regions that the delaying router applies (design.md §9). Every value that
comes from a manifest or a caller is checked here, and a bad one raises :class:`NetworkConfigError` naming
the field, so nothing is created for a plan that cannot work.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harmony.errors import HarmonyError

IFNAMSIZ = 15
"""Longest Linux interface name (16 bytes with the terminating NUL)."""

MAX_HOSTS = 252
"""Hosts take addresses .2 to .253 of their /24: .1 is the router, .254 the root namespace."""

MAX_PREFIX = IFNAMSIZ - 4
"""Root-namespace interfaces are ``{prefix}a{index}`` with an index of up to three digits."""

MAX_MBIT = 100_000.0
"""The largest rate cap accepted (100 Gbit/s); above it a cap means nothing on one machine."""

MAX_DELAY_MS = 10_000.0
"""The largest one-way delay accepted (10 s)."""

ADDRESS_BASE = "10.213"
"""Every run's /24 lies in 10.213.0.0/16, a block unlikely to be routed on a test machine."""

ROUTER = "r"
"""The host name that the router's namespace takes (``{prefix}-r``), so no host may have it."""

_PREFIX = re.compile(r"[a-z][a-z0-9]*")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class NetworkConfigError(HarmonyError, ValueError):
    """A network plan is invalid (prefix, host, region, rate, delay or loss); the message names the field."""


@dataclass(frozen=True)
class HostSpec:
    """One host of the network: its own namespace and address, in one region, with optional rate caps."""

    name: str
    """Unique name, ``[A-Za-z0-9_.-]{1,32}``; the namespace is ``{prefix}-{name}``."""
    region: str
    """The region whose row and column of the latency matrix apply to this host's packets."""
    uplink_mbit: float | None = None
    """Cap on what the host sends, in Mbit/s (tbf on its own interface, before the delay); None: no cap."""
    downlink_mbit: float | None = None
    """Cap on what the host receives, in Mbit/s (tbf on the router's port, after the delay); None: no cap."""


@dataclass(frozen=True)
class Plan:
    """A checked network: hosts in order (index i has address .{i+2}), regions, and per-region matrices."""

    prefix: str
    hosts: tuple[HostSpec, ...]
    regions: tuple[str, ...]
    """Region names in order of first appearance among the hosts."""
    delay_ms: tuple[tuple[float, ...], ...]
    """One-way delay from region i to region j, in milliseconds."""
    loss: tuple[tuple[float, ...], ...]
    """Fraction of packets from region i to region j that the router drops."""
    mtu: int

    def index(self, host: str) -> int:
        """The position of ``host`` in the plan; :class:`NetworkConfigError` naming ``host`` if unknown."""
        for i, spec in enumerate(self.hosts):
            if spec.name == host:
                return i
        raise NetworkConfigError(f"host: unknown host {host!r}; the network has {_names(self.hosts)}")

    def region_index(self, field: str, region: str) -> int:
        """The position of ``region``; :class:`NetworkConfigError` naming ``field`` if no host is in it."""
        if region not in self.regions:
            raise NetworkConfigError(
                f"{field}: unknown region {region!r}; the hosts are in {list(self.regions)}"
            )
        return self.regions.index(region)


def _names(hosts: Sequence[HostSpec]) -> str:
    shown = [h.name for h in hosts[:8]]
    return f"{shown}{' …' if len(hosts) > 8 else ''}"


def check_prefix(prefix: object) -> str:
    """A run's prefix: ``[a-z][a-z0-9]*``, at most :data:`MAX_PREFIX` characters (IFNAMSIZ)."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise NetworkConfigError(
            f"prefix: {prefix!r} must be a lower-case letter followed by lower-case letters or digits"
        )
    if len(prefix) > MAX_PREFIX:
        raise NetworkConfigError(
            f"prefix: {prefix!r} has {len(prefix)} characters; interface names are limited to {IFNAMSIZ} "
            f"(IFNAMSIZ) and carry the prefix, so a prefix may have at most {MAX_PREFIX}"
        )
    return prefix


def check_fraction(field: str, value: object) -> float:
    """A loss fraction in [0, 1]."""
    number = _number(field, value)
    if not 0.0 <= number <= 1.0:
        raise NetworkConfigError(f"{field}: loss {value!r} must be between 0 and 1")
    return number


def check_delay(field: str, value: object) -> float:
    """A one-way delay in milliseconds, from 0 to :data:`MAX_DELAY_MS`."""
    number = _number(field, value)
    if not 0.0 <= number <= MAX_DELAY_MS:
        raise NetworkConfigError(f"{field}: delay {value!r} ms must be between 0 and {MAX_DELAY_MS:g}")
    return number


def _number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NetworkConfigError(f"{field}: {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise NetworkConfigError(f"{field}: {value!r} is not a finite number")
    return number


def _rate(field: str, value: object) -> float | None:
    if value is None:
        return None
    number = _number(field, value)
    if not 0.0 < number <= MAX_MBIT:
        raise NetworkConfigError(f"{field}: rate {value!r} Mbit/s must be above 0 and at most {MAX_MBIT:g}")
    return number


def _check_host(i: int, host: object) -> HostSpec:
    field = f"hosts[{i}]"
    if not isinstance(host, HostSpec):
        raise NetworkConfigError(f"{field}: expected a HostSpec, got {type(host).__name__}")
    if not isinstance(host.name, str) or not _NAME.fullmatch(host.name):
        raise NetworkConfigError(f"{field}.name: {host.name!r} must match [A-Za-z0-9_.-]{{1,32}}")
    if host.name == ROUTER:
        raise NetworkConfigError(f"{field}.name: {ROUTER!r} is reserved for the router's namespace")
    if not isinstance(host.region, str) or not _NAME.fullmatch(host.region):
        raise NetworkConfigError(f"{field}.region: {host.region!r} must match [A-Za-z0-9_.-]{{1,32}}")
    _rate(f"{field}.uplink_mbit", host.uplink_mbit)
    _rate(f"{field}.downlink_mbit", host.downlink_mbit)
    return host


def _matrix(
    name: str,
    values: Mapping[tuple[str, str], float] | None,
    regions: tuple[str, ...],
    check: Callable[[str, object], float],
) -> tuple[tuple[float, ...], ...]:
    """A region × region matrix from pairs; a missing (a, b) takes (b, a), else 0."""
    size = len(regions)
    cells = [[0.0] * size for _ in range(size)]
    given: set[tuple[int, int]] = set()
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise NetworkConfigError(f"{name}: expected a mapping of (region, region) to a number")
    for key, value in values.items():
        field = f"{name}[{key!r}]"
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(r, str) for r in key)):
            raise NetworkConfigError(f"{field}: a key must be a pair of region names")
        src, dst = key
        for region in (src, dst):
            if region not in regions:
                raise NetworkConfigError(
                    f"{field}: unknown region {region!r}; the hosts are in {list(regions)}"
                )
        number = check(field, value)
        i, j = regions.index(src), regions.index(dst)
        cells[i][j] = number
        given.add((i, j))
    for i in range(size):
        for j in range(size):
            if (i, j) not in given and (j, i) in given:
                cells[i][j] = cells[j][i]
    return tuple(tuple(row) for row in cells)


def make_plan(
    prefix: str,
    hosts: Sequence[HostSpec],
    latency_ms: Mapping[tuple[str, str], float],
    loss: Mapping[tuple[str, str], float] | None = None,
    mtu: int = 1500,
) -> Plan:
    """Check every argument of a network and compute its plan (see :class:`Plan`)."""
    check_prefix(prefix)
    if isinstance(hosts, str | bytes) or not isinstance(hosts, Sequence):
        raise NetworkConfigError("hosts: expected a sequence of HostSpec")
    if not 1 <= len(hosts) <= MAX_HOSTS:
        raise NetworkConfigError(f"hosts: {len(hosts)} hosts; a network has 1 to {MAX_HOSTS}")
    checked = tuple(_check_host(i, h) for i, h in enumerate(hosts))
    seen: set[str] = set()
    for i, host in enumerate(checked):
        if host.name in seen:
            raise NetworkConfigError(f"hosts[{i}].name: {host.name!r} is used by an earlier host")
        seen.add(host.name)
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not 576 <= mtu <= 65_000:
        raise NetworkConfigError(f"mtu: {mtu!r} must be an integer from 576 to 65000")
    regions = tuple(dict.fromkeys(h.region for h in checked))
    return Plan(
        prefix=prefix,
        hosts=checked,
        regions=regions,
        delay_ms=_matrix("latency_ms", latency_ms, regions, check_delay),
        loss=_matrix("loss", loss, regions, check_fraction),
        mtu=mtu,
    )


def host_namespace(prefix: str, host: str) -> str:
    """The namespace of one host."""
    return f"{prefix}-{host}"


def router_namespace(prefix: str) -> str:
    """The namespace of the delaying router."""
    return f"{prefix}-{ROUTER}"


def admin_link(prefix: str, index: int) -> str:
    """The root-namespace end of host ``index``'s management veth."""
    return f"{prefix}a{index}"


def router_port(prefix: str, index: int) -> str:
    """The router-namespace end of host ``index``'s data veth."""
    return f"{prefix}r{index}"


def tun_name(prefix: str) -> str:
    """The router's TUN device."""
    return f"{prefix}t"


def preferred_block(prefix: str) -> int:
    """The third octet a prefix tries first (1-250), so two prefixes usually get different /24s."""
    return zlib.crc32(prefix.encode()) % 250 + 1


def host_address(block: int, index: int) -> str:
    """The address of host ``index`` in the /24 ``10.213.{block}``."""
    return f"{ADDRESS_BASE}.{block}.{index + 2}"


def router_address(block: int) -> str:
    """The router's address, every host's next hop."""
    return f"{ADDRESS_BASE}.{block}.1"


def controller_address(block: int) -> str:
    """The root namespace's address as every host sees it over its management link."""
    return f"{ADDRESS_BASE}.{block}.254"
