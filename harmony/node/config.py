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
    propagation = "raptorq"           # how a proposed block reaches the shard: "raptorq" (coded) or "gossip"
    tx_relay = "leaders"              # our RPC's transactions: straight to the next leaders, or "gossip"

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
    commit_window_ms = 1000           # a leader's wait for late commits after the quorum (reference §1.5)
    vdf_compute = true                # a beacon validator computes the epoch VDF (design §7)

    [network]
    shards = ["http://127.0.0.1:9500 ws://127.0.0.1:9800", "…"]   # each shard's public RPC endpoints, by
                                      # shard id (hmyv2_getShardingStructure); empty: only this node's

    [txpool]
    min_gas_price = 0                 # atto; 0: the preset's minimum
    global_slots = 4096
    account_slots = 16

    [metrics]                         # Prometheus /metrics, and the dashboard on the same port (harmony.ops)
    enabled = true
    host = "127.0.0.1"                # loopback by default: put a reverse proxy or Prometheus beside it
    port = 9900

    [dashboard]
    enabled = true                    # the read-only page at http://host:port/ (no key material on it)
    network = ["http://10.0.0.6:9900"]   # other nodes' metrics/dashboard addresses: the page's network view

    [alerts]
    webhooks = ["https://hooks.slack.com/services/…"]   # JSON POSTs (Slack and Discord formats) per alert
    keys = ["<BLS public key hex>"]   # watch these keys too (the node's own keys are always watched)
    missed_blocks = 5                 # a key missed this many blocks in a row
    signing_target = 99.5             # percent: this epoch's signing projected below it
    sync_lag = 50                     # blocks behind the shard's highest known head
    min_peers = 2                     # fewer connected peers
    disk_free_percent = 5             # less free space on the data directory's disk
    not_elected = true                # a watched key is not in the next epoch's committee

    [storage]
    archive = false                   # true: keep every block's state; default: prune to the last 128
                                      # blocks' and every epoch boundary's states (harmony.storage.prune)
    background_commits = false        # true: make stored blocks durable on a worker thread, off the event
                                      # loop (harmony.node.background_commits); a kill -9 can then lose
                                      # the last final blocks (sync fetches them again)
    # tx_history = true               # keep the per-address transaction index behind getTransactionsHistory
                                      # and getTransactionsCount (an explorer's work); default: kept on a
                                      # node without validator keys, not on a validator
    wait_s = 0                        # seconds to wait for another process (the old node of an upgrade)
                                      # to close the data directory, instead of refusing at once

    [sync]
    mode = "full"                     # "full": replay every block from genesis; "state": verify the epoch
                                      # chain, download a recent epoch's state, then replay from there

    [log]
    level = "info"

    [debug]
    equivocate = false                # TEST ONLY: double-sign every commit (the signer records it): slashed
    drop_symbols_percent = 0          # TEST ONLY: drop this share of the coded symbols this node receives

Relative paths in the file are relative to the file's directory; relative paths in flags to the working
directory.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harmony.errors import HarmonyError

MAX_CONFIG_SIZE = 1024 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_WEBHOOKS = 16
MAX_WATCHED_KEYS = 1024
MAX_NETWORK_VIEW = 256
PROPAGATIONS = ("gossip", "raptorq")
"""How a proposed block reaches the shard (``[p2p] propagation``)."""
DEFAULT_PROPAGATION = "raptorq"
"""``[p2p] propagation`` when unset, and the devnet's and testnet's default: ``bench/propagation.py``
finalized about as many transactions or more with coded blocks (coded/gossip TPS 0.97-1.8 at 4 and 8
validators, 25 Mbit/s, 40 ms) while the leader sent 3-8 times fewer bytes per block byte (issue 16)."""
TX_RELAYS = ("leaders", "gossip")
"""Where the transactions our RPC took go (``[p2p] tx_relay``, :mod:`harmony.node.tx_routes`)."""
SYNC_MODES = ("full", "state")
"""How an empty node catches up (``[sync] mode``, ``--sync.mode``; issue 18)."""


class ConfigError(HarmonyError):
    """A bad configuration value; ``field`` names it (``section.key`` or the flag)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


WAITING_FOR_STORE = "held by another process: waiting for it to close it"
"""Logged once by a node waiting for the old node of an upgrade (``[storage] wait_s``); the testnet's
handover starts stopping the old node when it reads this."""


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything a node needs to start (module docstring for the meaning of each field)."""

    data_dir: Path = Path("harmony-data")
    shard_id: int = 0
    genesis: Path | None = None
    p2p_host: str = "127.0.0.1"
    p2p_port: int = 9000
    bootnodes: tuple[str, ...] = ()
    propagation: str = DEFAULT_PROPAGATION
    tx_relay: str = "leaders"
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
    commit_window_ms: int = 1000
    vdf_compute: bool = True
    shard_endpoints: tuple[str, ...] = ()
    debug_equivocate: bool = False
    archive: bool = False
    background_commits: bool = False
    tx_history: bool | None = None
    """Keep the per-address transaction index; ``None``: only on a node without validator keys."""
    db_wait_s: int = 0
    sync_mode: str = "full"
    debug_drop_symbols_percent: int = 0
    min_gas_price: int = 0
    global_slots: int = 4096
    account_slots: int = 16
    log_level: str = "info"
    metrics_enabled: bool = True
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9900
    dashboard_enabled: bool = True
    dashboard_network: tuple[str, ...] = ()
    alert_webhooks: tuple[str, ...] = ()
    alert_keys: tuple[str, ...] = ()
    alert_missed_blocks: int = 5
    alert_signing_target_bp: int = 9950
    """The signing target in basis points (99.5 % = 9950): exact, no floats."""
    alert_sync_lag: int = 50
    alert_min_peers: int = 2
    alert_disk_free_percent: int = 5
    alert_not_elected: bool = True

    @property
    def keeps_tx_history(self) -> bool:
        """Whether this node keeps the address index: as configured, else only when it holds no validator key
        (Harmony's explorer nodes keep the history, its validators do not)."""
        return not self.bls_keys if self.tx_history is None else self.tx_history

    def with_changes(self, **changes: Any) -> NodeConfig:
        """A copy with ``changes`` applied and checked."""
        return check(replace(self, **changes))


_SCHEMA: dict[str, dict[str, tuple[str, type]]] = {
    "general": {"data_dir": ("data_dir", str), "shard_id": ("shard_id", int), "genesis": ("genesis", str)},
    "p2p": {
        "host": ("p2p_host", str),
        "port": ("p2p_port", int),
        "bootnodes": ("bootnodes", list),
        "propagation": ("propagation", str),
        "tx_relay": ("tx_relay", str),
    },
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
        "commit_window_ms": ("commit_window_ms", int),
        "vdf_compute": ("vdf_compute", bool),
    },
    "txpool": {
        "min_gas_price": ("min_gas_price", int),
        "global_slots": ("global_slots", int),
        "account_slots": ("account_slots", int),
    },
    "storage": {
        "archive": ("archive", bool),
        "background_commits": ("background_commits", bool),
        "tx_history": ("tx_history", bool),
        "wait_s": ("db_wait_s", int),
    },
    "sync": {"mode": ("sync_mode", str)},
    "log": {"level": ("log_level", str)},
    "metrics": {
        "enabled": ("metrics_enabled", bool),
        "host": ("metrics_host", str),
        "port": ("metrics_port", int),
    },
    "dashboard": {"enabled": ("dashboard_enabled", bool), "network": ("dashboard_network", list)},
    "alerts": {
        "webhooks": ("alert_webhooks", list),
        "keys": ("alert_keys", list),
        "missed_blocks": ("alert_missed_blocks", int),
        "signing_target": ("alert_signing_target_bp", Decimal),
        "sync_lag": ("alert_sync_lag", int),
        "min_peers": ("alert_min_peers", int),
        "disk_free_percent": ("alert_disk_free_percent", int),
        "not_elected": ("alert_not_elected", bool),
    },
    "network": {"shards": ("shard_endpoints", list)},
    "debug": {
        "equivocate": ("debug_equivocate", bool),
        "drop_symbols_percent": ("debug_drop_symbols_percent", int),
    },
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
    if kind is Decimal:
        return signing_target_bp(name, value)
    if not isinstance(value, kind):
        raise ConfigError(name, f"expected {kind.__name__}, got {type(value).__name__}")
    if attr in _PATHS:
        return relative_to / str(value)
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            what = {
                "bls_keys": "file paths",
                "shard_endpoints": "'http-url ws-url' strings",
                "alert_webhooks": "URL strings",
                "dashboard_network": "URL strings",
                "alert_keys": "hex BLS public keys",
            }.get(attr, "multiaddr strings")
            raise ConfigError(name, f"expected a list of {what}")
        if attr == "bls_keys":
            return tuple(relative_to / v for v in value)
        return tuple(value)
    return value


def check(config: NodeConfig) -> NodeConfig:
    """Range checks on every field; :class:`ConfigError` names the first bad one."""
    if not 0 <= config.shard_id < 1024:
        raise ConfigError("general.shard_id", f"{config.shard_id} is not a shard number (0..1023)")
    for name in ("p2p_port", "http_port", "ws_port", "metrics_port"):
        port = getattr(config, name)
        if not 0 <= port <= 65535:
            raise ConfigError(name.replace("_", "."), f"{port} is not a TCP port (0..65535)")
    for name in ("phase_timeout_ms", "view_change_timeout_ms"):
        value = getattr(config, name)
        if not 100 <= value <= 3_600_000:
            raise ConfigError(f"consensus.{name}", f"{value} ms is outside 100 ms .. 1 hour")
    if not 0 <= config.block_time_ms <= 600_000:
        raise ConfigError("consensus.block_time_ms", f"{config.block_time_ms} is outside 0 .. 600000")
    if not 0 <= config.commit_window_ms <= 60_000:
        raise ConfigError("consensus.commit_window_ms", f"{config.commit_window_ms} is outside 0 .. 60000")
    if not 0 <= config.db_wait_s <= 3600:
        raise ConfigError("storage.wait_s", f"{config.db_wait_s} is outside 0 .. 3600 seconds")
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
    if config.propagation not in PROPAGATIONS:
        raise ConfigError(
            "p2p.propagation",
            f"{config.propagation[:40]!r} is not one of {', '.join(map(repr, PROPAGATIONS))}: "
            '"gossip" floods whole blocks, "raptorq" sends erasure-coded shares',
        )
    if config.tx_relay not in TX_RELAYS:
        raise ConfigError(
            "p2p.tx_relay",
            f"{config.tx_relay[:40]!r} is not one of {', '.join(map(repr, TX_RELAYS))}: "
            '"leaders" sends our RPC\'s transactions to the next leaders, "gossip" to every node',
        )
    if config.sync_mode not in SYNC_MODES:
        raise ConfigError(
            "sync.mode",
            f"{config.sync_mode[:40]!r} is not one of {', '.join(map(repr, SYNC_MODES))}: "
            '"full" replays every block, "state" downloads a recent epoch\'s verified state first',
        )
    if not 0 <= config.debug_drop_symbols_percent <= 100:
        raise ConfigError(
            "debug.drop_symbols_percent", f"{config.debug_drop_symbols_percent} is outside 0 .. 100"
        )
    _check_alerts(config)
    return config


def signing_target_bp(name: str, value: object) -> int:
    """A signing target in percent (``99.5``, ``"99.5"`` or ``100``) as exact basis points (``9950``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(name, f"expected a percentage such as 99.5, got {type(value).__name__}")
    try:
        percent = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ConfigError(name, f"{str(value)[:40]!r} is not a percentage such as 99.5") from exc
    bp = percent * 100
    if not percent.is_finite() or bp != bp.to_integral_value() or not 1 <= bp <= 10_000:
        raise ConfigError(name, f"{str(value)[:40]} is not a percentage in 0.01 .. 100 (2 decimals at most)")
    return int(bp)


def _check_alerts(config: NodeConfig) -> None:
    """The ``[alerts]`` and ``[metrics]`` values (harmony.ops): URLs, keys and thresholds in range."""
    if not config.metrics_host or len(config.metrics_host) > 253:
        raise ConfigError("metrics.host", "must be an IP address or host name")
    if len(config.alert_webhooks) > MAX_WEBHOOKS:
        raise ConfigError("alerts.webhooks", f"at most {MAX_WEBHOOKS} webhooks")
    for url in config.alert_webhooks:
        problem = http_url_problem(url)
        if problem is not None:
            raise ConfigError("alerts.webhooks", f"{url[:80]!r}: {problem}")
    if len(config.dashboard_network) > MAX_NETWORK_VIEW:
        raise ConfigError("dashboard.network", f"at most {MAX_NETWORK_VIEW} nodes")
    for url in config.dashboard_network:
        problem = http_url_problem(url)
        if problem is not None:
            raise ConfigError("dashboard.network", f"{url[:80]!r}: {problem}")
    if len(config.alert_keys) > MAX_WATCHED_KEYS:
        raise ConfigError("alerts.keys", f"at most {MAX_WATCHED_KEYS} keys")
    for key in config.alert_keys:
        text = key.removeprefix("0x")
        if len(text) != 96 or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise ConfigError("alerts.keys", f"{key[:100]!r} is not a 48-byte BLS public key in hex")
    ranges = {
        "alert_missed_blocks": (1, 100_000),
        "alert_sync_lag": (1, 10_000_000),
        "alert_min_peers": (0, 10_000),
        "alert_disk_free_percent": (0, 99),
        "alert_signing_target_bp": (1, 10_000),
    }
    for attr, (low, high) in ranges.items():
        value = getattr(config, attr)
        if not low <= value <= high:
            field = "alerts." + attr.removeprefix("alert_").removesuffix("_bp")
            raise ConfigError(field, f"{value} is outside {low} .. {high}")


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook or a peer dashboard (``None`` when it can): http(s), a host, no
    credentials, bounded."""
    if len(url) > 2048:
        return "longer than 2048 characters"
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return "contains spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry a user name or password (put the secret in the path, as Slack does)"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "has a bad port"
    return None
