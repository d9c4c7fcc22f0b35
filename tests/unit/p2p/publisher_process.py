"""A peer in its own process for the restart tests: ``python -m tests.unit.p2p.publisher_process DIR
BOOTNODE COUNT TAG [--libp2p-seqnos]`` opens a host with the key in DIR, waits until it knows the
bootnode's topic ``t``, publishes COUNT messages ``TAG i`` (10 ms apart), waits 2 s and exits. A restart
is this run again with the same DIR (so the same peer ID), the old process gone as after an upgrade."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import trio

from harmony.p2p.host import open_host
from tests.unit.p2p.harness import config, run, wait_until


def main(argv: list[str]) -> None:
    """Run the peer (module docstring)."""
    folder, bootnode, count, tag = Path(argv[0]), argv[1], int(argv[2]), argv[3]

    async def body() -> None:
        async with open_host(
            config(folder, "b", bootnodes=(bootnode,), discovery_interval_seconds=600.0)
        ) as b:
            if "--libp2p-seqnos" in argv:
                b._pubsub.counter = int(time.time())  # py-libp2p's own start
            await b.subscribe("t")
            await wait_until(lambda: bool(b.topic_peers("t")), what="the bootnode's topic")
            for i in range(count):
                await b.publish("t", f"{tag} {i}".encode())
                await trio.sleep(0.01)
            await trio.sleep(2.0)

    run(body)


if __name__ == "__main__":
    main(sys.argv[1:])
