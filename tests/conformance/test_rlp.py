"""RLP conformance: ethereum/tests ``RLPTests`` (valid, invalid and random cases), read in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harmony.encoding import rlp
from harmony.errors import RLPError
from tests.conftest import CONFORMANCE

RLP_DIR = CONFORMANCE / "ethereum-tests" / "RLPTests"
EXPECTED_CASES = 55
"""28 valid + 26 invalid + 1 random case in the pinned fixtures; a change there must be noticed."""


def _load(path: Path) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, dict[str, Any]] = json.load(f)
    return data


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


VALID = _load(RLP_DIR / "rlptest.json")
INVALID = _load(RLP_DIR / "invalidRLPTest.json")
RANDOM = {
    f"{path.stem}/{name}": case
    for path in sorted((RLP_DIR / "RandomRLPTests").glob("*.json"))
    for name, case in _load(path).items()
}


def _to_item(value: Any) -> rlp.Item:
    """The fixture's ``in`` as an RLP item: strings as UTF-8, ints and "#<decimal>" as big-endian."""
    if isinstance(value, list):
        return [_to_item(v) for v in value]
    if isinstance(value, bool):
        raise TypeError("booleans do not occur in RLP fixtures")
    if isinstance(value, int):
        return rlp.encode_uint(value)
    if isinstance(value, str) and value.startswith("#"):
        return rlp.encode_uint(int(value[1:]))
    assert isinstance(value, str)
    return value.encode("utf-8")


def _normalise(item: rlp.Item) -> rlp.Item:
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    return [_normalise(child) for child in item]


def test_case_count() -> None:
    """The fixture files hold the number of cases this suite was written against."""
    assert (len(VALID), len(INVALID), len(RANDOM)) == (28, 26, 1)
    assert len(VALID) + len(INVALID) + len(RANDOM) == EXPECTED_CASES


@pytest.mark.parametrize("case", list(VALID.values()), ids=list(VALID))
def test_valid(case: dict[str, Any]) -> None:
    """Encoding ``in`` gives ``out``; decoding ``out`` gives ``in`` back."""
    item = _to_item(case["in"])
    expected = _hex(case["out"])
    assert rlp.encode(item) == expected
    assert rlp.decode(expected) == _normalise(item)


@pytest.mark.parametrize("case", list(INVALID.values()), ids=list(INVALID))
def test_invalid(case: dict[str, Any]) -> None:
    """Decoding a malformed or non-canonical encoding raises RLPError."""
    with pytest.raises(RLPError):
        rlp.decode(_hex(case["out"]))


@pytest.mark.parametrize("case", list(RANDOM.values()), ids=list(RANDOM))
def test_random(case: dict[str, Any]) -> None:
    """A random valid encoding decodes and re-encodes to the same bytes."""
    data = _hex(case["out"])
    assert rlp.encode(rlp.decode(data)) == data
