"""One shard's chain: genesis, block import and block proposal over the chain database (design §3.4).

Import is the only way blocks enter the database, and it is all-or-nothing: the block is validated and
executed on a fresh :class:`~harmony.state.statedb.StateDB` over its parent's state root, and only when every
check of :func:`harmony.chain.transition.state_transition` passes are the block, its receipts, its
cross-shard receipts, the new trie nodes and the head pointer written, in one write transaction. An invalid
block raises the :class:`~harmony.chain.errors.InvalidBlock` naming the failed check and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from harmony.chain.errors import InvalidBlock
from harmony.chain.genesis import Genesis, genesis_block
from harmony.chain.params import BLOCKHASH_WINDOW
from harmony.chain.proposal import HeaderFields, build_block
from harmony.chain.randomness import make_header_vrf
from harmony.chain.rules import ChainRules
from harmony.chain.transition import (
    BlockBody,
    BlockResult,
    BuiltBlock,
    Executor,
    economy_of,
    state_transition,
)
from harmony.chain.validation import expected_epoch
from harmony.crypto.bls import SecretKey
from harmony.errors import HarmonyError
from harmony.state.account import Account
from harmony.state.lazy_evm import execute
from harmony.state.statedb import StateDB
from harmony.state.trie import Node
from harmony.storage.chaindb import ChainDB
from harmony.types.block import Block
from harmony.types.crosslink import CrossLink
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState, Slot
from harmony.types.transaction import Transaction

CACHED_HEADERS = 64
"""Decoded headers kept by hash (a bound, not a tuning knob: the head and its parent are what is read)."""

SHARED_CACHED_NODES = 20_000
"""Bound on the decoded trie nodes a chain's states share (cleared when over): the nodes every block and
every head read walk through stay decoded; tens of MB at most."""


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
    accounts: Mapping[bytes, Account | None] = field(default_factory=dict)
    """The accounts the execution read or wrote, as they stand in the block's post-state: once the block
    is stored they prime the next states over its root (the next verification, the pool's head reads)."""


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
        self,
        db: ChainDB,
        rules: ChainRules,
        shard_id: int,
        executor: Executor = execute,
        *,
        genesis_supply: int = 0,
    ) -> None:
        self.db = db
        self.rules = rules
        """The network's validity rules, fixed for the chain's life (:mod:`harmony.chain.rules`)."""
        self.params = rules.params
        self.shard_id = shard_id
        self.executor = executor
        self._node_cache: dict[bytes, Node] = {}
        """Decoded state trie nodes by hash, shared by every state this chain opens (verification, the
        pool's head accounts, RPC reads): nodes are content-addressed, so sharing is always consistent."""
        self._warm: tuple[bytes, Mapping[bytes, Account | None]] = (b"", {})
        """(state root, accounts at that root) of the last block stored: a state root fixes every account,
        so states opened over that root start with them (no trie walk and decode per account)."""
        self.genesis_supply = genesis_supply
        self._headers: dict[bytes, Header] = {}
        """Recently read headers by hash (the head is read several times per block)."""
        self._canonical: dict[int, bytes] = {}
        """Canonical hashes of the recent BLOCKHASH window by number (every block is final: no reorg)."""
        self._window: tuple[int, tuple[bytes, ...]] = (-1, ())
        """(number, :meth:`block_hashes` of it) last returned: the next block's window is that one moved
        by one hash, not 256 lookups again."""
        """Atto allocated by the genesis over every shard (the start of the supply accounting, §4.3)."""

    @property
    def operator_slots(self) -> tuple[tuple[Slot, ...], ...]:
        """The genesis (operator-run) seats of every shard (:attr:`ChainRules.operator_slots`)."""
        return self.rules.operator_slots

    @classmethod
    def open(
        cls,
        db: ChainDB,
        genesis: Genesis,
        shard_id: int,
        executor: Executor = execute,
        *,
        rules: ChainRules | None = None,
    ) -> Blockchain:
        """The chain in ``db`` under ``rules`` (default: the network's, :meth:`ChainRules.of` ``genesis``);
        an empty database gets ``genesis``'s block for ``shard_id`` first.

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
        supply = sum(account.balance for shard in genesis.shards for account in shard.alloc)
        return cls(
            db, ChainRules.of(genesis) if rules is None else rules, shard_id, executor, genesis_supply=supply
        )

    # -- the history the rules read (harmony.chain.view.ChainView) ---------------------------------------

    def committee_for(self, shard: int, epoch: int) -> Committee | None:
        """The committee of ``shard`` in ``epoch`` from the stored shard states (``None`` when unknown)."""
        try:
            return self.db.committee_for(shard, epoch)
        except HarmonyError:
            return None

    def head_number(self) -> int | None:
        """The head's number."""
        return self.db.head_number()

    def genesis_hash(self) -> bytes | None:
        """The hash of block 0."""
        return self.db.genesis_hash()

    def get_header(self, block_hash: bytes) -> Header | None:
        """The stored header with that hash (recent ones decoded once: a stored header never changes)."""
        header = self._headers.get(block_hash)
        if header is None:
            header = self.db.get_header(block_hash)
            if header is not None:
                if len(self._headers) >= CACHED_HEADERS:
                    self._headers.clear()
                self._headers[block_hash] = header
        return header

    def get_header_by_number(self, number: int) -> Header | None:
        """The canonical header ``number``."""
        return self.db.get_header_by_number(number)

    def get_shard_state(self, epoch: int) -> ShardState | None:
        """The stored committees of ``epoch``."""
        return self.db.get_shard_state(epoch)

    def is_cx_spent(self, from_shard: int, number: int) -> bool:
        """Whether the receipts block ``number`` of ``from_shard`` sent here were credited."""
        return self.db.is_cx_spent(from_shard, number)

    def get_crosslink(self, shard: int, number: int) -> CrossLink | None:
        """The recorded crosslink of block ``number`` of ``shard``."""
        return self.db.get_crosslink(shard, number)

    @property
    def head(self) -> Header:
        """The header of the newest block."""
        head_hash = self.db.head_hash()
        header = None if head_hash is None else self.get_header(head_hash)
        if header is None:
            raise HarmonyError("the chain database is empty: open it with a genesis first")
        return header

    def state(self, root: bytes | None = None) -> StateDB:
        """A fresh state over ``root`` (default: the head's); changes stay in memory until imported."""
        if len(self._node_cache) > SHARED_CACHED_NODES:
            self._node_cache.clear()
        root = self.head.root if root is None else root
        state = StateDB(self.db.state_nodes(), root, node_cache=self._node_cache)
        warm_root, accounts = self._warm
        if root == warm_root:
            state.prime_accounts(accounts)
        return state

    def accounts(self) -> HeadAccounts:
        """Nonces and balances at the head (re-read it after each new block)."""
        return HeadAccounts(self.state())

    def block_hashes(self, number: int) -> tuple[bytes, ...]:
        """Hashes of the up to 256 canonical blocks before ``number``, oldest first (for BLOCKHASH)."""
        last, window = self._window
        first = max(0, number - BLOCKHASH_WINDOW)
        if last == number and len(window) == number - first:
            return window
        if last == number - 1 and number >= 1 and len(window) == last - max(0, last - BLOCKHASH_WINDOW):
            newest = self._canonical.get(number - 1) or self.db.get_canonical_hash(number - 1)
            if newest is not None:  # a full window of the previous block, moved by one
                hashes = (*window[first - max(0, last - BLOCKHASH_WINDOW) :], newest)
                self._window = (number, hashes)
                return hashes
        hashes = self._read_block_hashes(number)
        self._window = (number, hashes)
        return hashes

    def _read_block_hashes(self, number: int) -> tuple[bytes, ...]:
        known = self._canonical
        hashes = []
        for n in range(max(0, number - BLOCKHASH_WINDOW), number):
            block_hash = known.get(n)
            if block_hash is None:
                block_hash = self.db.get_canonical_hash(n)
                if block_hash is None:
                    break
                known[n] = block_hash  # final blocks: a canonical hash never changes
            hashes.append(block_hash)
        if len(known) > 2 * BLOCKHASH_WINDOW:
            for n in [n for n in known if n < number - BLOCKHASH_WINDOW]:
                del known[n]
        return tuple(hashes)

    def verify(
        self, block: Block, *, now: int | None = None, final: bool = False, vrf_checked: bool = False
    ) -> VerifiedBlock:
        """Validate and execute ``block`` on the head's state without storing anything (reference §1.5).

        ``final``: the block carries a verified commit quorum of its committee (a commit or a synced block).
        Its cross-shard parts (proofs, crosslinks, the announced shard state) are then taken as the quorum
        checked them: a node that was down may not know the other shard's committee or announcement yet, and
        refusing a final block would stop it for good. Everything else is checked as for a proposal.
        ``vrf_checked``: the caller checked the header's VRF by the chain's rule already
        (:func:`harmony.chain.epoch_randomness.check_leader_vrf`, as fast sync does ahead of execution).

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
            self.rules,
            self,
            state,
            block,
            executor=self.executor,
            now=now,
            final=final,
            vrf_checked=vrf_checked,
        )
        _, nodes = state.commit()
        return VerifiedBlock(block, result, nodes, state.cached_accounts())

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
        self._warm = (verified.result.state_root, verified.accounts)
        header = verified.block.header  # the next block reads it as the head: not decoded again
        if len(self._headers) >= CACHED_HEADERS:
            self._headers.clear()
        self._headers[header.hash()] = header

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
        leader: SecretKey,
        timestamp: int,
        view_id: int = 0,
        last_commit: tuple[bytes, bytes] | None = None,
        shard_state: ShardState | None = None,
        extra: bytes = b"",
    ) -> BuiltBlock:
        """A block on the head from ``candidates`` as ``leader`` proposes it (reference §1.5, §7): the
        coinbase is the account of the leader's seat in the next block's committee, the VRF the leader's
        over the head's hash; invalid candidates are skipped with their reason; nothing is stored.

        ``view_id`` and ``last_commit`` (the parent's commit signature and bitmap, reference §1.5) go into the
        header for consensus; a beacon chain without its own election needs ``shard_state`` at the last
        block of an epoch. Raises :class:`HarmonyError` when ``leader`` holds no seat in that committee.
        """
        parent = self.head
        committee = self.committee_for(self.shard_id, expected_epoch(self.params, parent))
        if committee is None:
            raise HarmonyError(f"no committee of shard {self.shard_id} is known for the next block")
        fields = HeaderFields(
            committee.address_for_bls_key(leader.public_key.to_bytes()),
            timestamp,
            view_id,
            extra,
            shard_state,
            last_commit,
            vrf=make_header_vrf(leader, parent.hash()),
        )
        built, _ = self.propose_verified(fields, BlockBody(candidates))
        return built

    def propose_verified(self, fields: HeaderFields, body: BlockBody) -> tuple[BuiltBlock, VerifiedBlock]:
        """:meth:`propose`, plus the block ready for :meth:`store` once it is final (no second execution):
        the chain's :func:`~harmony.chain.proposal.build_block` on the head over the proposer's header
        ``fields`` and candidate ``body``.

        The body's staking transactions (beacon chain) and incoming receipt proofs, and the fields'
        crosslinks (beacon chain) and slash records must be verified already (the pools do); ``vrf``/``vdf``
        are the leader's header randomness fields (reference §7). The parent's commit (``last_commit``) goes
        into the header before execution, since the beacon chain pays rewards by it (none over genesis).
        """
        parent = self.head
        state = self.state(parent.root)
        if fields.last_commit is not None and parent.number == 0:
            fields = replace(fields, last_commit=None)  # genesis is never signed
        built = build_block(
            state,
            parent,
            fields,
            body,
            self.params,
            executor=self.executor,
            block_hashes=self.block_hashes(parent.number + 1),
            economy=economy_of(self.rules, self, parent),
        )
        _, nodes = state.commit()
        return built, VerifiedBlock(built.block, built.result, nodes, state.cached_accounts())
