"""What every simulation report shares: parameter errors, markdown tables and the headless plotting
backend (``harmony sim economics`` and ``harmony sim network``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harmony.errors import HarmonyError


class ParameterError(HarmonyError):
    """A simulation parameter is out of range or malformed; :attr:`parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table with ``header`` and one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def pyplot() -> Any:
    """matplotlib's pyplot on the headless Agg backend (imported on use: it is heavy)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def save_figure(plt: Any, fig: Any, path: Any) -> None:
    """Lay ``fig`` out, write it to ``path`` as a PNG and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


__all__ = ["ParameterError", "markdown_table", "pyplot", "save_figure"]
