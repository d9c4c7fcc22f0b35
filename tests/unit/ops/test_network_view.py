"""The network view: a node polls another real node's ``/api/summary``; hostile or absent peers become
errors on the page, never a crash."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import trio

from harmony.ops.network_view import NetworkView, clean_summary
from tests.unit.ops.test_server import _get, _request, _service

GOOD = {
    "name": "n",
    "network": "localnet",
    "shard": 0,
    "height": 5,
    "epoch": 0,
    "peers": 3,
    "sync_lag": 0,
    "view": 6,
    "leader": True,
    "alerts": 0,
    "keys": 1,
    "missed_streak_max": 0,
}


@pytest.mark.parametrize(
    "raw",
    [[], "x", {**GOOD, "height": -1}, {**GOOD, "peers": True}, {**GOOD, "name": 5}, {**GOOD, "shard": 2**70}],
)
def test_hostile_summaries_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        clean_summary(raw)


def test_known_fields_only_and_text_bounded() -> None:
    cleaned = clean_summary({**GOOD, "name": "x" * 500, "extra": "<script>", "leader": "yes"})
    assert len(cleaned["name"]) == 100 and "extra" not in cleaned and cleaned["leader"] is False


def test_a_node_shows_its_peers_and_the_unreachable_ones(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    peer = _service(tmp_path / "peer")
    states: dict[str, object] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            peer_port = await nursery.start(peer.run)
            view = NetworkView([f"http://127.0.0.1:{peer_port}", closed])
            nursery.start_soon(view.run)
            with trio.fail_after(20):
                while len(view.latest) < 2:
                    await trio.sleep(0.05)
            states["rows"] = view.rows()
            states["summary"] = json.loads(
                (await _request(peer_port, _get("/api/summary"))).split(b"\r\n\r\n", 1)[1]
            )
            nursery.cancel_scope.cancel()

    (tmp_path / "peer").mkdir()
    trio.run(main)
    good, bad = states["rows"]  # type: ignore[misc]
    assert good["summary"]["shard"] == 0 and good["summary"]["keys"] == 1
    assert good["summary"] == clean_summary(states["summary"])
    assert "error" in bad and bad["url"] == closed
