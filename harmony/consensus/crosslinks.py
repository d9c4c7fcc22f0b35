"""Moved to :mod:`harmony.chain.crosslinks` (the chain layer holds every rule of validity); this name stays
importable for code written against the old path."""

from harmony.chain.crosslinks import *  # noqa: F403
