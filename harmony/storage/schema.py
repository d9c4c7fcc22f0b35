"""Key layout of the chain database: one prefix byte per table, then fixed-width big-endian fields.

Big-endian numbers make LMDB's byte order the numeric order, so ``iterate(prefix)`` walks a table by
block number, epoch or shard. Every table and its value:

======  =================================================  ==================================================
prefix  key after the prefix                               value
======  =================================================  ==================================================
``h``   block hash (32)                                    header, tagged RLP (its Keccak-256 is the key)
``b``   block hash (32)                                    body: RLP ``[txs, staking_txs, uncles, incoming]``
``N``   block hash (32)                                    block number, 8 bytes
``n``   block number (8)                                   canonical block hash (32)
``r``   block hash (32)                                    receipts: RLP list of compact receipts
                                                           ``[status, cumulative gas, logs]`` (the bloom
                                                           the logs determine left out; older databases:
                                                           consensus receipts)
``l``   transaction hash (32)                              location: RLP ``[block_hash, number, index,
                                                           staking, receipt_index]``; Harmony transactions
                                                           signed for an Ethereum chain ID also under their
                                                           eth hash
``x``   destination shard (4) ‖ block number (8)           outgoing cross-shard receipts: RLP list
``c``   source shard (4) ‖ source block number (8)         ``01``: that block's receipts to us are spent
``k``   shard (4) ‖ block number (8)                       crosslink, RLP
``K``   shard (4)                                          the crosslink with the highest block number
``g``   block number (8)                                   commit signature (96) ‖ bitmap
``e``   epoch (8)                                          shard state of that epoch, RLP
``E``   epoch (8)                                          number of the epoch's last block (8): the block
                                                           whose header carries the next shard state
``v``   epoch (8) ‖ validator address (20)                 validator snapshot (opaque to storage)
``t``   Keccak-256 hash (32)                               state trie node or contract code
``a``   stream (1) ‖ address (20) ‖ sequence (8)           transaction hash (32): the address's
                                                           ``sequence``-th transaction of that stream
``A``   stream (1) ‖ address (20)                          how many entries the stream holds, 8 bytes
``m``   name                                               metadata: ``mhead`` = head block hash,
                                                           ``mgenesis`` = genesis block hash,
                                                           ``mhistory`` = the history floor (8),
                                                           ``mepochindex`` = ``E`` is complete,
                                                           ``mtxhistory`` = where ``a``/``A`` start
======  =================================================  ==================================================

Cross-shard reads need no table of their own: a block's outgoing receipts are its ``x`` entries for the
destinations of its cross-shard transactions, a receipt by transaction hash is found through ``l`` and then
``x``, and the proof a node resends (``hmyv2_resendCx``) is built from ``h``, ``x`` and ``g``. The ``c``
markers are written by the block that credits the receipts, in its own write transaction; ``K`` only moves
to a crosslink of a higher block number.

**History expiry** (a pruning node, :mod:`harmony.storage.prune`): the canonical blocks below the *history
floor* (``mhistory``; absent: 0, every block is whole) have lost their body, receipts, lookups and address
index entries, and, unless they end an epoch or sent cross-shard receipts, their header, numbers and commit
signature too. An epoch's last block keeps its header, numbers and commit signature (the epoch chain a state
sync follows); a block that sent cross-shard receipts keeps its header, body, numbers and commit signature
(the proof a destination shard may still ask for, ``hmyv2_resendCx``). Genesis is always whole.

The address index (``a``/``A``, reference §9.2 ``getTransactionsHistory``/``getTransactionsCount``): every
transaction is listed under each address it involves, in one *stream* per (plain or staking) × (all, sent,
received). Entries of a stream are numbered 0, 1, 2… in chain order (block number, then position in the
block: the chain is append-only), so page ``k`` of size ``s`` is the ``s`` point reads at sequence ``k·s``
onwards, from either end, whatever the page number; the count is one read. The index is an explorer's work
that a validator skips by default (``[storage] tx_history``): ``mtxhistory`` absent, it covers every block;
8 bytes, the blocks from that number on (it was kept only from then); empty, the node keeps none now.
"""

from __future__ import annotations

HEADER = b"h"
BODY = b"b"
HASH_TO_NUMBER = b"N"
CANONICAL = b"n"
RECEIPTS = b"r"
TX_LOOKUP = b"l"
OUTGOING_CX = b"x"
CX_SPENT = b"c"
CROSSLINK = b"k"
LAST_CROSSLINK = b"K"
COMMIT_SIG = b"g"
SHARD_STATE = b"e"
EPOCH_LAST = b"E"
VALIDATOR_SNAPSHOT = b"v"
STATE_NODE = b"t"
ADDRESS_TX = b"a"
ADDRESS_TX_COUNT = b"A"
META = b"m"

TABLES: dict[bytes, str] = {
    HEADER: "headers",
    BODY: "bodies",
    HASH_TO_NUMBER: "block numbers",
    CANONICAL: "canonical hashes",
    RECEIPTS: "receipts",
    TX_LOOKUP: "transaction lookups",
    OUTGOING_CX: "outgoing cross-shard receipts",
    CX_SPENT: "spent cross-shard markers",
    CROSSLINK: "crosslinks",
    LAST_CROSSLINK: "latest crosslinks",
    COMMIT_SIG: "commit signatures",
    SHARD_STATE: "shard states",
    EPOCH_LAST: "epoch ends",
    VALIDATOR_SNAPSHOT: "validator snapshots",
    STATE_NODE: "state trie nodes and code",
    ADDRESS_TX: "address index",
    ADDRESS_TX_COUNT: "address index counts",
    META: "metadata",
}
"""Every table by its prefix, with the name ``harmony db inspect`` shows."""

HEAD_KEY = META + b"head"
"""Hash of the head block: written in the same transaction as the block (design §3.4)."""
GENESIS_KEY = META + b"genesis"
"""Hash of block 0."""
HISTORY_KEY = META + b"history"
"""The history floor, 8 bytes: every canonical block from it up to the head is stored whole."""
EPOCH_INDEX_KEY = META + b"epochindex"
"""Present once the ``E`` index holds every stored epoch end (:meth:`ChainDB.index_epoch_ends`)."""
TX_HISTORY_KEY = META + b"txhistory"
"""Which blocks the address index covers (module docstring): absent every one, 8 bytes from that number,
empty none (:meth:`ChainDB.record_tx_history`)."""

SPENT = b"\x01"

STREAM_ALL = 0
"""Address-index stream of every transaction involving the address (a self-transfer once)."""
STREAM_SENT = 1
"""Address-index stream of the transactions the address sent (staking: signed)."""
STREAM_RECEIVED = 2
"""Address-index stream of the transactions sent to the address (staking: naming it as validator)."""
STREAM_STAKING = 0x10
"""Added to a stream number for the staking-transaction streams."""


def u32(value: int) -> bytes:
    """A shard id as 4 big-endian bytes."""
    return value.to_bytes(4, "big")


def u64(value: int) -> bytes:
    """A block number or epoch as 8 big-endian bytes."""
    return value.to_bytes(8, "big")


def header_key(block_hash: bytes) -> bytes:
    """Key of a header by hash."""
    return HEADER + block_hash


def body_key(block_hash: bytes) -> bytes:
    """Key of a body by block hash."""
    return BODY + block_hash


def number_key(block_hash: bytes) -> bytes:
    """Key of a block's number by its hash."""
    return HASH_TO_NUMBER + block_hash


def canonical_key(number: int) -> bytes:
    """Key of the canonical hash at ``number``."""
    return CANONICAL + u64(number)


def receipts_key(block_hash: bytes) -> bytes:
    """Key of a block's receipts."""
    return RECEIPTS + block_hash


def tx_lookup_key(tx_hash: bytes) -> bytes:
    """Key of a transaction's location."""
    return TX_LOOKUP + tx_hash


def outgoing_cx_key(to_shard: int, number: int) -> bytes:
    """Key of the cross-shard receipts block ``number`` sent to ``to_shard``."""
    return OUTGOING_CX + u32(to_shard) + u64(number)


def cx_spent_key(from_shard: int, number: int) -> bytes:
    """Key of the spent marker of source block ``number`` on ``from_shard``."""
    return CX_SPENT + u32(from_shard) + u64(number)


def crosslink_key(shard: int, number: int) -> bytes:
    """Key of the crosslink of shard block ``number``."""
    return CROSSLINK + u32(shard) + u64(number)


def last_crosslink_key(shard: int) -> bytes:
    """Key of the latest crosslink of ``shard``."""
    return LAST_CROSSLINK + u32(shard)


def commit_sig_key(number: int) -> bytes:
    """Key of the commit signature of block ``number``."""
    return COMMIT_SIG + u64(number)


def shard_state_key(epoch: int) -> bytes:
    """Key of the shard state of ``epoch``."""
    return SHARD_STATE + u64(epoch)


def epoch_last_key(epoch: int) -> bytes:
    """Key of the number of ``epoch``'s last block."""
    return EPOCH_LAST + u64(epoch)


def validator_snapshot_key(epoch: int, address: bytes) -> bytes:
    """Key of a validator's snapshot at ``epoch``."""
    return VALIDATOR_SNAPSHOT + u64(epoch) + address


def state_node_key(node_hash: bytes) -> bytes:
    """Key of a trie node or code blob by its Keccak-256 hash."""
    return STATE_NODE + node_hash


def address_tx_key(stream: int, address: bytes, sequence: int) -> bytes:
    """Key of the ``sequence``-th transaction of ``address`` in ``stream``."""
    return ADDRESS_TX + bytes([stream]) + address + u64(sequence)


def address_tx_count_key(stream: int, address: bytes) -> bytes:
    """Key of the number of transactions of ``address`` in ``stream``."""
    return ADDRESS_TX_COUNT + bytes([stream]) + address
