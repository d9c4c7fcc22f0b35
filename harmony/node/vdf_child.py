"""The VDF prover's child process (:class:`harmony.node.randomness_service.ProcessProver` runs
``python -m harmony.node.vdf_child <seed-hex> <iterations> [nice]``).

The child lowers its CPU priority before it imports anything beyond the standard library: a child that
first imported what :mod:`harmony.node.randomness_service` imports (trio, the chain's rules) spent about
0.25 s of a core at the node's own priority, once per validator at every epoch's end, and on a loaded
2-core devnet that was the block of those seconds arriving late.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

MAX_NICE = 19
"""The lowest priority ``nice`` can ask for; the child then also runs under ``SCHED_IDLE``."""


def lower_priority(nice: int) -> None:
    """Lower this process's CPU priority by ``nice`` (at most to :data:`MAX_NICE`); at :data:`MAX_NICE` also
    run only on a CPU nothing else wants (Linux ``SCHED_IDLE``): at nice 19 the prover still took about a
    quarter of a core from four validators on two cores for the 6-7 s it ran, and the blocks of those
    seconds came late. Where the scheduler lacks ``SCHED_IDLE``, nice alone applies."""
    if nice > 0:
        os.nice(min(nice, MAX_NICE))
    policy = getattr(os, "SCHED_IDLE", None)
    if nice >= MAX_NICE and policy is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, policy, os.sched_param(0))


def main(argv: Sequence[str]) -> int:
    """The prover child: ``<seed-hex> <iterations> [nice]`` → prints ``output ‖ proof`` in hex; exit code
    2 on bad arguments, 1 if the prover fails."""
    if len(argv) not in {2, 3}:
        print("usage: python -m harmony.node.vdf_child <seed-hex> <iterations> [nice]", file=sys.stderr)
        return 2
    try:
        seed = bytes.fromhex(argv[0])
        iterations = int(argv[1])
        nice = int(argv[2]) if len(argv) == 3 else 0
    except ValueError as exc:
        print(f"bad argument: {exc}", file=sys.stderr)
        return 2
    lower_priority(nice)
    from harmony.crypto.vdf import vdf_prove  # noqa: PLC0415 - after the priority drop (module docstring)
    from harmony.errors import HarmonyError  # noqa: PLC0415

    try:
        proof = vdf_prove(seed, iterations)
    except HarmonyError as exc:
        print(f"VDF failed: {exc}", file=sys.stderr)
        return 1
    print(proof.to_bytes().hex(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
