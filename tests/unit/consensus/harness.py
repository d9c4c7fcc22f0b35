"""A tiny in-process driver for consensus cores (tests only; the real simulator is ``harmony.sim``).

Messages go through a priority queue in virtual time with a fixed latency; ``drop`` decides per delivery.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from harmony.consensus.api import (
    Broadcast,
    ChainTip,
    Commit,
    ConsensusConfig,
    DoubleSignDetected,
    Effect,
    MemoryLogStore,
    MemorySignerStore,
    RequestProposal,
    RequestSync,
    Send,
    SetTimer,
    Timer,
    build_proposal,
    create_core,
    genesis_tip,
)
from harmony.consensus.core import ConsensusCore
from harmony.crypto.bls import SecretKey
from harmony.encoding.fixed import Dec
from harmony.types.header import Header
from harmony.types.shard_state import Committee, Slot


def make_keys(n: int, salt: int = 0) -> list[SecretKey]:
    return [SecretKey.key_gen(bytes([i % 256, i // 256, salt]) * 11) for i in range(n)]


def make_committee(
    keys: list[SecretKey], owners: list[int] | None = None, stakes: list[int] | None = None
) -> Committee:
    owners = owners if owners is not None else list(range(len(keys)))
    slots = tuple(
        Slot(
            bytes([owners[i] % 256, owners[i] // 256]) + bytes(18),
            k.public_key.data,
            None if stakes is None else Dec.from_int(stakes[i]),
        )
        for i, k in enumerate(keys)
    )
    return Committee(0, slots)


GENESIS = Header.genesis(shard_id=0)


@dataclass
class Node:
    core: ConsensusCore
    config: ConsensusConfig
    signer_store: MemorySignerStore
    log_store: MemoryLogStore
    chain: list[Commit] = field(default_factory=list)
    evidence: list[DoubleSignDetected] = field(default_factory=list)
    up: bool = True


class Net:
    def __init__(
        self,
        n_keys: int = 4,
        *,
        key_owner: list[int] | None = None,
        latency: int = 10,
        phase_timeout: int = 1000,
        stakes: list[int] | None = None,
    ) -> None:
        self.keys = make_keys(n_keys)
        owner = key_owner if key_owner is not None else list(range(n_keys))
        self.committee = make_committee(self.keys, owner, stakes)
        self.latency = latency
        self.now = 0
        self.queue: list[tuple[int, int, int, str, object]] = []
        self.seq = 0
        self.drop: Callable[[int, int, object], bool] = lambda src, dst, msg: False
        self.key_node: dict[bytes, int] = {}
        self.nodes: list[Node] = []
        self.timers: dict[tuple[int, object], Timer] = {}
        for node_id in sorted(set(owner)):
            mine = tuple(k for k, o in zip(self.keys, owner, strict=True) if o == node_id)
            cfg = ConsensusConfig(
                shard_id=0,
                epoch=0,
                committee=self.committee,
                keys=mine,
                phase_timeout_ms=phase_timeout,
                view_change_timeout_ms=phase_timeout,
            )
            ss, ls = MemorySignerStore(), MemoryLogStore()
            core = create_core(cfg, ss, ls, genesis_tip(GENESIS))
            self.nodes.append(Node(core, cfg, ss, ls))
            for k in mine:
                self.key_node[k.public_key.data] = len(self.nodes) - 1

    def push(self, at: int, kind: str, dst: int, payload: object) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, dst, kind, payload))

    def apply(self, src: int, effects: list[Effect]) -> None:
        todo = list(effects)
        while todo:
            e = todo.pop(0)
            node = self.nodes[src]
            if isinstance(e, Broadcast):
                for dst in range(len(self.nodes)):
                    if dst != src and not self.drop(src, dst, e.message):
                        self.push(self.now + self.latency, "msg", dst, e.message.encode())
            elif isinstance(e, Send):
                dst = self.key_node[e.to]
                if not self.drop(src, dst, e.message):
                    self.push(self.now + self.latency, "msg", dst, e.message.encode())
            elif isinstance(e, SetTimer):
                self.push(max(e.at, self.now), "timer", src, e.timer)
            elif isinstance(e, RequestProposal):
                todo += node.core.on_proposal(build_proposal(e, time=self.now // 1000), self.now)
            elif isinstance(e, Commit):
                node.chain.append(e)
            elif isinstance(e, RequestSync):
                best = max(self.nodes, key=lambda n: len(n.chain))
                for c in best.chain[e.from_height - 1 :]:
                    todo += node.core.on_sync_block(c.block, c.commit_signature, c.bitmap, self.now)
            elif isinstance(e, DoubleSignDetected):
                node.evidence.append(e)

    def start(self) -> None:
        for i, node in enumerate(self.nodes):
            self.apply(i, node.core.start(self.now))

    def run(self, until: int, stop: Callable[[], bool] | None = None) -> None:
        while self.queue and self.queue[0][0] <= until:
            at, _, dst, kind, payload = heapq.heappop(self.queue)
            self.now = at
            node = self.nodes[dst]
            if not node.up:
                continue
            if kind == "msg":
                assert isinstance(payload, bytes)
                self.apply(dst, node.core.on_message(payload, self.now))
            else:
                assert isinstance(payload, Timer)
                self.apply(dst, node.core.on_timer(payload, self.now))
            if stop is not None and stop():
                return

    def heights(self) -> list[int]:
        return [len(n.chain) for n in self.nodes]

    def restart(self, i: int) -> None:
        node = self.nodes[i]
        tip = genesis_tip(GENESIS)
        if node.chain:
            c = node.chain[-1]
            tip = ChainTip(c.block.header, c.commit_signature, c.bitmap, c.view_id)
        node.core = create_core(node.config, node.signer_store, node.log_store, tip)
        node.up = True
        self.apply(i, node.core.start(self.now))

    def assert_safe(self) -> None:
        by_height: dict[int, bytes] = {}
        for n in self.nodes:
            for c in n.chain:
                h = c.block.hash()
                assert by_height.setdefault(c.height, h) == h, f"fork at height {c.height}"
