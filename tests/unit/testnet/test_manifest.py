"""The testnet manifest: a good one parses to the network it describes; every malformed field is refused
with an error naming it; ``generate`` gives the same valid manifest for the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.testnet.generate import generate_manifest
from harmony.testnet.manifest import Kind, ManifestError, load_manifest, parse_manifest

SMALL = """
name = "small"
shards = 2
validators = 4
full_nodes = 1
duration_s = 60
bandwidth_mbit = 20
regions = ["eu", "us"]

[latency_ms]
"us-eu" = 40

[node.s0v1]
region = "us"
uplink_mbit = 10

[load]
tx_per_s = 3
cross_shard_percent = 30
contract_percent = 10

[[perturbation]]
kind = "kill"
at_s = 10
nodes = ["s1v2"]
duration_s = 4

[[perturbation]]
kind = "disconnect"
at_height = 20
shard = 1
nodes = ["s0v3", "f0"]

[[perturbation]]
kind = "upgrade"
at_s = 30
nodes = ["s1v0", "s1v1"]
build = "other"
"""


def test_a_good_manifest_describes_its_network() -> None:
    m = parse_manifest(SMALL, Path("/base"))
    assert m.name == "small" and m.shards == 2 and m.validators == 4
    assert [n.name for n in m.nodes] == ["s0v0", "s0v1", "s0v2", "s0v3", "s1v0", "s1v1", "s1v2", "s1v3", "f0"]
    assert m.node("s0v1").region == "us" and m.node("s0v1").uplink_mbit == 10
    assert m.node("s0v1").downlink_mbit == 20
    assert m.node("s0v0").region == "eu" and m.node("s0v2").region == "eu"
    assert m.node("f0").role == "full" and m.node("f0").shard == 0
    assert m.latency_ms == {("eu", "us"): 40}
    assert m.load.tx_per_s == 3 and m.load.cross_shard_percent == 30
    kill, cut, upgrade = m.perturbations
    assert kill.kind is Kind.KILL and kill.at_s == 10 and kill.duration_s == 4
    assert cut.at_height == 20 and cut.shard == 1 and cut.at_s is None
    assert upgrade.build == Path("/base/other")


def test_the_smallest_manifest_takes_defaults() -> None:
    m = parse_manifest("shards = 1\nvalidators = 4\n")
    assert len(m.nodes) == 4 and m.regions == ("default",) and m.perturbations == ()
    assert m.propagation == "raptorq"
    assert parse_manifest('shards = 1\nvalidators = 4\npropagation = "gossip"\n').propagation == "gossip"
    assert m.tx_relay == "leaders"
    assert parse_manifest('shards = 1\nvalidators = 4\ntx_relay = "gossip"\n').tx_relay == "gossip"


P = "shards = 1\nvalidators = 4\n[[perturbation]]\n"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("shards = 2\n", "validators"),
        ("validators = 4\n", "shards"),
        ("shards = 0\nvalidators = 4\n", "shards"),
        ("shards = 9\nvalidators = 4\n", "shards"),
        ("shards = 3\nvalidators = 4\n", "shards"),  # localnet has 2 shards
        ('shards = "2"\nvalidators = 4\n', "shards"),
        ("shards = true\nvalidators = 4\n", "shards"),
        ("shards = 1\nvalidators = 99\n", "validators"),
        ("shards = 1\nvalidators = 9\n", "validators"),  # over the localnet genesis's 8 seats per shard
        ('network = "localnet32"\nshards = 1\nvalidators = 33\n', "validators"),  # over its 32
        ("shards = 1\nvalidators = 0\n", "validators"),
        ('shards = 1\nvalidators = "16"\n', "validators"),
        ("shards = 1\nvalidators = 4\nfull_nodes = -1\n", "full_nodes"),
        ('network = "localnet32"\nshards = 2\nvalidators = 32\nfull_nodes = 1\n', "validators"),  # > 64 nodes
        ('network = "mainnet"\nshards = 1\nvalidators = 4\n', "network"),  # not a development preset
        ('network = "devnet"\nshards = 1\nvalidators = 4\n', "network"),
        ("network = 32\nshards = 1\nvalidators = 4\n", "network"),
        ('network = ""\nshards = 1\nvalidators = 4\n', "network"),
        ("shards = 1\nvalidators = 4\nshard = 1\n", "shard"),
        ('shards = 1\nvalidators = 4\nname = "Bad Name"\n', "name"),
        ("shards = 1\nvalidators = 4\nduration_s = 1\n", "duration_s"),
        ("shards = 1\nvalidators = 4\nblock_time_ms = 10\n", "block_time_ms"),
        ("shards = 1\nvalidators = 4\nbandwidth_mbit = 0\n", "bandwidth_mbit"),
        ('shards = 1\nvalidators = 4\npropagation = "flood"\n', "propagation"),
        ("shards = 1\nvalidators = 4\npropagation = 1\n", "propagation"),
        ('shards = 1\nvalidators = 4\ntx_relay = "all"\n', "tx_relay"),
        ("shards = 1\nvalidators = 4\nregions = []\n", "regions"),
        ('shards = 1\nvalidators = 4\nregions = ["eu", "eu"]\n', "regions"),
        ('shards = 1\nvalidators = 4\nregions = ["EU!"]\n', "regions"),
        ("shards = 1\nvalidators = 4\nregions = 3\n", "regions"),
        (
            'shards = 1\nvalidators = 4\nregions = ["eu"]\n[latency_ms]\n"eu-mars" = 40\n',
            "latency_ms.eu-mars",
        ),
        ('shards = 1\nvalidators = 4\nregions = ["a", "b"]\n[latency_ms]\n"a-b" = -1\n', "latency_ms.a-b"),
        (
            'shards = 1\nvalidators = 4\nregions = ["a", "b"]\n[latency_ms]\n"a-b" = 1\n"b-a" = 2\n',
            "latency_ms.b-a",
        ),
        ("shards = 1\nvalidators = 4\nlatency_ms = 5\n", "latency_ms"),
        ("shards = 1\nvalidators = 4\n[node.s9v9]\nregion = 'x'\n", "node.s9v9"),
        ("shards = 1\nvalidators = 4\n[node.s0v0]\ncolour = 'x'\n", "node.s0v0.colour"),
        ("shards = 1\nvalidators = 4\n[node.s0v0]\nregion = 'mars'\n", "node.s0v0.region"),
        ("shards = 1\nvalidators = 4\n[node.s0v0]\nuplink_mbit = 0\n", "node.s0v0.uplink_mbit"),
        ("shards = 1\nvalidators = 4\n[load]\ntx_per_s = -1\n", "load.tx_per_s"),
        ("shards = 1\nvalidators = 4\n[load]\nrate = 1\n", "load.rate"),
        ("shards = 1\nvalidators = 4\n[load]\ncross_shard_percent = 101\n", "load.cross_shard_percent"),
        (
            "shards = 1\nvalidators = 4\n[load]\ncross_shard_percent = 60\ncontract_percent = 60\n",
            "load.contract_percent",
        ),
        ("shards = 1\nvalidators = 4\nperturbation = 1\n", "perturbation"),
        (
            P + "kind = 'explode'\nat_s = 1\nnodes = ['s0v0']\n",
            "perturbation[0].kind",
        ),
        (
            P + "kind = 'kill'\nnodes = ['s0v0']\n",
            "perturbation[0].at_s",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nat_height = 3\nnodes = ['s0v0']\n",
            "perturbation[0].at_s",
        ),
        (
            P + "kind = 'kill'\nat_s = 999\nnodes = ['s0v0']\n",
            "perturbation[0].at_s",
        ),
        (
            P + "kind = 'kill'\nat_height = 0\nnodes = ['s0v0']\n",
            "perturbation[0].at_height",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nnodes = []\n",
            "perturbation[0].nodes",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nnodes = ['nobody']\n",
            "perturbation[0].nodes",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nnodes = ['s0v0', 's0v0']\n",
            "perturbation[0].nodes",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nshard = 3\nnodes = ['s0v0']\n",
            "perturbation[0].shard",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nduration_s = 0\nnodes = ['s0v0']\n",
            "perturbation[0].duration_s",
        ),
        (
            "full_nodes = 1\n" + P + "kind = 'upgrade'\nat_s = 1\nnodes = ['f0']\n",
            "perturbation[0].nodes",
        ),
        (
            P + "kind = 'byzantine'\nat_s = 1\nnodes = ['s0v0', 's0v1']\n",
            "perturbation[0].nodes",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nnodes = ['s0v0']\nbuild = 'x'\n",
            "perturbation[0].build",
        ),
        (
            P + "kind = 'upgrade'\nat_s = 1\nnodes = ['s0v0']\nbuild = ''\n",
            "perturbation[0].build",
        ),
        (
            P + "kind = 'kill'\nat_s = 1\nnodes = ['s0v0']\nwhen = 1\n",
            "perturbation[0].when",
        ),
        (
            P + "kind = 'disconnect'\nat_s = 1\nnodes = ['s0v0', 's0v1', 's0v2', 's0v3']\n",
            "perturbation[0].nodes",
        ),
        ("shards = 1\nvalidators = 4\nsurprise = 1\n", "surprise"),
        ("shards = = 1", "manifest"),
    ],
)
def test_every_malformed_field_is_named(text: str, field: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith(field + ":")


def test_a_manifest_chooses_its_network_and_the_committee_fits_its_seats() -> None:
    assert parse_manifest("shards = 1\nvalidators = 4\n").network == "localnet"
    wide = parse_manifest('network = "localnet32"\nshards = 2\nvalidators = 16\n')
    assert wide.network == "localnet32" and wide.params.seats_per_shard == 32
    assert len(wide.nodes) == 32 and wide.node("s1v15").index == 15
    assert parse_manifest('network = "localnet32"\nshards = 1\nvalidators = 32\n').validators == 32
    with pytest.raises(ManifestError, match='8 seats per shard; network = "localnet32" has 32'):
        parse_manifest("shards = 1\nvalidators = 16\n")
    with pytest.raises(ManifestError, match="one of localnet, localnet32"):
        parse_manifest('network = "mainnet"\nshards = 1\nvalidators = 4\n')


def test_a_file_too_large_unreadable_or_not_text_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 300_000)
    with pytest.raises(ManifestError, match="at most"):
        load_manifest(big)
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "missing.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00shards")
    with pytest.raises(ManifestError, match="UTF-8"):
        load_manifest(binary)
    good = tmp_path / "good.toml"
    good.write_text(SMALL)
    assert load_manifest(good).name == "small"


def test_generate_is_deterministic_valid_and_perturbed(tmp_path: Path) -> None:
    texts = {seed: generate_manifest(seed) for seed in range(30)}
    assert generate_manifest(7) == texts[7]
    assert len(set(texts.values())) > 20
    for seed, text in texts.items():
        m = parse_manifest(text)
        assert len([p for p in m.perturbations if p.kind is not Kind.BYZANTINE]) == 3, seed
        assert all(40 <= ms <= 120 for ms in m.latency_ms.values())
    path = tmp_path / "m.toml"
    path.write_text(generate_manifest(3), encoding="utf-8")
    assert load_manifest(path) == parse_manifest(texts[3])


FENCED = """
shards = 2
validators = 4
full_nodes = 1
regions = ["eu", "us"]
[node.f0]
shard = 1
[[fence]]
shard = 1
jurisdiction = "EU"
region = "eu"
"""


def test_a_fenced_shard_puts_its_validators_in_the_attested_region_and_its_full_node_outside() -> None:
    m = parse_manifest(FENCED)
    assert m.fenced() == {1: "EU"}
    assert [m.node(f"s1v{i}").region for i in range(4)] == ["eu"] * 4  # not round robin: the fence's region
    assert m.node("s0v1").region == "us"
    outsider = m.node("f0")
    assert outsider.shard == 1 and outsider.fenced_out and outsider.region == "eu"
    assert not any(n.fenced_out for n in m.nodes if n.name != "f0")
    assert m.inside_fence(m.node("s1v2"), 1) and not m.inside_fence(outsider, 1)
    assert not m.inside_fence(m.node("s0v0"), 1)
    assert parse_manifest(FENCED.replace("[node.f0]\nshard = 1\n", "")).node("f0").fenced_out is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("shard = 1\njurisdiction", "shard = 0\njurisdiction"), "fence[0].shard"),
        (("shard = 1\njurisdiction", "shard = 2\njurisdiction"), "fence[0].shard"),
        (("shard = 1\njurisdiction", 'shard = "1"\njurisdiction'), "fence[0].shard"),
        (('jurisdiction = "EU"', 'jurisdiction = "eu"'), "fence[0].jurisdiction"),
        (('jurisdiction = "EU"', 'jurisdiction = "E"'), "fence[0].jurisdiction"),
        (('jurisdiction = "EU"', "jurisdiction = 7"), "fence[0].jurisdiction"),
        (('jurisdiction = "EU"\n', ""), "fence[0].jurisdiction"),
        (('region = "eu"', 'region = "asia"'), "fence[0].region"),
        (('region = "eu"\n', ""), "fence[0].region"),
        (('region = "eu"', 'region = "eu"\nattestor = "x"'), "fence[0].attestor"),
        (('region = "eu"\n', 'region = "eu"\n[[fence]]\nshard = 1\njurisdiction = "CH"\n'), "fence[1].shard"),
        (("[node.f0]\nshard = 1", "[node.s0v1]\nshard = 1"), "node.s0v1.shard"),
        (("[node.f0]\nshard = 1", "[node.f0]\nshard = 5"), "node.f0.shard"),
        (("[node.f0]\nshard = 1", '[node.s1v3]\nregion = "us"'), "node.s1v3.region"),
    ],
)
def test_every_malformed_fence_field_is_named(change: tuple[str, str], field: str) -> None:
    text = FENCED.replace(*change)
    assert text != FENCED
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text)
    assert caught.value.field == field, str(caught.value)


def test_a_single_shard_cannot_be_fenced_nor_a_fence_be_a_number() -> None:
    with pytest.raises(ManifestError, match=r"^fence: expected an array of tables"):
        parse_manifest("fence = 3\nshards = 2\nvalidators = 4\n")
    with pytest.raises(ManifestError, match=r"fence\[0\]\.shard: a fence needs"):
        parse_manifest('shards = 1\nvalidators = 4\n[[fence]]\nshard = 1\njurisdiction = "EU"\n')
