"""Transaction conformance: ethereum/tests ``TransactionTests``, Istanbul column, read in place.

One case per fixture file. Each ``txbytes`` goes through :meth:`EthTransaction.decode` and
:func:`check_istanbul` with chain ID 1 (the fixtures' chain). Where the Istanbul result names a ``hash`` and
``sender`` we must accept with exactly those (and the ``intrinsicGas``); where it names an ``exception`` we
must reject with one of our typed errors. Typed transactions (ttEIP1559, ttEIP2930) are not Istanbul
transactions, so their Istanbul column expects rejection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harmony.errors import HarmonyError
from harmony.types.eth_transaction import EthTransaction, check_istanbul
from tests.conftest import CONFORMANCE

TX_DIR = CONFORMANCE / "ethereum-tests" / "TransactionTests"
FORK = "Istanbul"
CHAIN_ID = 1
EXPECTED_FILES = 210
"""Readable fixture files in the pinned checkout (the two 10 MB ``String10Mb*`` files are not shipped)."""

FILES = sorted(TX_DIR.rglob("*.json"))


def _case(path: Path) -> tuple[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, dict[str, Any]] = json.load(f)
    ((name, case),) = data.items()
    return name, case


def test_file_count() -> None:
    """Every readable fixture file is found."""
    assert len(FILES) >= EXPECTED_FILES


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(TX_DIR).with_suffix("")) for p in FILES])
def test_transaction(path: Path) -> None:
    _, case = _case(path)
    expected = case["result"][FORK]
    raw = bytes.fromhex(case["txbytes"].removeprefix("0x"))
    if "exception" in expected:
        with pytest.raises(HarmonyError):
            check_istanbul(EthTransaction.decode(raw), CHAIN_ID)
        return
    tx = EthTransaction.decode(raw)
    sender = check_istanbul(tx, CHAIN_ID)
    assert "0x" + tx.hash().hex() == expected["hash"]
    assert "0x" + sender.hex() == expected["sender"]
    if "intrinsicGas" in expected:
        assert tx.intrinsic_gas() == int(expected["intrinsicGas"], 16)
    assert tx.encode() == raw  # canonical input re-encodes to itself
