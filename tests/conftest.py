"""Shared test configuration: where the external fixtures live, and a summary of conformance cases run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"
"""``../shared/conformance`` from the repository root: external fixtures, read in place."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many fixture cases of each conformance suite passed, failed or were skipped."""
    counts: dict[str, Counter[str]] = {}
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            # one fixture case = one parametrised test; helpers such as count checks are not cases
            if "tests/conformance/" not in nodeid or "[" not in nodeid:
                continue
            if outcome != "skipped" and report.when != "call":
                continue
            suite = nodeid.split("tests/conformance/")[1].split("::")[0].removesuffix(".py")
            counts.setdefault(suite, Counter())[outcome] += 1
    if not counts:
        return
    terminalreporter.section("conformance cases run")
    for suite in sorted(counts):
        c = counts[suite]
        terminalreporter.write_line(
            f"{suite:40s} {c['passed']:6d} passed {c['failed']:4d} failed {c['skipped']:4d} skipped"
        )
