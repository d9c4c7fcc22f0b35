"""Writer for the compaction crash test: ``python tests/e2e/compaction_writer.py <datadir> [max_rounds]``
opens a database :func:`populate` filled, prints ``ready``, then round after round durably bumps a counter,
prints it, and compacts the whole database (:meth:`LMDBStore.compact`), until killed."""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path

from harmony.storage.lmdb_store import LMDBStore

COUNTER = b"counter"


def populate(store: LMDBStore, seed: int) -> None:
    """Random keys and sizes (some over a page), then most deleted in random places, as pruning does."""
    rng = random.Random(seed)
    keys = []
    with store.write() as txn:
        for i in range(6_000):
            key = b"t" + hashlib.sha256(f"{seed}-{i}".encode()).digest()
            txn.put(key, rng.randbytes(9_000 if i % 400 == 0 else rng.choice((40, 120, 530))))
            keys.append(key)
    with store.write() as txn:
        for key in rng.sample(keys, k=len(keys) * 3 // 4):
            txn.delete(key)


def digest(store: LMDBStore) -> str:
    """A digest of every entry but the counter."""
    h = hashlib.sha256()
    for key, value in store.iterate(b""):
        if key != COUNTER:
            h.update(len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value)
    return h.hexdigest()


def counter(store: LMDBStore) -> int:
    raw = store.get(COUNTER)
    return 0 if raw is None else int.from_bytes(raw, "big")


def run(datadir: Path, max_rounds: int | None) -> None:
    """Bump, print, compact; until killed or ``max_rounds`` rounds."""
    store = LMDBStore(datadir)
    number = counter(store)
    print("ready", flush=True)
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        number += 1
        with store.write() as txn:
            txn.put(COUNTER, number.to_bytes(8, "big"))
        print(number, flush=True)
        store.compact()
        rounds += 1
    store.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    run(Path(args[0]), int(args[1]) if len(args) > 1 else None)
