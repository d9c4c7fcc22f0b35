"""External validators of a testnet: created during the run by a ``create-validator`` staking transaction,
sent by ``harmony staking`` (the operator's own client, as a separate process) to the beacon chain.

Each external validator ``x{i}`` has a development account (funded by the localnet genesis) and its own BLS
key; its node runs on the beacon shard with that key from the start and signs once an election seats it
there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.cli.devnet import PASSPHRASE, rpc_call
from harmony.crypto.keystore import encrypt_key
from harmony.encoding.address import to_bech32
from harmony.testnet.invariants import Check
from harmony.testnet.load import SENDERS

EXTERNAL_KEY_BASE = 1000
"""External validator ``i`` holds the development BLS key ``(0, EXTERNAL_KEY_BASE + i)``, no genesis key."""
FIRST_ACCOUNT = SENDERS
"""External validator ``i`` stakes from development account ``FIRST_ACCOUNT + i`` (after the load's)."""
SELF_STAKE_ONE = 20_000


@dataclass(frozen=True, slots=True)
class External:
    """An external validator and the outcome of its staking transaction."""

    name: str
    address: str
    tx_hash: str | None
    error: str | None


def create_validator(data: Path, index: int, beacon_url: str, network: str = LOCALNET.name) -> External:
    """Write ``x{index}``'s account keystore and send its create-validator with ``harmony staking`` (signed
    for ``network``, a preset name)."""
    key = dev_account_key(FIRST_ACCOUNT + index)
    keystore = data / "keys" / "account.json"
    keystore.write_text(json.dumps(encrypt_key(key.secret, PASSPHRASE, light=True)), encoding="utf-8")
    passfile = data / "keys" / "pass.txt"
    argv = [
        sys.executable, "-m", "harmony.cli.main", "staking", "create-validator",
        "--keystore", str(keystore), "--passphrase-file", str(passfile), "--node", beacon_url,
        "--network", network,
        "--name", f"testnet x{index}", "--identity", f"x{index}", "--rate", "0.1", "--max-rate", "0.9",
        "--max-change-rate", "0.05", "--min-self-delegation", "10000", "--max-total-delegation", "1000000",
        "--amount", str(SELF_STAKE_ONE), "--bls-keystore", str(data / "keys" / "bls.json"),
        "--bls-passphrase-file", str(passfile),
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    address = to_bech32(key.address)
    if out.returncode != 0:
        return External(f"x{index}", address, None, (out.stderr or out.stdout).strip()[-300:])
    return External(f"x{index}", address, out.stdout.strip().splitlines()[-1], None)


def registered(beacon_url: str, externals: list[External]) -> Check:
    """Every external validator's create-validator was accepted and the beacon chain holds its validator."""
    if not externals:
        return Check("external validators created")
    known = set(rpc_call(beacon_url, "hmyv2_getAllValidatorAddresses", [], 10.0))
    elected = set(rpc_call(beacon_url, "hmyv2_getElectedValidatorAddresses", [], 10.0))
    bad = [f"{e.name}: create-validator refused: {e.error}" for e in externals if e.error]
    bad += [
        f"{e.name}: no validator {e.address} on the beacon chain"
        for e in externals
        if not e.error and e.address not in known
    ]
    detail: dict[str, object] = {"elected": sorted(e.name for e in externals if e.address in elected)}
    return Check("external validators created", tuple(bad), detail)
