"""Crash safety of state pruning (harmony.storage.prune): real processes killed with SIGKILL mid-round.

1. The crash test's importer with ``--prune 16`` (a pruning round a few slices at a time between blocks,
   as a running node does), killed at random moments: every check of ``test_crash_kill9`` holds, and
   every state the rule keeps at the head (the last 16 blocks' and genesis') is whole.
2. ``harmony db prune`` (the operators' offline command, window 128) killed at random moments on the
   same directory: the same checks; then a complete run prunes what is left and the importer goes on.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from harmony.state.reach import mark_state
from harmony.storage import ChainDB, LMDBStore
from harmony.storage.prune import KEEP_RECENT, kept_numbers

from . import crash_writer
from .test_crash_kill9 import WRITER, check_database, kill_cycles

SEED = 0x9121_0E
KEEP = 16


def assert_kept_states_whole(datadir: Path, keep: int, context: str) -> int:
    """Every state kept at the head under a window of ``keep`` blocks is complete; the head number."""
    with LMDBStore(datadir, map_size=crash_writer.MAP_SIZE) as kv:
        db = ChainDB(kv)
        head = db.head_number()
        assert head is not None, f"{context}: empty database"
        window = [n for n in kept_numbers(head, []) if n == 0 or n > head - keep]
        nodes = db.state_nodes(verify=True)
        for number in window:
            header = db.get_header_by_number(number)
            assert header is not None, f"{context}: block {number} missing"
            for _ in mark_state(nodes, header.root, set()):
                pass
        return head


def test_sigkill_while_pruning(tmp_path: Path) -> None:
    datadir = tmp_path / "db"
    heads = kill_cycles(datadir, kills=15, seed=SEED, writer_args=("--prune", str(KEEP)))
    head = assert_kept_states_whole(datadir, KEEP, "after the importer's kills")
    assert head == heads[-1] and head > 3 * KEEP, heads
    with LMDBStore(datadir, map_size=crash_writer.MAP_SIZE) as kv:
        old = ChainDB(kv).get_header_by_number(1)
        assert old is not None and kv.get(b"t" + old.root) is None, "an old state was not pruned"

    rng = random.Random(SEED)
    harmony = [sys.executable, "-m", "harmony.cli.main", "db", "prune", str(datadir.parent / "db")]
    for cycle in range(4):
        proc = subprocess.Popen(harmony, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        context = f"harmony db prune, kill {cycle}"
        assert check_database(datadir, head, context) == head
        assert_kept_states_whole(datadir, KEEP, context)
    done = subprocess.run([*harmony, "--json"], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    # the importer kept 16 states: of the 128 the command keeps, the older ones were already pruned
    assert summary["head"] == head and summary["kept_states"] == KEEP_RECENT + 1
    assert summary["incomplete_states"] and max(summary["incomplete_states"]) <= head - KEEP
    more = subprocess.run(
        [sys.executable, str(WRITER), str(datadir), "3", "--prune", str(KEEP)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert more.returncode == 0, more.stderr
    assert check_database(datadir, None, "final run") == head + 3
    assert_kept_states_whole(datadir, KEEP, "final run")
