"""A network's plan: every bad host, region, rate, delay, loss or prefix names its field (no root)."""

from __future__ import annotations

import math

import pytest

from harmony.testnet.network import HostSpec, Network, NetworkConfigError, NetworkError, down_all
from harmony.testnet.topology import MAX_PREFIX, host_address, make_plan, preferred_block

HOSTS = [HostSpec("a", "eu"), HostSpec("b", "us"), HostSpec("c", "eu", uplink_mbit=20, downlink_mbit=20)]


def test_plan_orders_regions_and_fills_missing_pairs_from_their_reverse() -> None:
    plan = make_plan("t1", HOSTS, {("eu", "us"): 40.0}, {("us", "eu"): 0.25})
    assert plan.regions == ("eu", "us")
    assert plan.delay_ms == ((0.0, 40.0), (40.0, 0.0))
    assert plan.loss == ((0.0, 0.25), (0.25, 0.0))
    asym = make_plan("t1", HOSTS, {("eu", "us"): 40.0, ("us", "eu"): 60.0})
    assert asym.delay_ms == ((0.0, 40.0), (60.0, 0.0))
    assert plan.index("c") == 2 and host_address(7, 2) == "10.213.7.4"
    assert 1 <= preferred_block("t1") <= 250 and preferred_block("t1") == preferred_block("t1")


@pytest.mark.parametrize(
    ("prefix", "hosts", "latency", "loss", "field"),
    [
        ("t1", HOSTS, {("eu", "xx"): 40.0}, None, r"latency_ms\[\('eu', 'xx'\)\]: unknown region 'xx'"),
        ("t1", HOSTS, {("eu",): 40.0}, None, r"latency_ms\[\('eu',\)\]: a key must be a pair"),
        ("t1", HOSTS, {("eu", "us"): -1.0}, None, r"latency_ms\[\('eu', 'us'\)\]: delay -1.0"),
        ("t1", HOSTS, {("eu", "us"): math.nan}, None, r"latency_ms\[\('eu', 'us'\)\]: nan is not a finite"),
        ("t1", HOSTS, {("eu", "us"): "40"}, None, r"latency_ms\[\('eu', 'us'\)\]: '40' is not a number"),
        ("t1", HOSTS, {}, {("eu", "us"): 1.5}, r"loss\[\('eu', 'us'\)\]: loss 1.5"),
        ("t1", HOSTS, {}, {("mars", "us"): 0.1}, r"loss\[\('mars', 'us'\)\]: unknown region 'mars'"),
        ("t1", [HostSpec("a", "eu", uplink_mbit=-5)], {}, None, r"hosts\[0\].uplink_mbit: rate -5"),
        ("t1", [HostSpec("a", "eu", downlink_mbit=0)], {}, None, r"hosts\[0\].downlink_mbit: rate 0"),
        ("t1", [HostSpec("a", "eu", uplink_mbit=math.inf)], {}, None, r"hosts\[0\].uplink_mbit: inf"),
        ("t1", [HostSpec("a", "eu"), HostSpec("a", "us")], {}, None, r"hosts\[1\].name: 'a' is used"),
        ("t1", [HostSpec("a b", "eu")], {}, None, r"hosts\[0\].name: 'a b'"),
        ("t1", [HostSpec("r", "eu")], {}, None, r"hosts\[0\].name: 'r' is reserved"),
        ("t1", [HostSpec("a", "")], {}, None, r"hosts\[0\].region: ''"),
        ("t1", [], {}, None, r"hosts: 0 hosts"),
        ("t1", "ab", {}, None, r"hosts: expected a sequence"),
        ("t1", ["a"], {}, None, r"hosts\[0\]: expected a HostSpec"),
        ("a" * (MAX_PREFIX + 1), HOSTS, {}, None, r"prefix: 'a+' has 12 characters.*IFNAMSIZ"),
        ("T1", HOSTS, {}, None, r"prefix: 'T1' must be a lower-case letter"),
        ("t-1", HOSTS, {}, None, r"prefix: 't-1'"),
        ("", HOSTS, {}, None, r"prefix: ''"),
    ],
)
def test_bad_plans_raise_errors_naming_the_field(
    prefix: str, hosts: list[HostSpec], latency: dict[tuple[str, str], float], loss: object, field: str
) -> None:
    with pytest.raises(NetworkConfigError, match=field):
        Network(prefix, hosts, latency, loss)  # type: ignore[arg-type]


def test_bad_mtu_is_refused() -> None:
    with pytest.raises(NetworkConfigError, match="mtu: 100"):
        Network("t1", HOSTS, {}, mtu=100)


def test_calls_on_a_network_check_names_before_touching_anything() -> None:
    net = Network("t1", HOSTS, {("eu", "us"): 40.0})
    with pytest.raises(NetworkConfigError, match="host: unknown host 'zz'"):
        net.popen("zz", ["true"])
    with pytest.raises(NetworkConfigError, match="argv: expected a non-empty"):
        net.popen("a", [])
    with pytest.raises(NetworkConfigError, match="argv"):
        net.popen("a", "true")
    with pytest.raises(NetworkConfigError, match="host: unknown host 'zz'"):
        net.partition([["a"], ["zz"]])
    with pytest.raises(NetworkConfigError, match=r"groups\[1\]: host 'a' is in two groups"):
        net.partition([["a"], ["a", "b"]])
    with pytest.raises(NetworkConfigError, match=r"groups\[0\]: expected a sequence"):
        net.partition(["a"])
    with pytest.raises(NetworkConfigError, match="src_region: unknown region 'mars'"):
        net.set_loss("mars", "eu", 0.1)
    with pytest.raises(NetworkConfigError, match="dst_region: unknown region 'mars'"):
        net.set_loss("eu", "mars", 0.1)
    with pytest.raises(NetworkConfigError, match=r"loss: loss -0\.1"):
        net.set_loss("eu", "us", -0.1)
    with pytest.raises(NetworkConfigError, match="ms: delay -5"):
        net.set_latency("eu", "us", -5)
    with pytest.raises(NetworkConfigError, match="src_region: unknown region 'xx'"):
        net.set_latency("xx", "us", 5)
    with pytest.raises(NetworkError, match="call up"):
        net.ip("a")
    with pytest.raises(NetworkError, match="not up"):
        net.heal()
    net.down()
    net.down()  # idempotent, and nothing was made


def test_down_all_checks_its_prefix() -> None:
    with pytest.raises(NetworkConfigError, match="prefix: 'a-b'"):
        down_all("a-b")
