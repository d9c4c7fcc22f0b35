"""A state download killed with SIGKILL in the middle resumes without fetching again what it verified
(issue 18 item 2), on real processes: a peer process serves a state of 1,500 accounts over real
libp2p (slowly, so that the download is surely killed part-way); a syncing process writes each checked
answer durably and says so; it is killed right after a durable answer, the database is checked (every
stored node hashes to its key), a second process resumes, and the result is exactly the served state."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harmony.crypto.keccak import keccak256
from harmony.state.reach import mark_state
from harmony.storage import ChainDB, LMDBStore, schema

from . import state_sync_peer

pytestmark = pytest.mark.e2e

PEER = Path(state_sync_peer.__file__)
ACCOUNTS = 1500
DELAY = "0.3"
"""Seconds the peer waits before each answer: the download takes several seconds, the kill lands inside."""
KILL_AFTER = 3
"""Durable answers before the kill."""


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(PEER), *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def _stored(directory: Path) -> dict[bytes, bytes]:
    with LMDBStore(directory / "chain", readonly=True) as store:
        return {key[1:]: value for key, value in store.iterate(schema.STATE_NODE)}


def test_a_state_download_killed_with_sigkill_resumes_without_fetching_again(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    client = tmp_path / "client"
    client.mkdir()
    peer = _start("serve", str(served), str(ACCOUNTS), DELAY)
    try:
        assert peer.stdout is not None
        root_line = peer.stdout.readline().split()
        peer_line = peer.stdout.readline().split()
        assert root_line[0] == "ROOT" and peer_line[0] == "PEER", (root_line, peer_line)
        root, addr = root_line[1], f"{peer_line[2]}/p2p/{peer_line[1]}"
        first = _start("sync", str(client), root, addr)
        assert first.stdout is not None
        printed = 0
        for _ in range(KILL_AFTER):
            line = first.stdout.readline().split()
            assert line and line[0] == "WROTE", f"the sync ended early: {line}"
            printed = int(line[1])
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        kept = _stored(client)
        assert len(kept) >= printed > 0  # every answer it reported is durable
        assert all(keccak256(blob) == key for key, blob in kept.items())  # and only checked nodes
        second = _start("sync", str(client), root, addr)
        out, _ = second.communicate(timeout=240)
        done = [line.split() for line in out.splitlines() if line.startswith("DONE")]
        assert done, out[-2000:]
        fetched, present = int(done[0][1]), int(done[0][2])
        assert present >= len(kept)  # what the killed process verified was not fetched again
        with LMDBStore(client / "chain", readonly=True) as store:
            reached: set[bytes] = set()
            list(mark_state(ChainDB(store).state_nodes(verify=True), bytes.fromhex(root), reached))
        assert fetched + present == len(reached)
    finally:
        peer.kill()
        peer.wait()
