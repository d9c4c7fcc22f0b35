"""The state sync protocol (issue 18 item 2) between two real hosts, and its bounded codecs: round trips,
caps enforced before sending, garbage requests refused and penalized, malformed or oversized answers
refused and the server penalized."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.p2p import state_protocol as stp
from harmony.p2p.errors import P2PBadRequest, P2PError, P2PRemoteError
from harmony.p2p.host import P2PHost, open_host
from harmony.p2p.topics import state_protocol_id
from tests.unit.p2p.harness import config, hosts, run, wait_until

PID = state_protocol_id("localnet", 0)


class DictState:
    """Epoch headers 0..``epochs - 1`` and some blobs, held in dicts."""

    def __init__(self, epochs: int, blobs: list[bytes]) -> None:
        self.headers = {e: (b"header-%d" % e, bytes([e % 256]) * 96, b"\x0f") for e in range(epochs)}
        self.blobs = {keccak256(b): b for b in blobs}

    def epoch_header(self, epoch: int) -> tuple[bytes, bytes, bytes] | None:
        return self.headers.get(epoch)

    def state_blob(self, node_hash: bytes) -> bytes | None:
        return self.blobs.get(node_hash)


def test_state_round_trip_caps_and_bad_requests(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "server")) as server,
            hosts(config(tmp_path, "client", bootnodes=tuple(server.listen_addrs()))) as [client],
        ):
            await wait_until(lambda: client.is_connected(server.peer_id))
            big = [bytes([i]) * 300_000 for i in range(5)]
            small = [b"node-%d" % i for i in range(10)]
            source = DictState(5, small + big)
            stp.serve_state(server, PID, source)
            state = stp.StateClient(client)
            got = await state.epoch_headers(server.peer_id, PID, [0, 3, 4, 7, 1])
            assert got == [source.headers[0], source.headers[3], source.headers[4]]  # the prefix held
            hashes = [keccak256(b) for b in small] + [bytes(32)]
            assert await state.state_nodes(server.peer_id, PID, hashes) == [*small, b""]
            # the server stops past its byte budget: a prefix of the big blobs
            prefix = await state.state_nodes(server.peer_id, PID, [keccak256(b) for b in big])
            assert 0 < len(prefix) < len(big) and prefix == big[: len(prefix)]
            # caps are enforced before anything is sent
            with pytest.raises(ValueError, match="at most"):
                await state.epoch_headers(server.peer_id, PID, list(range(stp.MAX_EPOCHS + 1)))
            with pytest.raises(ValueError, match="at most"):
                await state.state_nodes(server.peer_id, PID, [bytes(32)] * (stp.MAX_NODES + 1))
            with pytest.raises(ValueError, match="32-byte"):
                await state.state_nodes(server.peer_id, PID, [bytes(31)])
            # raw garbage requests are refused by the server and their sender penalized
            for garbage in (
                b"",
                b"\xff",
                rlp.encode([b"\x09", []]),
                rlp.encode([b"\x02", [bytes(31)]]),
                rlp.encode([b"\x02", [[bytes(32)]]]),
                rlp.encode([b"\x01", [bytes(9)]]),
                rlp.encode([b"\x02", [bytes(32)] * (stp.MAX_NODES + 1)]),
            ):
                with pytest.raises(P2PRemoteError):
                    await client.request(server.peer_id, PID, garbage)
            assert server.penalties["bad_request"] >= 6
            assert client.penalties == {}

    run(body)


def _serve_raw(host: P2PHost, answer: bytes) -> None:
    async def handler(peer: str, request: bytes) -> bytes:
        return answer

    host.set_request_handler(PID, handler, max_request_bytes=65536, max_response_bytes=64 * 1024 * 1024)


def test_malformed_or_oversized_state_answers_are_refused_and_penalized(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            open_host(config(tmp_path, "liar")) as liar,
            hosts(config(tmp_path, "client", bootnodes=tuple(liar.listen_addrs()))) as [client],
        ):
            await wait_until(lambda: client.is_connected(liar.peer_id))
            state = stp.StateClient(client)
            good = [b"header", bytes(96), b"\x01"]
            cases = [
                ("headers", rlp.encode([good, good, good])),  # asked two
                ("headers", rlp.encode([[b"header", bytes(95), b"\x01"]])),
                ("headers", rlp.encode([[b"", bytes(96), b"\x01"]])),
                ("headers", rlp.encode([[b"header", bytes(96)]])),
                ("headers", rlp.encode([[b"header", bytes(96), bytes(2000)]])),
                ("headers", rlp.encode([[bytes(stp.MAX_HEADER_BYTES + 1), bytes(96), b"\x01"]])),
                ("nodes", rlp.encode([b"a", b"b", b"c"])),  # asked two
                ("nodes", rlp.encode([[b"a"], b"b"])),
                ("nodes", rlp.encode([bytes(stp.MAX_NODE_BYTES + 1)])),
                ("nodes", rlp.encode([bytes(stp.MAX_NODE_BYTES)] * 3)),  # over the answer's cap
                ("nodes", b"\xff\xff"),
            ]
            for expected, (what, answer) in enumerate(cases, start=1):
                _serve_raw(liar, answer)
                with pytest.raises(P2PError):
                    if what == "headers":
                        await state.epoch_headers(liar.peer_id, PID, [1, 2])
                    else:
                        await state.state_nodes(liar.peer_id, PID, [bytes(32), bytes(32)])
                assert sum(client.penalties.values()) == expected, (what, answer[:40])

    run(body)


def test_codecs() -> None:
    assert stp.decode_request(stp.encode_request(stp.GET_EPOCH_HEADERS, [0, 2**64 - 1])) == (
        stp.GET_EPOCH_HEADERS,
        [0, 2**64 - 1],
    )
    assert stp.decode_request(stp.encode_request(stp.GET_STATE_NODES, [bytes(32)])) == (
        stp.GET_STATE_NODES,
        [bytes(32)],
    )
    for bad in (
        b"",
        rlp.encode([b"\x01"]),
        rlp.encode([[b"\x01"], []]),
        rlp.encode([b"\x01", [b"\x00\x01"]]),
    ):
        with pytest.raises(P2PBadRequest):
            stp.decode_request(bad)
    with pytest.raises(ValueError, match="unknown"):
        stp.encode_request(7, [])
    with pytest.raises(ValueError, match="invalid epoch"):
        stp.encode_request(stp.GET_EPOCH_HEADERS, [True])
