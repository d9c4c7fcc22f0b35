"""``harmony devnet --fence SHARD=JURISDICTION`` (issue 21): bad entries refused naming ``--fence``; the
written genesis, loaded back with every genesis rule, fences the shard with the development attestor, who
is funded; the manifest names the fence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key, load_genesis, make_localnet_genesis
from harmony.cli.common import CLIError
from harmony.cli.devnet import prepare
from harmony.cli.devnet_fences import (
    DEV_ATTESTOR_FUND,
    DEV_ATTESTOR_INDEX,
    fences_of,
    parse_fence,
    with_fences,
)
from harmony.encoding.address import to_bech32
from tests.unit.cli.test_devnet_genesis import _args

ATTESTOR = dev_account_key(DEV_ATTESTOR_INDEX).address


def test_parse_fence() -> None:
    assert parse_fence("1=EU", 2) == (1, "EU")
    assert parse_fence(" 2 = US-CA ", 4) == (2, "US-CA")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("1", "write SHARD=JURISDICTION"),
        ("1=EU=CH", "write SHARD=JURISDICTION"),
        ("x" * 500 + "=EU", "write SHARD=JURISDICTION"),
        ("one=EU", "the shard is a number"),
        ("-1=EU", "the shard is a number"),
        ("١=EU", "the shard is a number"),  # a non-ASCII digit
        ("99999=EU", "the shard is a number"),
        ("0=EU", "never fenced"),
        ("2=EU", "shards 0 to 1"),
        ("1=eu", "not a jurisdiction"),
        ("1=E", "not a jurisdiction"),
        ("1=", "not a jurisdiction"),
        ("1=E U", "not a jurisdiction"),
        ("1=ABCDEFGHIJKLMNOPQ", "not a jurisdiction"),
    ],
)
def test_bad_fences_are_refused_naming_the_option(text: str, needle: str) -> None:
    with pytest.raises(CLIError, match="--fence") as caught:
        parse_fence(text, 2)
    assert needle in str(caught.value)


def test_a_shard_fenced_twice_is_refused() -> None:
    assert fences_of(None, 2) == {}
    assert fences_of(["1=EU", "2=EU", "3=CH"], 4) == {1: "EU", 2: "EU", 3: "CH"}
    with pytest.raises(CLIError, match="shard 1 is fenced twice"):
        fences_of(["1=EU", "1=CH"], 2)


def test_with_fences_declares_each_jurisdiction_once() -> None:
    plain = make_localnet_genesis(accounts=0, keys_per_shard=1)
    assert with_fences(plain, {}) is plain
    fenced = with_fences(plain, {1: "EU"})
    assert [s.fence for s in fenced.shards] == [None, "EU"]
    assert [(f.jurisdiction, f.attestors) for f in fenced.fences] == [("EU", (ATTESTOR,))]


def test_prepare_writes_a_fenced_genesis_and_manifest(tmp_path: Path) -> None:
    _nodes, manifest = prepare(_args(tmp_path, shards=2, fence=["1=EU"]), 2)
    genesis = load_genesis(Path(manifest["genesis"]))  # every genesis rule holds
    assert genesis.shard(1).fence == "EU" and genesis.shard(0).fence is None
    assert genesis.fences[0].attestors == (ATTESTOR,)
    for shard in genesis.shards:
        assert {a.address: a.balance for a in shard.alloc}[ATTESTOR] >= DEV_ATTESTOR_FUND
    assert manifest["fences"]["EU"]["shards"] == [1]
    assert manifest["fences"]["EU"]["attestor"] == to_bech32(ATTESTOR)
    with pytest.raises(CLIError, match="--fence"):
        prepare(_args(tmp_path, shards=2, keep=True, fence=["1=EU"]), 2)
    with pytest.raises(CLIError, match="never fenced"):
        prepare(_args(tmp_path, shards=2, fence=["0=EU"]), 2)


def test_the_flag_is_on_the_command_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harmony.cli.main", "devnet", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--fence SHARD=JURISDICTION" in out
