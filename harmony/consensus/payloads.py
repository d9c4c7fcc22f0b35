"""Moved to :mod:`harmony.chain.payloads` (the chain layer holds every rule of validity); this name stays
importable for code written against the old path."""

from harmony.chain.payloads import *  # noqa: F403
