"""Randomness: the per-block VRF, the epoch seed, the epoch VDF and the fallback (design §7; reference §7).

**Per block (VRF).** The leader's BLS signature over the parent hash is the proof π, its SHA-256 the
output β; the header's ``vrf`` field is ``β ‖ π`` (:mod:`harmony.crypto.vrf`). :func:`check_header_vrf`
verifies both against the leader's key. A BLS signature is unique for a key and a message, so a leader has
exactly one possible output for a given parent: it can publish it or not propose at all.

**Per epoch (seed).** :func:`epoch_seed`: ``keccak256("harmony-epoch-seed-v1" ‖ β_1 ‖ … ‖ β_m)`` over the
VRF outputs of the epoch's blocks that carry one, in block order. We hash every output instead of XOR-ing
the first ⌈2n/3⌉ as the Harmony papers do: their XOR collects pRnd messages in a commit-reveal round where
the leader picks which 2n/3 to use; here the outputs are fixed by the chain, so there is no subset to pick,
and a hash of the concatenation has no algebraic structure (with XOR, a known set of values cancels out).
Any single changed output changes the seed. What a leader *can* do is withhold its block (a view change
replaces it, and with it its output); the VDF makes that useless: the seed only becomes randomness through
:func:`vdf_iterations` sequential squarings, which take far longer than the one block time a leader has
before it must propose or be replaced, so when it decides it cannot know which outcome either choice gives.

**Per epoch (VDF).** The seed of epoch ``e`` is known when ``e``'s last block is final. During epoch
``e + 1`` any node evaluates the VDF of that seed (``chiavdf``, Wesolowski); the proof goes in the ``vdf``
field of a beacon (shard 0) block of epoch ``e + 1``: the first beacon block, among the blocks of
:func:`vdf_window`, whose leader has the proof carries it (:func:`make_header_vdf`,
:func:`check_block_vdf`); every later beacon block of the epoch leaves ``vdf`` empty. The field is
``seed (32) ‖ output (100) ‖ proof (100)``. There is no earliest block: the delay is the VDF's own.
Every validator checks it in a few milliseconds (:func:`check_header_vdf`). The epoch randomness is
``keccak256(VDF output)`` (:func:`epoch_randomness`); the election at the last block of epoch ``e + 1``
assigns epoch ``e + 2``'s committees from it (:mod:`harmony.chain.assignment`).

**Fallback.** If no beacon block of the window carries a valid proof by the deadline block, the randomness
is ``keccak256("harmony-vdf-fallback-v1" ‖ epoch ‖ seed)`` (:func:`fallback_randomness`,
:func:`resolve_epoch_randomness`). Tradeoff: resharding never stalls (liveness), but this value is
predictable from the moment the seed is known, so the leaders who end epoch ``e`` could bias it by
withholding blocks. It takes the adversary every beacon leader from the window's start to its deadline to
suppress the proof (each honest leader with the proof publishes it), or every honest prover being too slow;
the difficulty is sized to one third of the epoch and the deadline at three quarters of it, so an honest
prover at the measured rate finishes with a wide margin. A network that prefers safety to liveness would
keep the previous committees instead.

Parameters not in ``harmony.chain.params``: :data:`VDF_MAX_SECONDS` and :data:`VDF_DEADLINE_FRACTION`,
keyed by preset name.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from harmony.chain.errors import InvalidBlock
from harmony.chain.params import NetworkParams
from harmony.crypto.bls import PublicKey, SecretKey, Signature, verify
from harmony.crypto.keccak import keccak256, sha256
from harmony.crypto.vdf import MAX_ITERATIONS, MEASURED_RATE, VDFProof, vdf_prove, vdf_verify
from harmony.crypto.vrf import VRF_OUTPUT_SIZE, VRF_SIZE, decode_vrf, encode_vrf, vrf_prove
from harmony.errors import CryptoError
from harmony.types.header import Header

SEED_SIZE = 32
"""Bytes of an epoch seed (a Keccak-256 digest)."""
VDF_FIELD_SIZE = SEED_SIZE + 200
"""Bytes of a header's ``vdf`` field when it carries a proof: seed ‖ output ‖ proof."""
VDF_MIN_ITERATIONS = 1_000
"""Floor of :func:`vdf_iterations` (tests pass smaller counts to the check functions directly)."""
VDF_MAX_SECONDS: dict[str, int] = {"localnet": 60, "localnet32": 60, "mainnet": 100}
"""Cap on the VDF's target duration by preset (mainnet: the Harmony design's "about 100 s")."""
DEFAULT_VDF_MAX_SECONDS = 100
"""Cap for a preset not in :data:`VDF_MAX_SECONDS`."""
VDF_DEADLINE_FRACTION: dict[str, tuple[int, int]] = {
    "localnet": (3, 4),
    "localnet32": (3, 4),
    "mainnet": (3, 4),
}
"""The window's deadline as a fraction (numerator, denominator) of the epoch's blocks, by preset."""
DEFAULT_VDF_DEADLINE_FRACTION = (3, 4)

_SEED_DOMAIN = b"harmony-epoch-seed-v1"
_FALLBACK_DOMAIN = b"harmony-vdf-fallback-v1"
_NOT_LEADERS = "the VRF proof is not the leader's signature of the parent hash"


class InvalidRandomness(InvalidBlock):
    """A header's VRF or VDF breaks a randomness rule; ``check`` names which (``vrf_missing``,
    ``vrf_proof``, ``vrf_output``, ``vdf_proof``, ``vdf_seed``, ``vdf_unexpected``)."""


def make_header_vrf(secret_key: SecretKey, parent_hash: bytes) -> bytes:
    """The proposer's ``vrf`` field (design §7): ``β ‖ π`` with π its BLS signature of ``parent_hash``."""
    beta, pi = vrf_prove(secret_key, parent_hash)
    return encode_vrf(beta, pi)


@lru_cache(maxsize=1024)
def _leader_key(data: bytes) -> PublicKey:
    """A committee key parsed once (the same leaders sign block after block); :class:`CryptoError` if it
    is not a valid key."""
    return PublicKey.from_bytes(data)


def vrf_terms(
    header: Header, parent_hash: bytes, leader_public_key: PublicKey | bytes
) -> tuple[PublicKey, bytes, Signature]:
    """Every check of :func:`check_header_vrf` but the pairing: the key, the message (``parent_hash``) and
    the proof π whose BLS verification is all that is left of the rule (several headers' at once:
    :func:`harmony.chain.epoch_randomness.check_leader_vrfs`). :class:`InvalidRandomness` as that rule."""
    if not header.vrf:
        raise InvalidRandomness("vrf_missing", "the header carries no VRF")
    if len(header.vrf) != VRF_SIZE:
        raise InvalidRandomness("vrf_proof", f"VRF field is {len(header.vrf)} bytes, not {VRF_SIZE}")
    beta, pi = decode_vrf(header.vrf)
    if sha256(pi) != beta:
        raise InvalidRandomness("vrf_output", "the VRF output is not the hash of the proof")
    try:
        key = (
            leader_public_key
            if isinstance(leader_public_key, PublicKey)
            else _leader_key(bytes(leader_public_key))
        )
    except CryptoError as exc:
        raise InvalidRandomness("vrf_proof", f"bad leader key: {exc}") from None
    try:
        if len(parent_hash) != 32:
            raise CryptoError("the VRF input is a 32-byte parent hash")
        proof = Signature.from_bytes(pi)
    except CryptoError:
        raise InvalidRandomness("vrf_proof", _NOT_LEADERS) from None
    return key, bytes(parent_hash), proof


def check_header_vrf(header: Header, parent_hash: bytes, leader_public_key: PublicKey | bytes) -> None:
    """The per-block VRF rule (design §7): ``header.vrf`` is ``β ‖ π`` where π is the leader's BLS
    signature over ``parent_hash`` and β = SHA-256(π). :class:`InvalidRandomness` otherwise."""
    key, message, proof = vrf_terms(header, parent_hash, leader_public_key)
    if not verify(key, message, proof):
        raise InvalidRandomness("vrf_proof", _NOT_LEADERS)


def epoch_seed(vrf_outputs: Sequence[bytes]) -> bytes:
    """The epoch seed (module docstring): ``keccak256("harmony-epoch-seed-v1" ‖ β_1 ‖ … ‖ β_m)`` over the
    32-byte VRF outputs of the epoch's blocks, in block order. :class:`ValueError` on a wrong-size output."""
    for beta in vrf_outputs:
        if len(beta) != VRF_OUTPUT_SIZE:
            raise ValueError(f"a VRF output is {VRF_OUTPUT_SIZE} bytes, got {len(beta)}")
    return keccak256(_SEED_DOMAIN + b"".join(bytes(b) for b in vrf_outputs))


def epoch_seed_from_headers(headers: Sequence[Header]) -> bytes:
    """:func:`epoch_seed` of the VRF outputs of ``headers`` (one epoch's blocks in order) that carry one."""
    return epoch_seed([h.vrf_output for h in headers if h.vrf])


def vdf_iterations(params: NetworkParams, epoch: int = 0, rate: int = MEASURED_RATE) -> int:
    """The VDF difficulty (design §7): what a prover doing ``rate`` squarings per second finishes in a
    third of ``epoch``'s wall time (blocks × block time), capped at :data:`VDF_MAX_SECONDS` seconds, at
    least :data:`VDF_MIN_ITERATIONS`. Localnet (32 blocks × 2 s): 21.3 s, 2,133,333 iterations at the
    default rate. Integer arithmetic."""
    epoch_ms = params.epochs.blocks_in_epoch(epoch) * params.block_time_ms
    cap_ms = 1000 * VDF_MAX_SECONDS.get(params.name, DEFAULT_VDF_MAX_SECONDS)
    target_ms = min(epoch_ms // 3, cap_ms)
    return max(VDF_MIN_ITERATIONS, min(MAX_ITERATIONS, target_ms * rate // 1000))


def vdf_window(params: NetworkParams, seed_epoch: int) -> tuple[int, int]:
    """Block numbers ``(first, deadline)`` of epoch ``seed_epoch + 1`` in which a beacon block may carry
    the VDF of ``seed_epoch``'s seed: from the epoch's first block to the block at
    :data:`VDF_DEADLINE_FRACTION` of it (at least the first block)."""
    epoch = seed_epoch + 1
    first = params.epoch_first_block(epoch)
    num, den = VDF_DEADLINE_FRACTION.get(params.name, DEFAULT_VDF_DEADLINE_FRACTION)
    length = params.epochs.blocks_in_epoch(epoch)
    return first, first + max(0, length * num // den - 1)


def make_header_vdf(seed: bytes, iterations: int) -> bytes:
    """Evaluate the VDF of ``seed`` and build the ``vdf`` field ``seed ‖ output ‖ proof`` (slow: about
    ``iterations / MEASURED_RATE`` seconds)."""
    if len(seed) != SEED_SIZE:
        raise ValueError(f"an epoch seed is {SEED_SIZE} bytes, got {len(seed)}")
    return bytes(seed) + vdf_prove(seed, iterations).to_bytes()


def parse_header_vdf(data: bytes) -> tuple[bytes, VDFProof]:
    """Split a ``vdf`` field into ``(seed, proof)``; :class:`InvalidRandomness` ``vdf_proof`` if malformed."""
    if len(data) != VDF_FIELD_SIZE:
        raise InvalidRandomness("vdf_proof", f"VDF field is {len(data)} bytes, not {VDF_FIELD_SIZE}")
    return bytes(data[:SEED_SIZE]), VDFProof.from_bytes(bytes(data[SEED_SIZE:]))


def check_header_vdf(header: Header, expected_seed: bytes, iterations: int) -> VDFProof:
    """The VDF rule (design §7): ``header.vdf`` names ``expected_seed`` (else ``vdf_seed``) and carries a
    Wesolowski proof of ``iterations`` squarings from it (else ``vdf_proof``). Returns the proof."""
    seed, proof = parse_header_vdf(header.vdf)
    if seed != expected_seed:
        raise InvalidRandomness("vdf_seed", f"VDF of seed {seed.hex()}, expected {expected_seed.hex()}")
    if not vdf_verify(seed, iterations, proof):
        raise InvalidRandomness("vdf_proof", "the VDF output or proof does not verify")
    return proof


def check_block_vdf(
    params: NetworkParams,
    header: Header,
    expected_seed: bytes,
    iterations: int,
    already_published: bool,
) -> VDFProof | None:
    """Where a VDF may appear (module docstring): only in a beacon block of the window of the previous
    epoch's seed (:func:`vdf_window`), and only until one block has carried it; there it must pass
    :func:`check_header_vdf`. Returns the proof a block carries, ``None`` if it carries none;
    ``vdf_unexpected`` for a proof anywhere else."""
    if not header.vdf:
        return None
    if header.shard_id != params.beacon_shard_id or header.epoch < 1:
        raise InvalidRandomness("vdf_unexpected", "only a beacon block after epoch 0 may carry a VDF")
    first, deadline = vdf_window(params, header.epoch - 1)
    if not first <= header.number <= deadline:
        raise InvalidRandomness("vdf_unexpected", f"block {header.number} is outside [{first}, {deadline}]")
    if already_published:
        raise InvalidRandomness("vdf_unexpected", "this epoch's VDF is already in an earlier block")
    return check_header_vdf(header, expected_seed, iterations)


def epoch_randomness(proof: VDFProof) -> bytes:
    """The epoch randomness (design §7): ``keccak256(VDF output)``, reachable only through the VDF."""
    return keccak256(proof.output)


def fallback_randomness(seed: bytes, seed_epoch: int) -> bytes:
    """The randomness when no VDF arrived by the deadline (module docstring, "Fallback"):
    ``keccak256("harmony-vdf-fallback-v1" ‖ uint64_be(epoch) ‖ seed)``."""
    return keccak256(_FALLBACK_DOMAIN + seed_epoch.to_bytes(8, "big") + bytes(seed))


def resolve_epoch_randomness(
    seed: bytes, seed_epoch: int, window_vdf_fields: Sequence[bytes], iterations: int
) -> bytes:
    """The randomness of ``seed_epoch``: given the ``vdf`` fields of the beacon blocks of its window in
    order (up to the deadline), the first non-empty one must be a valid proof and gives
    :func:`epoch_randomness`; if all are empty, :func:`fallback_randomness`."""
    for field in window_vdf_fields:
        if field:
            return epoch_randomness(check_header_vdf(Header(vdf=bytes(field)), seed, iterations))
    return fallback_randomness(seed, seed_epoch)


__all__ = [
    "SEED_SIZE",
    "VDF_FIELD_SIZE",
    "VDF_MAX_SECONDS",
    "VDF_MIN_ITERATIONS",
    "InvalidRandomness",
    "check_block_vdf",
    "check_header_vdf",
    "check_header_vrf",
    "epoch_randomness",
    "epoch_seed",
    "epoch_seed_from_headers",
    "fallback_randomness",
    "make_header_vdf",
    "make_header_vrf",
    "parse_header_vdf",
    "resolve_epoch_randomness",
    "vdf_iterations",
    "vdf_window",
    "vrf_terms",
]
