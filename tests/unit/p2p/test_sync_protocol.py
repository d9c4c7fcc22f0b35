"""The block sync protocol (reference §8.5) between two real hosts, and its bounded codecs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.encoding import rlp
from harmony.p2p import sync_protocol as sp
from harmony.p2p.errors import P2PBadRequest, P2PBadResponse, P2PError, P2PRemoteError
from harmony.p2p.host import P2PHost, open_host
from harmony.p2p.topics import sync_protocol_id
from tests.unit.p2p.harness import config, hosts, run, wait_until

PID = sync_protocol_id("localnet", 1)


class DictSource:
    """A fake chain of ``head + 1`` blocks held in dicts."""

    def __init__(self, head: int, lowest: int = 1) -> None:
        self.head = head
        self.lowest = lowest
        self.hashes = {n: n.to_bytes(32, "big") for n in range(head + 1)}
        self.blocks = {n: (b"block-%d" % n, bytes([n % 256]) * 96, b"\x07") for n in range(head + 1)}

    def head_number(self) -> int:
        return self.head

    def lowest_number(self) -> int:
        return self.lowest

    def canonical_hash(self, number: int) -> bytes | None:
        return self.hashes.get(number)

    def block_with_commit(self, number: int) -> tuple[bytes, bytes, bytes] | None:
        return self.blocks.get(number)


def test_sync_round_trip_and_caps(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "server")) as server,
            hosts(config(tmp_path, "client", bootnodes=tuple(server.listen_addrs()))) as [client],
        ):
            await wait_until(lambda: client.is_connected(server.peer_id))
            source = DictSource(head=20)
            sp.serve_sync(server, PID, source)
            sync = sp.SyncClient(client, PID)
            assert await sync.head(server.peer_id) == sp.PeerHead(20, 1)
            source.lowest = 7  # a pruning server: blocks below 7 expired
            assert await sync.head(server.peer_id) == sp.PeerHead(20, 7)
            source.lowest = 1
            hashes = await sync.block_hashes(server.peer_id, [0, 5, 21, 20])
            assert hashes == [source.hashes[0], source.hashes[5], None, source.hashes[20]]
            assert await sync.block_hashes(server.peer_id, []) == []
            blocks = await sync.blocks(server.peer_id, list(range(10, 20)))
            assert blocks == [source.blocks[n] for n in range(10, 20)]
            assert await sync.blocks(server.peer_id, [19, 20, 21, 5]) == [
                source.blocks[19],
                source.blocks[20],
            ]
            hashes50 = await sync.block_hashes(server.peer_id, list(range(50)))
            assert len(hashes50) == 50
            # Caps are enforced before anything is sent.
            with pytest.raises(ValueError):
                await sync.block_hashes(server.peer_id, list(range(51)))
            with pytest.raises(ValueError):
                await sync.blocks(server.peer_id, list(range(sp.MAX_BLOCKS + 1)))
            with pytest.raises(ValueError):
                await sync.blocks(server.peer_id, [-1])
            # A raw over-cap request is refused by the server, and the sender penalized.
            raw = rlp.encode(
                [
                    rlp.encode_uint(sp.GET_BLOCKS_BY_NUMBER),
                    [rlp.encode_uint(n) for n in range(sp.MAX_BLOCKS + 1)],
                ]
            )
            with pytest.raises(P2PRemoteError):
                await client.request(server.peer_id, PID, raw)
            for garbage in (b"", b"\xff", rlp.encode([b"\x09", []]), rlp.encode(b"x"), bytes(2000)):
                with pytest.raises(P2PRemoteError):
                    await client.request(server.peer_id, PID, garbage)
            assert server.penalties["bad_request"] >= 5
            assert server.penalties["oversized_request"] == 1
            assert client.penalties == {}

    run(body)


class BigSource(DictSource):
    """Blocks of the largest size a sync answer carries (:data:`~sp.MAX_BLOCK_BYTES`)."""

    def __init__(self, head: int) -> None:
        super().__init__(head)
        self.blocks = {
            n: (bytes([n % 256]) * sp.MAX_BLOCK_BYTES, bytes(96), b"\x07") for n in range(head + 1)
        }


def test_a_blocks_answer_stops_at_its_byte_cap_and_a_longer_one_is_refused(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "server")) as server,
            open_host(config(tmp_path, "liar")) as liar,
            hosts(config(tmp_path, "client", bootnodes=(*server.listen_addrs(), *liar.listen_addrs()))) as [
                client
            ],
        ):
            await wait_until(
                lambda: client.is_connected(server.peer_id) and client.is_connected(liar.peer_id)
            )
            source = BigSource(head=20)
            sp.serve_sync(server, PID, source)
            sync = sp.SyncClient(client, PID, timeout=60.0)
            asked = list(range(1, 11))
            blocks = await sync.blocks(server.peer_id, asked)
            assert blocks == [source.blocks[n] for n in range(1, 4)]  # three of 2 MiB fit in 8 MiB
            assert sp.cut_by_size(blocks)  # so the shorter answer is no lie
            assert not sp.cut_by_size(blocks[:1]) and not sp.cut_by_size([])
            # an answer past the cap is refused unread, and its sender penalized
            over = rlp.encode([list(source.blocks[n]) for n in range(1, 5)])
            assert len(over) > sp.MAX_BLOCKS_RESPONSE_BYTES
            _serve_raw(liar, over, max_response_bytes=len(over))
            with pytest.raises(P2PError):
                await sync.blocks(liar.peer_id, asked)
            assert client.penalties["oversized_response"] == 1

    run(body)


def test_an_answer_of_small_blocks_holds_every_block_asked() -> None:
    source = DictSource(head=300)
    numbers = list(range(1, sp.MAX_BLOCKS + 1))
    items = sp.decode_blocks_response(sp.answer(source, sp.GET_BLOCKS_BY_NUMBER, numbers), len(numbers))
    assert items == [source.blocks[n] for n in numbers] and not sp.cut_by_size(items)


def _serve_raw(
    host: P2PHost, answer: bytes, *, max_response_bytes: int = sp.MAX_BLOCKS_RESPONSE_BYTES
) -> None:
    async def handler(peer: str, request: bytes) -> bytes:
        return answer

    host.set_request_handler(PID, handler, max_request_bytes=4096, max_response_bytes=max_response_bytes)


def test_malformed_sync_answers_are_rejected_and_penalized(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "liar")) as liar,
            hosts(config(tmp_path, "client", bootnodes=tuple(liar.listen_addrs()))) as [client],
        ):
            await wait_until(lambda: client.is_connected(liar.peer_id))
            sync = sp.SyncClient(client, PID)
            good_triple = [b"block", bytes(96), b"\x01"]
            cases = [
                ("head", rlp.encode([b"\x00\x01"])),
                ("head", b"\xc0"),
                ("head", bytes(100)),
                ("head", rlp.encode([b"\x05", b"\x06"])),  # lowest above the head
                ("head", rlp.encode([b"\x05", b""])),  # lowest 0
                ("head", rlp.encode([b"\x05", b"\x01", b"\x01"])),
                ("hashes", rlp.encode([bytes(32)])),  # asked two
                ("hashes", rlp.encode([bytes(31), bytes(32)])),
                ("hashes", rlp.encode([[b""], bytes(32)])),
                ("blocks", rlp.encode([good_triple, good_triple, good_triple])),  # asked two
                ("blocks", rlp.encode([[b"block", bytes(95), b"\x01"]])),
                ("blocks", rlp.encode([[b"", bytes(96), b"\x01"]])),
                ("blocks", rlp.encode([[b"block", bytes(96)]])),
                ("blocks", rlp.encode([[b"block", bytes(96), b""]])),
                ("blocks", b"\xff\xff"),
            ]
            for expected_penalties, (what, answer) in enumerate(cases, start=1):
                _serve_raw(liar, answer)
                with pytest.raises(P2PError):
                    if what == "head":
                        await sync.head(liar.peer_id)
                    elif what == "hashes":
                        await sync.block_hashes(liar.peer_id, [1, 2])
                    else:
                        await sync.blocks(liar.peer_id, [1, 2])
                assert sum(client.penalties.values()) == expected_penalties, (what, answer)

    run(body)


def test_codecs_refuse_garbage() -> None:
    assert sp.decode_request(sp.encode_request(sp.GET_BLOCK_HASHES, [1, 2**64 - 1])) == (
        sp.GET_BLOCK_HASHES,
        [1, 2**64 - 1],
    )
    for bad in (
        b"",
        rlp.encode([b"\x02"]),
        rlp.encode([b"\x02", [b"\x00\x01"]]),
        rlp.encode([b"\x02", [bytes(9)]]),
        rlp.encode([b"\x01", [b"\x01"]]),
        rlp.encode([[b"\x02"], []]),
        rlp.encode([b"\x02", [[b"\x01"]]]),
    ):
        with pytest.raises(P2PBadRequest):
            sp.decode_request(bad)
    with pytest.raises(ValueError):
        sp.encode_request(99)
    with pytest.raises(P2PBadResponse):
        sp.decode_blocks_response(b"\xc0" * 2, 1)
    assert sp.decode_blocks_response(b"\xc0", 3) == []


def test_head_answer_without_lowest_means_every_block() -> None:
    assert sp.decode_head_response(rlp.encode([b"\x09"])) == sp.PeerHead(9, 1)
    assert sp.decode_head_response(rlp.encode([b"", b"\x01"])) == sp.PeerHead(0, 1)  # only genesis
    assert sp.decode_head_response(rlp.encode([b"\x09", b"\x09"])) == sp.PeerHead(9, 9)
