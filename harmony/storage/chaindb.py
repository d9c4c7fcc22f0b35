"""The chain database: blocks, receipts, indexes, cross-shard data and state nodes over a KV store.

The central operation is :meth:`ChainDB.write_block` (design §3.4, in the manner of py-evm's
``persist_block``): everything about a block (header, body, receipts, canonical index, transaction lookups,
outgoing cross-shard receipts, spent markers of the incoming ones, crosslinks, commit signatures, shard
state, validator snapshots, new state trie nodes, the per-address transaction index) **and the head
pointer** go into ONE write transaction.
A crash at any moment therefore leaves either the previous head with all of its data, or the new one with
all of its data; a write that fails part-way leaves the database exactly as it was.

The chain is append-only: each block must extend the head (FBFT blocks are final, there are no reorgs), so
no header, number index or lookup of a block above the head ever exists. Key layout: :mod:`.schema`.

Every value read back is checked: headers against their hash key, everything else by the strict decoders
of :mod:`harmony.types`; bytes that fail raise :class:`~harmony.storage.errors.CorruptData`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, TypeVar

from harmony.abc import KVReader, KVStore, KVWriteTxn
from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp, tagged
from harmony.encoding.rlp import DecodedItem
from harmony.encoding.schema import HASH32, UINT8, UINT64, Sedes, Serializable, as_list
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.errors import HarmonyError, RLPError
from harmony.storage import schema
from harmony.storage.errors import CorruptData, HistoryNotKept, NotChildOfHead, StorageError
from harmony.storage.staged import StagedStore
from harmony.types.block import BLOCK_TAG, Block, encode_body, frame_block
from harmony.types.crosslink import CrossLink, decode_crosslinks
from harmony.types.cx import CXReceipt, CXReceiptsProof, build_receipts_proof, group_by_destination
from harmony.types.header import COMMIT_SIGNATURE_SIZE, Header
from harmony.types.receipt import Receipt
from harmony.types.shard_state import Committee, ShardState, ShardStateError
from harmony.types.staking import Delegate, Revoke, StakingTransaction, Undelegate, acting_account
from harmony.types.transaction import Transaction

T = TypeVar("T")
R = TypeVar("R")

TX_KIND_PLAIN = 0
TX_KIND_STAKING = 1

_MAX_STORED_LIST = 64 * 1024 * 1024
"""Decode bound on a stored receipts or cross-shard receipts list."""

MAX_ADDRESS_PAGE = 100_000
"""Most entries :meth:`ChainDB.address_transactions` reads in one call (the RPC caps pages at 1000)."""
CACHED_SHARD_STATES = 16
"""Decoded shard states kept (by epoch)."""
EXPIRE_TRANSACTIONS = 2_000
"""Transactions one :meth:`ChainDB.expire_history` write expires at most (each costs a sender recovery for
the address index: about 0.1 s of a node's loop)."""
EXPIRE_BLOCKS = 512
"""Blocks one :meth:`ChainDB.expire_history` write expires at most (a long write copies many pages: the
file grows by what one transaction touches)."""


class TxDirection(IntEnum):
    """Which of an address's transactions (Harmony's ``txType``: ``ALL``, ``SENT``, ``RECEIVED``)."""

    ALL = schema.STREAM_ALL
    SENT = schema.STREAM_SENT
    RECEIVED = schema.STREAM_RECEIVED


def _stream(direction: TxDirection, staking: bool) -> int:
    return int(direction) | (schema.STREAM_STAKING if staking else 0)


@dataclass(frozen=True, slots=True)
class TxLocation(Serializable):
    """Where a transaction sits in the canonical chain (Go ``TxLookupEntry``)."""

    block_hash: bytes
    block_number: int
    index: int
    """Position in the block's plain or staking transaction list (see ``kind``)."""
    kind: int
    """:data:`TX_KIND_PLAIN` or :data:`TX_KIND_STAKING`."""
    receipt_index: int
    """Position of its receipt: plain transactions first, then staking ones (one index space)."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("block_hash", HASH32),
        ("block_number", UINT64),
        ("index", UINT64),
        ("kind", UINT8),
        ("receipt_index", UINT64),
    )

    @property
    def staking(self) -> bool:
        """Whether it is a staking transaction."""
        return self.kind == TX_KIND_STAKING


@dataclass(frozen=True, slots=True)
class CXReceiptLocation:
    """A cross-shard receipt this shard emitted and the block that emitted it."""

    receipt: CXReceipt
    block_hash: bytes
    block_number: int


class StateNodes:
    """The :class:`harmony.abc.KVReader` the state layer reads trie nodes and code through.

    Keys are bare 32-byte Keccak-256 hashes; this view adds the table prefix. With ``verify`` every value
    read is hashed and compared with its key, so a corrupted node raises :class:`CorruptData`.
    """

    __slots__ = ("_kv", "_verify")

    def __init__(self, kv: KVReader, *, verify: bool = False) -> None:
        self._kv = kv
        self._verify = verify

    def get(self, key: bytes) -> bytes | None:
        """The trie node or code whose Keccak-256 hash is ``key``, or ``None``."""
        value = self._kv.get(schema.STATE_NODE + key)
        if value is not None and self._verify and keccak256(value) != key:
            raise CorruptData(f"state node {key.hex()}: stored bytes do not hash to their key")
        return value


class ChainDB:
    """The chain database over any :class:`harmony.abc.KVStore` (LMDB in the node, memory in tests).

    ``tx_history``: whether each block's transactions go into the address index (schema ``a``/``A``), the
    history an explorer serves; a validator skips it (:meth:`record_tx_history`).
    """

    def __init__(self, kv: KVStore, *, tx_history: bool = True) -> None:
        self.kv = kv
        self.tx_history = tx_history
        self._address_index_gone = False
        self._node_watchers: list[set[bytes]] = []
        self._shard_states: dict[int, tuple[bytes, ShardState]] = {}
        """Decoded shard states by epoch, with the bytes they were decoded from (every synced block looks
        its epoch's committee up; the stored bytes are compared, so a rewritten entry is decoded again)."""

    # -- the block write ------------------------------------------------------------------------------

    @contextmanager
    def staged(self) -> Iterator[StagedStore]:
        """Stage every write made inside the ``with`` block in memory and make them durable together
        (:mod:`harmony.storage.staged`): block sync writes many blocks with one commit.

        Reads through this database see the staged blocks. The caller may :meth:`StagedStore.flush` at any
        time; whatever is staged when the block ends, normally or by an exception, is flushed then: each
        staged write is a whole block, so nothing verified is lost and nothing partial is written. Nested
        use joins the outer stage.
        """
        if isinstance(self.kv, StagedStore):
            yield self.kv
            return
        base = self.kv
        stage = StagedStore(base)
        self.kv = stage
        try:
            yield stage
        finally:
            self.kv = base
            stage.flush()

    def write_block(
        self,
        block: Block,
        receipts: Sequence[Receipt],
        state_nodes: Mapping[bytes, bytes],
        *,
        cx_receipts: Sequence[CXReceipt] = (),
        commit_sig: tuple[bytes, bytes] | None = None,
        validator_snapshots: Mapping[tuple[int, bytes], bytes] | None = None,
        senders: Sequence[bytes] | None = None,
    ) -> None:
        """Store ``block`` and everything it brings, and make it the head, in one write transaction (§3.4).

        ``receipts`` pair with the plain then staking transactions; ``state_nodes`` are the new trie nodes
        and code keyed by their Keccak-256 hash (``StateDB.commit()``); ``cx_receipts`` the outgoing
        cross-shard receipts (§6.4); ``commit_sig`` the block's own (signature, bitmap) when known;
        ``validator_snapshots`` opaque snapshots keyed by (epoch, validator address); ``senders`` the
        recovered sender of each plain transaction (the state transition's ``TxOutcome.sender``), for the
        address index (written only with ``tx_history``). Without ``senders`` each sender is recovered
        here from the signature (any chain ID: the block was validated for the shard's accepted ones before
        it got here).

        Derived from the block itself: the parent's commit signature (header ``last_commit_*``), the spent
        markers of the incoming receipt proofs, the crosslinks of a beacon header, and the shard state an
        epoch's last block carries (stored for the next epoch; genesis's for its own).

        Raises :class:`NotChildOfHead` unless the block is genesis (number 0) of an empty database or the
        child of the head, :class:`StorageError` for malformed arguments; on any error nothing is written.
        """
        header = block.header
        n_txs = len(block.transactions) + len(block.staking_transactions)
        if len(receipts) != n_txs:
            raise StorageError(f"block {header.number}: {len(receipts)} receipts for {n_txs} transactions")
        if senders is not None and (
            len(senders) != len(block.transactions) or any(len(s) != 20 for s in senders)
        ):
            raise StorageError(
                f"block {header.number}: senders must be {len(block.transactions)} addresses of 20 bytes"
            )
        if commit_sig is not None and len(commit_sig[0]) != COMMIT_SIGNATURE_SIZE:
            raise StorageError(
                f"commit signature has {len(commit_sig[0])} bytes, not {COMMIT_SIGNATURE_SIZE}"
            )
        header_bytes = header.encode()
        block_hash = keccak256(header_bytes)  # the header hash: Keccak-256 of its tagged RLP (§2.1)
        number = header.number
        tx_encodings = [tx.encode() for tx in block.transactions]
        stx_encodings = [stx.encode() for stx in block.staking_transactions]
        with self.kv.write() as txn:
            self._check_extends_head(txn, header)
            put = txn.put
            self._put_canonical(txn, block, header_bytes, block_hash, (tx_encodings, stx_encodings))
            put(
                schema.receipts_key(block_hash),
                rlp.encode_list_of_encoded([r.encode_compact() for r in receipts]),
            )
            self._put_tx_lookups(txn, block, block_hash, stx_encodings)
            if self.tx_history:
                self._put_address_index(txn, _address_entries(block, stx_encodings, senders))
            for to_shard, sent in group_by_destination(cx_receipts).items():
                put(schema.outgoing_cx_key(to_shard, number), rlp.encode([r.to_rlp() for r in sent]))
            for proof in block.incoming_receipts:
                put(
                    schema.cx_spent_key(proof.merkle_proof.shard_id, proof.merkle_proof.block_num),
                    schema.SPENT,
                )
            if commit_sig is not None:
                put(schema.commit_sig_key(number), commit_sig[0] + commit_sig[1])
            for (epoch, address), snapshot in (validator_snapshots or {}).items():
                put(schema.validator_snapshot_key(epoch, address), snapshot)
            self._put_state_nodes(txn, state_nodes)
            if number == 0:
                put(schema.GENESIS_KEY, block_hash)
            put(schema.HEAD_KEY, block_hash)

    def _put_canonical(
        self,
        txn: KVWriteTxn,
        block: Block,
        header_bytes: bytes,
        block_hash: bytes,
        encodings: tuple[list[bytes], list[bytes]],
    ) -> None:
        """Put a block's header and body as the canonical block of its number, with what its header brings:
        the parent's commit signature, a beacon header's crosslinks, an epoch's last block's shard state."""
        header = block.header
        number = header.number
        put = txn.put
        put(schema.header_key(block_hash), header_bytes)
        put(schema.body_key(block_hash), encode_body(block, *encodings))
        put(schema.number_key(block_hash), schema.u64(number))
        put(schema.canonical_key(number), block_hash)
        if header.cross_links:
            self._put_crosslinks(txn, decode_crosslinks(header.cross_links))
        if number > 0 and header.last_commit_bitmap:
            put(schema.commit_sig_key(number - 1), header.last_commit_signature + header.last_commit_bitmap)
        if header.shard_state:
            epoch = header.epoch if number == 0 else header.epoch + 1
            put(schema.shard_state_key(epoch), header.shard_state)
            if number > 0:
                put(schema.epoch_last_key(header.epoch), schema.u64(number))

    def write_pivot(
        self,
        blocks: Sequence[Block],
        commit_sig: tuple[bytes, bytes],
        shard_states: Mapping[int, bytes],
    ) -> None:
        """Make a state-synced block the head over genesis, without the history between (issue 18 item 2).

        ``blocks`` end with the pivot, each the parent of the next (the ancestors the rules read after it:
        BLOCKHASH's window, the epoch's headers); ``commit_sig`` is the pivot's own, ``shard_states`` the
        committees of every epoch the epoch chain proved. The pivot's state must be stored already (state
        sync writes it first), and the database must hold only genesis. Receipts of these blocks are not
        known and not written. One write transaction: a kill leaves either genesis or the pivot as head.
        """
        if not blocks:
            raise StorageError("write_pivot: no block")
        if len(commit_sig[0]) != COMMIT_SIGNATURE_SIZE:
            raise StorageError(
                f"commit signature has {len(commit_sig[0])} bytes, not {COMMIT_SIGNATURE_SIZE}"
            )
        pivot = blocks[-1].header
        for parent, child in itertools.pairwise(blocks):
            if child.header.parent_hash != parent.hash() or child.header.number != parent.header.number + 1:
                raise StorageError(
                    f"write_pivot: block {child.header.number} is not the child of the one before"
                )
        with self.kv.write() as txn:
            head = txn.get(schema.HEAD_KEY)
            if head is None or self._number_of(txn, head) != 0:
                raise StorageError("write_pivot: the database must hold only genesis")
            if blocks[0].header.number <= 0:
                raise StorageError("write_pivot: the blocks must come after genesis")
            if txn.get(schema.state_node_key(pivot.root)) is None:
                raise StorageError(
                    f"write_pivot: the state {pivot.root.hex()} of block {pivot.number} is not stored"
                )
            for epoch, encoded in shard_states.items():
                txn.put(schema.shard_state_key(epoch), encoded)
            for block in blocks:
                header_bytes = block.header.encode()
                self._put_canonical(
                    txn,
                    block,
                    header_bytes,
                    keccak256(header_bytes),
                    (
                        [tx.encode() for tx in block.transactions],
                        [stx.encode() for stx in block.staking_transactions],
                    ),
                )
            txn.put(schema.commit_sig_key(pivot.number), commit_sig[0] + commit_sig[1])
            txn.put(schema.HISTORY_KEY, schema.u64(blocks[0].header.number))
            txn.put(schema.HEAD_KEY, keccak256(pivot.encode()))

    def _put_state_nodes(self, txn: KVWriteTxn, state_nodes: Mapping[bytes, bytes]) -> None:
        """Put trie nodes and code by hash, telling every watcher (:meth:`watch_state_nodes`)."""
        for node_hash, node in state_nodes.items():
            if len(node_hash) != 32:
                raise StorageError(f"state node key must be a 32-byte hash, got {len(node_hash)} bytes")
            txn.put(schema.state_node_key(node_hash), node)
        for watcher in self._node_watchers:
            watcher.update(state_nodes)

    @contextmanager
    def watch_state_nodes(self) -> Iterator[set[bytes]]:
        """A set that collects the hash of every state node written while the ``with`` block runs.

        The pruner's guard (:mod:`harmony.storage.prune`): a node written during a round is never swept
        by it. The set is filled before the write commits, so it may name a node whose write then failed.
        """
        watcher: set[bytes] = set()
        self._node_watchers.append(watcher)
        try:
            yield watcher
        finally:
            self._node_watchers.remove(watcher)

    def _check_extends_head(self, txn: KVWriteTxn, header: Header) -> None:
        head = txn.get(schema.HEAD_KEY)
        if head is None:
            if header.number != 0:
                raise NotChildOfHead(f"block {header.number}: the database is empty; write genesis first")
            return
        head_number = self._number_of(txn, head)
        if header.parent_hash != head or header.number != head_number + 1:
            raise NotChildOfHead(
                f"block {header.number} (parent {header.parent_hash.hex()}) does not extend head "
                f"{head_number} ({head.hex()})"
            )

    @staticmethod
    def _put_tx_lookups(
        txn: KVWriteTxn,
        block: Block,
        block_hash: bytes,
        stx_encodings: list[bytes],
    ) -> None:
        """Lookup entries under each transaction's hash (Keccak-256 of its encoding) and eth hash."""
        number = block.header.number
        head = rlp.encode(block_hash) + rlp.encode(rlp.encode_uint(number))
        for i, tx in enumerate(block.transactions):
            entry = _plain_location(head, i)  # TxLocation(block_hash, number, i, TX_KIND_PLAIN, i).encode()
            txn.put(schema.tx_lookup_key(tx.hash()), entry)  # keccak of its encoding, memoized
            if tx.is_eth_compatible:
                txn.put(schema.tx_lookup_key(tx.eth_hash()), entry)
        offset = len(block.transactions)
        for i, encoded in enumerate(stx_encodings):
            entry = TxLocation(block_hash, number, i, TX_KIND_STAKING, offset + i).encode()
            txn.put(schema.tx_lookup_key(keccak256(encoded)), entry)

    @staticmethod
    def _put_address_index(txn: KVWriteTxn, entries: Iterable[tuple[int, bytes, bytes]]) -> None:
        """Append each ``(stream, address, tx hash)`` to its stream, in order, and store the new counts."""
        counts: dict[tuple[int, bytes], int] = {}
        for stream, address, tx_hash in entries:
            slot = (stream, address)
            count = counts.get(slot)
            if count is None:
                key = schema.address_tx_count_key(stream, address)
                count = _count(key, txn.get(key))
            txn.put(schema.address_tx_key(stream, address, count), tx_hash)
            counts[slot] = count + 1
        for (stream, address), count in counts.items():
            txn.put(schema.address_tx_count_key(stream, address), schema.u64(count))

    def _put_crosslinks(self, txn: KVWriteTxn, links: Iterable[CrossLink]) -> None:
        for link in links:
            encoded = link.encode()
            txn.put(schema.crosslink_key(link.shard_id, link.block_number), encoded)
            last_key = schema.last_crosslink_key(link.shard_id)
            last = txn.get(last_key)
            if last is None or _decode("crosslink", last_key, last, CrossLink.decode).block_number < (
                link.block_number
            ):
                txn.put(last_key, encoded)

    def write_shard_state(self, epoch: int, encoded: bytes) -> None:
        """Record the committees of ``epoch`` learnt from the beacon chain before this shard's own chain
        carries them (a non-beacon node following the beacon, §6.2); a malformed state is refused."""
        try:
            state = ShardState.decode(encoded)
        except HarmonyError as exc:
            raise StorageError(f"shard state of epoch {epoch}: {exc}") from None
        if state.epoch is not None and state.epoch != epoch:
            raise StorageError(f"shard state of epoch {state.epoch} stored as epoch {epoch}")
        with self.kv.write() as txn:
            txn.put(schema.shard_state_key(epoch), encoded)

    def write_commit_sig(self, number: int, signature: bytes, bitmap: bytes) -> None:
        """Record the commit signature of block ``number`` when it arrives after the block (§1.5)."""
        if len(signature) != COMMIT_SIGNATURE_SIZE:
            raise StorageError(f"commit signature has {len(signature)} bytes, not {COMMIT_SIGNATURE_SIZE}")
        with self.kv.write() as txn:
            txn.put(schema.commit_sig_key(number), signature + bitmap)

    def put_state_nodes(self, state_nodes: Mapping[bytes, bytes]) -> None:
        """Write trie nodes and code by hash in one durable transaction, outside any block: state sync puts
        each node there only after checking it against the hash its parent names (issue 18 item 2)."""
        with self.kv.write() as txn:
            self._put_state_nodes(txn, state_nodes)

    # -- head and blocks ------------------------------------------------------------------------------

    def head_hash(self) -> bytes | None:
        """Hash of the head block, or ``None`` for an empty database."""
        value = self.kv.get(schema.HEAD_KEY)
        if value is not None and len(value) != 32:
            raise CorruptData(f"head pointer has {len(value)} bytes")
        return value

    def genesis_hash(self) -> bytes | None:
        """Hash of block 0, or ``None`` for an empty database."""
        return self.kv.get(schema.GENESIS_KEY)

    def head_header(self) -> Header | None:
        """The head block's header."""
        head = self.head_hash()
        if head is None:
            return None
        header = self.get_header(head)
        if header is None:
            raise CorruptData(f"head {head.hex()} has no header")
        return header

    def head_number(self) -> int | None:
        """The head block's number, or ``None`` for an empty database."""
        head = self.head_hash()
        return None if head is None else self._number_of(self.kv, head)

    def head_block(self) -> Block | None:
        """The head block."""
        head = self.head_hash()
        if head is None:
            return None
        block = self.get_block_by_hash(head)
        if block is None:
            raise CorruptData(f"head {head.hex()} has no block")
        return block

    def get_header(self, block_hash: bytes) -> Header | None:
        """A stored header by hash; its bytes must hash to the key."""
        key = schema.header_key(block_hash)
        raw = self.kv.get(key)
        if raw is None:
            return None
        if keccak256(raw) != block_hash:
            raise CorruptData(f"header {block_hash.hex()}: stored bytes do not hash to their key")
        return _decode("header", key, raw, Header.decode)

    def get_canonical_hash(self, number: int) -> bytes | None:
        """Hash of the canonical block at ``number``."""
        value = self.kv.get(schema.canonical_key(number))
        if value is not None and len(value) != 32:
            raise CorruptData(f"canonical hash of block {number} has {len(value)} bytes")
        return value

    def get_block_number(self, block_hash: bytes) -> int | None:
        """Number of a stored block by hash."""
        raw = self.kv.get(schema.number_key(block_hash))
        return None if raw is None else _number(raw, block_hash)

    def get_header_by_number(self, number: int) -> Header | None:
        """The canonical header at ``number``."""
        block_hash = self.get_canonical_hash(number)
        if block_hash is None:
            return None
        header = self.get_header(block_hash)
        if header is None or header.number != number:
            raise CorruptData(f"canonical block {number} ({block_hash.hex()}) has no matching header")
        return header

    def get_block_by_hash(self, block_hash: bytes) -> Block | None:
        """A stored block (header and body) by hash."""
        header_raw = self.kv.get(schema.header_key(block_hash))
        if header_raw is None:
            return None
        if keccak256(header_raw) != block_hash:
            raise CorruptData(f"header {block_hash.hex()}: stored bytes do not hash to their key")
        body_key = schema.body_key(block_hash)
        body_raw = self.kv.get(body_key)
        if body_raw is None:
            if self._expired(self.get_block_number(block_hash)):
                return None  # an epoch's last block below the history floor keeps its header only
            raise CorruptData(f"block {block_hash.hex()} has a header but no body")
        return _decode("block", body_key, (header_raw, body_raw), _decode_block)

    def get_block_encoding(self, number: int) -> bytes | None:
        """``Block.encode()`` of the canonical block at ``number``, framed from the stored header and body
        without decoding them (what sync serves); ``None`` if it is not stored."""
        block_hash = self.get_canonical_hash(number)
        if block_hash is None:
            return None
        header_raw = self.kv.get(schema.header_key(block_hash))
        body_raw = self.kv.get(schema.body_key(block_hash))
        if header_raw is not None and body_raw is None and self._expired(number):
            return None
        if header_raw is None or body_raw is None:
            raise CorruptData(f"canonical block {number} ({block_hash.hex()}) is missing its header or body")
        try:
            return frame_block(header_raw, body_raw)
        except RLPError as exc:
            raise CorruptData(f"block {number}: stored body is not an RLP list: {exc}") from exc

    def get_block_by_number(self, number: int) -> Block | None:
        """The canonical block at ``number``."""
        block_hash = self.get_canonical_hash(number)
        if block_hash is None:
            return None
        block = self.get_block_by_hash(block_hash)
        if block is None and self._expired(number):
            return None  # an epoch's last block below the history floor keeps its header only
        if block is None or block.header.number != number:
            raise CorruptData(f"canonical block {number} ({block_hash.hex()}) is missing or misnumbered")
        return block

    # -- receipts and transactions --------------------------------------------------------------------

    def get_receipts(self, block_hash: bytes) -> tuple[Receipt, ...] | None:
        """A block's receipts, plain transactions' first, then staking ones' (stored in compact form, their
        blooms computed again from their logs)."""
        key = schema.receipts_key(block_hash)
        raw = self.kv.get(key)
        if raw is None:
            return None
        return _decode("receipts", key, raw, lambda b: _decode_list(b, Receipt.from_compact_rlp))

    def get_transaction_location(self, tx_hash: bytes) -> TxLocation | None:
        """Where a transaction is, by its hash (or its eth hash for one signed for an Ethereum chain ID)."""
        key = schema.tx_lookup_key(tx_hash)
        raw = self.kv.get(key)
        return None if raw is None else _decode("transaction lookup", key, raw, TxLocation.decode)

    def get_transaction(self, tx_hash: bytes) -> tuple[Transaction | StakingTransaction, TxLocation] | None:
        """A transaction and its location, by hash."""
        location = self.get_transaction_location(tx_hash)
        if location is None:
            return None
        block = self.get_block_by_hash(location.block_hash)
        txs: Sequence[Transaction | StakingTransaction] = (
            (block.staking_transactions if location.staking else block.transactions)
            if block is not None
            else ()
        )
        if location.index >= len(txs):
            raise CorruptData(f"transaction {tx_hash.hex()}: lookup points past its block's transactions")
        return txs[location.index], location

    def get_receipt_by_tx_hash(self, tx_hash: bytes) -> tuple[Receipt, TxLocation] | None:
        """A transaction's receipt and location, by transaction hash."""
        location = self.get_transaction_location(tx_hash)
        if location is None:
            return None
        receipts = self.get_receipts(location.block_hash)
        if receipts is None or location.receipt_index >= len(receipts):
            raise CorruptData(f"transaction {tx_hash.hex()}: its block's receipts are missing")
        return receipts[location.receipt_index], location

    # -- the address index (reference §9.2 getTransactionsHistory / getTransactionsCount) --------------

    def address_transaction_count(
        self, address: bytes, *, staking: bool = False, direction: TxDirection = TxDirection.ALL
    ) -> int:
        """How many (plain or staking) transactions of ``direction`` involve ``address``: one read;
        :class:`HistoryNotKept` without ``tx_history``."""
        if not self.tx_history:
            raise HistoryNotKept()
        key = schema.address_tx_count_key(_stream(direction, staking), _address(address))
        return _count(key, self.kv.get(key))

    def address_transactions(
        self,
        address: bytes,
        *,
        staking: bool = False,
        direction: TxDirection = TxDirection.ALL,
        start: int = 0,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[bytes]:
        """Hashes of ``address``'s transactions ``start .. start+limit-1`` in chain order (or newest first).

        Entries are numbered in their stream, so a page costs ``limit`` point reads wherever it starts; a
        ``start`` past the end gives ``[]``. Entries of expired blocks (below the history floor) are left
        out, so such a page is shorter. ``limit`` is at most :data:`MAX_ADDRESS_PAGE`.
        """
        if start < 0 or not 0 <= limit <= MAX_ADDRESS_PAGE:
            raise StorageError(f"address page: start {start} and limit {limit} out of range")
        stream = _stream(direction, staking)
        address = _address(address)
        count = self.address_transaction_count(address, staking=staking, direction=direction)
        end = min(count, start + limit)
        positions = range(start, end) if not newest_first else range(count - 1 - start, count - 1 - end, -1)
        out: list[bytes] = []
        expired = self.history_floor() > 0
        for sequence in positions:
            key = schema.address_tx_key(stream, address, sequence)
            value = self.kv.get(key)
            if value is None and expired:
                continue  # a transaction of an expired block (schema: history expiry)
            if value is None or len(value) != 32:
                raise CorruptData(f"address index at key {key.hex()}: missing or not a 32-byte hash")
            out.append(value)
        return out

    def tx_history_from(self) -> int | None:
        """The first block the address index covers as recorded (schema ``mtxhistory``): 0 every block,
        ``None`` when it is not kept."""
        raw = self.kv.get(schema.TX_HISTORY_KEY)
        if raw is None:
            return 0
        if raw == b"":
            return None
        if len(raw) != 8:
            raise CorruptData(f"transaction history marker has {len(raw)} bytes")
        return int.from_bytes(raw, "big")

    def record_tx_history(self) -> int | None:
        """Record which blocks the address index covers after this opening (schema ``mtxhistory``) and
        return the first, or ``None`` when it is not kept.

        Kept and kept before: unchanged (every block, or from where it last started). Kept now but not
        before: from the block after the head, because the blocks before it were never indexed (a resync
        from genesis indexes them all). Not kept: recorded as such, so that keeping it again later starts
        afresh; the entries written meanwhile stay, until their blocks expire.
        """
        recorded = self.tx_history_from()
        if not self.tx_history:
            if recorded is not None:
                with self.kv.write() as txn:
                    txn.put(schema.TX_HISTORY_KEY, b"")
            return None
        if recorded is not None:
            return recorded
        head = self.head_number()
        first = 0 if head is None else head + 1
        with self.kv.write() as txn:
            txn.put(schema.TX_HISTORY_KEY, schema.u64(first))
        return first

    # -- cross-shard, crosslinks, signatures, committees ----------------------------------------------

    def get_outgoing_cx_receipts(self, to_shard: int, number: int) -> tuple[CXReceipt, ...] | None:
        """Cross-shard receipts block ``number`` sent to ``to_shard`` (§6.4)."""
        key = schema.outgoing_cx_key(to_shard, number)
        raw = self.kv.get(key)
        if raw is None:
            return None
        return _decode("cx receipts", key, raw, lambda b: _decode_list(b, CXReceipt.from_rlp))

    def get_block_outgoing_cx_receipts(self, number: int) -> tuple[CXReceipt, ...] | None:
        """Every cross-shard receipt canonical block ``number`` sent, destinations ascending (§6.4).

        ``None`` if the block is not stored. The destinations are those of the block's cross-shard
        transactions (the only source of receipts), each read from its ``x`` entry.
        """
        block = self.get_block_by_number(number)
        if block is None:
            return None
        shard = block.header.shard_id
        destinations = sorted({tx.to_shard_id for tx in block.transactions if tx.to_shard_id != shard})
        out: list[CXReceipt] = []
        for to_shard in destinations:
            out.extend(self.get_outgoing_cx_receipts(to_shard, number) or ())
        return tuple(out)

    def get_cx_receipts_proof(self, to_shard: int, number: int) -> CXReceiptsProof | None:
        """The proof that canonical block ``number`` sent receipts to ``to_shard`` (§6.4, ``hmyv2_resendCx``).

        Built from the block's header, all its outgoing receipts and its commit signature; ``None`` when
        the block is not stored, sent nothing to ``to_shard``, or its commit signature is not known yet.
        """
        if not self.get_outgoing_cx_receipts(to_shard, number):
            return None
        header = self.get_header_by_number(number)
        receipts = self.get_block_outgoing_cx_receipts(number)
        commit = self.get_commit_sig(number)
        if header is None or receipts is None or commit is None:
            return None
        return build_receipts_proof(header, receipts, to_shard, commit[0], commit[1])

    def get_cx_receipt_by_tx_hash(self, tx_hash: bytes) -> CXReceiptLocation | None:
        """The cross-shard receipt a transaction of this shard emitted, with its block (§9.2
        ``hmyv2_getCXReceiptByHash``); ``None`` for an unknown or same-shard transaction, or one that
        emitted no receipt.
        """
        found = self.get_transaction(tx_hash)
        if found is None:
            return None
        tx, location = found
        if location.staking or not isinstance(tx, Transaction) or not tx.is_cross_shard:
            return None
        sent = self.get_outgoing_cx_receipts(tx.to_shard_id, location.block_number) or ()
        for receipt in sent:
            if receipt.tx_hash == tx.hash():
                return CXReceiptLocation(receipt, location.block_hash, location.block_number)
        return None

    def is_cx_spent(self, from_shard: int, number: int) -> bool:
        """Whether the receipts block ``number`` of ``from_shard`` sent here were already credited (§6.4)."""
        return self.kv.get(schema.cx_spent_key(from_shard, number)) is not None

    def get_crosslink(self, shard: int, number: int) -> CrossLink | None:
        """The crosslink of block ``number`` of ``shard`` recorded by the beacon chain (§6.3)."""
        key = schema.crosslink_key(shard, number)
        raw = self.kv.get(key)
        return None if raw is None else _decode("crosslink", key, raw, CrossLink.decode)

    def get_last_crosslink(self, shard: int) -> CrossLink | None:
        """The crosslink with the highest block number recorded for ``shard``."""
        key = schema.last_crosslink_key(shard)
        raw = self.kv.get(key)
        return None if raw is None else _decode("crosslink", key, raw, CrossLink.decode)

    def read_crosslink(self, shard: int, number: int) -> CrossLink | None:
        """Same as :meth:`get_crosslink` (the name the cross-shard issue uses)."""
        return self.get_crosslink(shard, number)

    def last_crosslink(self, shard: int) -> CrossLink | None:
        """Same as :meth:`get_last_crosslink`."""
        return self.get_last_crosslink(shard)

    def get_commit_sig(self, number: int) -> tuple[bytes, bytes] | None:
        """(aggregate commit signature, bitmap) of block ``number`` (§1.5)."""
        raw = self.kv.get(schema.commit_sig_key(number))
        if raw is None:
            return None
        if len(raw) < COMMIT_SIGNATURE_SIZE:
            raise CorruptData(f"commit signature of block {number} has {len(raw)} bytes")
        return raw[:COMMIT_SIGNATURE_SIZE], raw[COMMIT_SIGNATURE_SIZE:]

    def get_shard_state(self, epoch: int) -> ShardState | None:
        """The committees of ``epoch`` (§6)."""
        key = schema.shard_state_key(epoch)
        raw = self.kv.get(key)
        if raw is None:
            return None
        cached = self._shard_states.get(epoch)
        if cached is not None and cached[0] == raw:
            return cached[1]
        state = _decode("shard state", key, raw, ShardState.decode)
        if len(self._shard_states) >= CACHED_SHARD_STATES:
            self._shard_states.clear()
        self._shard_states[epoch] = (raw, state)
        return state

    def committee_for(self, shard: int, epoch: int) -> Committee | None:
        """The committee of ``shard`` in ``epoch`` from the stored shard state, or ``None`` when unknown.

        The lookup the cross-shard and crosslink checks take (``harmony.chain.crosslinks``).
        """
        state = self.get_shard_state(epoch)
        if state is None:
            return None
        try:
            return state.committee(shard)
        except ShardStateError:
            return None

    def shard_state_for_epoch(self, epoch: int) -> ShardState | None:
        """Same as :meth:`get_shard_state`: the shard state an epoch's committees are read from."""
        return self.get_shard_state(epoch)

    def get_validator_snapshot(self, epoch: int, address: bytes) -> bytes | None:
        """A validator's snapshot at ``epoch``, as the staking layer encoded it."""
        return self.kv.get(schema.validator_snapshot_key(epoch, address))

    # -- epochs and history expiry (issue 18 item 3) ---------------------------------------------------

    def epoch_last_block(self, epoch: int) -> int | None:
        """The number of ``epoch``'s last block on this chain, once that block is stored."""
        key = schema.epoch_last_key(epoch)
        raw = self.kv.get(key)
        if raw is None:
            return None
        if len(raw) != 8:
            raise CorruptData(f"epoch end at key {key.hex()} has {len(raw)} bytes")
        return int.from_bytes(raw, "big")

    def epoch_ends(self) -> Iterator[int]:
        """The numbers of every stored epoch-ending block, ascending (the states a pruning node keeps)."""
        for key, raw in self.kv.iterate(schema.EPOCH_LAST):
            if len(raw) != 8:
                raise CorruptData(f"epoch end at key {key.hex()} has {len(raw)} bytes")
            yield int.from_bytes(raw, "big")

    def index_epoch_ends(self) -> int:
        """Complete the ``E`` index of a database written before it existed, once (``mepochindex`` marks it
        done): for each epoch that ended between the lowest stored block and the head, its last block, found
        by a binary search over the canonical headers' epochs (they never decrease), if it carries the next
        shard state. The entries written; 0 on every later call."""
        if self.kv.get(schema.EPOCH_INDEX_KEY) is not None:
            return 0
        head = self.head_header()
        numbers = (int.from_bytes(key[1:], "big") for key, _ in self.kv.iterate(schema.CANONICAL))
        lowest = next((n for n in numbers if n > 0), None)  # genesis aside (a state sync stores no block 1)
        lowest = None if lowest is None else max(lowest, self.history_floor())
        found: dict[int, int] = {}
        if head is not None and lowest is not None and lowest <= head.number:
            first = self.get_header_by_number(lowest)
            for epoch in range(0 if first is None else first.epoch, head.epoch):
                if self.epoch_last_block(epoch) is None:
                    number = self._last_of_epoch(epoch, lowest, head.number)
                    if number is not None:
                        found[epoch] = number
        with self.kv.write() as txn:
            for epoch, number in found.items():
                txn.put(schema.epoch_last_key(epoch), schema.u64(number))
            txn.put(schema.EPOCH_INDEX_KEY, b"\x01")
        return len(found)

    def _last_of_epoch(self, epoch: int, low: int, high: int) -> int | None:
        """The highest block number in ``low..high`` whose header's epoch is at most ``epoch``, if that
        block is of ``epoch`` and carries a shard state (an epoch end); a header missing in between ends
        the search with ``None``."""
        while low < high:
            middle = (low + high + 1) // 2
            header = self.get_header_by_number(middle)
            if header is None:
                return None
            if header.epoch <= epoch:
                low = middle
            else:
                high = middle - 1
        header = self.get_header_by_number(low)
        if header is None or header.epoch != epoch or not header.shard_state:
            return None
        return low

    def history_floor(self) -> int:
        """The lowest number from which every canonical block up to the head is stored whole: 0 when no
        history was ever expired (schema: history expiry), a state-synced node's first stored block."""
        raw = self.kv.get(schema.HISTORY_KEY)
        if raw is None:
            return 0
        if len(raw) != 8:
            raise CorruptData(f"history floor has {len(raw)} bytes")
        return int.from_bytes(raw, "big")

    def _expired(self, number: int | None) -> bool:
        return number is not None and 0 < number < self.history_floor()

    def expire_history(self, below: int, *, max_transactions: int | None = None) -> int:
        """Expire canonical blocks from the history floor up to ``below`` (never the head or genesis) in ONE
        write transaction that also moves the floor, stopping after the block that passes
        ``max_transactions`` (default :data:`EXPIRE_TRANSACTIONS`) or after :data:`EXPIRE_BLOCKS` blocks;
        the new floor (schema: history expiry says what each block keeps).

        Called again until it returns ``below``; a kill -9 leaves the floor where the last write put it,
        with every block under it expired and every block from it whole. A transaction's address index
        entries are the first of their streams still stored (streams run in chain order and blocks expire
        in chain order); an entry that does not hold the expected hash is left alone.
        """
        floor = max(1, self.history_floor())
        head = self.head_number()
        if head is None:
            return floor
        below = min(below, head)
        if below <= floor:
            return floor
        budget = EXPIRE_TRANSACTIONS if max_transactions is None else max_transactions
        indexed = self._address_index_stored()
        with self.kv.write() as txn:
            number = floor
            transactions = 0
            first_kept: dict[tuple[int, bytes], int] = {}
            while number < below and transactions < budget and number - floor < EXPIRE_BLOCKS:
                transactions += self._expire_block(txn, number, first_kept if indexed else None)
                number += 1
            txn.put(schema.HISTORY_KEY, schema.u64(number))
        return number

    def _address_index_stored(self) -> bool:
        """Whether expiring blocks must delete address index entries: the index is kept, or it is not but
        entries written while it was are still stored (none are written again, so once gone it stays so)."""
        if self.tx_history:
            return True
        if self._address_index_gone:
            return False
        self._address_index_gone = next(iter(self.kv.iterate(schema.ADDRESS_TX)), None) is None
        return not self._address_index_gone

    def _expire_block(
        self, txn: KVWriteTxn, number: int, first_kept: dict[tuple[int, bytes], int] | None
    ) -> int:
        """Delete what an expired block no longer keeps; how many transactions it had. ``first_kept`` is
        None when no address index entry is stored, so none is looked for (each costs a sender recovery)."""
        block_hash = txn.get(schema.canonical_key(number))
        if block_hash is None:
            return 0
        header_raw = txn.get(schema.header_key(block_hash))
        if header_raw is None:
            return 0
        header = _decode("header", schema.header_key(block_hash), header_raw, Header.decode)
        sent_receipts = header.outgoing_receipt_hash != EMPTY_TRIE_ROOT
        txn.delete(schema.receipts_key(block_hash))
        body_key = schema.body_key(block_hash)
        body_raw = txn.get(body_key)
        transactions = 0
        if body_raw is not None:
            block = _decode("block", body_key, (header_raw, body_raw), _decode_block)
            stx_encodings = [stx.encode() for stx in block.staking_transactions]
            for tx in block.transactions:
                txn.delete(schema.tx_lookup_key(tx.hash()))
                if tx.is_eth_compatible:
                    txn.delete(schema.tx_lookup_key(tx.eth_hash()))
            for encoded in stx_encodings:
                txn.delete(schema.tx_lookup_key(keccak256(encoded)))
            if first_kept is not None:
                _expire_address_entries(txn, _address_entries(block, stx_encodings, None), first_kept)
            if not sent_receipts:
                txn.delete(body_key)
            transactions = len(block.transactions) + len(stx_encodings)
        if not sent_receipts and not header.shard_state:
            txn.delete(schema.header_key(block_hash))
            txn.delete(schema.number_key(block_hash))
            txn.delete(schema.canonical_key(number))
            txn.delete(schema.commit_sig_key(number))
        return transactions

    # -- state ----------------------------------------------------------------------------------------

    def state_nodes(self, *, verify: bool = False) -> StateNodes:
        """The view the state layer reads trie nodes and code through (keys: bare Keccak-256 hashes)."""
        return StateNodes(self.kv, verify=verify)

    # -- helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _number_of(kv: KVReader, block_hash: bytes) -> int:
        raw = kv.get(schema.number_key(block_hash))
        if raw is None:
            raise CorruptData(f"block {block_hash.hex()} has no number entry")
        return _number(raw, block_hash)


def _address(address: bytes) -> bytes:
    if len(address) != 20:
        raise StorageError(f"an address is 20 bytes, got {len(address)}")
    return address


def _expire_address_entries(
    txn: KVWriteTxn, entries: Sequence[tuple[int, bytes, bytes]], first_kept: dict[tuple[int, bytes], int]
) -> None:
    """Delete an expired block's address index entries: each is the first still stored of its stream."""
    for stream, address, tx_hash in entries:
        sequence = first_kept.get((stream, address))
        if sequence is None:
            sequence = _first_stored(txn, stream, address)
        key = schema.address_tx_key(stream, address, sequence)
        if txn.get(key) == tx_hash:
            txn.delete(key)
            first_kept[(stream, address)] = sequence + 1


def _first_stored(kv: KVReader, stream: int, address: bytes) -> int:
    """The lowest sequence of a stream still stored: entries below it expired, from it on they are all there
    (a binary search of point reads, so it sees a write transaction's own deletes)."""
    count_key = schema.address_tx_count_key(stream, address)
    low, high = 0, _count(count_key, kv.get(count_key))
    while low < high:
        middle = (low + high) // 2
        if kv.get(schema.address_tx_key(stream, address, middle)) is None:
            low = middle + 1
        else:
            high = middle
    return low


def _count(key: bytes, raw: bytes | None) -> int:
    if raw is None:
        return 0
    if len(raw) != 8:
        raise CorruptData(f"address index count at key {key.hex()} has {len(raw)} bytes")
    return int.from_bytes(raw, "big")


def _staking_addresses(stx: StakingTransaction) -> tuple[bytes, bytes | None]:
    """(the account a staking message acts for, which signs it; the validator it names, if another)."""
    msg = stx.msg
    if isinstance(msg, (Delegate, Undelegate, Revoke)):
        return acting_account(msg), msg.validator_address
    return acting_account(msg), None


def _directed(
    stream_base: int, tx_hash: bytes, sender: bytes | None, recipient: bytes | None
) -> list[tuple[int, bytes, bytes]]:
    """Index entries of one transaction: ALL once per distinct address, SENT and RECEIVED as they apply."""
    out: list[tuple[int, bytes, bytes]] = []
    if sender is not None:
        out.append((stream_base | schema.STREAM_ALL, sender, tx_hash))
        out.append((stream_base | schema.STREAM_SENT, sender, tx_hash))
    if recipient is not None:
        if recipient != sender:
            out.append((stream_base | schema.STREAM_ALL, recipient, tx_hash))
        out.append((stream_base | schema.STREAM_RECEIVED, recipient, tx_hash))
    return out


def _address_entries(
    block: Block,
    stx_encodings: Sequence[bytes],
    senders: Sequence[bytes] | None,
) -> list[tuple[int, bytes, bytes]]:
    """``(stream, address, tx hash)`` of every transaction of ``block`` in block order (schema ``a``/``A``).

    A plain transaction is listed under its sender and its recipient (a contract creation under its sender
    only); a staking transaction under the account it acts for (its signer) and, for a delegation or an
    undelegation, under the validator too (as received).
    """
    entries: list[tuple[int, bytes, bytes]] = []
    for i, tx in enumerate(block.transactions):
        sender: bytes | None
        if senders is not None:
            sender = senders[i]
        else:
            try:
                sender = tx.sender()
            except HarmonyError:
                sender = None  # unreachable for a validated block; index the recipient alone
        entries.extend(_directed(0, tx.hash(), sender, tx.to))  # keccak of its encoding, memoized
    for stx, encoded in zip(block.staking_transactions, stx_encodings, strict=True):
        owner, validator = _staking_addresses(stx)
        entries.extend(_directed(schema.STREAM_STAKING, keccak256(encoded), owner, validator))
    return entries


def _number(raw: bytes, block_hash: bytes) -> int:
    if len(raw) != 8:
        raise CorruptData(f"number of block {block_hash.hex()} has {len(raw)} bytes")
    return int.from_bytes(raw, "big")


def _decode(what: str, key: bytes, raw: R, decoder: Callable[[R], T]) -> T:
    """``decoder(raw)``, with any decode failure turned into :class:`CorruptData` naming the table and key."""
    try:
        return decoder(raw)
    except (HarmonyError, ValueError, TypeError, IndexError) as exc:
        raise CorruptData(f"{what} at key {key.hex()}: {exc}") from exc


def _decode_list(raw: bytes, from_rlp: Callable[[Any, str], T]) -> tuple[T, ...]:
    items = as_list(rlp.decode(raw, max_size=_MAX_STORED_LIST), "stored list")
    return tuple(from_rlp(item, f"[{i}]") for i, item in enumerate(items))


def _plain_location(head: bytes, index: int) -> bytes:
    """``TxLocation(hash, number, index, TX_KIND_PLAIN, index).encode()`` from the encoded hash and number
    (``head``): the same bytes, without building the value, once per transaction of every stored block."""
    position = rlp.encode(rlp.encode_uint(index))
    return rlp.encode_list_of_encoded([head, position, _PLAIN_KIND, position])


_PLAIN_KIND = rlp.encode(rlp.encode_uint(TX_KIND_PLAIN))


def _decode_block(raw: tuple[bytes, bytes]) -> Block:
    header_raw, body_raw = raw
    body = as_list(rlp.decode(body_raw, max_size=Block.max_encoded_size), "body", 4)
    header_item = rlp.decode(header_raw, max_size=Header.max_encoded_size)
    item: list[DecodedItem] = [tagged.ENVELOPE_SIGNATURE, BLOCK_TAG.encode(), [header_item, *body]]
    return Block.from_rlp(item)


__all__ = [
    "MAX_ADDRESS_PAGE",
    "TX_KIND_PLAIN",
    "TX_KIND_STAKING",
    "CXReceiptLocation",
    "ChainDB",
    "StateNodes",
    "TxDirection",
    "TxLocation",
]
