"""Randomness rules (design §7): the header VRF, the epoch seed, the VDF and its fallback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from blspy import G2Element

from harmony.chain import randomness as rnd
from harmony.chain.epoch_randomness import check_leader_vrf, check_leader_vrfs
from harmony.chain.errors import InvalidBlock
from harmony.chain.params import LOCALNET, MAINNET
from harmony.chain.randomness import InvalidRandomness
from harmony.crypto.bls import SecretKey
from harmony.crypto.keccak import keccak256, sha256
from harmony.crypto.vdf import vdf_prove
from harmony.types.header import Header

ITERATIONS = 64
"""Tiny VDF difficulty for tests."""
LEADER = SecretKey.key_gen(bytes(range(32)))
OTHER = SecretKey.key_gen(bytes(range(1, 33)))
PARENT = keccak256(b"parent")


def _vrf_header(vrf: bytes) -> Header:
    return Header(parent_hash=PARENT, number=5, vrf=vrf)


def _check_code(check: str, func: object, *args: object) -> None:
    with pytest.raises(InvalidRandomness) as info:
        func(*args)  # type: ignore[operator]
    assert info.value.check == check


# --- VRF -------------------------------------------------------------------------------------------------


def test_header_vrf_round_trip() -> None:
    vrf = rnd.make_header_vrf(LEADER, PARENT)
    assert len(vrf) == 128 and vrf[:32] == sha256(vrf[32:])
    rnd.check_header_vrf(_vrf_header(vrf), PARENT, LEADER.public_key)
    rnd.check_header_vrf(_vrf_header(vrf), PARENT, LEADER.public_key.to_bytes())


def test_header_vrf_missing() -> None:
    _check_code("vrf_missing", rnd.check_header_vrf, _vrf_header(b""), PARENT, LEADER.public_key)


def test_forged_vrf_output_rejected() -> None:
    vrf = rnd.make_header_vrf(LEADER, PARENT)
    forged = bytes(32 * [0xAB]) + vrf[32:]
    _check_code("vrf_output", rnd.check_header_vrf, _vrf_header(forged), PARENT, LEADER.public_key)


def test_forged_vrf_proof_rejected() -> None:
    # another key's valid VRF of the same parent: output matches its proof, but the proof is not the leader's
    other = rnd.make_header_vrf(OTHER, PARENT)
    _check_code("vrf_proof", rnd.check_header_vrf, _vrf_header(other), PARENT, LEADER.public_key)
    # the leader's VRF of another parent
    stale = rnd.make_header_vrf(LEADER, keccak256(b"other parent"))
    _check_code("vrf_proof", rnd.check_header_vrf, _vrf_header(stale), PARENT, LEADER.public_key)
    # garbage proof bytes whose hash is the output
    junk = bytes(96 * [7])
    _check_code(
        "vrf_proof", rnd.check_header_vrf, _vrf_header(sha256(junk) + junk), PARENT, LEADER.public_key
    )


def test_bad_leader_key_is_a_typed_error() -> None:
    vrf = rnd.make_header_vrf(LEADER, PARENT)
    _check_code("vrf_proof", rnd.check_header_vrf, _vrf_header(vrf), PARENT, b"\x00" * 48)


def test_invalid_randomness_is_an_invalid_block() -> None:
    assert issubclass(InvalidRandomness, InvalidBlock)


# --- epoch seed ------------------------------------------------------------------------------------------

OUTPUTS = [keccak256(bytes([i])) for i in range(10)]


def test_epoch_seed_deterministic_and_documented() -> None:
    assert rnd.epoch_seed(OUTPUTS) == rnd.epoch_seed(list(OUTPUTS))
    assert rnd.epoch_seed(OUTPUTS) == keccak256(b"harmony-epoch-seed-v1" + b"".join(OUTPUTS))
    assert len(rnd.epoch_seed([])) == 32


def test_every_output_and_its_position_matter() -> None:
    seed = rnd.epoch_seed(OUTPUTS)
    for i in range(len(OUTPUTS)):
        changed = list(OUTPUTS)
        changed[i] = keccak256(b"another leader " + bytes([i]))
        assert rnd.epoch_seed(changed) != seed
    assert rnd.epoch_seed(list(reversed(OUTPUTS))) != seed
    assert rnd.epoch_seed(OUTPUTS[:-1]) != seed  # a withheld last block changes it too


def test_epoch_seed_rejects_wrong_size() -> None:
    with pytest.raises(ValueError):
        rnd.epoch_seed([b"short"])


def test_epoch_seed_from_headers_skips_blocks_without_vrf() -> None:
    vrfs = [rnd.make_header_vrf(LEADER, keccak256(bytes([i]))) for i in range(3)]
    headers = [Header(number=0)] + [Header(number=i + 1, vrf=v) for i, v in enumerate(vrfs)]
    assert rnd.epoch_seed_from_headers(headers) == rnd.epoch_seed([v[:32] for v in vrfs])


# --- VDF -------------------------------------------------------------------------------------------------

SEED = rnd.epoch_seed(OUTPUTS)


@pytest.fixture(scope="module")
def vdf_field() -> bytes:
    return rnd.make_header_vdf(SEED, ITERATIONS)


def _vdf_header(field: bytes, number: int = 1, epoch: int = 1, shard: int = 0) -> Header:
    return Header(number=number, epoch=epoch, shard_id=shard, vdf=field)


def test_vdf_round_trip_and_randomness_is_hash_of_vdf_output(vdf_field: bytes) -> None:
    proof = rnd.check_header_vdf(_vdf_header(vdf_field), SEED, ITERATIONS)
    assert vdf_field == SEED + proof.output + proof.proof
    expected = vdf_prove(SEED, ITERATIONS)
    assert proof.output == expected.output
    assert rnd.epoch_randomness(proof) == keccak256(expected.output)
    assert rnd.resolve_epoch_randomness(SEED, 0, [b"", vdf_field], ITERATIONS) == keccak256(expected.output)


def test_randomness_is_not_reachable_without_the_vdf(vdf_field: bytes) -> None:
    randomness = rnd.epoch_randomness(rnd.check_header_vdf(_vdf_header(vdf_field), SEED, ITERATIONS))
    assert randomness not in (keccak256(SEED), sha256(SEED), rnd.fallback_randomness(SEED, 0), SEED)


def test_forged_vdf_output_rejected(vdf_field: bytes) -> None:
    other_output = vdf_prove(SEED, ITERATIONS + 1).output  # a well-formed element, not the VDF's output
    forged = SEED + other_output + vdf_field[132:]
    _check_code("vdf_proof", rnd.check_header_vdf, _vdf_header(forged), SEED, ITERATIONS)
    flipped = bytearray(vdf_field)
    flipped[33] ^= 0xFF
    _check_code("vdf_proof", rnd.check_header_vdf, _vdf_header(bytes(flipped)), SEED, ITERATIONS)


def test_forged_vdf_proof_rejected(vdf_field: bytes) -> None:
    # below ~256 iterations the Wesolowski proof is the identity element, so forge at a real difficulty
    real = rnd.make_header_vdf(SEED, 2_000)
    other_proof = vdf_prove(SEED, 2_001).proof  # a well-formed proof, of something else
    assert other_proof != real[132:]
    rnd.check_header_vdf(_vdf_header(real), SEED, 2_000)
    _check_code("vdf_proof", rnd.check_header_vdf, _vdf_header(real[:132] + other_proof), SEED, 2_000)
    _check_code(
        "vdf_proof", rnd.check_header_vdf, _vdf_header(vdf_field[:132] + bytes(100)), SEED, ITERATIONS
    )
    _check_code("vdf_proof", rnd.check_header_vdf, _vdf_header(vdf_field[:-1]), SEED, ITERATIONS)
    _check_code("vdf_proof", rnd.check_header_vdf, _vdf_header(vdf_field), SEED, ITERATIONS + 1)


def test_vdf_of_another_seed_rejected(vdf_field: bytes) -> None:
    other_seed = rnd.epoch_seed(OUTPUTS[1:])
    _check_code("vdf_seed", rnd.check_header_vdf, _vdf_header(vdf_field), other_seed, ITERATIONS)
    # a correct VDF of another seed relabelled with the expected seed does not verify
    other = rnd.make_header_vdf(other_seed, ITERATIONS)
    relabelled = SEED + other[32:]
    _check_code("vdf_proof", rnd.check_header_vdf, _vdf_header(relabelled), SEED, ITERATIONS)


def test_resolve_rejects_an_invalid_first_proof(vdf_field: bytes) -> None:
    forged = SEED + vdf_prove(SEED, ITERATIONS + 1).output + vdf_field[132:]
    with pytest.raises(InvalidRandomness):
        rnd.resolve_epoch_randomness(SEED, 0, [forged, vdf_field], ITERATIONS)


def test_fallback_when_no_proof_by_the_deadline() -> None:
    fallback = rnd.resolve_epoch_randomness(SEED, 7, [b"", b"", b""], ITERATIONS)
    assert fallback == rnd.fallback_randomness(SEED, 7)
    assert fallback == keccak256(b"harmony-vdf-fallback-v1" + (7).to_bytes(8, "big") + SEED)
    assert rnd.resolve_epoch_randomness(SEED, 7, [], ITERATIONS) == fallback
    assert rnd.fallback_randomness(SEED, 8) != fallback


def test_block_vdf_placement(vdf_field: bytes) -> None:
    first, deadline = rnd.vdf_window(LOCALNET, 0)
    assert (first, deadline) == (32, 32 + 24 - 1)
    header = _vdf_header(vdf_field, number=first + 3, epoch=1)
    assert rnd.check_block_vdf(LOCALNET, header, SEED, ITERATIONS, already_published=False) is not None
    assert rnd.check_block_vdf(LOCALNET, _vdf_header(b"", number=40), SEED, ITERATIONS, False) is None
    late = _vdf_header(vdf_field, number=deadline + 1, epoch=1)
    other_shard = _vdf_header(vdf_field, number=first + 3, epoch=1, shard=1)
    for bad in (late, other_shard, _vdf_header(vdf_field, number=3, epoch=0)):
        _check_code("vdf_unexpected", rnd.check_block_vdf, LOCALNET, bad, SEED, ITERATIONS, False)
    _check_code("vdf_unexpected", rnd.check_block_vdf, LOCALNET, header, SEED, ITERATIONS, True)


def test_vdf_iterations_sizing() -> None:
    # localnet: 32 blocks × 2 s = 64 s; a third is 21.333 s at the measured rate
    assert rnd.vdf_iterations(LOCALNET) == 21_333 * 100_000 // 1000
    assert rnd.vdf_iterations(LOCALNET, rate=170_000) == 21_333 * 170
    # mainnet: capped at 100 s
    assert rnd.vdf_iterations(MAINNET, epoch=400) == 100 * 100_000
    assert rnd.vdf_iterations(LOCALNET, rate=1) == rnd.VDF_MIN_ITERATIONS
    # finishes well inside the deadline of the window at the measured rate
    first, deadline = rnd.vdf_window(LOCALNET, 0)
    window_ms = (deadline - first + 1) * LOCALNET.block_time_ms
    assert rnd.vdf_iterations(LOCALNET) * 1000 // 100_000 * 2 <= window_ms


# --- many headers' VRFs at once (the sync's batch) -------------------------------------------------------


SEED = bytes(range(32))
"""The batch coefficients' seed: fixed, so a failure replays."""


def _batch_checks(count: int) -> list[tuple[Header, bytes, list[bytes]]]:
    """``count`` headers, each with its own parent, led by LEADER and OTHER in turn, with valid VRFs."""
    checks = []
    for number in range(count):
        parent = keccak256(b"parent %d" % number)
        leader = (LEADER, OTHER)[number % 2]
        header = Header(parent_hash=parent, number=number + 1, vrf=rnd.make_header_vrf(leader, parent))
        checks.append((header, parent, [leader.public_key.to_bytes()]))
    return checks


def _alone(check: tuple[Header, bytes, list[bytes]]) -> InvalidRandomness | None:
    try:
        check_leader_vrf(*check)
    except InvalidRandomness as exc:
        return exc
    return None


def _same(got: list[InvalidRandomness | None], checks: list[tuple[Header, bytes, list[bytes]]]) -> None:
    """Each verdict is the one check_leader_vrf gives that header alone: the same check and message."""
    want = [_alone(c) for c in checks]
    assert [(e.check, str(e)) if e else None for e in got] == [(e.check, str(e)) if e else None for e in want]


def test_a_batch_of_valid_vrfs_passes() -> None:
    checks = _batch_checks(12)
    assert check_leader_vrfs(checks, seed=SEED) == [None] * 12
    assert check_leader_vrfs(checks[:1], seed=SEED) == [None]
    assert check_leader_vrfs([], seed=SEED) == []


@pytest.mark.parametrize("position", [0, 6, 11])
def test_a_forged_vrf_anywhere_in_a_batch_is_named_with_its_own_error(position: int) -> None:
    checks = _batch_checks(12)
    header, parent, keys = checks[position]
    stale = rnd.make_header_vrf(LEADER, keccak256(b"other parent"))
    checks[position] = (Header(parent_hash=parent, number=header.number, vrf=stale), parent, keys)
    verdicts = check_leader_vrfs(checks, seed=SEED)
    assert [i for i, v in enumerate(verdicts) if v] == [position]
    error = verdicts[position]
    assert error is not None and error.check == "vrf_proof"
    _same(verdicts, checks)


def test_every_kind_of_bad_vrf_in_a_batch_gets_the_single_check_verdict() -> None:
    checks = _batch_checks(12)
    junk = bytes(96 * [7])  # not a point: the hostile proof is a typed error, never a crash
    not_in_subgroup = bytes([0xA0]) + bytes(95)
    faults: dict[int, Callable[[Header], tuple[Header, bytes]]] = {
        1: lambda h: (Header(parent_hash=h.parent_hash, number=1, vrf=b""), h.parent_hash),
        2: lambda h: (Header(parent_hash=h.parent_hash, number=2, vrf=sha256(junk) + junk), h.parent_hash),
        3: lambda h: (Header(parent_hash=h.parent_hash, number=3, vrf=bytes(32) + h.vrf[32:]), h.parent_hash),
        4: lambda h: (Header(parent_hash=h.parent_hash, number=4, vrf=h.vrf[:-1]), h.parent_hash),
        5: lambda h: (h, h.parent_hash[:31]),
        7: lambda h: (
            Header(parent_hash=h.parent_hash, number=7, vrf=sha256(not_in_subgroup) + not_in_subgroup),
            h.parent_hash,
        ),
    }
    for index, fault in faults.items():
        header, parent = fault(checks[index][0])
        checks[index] = (header, parent, checks[index][2])
    checks[8] = (checks[8][0], checks[8][1], [b"\x00" * 48])  # a malformed committee key
    checks[9] = (checks[9][0], checks[9][1], [])  # no key of its coinbase
    checks[10] = (checks[10][0], checks[10][1], [OTHER.public_key.to_bytes(), LEADER.public_key.to_bytes()])
    verdicts = check_leader_vrfs(checks, seed=SEED)
    assert [i for i, v in enumerate(verdicts) if v] == [1, 2, 3, 4, 5, 7, 8, 9]  # 10: its second key signed
    _same(verdicts, checks)


def test_two_proofs_wrong_by_opposite_amounts_are_both_named() -> None:
    checks = _batch_checks(6)
    delta = G2Element.from_bytes(OTHER.sign(b"delta").to_bytes())
    for index, shift in ((1, delta), (4, delta.negate())):
        header, parent, keys = checks[index]
        pi = bytes(G2Element.from_bytes(header.vrf[32:]) + shift)
        checks[index] = (Header(parent_hash=parent, number=header.number, vrf=sha256(pi) + pi), parent, keys)
    verdicts = check_leader_vrfs(checks, seed=SEED)
    assert [i for i, v in enumerate(verdicts) if v] == [1, 4]
    _same(verdicts, checks)


def test_a_batch_needs_a_seed_of_secret_randomness() -> None:
    with pytest.raises(ValueError):
        check_leader_vrfs(_batch_checks(2), seed=b"short")
