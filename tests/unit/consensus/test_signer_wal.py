import json
from pathlib import Path

import pytest

from harmony.consensus.api import MemoryLogStore, MemorySignerStore
from harmony.consensus.files import FileLogStore, FileSignerStore
from harmony.consensus.signer import DoubleSignRefused, Phase, Signer, VoteSlot
from harmony.consensus.wal import KIND_VIEW, WalRecord, WriteAheadLog, frame
from harmony.crypto.bls import verify
from tests.unit.consensus.harness import make_keys

KEY = make_keys(1, salt=9)[0]


def _sign(s: Signer, height: int, view: int, phase: Phase, payload: bytes) -> None:
    s.sign([KEY], shard=0, height=height, view=view, phase=phase, payload=payload)


def test_refuses_conflict_and_older_and_survives_restart(tmp_path: Path) -> None:
    store = FileSignerStore(tmp_path / "signer.json")
    signer = Signer(store)
    (sig,) = signer.sign([KEY], shard=0, height=5, view=3, phase=Phase.PREPARE, payload=b"a")
    assert verify(KEY.public_key, b"a", sig)
    assert store.load() is not None  # saved before the signature was returned
    _sign(signer, 5, 3, Phase.PREPARE, b"a")  # identical re-sign is allowed
    with pytest.raises(DoubleSignRefused):
        _sign(signer, 5, 3, Phase.PREPARE, b"b")
    _sign(signer, 5, 3, Phase.COMMIT, b"c")  # other phase
    with pytest.raises(DoubleSignRefused):
        _sign(signer, 4, 9, Phase.PREPARE, b"x")  # older height
    with pytest.raises(DoubleSignRefused):
        _sign(signer, 5, 2, Phase.PREPARE, b"x")  # older view
    restarted = Signer(FileSignerStore(tmp_path / "signer.json"))
    with pytest.raises(DoubleSignRefused):
        _sign(restarted, 5, 3, Phase.COMMIT, b"d")
    _sign(restarted, 5, 4, Phase.PREPARE, b"e")
    _sign(restarted, 6, 0, Phase.PREPARE, b"f")
    assert not list(tmp_path.glob("*.tmp"))


def test_a_deliberate_equivocation_is_recorded_durably_and_never_for_the_past(tmp_path: Path) -> None:
    """The node's test-only ``debug.equivocate`` signs its conflicting COMMIT through the signer: the
    conflict is written to the slashing-protection state before the signature leaves."""
    store = FileSignerStore(tmp_path / "signer.json")
    signer = Signer(store)
    _sign(signer, 7, 2, Phase.COMMIT, b"honest")
    (sig,) = signer.equivocate([KEY], VoteSlot(0, 7, 2, Phase.COMMIT), b"other")
    assert verify(KEY.public_key, b"other", sig)
    (record,) = json.loads((tmp_path / "signer.json").read_text())["keys"].values()
    assert record[:2] == [7, 2] and [e.split(":")[0] for e in record[3]] == ["commit"]
    restarted = Signer(FileSignerStore(tmp_path / "signer.json"))
    with pytest.raises(DoubleSignRefused):
        _sign(restarted, 7, 2, Phase.COMMIT, b"third")  # the honest record still guards
    with pytest.raises(DoubleSignRefused):
        restarted.equivocate([KEY], VoteSlot(0, 6, 9, Phase.COMMIT), b"x")
    _sign(restarted, 8, 0, Phase.PREPARE, b"next")
    (record,) = json.loads((tmp_path / "signer.json").read_text())["keys"].values()
    assert record[:2] == [8, 0] and len(record) == 3  # a new height starts a clean record


def test_other_shard_is_independent() -> None:
    signer = Signer(MemorySignerStore())
    signer.sign([KEY], shard=0, height=5, view=3, phase=Phase.PREPARE, payload=b"a")
    signer.sign([KEY], shard=1, height=1, view=1, phase=Phase.PREPARE, payload=b"b")


def test_corrupt_signer_state_is_an_error() -> None:
    store = MemorySignerStore()
    store.save(b"{not json")
    with pytest.raises(Exception, match="corrupt"):
        Signer(store)
    for entry in (b'[1, 2, {}, "x"]', b"[1, 2, {}, [], []]", b"[1, 2]", b"7"):
        store.save(b'{"version": 1, "keys": {"k/0": ' + entry + b"}}")
        with pytest.raises(Exception, match="corrupt"):
            Signer(store)


def test_wal_replay_stops_at_torn_tail(tmp_path: Path) -> None:
    for store in (MemoryLogStore(), FileLogStore(tmp_path / "wal")):
        wal = WriteAheadLog(store)
        records = [WalRecord(KIND_VIEW, 7, v) for v in range(3)]
        for r in records:
            wal.append(r)
        full = store.read()
        store.replace(full + frame(WalRecord(KIND_VIEW, 7, 9).encode())[:-3])  # torn write
        assert WriteAheadLog(store).open() == records
        assert store.read() == full  # tail removed
        # a flipped bit in the last record: replay stops before it
        bad = bytearray(full)
        bad[-1] ^= 1
        store.replace(bytes(bad))
        assert WriteAheadLog(store).open() == records[:2]
        WriteAheadLog(store).reset()
        assert WriteAheadLog(store).open() == []
