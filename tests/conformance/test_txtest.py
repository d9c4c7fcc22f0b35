"""Signing vectors: ethereum/tests ``BasicTests/txtest.json``, read in place.

Each case gives a key and an unprotected (pre-EIP-155) transaction, its ``unsigned`` RLP (the nine fields
with empty v, r, s) and its ``signed`` RLP. Our encoding must reproduce both, the signed transaction must
recover to the key's address over our Homestead signing hash, and re-signing must give the same bytes.
The vectors predate EIP-2: the second carries a high s, so it is recovered with the high-s check relaxed
(our own signatures are always low s, and :meth:`EthTransaction.sender` rejects high s); its re-signing
is compared after normalising s the way EIP-2 does (s → n − s, recovery id flipped).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harmony.crypto.secp256k1 import HALF_N, N, PrivateKey, Signature, recover_address
from harmony.errors import SignatureError
from harmony.types.eth_transaction import EthTransaction
from tests.conftest import CONFORMANCE

TXTEST = CONFORMANCE / "ethereum-tests" / "BasicTests" / "txtest.json"

with TXTEST.open(encoding="utf-8") as _f:
    CASES: list[dict[str, Any]] = json.load(_f)


def _unsigned(case: dict[str, Any]) -> EthTransaction:
    to = bytes.fromhex(case["to"]) if case["to"] else None
    return EthTransaction(
        case["nonce"], case["gasprice"], case["startgas"], to, case["value"], bytes.fromhex(case["data"])
    )


def test_case_count() -> None:
    assert len(CASES) == 2


@pytest.mark.parametrize("case", CASES, ids=[f"txtest-{i}" for i in range(len(CASES))])
def test_signing_vector(case: dict[str, Any]) -> None:
    key = PrivateKey(bytes.fromhex(case["key"]))
    unsigned = _unsigned(case)
    assert unsigned.encode().hex() == case["unsigned"]
    signed = EthTransaction.decode(bytes.fromhex(case["signed"]))
    assert signed.signing_hash(None) == unsigned.signing_hash(None)
    assert signed.chain_id is None
    sig = Signature(signed.v - 27, signed.r, signed.s)
    assert recover_address(unsigned.signing_hash(None), sig, allow_high_s=True) == key.address

    ours = unsigned.sign(key, None)
    if signed.s <= HALF_N:
        assert ours.encode().hex() == case["signed"]
        assert signed.sender() == key.address
    else:
        assert (ours.r, ours.s, ours.v) == (signed.r, N - signed.s, 55 - signed.v)
        with pytest.raises(SignatureError):
            signed.sender()
