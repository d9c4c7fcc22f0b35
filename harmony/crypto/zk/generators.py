"""The range proofs' generators, derived deterministically by hash-to-curve (try-and-increment).

``hash_to_point(label)``: for ``counter = 0, 1, …`` take ``x = SHA-256("harmony-zk/v1/generator" ‖ label ‖
counter as 4 bytes big-endian)``; the first ``x < p`` with ``x³ + 7`` a square gives the point with that x and
even y (prefix ``0x02``). Nobody knows a discrete logarithm between two such points, which is what the
commitments' binding and the proofs' soundness rest on. The labels:

* ``B`` — the value base: secp256k1's standard generator (its logarithm, 1, relates it to nothing else);
* ``B~`` — the blinding base: ``hash_to_point(b"blinding")``;
* ``Q`` — the inner-product argument's base: ``hash_to_point(b"inner-product")``;
* ``G_i``, ``H_i`` — the vector bases, ``hash_to_point(b"G" ‖ i)`` and ``hash_to_point(b"H" ‖ i)`` with ``i``
  as 4 bytes big-endian, ``0 ≤ i < 1024`` (64 bits × 16 values at most).

Try-and-increment is not constant time; it only ever runs on public labels.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from harmony.crypto.zk.errors import ZkDecodeError
from harmony.crypto.zk.group import P, Point, decode_point

GENERATOR_DOMAIN = b"harmony-zk/v1/generator"
MAX_VECTOR = 1024
"""How many G_i and H_i exist: 64 bits for each of at most 16 aggregated values."""


def hash_to_point(label: bytes) -> Point:
    """The generator for ``label`` (try-and-increment over SHA-256, even y; see the module's rule)."""
    counter = 0
    while True:
        digest = hashlib.sha256(GENERATOR_DOMAIN + label + counter.to_bytes(4, "big")).digest()
        if int.from_bytes(digest, "big") < P:
            try:
                return decode_point(b"\x02" + digest, "generator")
            except ZkDecodeError:
                pass  # x³ + 7 is not a square: next counter
        counter += 1


@lru_cache(maxsize=1)
def blinding_base() -> Point:
    """``B~``: the base that hides a commitment's value."""
    return hash_to_point(b"blinding")


@lru_cache(maxsize=1)
def inner_product_base() -> Point:
    """``Q``: the base the inner-product argument binds ``<a, b>`` to."""
    return hash_to_point(b"inner-product")


@lru_cache(maxsize=1)
def _vectors() -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    g = tuple(hash_to_point(b"G" + i.to_bytes(4, "big")) for i in range(MAX_VECTOR))
    h = tuple(hash_to_point(b"H" + i.to_bytes(4, "big")) for i in range(MAX_VECTOR))
    return g, h


def vector_bases(size: int) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """The first ``size`` of ``G_i`` and of ``H_i`` (computed once, then cached)."""
    if not 0 < size <= MAX_VECTOR:
        raise ValueError(f"vector bases: size must be in 1..{MAX_VECTOR}, got {size}")
    g, h = _vectors()
    return g[:size], h[:size]


__all__ = [
    "GENERATOR_DOMAIN",
    "MAX_VECTOR",
    "blinding_base",
    "hash_to_point",
    "inner_product_base",
    "vector_bases",
]
