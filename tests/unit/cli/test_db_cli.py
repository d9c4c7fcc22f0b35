"""``harmony db inspect`` and ``harmony db prune`` on a real LMDB chain: output, --json, --help, history
expiry and ``--keep-history``, and the refusals (missing directory, not a data directory, a running node's
locked directory, an empty chain)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harmony.cli.main import main
from harmony.node.blockchain import Blockchain
from harmony.storage import prune
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from tests.e2e import crash_writer, history_writer


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def datadir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node data directory whose chain has 40 blocks of transfers (chain/ inside, as a node makes)."""
    root = tmp_path_factory.mktemp("node")
    crash_writer.run(root / "chain", 40)
    return root


def test_help_of_each_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["db"], ["db", "inspect"], ["db", "prune"], ["db", "compact"]):
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--help"])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        assert "DATADIR" in out or "inspect" in out
    with pytest.raises(SystemExit):
        main(["db"])  # an action is required
    assert "inspect" in capsys.readouterr().err


def test_inspect_lists_every_table(datadir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["db", "inspect", str(datadir)], capsys)
    assert code == 0
    assert "state trie nodes and code" in out and "headers" in out and "on disk" in out
    code, out, _ = run(["db", "inspect", "--json", str(datadir / "chain")], capsys)
    assert code == 0
    report = json.loads(out)
    tables = {t["name"]: t for t in report["tables"]}
    assert tables["headers"]["entries"] == 41 and tables["canonical hashes"]["entries"] == 41
    assert tables["state trie nodes and code"]["entries"] > 0
    assert report["entries"] == sum(t["entries"] for t in report["tables"])
    assert report["file_bytes"] > 0


def test_inspect_says_which_blocks_the_transaction_history_covers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crash_writer.run(tmp_path / "chain", 3)
    for keep, text, first in (
        (True, "every block indexed", 0),
        (False, "not kept", None),
        (True, "indexed from block 4 on", 4),  # kept again after blocks went unindexed
    ):
        with LMDBStore(tmp_path / "chain") as store:
            ChainDB(store, tx_history=keep).record_tx_history()
        code, out, _ = run(["db", "inspect", str(tmp_path)], capsys)
        assert code == 0 and f"transaction history: {text}" in out, out
        report = json.loads(run(["db", "inspect", "--json", str(tmp_path)], capsys)[1])
        assert report["tx_history_from"] == first


def test_prune_deletes_old_states_and_inspect_sees_it(
    datadir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = json.loads(run(["db", "inspect", "--json", str(datadir)], capsys)[1])
    monkeypatch.setattr(prune, "KEEP_RECENT", 8)
    code, out, _ = run(["db", "prune", "--json", str(datadir)], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["head"] == 40 and summary["kept_states"] == 9 and summary["deleted"] > 0
    after = json.loads(run(["db", "inspect", "--json", str(datadir)], capsys)[1])
    nodes = "state trie nodes and code"
    count = {r["name"]: r["entries"] for r in after["tables"]}[nodes]
    assert count == {r["name"]: r["entries"] for r in before["tables"]}[nodes] - summary["deleted"]
    code, out, _ = run(["db", "prune", str(datadir)], capsys)  # again: nothing left to delete
    assert code == 0 and "deleted 0 entries" in out


def test_refusals_say_what_to_do(datadir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("inspect", "prune", "compact"):
        code, _, err = run(["db", action, str(tmp_path / "nowhere")], capsys)
        assert code == 1 and "no such directory" in err and "data directory" in err
        (tmp_path / "file").write_text("x")
        code, _, err = run(["db", action, str(tmp_path / "file")], capsys)
        assert code == 1 and "not a directory" in err
        (tmp_path / "other" / "chain").mkdir(parents=True, exist_ok=True)
        code, _, err = run(["db", action, str(tmp_path / "other")], capsys)
        assert code == 1 and "not a node data directory" in err and "chain/data.mdb" in err
    (tmp_path / "garbage" / "chain").mkdir(parents=True)
    (tmp_path / "garbage" / "chain" / "data.mdb").write_bytes(b"not lmdb" * 100)
    code, _, err = run(["db", "inspect", str(tmp_path / "garbage")], capsys)
    assert code == 1 and "cannot open the chain database" in err
    with LMDBStore(tmp_path / "empty" / "chain"):
        pass
    code, _, err = run(["db", "prune", str(tmp_path / "empty")], capsys)
    assert code == 1 and "empty" in err


def test_a_running_nodes_directory_is_read_but_not_pruned(
    datadir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # another process holds the database open for writing, as a running node does
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(datadir / "chain")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        for action in ("prune", "compact"):
            code, _, err = run(["db", action, str(datadir)], capsys)
            assert code == 1 and "running node" in err and "stop the node first" in err
        code, out, _ = run(["db", "inspect", "--json", str(datadir)], capsys)
        assert code == 0 and json.loads(out)["entries"] > 0
    finally:
        holder.kill()
        holder.wait()


HOLD = """
import sys, time
from harmony.storage.lmdb_store import LMDBStore
store = LMDBStore(sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""


def test_prune_expires_old_blocks_unless_told_to_keep_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prune, "HISTORY_BLOCKS", history_writer.WINDOW)
    with LMDBStore(tmp_path / "chain") as store:
        history_writer.grow(Blockchain.open(ChainDB(store), crash_writer.GENESIS, crash_writer.SHARD), 60)
    code, out, _ = run(["db", "prune", "--keep-history", "--json", str(tmp_path)], capsys)
    assert code == 0 and json.loads(out)["expired_blocks"] == 0
    code, out, _ = run(["db", "prune", str(tmp_path)], capsys)
    assert code == 0 and "blocks are whole from" in out and "--keep-history" in out
    with LMDBStore(tmp_path / "chain", readonly=True) as store:
        floor = ChainDB(store).history_floor()
    assert floor > 1 and f"from {floor} on ({floor - 1} expired" in out
    code, out, _ = run(["db", "inspect", str(tmp_path)], capsys)
    assert code == 0 and f"blocks whole from {floor} on" in out
    assert json.loads(run(["db", "inspect", "--json", str(tmp_path)], capsys)[1])["history_floor"] == floor


def test_compact_gives_back_what_pruning_freed_and_keeps_every_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_writer.run(tmp_path / "chain", 60)
    capsys.readouterr()  # the writer's own lines
    monkeypatch.setattr(prune, "KEEP_RECENT", 4)
    code, out, _ = run(["db", "prune", "--json", "--keep-history", str(tmp_path)], capsys)
    assert code == 0 and json.loads(out)["compacted"] is None  # a few MB: not worth it by the node's rule
    with LMDBStore(tmp_path / "chain", readonly=True) as store:
        entries = dict(store.iterate(b""))
    before = json.loads(run(["db", "inspect", "--json", str(tmp_path)], capsys)[1])
    assert before["used_bytes"] > before["live_bytes"] > 0
    code, out, _ = run(["db", "compact", "--json", str(tmp_path)], capsys)
    assert code == 0
    done = json.loads(out)
    assert done["entries"] == len(entries) and done["after"] < done["before"]
    after = json.loads(run(["db", "inspect", "--json", str(tmp_path)], capsys)[1])
    assert after["file_bytes"] == done["after"] and after["used_bytes"] < before["used_bytes"]
    with LMDBStore(tmp_path / "chain", readonly=True) as store:
        assert dict(store.iterate(b"")) == entries
    code, out, _ = run(["db", "compact", str(tmp_path)], capsys)
    assert code == 0 and out.startswith("compacted ") and "entries in" in out
    code, out, _ = run(["db", "inspect", str(tmp_path)], capsys)
    assert "harmony db compact" in out and "of them in use" in out
