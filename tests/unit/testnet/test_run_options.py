"""``RunOptions.accounts``: how many development accounts a testnet's genesis funds."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from harmony.chain.genesis import dev_account_key, load_genesis
from harmony.chain.params import LOCALNET32
from harmony.encoding.address import to_bech32
from harmony.node.config import parse_config
from harmony.testnet.fleet import Loopback
from harmony.testnet.manifest import parse_document
from harmony.testnet.runner import ACCOUNTS, RunOptions, prepare


def funded(root: Path) -> set[str]:
    genesis = json.loads((root / "genesis.json").read_text(encoding="utf-8"))
    return set(genesis["shards"][0]["alloc"])


def test_the_genesis_funds_the_accounts_asked_for_never_fewer_than_the_runner_needs(
    tmp_path: Path,
) -> None:
    manifest = parse_document({"name": "t", "shards": 1, "validators": 4})
    for name, accounts, expected in (("default", None, ACCOUNTS), ("more", 50, 50), ("fewer", 3, ACCOUNTS)):
        root = tmp_path / name
        options = RunOptions(manifest, root, loopback=True)
        if accounts is not None:
            options = RunOptions(manifest, root, loopback=True, accounts=accounts)
        prepare(options, Loopback())
        alloc = funded(root)
        assert all(to_bech32(dev_account_key(i).address) in alloc for i in range(expected)), name
        assert to_bech32(dev_account_key(expected).address) not in alloc, name


def test_the_first_node_of_each_shard_keeps_every_block_for_the_checks(tmp_path: Path) -> None:
    """The invariant checks read every block of each shard: its first node runs ``--archive``, the others
    prune (a run longer than the history window would otherwise count expired transactions as lost)."""
    manifest = parse_document({"name": "t", "shards": 2, "validators": 4})
    nodes = prepare(RunOptions(manifest, tmp_path, loopback=True), Loopback())
    archives = sorted(node.spec.name for node in nodes if node.toml.archive)
    firsts = sorted({node.spec.shard: node.spec.name for node in reversed(nodes)}.values())
    assert archives == firsts and len(archives) == 2
    for node in nodes:
        parsed = parse_config(tomllib.loads((node.data / "node.toml").read_text()), node.data)
        assert parsed.archive is node.toml.archive


def test_the_genesis_is_the_manifests_network_with_its_committee(tmp_path: Path) -> None:
    """``network = "localnet32"``: the genesis names that preset and seats the manifest's 16 validators per
    shard, which the nodes' own genesis check accepts."""
    manifest = parse_document({"name": "t", "network": "localnet32", "shards": 1, "validators": 16})
    prepare(RunOptions(manifest, tmp_path, loopback=True), Loopback())
    genesis = load_genesis(tmp_path / "genesis.json")
    assert genesis.params is LOCALNET32
    assert [len(s.committee) for s in genesis.shards] == [16, 16]
    assert (tmp_path / "s0v15" / "keys" / "bls.json").exists()
