"""A node's configuration: a TOML file, then command-line flags over it (reference §10.1, design §8).

File format (every key optional; unknown keys and wrong types are errors naming the key)::

    [general]
    data_dir = "./harmony-data"       # LMDB files, signer state, WAL, the p2p key
    shard_id = 0
    genesis = "genesis.json"          # the network's genesis file (required)

    [p2p]
    host = "127.0.0.1"
    port = 9000
    bootnodes = ["/ip4/127.0.0.1/tcp/9000/p2p/16Uiu2..."]

    [rpc]
    enabled = true
    host = "127.0.0.1"                # HTTP and WebSocket bind here (loopback by default, reference §9.1)
    http_port = 9500
    ws_port = 9800
    rate_limit = 1000                 # requests per second per client

    [bls]
    keys = ["keys/abcd….json"]        # EIP-2335 keystores of the committee keys this node signs with
    pass_file = "keys/pass.txt"       # their passphrase (first line)

    [consensus]
    phase_timeout_ms = 27000          # reference §1.6
    view_change_timeout_ms = 27000
    block_time_ms = 0                 # 0: the network preset's block time
    vdf_compute = true                # a beacon validator computes the epoch VDF (design §7)

    [network]
    shards = ["http://127.0.0.1:9500 ws://127.0.0.1:9800", "…"]   # each shard's public RPC endpoints, by
                                      # shard id (hmyv2_getShardingStructure); empty: only this node's

    [txpool]
    min_gas_price = 0                 # atto; 0: the preset's minimum
    global_slots = 4096
    account_slots = 16

    [log]
    level = "info"

    [debug]
    equivocate = false                # TEST ONLY: double-sign every commit so the network slashes this node

Relative paths in the file are relative to the file's directory; relative paths in flags to the working
directory.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harmony.errors import HarmonyError

MAX_CONFIG_SIZE = 1024 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(HarmonyError):
    """A bad configuration value; ``field`` names it (``section.key`` or the flag)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything a node needs to start (module docstring for the meaning of each field)."""

    data_dir: Path = Path("harmony-data")
    shard_id: int = 0
    genesis: Path | None = None
    p2p_host: str = "127.0.0.1"
    p2p_port: int = 9000
    bootnodes: tuple[str, ...] = ()
    rpc_enabled: bool = True
    rpc_host: str = "127.0.0.1"
    http_port: int = 9500
    ws_port: int = 9800
    rate_limit: int = 1000
    bls_keys: tuple[Path, ...] = ()
    bls_pass_file: Path | None = None
    phase_timeout_ms: int = 27_000
    view_change_timeout_ms: int = 27_000
    block_time_ms: int = 0
    vdf_compute: bool = True
    shard_endpoints: tuple[str, ...] = ()
    debug_equivocate: bool = False
    min_gas_price: int = 0
    global_slots: int = 4096
    account_slots: int = 16
    log_level: str = "info"

    def with_changes(self, **changes: Any) -> NodeConfig:
        """A copy with ``changes`` applied and checked."""
        return check(replace(self, **changes))


_SCHEMA: dict[str, dict[str, tuple[str, type]]] = {
    "general": {"data_dir": ("data_dir", str), "shard_id": ("shard_id", int), "genesis": ("genesis", str)},
    "p2p": {"host": ("p2p_host", str), "port": ("p2p_port", int), "bootnodes": ("bootnodes", list)},
    "rpc": {
        "enabled": ("rpc_enabled", bool),
        "host": ("rpc_host", str),
        "http_port": ("http_port", int),
        "ws_port": ("ws_port", int),
        "rate_limit": ("rate_limit", int),
    },
    "bls": {"keys": ("bls_keys", list), "pass_file": ("bls_pass_file", str)},
    "consensus": {
        "phase_timeout_ms": ("phase_timeout_ms", int),
        "view_change_timeout_ms": ("view_change_timeout_ms", int),
        "block_time_ms": ("block_time_ms", int),
        "vdf_compute": ("vdf_compute", bool),
    },
    "txpool": {
        "min_gas_price": ("min_gas_price", int),
        "global_slots": ("global_slots", int),
        "account_slots": ("account_slots", int),
    },
    "log": {"level": ("log_level", str)},
    "network": {"shards": ("shard_endpoints", list)},
    "debug": {"equivocate": ("debug_equivocate", bool)},
}
_PATHS = {"data_dir", "genesis", "bls_pass_file"}
_MOVED = {
    "consensus.vdf_iterations": "the VDF difficulty is a rule of the network now: remove this line and set "
    '"vdf_iterations" in the genesis file (`harmony devnet` writes it there)',
}


def load_config(path: Path, base: NodeConfig | None = None) -> NodeConfig:
    """The TOML file at ``path`` over ``base`` (default: the defaults); :class:`ConfigError` if bad."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_SIZE:
            raise ConfigError(str(path), f"{size} bytes: a configuration file is at most {MAX_CONFIG_SIZE}")
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the configuration file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "the configuration file is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from exc
    return parse_config(raw, path.parent, base)


def parse_config(raw: dict[str, Any], relative_to: Path, base: NodeConfig | None = None) -> NodeConfig:
    """Apply a parsed TOML document; relative paths are taken from ``relative_to``."""
    changes: dict[str, Any] = {}
    for section, body in raw.items():
        if section not in _SCHEMA:
            raise ConfigError(section, f"unknown section; the sections are {', '.join(_SCHEMA)}")
        if not isinstance(body, dict):
            raise ConfigError(section, "must be a table ([section])")
        for key, value in body.items():
            name = f"{section}.{key}"
            if name in _MOVED:
                raise ConfigError(name, _MOVED[name])
            if key not in _SCHEMA[section]:
                raise ConfigError(name, f"unknown key; {section} has {', '.join(_SCHEMA[section])}")
            attr, kind = _SCHEMA[section][key]
            changes[attr] = _convert(name, attr, kind, value, relative_to)
    return check(replace(base or NodeConfig(), **changes))


def _convert(name: str, attr: str, kind: type, value: object, relative_to: Path) -> object:
    """One TOML value checked against its type; paths made absolute, lists made tuples."""
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(name, f"expected {kind.__name__}, got a boolean")
    if not isinstance(value, kind):
        raise ConfigError(name, f"expected {kind.__name__}, got {type(value).__name__}")
    if attr in _PATHS:
        return relative_to / str(value)
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            what = {"bls_keys": "file paths", "shard_endpoints": "'http-url ws-url' strings"}.get(
                attr, "multiaddr strings"
            )
            raise ConfigError(name, f"expected a list of {what}")
        if attr == "bls_keys":
            return tuple(relative_to / v for v in value)
        return tuple(value)
    return value


def check(config: NodeConfig) -> NodeConfig:
    """Range checks on every field; :class:`ConfigError` names the first bad one."""
    if not 0 <= config.shard_id < 1024:
        raise ConfigError("general.shard_id", f"{config.shard_id} is not a shard number (0..1023)")
    for name in ("p2p_port", "http_port", "ws_port"):
        port = getattr(config, name)
        if not 0 <= port <= 65535:
            raise ConfigError(name.replace("_", "."), f"{port} is not a TCP port (0..65535)")
    for name in ("phase_timeout_ms", "view_change_timeout_ms"):
        value = getattr(config, name)
        if not 100 <= value <= 3_600_000:
            raise ConfigError(f"consensus.{name}", f"{value} ms is outside 100 ms .. 1 hour")
    if not 0 <= config.block_time_ms <= 600_000:
        raise ConfigError("consensus.block_time_ms", f"{config.block_time_ms} is outside 0 .. 600000")
    if config.min_gas_price < 0:
        raise ConfigError("txpool.min_gas_price", "must not be negative")
    for name in ("global_slots", "account_slots", "rate_limit"):
        if not 1 <= getattr(config, name) <= 10_000_000:
            raise ConfigError(name, f"{getattr(config, name)} is outside 1 .. 10000000")
    if len(config.shard_endpoints) > 1024:
        raise ConfigError("network.shards", "at most 1024 shards")
    for entry in config.shard_endpoints:
        parts = entry.split()
        if (
            len(entry) > 512
            or len(parts) != 2
            or not parts[0].startswith("http")
            or not parts[1].startswith("ws")
        ):
            raise ConfigError("network.shards", f"{entry[:80]!r} is not 'http://host:port ws://host:port'")
    if config.log_level not in LOG_LEVELS:
        raise ConfigError("log.level", f"{config.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    for addr in config.bootnodes:
        if not addr.startswith("/") or "/p2p/" not in addr or len(addr) > 512:
            raise ConfigError(
                "p2p.bootnodes", f"{addr[:80]!r} is not a multiaddr like /ip4/1.2.3.4/tcp/9000/p2p/<peer id>"
            )
    return config
