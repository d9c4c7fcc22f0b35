"""One shard's chain: genesis, block import and block proposal over the chain database (design §3.4).

Import is the only way blocks enter the database, and it is all-or-nothing: the block is validated and
executed on a fresh :class:`~harmony.state.statedb.StateDB` over its parent's state root, and only when every
check of :func:`harmony.chain.transition.state_transition` passes are the block, its receipts, its
cross-shard receipts, the new trie nodes and the head pointer written, in one write transaction. An invalid
block raises the :class:`~harmony.chain.errors.InvalidBlock` naming the failed check and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from harmony.chain.errors import InvalidBlock
from harmony.chain.genesis import Genesis, genesis_block
from harmony.chain.params import NetworkParams
from harmony.chain.transition import BlockResult, BuiltBlock, Executor, build_block, state_transition
from harmony.errors import HarmonyError
from harmony.state.evm import execute
from harmony.state.statedb import StateDB
from harmony.storage.chaindb import ChainDB
from harmony.types.block import Block
from harmony.types.header import Header
from harmony.types.transaction import Transaction

BLOCKHASH_WINDOW = 256
"""How many previous block hashes the BLOCKHASH opcode can see (YP §9.4.4)."""


class GenesisMismatch(HarmonyError):
    """The database holds another chain than the genesis the node was started with."""


class Blockchain:
    """The chain of one shard: a :class:`ChainDB`, the network's parameters and the EVM."""

    def __init__(
        self, db: ChainDB, params: NetworkParams, shard_id: int, executor: Executor = execute
    ) -> None:
        self.db = db
        self.params = params
        self.shard_id = shard_id
        self.executor = executor

    @classmethod
    def open(cls, db: ChainDB, genesis: Genesis, shard_id: int, executor: Executor = execute) -> Blockchain:
        """The chain in ``db``; an empty database gets ``genesis``'s block for ``shard_id`` first.

        Raises :class:`GenesisMismatch` when the database was started from another genesis.
        """
        state = StateDB(db.state_nodes())
        block = genesis_block(genesis, shard_id, state)
        stored = db.genesis_hash()
        if stored is None:
            _, nodes = state.commit()
            db.write_block(block, [], nodes)
        elif stored != block.hash():
            raise GenesisMismatch(
                f"the database holds genesis 0x{stored.hex()}, not 0x{block.hash().hex()} of the given "
                "genesis: use another data directory or the genesis it was created with"
            )
        return cls(db, genesis.params, shard_id, executor)

    @property
    def head(self) -> Header:
        """The header of the newest block."""
        header = self.db.head_header()
        if header is None:
            raise HarmonyError("the chain database is empty: open it with a genesis first")
        return header

    def state(self, root: bytes | None = None) -> StateDB:
        """A fresh state over ``root`` (default: the head's); changes stay in memory until imported."""
        return StateDB(self.db.state_nodes(), self.head.root if root is None else root)

    def block_hashes(self, number: int) -> tuple[bytes, ...]:
        """Hashes of the up to 256 canonical blocks before ``number``, oldest first (for BLOCKHASH)."""
        hashes = []
        for n in range(max(0, number - BLOCKHASH_WINDOW), number):
            block_hash = self.db.get_canonical_hash(n)
            if block_hash is None:
                break
            hashes.append(block_hash)
        return tuple(hashes)

    def import_block(
        self, block: Block, *, commit_sig: tuple[bytes, bytes] | None = None, now: int | None = None
    ) -> BlockResult:
        """Validate, execute and store ``block`` as the new head (reference §1.5, design §3.4).

        Raises :class:`InvalidBlock` naming the failed check (``parent`` when it does not extend the head);
        the database is then unchanged.
        """
        parent = self.head
        if block.header.parent_hash != parent.hash() or block.header.number != parent.number + 1:
            raise InvalidBlock(
                "parent",
                f"block {block.header.number} with parent 0x{block.header.parent_hash.hex()[:16]}… does not "
                f"extend the head {parent.number} (0x{parent.hash().hex()[:16]}…)",
            )
        state = self.state(parent.root)
        result = state_transition(
            state,
            block,
            parent,
            self.params,
            self.executor,
            block_hashes=self.block_hashes(block.header.number),
            now=now,
        )
        _, nodes = state.commit()
        self.db.write_block(
            block, result.receipts, nodes, cx_receipts=result.outgoing_cx_receipts, commit_sig=commit_sig
        )
        return result

    def propose(self, candidates: Iterable[Transaction], *, coinbase: bytes, timestamp: int) -> BuiltBlock:
        """A block on the head from ``candidates``, invalid ones skipped with their reason; not stored."""
        parent = self.head
        return build_block(
            self.state(parent.root),
            parent,
            candidates,
            self.params,
            self.executor,
            coinbase=coinbase,
            timestamp=timestamp,
            block_hashes=self.block_hashes(parent.number + 1),
        )
