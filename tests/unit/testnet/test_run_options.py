"""``RunOptions.accounts``: how many development accounts a testnet's genesis funds."""

from __future__ import annotations

import json
from pathlib import Path

from harmony.chain.genesis import dev_account_key
from harmony.encoding.address import to_bech32
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
