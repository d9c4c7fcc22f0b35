"""A process's resident memory split into heap and mapped files, from ``/proc/<pid>/status`` (Linux).

``process_resident_memory_bytes`` (the client library's process collector) is the whole RSS. On a node that
includes the pages of the LMDB file mapped in: a write transaction reads every page it changes through the
map, and the kernel maps the 64 KiB around each page faulted in (fault-around, which ``MADV_RANDOM`` does
not stop), so that part follows the database file's size as the chain grows. Those are clean page-cache
pages the kernel takes back under memory pressure; the anonymous part (the Python heap) is what a leak
would grow. Operators and ``bench/devnet.py`` read both.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ResidentMemory", "parse_status", "resident_memory"]

MAX_STATUS_BYTES = 64 * 1024
"""Bound on the status file read (a few KiB on Linux)."""


@dataclass(frozen=True, slots=True)
class ResidentMemory:
    """Resident bytes of a process: anonymous (heap, stacks) and file-backed or shared (mapped files)."""

    anon: int
    files: int


def parse_status(text: str) -> ResidentMemory:
    """``RssAnon`` and ``RssFile`` + ``RssShmem`` of a ``/proc/<pid>/status`` text, in bytes (the kernel
    writes them in kB); a missing or malformed line counts 0."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep or key not in ("RssAnon", "RssFile", "RssShmem"):
            continue
        fields = rest.split()
        if len(fields) == 2 and fields[1] == "kB" and fields[0].isdigit():
            values[key] = int(fields[0]) * 1024
    return ResidentMemory(values.get("RssAnon", 0), values.get("RssFile", 0) + values.get("RssShmem", 0))


def resident_memory(pid: int | None = None) -> ResidentMemory | None:
    """Process ``pid``'s (default: this process's) :class:`ResidentMemory`, or ``None`` where ``/proc``
    cannot tell (another system, a process gone)."""
    path = f"/proc/{'self' if pid is None else pid}/status"
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read(MAX_STATUS_BYTES)
    except OSError:
        return None
    return parse_status(text)
