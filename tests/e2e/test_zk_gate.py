"""Issue 22 end to end: an "accredited investor" gate in Solidity, compiled with solc-js and deployed on a
real single-validator devnet through web3.py, admits a holder whose issuer-attested value is at least
1,000,000 (``harmony zk issue`` and ``harmony zk prove`` run as real processes), and refuses a forged
signature, a replay by another account, a tampered proof and a value that is too low. The range proof is
checked by the node's precompile at 0xf8, the issuer's signature by ecrecover."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError

from harmony.chain.genesis import dev_account_key
from harmony.crypto.keccak import keccak256
from harmony.crypto.keystore import encrypt_key, write_private
from harmony.crypto.secp256k1 import PrivateKey
from harmony.crypto.zk.attestation import attestation_digest
from harmony.encoding.address import to_checksum_hex
from harmony.state.range_precompile import RANGE_PROOF_GAS

from .devnet_fixture import Devnet, start_devnet
from .solidity import CONTRACTS, compile_contracts

pytestmark = pytest.mark.e2e

GWEI = 10**9
THRESHOLD = 1_000_000
HOLDER_INDEX = 2
ISSUER = PrivateKey(keccak256(b"zk gate e2e issuer"))


@dataclass
class Started:
    devnet: Devnet
    gate: dict[str, Any]
    """The compiled AccreditedGate: abi and bytecode."""
    good: dict[str, Any]
    """The holder's presentation of an attested 2,500,000 as at least 1,000,000."""
    low: dict[str, Any]
    """The holder's presentation of an attested 999,999 as at least 999,999."""


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The devnet, the compiled gate and the presentations: solc-js and ``harmony zk`` run while the devnet
    starts (the holder is the devnet's deterministic funded account 2)."""
    root: Path = tmp_path_factory.mktemp("zk-devnet")
    files: Path = tmp_path_factory.mktemp("zk-files")
    holder = to_checksum_hex(dev_account_key(HOLDER_INDEX).address)
    with ThreadPoolExecutor(2) as pool:
        compiled = pool.submit(compile_contracts, CONTRACTS / "AccreditedGate.sol")
        shown = pool.submit(
            lambda: (_present(files, holder, 2_500_000, THRESHOLD), _present(files, holder, 999_999, 999_999))
        )
        net = start_devnet(root, "--shards", "1", "--validators", "1", "--block-time-ms", "1000")
        try:
            good, low = shown.result()
            yield Started(net, compiled.result()["AccreditedGate"], good, low)
        finally:
            net.stop()


def _harmony(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harmony.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _present(tmp: Path, holder: str, value: int, at_least: int) -> dict[str, Any]:
    """``harmony zk issue`` (the issuer) then ``harmony zk prove`` (the holder), as a user runs them."""
    keystore = tmp / "issuer.json"
    if not keystore.exists():
        write_private(keystore, json.dumps(encrypt_key(ISSUER.secret, "pw", light=True)))
        (tmp / "pw").write_text("pw\n")
    claim, shown = f"claim-{value}.json", f"shown-{value}-{at_least}.json"
    issue = _harmony(
        "zk", "issue", "--keystore", "issuer.json", "--passphrase-file", "pw",
        "--holder", holder, "--value", str(value), "--out", claim, cwd=tmp,
    )  # fmt: skip
    assert issue.returncode == 0, issue.stderr
    prove = _harmony("zk", "prove", claim, "--at-least", str(at_least), "--out", shown, cwd=tmp)
    assert prove.returncode == 0, prove.stderr
    return dict(json.loads((tmp / shown).read_text()))


def _enter_args(presentation: dict[str, Any]) -> tuple[bytes, int, bytes, bytes, bytes]:
    sig = bytes.fromhex(presentation["signature"][2:])
    commitment = bytes.fromhex(presentation["commitment"][2:])
    return commitment, sig[64], sig[:32], sig[32:64], bytes.fromhex(presentation["proof"][2:])


def test_gate_admits_an_attested_value_and_refuses_forgeries(started: Started) -> None:
    devnet, artifact = started.devnet, started.gate
    w3 = Web3(Web3.HTTPProvider(devnet.url(0, 0), request_kwargs={"timeout": 60}))
    chain_id = w3.eth.chain_id
    holder = Account.from_key(devnet.manifest["funded_accounts"][HOLDER_INDEX]["private_key"])
    assert holder.address == to_checksum_hex(dev_account_key(HOLDER_INDEX).address)
    other = Account.from_key(devnet.manifest["funded_accounts"][3]["private_key"])

    def send(account: Any, call: Any, gas: int | None = None) -> Any:
        fields: dict[str, Any] = {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address),
            "gasPrice": 2 * GWEI,
            "chainId": chain_id,
        }
        if gas is not None:
            fields["gas"] = gas
        tx = call.build_transaction(fields)
        raw = account.sign_transaction(tx).raw_transaction
        return w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(raw), timeout=90, poll_latency=0.3
        )

    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send(holder, factory.constructor(Web3.to_checksum_address(ISSUER.address), THRESHOLD))
    assert receipt["status"] == 1
    gate = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    good = _enter_args(started.good)
    commitment, v, r, s, proof = good

    # refusals, each with the contract's reason (eth_call runs the same EVM as a block)
    forged = PrivateKey(keccak256(b"not the issuer")).sign_hash(
        attestation_digest(bytes.fromhex(holder.address[2:]), commitment)
    )
    tampered = proof[:200] + bytes([proof[200] ^ 1]) + proof[201:]
    low = _enter_args(started.low)
    forged_args = (
        commitment,
        forged.recid + 27,
        forged.r.to_bytes(32, "big"),
        forged.s.to_bytes(32, "big"),
        proof,
    )
    refusals = [
        (holder, forged_args, "not attested by the issuer"),
        (other, good, "not attested by the issuer"),  # a replay by somebody else
        (holder, (commitment, v, r, s, tampered), "range proof rejected"),
        (
            holder,
            (commitment, v, r, s, proof[:-1]),
            "range proof rejected",
        ),  # malformed: the precompile fails
        (holder, low, "range proof rejected"),  # attested and proved, but only >= 999,999
    ]
    for account, args, reason in refusals:
        with pytest.raises(ContractLogicError, match=reason):
            gate.functions.enter(*args).call({"from": account.address})
    failed = send(holder, gate.functions.enter(*low), gas=1_500_000)  # refused in a block too
    assert failed["status"] == 0
    assert not gate.functions.accredited(holder.address).call()

    admitted = send(holder, gate.functions.enter(*good))
    assert admitted["status"] == 1
    assert RANGE_PROOF_GAS < admitted["gasUsed"] < RANGE_PROOF_GAS + 200_000
    assert gate.functions.accredited(holder.address).call()
    assert not gate.functions.accredited(other.address).call()
    events = gate.events.Accredited().process_receipt(admitted)
    assert [e["args"]["holder"] for e in events] == [holder.address]
    # the value is nowhere in what went on chain
    tx = w3.eth.get_transaction(admitted["transactionHash"])
    assert (2_500_000).to_bytes(32, "big") not in bytes(tx["input"])
