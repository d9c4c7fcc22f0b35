"""Token-economics simulation speed: the five scenarios over ten years (issue 19's goal: under 30 s).

Run: ``.venv/bin/python bench/economics.py`` (``--years 1`` for a smoke run). It runs the scenarios of
``harmony sim economics`` in this process, one after another (the baseline), then on a local Dask cluster
of ``--workers`` processes (what the command does by default), and prints wall and CPU seconds for both,
their ratio, and the CPU seconds per scenario-year. On a machine shared with other work the wall time
says little: the CPU time of the in-process run is the figure to compare across machines (divided by
the workers it is the wall time an idle machine gives). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harmony.sim.economics import run_scenario
from harmony.sim.economics_model import scenario_presets
from harmony.sim.sweeps import run_all


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scenarios = [replace(s, years=args.years) for s in scenario_presets().values()]

    wall = time.perf_counter()
    cpu = time.process_time()
    local = run_all(run_scenario, scenarios, workers=0, show_progress=False)
    base_wall, base_cpu = time.perf_counter() - wall, time.process_time() - cpu

    wall = time.perf_counter()
    children = _children_cpu()
    on_dask = run_all(run_scenario, scenarios, workers=args.workers, show_progress=False)
    dask_wall = time.perf_counter() - wall
    dask_children_cpu = _children_cpu() - children
    if [r.steps for r in on_dask] != [r.steps for r in local]:
        raise SystemExit("Dask and in-process runs differ")

    runs = len(scenarios) * args.years
    print(f"{len(scenarios)} scenarios x {args.years} years")
    print(
        f"  in process : {base_wall:7.1f} s wall, {base_cpu:7.1f} s CPU"
        f" ({base_cpu / runs:.2f} CPU s/scenario-year)"
    )
    print(f"  Dask x{args.workers}    : {dask_wall:7.1f} s wall (workers' CPU {dask_children_cpu:.1f} s)")
    print(
        f"  ratio      : {base_wall / dask_wall:.2f}x wall;"
        f" idle-machine estimate {base_cpu / args.workers:.1f} s"
    )
    figures = {
        "scenarios": len(scenarios),
        "years": args.years,
        "baseline_wall_s": round(base_wall, 2),
        "baseline_cpu_s": round(base_cpu, 2),
        "dask_wall_s": round(dask_wall, 2),
        "ratio": round(base_wall / dask_wall, 3),
        "cpu_s_per_scenario_year": round(base_cpu / runs, 3),
        "idle_estimate_s": round(base_cpu / args.workers, 1),
        "goal_s": 30,
    }
    print(json.dumps(figures, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
