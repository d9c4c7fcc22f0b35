"""Moved to :mod:`harmony.chain.commit_proof` (the chain layer holds every rule of validity); this name stays
importable for code written against the old path."""

from harmony.chain.commit_proof import *  # noqa: F403
