"""Ethereum developer tooling against a real devnet (issue 20): the ethers.js v6 suite and a Hardhat test
suite (``npx hardhat test --network devnet``), both from npm in ``.tools`` (``make test`` installs them),
sharing one single-validator devnet to keep the runtime modest. Contracts are compiled by solc-js."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.unit.rpc.harmony_recorded import (
    PRESIGNED_CREATE_VALIDATOR,
    PRESIGNED_TRANSFER,
    PRESIGNED_TRANSFER_HASH,
)

from .devnet_fixture import Devnet, rpc, start_devnet
from .solidity import compile_contracts

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent / "tooling"
TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "node_modules"
SUITE_TIMEOUT = 600
HARMONY_FAUCET = "one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur"
HARMONY_TEST_KEY = "1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"
"""The private key Harmony's ``core/genesis.go`` prints for its localnet test account (public)."""
HARMONY_TEST_ACCOUNT = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Devnet, Path]]:
    """The devnet and the compiled contracts; solc-js compiles while the devnet starts."""
    for package in ("ethers", "hardhat", "@nomicfoundation/hardhat-ethers", "chai", "solc"):
        if not (TOOLS / package / "package.json").exists():
            pytest.fail(f"{package} is not installed in .tools: run make test (it installs the npm tools)")
    artifacts: Path = tmp_path_factory.mktemp("artifacts") / "tokens.json"
    root: Path = tmp_path_factory.mktemp("tooling-devnet")
    with ThreadPoolExecutor(1) as pool:
        compiled = pool.submit(compile_contracts, HERE / "Tokens.sol")
        net = start_devnet(
            root, "--shards", "1", "--validators", "1", "--block-time-ms", "1000", "--harmony-localnet"
        )
        try:
            artifacts.write_text(json.dumps(compiled.result()), encoding="utf-8")
            yield net, artifacts
        finally:
            net.stop()


@pytest.fixture(scope="module")
def devnet(started: tuple[Devnet, Path]) -> Devnet:
    return started[0]


@pytest.fixture(scope="module")
def artifacts(started: tuple[Devnet, Path]) -> Path:
    return started[1]


def _keys(devnet: Devnet) -> list[str]:
    return ["0x" + a["private_key"].removeprefix("0x") for a in devnet.manifest["funded_accounts"]]


def _chain_id(devnet: Devnet) -> int:
    return int(devnet.manifest["shards"][0]["eth_chain_id"])


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return output


def test_ethers_v6_suite(devnet: Devnet, artifacts: Path, tmp_path: Path) -> None:
    node = devnet.nodes(0)[0]
    config: dict[str, Any] = {
        "http": node["http"],
        "ws": node["ws"],
        "chainId": _chain_id(devnet),
        "keys": _keys(devnet)[2:4],
        "harmonyTestKey": "0x" + HARMONY_TEST_KEY,
        "artifacts": json.loads(artifacts.read_text(encoding="utf-8")),
    }
    config_path = tmp_path / "ethers.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    output = _run(["node", str(HERE / "ethers_suite.js"), str(config_path)], cwd=HERE)
    summary = json.loads(output.strip().splitlines()[-1])
    assert summary["ok"] is True and len(summary["checks"]) == 10, output


def test_harmony_localnet_accounts_are_funded(devnet: Devnet) -> None:
    """``--harmony-localnet`` funds Harmony localnet's faucet as Harmony's genesis does (chain ID 2)."""
    url = devnet.url(0, 0)
    assert rpc(url, "hmyv2_getBalance", [HARMONY_FAUCET]) == 10_000_000_000 * 10**18
    assert rpc(url, "hmyv2_chainId") == 2
    funded = {a["address"] for a in devnet.manifest["other_funded_accounts"]}
    assert HARMONY_FAUCET in funded


def test_harmonys_presigned_create_validator_is_refused_with_the_reason(devnet: Devnet) -> None:
    """pyhmy's pre-signed localnet transactions, unchanged: the test account's transfer (nonce 0; sent
    unless the ethers suite's transfer from that account took nonce 0 already), then its CreateValidator
    (nonce 1, 55,000,000 gas: the flavour's 80,000,000 block gas limit holds it), refused by the node's
    staking pool because its BLS key is herumi's, not the IETF ciphersuite's (design §5)."""
    url = devnet.url(0, 0)
    if rpc(url, "hmyv2_getTransactionCount", [HARMONY_TEST_ACCOUNT, "latest"]) == 0:
        assert rpc(url, "hmyv2_sendRawTransaction", [PRESIGNED_TRANSFER]) == PRESIGNED_TRANSFER_HASH
    deadline = time.monotonic() + 120
    while rpc(url, "hmyv2_getTransactionCount", [HARMONY_TEST_ACCOUNT, "latest"]) != 1:
        assert time.monotonic() < deadline, "the test account's nonce never reached 1"
        time.sleep(0.5)
    seen = rpc(url, "hmyv2_blockNumber")
    while rpc(url, "hmyv2_blockNumber") <= seen:  # the pool re-reads the head when a block commits: the
        assert time.monotonic() < deadline, "no new block"  # next block proves it saw nonce 1
        time.sleep(0.5)
    with pytest.raises(ValueError, match="bls_key_invalid") as refused:
        rpc(url, "hmyv2_sendRawStakingTransaction", [PRESIGNED_CREATE_VALIDATOR])
    assert "IETF" in str(refused.value) and "herumi" in str(refused.value)
    assert rpc(url, "hmyv2_getAllValidatorAddresses") == []


def test_hardhat_suite(devnet: Devnet, artifacts: Path, tmp_path: Path) -> None:
    project = tmp_path / "hardhat"
    shutil.copytree(HERE / "hardhat", project)
    (project / "node_modules").symlink_to(TOOLS, target_is_directory=True)
    env = {
        "DEVNET_URL": devnet.url(0, 0),
        "DEVNET_CHAIN_ID": str(_chain_id(devnet)),
        "DEVNET_KEYS": json.dumps(_keys(devnet)[4:6]),
        "TOKEN_ARTIFACTS": str(artifacts),
        "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
        "CI": "true",
    }
    output = _run(["npx", "--no-install", "hardhat", "test", "--network", "devnet"], cwd=project, env=env)
    assert "4 passing" in output and "failing" not in output, output
