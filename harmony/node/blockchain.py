"""One shard's chain: genesis, block import and block proposal over the chain database (design §3.4).

Import is the only way blocks enter the database, and it is all-or-nothing: the block is validated and
executed on a fresh :class:`~harmony.state.statedb.StateDB` over its parent's state root, and only when every
check of :func:`harmony.chain.transition.state_transition` passes are the block, its receipts, its
cross-shard receipts, the new trie nodes and the head pointer written, in one write transaction. An invalid
block raises the :class:`~harmony.chain.errors.InvalidBlock` naming the failed check and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
from harmony.types.shard_state import ShardState
from harmony.types.transaction import Transaction

BLOCKHASH_WINDOW = 256
"""How many previous block hashes the BLOCKHASH opcode can see (YP §9.4.4)."""


class GenesisMismatch(HarmonyError):
    """The database holds another chain than the genesis the node was started with."""


@dataclass(frozen=True, slots=True)
class VerifiedBlock:
    """A block that passed every check on its parent's state, with what storing it needs.

    Validators verify a proposal once (when it is announced) and store the same result when it is finalized,
    instead of executing it twice.
    """

    block: Block
    result: BlockResult
    state_nodes: Mapping[bytes, bytes]


class HeadAccounts:
    """Nonces and balances at one state (the pool's :class:`~harmony.node.txpool.AccountReader`)."""

    def __init__(self, state: StateDB) -> None:
        self.state = state

    def nonce(self, address: bytes) -> int:
        """The account's nonce."""
        return self.state.get_nonce(address)

    def balance(self, address: bytes) -> int:
        """The account's balance."""
        return self.state.get_balance(address)


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

    def accounts(self) -> HeadAccounts:
        """Nonces and balances at the head (re-read it after each new block)."""
        return HeadAccounts(self.state())

    def block_hashes(self, number: int) -> tuple[bytes, ...]:
        """Hashes of the up to 256 canonical blocks before ``number``, oldest first (for BLOCKHASH)."""
        hashes = []
        for n in range(max(0, number - BLOCKHASH_WINDOW), number):
            block_hash = self.db.get_canonical_hash(n)
            if block_hash is None:
                break
            hashes.append(block_hash)
        return tuple(hashes)

    def verify(self, block: Block, *, now: int | None = None) -> VerifiedBlock:
        """Validate and execute ``block`` on the head's state without storing anything (reference §1.5).

        Raises :class:`InvalidBlock` naming the failed check (``parent`` when it does not extend the head).
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
        return VerifiedBlock(block, result, nodes)

    def store(self, verified: VerifiedBlock, *, commit_sig: tuple[bytes, bytes] | None = None) -> None:
        """Write a verified block as the new head, in one write transaction (design §3.4).

        The senders the execution recovered go along for the address index (no second recovery).
        """
        outcomes = verified.result.outcomes
        senders = [o.sender for o in outcomes] if len(outcomes) == len(verified.block.transactions) else None
        self.db.write_block(
            verified.block,
            verified.result.receipts,
            verified.state_nodes,
            cx_receipts=verified.result.outgoing_cx_receipts,
            commit_sig=commit_sig,
            senders=senders,
        )

    def import_block(
        self, block: Block, *, commit_sig: tuple[bytes, bytes] | None = None, now: int | None = None
    ) -> BlockResult:
        """Validate, execute and store ``block`` as the new head (reference §1.5, design §3.4).

        Raises :class:`InvalidBlock` naming the failed check (``parent`` when it does not extend the head);
        the database is then unchanged.
        """
        verified = self.verify(block, now=now)
        self.store(verified, commit_sig=commit_sig)
        return verified.result

    def propose(
        self,
        candidates: Iterable[Transaction],
        *,
        coinbase: bytes,
        timestamp: int,
        view_id: int = 0,
        last_commit: tuple[bytes, bytes] | None = None,
        shard_state: ShardState | None = None,
        extra: bytes = b"",
    ) -> BuiltBlock:
        """A block on the head from ``candidates``, invalid ones skipped with their reason; not stored.

        ``view_id`` and ``last_commit`` (the parent's commit signature and bitmap, reference §1.5) go into the
        header for consensus; the beacon chain's last block of an epoch needs ``shard_state``.
        """
        built, _ = self.propose_verified(
            candidates,
            coinbase=coinbase,
            timestamp=timestamp,
            view_id=view_id,
            last_commit=last_commit,
            shard_state=shard_state,
            extra=extra,
        )
        return built

    def propose_verified(
        self,
        candidates: Iterable[Transaction],
        *,
        coinbase: bytes,
        timestamp: int,
        view_id: int = 0,
        last_commit: tuple[bytes, bytes] | None = None,
        shard_state: ShardState | None = None,
        extra: bytes = b"",
    ) -> tuple[BuiltBlock, VerifiedBlock]:
        """:meth:`propose`, plus the block ready for :meth:`store` once it is final (no second execution)."""
        parent = self.head
        state = self.state(parent.root)
        built = build_block(
            state,
            parent,
            candidates,
            self.params,
            self.executor,
            coinbase=coinbase,
            timestamp=timestamp,
            block_hashes=self.block_hashes(parent.number + 1),
            view_id=view_id,
            extra=extra,
            shard_state=shard_state,
        )
        _, nodes = state.commit()
        if last_commit is not None:
            header = built.block.header.with_last_commit(*last_commit)
            built = BuiltBlock(built.block.with_header(header), built.result, built.skipped)
        return built, VerifiedBlock(built.block, built.result, nodes)
