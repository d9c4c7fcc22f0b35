"""FBFT consensus as a sans-IO state machine (layer 7): see :mod:`harmony.consensus.api`."""
