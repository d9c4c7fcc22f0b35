"""End to end on real processes (issue 21): a 2-shard devnet whose shard 1 is fenced to a jurisdiction in its
genesis (``harmony devnet --fence 1=EU``). Shard 1's validators finalize blocks; an outside node of shard 1
(no seat key) connects but gets no block through sync and no message of shard 1's fenced gossip topic
(counted by its metrics), is refused by the members, and its RPC refuses the shard's data naming the
jurisdiction; a member killed and restarted behind the others shows its fence ticket and catches up through
the fenced sync; the RPC shows the fence."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .devnet_fixture import free_base_port, rpc, start_devnet

pytestmark = pytest.mark.e2e

VDF_ITERATIONS = 20_000
"""As the cross-shard devnet's: small enough for a loaded 2-core machine."""


def _topic_messages(metrics_url: str, topic_suffix: str) -> int:
    """The node's ``hmy_p2p_topic_messages_received`` for the topic ending in ``topic_suffix``."""
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    pattern = (
        r'^hmy_p2p_topic_messages_received_total\{topic="[^"]*' + re.escape(topic_suffix) + r'"\} (\S+)$'
    )
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, f"no gossip count for {topic_suffix} in {metrics_url}"
    return int(float(match.group(1)))


def _outsider(genesis: str, bootnode: str, data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    base = free_base_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harmony.cli.main",
            "node",
            *("--genesis", genesis, "--shard", "1", "--datadir", str(data), "--bootnodes", bootnode),
            *("--p2p.port", str(base), "--http.port", str(base + 500), "--ws.port", str(base + 800)),
            *("--metrics.port", str(base + 900)),
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, f"http://127.0.0.1:{base + 500}", f"http://127.0.0.1:{base + 900}/metrics"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_fenced_shard_syncs_only_inside_its_fence(tmp_path: Path) -> None:
    net = start_devnet(
        tmp_path / "net",
        *("--fence", "1=EU", "--vdf-iterations", str(VDF_ITERATIONS)),
        *("--block-time-ms", "1000", "--phase-timeout-ms", "5000"),
    )
    outsider = None
    try:
        member = net.url(1, 0)
        assert rpc(member, "hmyv2_getFences")["shardFences"] == [None, "EU"]
        net.wait_height(member, 3)
        # an outside node of shard 1: connected, refused, no block
        outsider, outside_url, outside_metrics = _outsider(
            net.manifest["genesis"], net.nodes(1)[0]["p2p"], tmp_path / "outsider", tmp_path / "outsider.log"
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if int(rpc(outside_url, "net_peerCount"), 16) >= 1:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(1)
        start = net.height(member)
        net.wait_height(member, start + 5)
        assert net.height(outside_url) == 0, "an outside node got a fenced shard's blocks"
        # the members gossip on shard 1's topic; the outsider, subscribed to it, got none of it
        assert _topic_messages(net.nodes(1)[1]["metrics"], "/node/shard/1") > 0
        assert _topic_messages(outside_metrics, "/node/shard/1") == 0, "an outside node got fenced gossip"
        # its RPC says why it has no data; a member's answers
        with pytest.raises(ValueError, match="fenced to jurisdiction EU"):
            rpc(outside_url, "eth_getBlockByNumber", ["0x1", False])
        assert rpc(member, "eth_getBlockByNumber", ["0x1", False])["number"] == "0x1"
        outside_log = (tmp_path / "outsider.log").read_text(errors="replace")
        assert "outside the fence" in outside_log
        match = re.search(r"node (\S+) on shard 1", outside_log)
        assert match is not None
        refused = f"peer {match.group(1)} is outside the fence"
        assert any(refused in net.log(f"s1n{i}") for i in range(4)), "no member refused the outsider"
        # a member restarted behind the others catches up through the fenced sync
        net.kill("s1n3")
        behind = net.height(member)
        net.wait_height(member, behind + 4)
        net.restart("s1n3")
        head = net.height(member)
        net.wait_height(net.url(1, 3), head, timeout=180)
        assert net.height(outside_url) == 0
        assert _topic_messages(outside_metrics, "/node/shard/1") == 0
    finally:
        if outsider is not None:
            _stop(outsider)
        net.stop()
