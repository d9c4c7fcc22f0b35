"""The node's configuration file and flags, and the topic message envelope: good and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.cli.main import build_parser, main
from harmony.cli.node import config_from_args
from harmony.encoding import rlp
from harmony.node.config import ConfigError, NodeConfig, load_config, parse_config
from harmony.node.wire import (
    KIND_CODED,
    KIND_CONSENSUS,
    KIND_HEAD,
    KIND_TRANSACTION,
    MAX_WIRE_SIZE,
    WireError,
    pack,
    pack_coded,
    pack_head,
    pack_transactions,
    split,
    unpack_coded,
    unpack_head,
    unpack_transactions,
)


def test_a_full_file_is_read_with_paths_relative_to_it(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(
        """
[general]
data_dir = "data"
shard_id = 1
genesis = "genesis.json"
[p2p]
port = 9100
bootnodes = ["/ip4/127.0.0.1/tcp/9000/p2p/16Uiu2HAm"]
[rpc]
http_port = 9600
ws_port = 9900
[bls]
keys = ["k/a.json"]
pass_file = "k/pass.txt"
[consensus]
phase_timeout_ms = 5000
commit_window_ms = 400
[txpool]
min_gas_price = 2000000000
[log]
level = "debug"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.data_dir == tmp_path / "data" and config.genesis == tmp_path / "genesis.json"
    assert config.shard_id == 1 and config.p2p_port == 9100 and config.http_port == 9600
    assert config.bls_keys == (tmp_path / "k/a.json",) and config.bls_pass_file == tmp_path / "k/pass.txt"
    assert config.phase_timeout_ms == 5000 and config.min_gas_price == 2 * 10**9
    assert config.commit_window_ms == 400
    assert config.bootnodes == ("/ip4/127.0.0.1/tcp/9000/p2p/16Uiu2HAm",)


def test_defaults_follow_harmony() -> None:
    config = NodeConfig()
    assert (config.p2p_port, config.http_port, config.ws_port) == (9000, 9500, 9800)
    assert config.rpc_host == "127.0.0.1"


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"nope": {}}, "nope"),
        ({"general": 3}, "general"),
        ({"general": {"shard": 1}}, "general.shard"),
        ({"general": {"shard_id": "1"}}, "general.shard_id"),
        ({"general": {"shard_id": True}}, "general.shard_id"),
        ({"general": {"shard_id": -1}}, "general.shard_id"),
        ({"p2p": {"port": 70000}}, "p2p.port"),
        ({"p2p": {"bootnodes": "x"}}, "p2p.bootnodes"),
        ({"p2p": {"bootnodes": [1]}}, "p2p.bootnodes"),
        ({"p2p": {"bootnodes": ["127.0.0.1:9000"]}}, "p2p.bootnodes"),
        ({"rpc": {"rate_limit": 0}}, "rate_limit"),
        ({"bls": {"keys": [3]}}, "bls.keys"),
        ({"consensus": {"phase_timeout_ms": 1}}, "consensus.phase_timeout_ms"),
        ({"consensus": {"commit_window_ms": -1}}, "consensus.commit_window_ms"),
        ({"consensus": {"commit_window_ms": 60_001}}, "consensus.commit_window_ms"),
        ({"consensus": {"commit_window_ms": "1s"}}, "consensus.commit_window_ms"),
        ({"txpool": {"min_gas_price": -1}}, "txpool.min_gas_price"),
        ({"log": {"level": "loud"}}, "log.level"),
        ({"consensus": {"vdf_iterations": 5000}}, "consensus.vdf_iterations"),
        ({"consensus": {"vdf_compute": "yes"}}, "consensus.vdf_compute"),
        ({"network": {"shards": "http://a ws://b"}}, "network.shards"),
        ({"network": {"shards": [7]}}, "network.shards"),
        ({"network": {"shards": ["http://127.0.0.1:9500"]}}, "network.shards"),
        ({"network": {"shards": ["ftp://a ws://b"]}}, "network.shards"),
        ({"debug": {"equivocate": 1}}, "debug.equivocate"),
        ({"debug": {"other": True}}, "debug.other"),
        ({"p2p": {"propagation": "flood"}}, "p2p.propagation"),
        ({"p2p": {"propagation": 1}}, "p2p.propagation"),
        ({"p2p": {"tx_relay": "everyone"}}, "p2p.tx_relay"),
        ({"p2p": {"tx_relay": ["leaders"]}}, "p2p.tx_relay"),
        ({"sync": {"mode": "snap"}}, "sync.mode"),
        ({"sync": {"mode": 1}}, "sync.mode"),
        ({"sync": {"pivot": 5}}, "sync.pivot"),
        ({"debug": {"drop_symbols_percent": 101}}, "debug.drop_symbols_percent"),
        ({"debug": {"drop_symbols_percent": "34"}}, "debug.drop_symbols_percent"),
        ({"storage": {"wait_s": -1}}, "storage.wait_s"),
        ({"storage": {"wait_s": 3601}}, "storage.wait_s"),
        ({"storage": {"wait_s": "5"}}, "storage.wait_s"),
        ({"storage": {"tx_history": "yes"}}, "storage.tx_history"),
        ({"storage": {"tx_history": 1}}, "storage.tx_history"),
    ],
)
def test_bad_values_name_their_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(doc, Path("."))  # type: ignore[arg-type]
    assert caught.value.field == field or field in str(caught.value)


@pytest.mark.parametrize("text", ["[general\n", "\xff\xfe", "a = 1\na = 2\n"])
def test_unreadable_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "node.toml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_node_command_names_the_bad_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "--datadir", str(tmp_path), "--p2p.port", "99999"]) == 1
    assert "p2p.port" in capsys.readouterr().err
    assert main(["node", "--datadir", str(tmp_path)]) == 1
    assert "genesis" in capsys.readouterr().err
    assert main(["node", "--config", str(tmp_path / "none.toml")]) == 1
    assert "none.toml" in capsys.readouterr().err
    assert main(["node", "--datadir", str(tmp_path), "--storage.wait-s", "-5"]) == 1
    assert "storage.wait_s" in capsys.readouterr().err


def test_wire_envelope_round_trips_and_refuses_garbage() -> None:
    assert split(pack(KIND_CONSENSUS, b"abc")) == (KIND_CONSENSUS, b"abc")
    kind, payload = split(pack_head(7, b"\x11" * 32))
    assert kind == KIND_HEAD and unpack_head(payload) == (7, b"\x11" * 32)
    for bad in (b"", b"\x09abc", b"\x00", bytes([KIND_CONSENSUS]) + bytes(MAX_WIRE_SIZE)):
        with pytest.raises(WireError):
            split(bad)
    with pytest.raises(WireError):
        unpack_head(b"\x00" * 39)
    with pytest.raises(ValueError):
        pack(99, b"")


def test_transaction_batches_round_trip_and_refuse_garbage() -> None:
    kind, payload = split(pack_transactions([b"\x01\x02", b"\x03"]))
    assert kind == KIND_TRANSACTION and unpack_transactions(payload) == [b"\x01\x02", b"\x03"]
    for bad in (b"", b"\x01", rlp.encode(b"x"), rlp.encode([[b"x"]]), rlp.encode([b""] * 5000), b"\xff" * 9):
        with pytest.raises(WireError):
            unpack_transactions(bad)


def test_propagation_is_checked_and_says_what_it_takes() -> None:
    assert NodeConfig().propagation == "raptorq"
    assert parse_config({"p2p": {"propagation": "gossip"}}, Path(".")).propagation == "gossip"
    with pytest.raises(ConfigError, match="'gossip', 'raptorq'"):
        parse_config({"p2p": {"propagation": "RaptorQ"}}, Path("."))


def test_tx_relay_defaults_to_leaders_and_says_what_it_takes() -> None:
    assert NodeConfig().tx_relay == "leaders"
    assert parse_config({"p2p": {"tx_relay": "gossip"}}, Path(".")).tx_relay == "gossip"
    with pytest.raises(ConfigError, match="'leaders', 'gossip'"):
        parse_config({"p2p": {"tx_relay": "Leaders"}}, Path("."))


def test_tx_history_is_kept_by_default_only_without_validator_keys(tmp_path: Path) -> None:
    key = (Path("bls.json"),)
    assert NodeConfig().keeps_tx_history and not NodeConfig(bls_keys=key).keeps_tx_history
    for kept in (True, False):
        assert parse_config({"storage": {"tx_history": kept}}, Path(".")).keeps_tx_history is kept
        assert NodeConfig(bls_keys=key, tx_history=kept).keeps_tx_history is kept
    args = ["node", "--datadir", str(tmp_path), "--bls.keys", "k.json"]
    assert config_from_args(build_parser("node").parse_args(args)).keeps_tx_history is False
    flagged = config_from_args(build_parser("node").parse_args([*args, "--tx-history"]))
    assert flagged.keeps_tx_history is True
    unflagged = config_from_args(build_parser("node").parse_args(["node", "--no-tx-history"]))
    assert unflagged.keeps_tx_history is False


def test_sync_mode_defaults_to_full_and_says_what_it_takes() -> None:
    assert NodeConfig().sync_mode == "full"
    assert parse_config({"sync": {"mode": "state"}}, Path(".")).sync_mode == "state"
    with pytest.raises(ConfigError, match="'full', 'state'"):
        parse_config({"sync": {"mode": "fast"}}, Path("."))


def test_coded_announces_round_trip_and_refuse_garbage() -> None:
    kind, payload = split(pack_coded(b"commitment", b"message"))
    assert kind == KIND_CODED
    assert unpack_coded(payload) == (b"commitment", b"message")
    for bad in (
        b"",
        b"\xff",
        rlp.encode([b"a"]),
        rlp.encode([b"a", b"b", b"c"]),
        rlp.encode([[b"a"], b"b"]),
        rlp.encode([b"a", b"b"]) + b"x",
        b"\x00" * (300 * 1024),
    ):
        with pytest.raises(WireError):
            unpack_coded(bad)
