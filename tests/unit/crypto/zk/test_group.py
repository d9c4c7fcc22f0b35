"""The range proofs' group (harmony.crypto.zk.group, generators): strict encodings, and arithmetic checked
against py_ecc's independent pure-Python secp256k1."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.secp256k1 import secp256k1 as reference

from harmony.crypto.zk.errors import ZkDecodeError
from harmony.crypto.zk.generators import GENERATOR_DOMAIN, blinding_base, hash_to_point, vector_bases
from harmony.crypto.zk.group import (
    BASE,
    N,
    P,
    decode_point,
    decode_scalar,
    encode_point,
    encode_scalar,
    multi_scalar,
    negate,
    point_sum,
)


def _ref_decode(data: bytes) -> tuple[int, int]:
    x = int.from_bytes(data[1:], "big")
    y = pow((x**3 + 7) % P, (P + 1) // 4, P)
    assert (y * y - x**3 - 7) % P == 0
    return x, (y if y % 2 == data[0] % 2 else P - y)


def _ref_encode(point: tuple[int, int]) -> bytes:
    return bytes([2 + point[1] % 2]) + point[0].to_bytes(32, "big")


def test_multi_scalar_matches_reference() -> None:
    points = [hash_to_point(bytes([i])) for i in range(5)]
    scalars = [3, N - 1, 2**200 + 7, 0, 12345]
    expected = None
    for s, p in zip(scalars, points, strict=True):
        term = reference.multiply(_ref_decode(encode_point(p)), s)
        expected = term if expected is None else reference.add(expected, term)
    got = multi_scalar(zip(scalars, points, strict=True))
    assert got is not None and encode_point(got) == _ref_encode(expected)  # type: ignore[arg-type]


def test_infinity_and_negation() -> None:
    g = blinding_base()
    assert point_sum([g, negate(g)]) is None
    assert multi_scalar([(N, g)]) is None
    assert point_sum([]) is None
    assert encode_point(negate(negate(g))) == encode_point(g)
    assert encode_point(BASE) == _ref_encode(reference.G)


def test_generators_are_the_documented_hash_to_curve() -> None:
    """G_0 is SHA-256(domain ‖ "G" ‖ 0 ‖ counter) for the first counter giving a curve x, even y."""
    g0 = encode_point(vector_bases(1)[0][0])
    for counter in range(100):
        digest = hashlib.sha256(
            GENERATOR_DOMAIN + b"G" + (0).to_bytes(4, "big") + counter.to_bytes(4, "big")
        ).digest()
        x = int.from_bytes(digest, "big")
        rhs = (x**3 + 7) % P
        if x < P and pow(rhs, (P - 1) // 2, P) == 1:
            assert g0 == b"\x02" + digest
            break
    g_vec, h_vec = vector_bases(1024)
    encoded = {encode_point(p) for p in (*g_vec, *h_vec, blinding_base(), BASE)}
    assert len(encoded) == 2 * 1024 + 2  # all distinct


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x02" + bytes(31), "33 bytes"),
        (b"\x02" + bytes(33), "33 bytes"),
        (b"\x04" + bytes(32), "0x02 or 0x03"),
        (b"\x00" * 33, "0x02 or 0x03"),
        (b"\x02" + P.to_bytes(32, "big"), "below the field prime"),
        (b"\x03" + (2**256 - 1).to_bytes(32, "big"), "below the field prime"),
        (b"\x02" + (5).to_bytes(32, "big"), "not on the curve"),  # 5³ + 7 = 132 is not a square mod p
    ],
)
def test_bad_points_refused(data: bytes, message: str) -> None:
    with pytest.raises(ZkDecodeError, match=message):
        decode_point(data, "V")


def test_scalars_canonical() -> None:
    assert decode_scalar(encode_scalar(N - 1), "s") == N - 1
    with pytest.raises(ZkDecodeError, match="non-canonical"):
        decode_scalar(N.to_bytes(32, "big"), "proof.mu")
    with pytest.raises(ZkDecodeError, match=r"proof\.mu: a scalar is 32 bytes"):
        decode_scalar(bytes(31), "proof.mu")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=40))
def test_any_bytes_decode_to_a_curve_point_or_a_typed_error(data: bytes) -> None:
    try:
        point = decode_point(data, "V")
    except ZkDecodeError:
        return
    x, y = _ref_decode(data)
    assert (y * y - x**3 - 7) % P == 0 and encode_point(point) == data
