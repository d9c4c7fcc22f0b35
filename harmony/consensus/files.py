"""Disk implementations of the signer and WAL stores (the only consensus code that touches files).

Durability rules (design §3.4): the signer state is replaced atomically (write a temporary file, fsync it,
rename it over the old one, fsync the directory); a WAL append is written and fsynced before it returns.
"""

from __future__ import annotations

import os
from pathlib import Path

from harmony.durable import atomic_write, fsync_dir


class FileSignerStore:
    """:class:`~harmony.consensus.api.SignerStore` in one file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> bytes | None:
        """The file's bytes, or ``None`` if it does not exist."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def save(self, data: bytes) -> None:
        """Atomic durable replace."""
        atomic_write(self.path, data)


class FileLogStore:
    """:class:`~harmony.consensus.api.LogStore` in one append-only file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> bytes:
        """The whole file (empty if missing)."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def append(self, data: bytes) -> None:
        """Append and fsync (the directory too when the file is created)."""
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.path.parent)

    def replace(self, data: bytes) -> None:
        """Atomic durable replace."""
        atomic_write(self.path, data)
