"""The memoized paths of :class:`Transaction` give exactly what the plain schema paths give.

Decoding remembers transactions by their decoded fields, keeps the input as the encoding, and cuts the
signing payload from the encoding; each must agree with encoding the fields again, for every shape of
transaction, and malformed input must still be refused with the schema's own error.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.chain.params import LOCALNET
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.encoding.schema import Serializable
from harmony.errors import RLPError
from harmony.types import transaction as txmod
from harmony.types.chain_ids import is_eth_compatible
from harmony.types.transaction import Transaction

KEY = PrivateKey((7).to_bytes(32, "big"))

u = st.integers


def _schema_signing_hash(tx: Transaction, chain_id: int | None) -> bytes:
    if chain_id is not None and is_eth_compatible(chain_id):
        return tx.to_eth().signing_hash(chain_id)
    fields = [sedes.serialize(getattr(tx, name)) for name, sedes in tx.rlp_schema[:8]]
    if chain_id is not None:
        fields += [rlp.encode_uint(chain_id), b"", b""]
    return keccak256(rlp.encode(fields))


transactions = st.builds(
    Transaction,
    u(0, 2**64 - 1),
    u(0, 2**256 - 1),
    u(0, 2**64 - 1),
    u(0, 2**32 - 1),
    u(0, 2**32 - 1),
    st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
    u(0, 2**256 - 1),
    st.binary(max_size=300),
    u(0, 2**256 - 1),
    u(0, 2**256 - 1),
    u(0, 2**256 - 1),
)


@settings(max_examples=300, deadline=None)
@given(transactions, st.sampled_from([None, 1, 2, 127, 128, 1_666_599_999, 1_666_600_000, 2**40]))
def test_decoded_transaction_equals_schema_decoding_and_cuts_the_same_signing_payload(
    tx: Transaction, chain_id: int | None
) -> None:
    raw = rlp.encode(tx.to_rlp())
    decoded = Transaction.decode(raw)
    plain = Serializable.from_rlp.__func__(Transaction, rlp.decode(raw))  # type: ignore[attr-defined]
    assert decoded == plain == tx
    assert decoded.encode() == raw
    assert decoded.hash() == keccak256(raw)
    assert decoded.signing_hash(chain_id) == _schema_signing_hash(tx, chain_id)
    assert Transaction.decode(raw).signing_hash(chain_id) == _schema_signing_hash(tx, chain_id)


def test_a_signed_transaction_decoded_twice_is_one_object_with_one_sender() -> None:
    tx = Transaction(3, 10**9, 21_000, 0, 1, b"\x11" * 20, 5).sign(KEY, LOCALNET.chain_id)
    raw = tx.encode()
    first = Transaction.decode(raw)
    assert Transaction.decode(raw) is first
    assert first.sender(LOCALNET.chain_id) == KEY.address
    # inside a block the same fields come as a nested item: the same object again
    assert Transaction.from_rlp(rlp.decode(rlp.encode([rlp.decode(raw)]))[0]) is first  # type: ignore[index]


def test_replace_forgets_the_memos() -> None:
    tx = Transaction(1, 1, 21_000, 0, 0, b"\x22" * 20, 1).sign(KEY, LOCALNET.chain_id)
    raw = Transaction.decode(tx.encode())
    assert raw.signing_hash(LOCALNET.chain_id)
    other = dataclasses.replace(raw, nonce=2)
    assert other.encode() != raw.encode()
    assert other.hash() == keccak256(rlp.encode(other.to_rlp()))
    assert other.signing_hash(LOCALNET.chain_id) == _schema_signing_hash(other, LOCALNET.chain_id)
    assert repr(raw).count("_encoded") == 0


@pytest.mark.parametrize(
    ("index", "bad", "message"),
    [
        (0, b"\x00\x01", "nonce: non-canonical integer"),
        (0, b"\x01" * 9, "nonce"),
        (3, b"\x01" * 5, "shard_id"),
        (5, b"\x01" * 19, "to: expected 20 bytes"),
        (9, [b"\x01"], "r: expected a byte string"),
    ],
)
def test_malformed_fields_are_refused_with_the_schema_error(index: int, bad: object, message: str) -> None:
    fields: list[object] = list(rlp.decode(Transaction(1, 1, 21_000, 0, 0, b"\x22" * 20, 1, v=37).encode()))  # type: ignore[arg-type]
    fields[index] = bad
    with pytest.raises(RLPError, match=message):
        Transaction.decode(rlp.encode(fields))  # type: ignore[arg-type]


def test_the_memo_is_bounded_in_two_generations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(txmod, "DECODED_CACHE_SIZE", 4)
    monkeypatch.setattr(txmod, "_decoded", [{}, {}])
    raws = [Transaction(n, 1, 21_000, 0, 0, None, 0).encode() for n in range(20)]
    for raw in raws:
        Transaction.decode(raw)
    young, old = txmod._decoded
    assert len(young) <= 4 and len(old) <= 4
    assert Transaction.decode(raws[-1]) is Transaction.decode(raws[-1])
