"""The two-level coded broadcast between real hosts on loopback (harmony.p2p.coded_broadcast)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from harmony.crypto.keccak import keccak256
from harmony.p2p.coded_assembly import Assembly, Round
from harmony.p2p.coded_broadcast import UNEXPECTED_BURST, CodedConfig, batch_bytes, coded_protocol_id
from harmony.p2p.coding import Reject, SymbolBatch, SymbolCommitment, encode_block, share
from harmony.p2p.errors import P2PRemoteError
from harmony.p2p.fence_gate import REFUSED_PENALTY, P2PFenceRefused
from harmony.p2p.host import P2PHost
from tests.unit.p2p.coded_helpers import (
    OTHER_KEY,
    block_bytes,
    broadcast_everywhere,
    collect,
    open_committee,
    sign_commitment,
)
from tests.unit.p2p.harness import frames_of, run, wait_until

PID = coded_protocol_id("localnet", 1)
FETCH = "/harmony/test/fetch-block/1.0.0"


def test_a_third_of_the_committee_silent_and_every_live_member_decodes(tmp_path: Path) -> None:
    # Two of six members are down: the leader's sends to them fail and their shares are never relayed,
    # so every live member misses a third of the symbols; 60 % overhead still leaves K + a few.
    async def body() -> None:
        cfg = CodedConfig(overhead_percent=60, decode_timeout=60.0)
        async with open_committee(tmp_path, live=4, dead=2, config=cfg) as committee:
            data = block_bytes(120_000, seed=3)
            report = await committee.leader_coded.broadcast(
                data, shard_id=1, block_number=10, view_id=0, round_=committee.round_, sign=committee.sign()
            )
            assert sorted(report.failed_members) == sorted(committee.round_.members[4:])
            c = report.signed.commitment
            # Counted are the batches members acknowledged: 4/6 of (1 + 60 %) of the block, plus proofs and
            # headers (about 15 % at 64 source symbols of 1,880 bytes).
            assert report.uploaded_bytes < 1.6 * 4 / 6 * 1.25 * len(data)
            with trio.fail_after(60):
                for coded in committee.coded:
                    [delivery] = await collect(coded)
                    assert delivery.data == data and delivery.via == "decoded"
                    assert delivery.commitment == c
            for coded in committee.coded:
                assert coded.rejections == {} or set(coded.rejections) == {Reject.LATE.reason}
            for host in committee.members:
                assert host.penalties == {}

    run(body)


def test_a_member_that_cannot_decode_fetches_the_block_through_the_fallback(tmp_path: Path) -> None:
    served: dict[bytes, bytes] = {}
    ends: dict[str, P2PHost] = {}
    fetched: list[int] = []

    async def fallback(commitment: SymbolCommitment) -> bytes | None:
        # Ask the leader by hash over a real request/response stream (the node plugs in its sync later).
        fetched.append(commitment.block_number)
        return await ends["asker"].request(ends["leader"].peer_id, FETCH, commitment.block_hash, timeout=10)

    async def body() -> None:
        cfg = CodedConfig(overhead_percent=0, decode_timeout=1.0)
        async with open_committee(tmp_path, live=3, dead=1, config=cfg, fallback=fallback) as committee:
            ends.update(leader=committee.leader, asker=committee.members[0])

            async def serve(peer: str, request: bytes) -> bytes:
                return served[request]

            committee.leader.set_request_handler(
                FETCH, serve, max_request_bytes=32, max_response_bytes=1 << 20
            )
            data = block_bytes(100_000, seed=4)
            served[keccak256(data)] = data
            await committee.leader_coded.broadcast(
                data, shard_id=1, block_number=11, view_id=0, round_=committee.round_, sign=committee.sign()
            )
            with trio.fail_after(60):
                [delivery] = await collect(committee.coded[0])
            assert delivery.data == data and delivery.via == "fallback"
            assert 11 in fetched
            # A member told of the block by its announce, which never gets a symbol, falls back as well.
            other = block_bytes(50_000, seed=5)
            served[keccak256(other)] = other
            encoded = encode_block(
                other, shard_id=1, block_number=12, view_id=0, members=4, overhead_percent=0
            )
            assert committee.coded[0].expect(sign_commitment(encoded.commitment))
            assert not committee.coded[0].expect(sign_commitment(encoded.commitment, OTHER_KEY))
            with trio.fail_after(60):
                [delivery] = await collect(committee.coded[0])
            assert delivery.data == other and delivery.via == "fallback"

    run(body)


def test_hostile_batches_are_dropped_and_their_sender_banned(tmp_path: Path) -> None:
    async def body() -> None:
        cfg = CodedConfig(overhead_percent=30, decode_timeout=60.0)
        async with open_committee(tmp_path, live=3, config=cfg) as committee:
            victim, victim_coded = committee.members[0], committee.coded[0]
            attacker = committee.members[1]  # a committee member turned hostile
            data = block_bytes(60_000, seed=6)
            round_ = committee.round_
            encoded = encode_block(
                data,
                shard_id=1,
                block_number=20,
                view_id=0,
                members=3,
                overhead_percent=30,
                round_hash=round_.hash(),
            )
            signed = sign_commitment(encoded.commitment)
            peers = round_.peers()
            count = encoded.commitment.symbol_count
            own = [encoded.symbols[i] for i in share(1, 3, count)]
            victims = [encoded.symbols[i] for i in share(0, 3, count)]

            async def send(payload: bytes) -> None:
                await attacker.stream_frames(victim.peer_id, PID, frames_of([payload]), timeout=10)

            # Garbage, peers that are not the committed round, a round never named, a forged symbol,
            # someone else's share, a commitment never announced (signed by another key), then a replay of
            # a good batch: each is dropped with its reason.
            await send(b"\xff" * 100)
            await send(SymbolBatch(signed, tuple(own), (*peers, b"Intruder")).encode())
            elsewhere = sign_commitment(replace(encoded.commitment, round_hash=keccak256(b"another round")))
            await send(SymbolBatch(elsewhere, tuple(own)).encode())
            forged = replace(own[0], data=bytes(len(own[0].data)))
            await send(SymbolBatch(signed, (forged,), peers).encode())
            await send(SymbolBatch(signed, (victims[0],)).encode())
            await send(SymbolBatch(sign_commitment(encoded.commitment, OTHER_KEY), tuple(own)).encode())
            await send(SymbolBatch(signed, tuple(own[1:3])).encode())
            await send(SymbolBatch(signed, tuple(own[1:3])).encode())
            expected = {
                Reject.MALFORMED.reason,
                Reject.BAD_COMMITMENT.reason,
                Reject.UNKNOWN_ROUND.reason,
                Reject.FORGED.reason,
                Reject.WRONG_INDEX.reason,
                Reject.UNANNOUNCED.reason,
                Reject.DUPLICATE.reason,
            }
            assert set(victim_coded.rejections) == expected
            # a block this node does not expect costs nothing within the peer's allowance (an honest
            # peer sends such batches to a node behind the chain), nor does a round it was not told yet
            assert set(victim.penalties) == expected - {
                Reject.UNANNOUNCED.reason,
                Reject.UNKNOWN_ROUND.reason,
            }
            assert victim_coded.assembly.buffered_symbols() == 2
            # A flood of batches for blocks never announced is dropped unread: the first ones within the
            # allowance, then each is penalized, and it ends in a ban.
            for n in range(int(UNEXPECTED_BURST) - 2):
                other = replace(encoded.commitment, block_number=5000 + n)
                await send(SymbolBatch(sign_commitment(other), tuple(own[:1])).encode())
            assert Reject.UNANNOUNCED.reason not in victim.penalties
            for n in range(200):
                other = replace(encoded.commitment, block_number=6000 + n)
                try:
                    await send(SymbolBatch(sign_commitment(other), tuple(own[:1])).encode())
                except Exception:
                    break
            await wait_until(lambda: victim.is_banned(attacker.peer_id))
            assert victim.penalties[Reject.UNANNOUNCED.reason] >= 1
            assert len(victim_coded.assembly) == 1
            assert victim_coded.assembly.buffered_symbols() == 2

    run(body)


def test_a_fenced_shards_coded_fetch_and_symbols_refuse_an_outsider(tmp_path: Path) -> None:
    # Every host guards as a fenced shard's node does: the leader and the first member admit each other;
    # the second member is an outsider (issue 21).
    admitted: set[str] = set()

    def guard(host: P2PHost) -> Callable[[str], None]:
        def check(peer: str) -> None:
            if peer not in admitted:
                host.penalize(peer, REFUSED_PENALTY)
                raise P2PFenceRefused(f"peer {peer} is outside the fence")

        return check

    async def body() -> None:
        cfg = CodedConfig(overhead_percent=30, decode_timeout=60.0)
        async with open_committee(tmp_path, live=2, config=cfg, guard=guard) as committee:
            member, outsider = committee.members
            admitted.update({committee.leader.peer_id, member.peer_id})
            data = block_bytes(40_000, seed=8)
            encoded = encode_block(
                data, shard_id=1, block_number=30, view_id=0, members=2, overhead_percent=30
            )
            signed = sign_commitment(encoded.commitment)
            count = encoded.commitment.symbol_count
            # the outsider relays a genuine share: dropped unread, the outsider scored down
            outsiders_share = [encoded.symbols[i] for i in share(1, 2, count)]
            await outsider.stream_frames(
                member.peer_id,
                PID,
                frames_of([SymbolBatch(signed, tuple(outsiders_share)).encode()]),
                timeout=10,
            )
            await wait_until(lambda: member.penalties[REFUSED_PENALTY] > 0)
            assert committee.coded[0].assembly.buffered_symbols() == 0
            # the leader's block, fetched by hash: the member gets it, the outsider an error and a penalty
            await committee.leader_coded.broadcast(
                data, shard_id=1, block_number=30, view_id=0, round_=committee.round_, sign=committee.sign()
            )
            fetch = committee.leader_coded.fetch_protocol_id
            block_hash = keccak256(data)
            assert await member.request(committee.leader.peer_id, fetch, block_hash, timeout=10) == data
            with pytest.raises(P2PRemoteError, match="outside the fence"):
                await outsider.request(committee.leader.peer_id, fetch, block_hash, timeout=10)
            assert committee.leader.penalties[REFUSED_PENALTY] >= 1
            # bad input from the outsider is refused by the fence before it is even read
            with pytest.raises(P2PRemoteError, match="outside the fence"):
                await outsider.request(committee.leader.peer_id, fetch, b"\x00", timeout=10)

    run(body)


def test_a_share_is_cut_into_pipeline_batches_within_the_bounds() -> None:
    cfg = CodedConfig()
    assert batch_bytes(100_000, cfg) == 25_000  # four pieces: the member relays the first while the rest come
    assert batch_bytes(10_000, cfg) == cfg.min_batch_bytes  # small shares: few commitments
    assert batch_bytes(10_000_000, cfg) == cfg.max_batch_bytes
    assert batch_bytes(45_000, CodedConfig(pipeline_batches=1)) == 45_000
    assert batch_bytes(45_000, CodedConfig(min_batch_bytes=4096)) == 11_250
    for bad in (
        {"pipeline_batches": 0},
        {"pipeline_batches": 65},
        {"min_batch_bytes": 512},
        {"min_batch_bytes": 200_000},  # above max_batch_bytes
    ):
        with pytest.raises(ValueError):
            CodedConfig(**bad)  # type: ignore[arg-type]


def test_every_member_gets_its_share_in_several_batches_and_decodes(tmp_path: Path) -> None:
    async def body() -> None:
        cfg = CodedConfig(decode_timeout=60.0)
        async with open_committee(tmp_path, live=4, dead=0, config=cfg) as committee:
            data = block_bytes(300_000, seed=5)
            report = await committee.leader_coded.broadcast(
                data, shard_id=1, block_number=10, view_id=0, round_=committee.round_, sign=committee.sign()
            )
            assert report.failed_members == []
            assert report.batches >= 3 * len(committee.round_.members)
            with trio.fail_after(60):
                for coded in committee.coded:
                    [delivery] = await collect(coded)
                    assert delivery.data == data and delivery.via == "decoded"

    run(body)


def test_the_round_is_named_once_and_later_blocks_of_it_travel_by_hash(tmp_path: Path) -> None:
    """The leader names the round's peers in its first block to each member; the next block names the
    round by hash only (the leader uploads that much less) and every member, relays included, decodes.
    Another round in between (a member relays for every leader of its committee, each with its round) is
    named once too, and does not make the first one named again."""

    async def body() -> None:
        cfg = CodedConfig(decode_timeout=60.0)
        async with open_committee(tmp_path, live=4, config=cfg) as committee:
            first = committee.round_
            other = Round(first.leader, tuple(reversed(first.members)))
            reports = [
                await broadcast_everywhere(committee, block_bytes(100_000, seed=number), number, round_)
                for number, round_ in ((10, first), (11, other), (12, first), (13, other))
            ]
            named = len(first.members) * sum(len(p) for p in first.peers())
            assert reports[0].uploaded_bytes - reports[2].uploaded_bytes >= named
            assert reports[1].uploaded_bytes - reports[3].uploaded_bytes >= named
            for coded in committee.coded:
                assert coded.rejections[Reject.UNKNOWN_ROUND.reason] == 0
                assert coded.assembly.known_round(first.hash()) == first
                assert coded.assembly.known_round(other.hash()) == other

    run(body)


def test_a_member_that_forgot_the_round_learns_it_on_the_next_stream(tmp_path: Path) -> None:
    """A restarted member knows no round; the leader's stream to the old process is gone, so the frame that
    opens the next stream names the round again, and the member decodes at once (no fallback needed)."""

    async def body() -> None:
        cfg = CodedConfig(decode_timeout=60.0, stream_idle_seconds=0.5)
        async with open_committee(tmp_path, live=3, config=cfg) as committee:
            await broadcast_everywhere(committee, block_bytes(60_000, seed=10), 10)
            # the streams to the member close (idle: every relay of block 10 is in), then it "restarts":
            # it forgets every round
            restarted = committee.coded[0]
            peer = restarted.host.peer_id
            await wait_until(lambda: not committee.leader_coded._streams.has_stream(peer))
            await wait_until(lambda: not any(c._streams.has_stream(peer) for c in committee.coded))
            restarted.assembly = Assembly(peer, restarted.assembly._resolve, max_blocks=cfg.max_blocks)
            await broadcast_everywhere(committee, block_bytes(60_000, seed=11), 11)
            assert restarted.rejections[Reject.UNKNOWN_ROUND.reason] == 0

    run(body)
