"""Consensus tests on the node's driver: N :class:`~harmony.node.consensus_driver.ConsensusDriver` over a
:class:`~harmony.sim.ledger.MemoryLedger`, a virtual clock and an in-memory transport.

Messages and timers go through one priority queue in virtual time with a fixed latency; ``drop`` decides per
delivery. (The full simulator, with faults, skewed clocks and Byzantine nodes, is ``harmony.sim``.)
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from harmony.consensus.api import Commit, ConsensusConfig, MemoryLogStore, MemorySignerStore, Timer, TimerKind
from harmony.consensus.core import ConsensusCore
from harmony.consensus.messages import Message
from harmony.crypto.bls import SecretKey
from harmony.encoding.fixed import Dec
from harmony.node.consensus_driver import ConsensusDriver
from harmony.sim.ledger import MemoryLedger
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
    driver: ConsensusDriver
    config: ConsensusConfig
    signer_store: MemorySignerStore
    log_store: MemoryLogStore
    ledger: MemoryLedger
    up: bool = True
    armed: list[tuple[Timer, int, int]] = field(default_factory=list)
    """Every timer the driver armed: (timer, deadline, when it was armed), in order."""

    @property
    def core(self) -> ConsensusCore:
        return self.driver.core

    @property
    def chain(self) -> list[Commit]:
        return self.ledger.blocks


class _Timers:
    """A node's timers on the queue (a stale or cancelled one reaches the core, which ignores it)."""

    def __init__(self, net: Net, node: int) -> None:
        self.net, self.node = net, node

    def set(self, timer: Timer, at: int) -> None:
        self.net.nodes[self.node].armed.append((timer, at, self.net.now))
        self.net.push(max(at, self.net.now), "timer", self.node, timer)

    def cancel(self, kind: TimerKind) -> None:
        pass

    def clear(self) -> None:
        pass


class _Transport:
    """A node's messages on the queue, ``latency`` later, unless ``net.drop`` says otherwise."""

    def __init__(self, net: Net, node: int) -> None:
        self.net, self.node = net, node

    def _to(self, dst: int, message: Message) -> None:
        if not self.net.drop(self.node, dst, message):
            delay = self.net.latency + self.net.delay(self.node, dst, message)
            self.net.push(self.net.now + delay, "msg", dst, message.encode())

    def broadcast(self, message: Message) -> None:
        for dst in range(len(self.net.nodes)):
            if dst != self.node:
                self._to(dst, message)

    def send(self, to: bytes, message: Message) -> None:
        self._to(self.net.key_node[to], message)

    def publish(self, data: bytes) -> None:
        pass


class Net:
    def __init__(
        self,
        n_keys: int = 4,
        *,
        key_owner: list[int] | None = None,
        latency: int = 10,
        phase_timeout: int = 1000,
        stakes: list[int] | None = None,
        block_time: int = 0,
        commit_window: int = 0,
    ) -> None:
        self.keys = make_keys(n_keys)
        owner = key_owner if key_owner is not None else list(range(n_keys))
        self.committee = make_committee(self.keys, owner, stakes)
        self.latency = latency
        self.now = 0
        self.queue: list[tuple[int, int, int, str, object]] = []
        self.seq = 0
        self.drop: Callable[[int, int, object], bool] = lambda src, dst, msg: False
        self.delay: Callable[[int, int, Message], int] = lambda src, dst, msg: 0
        """Extra latency (ms) of one delivery, on top of ``latency``."""
        self.key_node: dict[bytes, int] = {}
        self.nodes: list[Node] = []
        for node_id in sorted(set(owner)):
            mine = tuple(k for k, o in zip(self.keys, owner, strict=True) if o == node_id)
            cfg = ConsensusConfig(
                shard_id=0,
                epoch=0,
                committee=self.committee,
                keys=mine,
                phase_timeout_ms=phase_timeout,
                view_change_timeout_ms=phase_timeout,
                block_time_ms=block_time,
                commit_window_ms=commit_window,
            )
            index = len(self.nodes)
            ss, ls, ledger = MemorySignerStore(), MemoryLogStore(), MemoryLedger(GENESIS)
            self.nodes.append(Node(self._driver(index, cfg, ss, ls, ledger), cfg, ss, ls, ledger))
            for k in mine:
                self.key_node[k.public_key.data] = index

    def _driver(
        self,
        i: int,
        cfg: ConsensusConfig,
        ss: MemorySignerStore,
        ls: MemoryLogStore,
        ledger: MemoryLedger,
    ) -> ConsensusDriver:
        driver = ConsensusDriver(
            ledger=ledger,
            transport=_Transport(self, i),
            config=cfg,
            signer_store=ss,
            log_store=ls,
            timers=_Timers(self, i),
            clock_ms=lambda: self.now,
            work_clock=lambda: self.now / 1000,
        )
        driver.on_sync_request = lambda height: self._sync(i, height)
        return driver

    def _sync(self, index: int, from_height: int) -> None:
        self.push(self.now + self.latency, "sync", index, from_height)

    def push(self, at: int, kind: str, dst: int, payload: object) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, dst, kind, payload))

    def start(self) -> None:
        for node in self.nodes:
            node.driver.start()

    def run(self, until: int, stop: Callable[[], bool] | None = None) -> None:
        while self.queue and self.queue[0][0] <= until:
            at, _, dst, kind, payload = heapq.heappop(self.queue)
            self.now = at
            node = self.nodes[dst]
            if not node.up:
                continue
            if kind == "msg":
                assert isinstance(payload, bytes)
                node.driver.on_message(payload)
            elif kind == "sync":  # the longest chain answers at once
                assert isinstance(payload, int)
                best = max(self.nodes, key=lambda n: len(n.chain))
                for c in best.chain[payload - 1 :]:
                    node.driver.sync_block(c.block, c.commit_signature, c.bitmap)
            else:
                assert isinstance(payload, Timer)
                node.driver.on_timer(payload)
            if stop is not None and stop():
                return

    def heights(self) -> list[int]:
        return [len(n.chain) for n in self.nodes]

    def restart(self, i: int) -> None:
        node = self.nodes[i]
        node.driver = self._driver(i, node.config, node.signer_store, node.log_store, node.ledger)
        node.up = True
        node.driver.start()

    def assert_safe(self) -> None:
        by_height: dict[int, bytes] = {}
        for n in self.nodes:
            for c in n.chain:
                h = c.block.hash()
                assert by_height.setdefault(c.height, h) == h, f"fork at height {c.height}"
