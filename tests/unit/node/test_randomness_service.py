"""The node's epoch randomness (design §7): seeds from stored headers, the election's assignment, the VDF
service and its prover process, and the validator's VRF/VDF checks, over a real ChainDB."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmony.abc import KVStore
from harmony.chain import epoch_randomness as er
from harmony.chain import randomness as rnd
from harmony.chain.assignment import cuckoo_assign, move_fraction_for
from harmony.chain.epoch_randomness import RandomnessUnavailable
from harmony.chain.params import LOCALNET, EpochSchedule, NetworkParams
from harmony.chain.randomness import InvalidRandomness
from harmony.crypto.bls import SecretKey
from harmony.crypto.keccak import keccak256
from harmony.crypto.vdf import VDFProof, vdf_prove, vdf_verify
from harmony.encoding.fixed import Dec
from harmony.node import vdf_child
from harmony.node.randomness_service import ProcessProver, VDFProverError, VDFService
from harmony.storage import ChainDB, LMDBStore, MemoryStore
from harmony.types.block import make_block
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState, Slot

PARAMS: NetworkParams = dataclasses.replace(LOCALNET, epochs=EpochSchedule.uniform(8))
"""Localnet with 8-block epochs: the window of seed epoch e is blocks 8(e+1) .. 8(e+1)+5."""
ITERATIONS = 2_000
"""Test VDF difficulty: small, but above the ~256 iterations below which chiavdf's proof is trivial."""
KEYS = [SecretKey.key_gen(bytes([i + 1]) * 32) for i in range(4)]
ADDRESSES = [bytes([0xA0 + i]) * 20 for i in range(4)]
OUTSIDER = SecretKey.key_gen(b"\x99" * 32)


def _slot(i: int, stake: bool = True) -> Slot:
    key = keccak256(b"bls%d" % i) + keccak256(b"more%d" % i)[:16]
    return Slot(i.to_bytes(20, "big"), key, Dec.from_int(100 + i) if stake else None)


OPERATORS = [[_slot(1000 + 2 * s + j, stake=False) for j in range(2)] for s in range(2)]
WINNERS = [_slot(i) for i in range(12)]
STATE0 = ShardState(0, (Committee(0, tuple(OPERATORS[0])), Committee(1, tuple(OPERATORS[1]))))


def _leader(number: int) -> int:
    return number % len(KEYS)


def _header(parent: Header, *, vdf: bytes = b"", vrf: bool = True, shard: int = 0) -> Header:
    number = parent.number + 1
    i = _leader(number)
    return Header(
        parent_hash=parent.hash(),
        number=number,
        epoch=PARAMS.epoch_of(number),
        shard_id=shard,
        time=1000 + number,
        coinbase=ADDRESSES[i],
        vrf=rnd.make_header_vrf(KEYS[i], parent.hash()) if vrf else b"",
        vdf=vdf,
    )


def _store(db: ChainDB, header: Header) -> None:
    db.write_block(make_block(header), [], {})


def _new_db(kv: KVStore | None = None, shard: int = 0) -> ChainDB:
    db = ChainDB(kv if kv is not None else MemoryStore())
    _store(db, Header.genesis(shard_id=shard, shard_state=STATE0))
    return db


def _extend(db: ChainDB, to: int, vdfs: dict[int, bytes] | None = None) -> None:
    """Store canonical blocks up to number ``to`` (block n carries ``vdfs[n]`` when given)."""
    head = db.head_header()
    assert head is not None
    while head.number < to:
        head = _header(head, vdf=(vdfs or {}).get(head.number + 1, b""))
        _store(db, head)


def _headers(db: ChainDB, first: int, last: int) -> list[Header]:
    out = []
    for n in range(first, last + 1):
        header = db.get_header_by_number(n)
        assert header is not None
        out.append(header)
    return out


@pytest.fixture(params=["memory", "lmdb"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    store: KVStore = (
        MemoryStore() if request.param == "memory" else LMDBStore(tmp_path / "db", map_size=1 << 22)
    )
    yield store
    store.close()


@pytest.fixture(scope="module")
def seed0() -> bytes:
    db = _new_db()
    _extend(db, 7)
    seed = er.epoch_seed_for(db, PARAMS, 0, 0)
    assert seed is not None
    return seed


@pytest.fixture(scope="module")
def field0(seed0: bytes) -> bytes:
    """The genuine ``vdf`` field of epoch 0's seed at :data:`ITERATIONS`."""
    return rnd.make_header_vdf(seed0, ITERATIONS)


# --- epoch seeds -----------------------------------------------------------------------------------------


def test_epoch_seed_none_until_last_block_then_deterministic(kv: KVStore) -> None:
    db = _new_db(kv)
    _extend(db, 6)
    assert er.epoch_seed_for(db, PARAMS, 0, 0) is None  # block 7 ends epoch 0
    _extend(db, 7)
    seed = er.epoch_seed_for(db, PARAMS, 0, 0)
    assert seed == rnd.epoch_seed_from_headers(_headers(db, 0, 7))
    assert seed == rnd.epoch_seed([h.vrf_output for h in _headers(db, 1, 7)])  # genesis has no VRF
    other = _new_db()
    _extend(other, 7)
    assert er.epoch_seed_for(other, PARAMS, 0, 0) == seed  # same chain, same seed (any store)
    assert er.epoch_seed_for(db, PARAMS, 0, 1) is None
    _extend(db, 15)
    seed1 = er.epoch_seed_for(db, PARAMS, 0, 1)
    assert seed1 == rnd.epoch_seed_from_headers(_headers(db, 8, 15)) != seed


def test_epoch_seed_beacon_only_and_bad_epochs() -> None:
    db = _new_db()
    _extend(db, 7)
    assert er.epoch_seed_for(db, PARAMS, 1, 0) is None
    assert er.epoch_seed_for(db, PARAMS, 0, -1) is None
    assert er.epoch_seed_for(db, PARAMS, 0, 10**12) is None
    assert er.epoch_seed_for(ChainDB(MemoryStore()), PARAMS, 0, 0) is None


def test_epoch_seed_depends_on_every_vrf() -> None:
    db = _new_db()
    _extend(db, 7)
    other = _new_db()
    _extend(other, 5)
    head = other.head_header()
    assert head is not None
    header = _header(head)
    _store(other, header.replace(vrf=rnd.make_header_vrf(OUTSIDER, head.hash())))
    _extend(other, 7)
    assert er.epoch_seed_for(other, PARAMS, 0, 0) != er.epoch_seed_for(db, PARAMS, 0, 0)


def test_iterations() -> None:
    assert er.vdf_iterations_for(PARAMS, 0) == rnd.vdf_iterations(PARAMS, 1)
    assert er.vdf_iterations_for(PARAMS, 0, 5_000) == 5_000
    for bad in (0, -1, 1 << 41):
        with pytest.raises(ValueError):
            er.vdf_iterations_for(PARAMS, 0, bad)
    with pytest.raises(ValueError):
        VDFService(_new_db(), PARAMS, 0, iterations_override=0)


# --- the election's randomness and assignment ------------------------------------------------------------


def _assign_both(db_a: ChainDB, db_b: ChainDB, ending_epoch: int) -> ShardState:
    """The proposer's and a validator's assignment (separate databases of the same chain) agree."""
    previous = db_a.get_shard_state(ending_epoch)
    proposer = er.election_assigner(db_a, PARAMS, ending_epoch, previous, iterations=ITERATIONS)
    validator = er.election_assigner(
        db_b, PARAMS, ending_epoch, db_b.get_shard_state(ending_epoch), iterations=ITERATIONS
    )
    a = proposer(ending_epoch + 1, OPERATORS, WINNERS, 2)
    assert a == validator(ending_epoch + 1, OPERATORS, WINNERS, 2)
    assert a == proposer(ending_epoch + 1, OPERATORS, WINNERS, 2)
    return a


def test_election_at_end_of_epoch_0_uses_the_genesis_rule() -> None:
    db_a, db_b = _new_db(), _new_db()
    _extend(db_a, 6)
    _extend(db_b, 6)  # the election block 7 is being built / verified on head 6
    genesis = db_a.genesis_hash()
    assert genesis is not None
    randomness = er.election_randomness(db_a, PARAMS, 0)
    assert randomness == er.genesis_randomness(genesis) == rnd.fallback_randomness(genesis, 0)
    state = _assign_both(db_a, db_b, 0)
    assert state == cuckoo_assign(1, randomness, STATE0, OPERATORS, WINNERS, 2, move_fraction_for("localnet"))
    with pytest.raises(RandomnessUnavailable):
        er.election_randomness(ChainDB(MemoryStore()), PARAMS, 0)
    with pytest.raises(RandomnessUnavailable):
        er.election_randomness(db_a, PARAMS, -1)


def test_election_uses_the_fallback_without_vdf(seed0: bytes) -> None:
    db_a, db_b = _new_db(), _new_db()
    _extend(db_a, 14)
    _extend(db_b, 14)  # block 15 ends epoch 1: its election uses seed epoch 0
    assert er.election_randomness(db_a, PARAMS, 1, iterations=ITERATIONS) == rnd.fallback_randomness(seed0, 0)
    _assign_both(db_a, db_b, 1)


def test_election_uses_the_vdf_in_the_window(seed0: bytes, field0: bytes) -> None:
    db_a, db_b = _new_db(), _new_db()
    first, deadline = rnd.vdf_window(PARAMS, 0)
    assert (first, deadline) == (8, 13) and deadline < PARAMS.epoch_last_block(1)
    _extend(db_a, 14, {10: field0})
    _extend(db_b, 14, {10: field0})
    expected = rnd.epoch_randomness(VDFProof.from_bytes(field0[32:]))
    assert er.election_randomness(db_a, PARAMS, 1, iterations=ITERATIONS) == expected
    with_vdf = _assign_both(db_a, db_b, 1)
    db_c = _new_db()
    _extend(db_c, 14)
    fallback = er.election_assigner(db_c, PARAMS, 1, None, iterations=ITERATIONS)
    assert fallback(2, OPERATORS, WINNERS, 2) != with_vdf


def test_a_vdf_after_the_deadline_is_not_used(seed0: bytes, field0: bytes) -> None:
    db = _new_db()
    _extend(db, 14, {14: field0})  # 14 is past the deadline 13 (the validator would have refused it)
    assert er.election_randomness(db, PARAMS, 1, iterations=ITERATIONS) == rnd.fallback_randomness(seed0, 0)


def test_election_needs_the_stored_chain() -> None:
    db = _new_db()
    _extend(db, 6)
    with pytest.raises(RandomnessUnavailable):  # the seed of epoch 0 is not complete
        er.election_assigner(db, PARAMS, 1, None)
    _extend(db, 9)
    with pytest.raises(RandomnessUnavailable):  # window blocks 10..13 are missing
        er.election_assigner(db, PARAMS, 1, None)


def test_single_block_epochs_leave_the_election_block_out() -> None:
    params = dataclasses.replace(PARAMS, epochs=EpochSchedule.uniform(1))
    assert rnd.vdf_window(params, 0) == (1, 1) == (params.epoch_last_block(1),) * 2
    db = _new_db()
    _extend(db, 1)
    seed = er.epoch_seed_for(db, params, 0, 0)
    assert seed is not None
    assert er.election_randomness(db, params, 1, iterations=ITERATIONS) == rnd.fallback_randomness(seed, 0)


def test_assigner_hook_is_lazy_and_reads_the_stored_committees() -> None:
    db = _new_db()
    _extend(db, 6)
    hook = er.assigner_for_parent(db, PARAMS, iterations=ITERATIONS)
    head = db.head_header()
    assert head is not None
    assign = hook(head)
    expected = er.election_assigner(db, PARAMS, 0, STATE0, iterations=ITERATIONS)
    assert assign(1, OPERATORS, WINNERS, 2) == expected(1, OPERATORS, WINNERS, 2)
    genesis_only = _new_db()
    genesis = genesis_only.head_header()
    assert genesis is not None
    hook(Header(number=100))  # nothing is read until the election calls it
    lazy = er.assigner_for_parent(genesis_only, PARAMS)(Header(number=15))
    with pytest.raises(RandomnessUnavailable):
        lazy(2, OPERATORS, WINNERS, 2)


# --- the validator's checks ------------------------------------------------------------------------------


def _keys_of(number: int) -> list[bytes]:
    return [KEYS[_leader(number)].public_key.to_bytes()]


def _check(
    db: ChainDB,
    header: Header,
    keys: list[bytes] | None = None,
    *,
    iterations: int = ITERATIONS,
    require_vrf: bool = True,
) -> None:
    parent = db.head_header()
    assert parent is not None
    keys = _keys_of(header.number) if keys is None else keys
    er.check_block_randomness(
        db, PARAMS, header, parent, keys, iterations=iterations, require_vrf=require_vrf
    )


def _rejected(check: str, db: ChainDB, header: Header, keys: list[bytes] | None = None) -> None:
    with pytest.raises(InvalidRandomness) as info:
        _check(db, header, keys)
    assert info.value.check == check, info.value


@pytest.fixture
def window_db() -> ChainDB:
    """A beacon chain whose head is block 8, the first of epoch 1 (the window of seed 0 is 8..13)."""
    db = _new_db()
    _extend(db, 8)
    return db


def _next(db: ChainDB, **kw: object) -> Header:
    head = db.head_header()
    assert head is not None
    return _header(head, **kw)  # type: ignore[arg-type]


def test_genuine_headers_pass(window_db: ChainDB, field0: bytes) -> None:
    _check(window_db, _next(window_db))
    _check(window_db, _next(window_db, vdf=field0))
    other = KEYS[(_leader(9) + 1) % 4].public_key.to_bytes()
    _check(window_db, _next(window_db), [other, *_keys_of(9)])  # any of the coinbase's keys


def test_forged_vrf_rejected(window_db: ChainDB) -> None:
    head = window_db.head_header()
    assert head is not None
    honest = _next(window_db)
    _rejected("vrf_proof", window_db, honest.replace(vrf=rnd.make_header_vrf(OUTSIDER, head.hash())))
    _rejected("vrf_proof", window_db, honest.replace(vrf=rnd.make_header_vrf(KEYS[1], keccak256(b"x"))))
    _rejected("vrf_output", window_db, honest.replace(vrf=b"\xab" * 32 + honest.vrf[32:]))
    _rejected("vrf_missing", window_db, honest.replace(vrf=b""))
    _rejected("vrf_proof", window_db, honest, [])  # no key for the coinbase
    _rejected("vrf_proof", window_db, honest, [b"\x00" * 48])  # not a key
    _rejected("vrf_proof", window_db, honest, [b"\x01"])
    _rejected("vrf_proof", window_db, honest.replace(parent_hash=keccak256(b"elsewhere")))
    _check(window_db, honest.replace(vrf=b""), require_vrf=False)


def test_forged_vdf_rejected(window_db: ChainDB, seed0: bytes, field0: bytes) -> None:
    honest = _next(window_db)
    wrong_seed = rnd.make_header_vdf(keccak256(b"another seed"), ITERATIONS)
    _rejected("vdf_seed", window_db, honest.replace(vdf=wrong_seed))
    other_output = vdf_prove(seed0, ITERATIONS + 1).output
    _rejected("vdf_proof", window_db, honest.replace(vdf=seed0 + other_output + field0[132:]))
    other_proof = vdf_prove(seed0, ITERATIONS + 1).proof
    _rejected("vdf_proof", window_db, honest.replace(vdf=field0[:132] + other_proof))
    flipped = bytearray(field0)
    flipped[-1] ^= 0xFF
    _rejected("vdf_proof", window_db, honest.replace(vdf=bytes(flipped)))
    _rejected("vdf_proof", window_db, honest.replace(vdf=b"\x07" * 10))
    _rejected("vdf_proof", window_db, honest.replace(vdf=seed0 + b"\xff" * 200))
    _rejected("vdf_proof", window_db, honest.replace(vdf=seed0 + bytes(200)))
    # a genuine proof at another difficulty than the network's
    with pytest.raises(InvalidRandomness) as info:
        _check(window_db, honest.replace(vdf=field0), iterations=ITERATIONS + 7)
    assert info.value.check == "vdf_proof"


def test_vdf_only_once_in_the_window_on_the_beacon(field0: bytes, seed0: bytes) -> None:
    db = _new_db()
    _extend(db, 7)
    _rejected("vdf_unexpected", db, _next(db, vdf=field0).replace(epoch=0))  # block 8 claiming epoch 0
    early = _new_db()
    _extend(early, 3)
    _rejected("vdf_unexpected", early, _next(early, vdf=field0))  # epoch 0
    db = _new_db()
    _extend(db, 9, {9: field0})
    _rejected("vdf_unexpected", db, _next(db, vdf=field0))  # already published at 9
    _check(db, _next(db))
    late = _new_db()
    _extend(late, 13)
    _rejected("vdf_unexpected", late, _next(late, vdf=field0))  # block 14 is past the deadline 13
    shard1 = _new_db(shard=1)
    _extend(shard1, 8)
    _rejected("vdf_unexpected", shard1, _next(shard1, vdf=field0, shard=1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vdf=st.binary(max_size=300), vrf=st.sampled_from([b"", b"\x00" * 128, b"\xff" * 128]))
def test_garbage_fields_raise_only_the_typed_error(window_db: ChainDB, vdf: bytes, vrf: bytes) -> None:
    for header in (_next(window_db, vdf=vdf), _next(window_db, vdf=vdf).replace(vrf=vrf)):
        with contextlib.suppress(InvalidRandomness):  # anything else fails the test
            _check(window_db, header)


# --- the VDF service -------------------------------------------------------------------------------------


class FakeProver:
    """Proves in-process (or fails on demand), and can hold a proof until released."""

    def __init__(self, *, fail: bool = False, garbage: bool = False, hold: bool = False) -> None:
        self.fail, self.garbage, self.hold = fail, garbage, hold
        self.calls: list[tuple[bytes, int]] = []
        self.cancelled = 0
        self.release = trio.Event()

    async def __call__(self, seed: bytes, iterations: int) -> bytes:
        self.calls.append((seed, iterations))
        if self.hold:
            try:
                await self.release.wait()
            except trio.Cancelled:
                self.cancelled += 1
                raise
        if self.fail:
            raise RuntimeError("prover crashed")
        if self.garbage:
            return b"\x01" * 200
        return vdf_prove(seed, iterations).to_bytes()


async def _settle() -> None:
    for _ in range(20):
        await trio.testing.wait_all_tasks_blocked()
        await trio.sleep(0)


def _run_service(service: VDFService, body: object) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await _settle()
            await body()  # type: ignore[operator]
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_service_proves_at_epoch_end_and_offers_the_field_in_the_window(seed0: bytes) -> None:
    db = _new_db()
    _extend(db, 6)
    prover = FakeProver()
    service = VDFService(db, PARAMS, 0, iterations_override=ITERATIONS, prover=prover, clock_ms=lambda: 5)

    async def body() -> None:
        await _settle()
        assert not prover.calls  # nothing to resume in epoch 0
        head = db.head_header()
        assert head is not None
        service.on_commit(head)  # block 6 does not end the epoch
        _extend(db, 7)
        last = db.head_header()
        assert last is not None
        service.on_commit(last)
        await _settle()
        assert prover.calls == [(seed0, ITERATIONS)]
        field = service.proof_for(0)
        assert field is not None and field[:32] == seed0
        assert vdf_verify(seed0, ITERATIONS, field[32:])
        assert service.last_duration_ms == 0
        assert service.vdf_field_for(8) == field  # head 7, block 8 opens the window
        assert service.vdf_field_for(7) == b""  # epoch 0 has no VDF
        _extend(db, 8)
        assert service.vdf_field_for(9) == field  # 8 carried none
        _extend(db, 9, {9: field})
        assert service.vdf_field_for(10) == b""  # published at 9
        assert service.vdf_field_for(14) == b""  # past the deadline
        assert service.vdf_field_for(16) == b""  # next epoch: no proof of seed 1
        service.on_epoch_end(0, seed0)  # already proven: no second run
        await _settle()
        assert len(prover.calls) == 1

    _run_service(service, body)


def test_service_field_is_accepted_by_the_validator(seed0: bytes) -> None:
    db = _new_db()
    _extend(db, 7)
    service = VDFService(db, PARAMS, 0, iterations_override=ITERATIONS, prover=FakeProver())

    async def body() -> None:
        service.on_epoch_end(0, seed0)
        await _settle()
        _extend(db, 10)
        field = service.vdf_field_for(11)
        assert field
        _check(db, _next(db, vdf=field))

    _run_service(service, body)


def test_service_without_compute_or_off_the_beacon_does_nothing(seed0: bytes) -> None:
    for service in (
        VDFService(_new_db(), PARAMS, 0, compute=False, prover=FakeProver()),
        VDFService(_new_db(shard=1), PARAMS, 1, prover=FakeProver()),
    ):
        _extend(service.db, 7)

        async def body(service: VDFService = service) -> None:
            service.on_epoch_end(0, seed0)
            await _settle()
            assert service.proof_for(0) is None
            assert service.vdf_field_for(8) == b""

        _run_service(service, body)
        assert isinstance(service.prover, FakeProver) and not service.prover.calls


@pytest.mark.parametrize("kind", ["fail", "garbage"])
def test_failing_or_lying_prover_leaves_the_fallback(kind: str, seed0: bytes) -> None:
    prover = FakeProver(fail=kind == "fail", garbage=kind == "garbage")
    db = _new_db()
    _extend(db, 7)
    service = VDFService(db, PARAMS, 0, iterations_override=ITERATIONS, prover=prover)

    async def body() -> None:
        await _settle()  # run() resumed the open window of seed 0 (head 7)
        assert prover.calls == [(seed0, ITERATIONS)]
        assert service.failures == 1
        assert service.proof_for(0) is None
        assert service.vdf_field_for(8) == b""
        service.on_epoch_end(0, seed0)  # asked again: tried again
        await _settle()
        assert service.failures == 2 and len(prover.calls) == 2

    _run_service(service, body)


def test_field_for_another_seed_is_not_offered() -> None:
    db = _new_db()
    _extend(db, 7)
    service = VDFService(db, PARAMS, 0, iterations_override=ITERATIONS, prover=FakeProver())

    service.on_epoch_end(0, keccak256(b"not this chain's seed"))  # before run(): resume() then defers

    async def body() -> None:
        await _settle()
        assert service.proof_for(0) is not None
        assert service.vdf_field_for(8) == b""

    _run_service(service, body)


def test_newer_seed_supersedes_the_one_at_work(seed0: bytes) -> None:
    db = _new_db()
    _extend(db, 7)
    prover = FakeProver(hold=True)
    service = VDFService(db, PARAMS, 0, iterations_override=ITERATIONS, prover=prover)
    seed1 = keccak256(b"seed 1")

    async def body() -> None:
        service.on_epoch_end(0, seed0)
        await _settle()
        assert len(prover.calls) == 1
        service.on_epoch_end(0, seed0)  # the same seed again: ignored
        service.on_epoch_end(1, seed1)
        await _settle()
        assert prover.cancelled == 1
        assert [c[0] for c in prover.calls] == [seed0, seed1]
        service.on_epoch_end(0, seed0)  # older than the one at work: ignored
        prover.release.set()
        await _settle()
        assert service.proof_for(1) is not None and service.proof_for(0) is None
        assert len(prover.calls) == 2

    _run_service(service, body)


def test_resume_after_restart_proves_an_unpublished_window(seed0: bytes) -> None:
    db = _new_db()
    _extend(db, 10)
    prover = FakeProver()
    service = VDFService(db, PARAMS, 0, iterations_override=ITERATIONS, prover=prover)

    async def body() -> None:
        await _settle()
        assert prover.calls == [(seed0, ITERATIONS)]
        assert service.vdf_field_for(11)

    _run_service(service, body)
    for vdfs, head in (({9: b"x"}, 10), ({}, 13), ({}, 5)):  # published, past the deadline, epoch 0
        other = _new_db()
        _extend(other, head, vdfs)
        prover = FakeProver()
        service = VDFService(other, PARAMS, 0, prover=prover)

        async def nothing() -> None:
            await _settle()

        _run_service(service, nothing)
        assert not prover.calls


# --- the prover process ----------------------------------------------------------------------------------


def test_process_prover_runs_the_vdf_in_a_child_and_its_field_verifies(seed0: bytes) -> None:
    db = _new_db()
    _extend(db, 7)
    service = VDFService(db, PARAMS, 0, iterations_override=ITERATIONS, prover=ProcessProver(nice=1))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            service.on_epoch_end(0, seed0)
            with trio.fail_after(60):
                while service.proof_for(0) is None and not service.failures:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert service.failures == 0
    field = service.vdf_field_for(8)
    assert field and field == rnd.make_header_vdf(seed0, ITERATIONS)
    assert vdf_verify(seed0, ITERATIONS, field[32:])
    _check(db, _next(db, vdf=field))


def test_process_prover_failure_is_typed() -> None:
    async def main() -> None:
        with pytest.raises(VDFProverError):
            await ProcessProver()(b"", ITERATIONS)  # the child refuses an empty seed (exit 1)

    trio.run(main)


def test_prover_main_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert vdf_child.main(["zz", "2000"]) == 2
    assert vdf_child.main(["ab"]) == 2
    assert vdf_child.main(["ab", "x"]) == 2
    assert vdf_child.main(["ab", "0"]) == 1
    capsys.readouterr()
    assert vdf_child.main([keccak256(b"s").hex(), "300"]) == 0
    out = capsys.readouterr().out.strip()
    assert vdf_verify(keccak256(b"s"), 300, bytes.fromhex(out))


def test_cancelling_the_process_prover_kills_the_child() -> None:
    async def main() -> float:
        started = trio.current_time()
        with trio.move_on_after(0.5):
            await ProcessProver()(keccak256(b"long"), 10**9)  # hours of work
        return trio.current_time() - started

    assert trio.run(main) < 10


def _probe(*lines: str) -> str:
    """What a fresh interpreter running ``lines`` prints."""
    code = "".join(line + "\n" for line in lines)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_the_lowest_priority_child_runs_on_idle_cpu_and_still_proves() -> None:
    """At :data:`MAX_NICE` the prover child asks for ``SCHED_IDLE`` (Linux), and its proof is the same."""
    policy = _probe(
        "import os",
        "from harmony.node.vdf_child import MAX_NICE, lower_priority",
        "lower_priority(MAX_NICE)",
        "print(os.sched_getscheduler(0), os.nice(0))",
    )
    scheduler, nice = map(int, policy.split())
    assert nice == vdf_child.MAX_NICE
    if hasattr(os, "SCHED_IDLE"):
        assert scheduler == os.SCHED_IDLE
    seed = keccak256(b"idle")

    async def main() -> bytes:
        with trio.fail_after(60):
            return await ProcessProver(nice=vdf_child.MAX_NICE)(seed, ITERATIONS)

    assert vdf_verify(seed, ITERATIONS, trio.run(main))


def test_the_child_lowers_its_priority_before_importing_more_than_the_standard_library() -> None:
    """Importing :mod:`harmony.node.vdf_child` loads no third-party or chain module: what the child imports
    before :func:`~harmony.node.vdf_child.lower_priority` runs at the node's own priority."""
    loaded = _probe(
        "import sys",
        "before = set(sys.modules)",
        "import harmony.node.vdf_child",
        "print(' '.join(sorted(set(sys.modules) - before)))",
    )
    ours = {name for name in loaded.split() if name.split(".")[0] in {"harmony", "trio", "chiavdf"}}
    assert ours == {"harmony", "harmony.node", "harmony.node.vdf_child"}
