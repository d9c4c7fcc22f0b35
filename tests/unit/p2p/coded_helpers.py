"""Helpers for the coded-broadcast tests: a real BLS leader key, its signer, and a resolver that checks the
commitment's signature the way the node does (signed by the leader's key, a height it expects)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from harmony.crypto import bls
from harmony.crypto.keccak import keccak256
from harmony.p2p.coded_assembly import CommitmentResolver, Round
from harmony.p2p.coded_broadcast import (
    BroadcastReport,
    CodedBroadcast,
    CodedConfig,
    CommitmentSigner,
    Delivery,
    Fallback,
    open_coded_broadcast,
)
from harmony.p2p.coding import SignedCommitment, SymbolCommitment
from harmony.p2p.errors import P2PError
from harmony.p2p.host import P2PHost, open_host
from harmony.p2p.keys import load_or_create_peer_key, peer_id_of
from tests.unit.p2p.harness import config as host_config

LEADER_KEY = bls.SecretKey.key_gen(b"coded-broadcast-leader".ljust(32, b"\x00"))
OTHER_KEY = bls.SecretKey.key_gen(b"coded-broadcast-not-the-leader".ljust(32, b"\x00"))


def signer(key: bls.SecretKey = LEADER_KEY) -> CommitmentSigner:
    """A :data:`CommitmentSigner` over a real BLS key."""

    def sign(payload: bytes) -> tuple[bytes, bytes]:
        return key.public_key.to_bytes(), key.sign(payload).to_bytes()

    return sign


def sign_commitment(commitment: SymbolCommitment, key: bls.SecretKey = LEADER_KEY) -> SignedCommitment:
    """Sign a commitment with a real BLS key."""
    signature = key.sign(commitment.signing_payload())
    return SignedCommitment(commitment, key.public_key.to_bytes(), signature.to_bytes())


def resolver(*, shard_id: int = 1, heights: Iterable[int] = range(1, 1000)) -> CommitmentResolver:
    """Accept commitments of ``shard_id`` at ``heights`` signed by :data:`LEADER_KEY`."""
    allowed = set(heights)
    leader_public = LEADER_KEY.public_key

    def resolve(signed: SignedCommitment) -> bool:
        c = signed.commitment
        if c.shard_id != shard_id or c.block_number not in allowed:
            return False
        if signed.signer != leader_public.to_bytes():
            return False
        try:
            signature = bls.Signature.from_bytes(signed.signature)
        except Exception:
            return False
        return bls.verify(leader_public, c.signing_payload(), signature)

    return resolve


def block_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random block bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += keccak256(seed.to_bytes(8, "big") + counter.to_bytes(8, "big"))
        counter += 1
    return bytes(out[:size])


@dataclass
class Committee:
    """A leader and its committee on loopback hosts, each member serving the coded broadcast."""

    leader: P2PHost
    leader_coded: CodedBroadcast
    members: list[P2PHost]
    """The live members, in share order (the dead ones have a share but no host)."""
    coded: list[CodedBroadcast]
    round_: Round

    def sign(self) -> CommitmentSigner:
        """The leader's signer."""
        return signer()


async def _never(_: SymbolCommitment) -> bytes | None:
    return None


async def _dial(a: P2PHost, b: P2PHost) -> None:
    """Connect ``a`` to ``b``, trying again when a loaded machine makes a dial time out."""
    for attempt in range(3):
        try:
            await a.connect(b.listen_addrs()[0], timeout=15.0)
            return
        except P2PError:
            if a.is_connected(b.peer_id):
                return
            if attempt == 2:
                raise


@asynccontextmanager
async def open_committee(
    tmp: Path,
    *,
    live: int,
    dead: int = 0,
    config: CodedConfig | None = None,
    fallback: Fallback = _never,
    protocol_id: str = "harmony/coded/localnet/1/1.0.0",
    guard: Callable[[P2PHost], Callable[[str], None]] | None = None,
) -> AsyncIterator[Committee]:
    """Open a leader and ``live`` member hosts on 127.0.0.1, all connected to each other, plus ``dead``
    members that have a peer ID (and a share) but no running host; every host serves ``protocol_id``."""
    quiet = {"discovery_interval_seconds": 600.0}
    dead_ids = [peer_id_of(load_or_create_peer_key(tmp / f"dead{i}.key")) for i in range(dead)]
    async with AsyncExitStack() as stack:
        leader = await stack.enter_async_context(open_host(host_config(tmp, "leader", **quiet)))
        members = []
        for i in range(live):
            members.append(await stack.enter_async_context(open_host(host_config(tmp, f"m{i}", **quiet))))
        everyone = [leader, *members]
        # Each host dials the ones opened before it, so every socket of the leader is one it accepted
        # (local port: its listening port), which lets the benchmark count its upload with ``ss``.
        async with trio.open_nursery() as nursery:
            for i, a in enumerate(everyone):
                for b in everyone[i + 1 :]:
                    nursery.start_soon(_dial, b, a)
        round_ = Round(leader.peer_id, tuple([m.peer_id for m in members] + dead_ids))
        resolve = resolver()
        coded = [
            await stack.enter_async_context(
                open_coded_broadcast(
                    host,
                    protocol_id,
                    resolve=resolve,
                    fallback=fallback,
                    config=config,
                    guard=None if guard is None else guard(host),
                )
            )
            for host in everyone
        ]
        yield Committee(leader, coded[0], members, coded[1:], round_)


async def collect(coded: CodedBroadcast, count: int = 1) -> list[Delivery]:
    """The next ``count`` deliveries of one member."""
    return [await coded.deliveries.receive() for _ in range(count)]


async def broadcast_everywhere(
    committee: Committee, data: bytes, number: int, round_: Round | None = None
) -> BroadcastReport:
    """The leader broadcasts ``data`` as block ``number`` of shard 1 (in the committee's round, or
    ``round_``); every live member decodes it (within 60 s) from symbols, not through the fallback."""
    report = await committee.leader_coded.broadcast(
        data,
        shard_id=1,
        block_number=number,
        view_id=0,
        round_=committee.round_ if round_ is None else round_,
        sign=committee.sign(),
    )
    with trio.fail_after(60):
        for coded in committee.coded:
            [delivery] = await collect(coded)
            assert delivery.data == data and delivery.via == "decoded"
    return report
