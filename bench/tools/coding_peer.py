"""One host of ``bench/coding.py --mbit/--latency-ms``: a py-libp2p host in its own network namespace that
serves the coded broadcast and the gossip topic, driven by the benchmark over its stdin and stdout.

Not for use on its own. Lines it reads:

* ``coded <number> <seed> <bytes>`` / ``gossip <number> <seed> <bytes>`` (the leader): broadcast the block
  ``block_bytes(bytes, seed)`` as block ``number`` by that path;
* anything else: ``error: ...``, and the next line.

Lines it prints: ``ready`` (connected to the hosts before it and serving; the leader also waits until every
member is on the topic and the mesh had a few heartbeats), ``sent <mode> <hash> <unix seconds>`` (the
leader, when it starts a block), ``got <mode> <hash> <unix seconds>`` (a member holds a block).
``<hash>`` is the block's Keccak-256, first 8 bytes in hex. (The benchmark reads the leader's upload from
its namespace's ``/proc/<pid>/net/dev``.) Every namespace shares this machine's clock.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harmony.crypto.keccak import keccak256
from harmony.p2p.coded_assembly import Round
from harmony.p2p.coded_broadcast import CodedBroadcast, CodedConfig, open_coded_broadcast
from harmony.p2p.coding import SymbolCommitment
from harmony.p2p.errors import P2PError
from harmony.p2p.host import P2PConfig, P2PHost, open_host
from tests.unit.p2p.coded_helpers import block_bytes, resolver, signer

TOPIC = "bench/coding/blocks"
PROTOCOL = "harmony/coded/bench/1/1.0.0"


def say(line: str) -> None:
    """One line to the benchmark."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def block_id(data: bytes) -> str:
    """How the lines name a block."""
    return keccak256(data)[:8].hex()


async def _never(_: SymbolCommitment) -> bytes | None:
    return None


async def _dial(host: P2PHost, addr: str) -> None:
    for attempt in range(5):
        try:
            await host.connect(addr, timeout=15.0)
            return
        except P2PError:
            if attempt == 4:
                raise
            await trio.sleep(1.0)


async def _report_coded(coded: CodedBroadcast) -> None:
    async for delivery in coded.deliveries:
        say(f"got coded {block_id(delivery.data)} {time.time():.6f}")


async def _report_gossip(inbox: Any) -> None:
    async for message in inbox:
        say(f"got gossip {block_id(message.data)} {time.time():.6f}")


async def _lead(host: P2PHost, coded: CodedBroadcast, round_: Round, members: int) -> None:
    with trio.move_on_after(60):
        while len(host.topic_peers(TOPIC)) < members:
            await trio.sleep(0.2)
    await trio.sleep(3)  # a few heartbeats build the gossip mesh
    say("ready")
    stdin = trio.wrap_file(sys.stdin)
    while line := (await stdin.readline()).split():
        try:
            mode, number, seed, size = line[0], int(line[1]), int(line[2]), int(line[3])
            if mode not in ("coded", "gossip") or not 1 <= number < 1000 or not 1 <= size <= 2**21:
                raise ValueError(mode)
        except (IndexError, ValueError):
            say(f"error: not a command: {' '.join(line)!r}")
            continue
        data = block_bytes(size, seed=seed)
        say(f"sent {mode} {block_id(data)} {time.time():.6f}")
        if mode == "coded":
            await coded.broadcast(
                data, shard_id=1, block_number=number, view_id=0, round_=round_, sign=signer()
            )
        else:
            await host.publish(TOPIC, data)


async def run(args: argparse.Namespace) -> None:
    """Open the host, dial the hosts before this one, serve, and (the leader) take commands."""
    config = P2PConfig(
        key_path=Path(args.key),
        listen_host=args.ip,
        port=args.port,
        discovery_interval_seconds=600.0,
        max_message_bytes=4 * 1024 * 1024,
    )
    async with open_host(config) as host:
        async with trio.open_nursery() as nursery:
            for addr in filter(None, args.dial.split(",")):
                nursery.start_soon(_dial, host, addr)
        peers = args.round.split(",")
        round_ = Round(peers[0], tuple(peers[1:]))
        inbox = await host.subscribe(TOPIC)
        config_coded = CodedConfig(overhead_percent=args.overhead, decode_timeout=120.0)
        async with open_coded_broadcast(
            host, PROTOCOL, resolve=resolver(), fallback=_never, config=config_coded
        ) as coded:
            if host.peer_id == round_.leader:
                await _lead(host, coded, round_, len(round_.members))
                return
            say("ready")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_report_coded, coded)
                nursery.start_soon(_report_gossip, inbox)
                await trio.wrap_file(sys.stdin).readline()  # the benchmark closes stdin at the end
                nursery.cancel_scope.cancel()


def main() -> None:
    """Parse the arguments and run until stdin closes."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--key", required=True, help="the host's peer key file")
    parser.add_argument("--ip", required=True, help="the address to listen on")
    parser.add_argument("--port", type=int, default=9100, help="the TCP port (default 9100)")
    parser.add_argument("--dial", default="", help="multiaddrs of the hosts to dial, comma-separated")
    parser.add_argument(
        "--round", required=True, help="peer IDs of the leader and the members, comma-separated"
    )
    parser.add_argument("--overhead", type=int, default=30, help="repair symbols in %% of K")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    trio.run(run, args)


if __name__ == "__main__":
    main()
