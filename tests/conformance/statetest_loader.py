"""Reads ethereum/tests GeneralStateTests fixtures in place and turns one post entry into a runnable case.

A fixture file maps test names to ``{env, pre, transaction, post}``; ``transaction`` lists alternatives
for ``data``, ``gasLimit`` and ``value``, and each post entry of a fork picks one of each through its
``indexes`` and gives the expected state root (``hash``), the logs hash (``logs``), the signed
transaction (``txbytes``) and, for a transaction the fork must refuse, ``expectException``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from harmony.chain.state_api import BlockEnv
from harmony.crypto.keccak import keccak256

STATE_TESTS_DIR = Path("ethereum-legacytests") / "Cancun" / "GeneralStateTests"
"""Where the fixtures live under ``../shared/conformance``."""

FORK = "Istanbul"


def parse_int(text: str) -> int:
    """A fixture integer: ``0x…`` hex, or ``0x:bigint 0x…`` for values beyond 256 bits."""
    if text.startswith("0x:bigint "):
        text = text[len("0x:bigint ") :]
    return int(text, 16) if text not in ("", "0x") else 0


def parse_bytes(text: str) -> bytes:
    """A fixture byte string: ``0x…`` hex."""
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


@dataclass(frozen=True, repr=False)
class StateCase:
    """One post entry of one state test: a transaction variant and what the fork must produce."""

    case_id: str
    pre: dict[str, Any]
    env: dict[str, Any]
    transaction: dict[str, Any]
    indexes: dict[str, int]
    expected_root: bytes
    expected_logs: bytes
    txbytes: bytes
    expect_exception: str | None

    def __repr__(self) -> str:
        return f"StateCase({self.case_id})"

    def block_env(self) -> BlockEnv:
        """The block the transaction runs in; BLOCKHASH(n) is keccak256 of n's decimal string (geth)."""
        number = parse_int(self.env["currentNumber"])
        return BlockEnv(
            coinbase=parse_bytes(self.env["currentCoinbase"]),
            number=number,
            timestamp=parse_int(self.env["currentTimestamp"]),
            gas_limit=parse_int(self.env["currentGasLimit"]),
            chain_id=1,
            difficulty=parse_int(self.env["currentDifficulty"]),
            block_hashes=_test_block_hashes(number),
        )


@lru_cache(maxsize=64)
def _test_block_hashes(number: int) -> tuple[bytes, ...]:
    return tuple(keccak256(str(n).encode()) for n in range(max(0, number - 256), number))


def iter_cases(root: Path) -> Iterator[StateCase]:
    """Every Istanbul post entry under ``root`` (the GeneralStateTests folder), in a stable order."""
    for path in sorted(root.glob("*/*.json")):
        with path.open() as f:
            fixture = json.load(f)
        rel = f"{path.parent.name}/{path.name}"
        for name, test in fixture.items():
            for entry in test["post"].get(FORK, []):
                idx = entry["indexes"]
                yield StateCase(
                    case_id=f"{rel}::{name}::d{idx['data']}g{idx['gas']}v{idx['value']}",
                    pre=test["pre"],
                    env=test["env"],
                    transaction=test["transaction"],
                    indexes=idx,
                    expected_root=parse_bytes(entry["hash"]),
                    expected_logs=parse_bytes(entry["logs"]),
                    txbytes=parse_bytes(entry["txbytes"]),
                    expect_exception=entry.get("expectException"),
                )
