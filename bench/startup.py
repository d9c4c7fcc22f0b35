"""A node's start: import CPU, and the wall time from process start to RPC and to its next block.

Run: ``.venv/bin/python bench/startup.py`` (``--runs N``, default 5). What it measures:

* ``import_cpu_s``: CPU seconds (user + system) a fresh interpreter spends importing what ``harmony node``
  imports before it serves (the CLI, the node's runtime, the RPC server and backend, the operators' service),
  the median of ``--runs`` child processes;
* a one-validator devnet (localnet shard 0, the devnet's development key, keystore and ``node.toml``, as
  ``harmony devnet`` writes them) whose node is started ``--runs`` times over the same data directory, as
  an operator restarts one after an upgrade: ``rpc_s``, the wall seconds from ``Popen`` to the first answer
  to ``eth_blockNumber``; ``rpc_cpu_s``, the node's CPU seconds until then (``/proc``, less sensitive to
  the machine's load than the wall time); ``block_s``, the wall seconds until the node has finalized a
  block above the head it stopped at (it is the whole committee, so this is when it signs again);
  medians over the restarts (the first start, on an empty directory, is printed apart).

``--baseline DIR`` measures another source tree of the node in the same run (each of its imports and
restarts right after one of this tree's, over the same data directory), e.g. the last release exported with
``git archive``; the JSON object then has ``baseline`` and the ratios. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harmony.cli.devnet import prepare, rpc_call, stop_all
from harmony.cli.main import build_parser
from harmony.cli.node import START_MODULES
from tests.e2e.devnet_fixture import free_base_port

IMPORT_PROBE = (
    "import os, importlib\n"
    "t = os.times()\n"
    "for m in {mods!r}: importlib.import_module(m)\n"
    "u = os.times()\n"
    "print((u.user - t.user) + (u.system - t.system))\n"
)
TIMEOUT_S = 180.0
POLL_S = 0.05


def import_cpu_s(source: Path) -> float:
    """CPU seconds one fresh interpreter spends importing :data:`START_MODULES` from ``source``."""
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(mods=START_MODULES)],
        check=True,
        capture_output=True,
        text=True,
        cwd=source,
        env=env_of(source),
    )
    return float(out.stdout.strip())


def env_of(source: Path) -> dict[str, str]:
    """The environment of a child that imports ``harmony`` from the tree at ``source``."""
    return {**os.environ, "PYTHONPATH": str(source)}


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def head_of(url: str) -> int | None:
    """The node's head number, or ``None`` while it does not answer."""
    try:
        return int(rpc_call(url, "eth_blockNumber", timeout=1.0), 16)
    except (OSError, ValueError):
        return None


def head_of_stopped(data_dir: Path, at_least: int) -> int:
    """The head the stopped node left in its chain database (at least ``at_least``)."""
    from harmony.storage.chaindb import ChainDB  # noqa: PLC0415
    from harmony.storage.lmdb_store import LMDBStore  # noqa: PLC0415

    store = LMDBStore(data_dir / "chain")
    try:
        head = ChainDB(store).head_number()
    finally:
        store.close()
    return max(at_least, head or 0)


def one_start(source: Path, config: Path, url: str, log: Path, stopped_at: int) -> dict[str, float]:
    """Start the node from ``source``, wait for RPC, then for a block above ``stopped_at``; stop it. The
    figures (``stop_s``: SIGTERM to exit)."""
    with log.open("ab") as out:
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "harmony.cli.main", "node", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
            env=env_of(source),
            start_new_session=True,
        )
    try:
        rpc_s = rpc_cpu = block_s = None
        while time.monotonic() - began < TIMEOUT_S:
            if proc.poll() is not None:
                raise SystemExit(f"the node exited with {proc.returncode}: see {log}")
            head = head_of(url)
            if head is not None and rpc_s is None:
                rpc_s, rpc_cpu = time.monotonic() - began, cpu_of(proc.pid)
            if head is not None and head > stopped_at:
                block_s = time.monotonic() - began
                break
            time.sleep(POLL_S)
        if rpc_s is None or rpc_cpu is None or block_s is None:
            raise SystemExit(f"no RPC or no block within {TIMEOUT_S:.0f} s: see {log}")
    finally:
        stopping = time.monotonic()
        stop_all([proc])
        stop_s = time.monotonic() - stopping
        if proc.returncode not in (0, -signal.SIGTERM):
            print(f"  (the node exited with {proc.returncode})", flush=True)
    return {"rpc_s": rpc_s, "rpc_cpu_s": rpc_cpu, "block_s": block_s, "stop_s": stop_s}


def summary(imports: list[float], runs: list[dict[str, float]]) -> dict[str, float]:
    """Medians of one source tree's figures."""
    result = {"import_cpu_s": round(statistics.median(imports), 2)}
    for key in ("rpc_s", "rpc_cpu_s", "block_s", "stop_s"):
        result[key] = round(statistics.median(r[key] for r in runs), 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="imports measured and restarts (default 5)")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another source tree of the node (e.g. `git archive main`): measured in the same run, each "
        "restart of it right after one of this tree",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the devnet in this folder")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    sources = {"this": here} | ({} if args.baseline is None else {"baseline": args.baseline.resolve()})
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)

    imports: dict[str, list[float]] = {name: [] for name in sources}
    for _ in range(args.runs):
        for name, source in sources.items():
            imports[name].append(import_cpu_s(source))
    for name, values in imports.items():
        print(f"{name}: import CPU s {' '.join(f'{x:.2f}' for x in values)}", flush=True)

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-startup-"))
    port = str(free_base_port())
    devnet_args = build_parser("devnet").parse_args(
        ["devnet", "--dir", str(root), "--shards", "1", "--validators", "1", "--base-port", port]
    )
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
    try:
        nodes, _ = prepare(devnet_args, 1)
        node = nodes[0]
        config, log = node.data_dir / "node.toml", node.data_dir / "node.log"
        stopped_at = 0
        for run in range(args.runs + 1):
            for name, source in sources.items():
                if run == 0 and name != "this":
                    continue
                figures = one_start(source, config, node.http, log, stopped_at)
                stopped_at = head_of_stopped(node.data_dir, stopped_at)
                what = "first start (empty)" if run == 0 else f"restart {run}"
                print(
                    f"{name}, {what}: RPC after {figures['rpc_s']:.2f} s ({figures['rpc_cpu_s']:.2f} s CPU), "
                    f"a new block after {figures['block_s']:.2f} s; stopped in {figures['stop_s']:.2f} s",
                    flush=True,
                )
                if run > 0:
                    runs[name].append(figures)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    result: dict[str, Any] = summary(imports["this"], runs["this"])
    if args.baseline is not None:
        base = summary(imports["baseline"], runs["baseline"])
        result["baseline"] = base
        for key in ("import_cpu_s", "rpc_s", "block_s"):
            result[f"{key}_ratio"] = round(result[key] / base[key], 2) if base[key] else None
    end = os.getloadavg()
    result |= {"runs": args.runs, "load_average_1m": [round(load[0], 2), round(end[0], 2)]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
