"""ethereum/tests KeyStoreTests/basic_tests.json: Web3 Secret Storage v3 decryption (harmony.crypto.keystore).

Every case must decrypt to its ``priv`` with its ``password``: PBKDF2-SHA256 (c = 262144) and scrypt (one
with n = 262144, r = 1, p = 8, which OpenSSL's scrypt refuses and ours accepts), and AES-128-CTR with an
all-ones initial counter that wraps ("evilnonce").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harmony.crypto.keystore import decrypt_key
from tests.conftest import CONFORMANCE

FIXTURE = CONFORMANCE / "ethereum-tests" / "KeyStoreTests" / "basic_tests.json"
CASES: dict[str, dict[str, Any]] = json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_keystore(name: str) -> None:
    case = CASES[name]
    assert decrypt_key(case["json"], case["password"]).hex() == case["priv"]
