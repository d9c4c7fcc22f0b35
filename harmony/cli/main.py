"""Entry point of the ``harmony`` console script: one subcommand per module in ``harmony.cli``.

Only the chosen subcommand's module is imported (``harmony node`` does not load the simulators' numpy and
radCAD, nor the devnet and key tools): on a loaded two-core machine importing every module took a node
process tens of seconds before it listened. ``harmony``, ``harmony --help`` and an unknown command build
the whole parser.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harmony import __version__
from harmony.cli.common import CLIError
from harmony.errors import HarmonyError

COMMANDS = (
    "address",
    "keys",
    "staking",
    "validator",
    "genesis",
    "sim",
    "node",
    "devnet",
    "testnet",
    "db",
    "zk",
)
"""The subcommands, in help order; each is registered by ``harmony.cli.<name>.register``."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand, or with ``only`` that one (its module alone imported)."""
    parser = argparse.ArgumentParser(prog="harmony", description="A Python node for the Harmony protocol.")
    parser.add_argument("--version", action="version", version=f"harmony {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"harmony.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status (0 ok, 1 refused input, 2 usage)."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(words)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        result: int = func(args)
    except (CLIError, HarmonyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
