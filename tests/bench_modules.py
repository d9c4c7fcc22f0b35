"""The benchmarks of ``bench/`` as modules, for tests of their parsing and options (the benchmarks
themselves run in ``make bench``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench_module(name: str) -> Any:
    """``bench/<name>.py`` imported as a module (the benchmarks import their neighbours in ``bench/``)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))
