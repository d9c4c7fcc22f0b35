"""The node's side of the epoch randomness (design §7): the VDF prover in a child process.

The rules live in the chain layer: :mod:`harmony.chain.randomness` over values and
:mod:`harmony.chain.epoch_randomness` over the stored headers (the seeds, the election's assignment, a
block's VRF and VDF checks). This module holds
:class:`VDFService`: it evaluates the VDF of the seed of the epoch that just ended, in a child process (the
``chiavdf`` prover holds the GIL, and a process can be killed when the work is no longer wanted), and
hands the proposer the header ``vdf`` field (:meth:`VDFService.vdf_field_for`), at the difficulty of the
network's rules (the genesis file's ``vdf_iterations``).

**Who computes.** Only nodes created with ``compute=True`` run the prover; any of them whose leader slot
falls in the window publishes the proof. With nobody computing (or nobody finishing before the window's
deadline), the fallback rule applies (:func:`~harmony.chain.randomness.fallback_randomness`): resharding
goes on, with randomness that was predictable once the seed was known.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from harmony.chain import randomness as rnd
from harmony.chain.epoch_randomness import epoch_seed_for, vdf_iterations_for, vdf_published
from harmony.chain.params import NetworkParams
from harmony.crypto.vdf import PROOF_SIZE, VDFProof, vdf_verify
from harmony.errors import HarmonyError
from harmony.storage.chaindb import ChainDB
from harmony.types.header import Header

log = logging.getLogger("harmony.node.randomness")

Prover = Callable[[bytes, int], Awaitable[bytes]]
"""``await prove(seed, iterations)`` → the VDF's ``output ‖ proof`` (200 bytes); may raise anything."""

KEPT_PROOFS = 2
"""How many seed epochs' proofs :class:`VDFService` keeps (the current window and the one before)."""


# -- the prover -----------------------------------------------------------------------------------------


class VDFProverError(HarmonyError):
    """The VDF prover failed (the child process exited badly or printed something that is not a proof)."""


class ProcessProver:
    """A :data:`Prover` that runs ``python -m harmony.node.vdf_child <seed-hex> <iterations> <nice>`` as a
    child process (``trio.run_process``): the trio loop keeps running while ``chiavdf`` holds the child's
    GIL, and cancelling the await kills the child. ``nice`` lowers the child's CPU priority so consensus
    keeps its share on a small machine (at the risk of missing the window: then the fallback applies); at
    :data:`~harmony.node.vdf_child.MAX_NICE` the child runs only on otherwise idle CPU (``SCHED_IDLE``), and
    it lowers its priority before its imports (:mod:`harmony.node.vdf_child`)."""

    def __init__(self, *, python: str = sys.executable, nice: int = 0) -> None:
        self.python = python
        self.nice = nice

    def command(self, seed: bytes, iterations: int) -> list[str]:
        """The child's command line."""
        return [
            self.python,
            "-m",
            "harmony.node.vdf_child",
            seed.hex(),
            str(iterations),
            str(self.nice),
        ]

    async def __call__(self, seed: bytes, iterations: int) -> bytes:
        """Run the child and return the ``output ‖ proof`` bytes it printed in hex."""
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        result = await trio.run_process(
            self.command(seed, iterations), capture_stdout=True, capture_stderr=True, check=False, env=env
        )
        if result.returncode != 0:
            tail = result.stderr.decode(errors="replace").strip()[-500:]
            raise VDFProverError(f"the VDF prover exited with {result.returncode}: {tail}")
        try:
            out = bytes.fromhex(result.stdout.decode("ascii").strip())
        except ValueError:
            raise VDFProverError("the VDF prover printed something that is not hex") from None
        if len(out) != PROOF_SIZE:
            raise VDFProverError(f"the VDF prover printed {len(out)} bytes, not {PROOF_SIZE}")
        return out


class VDFService:
    """Computes the VDF of each beacon epoch's seed in the background and offers it to the proposer.

    Call :meth:`on_commit` with every final beacon block (or :meth:`on_epoch_end` directly) and run
    :meth:`run` in the node's nursery; :meth:`vdf_field_for` gives the proposer the header field. A newer
    seed supersedes an older one still being proven (its window is over or nearly so): the old child is
    killed. Only the beacon chain's service does anything; with ``compute=False`` it never proves (the
    fallback rule covers a network where nobody does).
    """

    def __init__(
        self,
        db: ChainDB,
        params: NetworkParams,
        shard_id: int,
        *,
        compute: bool = True,
        iterations_override: int | None = None,
        prover: Prover | None = None,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if iterations_override is not None:
            vdf_iterations_for(params, 0, iterations_override)  # validates it
        self.db = db
        self.params = params
        self.shard_id = shard_id
        self.compute = compute and params.is_beacon(shard_id)
        self.iterations_override = iterations_override
        self.prover: Prover = prover if prover is not None else ProcessProver()
        self.clock_ms: Callable[[], int] = clock_ms if clock_ms is not None else _wall_ms
        self._fields: dict[int, bytes] = {}
        """Seed epoch → the verified header field (seed ‖ output ‖ proof)."""
        self._published: set[int] = set()
        """Seed epochs whose proof a stored block already carries."""
        self._seed_matches: set[int] = set()
        """Seed epochs whose proven seed was checked against the stored chain's."""
        self._pending: tuple[int, bytes] | None = None
        self._current: tuple[int, trio.CancelScope] | None = None
        self._wake = trio.Event()
        self.last_duration_ms: int | None = None
        """How long the last successful proof took (clock_ms), for logs and metrics."""
        self.failures = 0
        """Proofs that failed or did not verify."""

    @property
    def proving_epoch(self) -> int | None:
        """The seed epoch being proven now, if any (for metrics)."""
        return self._current[0] if self._current is not None else None

    # -- inputs ---------------------------------------------------------------------------------------

    def iterations(self, seed_epoch: int) -> int:
        """The difficulty for ``seed_epoch`` (:func:`vdf_iterations_for` with this service's override)."""
        return vdf_iterations_for(self.params, seed_epoch, self.iterations_override)

    def on_epoch_end(self, seed_epoch: int, seed: bytes) -> None:
        """Start proving ``seed`` of ``seed_epoch`` (whose last block is now final); ignored when not
        computing, for a seed already proven or being proven, and for an older seed than the one at work."""
        if not self.compute or seed_epoch < 0 or len(seed) != rnd.SEED_SIZE or seed_epoch in self._fields:
            return
        if self._current is not None:
            current_epoch, scope = self._current
            if current_epoch >= seed_epoch:
                return
            scope.cancel()
        if self._pending is not None and self._pending[0] >= seed_epoch:
            return
        self._pending = (seed_epoch, bytes(seed))
        self._wake.set()

    def on_commit(self, header: Header) -> None:
        """A beacon block is final and stored: at an epoch's last block, prove that epoch's seed."""
        if not self.compute or not self.params.is_last_block(header.number):
            return
        epoch = self.params.epoch_of(header.number)
        seed = epoch_seed_for(self.db, self.params, self.shard_id, epoch)
        if seed is not None:
            self.on_epoch_end(epoch, seed)

    def resume(self) -> None:
        """After a restart: when the next block falls in a window whose proof is not yet published, prove
        that window's seed again (proofs are not persisted; the work is redone)."""
        head = self.db.head_number()
        if not self.compute or head is None:
            return
        epoch = self.params.epoch_of(head + 1)
        if epoch < 1:
            return
        _, deadline = rnd.vdf_window(self.params, epoch - 1)
        if head + 1 > deadline or vdf_published(self.db, self.params, epoch - 1, head + 1) is not False:
            return
        seed = epoch_seed_for(self.db, self.params, self.shard_id, epoch - 1)
        if seed is not None:
            self.on_epoch_end(epoch - 1, seed)

    # -- the loop -------------------------------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Prove each seed handed in, one at a time, until cancelled (``nursery.start``-able; the status
        is typed ``Any`` as in the consensus driver: trio does not export ``TaskStatus`` to mypy)."""
        self.resume()
        task_status.started()
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            job, self._pending = self._pending, None
            if job is None:
                continue
            seed_epoch, seed = job
            with trio.CancelScope() as scope:
                self._current = (seed_epoch, scope)
                try:
                    await self._prove(seed_epoch, seed)
                finally:
                    self._current = None
            if scope.cancelled_caught:
                log.info("VDF of epoch %d abandoned for a newer seed", seed_epoch)

    async def _prove(self, seed_epoch: int, seed: bytes) -> None:
        iterations = self.iterations(seed_epoch)
        started = self.clock_ms()
        log.info("VDF of epoch %d: %d iterations from seed %s…", seed_epoch, iterations, seed.hex()[:16])
        try:
            out = await self.prover(seed, iterations)
            proof = VDFProof.from_bytes(bytes(out))
        except trio.Cancelled:
            raise
        except Exception as exc:  # the prover is outside code: any failure leaves the fallback
            self.failures += 1
            log.warning("VDF of epoch %d failed: %s", seed_epoch, exc)
            return
        if not vdf_verify(seed, iterations, proof):
            self.failures += 1
            log.warning("VDF of epoch %d: the prover's proof does not verify", seed_epoch)
            return
        self.last_duration_ms = self.clock_ms() - started
        self._fields[seed_epoch] = seed + proof.to_bytes()
        for old in [e for e in self._fields if e <= seed_epoch - KEPT_PROOFS]:
            del self._fields[old]
        self._published = {e for e in self._published if e > seed_epoch - KEPT_PROOFS}
        self._seed_matches = {e for e in self._seed_matches if e > seed_epoch - KEPT_PROOFS}
        log.info("VDF of epoch %d done in %d ms", seed_epoch, self.last_duration_ms)

    # -- the proposer ---------------------------------------------------------------------------------

    def proof_for(self, seed_epoch: int) -> bytes | None:
        """The header field proven for ``seed_epoch``, if any (whether or not a block carries it yet)."""
        return self._fields.get(seed_epoch)

    def vdf_field_for(self, number: int) -> bytes:
        """The ``vdf`` field of beacon block ``number`` this node proposes (randomness module docstring):
        the proof of the previous epoch's seed when ``number`` is in that seed's window, this node has the
        proof, the seed matches the stored chain, and no earlier canonical block of the window carried
        one; else ``b""``. Call it with the head at ``number − 1``."""
        if not self.compute or number < 1:
            return b""
        epoch = self.params.epoch_of(number)
        if epoch < 1:
            return b""
        seed_epoch = epoch - 1
        field = self._fields.get(seed_epoch)
        if field is None or seed_epoch in self._published:
            return b""
        first, deadline = rnd.vdf_window(self.params, seed_epoch)
        if not first <= number <= deadline:
            return b""
        published = vdf_published(self.db, self.params, seed_epoch, number)
        if published:
            self._published.add(seed_epoch)
        if published is not False:
            return b""
        if seed_epoch not in self._seed_matches:
            if epoch_seed_for(self.db, self.params, self.shard_id, seed_epoch) != field[: rnd.SEED_SIZE]:
                return b""
            self._seed_matches.add(seed_epoch)
        return field


def _wall_ms() -> int:
    """Wall-clock milliseconds (only for the duration the service reports; nothing consensus reads it)."""
    import time  # noqa: PLC0415

    return time.time_ns() // 1_000_000


__all__ = ["KEPT_PROOFS", "ProcessProver", "Prover", "VDFProverError", "VDFService"]
