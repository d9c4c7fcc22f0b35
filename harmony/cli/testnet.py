"""``harmony testnet``: a multi-host testnet on Linux network namespaces, from a manifest (issue 15).

* ``run MANIFEST.toml``: build the network, start the nodes, run the load and the perturbations, check the
  invariants, write the report (markdown, JSON, PNG), take everything down; the last line of output is one
  JSON object. Exit 0 when every invariant held, 1 when one did not, 2 when namespaces are unavailable.
* ``up MANIFEST.toml``: build the network and start the nodes, then wait (Ctrl-C takes it all down).
* ``down``: remove whatever an earlier run left behind (namespaces, links, qdiscs, processes).
* ``generate --seed N``: write a random valid manifest; the same seed gives the same manifest.

Namespaces need root. ``--loopback`` runs the nodes on 127.0.0.1 instead (no latency, caps or partitions) to
try a manifest without them.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmony.cli.common import CLIError

if TYPE_CHECKING:
    from harmony.testnet.runner import Runner

DEFAULT_PREFIX = "hmy"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``testnet`` subcommand and its own subcommands."""
    testnet = sub.add_parser(
        "testnet",
        help="a multi-host testnet on network namespaces: run, up, down, generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = testnet.add_subparsers(dest="action", metavar="ACTION")

    def usage(_args: argparse.Namespace) -> int:
        testnet.print_help()
        return 0

    testnet.set_defaults(func=usage)

    for name, func, text in (
        ("run", run_testnet, "run a manifest: load, perturbations, invariants, report"),
        ("up", up_testnet, "build the network and start the nodes; Ctrl-C takes it down"),
    ):
        p = actions.add_parser(name, help=text, description=text)
        p.add_argument("manifest", type=Path, help="the manifest (TOML)")
        p.add_argument("--dir", type=Path, default=None, help="run folder (default testnet-<name>)")
        p.add_argument("--prefix", default=DEFAULT_PREFIX, help="namespace name prefix (default %(default)s)")
        p.add_argument("--loopback", action="store_true", help="run on 127.0.0.1 without namespaces")
        p.add_argument("--build", type=Path, default=None, help="default build for upgrades (a source tree)")
        p.add_argument("--seed", type=int, default=0, help="seed of the load (default 0)")
        p.set_defaults(func=func)

    down = actions.add_parser(
        "down",
        help="remove what an earlier run left",
        description="remove what an "
        "earlier run left: namespaces, links, qdiscs, the router and node processes",
    )
    down.add_argument("--prefix", default=DEFAULT_PREFIX, help="namespace name prefix (default %(default)s)")
    down.set_defaults(func=down_testnet)

    gen = actions.add_parser(
        "generate",
        help="write a random valid manifest",
        description="write a random valid manifest; the same seed gives the same manifest",
    )
    gen.add_argument("--seed", type=int, required=True, help="the seed")
    gen.add_argument("--out", type=Path, default=None, help="file to write (default: standard output)")
    gen.add_argument("--perturbations", type=int, default=3, help="perturbations (default 3)")
    gen.add_argument("--duration", type=int, default=75, help="seconds of load (default 75)")
    gen.set_defaults(func=generate_testnet)


def _check_prefix(prefix: str) -> None:
    if not (1 <= len(prefix) <= 11 and prefix[0].isalpha() and prefix.isalnum() and prefix.islower()):
        raise CLIError(f"--prefix: {prefix[:20]!r}: 1 to 11 lowercase letters and digits, a letter first")


def _no_namespaces() -> str | None:
    from harmony.testnet.network import namespaces_available  # noqa: PLC0415

    return namespaces_available()


def _options(args: argparse.Namespace) -> Any:
    from harmony.testnet.manifest import load_manifest  # noqa: PLC0415
    from harmony.testnet.runner import RunOptions  # noqa: PLC0415

    _check_prefix(args.prefix)
    manifest = load_manifest(args.manifest)
    if args.build is not None and not (args.build / "harmony" / "__init__.py").is_file():
        raise CLIError(f"--build {args.build}: not a source tree holding harmony/")
    for i, p in enumerate(manifest.perturbations):
        if p.build is not None and not (p.build / "harmony" / "__init__.py").is_file():
            raise CLIError(f"perturbation[{i}].build: {p.build} is not a source tree holding harmony/")
    if args.loopback and any(p.kind == "disconnect" for p in manifest.perturbations):
        raise CLIError("--loopback: the manifest has a disconnect, which needs network namespaces")
    root = (args.dir or Path(f"testnet-{manifest.name}")).resolve()
    return RunOptions(manifest, root, args.prefix, args.loopback, args.build, args.seed)


def _interruptible() -> None:
    """SIGTERM and SIGINT end the run through KeyboardInterrupt, so every ``finally`` tears down."""

    def on_signal(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _runner(args: argparse.Namespace) -> Runner | None:
    """The runner for ``run``/``up`` (None, with one line said, when namespaces are unavailable); from here on
    SIGTERM and SIGINT end the run through KeyboardInterrupt."""
    from harmony.testnet.runner import Runner, make_substrate  # noqa: PLC0415

    options = _options(args)
    if not options.loopback and (reason := _no_namespaces()):
        print(f"harmony testnet: {reason}", file=sys.stderr)
        return None
    _interruptible()
    return Runner(options, make_substrate(options))


def run_testnet(args: argparse.Namespace) -> int:
    """``harmony testnet run``."""
    from harmony.testnet.report import write_report  # noqa: PLC0415

    runner = _runner(args)
    if runner is None:
        return 2
    summary: dict[str, Any] = {"testnet": runner.m.name, "ok": False, "interrupted": True}
    code = 130
    try:
        result = runner.run()
        runner.teardown()
        paths = write_report(result, runner.options.root)
        print(paths["markdown"].read_text(encoding="utf-8").split("\n## ")[0].strip())
        print(f"report: {paths['markdown']}  {paths['json']}  {paths['png']}")
        summary = result.summary()
        code = 0 if result.ok else 1
    except KeyboardInterrupt:
        print("interrupted: taking the testnet down …", file=sys.stderr)
    finally:
        runner.teardown()
        print(json.dumps(summary), flush=True)
    return code


def up_testnet(args: argparse.Namespace) -> int:
    """``harmony testnet up``: the network and its nodes until Ctrl-C."""
    runner = _runner(args)
    if runner is None:
        return 2
    try:
        runner.start_network()
        assert runner.fleet is not None
        for name, node in sorted(runner.fleet.nodes.items()):
            print(f"  {name} (shard {node.spec.shard}, {node.spec.region}): {node.http}")
        print("testnet is up. Ctrl-C takes it down.", flush=True)
        while True:
            runner.record_exits()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\ntaking the testnet down …", flush=True)
        return 0
    finally:
        runner.teardown()


def down_testnet(args: argparse.Namespace) -> int:
    """``harmony testnet down``: remove what an earlier run with ``--prefix`` left."""
    _check_prefix(args.prefix)
    if reason := _no_namespaces():
        print(f"harmony testnet: {reason}", file=sys.stderr)
        return 2
    from harmony.testnet.network import down_all  # noqa: PLC0415

    removed = down_all(args.prefix)
    print(f"removed {len(removed)}: {', '.join(removed)}" if removed else "nothing to remove")
    return 0


def generate_testnet(args: argparse.Namespace) -> int:
    """``harmony testnet generate``."""
    from harmony.testnet.generate import generate_manifest  # noqa: PLC0415

    if not 0 <= args.seed < 2**63:
        raise CLIError("--seed: 0 to 2^63-1")
    if not 0 <= args.perturbations <= 20:
        raise CLIError("--perturbations: 0 to 20")
    if not 30 <= args.duration <= 3600:
        raise CLIError("--duration: 30 to 3600 seconds")
    if (args.duration - 15) // max(1, args.perturbations) < 10:
        raise CLIError("--perturbations: at most one per 10 s of --duration (after the first 15 s)")
    text = generate_manifest(args.seed, perturbations=args.perturbations, duration_s=args.duration)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
