"""The epoch VDF: Wesolowski's verifiable delay function over imaginary quadratic class groups.

Rule (design §7; reference §7): the epoch seed is fed through a VDF whose difficulty (iterations) is sized
to finish well inside the next epoch; its output and proof go into a beacon header and every node verifies
them (a few milliseconds). ``chiavdf`` does the work:

- the group is the class group of a discriminant derived from the seed (``create_discriminant(seed,
  DISCRIMINANT_BITS)``), so nobody knows its order and no trapdoor shortcuts the squarings;
- the starting element is the generator form (a=2, b=1), in chia's 100-byte compressed BQFC encoding
  ``0x08 ‖ 0x00 * 99``;
- ``prove`` returns ``y ‖ π`` (100 + 100 bytes), with y = x^(2^iterations); ``verify_wesolowski`` checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import chiavdf

from harmony.errors import CryptoError

DISCRIMINANT_BITS = 1024
"""Size of the class-group discriminant (chia's consensus value)."""
FORM_SIZE = 100
"""Bytes of a compressed class-group element (BQFC) for a 1024-bit discriminant."""
PROOF_SIZE = 2 * FORM_SIZE
"""Bytes of a serialized :class:`VDFProof`: output ‖ proof."""
GENERATOR = b"\x08" + bytes(FORM_SIZE - 1)
"""The starting element x: the form (2, 1, c) in BQFC encoding."""
MAX_ITERATIONS = 1 << 40
"""Upper bound on iterations accepted from outside (far beyond any epoch's difficulty)."""
MAX_SEED_SIZE = 1024
"""Upper bound on the seed length (the epoch seed is 32 bytes)."""
MEASURED_RATE = 100_000
"""Iterations per second measured on a development machine (bench/crypto.py); a default for sizing."""


@dataclass(frozen=True, slots=True)
class VDFProof:
    """A VDF result: the output element y and the Wesolowski proof π, each a 100-byte BQFC form."""

    output: bytes
    """y = x^(2^iterations), compressed."""
    proof: bytes
    """The Wesolowski proof π, compressed."""

    def __post_init__(self) -> None:
        if len(self.output) != FORM_SIZE or len(self.proof) != FORM_SIZE:
            raise CryptoError(f"VDF output and proof must be {FORM_SIZE} bytes each")

    def to_bytes(self) -> bytes:
        """``output ‖ proof`` (200 bytes): the beacon header's ``Vdf`` field."""
        return self.output + self.proof

    @classmethod
    def from_bytes(cls, data: bytes) -> VDFProof:
        """Parse ``output ‖ proof``; :class:`CryptoError` unless exactly 200 bytes."""
        if len(data) != PROOF_SIZE:
            raise CryptoError(f"VDF proof must be {PROOF_SIZE} bytes, got {len(data)}")
        return cls(bytes(data[:FORM_SIZE]), bytes(data[FORM_SIZE:]))


def _check(seed: bytes, iterations: int) -> None:
    if not 1 <= len(seed) <= MAX_SEED_SIZE:
        raise CryptoError(f"VDF seed must be 1 to {MAX_SEED_SIZE} bytes, got {len(seed)}")
    if isinstance(iterations, bool) or not isinstance(iterations, int):
        raise CryptoError("VDF iterations must be an integer")
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise CryptoError(f"VDF iterations must be in 1 .. 2^40, got {iterations}")


@lru_cache(maxsize=64)
def _discriminant(seed: bytes) -> str:
    return str(chiavdf.create_discriminant(seed, DISCRIMINANT_BITS))


def vdf_prove(seed: bytes, iterations: int) -> VDFProof:
    """Evaluate the VDF of ``seed`` for ``iterations`` sequential squarings and prove it (design §7).

    Takes about ``iterations / MEASURED_RATE`` seconds. :class:`CryptoError` on a bad seed or count.
    """
    seed = bytes(seed)
    _check(seed, iterations)
    result = chiavdf.prove(seed, GENERATOR, DISCRIMINANT_BITS, iterations, "")
    return VDFProof.from_bytes(bytes(result))


def vdf_verify(seed: bytes, iterations: int, proof: VDFProof | bytes) -> bool:
    """Whether ``proof`` is the VDF of ``seed`` after ``iterations`` (design §7). Never raises; a few ms."""
    try:
        seed = bytes(seed)
        _check(seed, iterations)
        parsed = proof if isinstance(proof, VDFProof) else VDFProof.from_bytes(bytes(proof))
        return bool(
            chiavdf.verify_wesolowski(_discriminant(seed), GENERATOR, parsed.output, parsed.proof, iterations)
        )
    except (CryptoError, RuntimeError, ValueError, TypeError):
        return False


def iterations_for(seconds: float, rate: int = MEASURED_RATE) -> int:
    """Difficulty sizing (design §7): iterations a prover doing ``rate`` per second finishes in ``seconds``.

    At least 1; :class:`CryptoError` if ``seconds`` or ``rate`` is not positive and finite.
    """
    if not (math.isfinite(seconds) and seconds > 0) or rate <= 0:
        raise CryptoError("VDF sizing needs a positive duration and rate")
    return max(1, min(MAX_ITERATIONS, int(seconds * rate)))
