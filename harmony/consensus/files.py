"""Disk implementations of the signer and WAL stores (the only consensus code that touches files).

Durability rules (design §3.4): the signer state is replaced atomically (write a temporary file, fsync it,
rename it over the old one, fsync the directory); a WAL append is written and fsynced before it returns.
"""

from __future__ import annotations

import os
from pathlib import Path


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temp file, fsync, rename, directory fsync)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


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
            _fsync_dir(self.path.parent)

    def replace(self, data: bytes) -> None:
        """Atomic durable replace."""
        atomic_write(self.path, data)
