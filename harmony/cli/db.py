"""``harmony db``: look inside a node's chain database; prune and compact a stopped node's.

* ``harmony db inspect [DATADIR]``: entries and sizes per table, the file's size on disk; ``--json`` for
  scripts. Safe on a running node's directory (it only reads).
* ``harmony db prune [DATADIR]``: delete the trie nodes and code that no kept state references (the last
  128 blocks' states, every epoch boundary's and genesis') and expire the blocks below the history floor
  (the last four epochs and 256 blocks stay whole: :mod:`harmony.storage.prune`) from a *stopped* node's
  directory, with a progress bar; ``--keep-history`` prunes states only. A running node prunes itself
  unless started with ``--archive``, so this is for an archive directory turned into a pruned one, or a
  node that ran with ``--archive``. It then compacts the file when that frees much
  (:mod:`harmony.storage.compaction`).
* ``harmony db compact [DATADIR]``: rewrite a *stopped* node's database into a new file of full pages and
  put it in place (a kill at any moment leaves the old file or the new one). LMDB reuses freed pages but
  never gives them back, so a pruned node's file keeps the size of its busiest moment; a running pruning
  node compacts itself while its database is small (under 256 MB of pages in use).

``DATADIR`` is the node's data directory (``general.data_dir``, default ``./harmony-data``) or its
``chain`` subdirectory.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harmony.cli.common import CLIError
from harmony.storage.chaindb import ChainDB
from harmony.storage.compaction import compact_if_wasteful
from harmony.storage.errors import StorageError, StorageLocked
from harmony.storage.inspect import DBReport, inspect_store
from harmony.storage.lmdb_store import DATA_FILE, Compaction, LMDBStore
from harmony.storage.prune import PruneProgress, Pruner

DEFAULT_DATADIR = Path("harmony-data")


def chain_dir(datadir: Path) -> Path:
    """The LMDB directory of a node's data directory (or the directory itself if it is one).

    Raises :class:`CLIError` saying what is wrong: no such directory, or no chain database in it.
    """
    if not datadir.exists():
        raise CLIError(f"{datadir}: no such directory; pass the node's data directory (general.data_dir)")
    if not datadir.is_dir():
        raise CLIError(f"{datadir}: not a directory; pass the node's data directory (general.data_dir)")
    for candidate in (datadir / "chain", datadir):
        if (candidate / DATA_FILE).is_file():
            return candidate
    raise CLIError(
        f"{datadir}: not a node data directory (no chain/data.mdb in it); pass the directory a node was "
        "started with (general.data_dir, default ./harmony-data)"
    )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # pragma: no cover


def _report_table(report: DBReport) -> Table:
    table = Table()
    for column in ("prefix", "table", "entries", "keys", "values", "total"):
        table.add_column(column, justify="left" if column in ("prefix", "table") else "right", no_wrap=True)
    for t in sorted(report.tables, key=lambda t: -t.total_bytes):
        table.add_row(
            t.prefix,
            t.name,
            f"{t.entries:,}",
            _human(t.key_bytes),
            _human(t.value_bytes),
            _human(t.total_bytes),
        )
    return table


def _inspect(args: argparse.Namespace) -> int:
    path = chain_dir(args.datadir)
    console = Console(stderr=True)
    try:
        store = LMDBStore(path, readonly=True)
    except StorageError as exc:
        raise CLIError(f"{path}: cannot open the chain database: {exc}") from exc
    with store:
        db = ChainDB(store)
        floor = db.history_floor()
        history = db.tx_history_from()
        if args.json:
            report = inspect_store(store, path)
        else:
            with _progress(console) as progress:
                task = progress.add_task("reading", total=None)
                report = inspect_store(
                    store, path, lambda done, total: progress.update(task, completed=done, total=total)
                )
    if args.json:
        print(json.dumps({**asdict(report), "history_floor": floor, "tx_history_from": history}))
    else:
        # the path on a line of its own: a long one would wrap a table title (and a narrow pipe the cells)
        print(f"{report.path}: {report.entries} entries, {_human(report.file_bytes)} on disk")
        Console(width=max(100, Console().width)).print(_report_table(report))
        if floor:
            print(f"blocks whole from {floor} on; the older ones are expired (epoch ends keep their headers)")
        if history is None:
            print(
                "transaction history: not kept (a validator's default; [storage] tx_history = true keeps it)"
            )
        else:
            print(
                f"transaction history: indexed from block {history} on"
                if history
                else "transaction history: every block indexed"
            )
        print(
            f"LMDB pages: {_human(report.used_bytes)}, {_human(report.live_bytes)} of them in use (freed "
            "pages are reused; `harmony db compact` on a stopped node gives them back and fills half-empty "
            "pages)"
        )
    return 0


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _open_stopped(path: Path, why: str) -> LMDBStore:
    """The chain database of a stopped node, for writing; :class:`CLIError` saying what to do if a running
    node holds it (``why``: what the running node does itself) or it cannot be opened."""
    try:
        return LMDBStore(path)
    except StorageLocked as exc:
        raise CLIError(
            f"{path}: the database is in use by a running node ({exc}); stop the node first ({why})"
        ) from exc
    except StorageError as exc:
        raise CLIError(f"{path}: cannot open the chain database: {exc}") from exc


def _compact_with_progress(store: LMDBStore, console: Console, *, always: bool) -> Compaction | None:
    """Compact ``store`` (``always``, or when :func:`~harmony.storage.compaction.wasteful`) with a bar."""
    with _progress(console) as progress:
        task = progress.add_task("compacting", total=None)

        def show(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            if always:
                return store.compact(show)
            return compact_if_wasteful(store, show)
        except StorageError as exc:
            raise CLIError(f"{exc} (is the disk full? compaction needs room for a second copy)") from exc


def _compacted_line(path: Path, done: Compaction) -> str:
    return (
        f"compacted {path}: {_human(done.after)} on disk, was {_human(done.before)} "
        f"({done.entries:,} entries in {done.seconds:.1f} s)"
    )


def _compact(args: argparse.Namespace) -> int:
    path = chain_dir(args.datadir)
    console = Console(stderr=True)
    with _open_stopped(path, "a running pruning node compacts its own database while it is small") as store:
        done = _compact_with_progress(store, console, always=True)
    assert done is not None
    if args.json:
        print(json.dumps(asdict(done)))
    else:
        print(_compacted_line(path, done))
    return 0


def _prune(args: argparse.Namespace) -> int:
    path = chain_dir(args.datadir)
    console = Console(stderr=True)
    store = _open_stopped(path, "a running node prunes its own state unless it was started with --archive")
    with store:
        db = ChainDB(store)
        if db.head_number() is None:
            raise CLIError(f"{path}: the chain database is empty: nothing to prune")
        db.index_epoch_ends()  # a database from an older build: its epoch ends are kept states
        before = store.stats().entries
        result = PruneProgress()
        with _progress(console) as progress:
            mark = progress.add_task("marking kept states", total=None)
            sweep = progress.add_task("sweeping", total=None, visible=False)
            expire = progress.add_task("expiring old blocks", total=None, visible=False)
            for result in Pruner(db, history=not args.keep_history).round(count_total=True):
                if result.phase == "mark":
                    progress.update(mark, completed=result.roots_marked, total=result.roots)
                    continue
                progress.update(mark, completed=result.roots, total=result.roots)
                progress.update(sweep, visible=True, completed=result.scanned, total=result.total)
                if result.phase == "history":
                    first = max(1, result.history_floor - result.expired)
                    progress.update(
                        expire,
                        visible=True,
                        completed=result.history_floor - first,
                        total=max(0, result.history_target - first),
                    )
        compacted = _compact_with_progress(store, console, always=False)
    summary = {
        "head": result.head,
        "kept_states": result.roots,
        "nodes_in_use": result.marked,
        "deleted": result.deleted,
        "deleted_bytes": result.deleted_bytes,
        "entries_before": before,
        "incomplete_states": result.incomplete,
        "history_floor": result.history_floor,
        "expired_blocks": result.expired,
        "compacted": None if compacted is None else asdict(compacted),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"pruned {path} at head {result.head}: kept {result.roots} states ({result.marked:,} nodes and "
            f"code in use), deleted {result.deleted:,} entries ({_human(result.deleted_bytes)})"
        )
        if result.history_floor > 0:
            print(
                f"blocks are whole from {result.history_floor} on ({result.expired:,} expired now); below it "
                "only epoch ends' headers and cross-shard proofs stay (--keep-history keeps every block)"
            )
        if result.incomplete:
            print(
                f"note: {len(result.incomplete)} of the kept states were already incomplete (blocks "
                f"{result.incomplete[0]}…{result.incomplete[-1]}: pruned before with a smaller window); "
                "an archive node has them"
            )
        if compacted is not None:
            print(_compacted_line(path, compacted))
        else:
            print("the file was not worth compacting: LMDB reuses the freed pages before it grows again")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` subcommand (``inspect``, ``prune``, ``compact``)."""
    db = sub.add_parser("db", help="inspect, prune or compact a node's chain database", description=__doc__)
    actions = db.add_subparsers(dest="action", metavar="{inspect,prune,compact}", required=True)
    for name, func, text in (
        ("inspect", _inspect, "entries and sizes per table of a node's chain database"),
        ("prune", _prune, "delete the old states and blocks a stopped node no longer keeps (progress bar)"),
        ("compact", _compact, "rewrite a stopped node's database into a smaller file (progress bar)"),
    ):
        parser = actions.add_parser(
            name, help=text, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        parser.add_argument(
            "datadir",
            metavar="DATADIR",
            type=Path,
            nargs="?",
            default=DEFAULT_DATADIR,
            help="the node's data directory or its chain/ subdirectory (default ./harmony-data)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
        if name == "prune":
            parser.add_argument(
                "--keep-history",
                action="store_true",
                help="prune old states only, keep every block (for a node that serves full sync)",
            )
        parser.set_defaults(func=func)
