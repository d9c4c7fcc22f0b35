"""CPU per delivered message: GossipSub on the shard topic against one long-lived frame stream per peer.

A committee of ``--members`` real libp2p hosts (TCP on 127.0.0.1, Noise, Yamux) runs in this one process,
fully connected. Each member in turn publishes ``--messages`` messages of ``--size`` bytes (consensus-sized:
an ANNOUNCE without its block is about 800 bytes, a vote about 200), and every other member must receive
each one. The same messages are sent twice in the same run:

* ``gossip``: ``P2PHost.publish`` on one topic (GossipSub, D=5, as the node uses it);
* ``direct``: each member keeps one frame stream open to each other member (``P2PHost.stream_frames``) and
  writes each message once into each.

Figures per path: process CPU seconds divided by deliveries (messages x (members - 1)), wall time, and the
bytes on the wire are not measured (loopback). Both paths do the same work: same hosts, same messages, same
receivers, each message counted once per receiver. The last line is one JSON object.

    .venv/bin/python bench/gossip_cost.py --members 8 --messages 200 --size 800
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import trio

from harmony.p2p.host import P2PConfig, P2PHost, open_host

TOPIC = "hmy/bench/0.0.1/node/shard/0"
PROTOCOL = "/harmony/bench/direct/1.0.0"


def _config(tmp: Path, index: int) -> P2PConfig:
    return P2PConfig(
        key_path=tmp / f"{index}.key",
        port=0,
        bootnode_retry_seconds=0.5,
        discovery_interval_seconds=3600.0,
        dial_timeout=10.0,
    )


async def _wait(predicate: Callable[[], bool], limit: float, what: str) -> None:
    with trio.move_on_after(limit) as scope:
        while not predicate():
            await trio.sleep(0.02)
    if scope.cancelled_caught:
        raise SystemExit(f"gave up waiting for {what} after {limit} s")


async def _mesh(hosts: list[P2PHost]) -> None:
    for i, a in enumerate(hosts):
        for b in hosts[i + 1 :]:
            await a.connect(b.listen_addrs()[0])
    await _wait(lambda: all(h.peer_count() == len(hosts) - 1 for h in hosts), 30, "the full mesh")


async def _gossip_round(hosts: list[P2PHost], messages: int, size: int, pace: float) -> tuple[float, float]:
    inboxes = [await h.subscribe(TOPIC) for h in hosts]
    await _wait(lambda: all(len(h.topic_peers(TOPIC)) == len(hosts) - 1 for h in hosts), 30, "subscriptions")
    await trio.sleep(2.5)  # two heartbeats: the mesh is built
    expected = messages * (len(hosts) - 1)
    received = [0] * len(hosts)

    async def drain(index: int) -> None:
        async for _ in inboxes[index]:
            received[index] += 1

    async with trio.open_nursery() as nursery:
        for index in range(len(hosts)):
            nursery.start_soon(drain, index)
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(messages):
            sender = hosts[n % len(hosts)]
            await sender.publish(TOPIC, n.to_bytes(4, "big") + bytes(size - 4))
            await trio.sleep(pace)
        await _wait(lambda: sum(received) >= expected, 120, "gossip deliveries")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        nursery.cancel_scope.cancel()
    return cpu, wall


async def _direct_round(hosts: list[P2PHost], messages: int, size: int, pace: float) -> tuple[float, float]:
    received = [0] * len(hosts)
    for index, host in enumerate(hosts):

        async def handler(peer: str, frame: bytes, index: int = index) -> None:
            received[index] += 1

        host.set_frames_handler(
            PROTOCOL, handler, max_frame_bytes=1 << 20, max_frames=1 << 30, idle_timeout=600
        )
    outboxes: dict[tuple[int, int], trio.MemorySendChannel[bytes]] = {}
    expected = messages * (len(hosts) - 1)
    async with trio.open_nursery() as nursery:
        for i, host in enumerate(hosts):
            for j, peer in enumerate(hosts):
                if i == j:
                    continue
                send, receive = trio.open_memory_channel[bytes](messages + 1)
                outboxes[(i, j)] = send

                async def next_frame(receive: trio.MemoryReceiveChannel[bytes] = receive) -> bytes | None:
                    try:
                        return await receive.receive()
                    except trio.EndOfChannel:
                        return None

                nursery.start_soon(
                    lambda h=host, p=peer.peer_id, f=next_frame: h.stream_frames(p, PROTOCOL, f)
                )
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(messages):
            i = n % len(hosts)
            data = n.to_bytes(4, "big") + bytes(size - 4)
            for j in range(len(hosts)):
                if j != i:
                    outboxes[(i, j)].send_nowait(data)
            await trio.sleep(pace)
        await _wait(lambda: sum(received) >= expected, 120, "direct deliveries")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        for send in outboxes.values():
            send.close()
    return cpu, wall


async def _run(members: int, messages: int, size: int, pace: float, rounds: int) -> dict[str, object]:
    out: dict[str, list[float]] = {"gossip_us": [], "direct_us": [], "gossip_wall_s": [], "direct_wall_s": []}
    deliveries = messages * (members - 1)
    for _ in range(rounds):
        for path in ("gossip", "direct"):
            with tempfile.TemporaryDirectory() as tmp:
                async with AsyncExitStack() as stack:
                    hosts = [
                        await stack.enter_async_context(open_host(_config(Path(tmp), i)))
                        for i in range(members)
                    ]
                    await _mesh(hosts)
                    work = _gossip_round if path == "gossip" else _direct_round
                    cpu, wall = await work(hosts, messages, size, pace)
            out[f"{path}_us"].append(cpu / deliveries * 1e6)
            out[f"{path}_wall_s"].append(wall)
            print(
                f"{path:>6}: {cpu / deliveries * 1e6:8.1f} µs CPU per delivery, {wall:6.2f} s wall",
                flush=True,
            )
    gossip, direct = statistics.median(out["gossip_us"]), statistics.median(out["direct_us"])
    return {
        "members": members,
        "messages": messages,
        "size": size,
        "deliveries": deliveries,
        "gossip_cpu_us_per_delivery": round(gossip, 1),
        "direct_cpu_us_per_delivery": round(direct, 1),
        "ratio": round(gossip / direct, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures (module docstring); the last line is one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=8, help="hosts in the committee (default 8)")
    parser.add_argument("--messages", type=int, default=200, help="messages per path (default 200)")
    parser.add_argument("--size", type=int, default=800, help="bytes per message (default 800)")
    parser.add_argument("--pace-ms", type=float, default=5.0, help="pause between publishes (default 5 ms)")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions; medians are reported (default 3)")
    args = parser.parse_args(argv)
    if args.members < 2 or args.messages < 1 or args.size < 4 or args.rounds < 1 or args.pace_ms < 0:
        parser.error("need --members >= 2, --messages >= 1, --size >= 4, --rounds >= 1, --pace-ms >= 0")
    result = trio.run(_run, args.members, args.messages, args.size, args.pace_ms / 1000, args.rounds)
    print(
        f"median CPU per delivery: gossip {result['gossip_cpu_us_per_delivery']} µs, "
        f"direct {result['direct_cpu_us_per_delivery']} µs, ratio {result['ratio']}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
