"""Moved to :mod:`harmony.chain.quorum` (the chain layer holds every rule of validity); this name stays
importable for code written against the old path."""

from harmony.chain.quorum import *  # noqa: F403
