"""A testnet manifest: what network to build and what to do to it (TOML, in the spirit of CometBFT's e2e
manifests). Every field is optional except ``shards`` and ``validators``; every bad value raises
:class:`ManifestError` naming its field.

::

    name = "small"
    network = "localnet"            # the development preset: "localnet" (8 seats per shard) or "localnet32"
    shards = 2                      # shard 0 is the beacon chain; at most the network's shards (2)
    validators = 4                  # genesis validators per shard, 1 to the network's seats per shard
                                    #   (localnet 8, localnet32 32; node names s0v0, s0v1, …, s1v0, …)
    full_nodes = 1                  # non-validating nodes, placed round robin over the shards (f0, f1, …)
    external_validators = 1         # created by staking transactions during the run (x0, x1, …: beacon nodes)
    duration_s = 60                 # how long the load runs once every shard has a block
    block_time_ms = 1000
    propagation = "raptorq"         # how blocks travel: "raptorq" or "gossip" (node.toml's [p2p] propagation)
    tx_relay = "leaders"            # RPC transactions: to the next leaders or on "gossip" ([p2p] tx_relay)
    phase_timeout_ms = 5000         # the view-change timeout
    bandwidth_mbit = 20             # default uplink and downlink of every node

    regions = ["eu", "us"]          # nodes are placed round robin over the regions
    [latency_ms]                    # one-way delay between regions ("a-b" = "b-a"; unnamed pairs: 0)
    "eu-us" = 40

    [node.s0v1]                     # per-node overrides
    region = "us"
    uplink_mbit = 10
    downlink_mbit = 50
    [node.f0]
    shard = 1                       # a full node's shard (default: round robin)

    [[fence]]                       # shard 1's data stays with validators attested to EU (issue 21)
    shard = 1
    jurisdiction = "EU"
    region = "eu"                   # the attested region: the shard's validators sit there

    [load]
    tx_per_s = 5                    # transfers per second over the whole network
    cross_shard_percent = 30        # share of the transfers that cross shards
    contract_percent = 10           # share that calls a counter contract

    [[perturbation]]
    kind = "kill"                   # kill | pause | disconnect | restart | upgrade | byzantine
    at_s = 20                       # seconds after the load starts, or:
    # at_height = 30                # when the shard below reaches this height
    # shard = 0
    nodes = ["s1v2"]                # these nodes (disconnect: cut them off from the rest)
    duration_s = 5                  # kill: restart after; pause: SIGCONT after; disconnect: heal after
    # build = "/path/to/checkout"   # upgrade: a source tree holding harmony/ (default: this one)

A fenced shard's genesis validators are its attested nodes (attested by the genesis, with a development
attestor as ``harmony devnet --fence``); they are placed in the fence's region, and a ``node.X.region``
elsewhere is refused. Every other node is outside the fence: the run captures what each received of the
fenced shard (``fence_leaks`` in the report). A full node of a fenced shard is an outsider that tries to
join and sync it: it takes no load and its chain is not read.

Perturbations run one at a time in the order listed: each begins at its time or height, but not before the
nodes the one before touched are back and caught up. A byzantine perturbation at ``at_s = 0`` starts its
validator byzantine (no restart).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from harmony.chain.fences import FenceError, check_jurisdiction
from harmony.chain.params import DEVELOPMENT_PRESETS, LOCALNET, NetworkParams, get_preset
from harmony.errors import HarmonyError
from harmony.node.config import DEFAULT_PROPAGATION, PROPAGATIONS, TX_RELAYS

MAX_MANIFEST_SIZE = 256 * 1024
MAX_SHARDS = 4
MAX_VALIDATORS = 16
MAX_NODES = 64
MAX_REGIONS = 16
MAX_PERTURBATIONS = 64
MAX_DURATION_S = 24 * 3600
MAX_LATENCY_MS = 5000
MAX_MBIT = 10_000
MAX_TX_PER_S = 10_000
NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


class ManifestError(HarmonyError):
    """A bad manifest value; ``field`` names it (``load.tx_per_s``, ``perturbation[2].nodes``…)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Kind(StrEnum):
    """What a perturbation does."""

    KILL = "kill"
    PAUSE = "pause"
    DISCONNECT = "disconnect"
    RESTART = "restart"
    UPGRADE = "upgrade"
    BYZANTINE = "byzantine"


TIMED = frozenset({Kind.KILL, Kind.PAUSE, Kind.DISCONNECT})
"""Kinds that are undone after ``duration_s``."""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node of the testnet."""

    name: str
    shard: int
    role: str
    """``validator`` (genesis key), ``external`` (staked during the run) or ``full``."""
    index: int
    """The genesis key index within the shard (validators), or the ordinal among its role."""
    region: str
    uplink_mbit: int
    downlink_mbit: int
    fenced_out: bool = False
    """A full node of a fenced shard: outside its fence (refused its data; no load, no chain read)."""


@dataclass(frozen=True, slots=True)
class FenceSpec:
    """A shard fenced to a jurisdiction whose validators sit in one region (issue 21)."""

    shard: int
    jurisdiction: str
    region: str


@dataclass(frozen=True, slots=True)
class Load:
    """The transaction load."""

    tx_per_s: int = 2
    cross_shard_percent: int = 20
    contract_percent: int = 0


@dataclass(frozen=True, slots=True)
class Perturbation:
    """One perturbation: what, to whom, when."""

    kind: Kind
    nodes: tuple[str, ...]
    at_s: int | None = None
    at_height: int | None = None
    shard: int = 0
    duration_s: int = 5
    build: Path | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    """A whole testnet."""

    name: str
    shards: int
    validators: int
    """Genesis validators per shard: at most the network's seats per shard (its nodes refuse a larger
    committee at start-up)."""
    nodes: tuple[NodeSpec, ...]
    regions: tuple[str, ...]
    latency_ms: dict[tuple[str, str], int] = field(hash=False)
    load: Load
    perturbations: tuple[Perturbation, ...]
    duration_s: int = 60
    block_time_ms: int = 1000
    phase_timeout_ms: int = 5000
    full_nodes: int = 0
    external_validators: int = 0
    propagation: str = DEFAULT_PROPAGATION
    tx_relay: str = "leaders"
    fences: tuple[FenceSpec, ...] = ()
    network: str = LOCALNET.name
    """The network preset of the genesis, one of :data:`~harmony.chain.params.DEVELOPMENT_PRESETS`."""

    @property
    def params(self) -> NetworkParams:
        """The network's protocol parameters (its preset)."""
        return get_preset(self.network)

    def node(self, name: str) -> NodeSpec:
        """The node called ``name``."""
        return next(n for n in self.nodes if n.name == name)

    def fenced(self) -> dict[int, str]:
        """Each fenced shard's jurisdiction."""
        return {f.shard: f.jurisdiction for f in self.fences}

    def inside_fence(self, node: NodeSpec, shard: int) -> bool:
        """Whether ``node`` is inside fenced ``shard``'s fence: one of its genesis validators."""
        return node.role == "validator" and node.shard == shard


_TOP = {
    "name",
    "network",
    "shards",
    "validators",
    "full_nodes",
    "external_validators",
    "duration_s",
    "block_time_ms",
    "propagation",
    "tx_relay",
    "phase_timeout_ms",
    "bandwidth_mbit",
    "regions",
    "latency_ms",
    "node",
    "load",
    "perturbation",
    "fence",
}


def load_manifest(path: Path) -> Manifest:
    """Read and check the manifest at ``path``; :class:`ManifestError` names the first bad field."""
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_SIZE:
            raise ManifestError(str(path), f"{size} bytes; a manifest is at most {MAX_MANIFEST_SIZE}")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(str(path), f"cannot read the manifest: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ManifestError(str(path), "the manifest is not UTF-8 text") from exc
    return parse_manifest(text, path.parent)


def parse_manifest(text: str, relative_to: Path = Path()) -> Manifest:
    """Check a manifest's TOML text; relative ``build`` paths are taken from ``relative_to``."""
    if len(text) > MAX_MANIFEST_SIZE:
        raise ManifestError("manifest", f"larger than {MAX_MANIFEST_SIZE} characters")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError("manifest", f"not valid TOML: {exc}") from exc
    return parse_document(raw, relative_to)


def parse_document(raw: dict[str, Any], relative_to: Path = Path()) -> Manifest:
    """Check a parsed manifest (the rules in the module docstring)."""
    for key in raw:
        if key not in _TOP:
            raise ManifestError(key, f"unknown field; a manifest has {', '.join(sorted(_TOP))}")
    name = _str(raw, "name", "testnet")
    if not NAME.match(name):
        raise ManifestError(
            "name", f"{name[:40]!r}: lowercase letters, digits and _, at most 16, a letter first"
        )
    params = _network(raw)
    shards = _int(raw, "shards", None, 1, min(MAX_SHARDS, params.shard_count))
    validators = _validators(raw, params)
    full_nodes = _int(raw, "full_nodes", 0, 0, MAX_NODES)
    external = _int(raw, "external_validators", 0, 0, MAX_VALIDATORS)
    if shards * validators + full_nodes + external > MAX_NODES:
        raise ManifestError(
            "validators", f"shards × validators + full_nodes + external_validators > {MAX_NODES}"
        )
    duration = _int(raw, "duration_s", 60, 5, MAX_DURATION_S)
    block_time = _int(raw, "block_time_ms", 1000, 100, 60_000)
    phase_timeout = _int(raw, "phase_timeout_ms", 5000, 500, 600_000)
    bandwidth = _int(raw, "bandwidth_mbit", 100, 1, MAX_MBIT)
    propagation = _str(raw, "propagation", DEFAULT_PROPAGATION)
    if propagation not in PROPAGATIONS:
        raise ManifestError("propagation", f"{propagation[:40]!r} is not one of {', '.join(PROPAGATIONS)}")
    tx_relay = _str(raw, "tx_relay", "leaders")
    if tx_relay not in TX_RELAYS:
        raise ManifestError("tx_relay", f"{tx_relay[:40]!r} is not one of {', '.join(TX_RELAYS)}")
    regions = _regions(raw)
    latency = _latency(raw, regions)
    fences = _fences(raw, shards, regions)
    names = _names(shards, validators, full_nodes, external)
    nodes = _nodes(raw, names, regions, bandwidth, shards=shards, fences=fences)
    load = _load(raw)
    perturbations = _perturbations(raw, {n.name: n for n in nodes}, shards, duration, relative_to)
    return Manifest(
        name=name,
        shards=shards,
        validators=validators,
        nodes=nodes,
        regions=regions,
        latency_ms=latency,
        load=load,
        perturbations=perturbations,
        duration_s=duration,
        block_time_ms=block_time,
        phase_timeout_ms=phase_timeout,
        full_nodes=full_nodes,
        external_validators=external,
        propagation=propagation,
        tx_relay=tx_relay,
        fences=fences,
        network=params.name,
    )


def _int(
    table: dict[str, Any], key: str, default: int | None, low: int, high: int, *, prefix: str = ""
) -> int:
    name = prefix + key
    if key not in table:
        if default is None:
            raise ManifestError(name, "required")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError(name, f"expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ManifestError(name, f"{value} is outside {low} .. {high}")
    return value


def _network(raw: dict[str, Any]) -> NetworkParams:
    """The ``network`` field: a development preset (default localnet)."""
    network = _str(raw, "network", LOCALNET.name)
    if network not in DEVELOPMENT_PRESETS:
        raise ManifestError(
            "network",
            f"{network[:40]!r} is not a development preset: one of {', '.join(DEVELOPMENT_PRESETS)}",
        )
    return get_preset(network)


def _validators(raw: dict[str, Any], params: NetworkParams) -> int:
    """The ``validators`` field: genesis validators per shard, at most the network's seats per shard."""
    validators = _int(raw, "validators", None, 1, MAX_NODES)
    if validators > params.seats_per_shard:
        wider = [n for n in DEVELOPMENT_PRESETS if get_preset(n).seats_per_shard >= validators]
        hint = f'; network = "{wider[0]}" has {get_preset(wider[0]).seats_per_shard}' if wider else ""
        seats = params.seats_per_shard
        raise ManifestError(
            "validators", f"{validators} is more than network {params.name}'s {seats} seats per shard{hint}"
        )
    return validators


def _str(table: dict[str, Any], key: str, default: str, prefix: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ManifestError(prefix + key, f"expected a string, got {type(value).__name__}")
    return value


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ManifestError(key, f"expected a table ([{key}]), got {type(value).__name__}")
    return value


def _regions(raw: dict[str, Any]) -> tuple[str, ...]:
    value = raw.get("regions", ["default"])
    if not isinstance(value, list) or not value:
        raise ManifestError("regions", "expected a non-empty list of region names")
    if len(value) > MAX_REGIONS:
        raise ManifestError("regions", f"at most {MAX_REGIONS} regions")
    for region in value:
        if not isinstance(region, str) or not NAME.match(region):
            raise ManifestError(
                "regions", f"{str(region)[:40]!r} is not a name (lowercase letters, digits, _)"
            )
    if len(set(value)) != len(value):
        raise ManifestError("regions", "a region is named twice")
    return tuple(value)


def _latency(raw: dict[str, Any], regions: tuple[str, ...]) -> dict[tuple[str, str], int]:
    table = _table(raw, "latency_ms")
    out: dict[tuple[str, str], int] = {}
    for key in table:
        name = f"latency_ms.{key}"
        parts = key.split("-") if isinstance(key, str) else []
        if len(parts) != 2 or not all(p in regions for p in parts):
            raise ManifestError(name, f"expected 'region-region' with regions from {list(regions)}")
        a, b = sorted(parts)
        if (a, b) in out:
            raise ManifestError(name, f"the pair {a}-{b} is given twice")
        out[(a, b)] = _int(table, key, None, 0, MAX_LATENCY_MS, prefix="latency_ms.")
    return out


def _names(shards: int, validators: int, full_nodes: int, external: int) -> list[tuple[str, int, str, int]]:
    names = [(f"s{s}v{i}", s, "validator", i) for s in range(shards) for i in range(validators)]
    names += [(f"f{i}", i % shards, "full", i) for i in range(full_nodes)]
    names += [(f"x{i}", 0, "external", i) for i in range(external)]
    return names


_NODE_FIELDS = ("region", "uplink_mbit", "downlink_mbit", "shard")


def _nodes(
    raw: dict[str, Any],
    names: list[tuple[str, int, str, int]],
    regions: tuple[str, ...],
    bandwidth: int,
    *,
    shards: int,
    fences: tuple[FenceSpec, ...] = (),
) -> tuple[NodeSpec, ...]:
    overrides = _table(raw, "node")
    known = {n[0] for n in names}
    for key, body in overrides.items():
        if key not in known:
            raise ManifestError(f"node.{key}", f"no such node; the nodes are {', '.join(sorted(known))}")
        if not isinstance(body, dict):
            raise ManifestError(f"node.{key}", "expected a table")
        for field_name in body:
            if field_name not in _NODE_FIELDS:
                raise ManifestError(
                    f"node.{key}.{field_name}", f"unknown field; a node has {', '.join(_NODE_FIELDS)}"
                )
    fenced = {f.shard: f for f in fences}
    nodes = []
    for number, (name, default_shard, role, index) in enumerate(names):
        body = overrides.get(name, {})
        prefix = f"node.{name}."
        shard = default_shard
        if "shard" in body:
            if role != "full":
                raise ManifestError(prefix + "shard", "only a full node's shard can be chosen")
            shard = _int(body, "shard", 0, 0, shards - 1, prefix=prefix)
        fence = fenced.get(shard)
        inside = fence is not None and role == "validator"
        default_region = fence.region if fence is not None and inside else regions[number % len(regions)]
        region = _str(body, "region", default_region, prefix)
        if region not in regions:
            raise ManifestError(prefix + "region", f"{region[:40]!r} is not one of {list(regions)}")
        if fence is not None and inside and region != fence.region:
            raise ManifestError(
                prefix + "region",
                f"{name} validates shard {shard}, fenced to {fence.jurisdiction}: it sits in the attested "
                f"region {fence.region!r}, not {region[:40]!r}",
            )
        up = _int(body, "uplink_mbit", bandwidth, 1, MAX_MBIT, prefix=prefix)
        down = _int(body, "downlink_mbit", bandwidth, 1, MAX_MBIT, prefix=prefix)
        outside = fence is not None and role == "full"
        nodes.append(NodeSpec(name, shard, role, index, region, up, down, outside))
    return tuple(nodes)


_FENCE_FIELDS = ("shard", "jurisdiction", "region")


def _array_of_tables(
    raw: dict[str, Any], key: str, fields: tuple[str, ...], most: int
) -> list[tuple[str, dict[str, Any]]]:
    """The ``[[key]]`` tables (at most ``most``, each with only ``fields``) with their field prefixes
    (``key[i].``)."""
    items = raw.get(key, [])
    if not isinstance(items, list):
        raise ManifestError(key, f"expected an array of tables ([[{key}]])")
    if len(items) > most:
        raise ManifestError(key, f"at most {most}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ManifestError(f"{key}[{i}]", "expected a table")
        for name in item:
            if name not in fields:
                raise ManifestError(f"{key}[{i}].{name}", f"unknown field; a {key} has {', '.join(fields)}")
        out.append((f"{key}[{i}].", item))
    return out


def _fences(raw: dict[str, Any], shards: int, regions: tuple[str, ...]) -> tuple[FenceSpec, ...]:
    out: list[FenceSpec] = []
    for prefix, item in _array_of_tables(raw, "fence", _FENCE_FIELDS, MAX_SHARDS):
        if shards < 2:
            raise ManifestError(
                prefix + "shard", "a fence needs a shard besides the beacon chain (shards ≥ 2)"
            )
        shard = _int(item, "shard", None, 1, shards - 1, prefix=prefix)
        if any(f.shard == shard for f in out):
            raise ManifestError(prefix + "shard", f"shard {shard} is fenced twice")
        if "jurisdiction" not in item:
            raise ManifestError(prefix + "jurisdiction", 'required (for example "EU")')
        try:
            jurisdiction = check_jurisdiction(_str(item, "jurisdiction", "", prefix))
        except FenceError as exc:
            raise ManifestError(
                prefix + "jurisdiction", str(exc).removeprefix("fence jurisdiction: ")
            ) from None
        if "region" not in item:
            raise ManifestError(prefix + "region", f"required: the attested region, one of {list(regions)}")
        region = _str(item, "region", "", prefix)
        if region not in regions:
            raise ManifestError(prefix + "region", f"{region[:40]!r} is not one of {list(regions)}")
        out.append(FenceSpec(shard, jurisdiction, region))
    return tuple(out)


def _load(raw: dict[str, Any]) -> Load:
    table = _table(raw, "load")
    for key in table:
        if key not in ("tx_per_s", "cross_shard_percent", "contract_percent"):
            raise ManifestError(
                f"load.{key}", "unknown field; load has tx_per_s, cross_shard_percent, contract_percent"
            )
    cross = _int(table, "cross_shard_percent", 20, 0, 100, prefix="load.")
    contract = _int(table, "contract_percent", 0, 0, 100, prefix="load.")
    if cross + contract > 100:
        raise ManifestError("load.contract_percent", "cross_shard_percent + contract_percent exceed 100")
    return Load(_int(table, "tx_per_s", 2, 0, MAX_TX_PER_S, prefix="load."), cross, contract)


_PERTURBATION_FIELDS = ("kind", "at_s", "at_height", "shard", "nodes", "duration_s", "build")


def _perturbations(
    raw: dict[str, Any], nodes: dict[str, NodeSpec], shards: int, duration: int, relative_to: Path
) -> tuple[Perturbation, ...]:
    out = []
    for prefix, item in _array_of_tables(raw, "perturbation", _PERTURBATION_FIELDS, MAX_PERTURBATIONS):
        kind_text = _str(item, "kind", "", prefix)
        try:
            kind = Kind(kind_text)
        except ValueError:
            raise ManifestError(
                prefix + "kind", f"{kind_text[:40]!r} is not one of {', '.join(Kind)}"
            ) from None
        if ("at_s" in item) == ("at_height" in item):
            raise ManifestError(prefix + "at_s", "give exactly one of at_s and at_height")
        at_s = _int(item, "at_s", 0, 0, duration, prefix=prefix) if "at_s" in item else None
        at_height = _int(item, "at_height", 0, 1, 10_000_000, prefix=prefix) if "at_height" in item else None
        shard = _int(item, "shard", 0, 0, shards - 1, prefix=prefix)
        span = _int(item, "duration_s", 5, 1, MAX_DURATION_S, prefix=prefix)
        targets = item.get("nodes")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
            raise ManifestError(prefix + "nodes", "expected a non-empty list of node names")
        for target in targets:
            if target not in nodes:
                raise ManifestError(prefix + "nodes", f"{target[:40]!r} is not a node of this manifest")
        if len(set(targets)) != len(targets):
            raise ManifestError(prefix + "nodes", "a node is named twice")
        if kind in (Kind.UPGRADE, Kind.BYZANTINE) and any(nodes[t].role != "validator" for t in targets):
            raise ManifestError(prefix + "nodes", f"{kind} applies to genesis validators only")
        if kind is Kind.BYZANTINE and len(targets) != 1:
            raise ManifestError(prefix + "nodes", "byzantine: exactly one validator")
        if kind is Kind.DISCONNECT and len(targets) >= len(nodes):
            raise ManifestError(prefix + "nodes", "disconnect: leave at least one node on the other side")
        build = None
        if "build" in item:
            if kind is not Kind.UPGRADE:
                raise ManifestError(prefix + "build", "only an upgrade takes a build")
            build_text = _str(item, "build", "", prefix)
            if not build_text or len(build_text) > 4096 or "\0" in build_text:
                raise ManifestError(prefix + "build", "expected the path of a source tree holding harmony/")
            build = relative_to / build_text
        out.append(Perturbation(kind, tuple(targets), at_s, at_height, shard, span, build))
    return tuple(out)
