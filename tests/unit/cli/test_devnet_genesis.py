"""The devnet's genesis options: ``--fund`` parsing (bad input named), Harmony localnet's accounts, funds
added on every shard, and ``--genesis`` files checked against the devnet's keys."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harmony.chain.genesis import genesis_to_json, load_genesis, make_localnet_genesis
from harmony.chain.params import LOCALNET, ONE
from harmony.cli.common import CLIError
from harmony.cli.devnet import _check_args, prepare
from harmony.cli.devnet_genesis import (
    HARMONY_LOCALNET_FUND,
    funds_of,
    load_devnet_genesis,
    parse_fund,
    with_funds,
)
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import parse_address

FAUCET = parse_address("one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur")
TEST_ACCOUNT_KEY = "1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"  # core/genesis.go


def test_parse_fund_amounts_and_addresses() -> None:
    assert parse_fund("0x" + "11" * 20 + "=1000").amount == 1000 * ONE
    assert parse_fund(" one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur = 0.5 ").amount == ONE // 2
    fund = parse_fund("0x" + "22" * 20 + "=7atto")
    assert fund.address == b"\x22" * 20 and fund.amount == 7


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0x11", "write ADDRESS=AMOUNT"),
        ("0x" + "11" * 20 + "=1=2", "write ADDRESS=AMOUNT"),
        ("0x1234=5", "0x1234"),
        ("one1qqqq=5", "one1qqqq"),
        ("0x" + "11" * 20 + "=-5", "decimal number"),
        ("0x" + "11" * 20 + "=lots", "decimal number"),
        ("0x" + "11" * 20 + "=1e99999", "decimal number"),
        ("x" * 5000, "write ADDRESS=AMOUNT"),
    ],
)
def test_parse_fund_refuses_bad_input(text: str, needle: str) -> None:
    with pytest.raises(CLIError, match="--fund") as info:
        parse_fund(text)
    assert needle in str(info.value)


def test_harmony_localnet_funds_the_faucet_and_the_test_account_on_every_shard() -> None:
    funds = funds_of(["0x" + "33" * 20 + "=2"], harmony_localnet=True)
    test_account = PrivateKey.from_hex(TEST_ACCOUNT_KEY).address
    assert [f.address for f in funds] == [b"\x33" * 20, FAUCET, test_account]
    base = make_localnet_genesis(accounts=2, keys_per_shard=1)
    genesis = with_funds(with_funds(base, funds), funds[:1])  # a second fund adds to the balance
    for shard in genesis.shards:
        balances = {a.address: a.balance for a in shard.alloc}
        assert balances[FAUCET] == balances[test_account] == HARMONY_LOCALNET_FUND
        assert balances[b"\x33" * 20] == 4 * ONE
    assert LOCALNET.chain_id == 2 and LOCALNET.eth_chain_id(0) == 1666700000  # Harmony localnet's


def test_genesis_file_must_carry_the_devnet_keys(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(genesis_to_json(make_localnet_genesis(accounts=1, keys_per_shard=2)), encoding="utf-8")
    assert load_devnet_genesis(good, shards=2, validators=2).params.name == "localnet"
    with pytest.raises(CLIError, match="development BLS keys"):
        load_devnet_genesis(good, shards=1, validators=3)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(CLIError, match="--genesis"):
        load_devnet_genesis(broken, shards=1, validators=1)
    with pytest.raises(CLIError, match="--genesis"):
        load_devnet_genesis(tmp_path / "missing.json", shards=1, validators=1)


def _args(tmp_path: Path, **extra: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "dir": tmp_path / "net",
        "shards": 1,
        "validators": 1,
        "accounts": 2,
        "base_port": 30_000,
        "block_time_ms": None,
        "commit_window_ms": None,
        "phase_timeout_ms": 5000,
        "vdf_iterations": 0,
        "keep": False,
        "log_level": "info",
        "genesis": None,
        "alert_webhook": [],
        "fund": None,
        "harmony_localnet": False,
        "propagation": "raptorq",
        "drop_symbols_percent": 0,
        "tx_relay": "leaders",
        "tx_history": True,
    }
    values.update(extra)
    return argparse.Namespace(**values)


def test_prepare_writes_the_funds_into_genesis_and_manifest(tmp_path: Path) -> None:
    args = _args(tmp_path, fund=["0x" + "44" * 20 + "=3"], harmony_localnet=True)
    _nodes, manifest = prepare(args, 1)
    genesis = load_genesis(Path(manifest["genesis"]))
    balances = {a.address: a.balance for a in genesis.shard(0).alloc}
    assert balances[b"\x44" * 20] == 3 * ONE and balances[FAUCET] == HARMONY_LOCALNET_FUND
    assert genesis.gas_limit == genesis.params.gas_limit(0) == 80_000_000  # Harmony localnet's block gas
    others = manifest["other_funded_accounts"]
    assert [o["address"] for o in others][1] == "one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur"
    assert json.loads(json.dumps(manifest)) == manifest
    # a given genesis is used as it is, plus the funds; --keep refuses to mix with them
    given = tmp_path / "given.json"
    given.write_text(genesis_to_json(make_localnet_genesis(accounts=0, keys_per_shard=1)), encoding="utf-8")
    _nodes, manifest = prepare(_args(tmp_path, genesis=given, fund=["0x" + "55" * 20 + "=1"]), 1)
    assert manifest["funded_accounts"] == []
    plain = load_genesis(Path(manifest["genesis"]))
    assert b"\x55" * 20 in {a.address for a in plain.shard(0).alloc}
    assert plain.params.gas_limit(0) == 30_000_000  # the preset's without --harmony-localnet
    with pytest.raises(CLIError, match="--keep"):
        prepare(_args(tmp_path, keep=True, harmony_localnet=True), 1)


def test_the_commit_window_reaches_every_node_toml(tmp_path: Path) -> None:
    nodes, _manifest = prepare(_args(tmp_path, commit_window_ms=250), 1)
    assert nodes
    for node in nodes:
        assert "commit_window_ms = 250" in (node.data_dir / "node.toml").read_text(encoding="utf-8")
    plain, _manifest = prepare(_args(tmp_path), 1)
    assert "commit_window_ms" not in (plain[0].data_dir / "node.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("bad", [-1, 60_001])
def test_a_commit_window_out_of_range_is_refused(tmp_path: Path, bad: int) -> None:
    with pytest.raises(CLIError, match="--commit-window-ms"):
        _check_args(_args(tmp_path, commit_window_ms=bad))
