"""Pedersen commitments ``V = v·B + γ·B~`` (Pedersen 1991): hiding by the random γ, binding because nobody
knows ``log_B B~`` (see :mod:`harmony.crypto.zk.generators`)."""

from __future__ import annotations

import secrets

from harmony.crypto.zk.errors import ZkError
from harmony.crypto.zk.generators import blinding_base
from harmony.crypto.zk.group import BASE, N, Point, add, multiply


def commit(value: int, blinding: int) -> Point:
    """``value·B + blinding·B~``; both in ``[0, n)``, the result not the point at infinity."""
    if not 0 <= value < N:
        raise ZkError(f"commitment value must be in [0, n), got {value}")
    if not 0 <= blinding < N:
        raise ZkError("commitment blinding must be in [0, n)")
    point = add(multiply(BASE, value), multiply(blinding_base(), blinding))
    if point is None:
        raise ZkError("commitment is the point at infinity: choose another blinding")
    return point


def random_blinding() -> int:
    """A uniformly random non-zero blinding factor from the operating system's randomness."""
    while True:
        value = secrets.randbelow(N)
        if value:
            return value


__all__ = ["commit", "random_blinding"]
