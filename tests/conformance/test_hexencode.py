"""Hex-prefix (compact) encoding conformance: ethereum/tests ``BasicTests/hexencodetest.json``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harmony.encoding.trie import hex_prefix_decode, hex_prefix_encode
from tests.conftest import CONFORMANCE

FIXTURE = CONFORMANCE / "ethereum-tests" / "BasicTests" / "hexencodetest.json"
EXPECTED_CASES = 12

with FIXTURE.open(encoding="utf-8") as _f:
    CASES: dict[str, dict[str, Any]] = json.load(_f)


def test_case_count() -> None:
    """The fixture holds the number of cases this suite was written against."""
    assert len(CASES) == EXPECTED_CASES


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_hex_prefix(case: dict[str, Any]) -> None:
    """HP(seq, term) gives ``out``, and decoding ``out`` gives the sequence and flag back."""
    out = bytes.fromhex(case["out"])
    assert hex_prefix_encode(case["seq"], case["term"]) == out
    assert hex_prefix_decode(out) == (case["seq"], case["term"])
