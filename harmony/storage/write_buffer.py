"""The write transaction both backends hand out: puts and deletes buffered in Python (design §3.4).

Buffering makes a transaction's effect one mapping, applied in a single step when the ``with`` block ends:
the memory backend updates its dict, LMDB replays it in one write transaction (and can replay it again after
growing its map). Reads through the buffer see its own writes first, then the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from harmony.abc import KVReader, KVWriteTxn
from harmony.storage.errors import StorageError, StoreClosed

MAX_KEY_SIZE = 511
"""Longest key accepted: LMDB's default ``mdb_env_get_maxkeysize``; both backends enforce it alike."""

_DELETED = None


class WriteBuffer:
    """An open write transaction over ``base``: implements :class:`harmony.abc.KVWriteTxn`.

    ``pending`` maps each touched key to its new value, or ``None`` where the key is deleted; the last
    operation on a key wins. After :meth:`close` every call raises :class:`StoreClosed`, so a transaction
    leaked out of its ``with`` block cannot write into thin air.
    """

    __slots__ = ("_base", "_open", "pending")

    def __init__(self, base: KVReader) -> None:
        self._base = base
        self._open = True
        self.pending: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key`` as this transaction sees it: its own writes, else the store's."""
        if not self._open:
            raise StoreClosed("write transaction used after it ended")
        if key in self.pending:
            return self.pending[key]
        return self._base.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        """Buffer ``key -> value``; keys are 1..511 bytes, values any bytes."""
        if not self._open:
            raise StoreClosed("write transaction used after it ended")
        _check_key(key)
        if not isinstance(value, bytes):
            raise StorageError(f"values are bytes, got {type(value).__name__}")
        self.pending[key] = value

    def delete(self, key: bytes) -> None:
        """Buffer the removal of ``key`` (a no-op at commit if it is absent)."""
        if not self._open:
            raise StoreClosed("write transaction used after it ended")
        _check_key(key)
        self.pending[key] = _DELETED

    def close(self) -> None:
        """End the transaction: later calls raise :class:`StoreClosed`."""
        self._open = False


@contextmanager
def buffered_write(
    base: KVReader, check_open: Callable[[], None], apply: Callable[[dict[bytes, bytes | None]], None]
) -> Iterator[KVWriteTxn]:
    """A write transaction over ``base``: a :class:`WriteBuffer` whose pending writes go to ``apply`` in one
    step when the ``with`` block ends normally; an exception inside discards them (``check_open`` runs
    before the transaction opens and before it is applied)."""
    check_open()
    txn = WriteBuffer(base)
    try:
        yield txn
    finally:
        txn.close()
    check_open()
    apply(txn.pending)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes):
        raise StorageError(f"keys are bytes, got {type(key).__name__}")
    if not 0 < len(key) <= MAX_KEY_SIZE:
        raise StorageError(f"key length {len(key)} outside 1..{MAX_KEY_SIZE}")


__all__ = ["MAX_KEY_SIZE", "WriteBuffer", "buffered_write"]
