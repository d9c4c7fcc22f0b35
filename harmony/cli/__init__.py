"""Layer 11: the ``harmony`` command line."""
