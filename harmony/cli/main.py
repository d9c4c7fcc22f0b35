"""Entry point of the ``harmony`` console script: one subcommand per module in ``harmony.cli``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harmony import __version__
from harmony.cli import address, db, devnet, genesis, keys, node, sim, staking, testnet, validator, zk
from harmony.cli.common import CLIError
from harmony.errors import HarmonyError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="harmony", description="A Python node for the Harmony protocol.")
    parser.add_argument("--version", action="version", version=f"harmony {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    address.register(sub)
    keys.register(sub)
    staking.register(sub)
    validator.register(sub)
    genesis.register(sub)
    sim.register(sub)
    node.register(sub)
    devnet.register(sub)
    testnet.register(sub)
    db.register(sub)
    zk.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status (0 ok, 1 refused input, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
