"""Crash safety of history expiry (ChainDB.expire_history, harmony.storage.prune): a real writer process
that imports blocks and prunes states and history between them, killed with SIGKILL at random moments.

After every kill the reopened database holds every block the writer reported, the history floor splits
the chain cleanly (every block from it on whole, every block below it expired as the schema says: no body,
receipts or lookups; a header, numbers and commit signature only for an epoch end or a cross-shard sender,
which also keeps its body), the floor never passes the rule's target, and the address index holds exactly
the kept blocks' transactions, each resolvable. Then the writer goes on from the head.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.storage import ChainDB, LMDBStore, prune, schema
from harmony.storage.chaindb import TxDirection, _first_stored
from harmony.storage.prune import history_target

from . import crash_writer, history_writer
from .test_crash_kill9 import kill_cycles

WRITER = Path(history_writer.__file__)
SEED = 0x4157_0E11
KILLS = 8


def check(datadir: Path, last_printed: int | None, context: str) -> tuple[int, int]:
    """Everything the module docstring promises of a reopened database; (head, history floor)."""
    with LMDBStore(datadir, map_size=crash_writer.MAP_SIZE) as kv:
        db = ChainDB(kv)
        head = db.head_number()
        assert head is not None, f"{context}: empty database"
        assert last_printed is None or head >= last_printed, f"{context}: head {head} < {last_printed}"
        floor = db.history_floor()
        ends = list(db.epoch_ends())
        assert ends == list(range(history_writer.EPOCH, head + 1, history_writer.EPOCH)), context
        assert floor <= max(0, history_target(head, ends)), f"{context}: floor {floor} past the rule"
        kept_sent = []
        for number in range(1, head + 1):
            block_hash = db.get_canonical_hash(number)
            if number >= floor:
                block = db.get_block_by_number(number)
                assert block is not None, f"{context}: block {number} from the floor {floor} on is gone"
                assert db.get_receipts(block.hash()) is not None, f"{context}: receipts of {number}"
                assert db.get_commit_sig(number) is not None, f"{context}: signature of {number}"
                for tx in block.transactions:
                    assert db.get_transaction(tx.hash()) is not None, f"{context}: lookup in {number}"
                    if tx.sender() == history_writer.SENDER.address:
                        kept_sent.append(tx.hash())
                continue
            raw_header = kv.get(schema.header_key(block_hash)) if block_hash else None
            ends_epoch = number % history_writer.EPOCH == 0
            header = db.get_header_by_number(number)
            sent = header is not None and header.outgoing_receipt_hash != EMPTY_TRIE_ROOT
            assert (raw_header is not None) == (ends_epoch or sent), f"{context}: header of expired {number}"
            if header is None:
                assert db.get_commit_sig(number) is None, f"{context}: signature of expired {number}"
                continue
            assert db.get_commit_sig(number) is not None, (
                f"{context}: kept header {number} lost its signature"
            )
            assert db.get_receipts(header.hash()) is None, f"{context}: receipts of expired {number}"
            body = kv.get(schema.body_key(header.hash()))
            assert (body is not None) == sent, f"{context}: body of expired {number}"
            if sent:
                block = db.get_block_by_number(number)
                assert block is not None
                assert all(db.get_transaction_location(tx.hash()) is None for tx in block.transactions)
        # the SENT stream holds exactly the kept blocks' transactions of the sender, in order
        address = history_writer.SENDER.address
        stream = schema.STREAM_SENT
        first = _first_stored(kv, stream, address)
        assert db.address_transactions(address, direction=TxDirection.SENT, limit=10_000) == kept_sent, (
            context
        )
        assert db.address_transaction_count(address, direction=TxDirection.SENT) - first == len(kept_sent)
        assert all(kv.get(schema.address_tx_key(stream, address, s)) is None for s in range(first)), context
        return head, floor


def test_sigkill_while_expiring_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prune, "HISTORY_BLOCKS", history_writer.WINDOW)  # the writer's rule
    datadir = tmp_path / "db"
    floors: list[int] = []

    def check_head(datadir: Path, last_printed: int | None, context: str) -> int:
        head, floor = check(datadir, last_printed, context)
        floors.append(floor)
        return head

    heads = kill_cycles(datadir, KILLS, SEED, after_first=True, writer=WRITER, check=check_head)
    assert floors[-1] > 1 and floors == sorted(floors), f"the history never expired: {floors}"
    done = subprocess.run(
        [sys.executable, str(WRITER), str(datadir), "3"], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    final, _ = check(datadir, None, "final run")
    assert final == heads[-1] + 3  # type: ignore[operator]
