"""A Python node for the Harmony protocol (see ARCHITECTURE.md)."""

__version__ = "0.1.0"
