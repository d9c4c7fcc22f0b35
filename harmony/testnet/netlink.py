"""Running iproute2 (``ip``, ``tc``) and reading what exists: namespaces, their processes, root links.

Every command goes through :func:`run`, which raises :class:`NetworkError` with the command and its error
output, so a failure says what could not be made. Several commands for one namespace go through
``ip -batch`` / ``tc -batch`` (one process instead of one per command).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from harmony.errors import HarmonyError

COMMAND_TIMEOUT_S = 60.0
"""Longest wait for one ``ip``/``tc`` command (a loaded machine can take seconds to delete namespaces)."""


class NetworkError(HarmonyError):
    """Creating, changing or removing part of a namespaced network failed."""


def run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True) -> str:
    """Run one command; return its standard output, or raise :class:`NetworkError` naming it if it fails."""
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetworkError(f"{' '.join(argv)}: {exc}") from exc
    if check and done.returncode != 0:
        shown = " ".join(argv) if stdin is None else f"{' '.join(argv)} <<< {stdin.strip()!r}"
        raise NetworkError(f"{shown}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def batch(tool: str, namespace: str | None, commands: Iterable[str]) -> None:
    """Run several ``ip`` or ``tc`` commands in one namespace (None: root); stop at the first error."""
    lines = "\n".join(commands)
    if not lines:
        return
    netns = ["-n", namespace] if namespace is not None else []
    run([tool, *netns, "-batch", "-"], stdin=lines + "\n")


def sysctl(namespace: str | None, settings: dict[str, str]) -> None:
    """Write ``/proc/sys/net`` settings inside a namespace (sysctls of ``net`` are per namespace)."""
    pairs = [f"{key}={value}" for key, value in settings.items()]
    prefix = ["ip", "netns", "exec", namespace] if namespace is not None else []
    run([*prefix, "sysctl", "-q", "-w", *pairs])


def namespaces() -> list[str]:
    """The names of every named network namespace (``ip netns list``)."""
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def namespace_pids(namespace: str) -> list[int]:
    """The processes running in a namespace (``ip netns pids``); empty if it does not exist."""
    out = run(["ip", "netns", "pids", namespace], check=False)
    return [int(tok) for tok in out.split() if tok.isdigit()]


def root_links(pattern: re.Pattern[str]) -> list[str]:
    """Names of root-namespace interfaces whose whole name matches ``pattern``."""
    out = run(["ip", "-o", "link", "show"], check=False)
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            name = parts[1].strip().split("@")[0]
            if pattern.fullmatch(name):
                names.append(name)
    return names


def root_routes_in(base: str) -> set[int]:
    """Third octets of ``{base}.X.Y`` destinations routed in the root namespace (any table)."""
    out = run(["ip", "-4", "route", "show", "table", "all"], check=False)
    found = re.findall(rf"(?:^|\s){re.escape(base)}\.(\d+)\.", out, flags=re.MULTILINE)
    return {int(octet) for octet in found}


def kill_all(pids: Iterable[int], wait_s: float = 10.0) -> None:
    """SIGKILL processes (SIGCONT too, so stopped ones die at once) and wait until they are gone."""
    pending = set(pids)
    for pid in pending:
        for sig in (signal.SIGKILL, signal.SIGCONT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    deadline = time.monotonic() + wait_s
    while pending and time.monotonic() < deadline:
        pending = {pid for pid in pending if alive(pid)}
        if pending:
            time.sleep(0.02)


def alive(pid: int) -> bool:
    """Whether a process still runs (a zombie has left its namespace and counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def missing_tools() -> list[str]:
    """The iproute2 programs not on PATH."""
    return [tool for tool in ("ip", "tc", "sysctl") if shutil.which(tool) is None]
