"""Trie conformance: ethereum/tests ``TrieTests`` (plain, secure, any-order, hex-encoded, next/prev)."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Any

import pytest

from harmony.encoding.trie import secure_trie_root, trie_root
from tests.conftest import CONFORMANCE

TRIE_DIR = CONFORMANCE / "ethereum-tests" / "TrieTests"
ROOT_FILES = {
    "trietest": False,
    "trieanyorder": False,
    "trietest_secureTrie": True,
    "trieanyorder_secureTrie": True,
    "hex_encoded_securetrie_test": True,
}
"""Fixture files with an expected root, and whether their keys are hashed (secure trie)."""
NEXTPREV_FILE = "trietestnextprev"
EXPECTED_CASES = 26


def _load(path: Path) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, dict[str, Any]] = json.load(f)
    return data


def _bytes(text: str | None) -> bytes:
    """A fixture key or value: "0x…" is hex, anything else UTF-8; null (deletion) is the empty value."""
    if text is None:
        return b""
    if text.startswith("0x"):
        return bytes.fromhex(text[2:])
    return text.encode("utf-8")


ROOT_CASES = [
    pytest.param(case, secure, id=f"{stem}/{name}")
    for stem, secure in ROOT_FILES.items()
    for name, case in _load(TRIE_DIR / f"{stem}.json").items()
]
NEXTPREV_CASES = [
    pytest.param(case, id=f"{NEXTPREV_FILE}/{name}")
    for name, case in _load(TRIE_DIR / f"{NEXTPREV_FILE}.json").items()
]


def test_case_count() -> None:
    """Every fixture file is covered, and the total matches what the files hold."""
    assert {p.stem for p in TRIE_DIR.glob("*.json")} == {*ROOT_FILES, NEXTPREV_FILE}
    total = sum(len(_load(p)) for p in TRIE_DIR.glob("*.json"))
    assert len(ROOT_CASES) + len(NEXTPREV_CASES) == total == EXPECTED_CASES


@pytest.mark.parametrize(("case", "secure"), ROOT_CASES)
def test_root(case: dict[str, Any], secure: bool) -> None:
    """Applying the updates in order (an empty/null value deletes) yields the expected root."""
    updates = case["in"].items() if isinstance(case["in"], dict) else case["in"]
    items: dict[bytes, bytes] = {}
    for key, value in updates:
        # Keep deletions as empty values: trie_root must treat them as absent.
        items[_bytes(key)] = _bytes(value)
    root = secure_trie_root(items) if secure else trie_root(items)
    assert "0x" + root.hex() == case["root"]


def _prev_next(keys: list[bytes], key: bytes) -> tuple[bytes, bytes]:
    """The largest key below ``key`` and the smallest above it in a sorted key list (b"" where none)."""
    below = bisect_left(keys, key)
    above = bisect_right(keys, key)
    return (keys[below - 1] if below else b""), (keys[above] if above < len(keys) else b"")


@pytest.mark.parametrize("case", NEXTPREV_CASES)
def test_next_prev(case: dict[str, Any]) -> None:
    """Trie key order is byte order: prev/next of each probe match a sorted view of the keys."""
    keys = sorted(_bytes(k) for k in case["in"])
    # A trie over these keys must also be buildable and differ from the empty one.
    assert trie_root({k: k for k in keys}) != trie_root({})
    for probe, prev, nxt in case["tests"]:
        assert _prev_next(keys, _bytes(probe)) == (_bytes(prev), _bytes(nxt)), probe
