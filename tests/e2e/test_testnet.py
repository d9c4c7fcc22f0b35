"""End to end, as root on network namespaces: ``harmony testnet`` runs the issue's small scenario (2
shards × 4 validators and 1 full node, 40 ms one way between two regions, 20 Mbit/s per node, one kill, one
partition and heal, one upgrade to another build) and its invariants hold; an interrupted run leaves nothing
behind, and ``harmony testnet down`` removes what a killed runner left.

Every node is a real ``harmony node`` process in its own namespace, talking TCP through the delaying router.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import harmony
from harmony.testnet.network import down_all, namespaces_available

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(namespaces_available() is not None, reason=f"{namespaces_available()}"),
]

SMALL = Path(__file__).resolve().parents[2] / "testnets" / "small.toml"
"""The issue's small scenario, the file users run too."""

RUN_TIMEOUT_S = 900
"""Room for the runner's own bounds (start-up, the perturbations' overtime, settling, catching up), so that a
slow run ends with its report rather than being killed; the issue asks for under 3 minutes."""

TINY = """
name = "tiny"
shards = 1
validators = 4
duration_s = 60
regions = ["eu", "us"]
[latency_ms]
"eu-us" = 40
"""


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A network prefix of this test alone; whatever a failing test left is removed afterwards."""
    name = f"{request.node.name[5]}{os.getpid() % 100000}"
    yield name
    down_all(name)


def harmony_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "harmony.cli.main", *args]


def other_build(tmp_path: Path) -> Path:
    """A second copy of this source tree, the build the upgrade moves to; it differs in leaving a mark when a
    process imports it."""
    build = tmp_path / "build"
    shutil.copytree(
        Path(harmony.__file__).parent, build / "harmony", ignore=shutil.ignore_patterns("__pycache__")
    )
    init = build / "harmony" / "__init__.py"
    mark = "\nimport pathlib as _p\n\n_p.Path(__file__).with_name('imported').touch()\n"
    init.write_text(init.read_text(encoding="utf-8") + mark, encoding="utf-8")
    return build


def leftovers(prefix: str) -> list[str]:
    """Namespaces, root-namespace links and processes of a run with ``prefix``."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    out = [line.split()[0] for line in names.splitlines() if line.startswith(f"{prefix}-")]
    out += [line.split(":")[1].strip().split("@")[0] for line in links.splitlines() if f": {prefix}a" in line]
    return out


def node_processes(root: Path) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-f", "--", f"--config {root}/"], capture_output=True, text=True, check=False
    )
    return [int(p) for p in found.stdout.split()]


# in make test again: 76 s alone at load 8 once a node's start no longer imported py-evm or compiled its
# bytecode (it took over 400 s beside a devnet before, and moved to make test-long for that)
def test_the_small_scenario_holds_its_invariants(tmp_path: Path, prefix: str) -> None:
    root = tmp_path / "run"
    try:
        summary, report = run_manifest(SMALL, root, prefix, "--build", str(other_build(tmp_path)))
        failing = [c for c in report["checks"] if not c["ok"]]
        # safety and exactly-once hold however loaded the machine is
        assert summary["safety_violations"] == 0, failing
        assert summary["lost_transactions"] == 0, failing
        assert summary["duplicated_transactions"] == 0, failing
        assert summary["perturbations"] == 3
        checks = {c["name"]: c for c in report["checks"]}
        for name in (
            "no fork",
            "no double sign",
            "every accepted transaction final exactly once",
            "no lost or duplicated credit",
            "supply conserved",
            "no process died unexpectedly",
        ):
            assert checks[name]["ok"], checks[name]  # fmt: skip
        assert checks["every accepted transaction final exactly once"]["accepted"] > 20
        assert all(blocks >= 5 for blocks in summary["blocks"].values()), summary
        (upgrade,) = [e for e in report["perturbations"] if e["kind"] == "upgrade"]
        assert upgrade["upgrades"][0]["build"] == str(tmp_path / "build")
        assert upgrade["upgrades"][0]["started"] is not None
        assert (tmp_path / "build" / "harmony" / "imported").exists()  # the upgraded node ran the other tree
        assert "s1v1" in report["chains_read"]
        assert (root / "timeline.png").stat().st_size > 10_000
        assert "# Testnet `small` (namespaces)" in (root / "report.md").read_text(encoding="utf-8")
        assert "recoveries_s" in report
    finally:
        assert leftovers(prefix) == []
        assert node_processes(root) == []


def run_manifest(manifest: Path, root: Path, prefix: str, *options: str) -> tuple[Any, Any]:
    """``harmony testnet run`` of ``manifest`` into ``root``: its last JSON line and ``report.json``."""
    proc = subprocess.Popen(
        harmony_cli("testnet", "run", str(manifest), "--dir", str(root), "--prefix", prefix, *options),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the runner takes everything down on the way out
        stdout, stderr = proc.communicate(timeout=120)
        pytest.fail(f"the run took over {RUN_TIMEOUT_S} s; its progress:\n{stderr[-3000:]}")
    lines = stdout.strip().splitlines()
    assert lines, stderr[-3000:]
    return json.loads(lines[-1]), json.loads((root / "report.json").read_text(encoding="utf-8"))


def _start(tmp_path: Path, prefix: str, action: str) -> tuple[subprocess.Popen[str], list[str], Path]:
    manifest = tmp_path / "tiny.toml"
    manifest.write_text(TINY, encoding="utf-8")
    root = tmp_path / "run"
    proc = subprocess.Popen(
        harmony_cli("testnet", action, str(manifest), "--dir", str(root), "--prefix", prefix),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return proc, lines, root


def _wait_for(lines: list[str], text: str, proc: subprocess.Popen[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert proc.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.3)


def test_sigterm_mid_run_leaves_nothing_behind(tmp_path: Path, prefix: str) -> None:
    proc, lines, root = _start(tmp_path, prefix, "run")
    try:
        _wait_for(lines, "running the load", proc)  # nodes up, load running
        assert leftovers(prefix) and node_processes(root)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 130
        assert json.loads(lines[-1])["interrupted"] is True
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert leftovers(prefix) == []
    assert node_processes(root) == []


def test_down_removes_what_a_killed_runner_left(tmp_path: Path, prefix: str) -> None:
    proc, lines, root = _start(tmp_path, prefix, "up")
    try:
        _wait_for(lines, "testnet is up", proc)
        proc.kill()  # SIGKILL: no handler runs, everything stays
        proc.wait(10)
        assert leftovers(prefix)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = subprocess.run(
        harmony_cli("testnet", "down", "--prefix", prefix),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "removed" in out.stdout
    assert leftovers(prefix) == []
    deadline = time.monotonic() + 10
    while node_processes(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert node_processes(root) == []
    again = subprocess.run(
        harmony_cli("testnet", "down", "--prefix", prefix), capture_output=True, text=True, check=False
    )
    assert again.returncode == 0 and "nothing to remove" in again.stdout
