"""The inner-product argument (Bulletproofs §3, protocol 2 with the §3.1 halving), made non-interactive.

Claim: ``P = <a, G> + <b, H> + <a, b>·Q`` for vectors of length ``2^k``. Each round splits every vector in
halves ``lo | hi``, sends ``L = <a_lo, G_hi> + <b_hi, H_lo> + <a_lo, b_hi>·Q`` and
``R = <a_hi, G_lo> + <b_lo, H_hi> + <a_hi, b_lo>·Q``, takes the challenge ``u`` and folds

``a ← u·a_lo + u⁻¹·a_hi``, ``b ← u⁻¹·b_lo + u·b_hi``, ``G ← u⁻¹·G_lo + u·G_hi``, ``H ← u·H_lo + u⁻¹·H_hi``,

so that ``P ← P + u²·L + u⁻²·R`` keeps the claim's form. After ``k`` rounds the prover sends the scalars
``a, b``. The verifier never folds points: the final ``G`` is ``Σ s_i·G_i`` and the final ``H`` is
``Σ s_i⁻¹·H_i`` with ``s_i = Π_j u_j^(±1)`` (``+1`` when the bit of ``i`` halved in round ``j`` is set), so
the whole check becomes part of the range proof's single multi-scalar sum (:func:`fold_scalars`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harmony.crypto.zk.errors import ZkError
from harmony.crypto.zk.group import N, Point, encode_point, inverse, multi_scalar
from harmony.crypto.zk.transcript import Transcript


@dataclass(frozen=True, slots=True)
class InnerProductProof:
    """The ``L_j, R_j`` of each round and the final scalars ``a, b``."""

    left: tuple[Point, ...]
    """``L_j`` for each round, first round first."""
    right: tuple[Point, ...]
    """``R_j`` for each round."""
    a: int
    b: int


def _inner(x: Sequence[int], y: Sequence[int]) -> int:
    return sum(p * q for p, q in zip(x, y, strict=True)) % N


def _must(point: Point | None) -> Point:
    if point is None:  # probability about 2⁻²⁵⁶ with random blindings: start again with new ones
        raise ZkError("a proof element is the point at infinity; prove again")
    return point


def prove_inner_product(  # noqa: PLR0917 - the protocol's own six inputs
    transcript: Transcript,
    g: Sequence[Point],
    h: Sequence[Point],
    q: Point,
    a: Sequence[int],
    b: Sequence[int],
) -> InnerProductProof:
    """Prove knowledge of ``a, b`` with ``P = <a, G> + <b, H> + <a, b>·Q`` (Bulletproofs protocol 2)."""
    g, h, a, b = list(g), list(h), list(a), list(b)
    left: list[Point] = []
    right: list[Point] = []
    while len(a) > 1:
        half = len(a) // 2
        a_lo, a_hi, b_lo, b_hi = a[:half], a[half:], b[:half], b[half:]
        g_lo, g_hi, h_lo, h_hi = g[:half], g[half:], h[:half], h[half:]
        l_point = _must(
            multi_scalar(
                [*zip(a_lo, g_hi, strict=True), *zip(b_hi, h_lo, strict=True), (_inner(a_lo, b_hi), q)]
            )
        )
        r_point = _must(
            multi_scalar(
                [*zip(a_hi, g_lo, strict=True), *zip(b_lo, h_hi, strict=True), (_inner(a_hi, b_lo), q)]
            )
        )
        left.append(l_point)
        right.append(r_point)
        transcript.absorb(b"L", encode_point(l_point))
        transcript.absorb(b"R", encode_point(r_point))
        u = transcript.challenge(b"u")
        if u == 0:
            raise ZkError("zero inner-product challenge; prove again")
        u_inv = inverse(u)
        a = [(lo * u + hi * u_inv) % N for lo, hi in zip(a_lo, a_hi, strict=True)]
        b = [(lo * u_inv + hi * u) % N for lo, hi in zip(b_lo, b_hi, strict=True)]
        g = [_must(multi_scalar([(u_inv, lo), (u, hi)])) for lo, hi in zip(g_lo, g_hi, strict=True)]
        h = [_must(multi_scalar([(u, lo), (u_inv, hi)])) for lo, hi in zip(h_lo, h_hi, strict=True)]
    return InnerProductProof(tuple(left), tuple(right), a[0], b[0])


def replay_challenges(transcript: Transcript, proof: InnerProductProof) -> list[int] | None:
    """The verifier's ``u_j`` for each round, absorbing ``L_j, R_j`` as the prover did (``None`` if one
    is 0)."""
    challenges = []
    for l_point, r_point in zip(proof.left, proof.right, strict=True):
        transcript.absorb(b"L", encode_point(l_point))
        transcript.absorb(b"R", encode_point(r_point))
        u = transcript.challenge(b"u")
        if u == 0:
            return None
        challenges.append(u)
    return challenges


def fold_scalars(challenges: Sequence[int], size: int) -> tuple[list[int], list[int]]:
    """``s_i = Π_j u_j^(±1)`` and ``s_i⁻¹`` for ``i < size = 2^k``: the folded bases' coefficients.

    Round ``j`` halves on bit ``k-1-j`` of ``i``; ``s_0 = Π u_j⁻¹``, and setting that bit multiplies by
    ``u_j²``.
    """
    rounds = len(challenges)
    inverses = [inverse(u) for u in challenges]
    s = [0] * size
    s_inv = [0] * size
    first = 1
    first_inv = 1
    for u, u_inv in zip(challenges, inverses, strict=True):
        first = first * u_inv % N
        first_inv = first_inv * u % N
    s[0], s_inv[0] = first, first_inv
    squares = [u * u % N for u in challenges]
    inverse_squares = [v * v % N for v in inverses]
    for i in range(1, size):
        bit = i.bit_length() - 1
        j = rounds - 1 - bit
        rest = i - (1 << bit)
        s[i] = s[rest] * squares[j] % N
        s_inv[i] = s_inv[rest] * inverse_squares[j] % N
    return s, s_inv


__all__ = ["InnerProductProof", "fold_scalars", "prove_inner_product", "replay_challenges"]
