"""The node's cross-shard pools over real proofs, crosslinks and beacon headers signed by real BLS keys:
verified items are kept, forged ones raise with a reason, spent or recorded ones are pruned, outgoing proofs
are re-published until their time to live, and the global topic's framing refuses hostile bytes."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.node import crossshard as cs
from harmony.node.crossshard import (
    BeaconFollower,
    CrossLinkPool,
    CrossShardError,
    IncomingProofs,
    OutgoingRelay,
)
from harmony.types.crosslink import CrossLink
from harmony.types.cx import CXReceiptsProof
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState
from tests.unit.chain.test_cx_verification import (
    BITMAP,
    COMMITTEE,
    DEST,
    EPOCH,
    GENUINE,
    HEADER,
    KEYS,
    SHARE,
    SIG,
    committee_for,
    sign,
)
from tests.unit.consensus.harness import make_committee, make_keys

BEACON_KEYS = make_keys(4, salt=9)
BEACON = dataclasses.replace(make_committee(BEACON_KEYS), shard_id=0)


def test_incoming_pool_keeps_verified_and_prunes_spent() -> None:
    spent: set[tuple[int, int]] = set()
    pool = IncomingProofs(DEST, committee_for, SHARE, lambda s, n: (s, n) in spent)
    assert pool.add(CXReceiptsProof.decode(GENUINE.encode())) is True
    assert pool.add(GENUINE) is False  # held already
    assert pool.candidates() == (GENUINE,)
    forged = dataclasses.replace(GENUINE, commit_sig=sign(KEYS, [0, 1, 3])[0])
    other = IncomingProofs(DEST, committee_for, SHARE, lambda s, n: False)
    with pytest.raises(CrossShardError) as info:
        other.add(forged)
    assert info.value.check == "signature" and len(other) == 0
    spent.add((HEADER.shard_id, HEADER.number))
    assert pool.candidates() == ()
    pool.prune()
    assert len(pool) == 0
    assert pool.add(GENUINE) is False  # replay after crediting: dropped quietly


def test_incoming_pool_ignores_other_destinations_and_unknown_committees() -> None:
    pool = IncomingProofs(5, committee_for, SHARE, lambda s, n: False)
    assert pool.add(GENUINE) is False
    unknown = IncomingProofs(DEST, lambda s, e: None, SHARE, lambda s, n: False)
    assert unknown.add(GENUINE) is False and len(unknown) == 0


def _link(signers: list[int]) -> CrossLink:
    sig, bitmap = sign(KEYS, signers)
    return CrossLink(HEADER.hash(), HEADER.number, HEADER.view_id, sig, bitmap, HEADER.shard_id, EPOCH)


def test_crosslink_pool() -> None:
    stored: set[tuple[int, int]] = set()
    pool = CrossLinkPool(committee_for, SHARE, lambda s, n: (s, n) in stored)
    assert pool.add(_link([0, 1, 2])) is True
    assert pool.add(_link([0, 1, 2, 3])) is False  # one per block
    with pytest.raises(CrossShardError) as info:
        CrossLinkPool(committee_for, SHARE, lambda s, n: False).add(_link([0, 1]))
    assert info.value.check == "quorum"
    assert [link.block_number for link in pool.candidates()] == [HEADER.number]
    stored.add((HEADER.shard_id, HEADER.number))
    assert pool.candidates() == ()
    pool.prune()
    assert len(pool) == 0


def test_outgoing_relay_resends_until_ttl() -> None:
    now = [100.0]
    built: list[tuple[int, int]] = []

    def build(shard: int, number: int) -> CXReceiptsProof | None:
        built.append((shard, number))
        return GENUINE if shard == DEST else None

    relay = OutgoingRelay(build, clock=lambda: now[0])
    assert relay.on_commit(10, [DEST, DEST, 7]) == [GENUINE]
    assert len(relay) == 1 and relay.due() == []
    now[0] += cs.RESEND_INTERVAL_S
    assert relay.due() == [GENUINE]
    assert relay.pending() == [GENUINE]
    now[0] += cs.OUTGOING_TTL_S
    assert relay.due() == [] and len(relay) == 0


def test_beacon_follower_learns_next_committees() -> None:
    stored: dict[int, bytes] = {}
    committees = {0: BEACON}

    def committee_of(shard: int, epoch: int) -> Committee | None:
        return committees.get(shard) if epoch == 0 else None

    follower = BeaconFollower(committee_of, SHARE, stored.__setitem__, lambda e: e in stored)
    next_state = ShardState(1, (BEACON, dataclasses.replace(COMMITTEE, shard_id=1)))
    header = Header(number=31, shard_id=0, epoch=0, view_id=40, time=5, shard_state=next_state.encode())
    sig, bitmap = sign(BEACON_KEYS, [0, 1, 2], header)
    assert follower.on_header(header, sig, bitmap) is True
    assert stored == {1: next_state.encode()} and follower.head_number == 31
    with pytest.raises(CrossShardError) as info:
        follower.on_header(header, sign(BEACON_KEYS, [0], header)[0], sign(BEACON_KEYS, [0], header)[1])
    assert info.value.check == "quorum"
    later = Header(number=40, shard_id=0, epoch=1, view_id=50, time=9)
    assert follower.on_header(later, sig, bitmap) is False  # epoch 1's committee is not known here
    with pytest.raises(CrossShardError):
        follower.on_header(dataclasses.replace(header, shard_id=1), sig, bitmap)


def test_framing_round_trip_and_hostile_bytes() -> None:
    header = Header(number=3, shard_id=0, epoch=0, view_id=3, time=1)
    kind, payload = cs.split(cs.pack_beacon_header(header, SIG, BITMAP))
    assert kind == cs.KIND_BEACON_HEADER and cs.unpack_beacon_header(payload) == (header, SIG, BITMAP)
    assert cs.decode_proof(GENUINE.encode()) == GENUINE
    for bad in (b"", b"\x09abc", b"\x01" * (cs.MAX_GLOBAL_MESSAGE + 1)):
        with pytest.raises(CrossShardError):
            cs.split(bad)
    with pytest.raises(CrossShardError):
        cs.unpack_beacon_header(b"\xc3\x01\x02\x03")
    assert cs.global_topic("localnet") == "hmy/localnet/0.0.1/global"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_decoders_never_crash(data: bytes) -> None:
    for decode in (cs.decode_proof, cs.decode_crosslink, cs.unpack_beacon_header):
        with contextlib.suppress(CrossShardError):
            decode(data)
