"""Consensus cost: CPU time per finalized block for the leader and a validator (real BLS), and simulated
time to finality for a given one-way network latency.

Cores are driven in-process, one core per committee key, with a zero-fault in-memory network; CPU time
is measured (``time.process_time``) around each core's own calls, so the leader's and a validator's share
are separated. Committees of 4, 50 and 250 keys. The last line is one JSON object.
"""

from __future__ import annotations

import heapq
import json
import sys
import time
from dataclasses import dataclass

from harmony.consensus.api import (
    Broadcast,
    Commit,
    ConsensusConfig,
    Effect,
    MemoryLogStore,
    MemorySignerStore,
    RequestProposal,
    Send,
    SetTimer,
    Timer,
    build_proposal,
    create_core,
    genesis_tip,
)
from harmony.consensus.core import ConsensusCore
from harmony.crypto.bls import SecretKey
from harmony.types.header import Header
from harmony.types.shard_state import Committee, Slot

BLOCKS = 3


@dataclass
class Result:
    keys: int
    leader_ms_per_block: float
    validator_ms_per_block: float
    finality_ms: float


def run(n: int, latency_ms: int, blocks: int = BLOCKS) -> Result:
    keys = [SecretKey.key_gen(i.to_bytes(4, "big") * 8) for i in range(n)]
    committee = Committee(
        0, tuple(Slot(i.to_bytes(20, "big"), k.public_key.data) for i, k in enumerate(keys))
    )
    genesis = Header.genesis(shard_id=0)
    cores: list[ConsensusCore] = []
    for k in keys:
        cfg = ConsensusConfig(shard_id=0, epoch=0, committee=committee, keys=(k,), phase_timeout_ms=10**9)
        cores.append(create_core(cfg, MemorySignerStore(), MemoryLogStore(), genesis_tip(genesis)))
    index = {k.public_key.data: i for i, k in enumerate(keys)}
    cpu = [0.0] * n
    leaders: dict[int, int] = {}  # height -> leader node
    commits: dict[int, int] = {}  # node 0's commit time per height
    queue: list[tuple[int, int, int, object]] = []
    seq = 0
    now = 0

    def apply(src: int, effects: list[Effect]) -> None:
        nonlocal seq
        todo = list(effects)
        while todo:
            e = todo.pop(0)
            if isinstance(e, Broadcast):
                data = e.message.encode()
                for dst in range(n):
                    if dst != src:
                        seq += 1
                        heapq.heappush(queue, (now + latency_ms, seq, dst, data))
            elif isinstance(e, Send):
                seq += 1
                heapq.heappush(queue, (now + latency_ms, seq, index[e.to], e.message.encode()))
            elif isinstance(e, RequestProposal):
                leaders[e.height] = src
                t = time.process_time()
                more = cores[src].on_proposal(build_proposal(e), now)
                cpu[src] += time.process_time() - t
                todo += more
            elif isinstance(e, Commit) and src == 0:
                commits[e.height] = now
            elif isinstance(e, SetTimer):
                pass  # no timeouts in a fault-free run

    for i, core in enumerate(cores):
        t = time.process_time()
        effects = core.start(0)
        cpu[i] += time.process_time() - t
        apply(i, effects)
    per_node_height_cpu: dict[tuple[int, int], float] = {}
    while queue and len(commits) < blocks:
        now, _, dst, payload = heapq.heappop(queue)
        height = cores[dst].height
        t = time.process_time()
        if isinstance(payload, Timer):
            effects = cores[dst].on_timer(payload, now)
        else:
            assert isinstance(payload, bytes)
            effects = cores[dst].on_message(payload, now)
        spent = time.process_time() - t
        cpu[dst] += spent
        per_node_height_cpu[(dst, height)] = per_node_height_cpu.get((dst, height), 0.0) + spent
        apply(dst, effects)
    leader_cost: list[float] = []
    validator_cost: list[float] = []
    for height, leader in leaders.items():
        if height > blocks:
            continue
        leader_cost.append(per_node_height_cpu.get((leader, height), 0.0))
        others = [per_node_height_cpu.get((i, height), 0.0) for i in range(n) if i != leader]
        validator_cost.append(sum(others) / len(others))
    finality = [commits[h] - commits.get(h - 1, 0) for h in sorted(commits)]
    return Result(
        n,
        1000 * sum(leader_cost) / len(leader_cost),
        1000 * sum(validator_cost) / len(validator_cost),
        sum(finality) / len(finality),
    )


def main() -> None:
    latency = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    sizes = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [4, 50, 250]
    out: dict[str, object] = {"latency_ms": latency, "blocks": BLOCKS}
    for n in sizes:
        r = run(n, latency)
        print(
            f"{n:4d} keys: leader {r.leader_ms_per_block:8.1f} ms CPU/block, "
            f"validator {r.validator_ms_per_block:7.1f} ms CPU/block, "
            f"simulated time to finality {r.finality_ms:.0f} ms at {latency} ms latency"
        )
        out[f"keys_{n}"] = {
            "leader_cpu_ms_per_block": round(r.leader_ms_per_block, 2),
            "validator_cpu_ms_per_block": round(r.validator_ms_per_block, 2),
            "sim_time_to_finality_ms": round(r.finality_ms, 1),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
