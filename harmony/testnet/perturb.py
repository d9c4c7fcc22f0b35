"""Carrying out a manifest's perturbations on a running testnet, each in its own thread, with a record of
when each began and was healed (for the liveness check and the timeline).

* kill: SIGKILL, then start again after ``duration_s``; pause: SIGSTOP, SIGCONT after ``duration_s``;
* disconnect: the named nodes become one side of a partition, healed after ``duration_s``;
* restart: a clean stop (SIGTERM) and a start;
* upgrade: each named validator in turn is handed over to the other build (started beside the old process,
  which is stopped once the new one has loaded and waits for the data directory: ``Fleet.hand_over``), and
  the next waits until it has caught up with its shard and its key signs again: a block finalized after it
  stopped carries its commit signature (the operator's rolling upgrade, who watches ``harmony validator
  status`` before moving on; the gap per node is measured). Caught up alone is not enough: while the shard
  is stalled its head does not move, so a restarted node is "caught up" at once, and taking the next
  validator down then leaves a 4-key committee two keys short of a quorum (measured: a 66 s gap on shard 1);
* byzantine: the validator is restarted with ``debug.equivocate`` on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harmony.cli.devnet import rpc_call
from harmony.testnet.fleet import Fleet, Substrate
from harmony.testnet.manifest import Kind, Manifest, Perturbation
from harmony.testnet.observe import first_signed, signer_address

CATCH_UP_S = 90.0
"""How long an upgraded validator may take to catch up before the upgrade moves on (recorded, not fatal)."""
SIGNING_AGAIN_S = 60.0
"""How long an upgraded validator that caught up may take to sign a block before the upgrade moves on
(recorded, not fatal)."""
CATCH_UP_AT_END_S = 20.0
"""The same once the run has ended (the runner is healing everything and waits for nobody long)."""


@dataclass
class Event:
    """One perturbation as it happened (seconds since the load started)."""

    kind: str
    nodes: tuple[str, ...]
    began: float | None = None
    healed: float | None = None
    note: str = ""
    upgrades: list[dict[str, float | int | str | None]] = field(default_factory=list)


class Perturber:
    """Runs every perturbation of a manifest against a fleet."""

    def __init__(
        self,
        manifest: Manifest,
        fleet: Fleet,
        substrate: Substrate,
        heads: Callable[[], dict[int, int]],
        *,
        start: float,
        default_build: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.fleet = fleet
        self.substrate = substrate
        self.heads = heads
        self.start = start
        self.default_build = default_build
        self.stop = threading.Event()
        self.stop_time = float("inf")
        self.events = [Event(str(p.kind), p.nodes) for p in manifest.perturbations]
        self.thread = threading.Thread(target=self._run_all, name="testnet-perturb", daemon=True)
        self.net_lock = threading.Lock()
        self.errors: list[str] = []

    def now(self) -> float:
        """Seconds since the load started."""
        return time.monotonic() - self.start

    def begin(self) -> None:
        """Start the perturbations' thread (each waits for its moment)."""
        self.thread.start()

    def active(self) -> list[str]:
        """Perturbations begun and not yet healed, for the progress display."""
        return [
            f"{e.kind} {','.join(e.nodes)}" for e in self.events if e.began is not None and e.healed is None
        ]

    def heals(self) -> list[float]:
        """The moments perturbations ended."""
        return sorted(e.healed for e in self.events if e.healed is not None)

    def out_of_service(self) -> dict[str, list[tuple[int, int]]]:
        """Per upgraded validator, the heights it could not sign (inclusive): from the block after the head
        at its stop until the block before the first it signed again (to any height if it never did)."""
        out: dict[str, list[tuple[int, int]]] = {}
        for e in self.events:
            for u in e.upgrades:
                first, signed = u.get("stopped_height"), u.get("signed_height")
                if isinstance(first, int):
                    last = signed - 1 if isinstance(signed, int) else 1 << 62
                    out.setdefault(str(u["node"]), []).append((first + 1, last))
        return out

    def finish(self, timeout: float) -> None:
        """Ask every perturbation to end now (undoing what is in effect) and wait for the threads."""
        self.stop_time = time.monotonic()
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _wait_trigger(self, p: Perturbation) -> bool:
        while not self.stop.is_set():
            if p.at_s is not None and self.now() >= p.at_s:
                return True
            if p.at_height is not None and self.heads().get(p.shard, -1) >= p.at_height:
                return True
            if p.at_height is not None and self.now() > self.manifest.duration_s:
                return False  # the height did not come while the load ran
            self.stop.wait(0.2)
        return False

    def _run_all(self) -> None:
        """One perturbation at a time, in the manifest's order (as CometBFT's e2e runner does): each begins
        at its time or height, but not before the nodes the one before touched are back and caught up."""
        for p, event in zip(self.manifest.perturbations, self.events, strict=True):
            self._run(p, event)

    def _run(self, p: Perturbation, event: Event) -> None:
        if not self._wait_trigger(p):
            event.note = "not triggered before the run ended"
            return
        event.began = self.now()
        try:
            self._do(p, event)
        except Exception as exc:  # recorded in the report; the run and its teardown go on
            self.errors.append(f"{p.kind} {','.join(p.nodes)}: {exc}")
            event.note = f"failed: {exc}"
        if event.healed is None:
            event.healed = self.now()
        if p.kind is not Kind.UPGRADE:  # an upgrade waits for each node itself
            for name in p.nodes:
                node = self.fleet.nodes[name]
                if node.spec.fenced_out:
                    continue  # outside its shard's fence: it never catches up, by design
                if self._caught_up(node.http, node.spec.shard) is None:
                    event.note = (event.note + f" {name} not caught up").strip()

    def _hold(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def _do(self, p: Perturbation, event: Event) -> None:
        fleet = self.fleet
        undo: dict[Kind, tuple[Callable[[str], None], Callable[[str], None]]] = {
            Kind.KILL: (fleet.kill, fleet.start),
            Kind.PAUSE: (fleet.pause, fleet.resume),
        }
        if p.kind in undo:
            do, undo_it = undo[p.kind]
            for name in p.nodes:
                do(name)
            self._hold(p.duration_s)
            for name in p.nodes:
                undo_it(name)
        elif p.kind is Kind.DISCONNECT:
            with self.net_lock:
                self.substrate.partition([list(p.nodes)])
            self._hold(p.duration_s)
            with self.net_lock:
                self.substrate.heal()
        elif p.kind is Kind.RESTART:
            for name in p.nodes:
                fleet.stop(name)
                fleet.start(name)
        elif p.kind is Kind.BYZANTINE:
            (name,) = p.nodes
            if not fleet.nodes[name].toml.equivocate:  # at_s = 0: it started byzantine
                fleet.stop(name)
                fleet.start(name, equivocate=True)
        elif p.kind is Kind.UPGRADE:
            self._upgrade(p, event)
        event.healed = self.now()

    def _upgrade(self, p: Perturbation, event: Event) -> None:
        build = p.build or self.default_build
        for name in p.nodes:
            if self.stop.is_set():
                event.note = "cut short by the end of the run"
                return
            node = self.fleet.nodes[name]
            stopped_height = self.heads().get(node.spec.shard, 0)
            told = self.fleet.hand_over(name, build=build)
            stopped = told - self.start
            stopped_height = max(stopped_height, self.heads().get(node.spec.shard, 0))
            started = self.now()
            # the block in flight at the stop may carry the old process's commit signature
            after = max(stopped_height + 1, self.heads().get(node.spec.shard, 0))
            caught = self._caught_up(node.http, node.spec.shard)
            signed = None
            if caught is not None:
                signed = self._signs_again(node.http, node.spec.shard, node.spec.index, after)
            event.upgrades.append(
                {
                    "node": name,
                    "stopped": stopped,
                    "stopped_height": stopped_height,
                    "started": started,
                    "caught_up": caught,
                    "signing": signed[0] if signed is not None else None,
                    "signed_height": signed[1] if signed is not None else None,
                    "build": str(build) if build is not None else "this checkout",
                }
            )

    def _signs_again(self, url: str, shard: int, index: int, after: int) -> tuple[float, int] | None:
        """Wait until a block above height ``after`` carries the commit signature of validator ``index``
        (read from the node itself); the moment and that height, or None after :data:`SIGNING_AGAIN_S`."""
        signer = signer_address(shard, index)
        deadline = time.monotonic() + SIGNING_AGAIN_S
        checked = after
        while time.monotonic() < deadline:
            if self.stop.is_set():
                deadline = min(deadline, self.stop_time + CATCH_UP_AT_END_S)
            try:
                head = int(rpc_call(url, "hmyv2_blockNumber", [], 3.0))
                found = first_signed(url, signer, checked + 1, head)
                if found is not None:
                    return self.now(), found
                checked = max(checked, head)
            except (OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.5)
        return None

    def _caught_up(self, url: str, shard: int) -> float | None:
        """Wait until the node at ``url`` has the shard's head; the moment, or None after CATCH_UP_S."""
        deadline = time.monotonic() + CATCH_UP_S
        while time.monotonic() < deadline:
            if self.stop.is_set():
                deadline = min(deadline, self.stop_time + CATCH_UP_AT_END_S)
            try:
                if int(rpc_call(url, "hmyv2_blockNumber", [], 3.0)) >= self.heads().get(shard, 0):
                    return self.now()
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        return None
