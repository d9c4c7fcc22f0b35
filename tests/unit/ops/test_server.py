"""The operators' server on a real chain database: GET only, bounded, /metrics, the page and its WebSocket."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import trio
from trio_websocket import open_websocket_url

from harmony.chain.genesis import dev_bls_key, make_localnet_genesis
from harmony.node.blockchain import Blockchain
from harmony.node.status import NodeStatus
from harmony.ops.service import OpsService, OpsSettings
from harmony.storage import ChainDB, MemoryStore

GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
SECRET = dev_bls_key(0, 0)


def status_of(chain: Blockchain, data_dir: Path, **changes: Any) -> NodeStatus:
    """A node's status at ``chain``'s head: a leader on shard 0 holding :data:`SECRET` unless changed."""
    head = chain.head
    status = NodeStatus(
        network="localnet",
        shard_id=0,
        version="test/v1",
        peer_id="12D3KooWtest",
        data_dir=data_dir,
        started_unix=1.0,
        head_number=head.number,
        head_epoch=head.epoch,
        head_time=head.time,
        blocks_per_epoch=32,
        view_id=1,
        is_leader=True,
        highest_seen=head.number,
        syncing=False,
        peers=0,
        topic_peers={"hmy/localnet/0.0.1/node/beacon": 0},
        bls_public_keys=(SECRET.public_key.to_bytes(),),
        consensus_drops={"stale_view": 3},
        coded_received={"fallback": 2},
        coded_rejected={"coded_unknown_round": 1},
        coded_sent=4,
    )
    return replace(status, **changes)


def _service(tmp_path: Path, **settings: object) -> OpsService:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, 0)

    def status() -> NodeStatus:
        return status_of(chain, tmp_path)

    options: dict[str, object] = {"host": "127.0.0.1", "port": 0, **settings}
    return OpsService(status, chain.db, OpsSettings(**options))  # type: ignore[arg-type]


async def _request(port: int, raw: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(raw)
        chunks = []
        with trio.fail_after(10):
            while data := await stream.receive_some(65536):
                chunks.append(data)
    return b"".join(chunks)


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def _serve(service: OpsService, body: Callable[[int], Awaitable[None]]) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(service.run)
            await body(port)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_metrics_and_pages_are_served_read_only(tmp_path: Path) -> None:
    service = _service(tmp_path)
    answers: dict[str, bytes] = {}

    async def body(port: int) -> None:
        answers["metrics"] = await _request(port, _get("/metrics"))
        answers["page"] = await _request(port, _get("/"))
        answers["js"] = await _request(port, _get("/dashboard.js"))
        answers["api"] = await _request(port, _get("/api/status?x=1"))
        answers["missing"] = await _request(port, _get("/../../etc/passwd"))
        answers["health"] = await _request(port, _get("/healthz"))
        answers["post"] = await _request(
            port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        answers["put"] = await _request(port, b"PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers["get_body"] = await _request(
            port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        )
        answers["huge_head"] = await _request(
            port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200_000 + b"\r\n\r\n"
        )
        answers["garbage"] = await _request(port, b"\x16\x03\x01 not http at all\r\n\r\n")

    _serve(service, body)
    metrics = answers["metrics"]
    assert metrics.startswith(b"HTTP/1.1 200")
    assert b"content-type: text/plain; version=0.0.4" in metrics
    assert b"access-control-allow-origin" not in metrics  # no page of another origin reads it
    for name in (
        b'hmy_node_metadata{network="localnet",peerid="12D3KooWtest",role="validator",shard="0"',
        b"hmy_chain_head_height 0.0",
        b"hmy_chain_history_floor 0.0",
        b"hmy_consensus_bingo_total 0.0",
        b"hmy_p2p_peers 0.0",
        b'hmy_consensus_dropped_messages_total{reason="stale_view"} 3.0',
        b'hmy_coded_blocks_received_total{via="decoded"} 0.0',
        b'hmy_coded_blocks_received_total{via="fallback"} 2.0',
        b'hmy_coded_rejections_total{reason="coded_unknown_round"} 1.0',
        b"hmy_coded_blocks_sent_total 4.0",
        b"hmy_consensus_blskeys{pubkey=",
        b"hmy_validator_blocks_signed_total{key=",
        b'hmy_validator_elected{epoch="current"',
        b"hmy_chain_block_interval_seconds_bucket",
        b"hmy_consensus_finality_bucket",
        b"hmy_disk_free_bytes",
        b"process_resident_memory_bytes",
        b"hmy_process_resident_anon_bytes",
        b"hmy_process_resident_file_bytes",
    ):
        assert name in metrics, name
    page = answers["page"]
    assert page.startswith(b"HTTP/1.1 200") and b"text/html" in page
    assert b"window.INITIAL_STATE = {" in page
    # one request paints: the stylesheet and the script are inline, nothing else is fetched
    assert b"function renderKeys" in page and b"#keys" in page and b"/*CSS*/" not in page
    assert b" src=" not in page and b"<link" not in page
    assert b"http://" not in page.split(b"\r\n\r\n", 1)[1].replace(b"http://www.w3.org", b"")  # no CDN
    assert SECRET.to_bytes().hex().encode() not in page  # no key material anywhere
    assert SECRET.public_key.to_bytes().hex().encode() in page
    assert answers["js"].startswith(b"HTTP/1.1 200") and b"new WebSocket" in answers["js"]
    state = json.loads(answers["api"].split(b"\r\n\r\n", 1)[1])
    assert state["node"]["height"] == 0 and state["keys"][0]["mine"] is True
    assert answers["missing"].startswith(b"HTTP/1.1 404")
    assert answers["health"].endswith(b"ok\n")
    for refused in ("post", "put"):
        assert answers[refused].startswith(b"HTTP/1.1 405"), refused
        assert b"allow: GET" in answers[refused]
    assert answers["get_body"].startswith(b"HTTP/1.1 400")
    assert answers["huge_head"].startswith(b"HTTP/1.1 431") or answers["huge_head"].startswith(
        b"HTTP/1.1 400"
    )
    assert answers["garbage"].startswith(b"HTTP/1.1 400")


def test_a_disabled_dashboard_leaves_only_metrics(tmp_path: Path) -> None:
    service = _service(tmp_path, dashboard=False)
    answers: dict[str, bytes] = {}

    async def body(port: int) -> None:
        answers["page"] = await _request(port, _get("/"))
        answers["api"] = await _request(port, _get("/api/status"))
        answers["metrics"] = await _request(port, _get("/metrics"))

    _serve(service, body)
    assert answers["page"].startswith(b"HTTP/1.1 404") and answers["api"].startswith(b"HTTP/1.1 404")
    assert answers["metrics"].startswith(b"HTTP/1.1 200")


def test_the_websocket_pushes_the_state_after_every_tick(tmp_path: Path) -> None:
    service = _service(tmp_path)
    messages: list[dict[str, object]] = []

    async def body(port: int) -> None:
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws") as ws:
            with trio.fail_after(20):
                messages.append(json.loads(await ws.get_message()))  # at once
                messages.append(json.loads(await ws.get_message()))  # after the next tick
        # the few_peers rule holds (0 peers): the page shows it
        state = json.loads((await _request(port, _get("/api/status"))).split(b"\r\n\r\n", 1)[1])
        assert [a["rule"] for a in state["alerts"]] == ["few_peers"]
        assert state["events"][0]["status"] == "firing"

    _serve(service, body)
    assert all(m["node"]["shard"] == 0 for m in messages)  # type: ignore[index]


def test_a_busy_port_is_reported_as_the_listen_error(tmp_path: Path) -> None:
    import socket  # noqa: PLC0415

    from harmony.cli.node import listen_error  # noqa: PLC0415

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        service = _service(tmp_path, port=busy.getsockname()[1])
        caught: list[BaseException] = []

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                try:
                    await nursery.start(service.run)
                except BaseException as exc:
                    caught.append(exc)

        trio.run(main)
    cause = listen_error(caught[0])
    assert isinstance(cause, OSError) and cause.errno == 98
    assert listen_error(ValueError("x")) is None
    assert listen_error(ExceptionGroup("g", [OSError(98, "x"), ValueError("y")])) is None
