"""Durable file replacement: the one way the node replaces a small file it must not lose or see torn
(the signer's state, keystores, the peer key, attested values; design §3.4).

A crash at any moment leaves either the old file or the new one whole: the bytes go to a fresh temporary
file in the same folder (mode 0600), are fsynced, renamed over the target, and the folder is fsynced so the
rename itself survives a power loss.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make the entries of ``directory`` (a rename, a new file) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) atomically and durably, readable by the
    owner only: a unique temporary file beside it (removed on failure), written whole and fsynced, renamed
    over ``path``, then the folder fsynced. Raises ``OSError`` when it cannot."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
