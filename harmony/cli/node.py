"""``harmony node``: run one node (consensus, p2p, sync, JSON-RPC) from a TOML file and flags (design §8).

Flags override the file (reference §10.1 names, e.g. ``--p2p.port``). The node stops cleanly on Ctrl-C or
SIGTERM: a validator first lets its turn to lead pass (:mod:`harmony.node.leave`; a second signal stops at
once), the consensus state is on disk before every signature, and the chain database is closed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmony import __version__
from harmony.cli.common import CLIError
from harmony.errors import HarmonyError
from harmony.node.config import NodeConfig, check, load_config

if TYPE_CHECKING:
    from harmony.node.runtime import Node
    from harmony.rpc.dispatch import Dispatcher

log = logging.getLogger("harmony.cli.node")

_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--datadir", "data_dir", Path, "data directory (default ./harmony-data)"),
    ("--shard", "shard_id", int, "shard to run (default 0)"),
    ("--genesis", "genesis", Path, "the network's genesis file (required unless in the config)"),
    ("--p2p.ip", "p2p_host", str, "address the p2p host listens on (default 127.0.0.1)"),
    ("--p2p.port", "p2p_port", int, "p2p TCP port (default 9000)"),
    ("--http.ip", "rpc_host", str, "address the HTTP and WebSocket RPC bind to (default 127.0.0.1)"),
    ("--http.port", "http_port", int, "HTTP JSON-RPC port (default 9500)"),
    ("--ws.port", "ws_port", int, "WebSocket JSON-RPC port (default 9800)"),
    ("--metrics.ip", "metrics_host", str, "address metrics and the dashboard bind to (default 127.0.0.1)"),
    ("--metrics.port", "metrics_port", int, "port of /metrics and the dashboard (default 9900)"),
    ("--rpc.ratelimit", "rate_limit", int, "RPC requests per second per client (default 1000)"),
    ("--bls.pass.file", "bls_pass_file", Path, "file whose first line is the BLS keystores' passphrase"),
    ("--log.level", "log_level", str, "debug, info, warning or error (default info)"),
    (
        "--sync.mode",
        "sync_mode",
        str,
        "full (default: replay every block) or state (an empty node downloads a recent epoch's verified "
        "state, then replays from there)",
    ),
    ("--consensus.phase-timeout-ms", "phase_timeout_ms", int, "phase timeout before a view change"),
    ("--consensus.view-change-timeout-ms", "view_change_timeout_ms", int, "view change timeout"),
    ("--consensus.block-time-ms", "block_time_ms", int, "block time (default: the network preset's)"),
    (
        "--storage.wait-s",
        "db_wait_s",
        int,
        "seconds to wait for another process (the old node of an upgrade) to close the data directory "
        "(default 0: refuse at once); start the new build with it, then stop the old node",
    ),
    (
        "--consensus.commit-window-ms",
        "commit_window_ms",
        int,
        "how long a leader waits for late commits after the quorum (default 1000; 0: none)",
    ),
)


START_MODULES = (
    "harmony.cli.main",
    "harmony.cli.node",
    "harmony.node.runtime",
    "harmony.rpc.backend",
    "harmony.rpc.server",
    "harmony.ops.service",
)
"""The modules a ``harmony node`` process imports before it serves RPC (``bench/startup.py`` times them; a
unit test checks they load no EVM)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``node`` subcommand."""
    node = sub.add_parser("node", help="run a node", description=__doc__)
    node.add_argument("--config", type=Path, help="TOML configuration file (see harmony.node.config)")
    for flag, dest, kind, text in _FLAGS:
        node.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    node.add_argument("--bootnodes", default=None, help="comma-separated multiaddrs of bootnodes")
    node.add_argument("--bls.keys", dest="bls_keys", default=None, help="comma-separated BLS keystore files")
    node.add_argument(
        "--no-rpc", dest="rpc_enabled", action="store_false", default=None, help="no RPC server"
    )
    node.add_argument(
        "--no-metrics",
        dest="metrics_enabled",
        action="store_false",
        default=None,
        help="no metrics, alerts or dashboard server",
    )
    node.add_argument(
        "--archive",
        dest="archive",
        action="store_true",
        default=None,
        help="keep every block's state (default: prune to the last 128 blocks' and each epoch boundary's)",
    )
    node.add_argument(
        "--tx-history",
        dest="tx_history",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the per-address transaction index for getTransactionsHistory (default: only on a node "
        "without validator keys)",
    )
    node.set_defaults(func=run_node)


def config_from_args(args: argparse.Namespace) -> NodeConfig:
    """The configuration: defaults, then ``--config``, then each flag given."""
    config = NodeConfig()
    if args.config is not None:
        config = load_config(args.config)
    changes: dict[str, Any] = {}
    for _, dest, _, _ in _FLAGS:
        value = getattr(args, dest)
        if value is not None:
            changes[dest] = value
    if args.bootnodes is not None:
        changes["bootnodes"] = tuple(a.strip() for a in args.bootnodes.split(",") if a.strip())
    if args.bls_keys is not None:
        changes["bls_keys"] = tuple(Path(p.strip()) for p in args.bls_keys.split(",") if p.strip())
    if args.rpc_enabled is not None:
        changes["rpc_enabled"] = args.rpc_enabled
    if args.metrics_enabled is not None:
        changes["metrics_enabled"] = args.metrics_enabled
    if args.archive is not None:
        changes["archive"] = args.archive
    if args.tx_history is not None:
        changes["tx_history"] = args.tx_history
    return check(config.with_changes(**changes)) if changes else check(config)


def setup_logging(level: str) -> None:
    """One line per event on stderr, with the time."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("libp2p", "multiaddr", "async_service"):
        if level != "debug":
            logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve(node: Node) -> None:
    """Run ``node`` with its RPC server until cancelled or signalled."""
    import trio  # noqa: PLC0415 - the networking stack loads only for commands that run a node

    from harmony.node.leave import LEAD_VIEWS, arm_exit_watchdog, leave_when_ready  # noqa: PLC0415
    from harmony.rpc.backend import RPCBackend  # noqa: PLC0415
    from harmony.rpc.server import RPCConfig, RPCServer  # noqa: PLC0415

    config = node.config

    async def services(nursery: Any) -> None:
        if not config.rpc_enabled:
            if config.metrics_enabled:
                await start_ops(node, nursery, None)
            return
        backend = RPCBackend(
            node.chain,
            node.pool,
            node.hooks,
            client_version=f"Harmony (python)/v{__version__}",
            staking_pool=node.staking_pool,
            inside_fence=node.hooks.inside_fence,
        )
        node.relay.pending_listeners.append(backend.notify_pending_hashes)
        server = RPCServer(
            backend,
            RPCConfig(
                http_host=config.rpc_host,
                http_port=config.http_port,
                ws_host=config.rpc_host,
                ws_port=config.ws_port,
                rate_limit_per_s=config.rate_limit,
            ),
        )
        http_port, ws_port = await nursery.start(server.serve)
        if node.driver is not None:
            node.driver.block_listeners.append(server.notify_block)
        log.info("RPC: http://%s:%d  ws://%s:%d", config.rpc_host, http_port, config.rpc_host, ws_port)
        if config.metrics_enabled:
            await start_ops(node, nursery, server.dispatcher)

    async with trio.open_nursery() as nursery:

        async def leave_then_stop() -> None:
            driver = node.driver
            if driver is not None:
                block_time_s = driver.config.block_time_ms / 1000
                await leave_when_ready(
                    lambda: (driver.core.leads_within(LEAD_VIEWS), node.chain.head.number),
                    block_time_s,
                    trio.current_time,
                    lambda: driver.core.is_leader(),  # noqa: PLW0108 - the driver replaces its core
                )
            log.info("stopping")
            arm_exit_watchdog()
            nursery.cancel_scope.cancel()

        async def stop_on_signal() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                leaving = False
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if leaving:
                        log.info("%s again: stopping now", name)
                        arm_exit_watchdog()
                        nursery.cancel_scope.cancel()
                        return
                    leaving = True
                    log.info(
                        "%s: stopping once this node's turn to lead has passed (a few block times at most;"
                        " send it again to stop now)",
                        name,
                    )
                    nursery.start_soon(leave_then_stop)

        nursery.start_soon(stop_on_signal)
        if sys.stderr.isatty() and node.config.sync_mode == "state":
            nursery.start_soon(show_state_progress, node)
        await nursery.start(lambda task_status: node.run(services=services, task_status=task_status))
        if sys.stderr.isatty():
            nursery.start_soon(show_sync_progress, node)


async def show_sync_progress(node: Node) -> None:
    """A progress bar on the terminal while the node fast-syncs: blocks, rate, transactions and ETA (the
    log carries the same figures every few seconds for a node without a terminal)."""
    import trio  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

    columns = (
        TextColumn("sync"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    while True:
        await trio.sleep(0.5)
        syncer = node.syncer
        if syncer is None or not syncer.progress.active:
            continue
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("sync", total=None, detail="")
            while syncer.progress.active:
                snap = syncer.progress.snapshot()
                eta = "?" if snap.eta_s is None else f"{snap.eta_s:.0f} s"
                detail = f"{snap.blocks_per_s:.0f} blocks/s, {snap.tx_per_s:.0f} tx/s, ETA {eta}"
                bar.update(task, total=snap.target, completed=snap.current, detail=detail)
                await trio.sleep(0.5)


async def show_state_progress(node: Node) -> None:
    """A progress bar on the terminal while ``--sync.mode state`` downloads a state: the share of the
    account key space, nodes/s and ETA (the log carries the same every few seconds)."""
    import trio  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, Progress, TextColumn  # noqa: PLC0415

    progress = node.state_progress
    while not progress.active:
        await trio.sleep(0.5)
    columns = (TextColumn("state sync"), BarColumn(), TextColumn("{task.fields[detail]}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("state", total=1.0, detail="")
        while progress.active:
            snap = progress.snapshot()
            eta = "?" if snap.eta_s is None else f"{snap.eta_s:.0f} s"
            detail = (
                f"{100 * snap.fraction:.0f} %, {snap.nodes} nodes, {snap.nodes_per_s:.0f} nodes/s, ETA {eta}"
            )
            bar.update(task, completed=snap.fraction, detail=detail)
            await trio.sleep(0.5)


def listen_error(exc: BaseException) -> OSError | None:
    """The OSError (a port in use, an address not ours) behind a server that could not start, if that is
    all that went wrong (trio wraps it in exception groups)."""
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        causes = [listen_error(inner) for inner in exc.exceptions]
        if causes and all(c is not None for c in causes):
            return causes[0]
    return None


async def start_ops(node: Node, nursery: Any, rpc: Dispatcher | None) -> None:
    """Metrics, alerts and the dashboard (layer 13) in the node's nursery, fed by its block listener."""
    from harmony.ops.alerts import Thresholds  # noqa: PLC0415
    from harmony.ops.service import OpsService, OpsSettings  # noqa: PLC0415

    config = node.config
    settings = OpsSettings(
        host=config.metrics_host,
        port=config.metrics_port,
        dashboard=config.dashboard_enabled,
        network_view=config.dashboard_network,
        rpc_stats=None
        if rpc is None
        else lambda: {m: (n, rpc.failures[m], rpc.seconds[m]) for m, n in rpc.calls.items()},
        webhooks=config.alert_webhooks,
        watched=tuple(bytes.fromhex(k.removeprefix("0x")) for k in config.alert_keys),
        thresholds=Thresholds(
            missed_blocks=config.alert_missed_blocks,
            signing_target_bp=config.alert_signing_target_bp,
            sync_lag=config.alert_sync_lag,
            min_peers=config.alert_min_peers,
            disk_free_percent=config.alert_disk_free_percent,
            not_elected=config.alert_not_elected,
        ),
    )
    version = f"Harmony (python)/v{__version__}"
    ops = OpsService(lambda: node.hooks.status(version), node.chain.db, settings, params=node.chain.params)
    try:
        port = await nursery.start(ops.run)
    except (OSError, ExceptionGroup) as exc:  # signing matters more than watching: keep the node running
        cause = listen_error(exc)
        if cause is None:
            raise
        log.error(
            "metrics, alerts and dashboard are OFF: cannot listen on %s:%d (%s); set [metrics] port or "
            "--metrics.port to a free port",
            config.metrics_host,
            config.metrics_port,
            cause.strerror or cause,
        )
        return
    if node.driver is not None:
        node.driver.block_listeners.append(ops.on_block)
    log.info("metrics: http://%s:%d/metrics  dashboard: http://%s:%d/", *(config.metrics_host, port) * 2)


def run_node(args: argparse.Namespace) -> int:
    """``harmony node``."""
    try:
        config = config_from_args(args)
    except HarmonyError as exc:
        raise CLIError(str(exc)) from exc
    setup_logging(config.log_level)
    import trio  # noqa: PLC0415

    from harmony.node import gc_tuning  # noqa: PLC0415
    from harmony.node.runtime import Node  # noqa: PLC0415

    if config.db_wait_s:
        # an upgrade's handover: the old node still serves, so load the EVM now rather than in a thread
        # once running, where its import holds the interpreter for a second or more just when the new
        # process casts its first votes
        from harmony.state import lazy_evm  # noqa: PLC0415

        lazy_evm.load()
    try:
        node = Node(config)
    except HarmonyError as exc:
        raise CLIError(str(exc)) from exc
    gc_tuning.tune()
    try:
        trio.run(serve, node)
    finally:
        node.close()
    log.info("stopped")
    return 0
