"""The delaying router's packet path, over a packet-mode pipe instead of a TUN device (no root needed).

A pipe opened with O_DIRECT keeps each write as one packet, as a TUN device does, so the real router code
reads, holds and writes real IPv4 packets here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from harmony.testnet.probe import main as probe_main
from harmony.testnet.router import Router, RouterConfigError, parse_config


def packet(src: int, dst: int, payload: bytes = b"x") -> bytes:
    """A minimal IPv4 packet from 10.213.1.{src} to 10.213.1.{dst} (only the fields the router reads)."""
    header = bytes([0x45, 0, 0, 20 + len(payload)]) + bytes(8) + bytes([10, 213, 1, src, 10, 213, 1, dst])
    return header + payload


@pytest.fixture
def wire() -> Iterator[tuple[int, int]]:
    """(read end, write end) of a non-blocking packet-mode pipe."""
    r, w = os.pipe2(os.O_DIRECT | os.O_NONBLOCK)
    yield r, w
    os.close(r)
    os.close(w)


def drain(fd: int) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(os.read(fd, 65536))
        except BlockingIOError:
            return out


def make_router(loss: float = 0.0) -> Router:
    # hosts .2 and .3 in region 0, .4 in region 1; 0 ms inside region 0, 50 ms between regions
    return Router({2: 0, 3: 0, 4: 1}, [[0.0, 50.0], [50.0, 10.0]], [[0.0, loss], [loss, 0.0]], seed=1)


def test_packets_wait_for_their_pair_delay_in_order(wire: tuple[int, int]) -> None:
    inbox_r, inbox_w = wire
    out_r, out_w = os.pipe2(os.O_DIRECT | os.O_NONBLOCK)
    router = make_router()
    for i in range(3):
        os.write(inbox_w, packet(2, 4, bytes([i])))
    os.write(inbox_w, packet(2, 3))
    router.take(inbox_r, out_w, now=100.0)
    assert drain(out_r) == [packet(2, 3)]  # in-region: no delay
    assert router.release(out_w, now=100.049) == pytest.approx(100.05)
    assert drain(out_r) == []
    assert router.release(out_w, now=100.05) is None
    assert drain(out_r) == [packet(2, 4, bytes([i])) for i in range(3)]
    assert router.stats["in"] == 4 and router.stats["out"] == 4
    os.close(out_r)
    os.close(out_w)


def test_a_changed_delay_applies_to_new_packets(wire: tuple[int, int]) -> None:
    r, w = wire
    r2, w2 = os.pipe2(os.O_DIRECT | os.O_NONBLOCK)
    router = make_router()
    router.command({"op": "delay", "src": 0, "dst": 0, "ms": 20})
    os.write(w, packet(2, 3))
    router.take(r, w2, now=0.0)
    assert drain(r2) == []
    assert router.release(w2, now=0.0199) == pytest.approx(0.02)
    assert router.release(w2, now=0.02) is None and drain(r2) == [packet(2, 3)]


def test_partition_cuts_between_groups_and_heal_restores(wire: tuple[int, int]) -> None:
    r, w = wire
    r2, w2 = os.pipe2(os.O_DIRECT | os.O_NONBLOCK)
    router = make_router()
    router.command({"op": "partition", "groups": [[2], [3, 4]]})
    os.write(w, packet(2, 3))
    os.write(w, packet(3, 2))
    router.take(r, w2, now=0.0)
    assert router.stats["cut"] == 2 and drain(r2) == []
    router.command({"op": "heal"})
    os.write(w, packet(2, 3))
    router.take(r, w2, now=0.0)
    assert drain(r2) == [packet(2, 3)]


def test_loss_drops_about_the_fraction_and_unknown_hosts_are_dropped(wire: tuple[int, int]) -> None:
    r, w = wire
    r2, w2 = os.pipe2(os.O_DIRECT | os.O_NONBLOCK)
    router = make_router()
    router.command({"op": "loss", "src": 0, "dst": 0, "loss": 0.25})
    sent = 0
    for _ in range(200):
        for _ in range(10):  # a packet-mode pipe holds 16 packets
            os.write(w, packet(2, 3))
            sent += 1
        router.take(r, w2, now=0.0)
        drain(r2)
    assert 0.2 * sent <= router.stats["loss"] <= 0.3 * sent
    os.write(w, packet(2, 99))  # not a host of the network
    os.write(w, b"\x60" + bytes(39))  # IPv6
    os.write(w, b"\x45")  # truncated
    router.take(r, w2, now=0.0)
    assert router.stats["unknown"] == 3


@pytest.mark.parametrize(
    "command",
    [
        {"op": "partition", "groups": "2"},
        {"op": "partition", "groups": [[2], [2]]},
        {"op": "partition", "groups": [[77]]},
        {"op": "loss", "src": 0, "dst": 5, "loss": 0.1},
        {"op": "loss", "src": 0, "dst": 1, "loss": 2},
        {"op": "delay", "src": 0, "dst": 1, "ms": -1},
        {"op": "delay", "src": "0", "dst": 1, "ms": 5},
        {"op": "reboot"},
    ],
)
def test_bad_commands_are_refused(command: dict[str, object]) -> None:
    with pytest.raises(RouterConfigError):
        make_router().command(command)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"not json",
        b"[]",
        b'{"tun": "t"}',
        b'{"tun": 1, "hosts": {}, "delay_ms": [], "loss": [], "seed": 0}',
        b'{"tun": "t", "hosts": {"300": 0}, "delay_ms": [[0]], "loss": [[0]], "seed": 0}',
    ],
)
def test_bad_configurations_are_refused(line: bytes) -> None:
    with pytest.raises(RouterConfigError):
        parse_config(line)


def test_the_router_process_answers_commands_and_exits_when_its_owner_goes() -> None:
    """Without root the TUN cannot open: the process says so in one JSON line and exits 2."""
    config = {"tun": "nosuchtun", "hosts": {"2": 0}, "delay_ms": [[0]], "loss": [[0]], "seed": 0}
    done = subprocess.run(
        [sys.executable, "-m", "harmony.testnet.router"],
        input=json.dumps({"garbage": 1}).encode() + b"\n",
        check=False,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2 and not json.loads(done.stdout)["ok"]
    if os.geteuid() != 0:
        pytest.skip("opening a TUN device needs root")
    router = subprocess.Popen(
        [sys.executable, "-m", "harmony.testnet.router"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert router.stdin is not None and router.stdout is not None
    router.stdin.write(json.dumps(config).encode() + b"\n")
    router.stdin.flush()
    assert json.loads(router.stdout.readline())["ok"]
    router.stdin.write(b'{"op": "stats"}\n{"op": "nope"}\n')
    router.stdin.flush()
    assert json.loads(router.stdout.readline())["in"] == 0
    assert json.loads(router.stdout.readline())["ok"] is False
    start = time.monotonic()
    router.stdin.close()
    assert router.wait(timeout=30) == 0 and time.monotonic() - start < 30


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["rtt", "10.0.0.1"],
        ["echo", "0"],
        ["echo", "70000"],
        ["rtt", "h", "1", "--count", "0"],
        ["blast", "h", "1", "--size", "99999"],
        ["send", "h", "1", "--seconds", "nan"],
        ["nope"],
    ],
)
def test_probe_command_line_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        probe_main(argv)
    assert exit_info.value.code == 2
