"""Aggregated 64-bit range proofs (Bulletproofs §4.1-4.3 and the single-sum verifier of §6.2).

Statement: commitments ``V_j = v_j·B + γ_j·B~`` for ``j < m`` (``m`` ∈ {1, 2, 4, 8, 16}), each ``v_j`` in
``[0, 2⁶⁴)``. The prover commits to the bits ``a_L`` of all values and ``a_R = a_L - 1`` (``A``) and to
blinding vectors (``S``); challenges ``y, z`` turn the bit constraints into one polynomial
``t(X) = <l(X), r(X)>`` whose coefficients ``t_1, t_2`` it commits to (``T_1, T_2``); challenge ``x``
opens ``l, r`` at ``x`` with ``t̂ = <l, r>``, ``τ_x`` and ``μ``; challenge ``w`` binds ``t̂`` to ``Q`` and
the inner-product argument proves ``l, r`` without sending them. Proof encoding (``k = log₂(64·m)`` rounds)::

    A ‖ S ‖ T1 ‖ T2 (33 bytes each) ‖ τx ‖ μ ‖ t̂ (32 each)
      ‖ L_0..L_{k-1} ‖ R_0..R_{k-1} (33 each) ‖ a ‖ b (32 each)

so ``292 + 66·k`` bytes: 688 for one value, 754 for two, 952 for sixteen. The verifier replays the
transcript and checks the two equations of the paper, the second (inner product) and the first (``t̂``
against ``V, T_1, T_2``, weighted by a challenge ``c`` derived from the whole proof) as **one** sum of
``2·64·m + m + 2k + 7`` scalar multiples that must be the point at infinity.

"Committed value ≥ X" is the range proof for ``V - X·B``, which commits to ``v - X`` with the same ``γ``:
it shows ``X ≤ v < X + 2⁶⁴`` and nothing else about ``v``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harmony.crypto.zk.errors import ZkDecodeError, ZkError
from harmony.crypto.zk.generators import blinding_base, inner_product_base, vector_bases
from harmony.crypto.zk.group import (
    BASE,
    POINT_SIZE,
    SCALAR_SIZE,
    N,
    Point,
    add,
    decode_point,
    decode_scalar,
    encode_point,
    encode_scalar,
    inverse,
    multi_scalar,
    multiply,
    negate,
    point_sum,
)
from harmony.crypto.zk.inner_product import (
    InnerProductProof,
    fold_scalars,
    prove_inner_product,
    replay_challenges,
)
from harmony.crypto.zk.pedersen import commit, random_blinding
from harmony.crypto.zk.transcript import Transcript

BITS = 64
"""Each value is proved in ``[0, 2⁶⁴)``."""
MAX_VALUES = 16
"""At most this many values in one aggregated proof."""
LOWER_BOUND_LIMIT = 1 << 128
"""A lower bound ``X`` must be below this (so ``X + 2⁶⁴`` stays far below the group order: no wrap-around)."""
DOMAIN = b"range-proof"
_FIXED = 4 * POINT_SIZE + 3 * SCALAR_SIZE + 2 * SCALAR_SIZE


def proof_size(values: int) -> int:
    """Bytes of an aggregated proof for ``values`` commitments (a power of two ≤ 16)."""
    return _FIXED + 2 * POINT_SIZE * (BITS * values).bit_length() - 2 * POINT_SIZE


MAX_PROOF_SIZE = proof_size(MAX_VALUES)
_SIZES = {proof_size(1 << e): 1 << e for e in range(MAX_VALUES.bit_length())}


@dataclass(frozen=True, slots=True)
class RangeProof:
    """One aggregated range proof (field names as in the paper)."""

    a_commit: Point
    """``A``: commitment to the bits ``a_L`` and ``a_R``."""
    s_commit: Point
    """``S``: commitment to the blinding vectors ``s_L, s_R``."""
    t1_commit: Point
    t2_commit: Point
    tau_x: int
    mu: int
    t_hat: int
    inner: InnerProductProof

    @property
    def values(self) -> int:
        """How many values the proof covers (``m``)."""
        return (1 << len(self.inner.left)) // BITS

    def to_bytes(self) -> bytes:
        """The encoding of the module's docstring."""
        return b"".join(
            [
                *(encode_point(p) for p in (self.a_commit, self.s_commit, self.t1_commit, self.t2_commit)),
                *(encode_scalar(s) for s in (self.tau_x, self.mu, self.t_hat)),
                *(encode_point(p) for p in self.inner.left),
                *(encode_point(p) for p in self.inner.right),
                encode_scalar(self.inner.a),
                encode_scalar(self.inner.b),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RangeProof:
        """Strict decoding: the length must be one of the sizes for 1, 2, 4, 8 or 16 values, every point on
        the curve, every scalar canonical; :class:`ZkDecodeError` names the bad field."""
        if len(data) not in _SIZES:
            allowed = ", ".join(str(s) for s in sorted(_SIZES))
            raise ZkDecodeError(f"proof: length {len(data)} is none of the proof sizes ({allowed} bytes)")
        rounds = (BITS * _SIZES[len(data)]).bit_length() - 1
        pos = 0

        def point(field: str) -> Point:
            nonlocal pos
            pos += POINT_SIZE
            return decode_point(data[pos - POINT_SIZE : pos], f"proof.{field}")

        def scalar(field: str) -> int:
            nonlocal pos
            pos += SCALAR_SIZE
            return decode_scalar(data[pos - SCALAR_SIZE : pos], f"proof.{field}")

        a_commit, s_commit, t1, t2 = point("A"), point("S"), point("T1"), point("T2")
        tau_x, mu, t_hat = scalar("tau_x"), scalar("mu"), scalar("t_hat")
        left = tuple(point(f"L[{j}]") for j in range(rounds))
        right = tuple(point(f"R[{j}]") for j in range(rounds))
        a, b = scalar("a"), scalar("b")
        return cls(a_commit, s_commit, t1, t2, tau_x, mu, t_hat, InnerProductProof(left, right, a, b))


def _statement(commitments: Sequence[Point]) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb(b"n", BITS.to_bytes(4, "big"))
    transcript.absorb(b"m", len(commitments).to_bytes(4, "big"))
    for v in commitments:
        transcript.absorb(b"V", encode_point(v))
    return transcript


def _powers(base: int, count: int) -> list[int]:
    out = [1] * count
    for i in range(1, count):
        out[i] = out[i - 1] * base % N
    return out


def _check_count(m: int) -> None:
    if m < 1 or m > MAX_VALUES or m & (m - 1):
        raise ZkError(f"a range proof covers 1, 2, 4, 8 or 16 values, not {m}")


def prove_range(
    values: Sequence[int], blindings: Sequence[int], *, rng: Callable[[], int] = random_blinding
) -> tuple[RangeProof, tuple[Point, ...]]:
    """Prove every ``values[j]`` in ``[0, 2⁶⁴)`` for ``V_j = commit(values[j], blindings[j])`` (Bulletproofs
    §4.3); returns the proof and the commitments. ``rng`` gives the prover's random scalars (injected)."""
    m = len(values)
    _check_count(m)
    if len(blindings) != m:
        raise ZkError(f"{m} values but {len(blindings)} blindings")
    for j, v in enumerate(values):
        if not 0 <= v < 1 << BITS:
            raise ZkError(f"value {j} is outside [0, 2^64)")
    commitments = tuple(commit(v, g) for v, g in zip(values, blindings, strict=True))
    size = BITS * m
    g_vec, h_vec = vector_bases(size)
    b_blind = blinding_base()
    transcript = _statement(commitments)

    a_l = [(values[i // BITS] >> (i % BITS)) & 1 for i in range(size)]
    a_r = [(bit - 1) % N for bit in a_l]
    alpha, rho = rng(), rng()
    a_commit = point_sum(
        [
            *(g for g, bit in zip(g_vec, a_l, strict=True) if bit),
            *(negate(h) for h, bit in zip(h_vec, a_l, strict=True) if not bit),
        ]
        + [p for p in (multiply(b_blind, alpha),) if p is not None]
    )
    s_l = [rng() for _ in range(size)]
    s_r = [rng() for _ in range(size)]
    s_commit = multi_scalar([(rho, b_blind), *zip(s_l, g_vec, strict=True), *zip(s_r, h_vec, strict=True)])
    if a_commit is None or s_commit is None:
        raise ZkError("a proof element is the point at infinity; prove again")
    transcript.absorb(b"A", encode_point(a_commit))
    transcript.absorb(b"S", encode_point(s_commit))
    y = transcript.challenge(b"y")
    z = transcript.challenge(b"z")
    if y == 0 or z == 0:
        raise ZkError("zero challenge; prove again")

    y_pow = _powers(y, size)
    z_pow = _powers(z, m + 2)
    two = _powers(2, BITS)
    l0 = [(bit - z) % N for bit in a_l]
    l1 = s_l
    r0 = [(y_pow[i] * (a_r[i] + z) + z_pow[2 + i // BITS] * two[i % BITS]) % N for i in range(size)]
    r1 = [y_pow[i] * s_r[i] % N for i in range(size)]
    t1 = (
        sum(p * q for p, q in zip(l0, r1, strict=True)) + sum(p * q for p, q in zip(l1, r0, strict=True))
    ) % N
    t2 = sum(p * q for p, q in zip(l1, r1, strict=True)) % N
    tau1, tau2 = rng(), rng()
    t1_commit = add(multiply(BASE, t1), multiply(b_blind, tau1))
    t2_commit = add(multiply(BASE, t2), multiply(b_blind, tau2))
    if t1_commit is None or t2_commit is None:
        raise ZkError("a proof element is the point at infinity; prove again")
    transcript.absorb(b"T1", encode_point(t1_commit))
    transcript.absorb(b"T2", encode_point(t2_commit))
    x = transcript.challenge(b"x")
    if x == 0:
        raise ZkError("zero challenge; prove again")

    l_vec = [(p + q * x) % N for p, q in zip(l0, l1, strict=True)]
    r_vec = [(p + q * x) % N for p, q in zip(r0, r1, strict=True)]
    t_hat = sum(p * q for p, q in zip(l_vec, r_vec, strict=True)) % N
    tau_x = (tau2 * x * x + tau1 * x + sum(z_pow[2 + j] * blindings[j] for j in range(m))) % N
    mu = (alpha + rho * x) % N
    transcript.absorb(b"tau_x", encode_scalar(tau_x))
    transcript.absorb(b"mu", encode_scalar(mu))
    transcript.absorb(b"t_hat", encode_scalar(t_hat))
    w = transcript.challenge(b"w")
    if w == 0:
        raise ZkError("zero challenge; prove again")
    q = multiply(inner_product_base(), w)
    y_inv = _powers(inverse(y), size)
    h_prime = [multiply(h, yi) for h, yi in zip(h_vec, y_inv, strict=True)]
    if q is None or any(p is None for p in h_prime):
        raise ZkError("a generator vanished; prove again")
    inner = prove_inner_product(transcript, g_vec, [p for p in h_prime if p is not None], q, l_vec, r_vec)
    proof = RangeProof(a_commit, s_commit, t1_commit, t2_commit, tau_x, mu, t_hat, inner)
    return proof, commitments


def verify_range(commitments: Sequence[Point], proof: RangeProof) -> bool:
    """Whether ``proof`` shows every committed value in ``[0, 2⁶⁴)`` (Bulletproofs §4.3 and §6.2: both
    verification equations as one multi-scalar sum at infinity). A count mismatch is ``False``."""
    m = len(commitments)
    if m != proof.values or m < 1 or m > MAX_VALUES:
        return False
    size = BITS * m
    transcript = _statement(commitments)
    transcript.absorb(b"A", encode_point(proof.a_commit))
    transcript.absorb(b"S", encode_point(proof.s_commit))
    y = transcript.challenge(b"y")
    z = transcript.challenge(b"z")
    transcript.absorb(b"T1", encode_point(proof.t1_commit))
    transcript.absorb(b"T2", encode_point(proof.t2_commit))
    x = transcript.challenge(b"x")
    transcript.absorb(b"tau_x", encode_scalar(proof.tau_x))
    transcript.absorb(b"mu", encode_scalar(proof.mu))
    transcript.absorb(b"t_hat", encode_scalar(proof.t_hat))
    w = transcript.challenge(b"w")
    challenges = replay_challenges(transcript, proof.inner)
    transcript.absorb(b"a", encode_scalar(proof.inner.a))
    transcript.absorb(b"b", encode_scalar(proof.inner.b))
    c = transcript.challenge(b"batch")
    if challenges is None or 0 in (y, z, x, w, c):
        return False

    a, b, t_hat = proof.inner.a, proof.inner.b, proof.t_hat
    s, s_inv = fold_scalars(challenges, size)
    y_inv = inverse(y)
    y_pow_sum = (pow(y, size, N) - 1) * inverse(y - 1) % N if y != 1 else size % N
    z_pow = _powers(z, m + 3)
    delta = ((z - z * z) * y_pow_sum - sum(z_pow[3 + j] for j in range(m)) * ((1 << BITS) - 1)) % N
    g_vec, h_vec = vector_bases(size)

    terms: list[tuple[int, Point]] = [
        (x, proof.s_commit),
        (-proof.mu - c * proof.tau_x, blinding_base()),
        (c * (delta - t_hat), BASE),
        (w * (t_hat - a * b), inner_product_base()),
        (c * x, proof.t1_commit),
        (c * x * x, proof.t2_commit),
    ]
    terms += [(c * z_pow[2 + j], v) for j, v in enumerate(commitments)]
    terms += [(u * u, p) for u, p in zip(challenges, proof.inner.left, strict=True)]
    terms += [(inverse(u * u), p) for u, p in zip(challenges, proof.inner.right, strict=True)]
    terms += [(-z - a * si, g) for si, g in zip(s, g_vec, strict=True)]
    y_inv_i = 1
    for i, h in enumerate(h_vec):
        terms.append(((z + y_inv_i * (z_pow[2 + i // BITS] * (1 << (i % BITS)) - b * s_inv[i])) % N, h))
        y_inv_i = y_inv_i * y_inv % N
    # everything but A sums to -A exactly when the whole sum (A's coefficient is 1) is the point at infinity
    rest = multi_scalar(terms)
    return rest is not None and encode_point(rest) == encode_point(negate(proof.a_commit))


def shift(commitment: Point, lower_bound: int) -> Point | None:
    """``V - X·B``: the commitment to ``v - X`` with the same blinding (``None`` if it is infinity)."""
    if not 0 <= lower_bound < LOWER_BOUND_LIMIT:
        raise ZkError(f"lower bound must be in [0, 2^128), got {lower_bound}")
    offset = multiply(BASE, lower_bound)
    return commitment if offset is None else add(commitment, negate(offset))


def prove_at_least(
    value: int, blinding: int, lower_bound: int, *, rng: Callable[[], int] = random_blinding
) -> RangeProof:
    """Prove ``lower_bound ≤ value < lower_bound + 2⁶⁴`` for ``commit(value, blinding)``."""
    if not 0 <= lower_bound < LOWER_BOUND_LIMIT:
        raise ZkError(f"lower bound must be in [0, 2^128), got {lower_bound}")
    if value < lower_bound:
        raise ZkError(f"the committed value is below the lower bound {lower_bound}: no proof exists")
    proof, _ = prove_range([value - lower_bound], [blinding], rng=rng)
    return proof


def verify_at_least(commitment: Point, lower_bound: int, proof: RangeProof) -> bool:
    """Whether ``proof`` shows the value committed in ``commitment`` is at least ``lower_bound``."""
    shifted = shift(commitment, lower_bound)
    return shifted is not None and verify_range([shifted], proof)


__all__ = [
    "BITS",
    "LOWER_BOUND_LIMIT",
    "MAX_PROOF_SIZE",
    "MAX_VALUES",
    "RangeProof",
    "proof_size",
    "prove_at_least",
    "prove_range",
    "shift",
    "verify_at_least",
    "verify_range",
]
