"""What the RPC methods read and do, over the node's chain, pool and hooks (reference §9.2).

:class:`RPCBackend` resolves block parameters, finds transactions and receipts (by Harmony hash or eth
hash), derives per-receipt gas and contract addresses, searches logs, runs calls on throwaway state and
hands raw transactions to the pool. It holds no JSON: the method modules format what it returns.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from harmony.crypto.bitmap import decode_bitmap
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.peer_info import offline_peer_info
from harmony.node.staking_pool import StakingPool
from harmony.rpc.errors import ServerError
from harmony.rpc.filters import FilterStore
from harmony.rpc.formats import LogInBlock, ReceiptInBlock, StakingInBlock, TxInBlock, receipt_logs
from harmony.rpc.logs import LogFilter
from harmony.rpc.params import BlockRef
from harmony.state.account import contract_address
from harmony.state.proof import AccountProof, account_proof
from harmony.state.statedb import StateDB
from harmony.storage.chaindb import TX_KIND_PLAIN, TX_KIND_STAKING
from harmony.types.block import Block
from harmony.types.cx import CXReceiptsProof
from harmony.types.header import Header
from harmony.types.shard_state import Committee, Slot
from harmony.types.staking import StakingTransaction, acting_account
from harmony.types.transaction import Transaction

SENDER_CACHE_SIZE = 16_384
"""Recovered senders kept, keyed by transaction hash (recovery costs ~35 µs each)."""


class TxPoolRejectionLike(Protocol):
    """One entry of the pool's error sink (``TxPoolRejection``)."""

    @property
    def tx_hash(self) -> bytes: ...

    @property
    def message(self) -> str: ...

    @property
    def time_at(self) -> float: ...


class TxPoolLike(Protocol):
    """The transaction pool as the RPC uses it (``harmony.node.txpool.TxPool``)."""

    def add_raw(self, raw: bytes, *, eth: bool) -> bytes: ...

    def get(self, tx_hash: bytes) -> Transaction | None: ...

    def pending(self) -> list[Transaction]: ...

    def queued(self) -> list[Transaction]: ...

    def stats(self) -> tuple[int, int]: ...

    def pending_nonce(self, address: bytes) -> int: ...

    def errors(self) -> Sequence[TxPoolRejectionLike]: ...


class NodeHooks(Protocol):
    """What the node tells the RPC and what the RPC tells the node."""

    def peer_count(self) -> int:
        """Connected peers (``net_peerCount``)."""
        ...

    def syncing(self) -> tuple[int, int] | None:
        """``(current, highest)`` while syncing, else ``None``."""
        ...

    def on_transaction(self, tx: Transaction) -> None:
        """Called after the pool accepted ``tx`` from a client (the node gossips it)."""
        ...

    def on_staking_transaction(self, tx: StakingTransaction) -> None:
        """Called after the staking pool accepted ``tx`` from a client (the node gossips it)."""
        ...

    def shard_endpoints(self) -> dict[int, tuple[str, str]]:
        """``{shard: (http url, ws url)}`` the node knows (``hmyv2_getShardingStructure``)."""
        ...

    def metadata(self) -> dict[str, object]:
        """The node's own facts for ``hmyv2_getNodeMetadata`` (``node_info.node_metadata_json`` adds the
        chain's): ``blskey``, ``is-leader``, ``role``, ``is-archival``, ``peerid``, ``node-unix-start-time``,
        ``consensus {viewId, blocknum, finality}``, ``sync-peers``; any may be left out."""
        ...

    def peer_info(self) -> dict[str, object]:
        """``{peerid, blocked-peers, peers: [{topic, peers}], c: {total-known-peers, connected,
        not-connected}}`` (``hmyv2_getPeerInfo``)."""
        ...

    def pending_cx_proofs(self) -> Sequence[CXReceiptsProof]:
        """Outgoing cross-shard proofs not yet credited by their destination (``getPendingCXReceipts``)."""
        ...

    def resend_cx_proof(self, proof: CXReceiptsProof) -> bool:
        """Publish ``proof`` to its destination shard again (``resendCx``); whether it was sent."""
        ...

    def pending_crosslink_count(self) -> int:
        """Crosslinks received and not yet included (``getNumPendingCrossLinks``)."""
        ...


class StandaloneHooks:
    """Hooks of a node with no network: no peers, never syncing, one shard endpoint on localhost."""

    def __init__(self, backend_chain: Blockchain) -> None:
        self._chain = backend_chain

    def peer_count(self) -> int:
        """No peers."""
        return 0

    def syncing(self) -> tuple[int, int] | None:
        """Never syncing."""
        return None

    def on_transaction(self, tx: Transaction) -> None:
        """Nothing to gossip to."""

    def on_staking_transaction(self, tx: StakingTransaction) -> None:
        """Nothing to gossip to."""

    def shard_endpoints(self) -> dict[int, tuple[str, str]]:
        """This shard on the default local ports."""
        return {self._chain.shard_id: ("http://127.0.0.1:9500", "ws://127.0.0.1:9800")}

    def metadata(self) -> dict[str, object]:
        """The metadata a key-less, standalone node can state."""
        return {"blskey": [], "is-leader": False, "peerid": "", "node-unix-start-time": 0}

    def pending_cx_proofs(self) -> Sequence[CXReceiptsProof]:
        """No relay: nothing pending."""
        return ()

    def resend_cx_proof(self, proof: CXReceiptsProof) -> bool:
        """No network: nothing can be sent."""
        return False

    def pending_crosslink_count(self) -> int:
        """No crosslink pool."""
        return 0

    def peer_info(self) -> dict[str, object]:
        """No network: no peers (the node's :func:`~harmony.node.peer_info.offline_peer_info`)."""
        return offline_peer_info("")


def staking_owner(tx: StakingTransaction) -> bytes:
    """The account a staking message acts for, which must be its signer (:func:`acting_account`)."""
    return acting_account(tx.msg)


class RPCBackend:
    """The node as the RPC methods see it: chain, pool, hooks, and the client version string."""

    def __init__(
        self,
        chain: Blockchain,
        pool: TxPoolLike,
        hooks: NodeHooks | None = None,
        *,
        client_version: str = "Harmony (python)/v0.1.0",
        staking_pool: StakingPool | None = None,
        inside_fence: Callable[[], bool] | None = None,
    ) -> None:
        self.chain = chain
        self._inside_fence = inside_fence
        self.pool = pool
        self.staking_pool = staking_pool
        """The beacon chain's staking pool (``None`` on other shards: staking RPC answers an error)."""
        self.hooks: NodeHooks = hooks if hooks is not None else StandaloneHooks(chain)
        self.client_version = client_version
        self._senders: OrderedDict[bytes, bytes] = OrderedDict()
        self.filters = FilterStore()
        self.pending_listeners: list[Callable[[Sequence[tuple[bytes, bytes]]], None]] = []
        """Told the hashes of transactions the pool accepted (the WebSocket hub's
        ``newPendingTransactions``)."""
        self.pending_interest: list[Callable[[], bool]] = []
        """Whether a listener wants notifications now (nobody subscribed: the hashes are not computed)."""

    # -- identities -----------------------------------------------------------------------------------

    @property
    def shard_id(self) -> int:
        """The shard this node serves."""
        return self.chain.shard_id

    @property
    def chain_id(self) -> int:
        """Harmony's chain ID (``hmy_chainId``)."""
        return self.chain.params.chain_id

    @property
    def eth_chain_id(self) -> int:
        """This shard's Ethereum chain ID (``eth_chainId``, reference §2.6)."""
        return self.chain.params.eth_chain_id(self.chain.shard_id)

    @property
    def min_gas_price(self) -> int:
        """The pool's minimum gas price, what ``gasPrice`` suggests."""
        return self.chain.params.min_gas_price

    def fence_jurisdiction(self) -> str | None:
        """The jurisdiction this node's shard is fenced to, ``None`` when it is not fenced (issue 21)."""
        return self.chain.rules.fences.jurisdiction_of(self.chain.shard_id)

    def inside_fence(self) -> bool:
        """Whether this node may serve its fenced shard's data: it holds a seat key of the shard's committee
        (told by the node; a backend without a node is outside)."""
        return self._inside_fence is not None and self._inside_fence()

    # -- blocks ---------------------------------------------------------------------------------------

    def head_number(self) -> int:
        """Number of the newest block (from the number index: no header decode per call)."""
        number = self.chain.db.head_number()
        return 0 if number is None else number

    def resolve_number(self, ref: BlockRef) -> int | None:
        """The block number ``ref`` names, or ``None`` when no such block is stored."""
        if isinstance(ref, bytes):
            return self.chain.db.get_block_number(ref)
        if ref == "earliest":
            return 0
        if isinstance(ref, str):
            return self.head_number()
        return ref if ref <= self.head_number() else None

    def header_at(self, ref: BlockRef) -> Header | None:
        """The canonical header ``ref`` names, or ``None``."""
        if isinstance(ref, bytes):
            return self.chain.db.get_header(ref)
        number = self.resolve_number(ref)
        return None if number is None else self.chain.db.get_header_by_number(number)

    def require_header(self, ref: BlockRef) -> Header:
        """The header ``ref`` names; :class:`ServerError` ``header not found`` otherwise (as geth)."""
        header = self.header_at(ref)
        if header is None:
            raise ServerError("header not found")
        return header

    def block_at(self, ref: BlockRef) -> Block | None:
        """The canonical block ``ref`` names, or ``None``."""
        if isinstance(ref, bytes):
            return self.chain.db.get_block_by_hash(ref)
        number = self.resolve_number(ref)
        return None if number is None else self.chain.db.get_block_by_number(number)

    def state_at(self, ref: BlockRef) -> StateDB:
        """A throwaway state at the block ``ref`` names (never committed)."""
        return self.chain.state(self.require_header(ref).root)

    def account_proof(self, ref: BlockRef, address: bytes, slots: Sequence[int]) -> AccountProof:
        """The EIP-1186 proof of ``address`` and its ``slots`` in the state of the block ``ref`` names."""
        return account_proof(self.chain.db.state_nodes(), self.require_header(ref).root, address, slots)

    # -- transactions ---------------------------------------------------------------------------------

    def sender(self, tx: Transaction) -> bytes:
        """The signer of ``tx`` (accepting Harmony's and the shard's Ethereum chain ID), cached."""
        key = tx.hash()
        cached = self._senders.get(key)
        if cached is not None:
            return cached
        sender = tx.sender(self.chain.params.accepted_chain_ids(tx.shard_id))
        self._senders[key] = sender
        if len(self._senders) > SENDER_CACHE_SIZE:
            self._senders.popitem(last=False)
        return sender

    def tx_in_block(self, block: Block, index: int) -> TxInBlock:
        """The ``index``-th plain transaction of ``block`` with its location."""
        tx = block.transactions[index]
        return TxInBlock(tx, self.sender(tx), block.hash(), block.header.number, index, block.header.time)

    def find_transaction(self, tx_hash: bytes, *, include_pool: bool = True) -> TxInBlock | None:
        """A plain transaction by Harmony hash or eth hash: from the chain, else from the pool."""
        found = self.chain.db.get_transaction(tx_hash)
        if found is not None:
            tx, location = found
            if location.kind != TX_KIND_PLAIN or not isinstance(tx, Transaction):
                return None
            header = self.chain.db.get_header(location.block_hash)
            timestamp = 0 if header is None else header.time
            return TxInBlock(
                tx, self.sender(tx), location.block_hash, location.block_number, location.index, timestamp
            )
        if include_pool:
            pooled = self.pool.get(tx_hash)
            if pooled is not None:
                return TxInBlock(pooled, self.sender(pooled))
        return None

    def mined_transactions(
        self, tx_hashes: Sequence[bytes], *, staking: bool
    ) -> list[TxInBlock] | list[StakingInBlock]:
        """The mined plain (or staking) transactions of ``tx_hashes`` in order, each block read once.

        A hash not found, or of the other kind, is skipped (Go drops what ``GetTransactionByHash`` fails on).
        """
        blocks: dict[bytes, Block | None] = {}
        plain: list[TxInBlock] = []
        stakes: list[StakingInBlock] = []
        want = TX_KIND_STAKING if staking else TX_KIND_PLAIN
        for tx_hash in tx_hashes:
            location = self.chain.db.get_transaction_location(tx_hash)
            if location is None or location.kind != want:
                continue
            if location.block_hash not in blocks:
                blocks[location.block_hash] = self.chain.db.get_block_by_hash(location.block_hash)
            block = blocks[location.block_hash]
            if block is None:
                continue
            where = (location.block_hash, location.block_number, location.index, block.header.time)
            if staking:
                if location.index < len(block.staking_transactions):
                    stx = block.staking_transactions[location.index]
                    stakes.append(StakingInBlock(stx, staking_owner(stx), *where))
            elif location.index < len(block.transactions):
                tx = block.transactions[location.index]
                plain.append(TxInBlock(tx, self.sender(tx), *where))
        return stakes if staking else plain

    def block_receipts(self, block: Block) -> list[ReceiptInBlock]:
        """The receipts of ``block``'s plain transactions with their own gas, contract and log index."""
        receipts = self.chain.db.get_receipts(block.hash()) or ()
        out: list[ReceiptInBlock] = []
        previous_gas = 0
        log_index = 0
        for index, receipt in enumerate(receipts[: len(block.transactions)]):
            item = self.tx_in_block(block, index)
            created = contract_address(item.sender, item.tx.nonce) if item.tx.to is None else None
            out.append(
                ReceiptInBlock(item, receipt, receipt.cumulative_gas_used - previous_gas, created, log_index)
            )
            previous_gas = receipt.cumulative_gas_used
            log_index += len(receipt.logs)
        return out

    def find_receipt(self, tx_hash: bytes) -> ReceiptInBlock | None:
        """The receipt of a mined plain transaction, by Harmony hash or eth hash."""
        location = self.chain.db.get_transaction_location(tx_hash)
        if location is None or location.kind != TX_KIND_PLAIN:
            return None
        block = self.chain.db.get_block_by_hash(location.block_hash)
        if block is None:
            return None
        receipts = self.block_receipts(block)
        return receipts[location.index] if location.index < len(receipts) else None

    def block_logs(self, block: Block, log_filter: LogFilter) -> Iterator[LogInBlock]:
        """The logs of ``block`` that match ``log_filter``, in order."""
        if not block.header.bloom or not log_filter.bloom_may_match(block.header.bloom):
            return
        for rec in self.block_receipts(block):
            if not rec.receipt.logs or not log_filter.bloom_may_match(rec.receipt.bloom):
                continue
            for entry in receipt_logs(rec):
                if log_filter.matches(entry.log):
                    yield entry

    def logs(self, log_filter: LogFilter, first: int, last: int, max_logs: int) -> list[LogInBlock]:
        """Matching logs of canonical blocks ``first..last``; :class:`ServerError` past ``max_logs``."""
        out: list[LogInBlock] = []
        for number in range(first, last + 1):
            header = self.chain.db.get_header_by_number(number)
            if header is None:
                break
            if not log_filter.bloom_may_match(header.bloom):
                continue
            block = self.chain.db.get_block_by_number(number)
            if block is None:
                break
            out.extend(self.block_logs(block, log_filter))
            if len(out) > max_logs:
                raise ServerError(f"query returned more than {max_logs} results")
        return out

    # -- pool -----------------------------------------------------------------------------------------

    def send_raw(self, raw: bytes, *, eth: bool) -> bytes:
        """Hand a signed transaction to the pool; its hash, or :class:`ServerError` with the pool's reason."""
        try:
            tx_hash = self.pool.add_raw(raw, eth=eth)
        except HarmonyError as exc:
            raise ServerError(str(exc)) from None
        tx = self.pool.get(tx_hash)
        if tx is not None:
            self.hooks.on_transaction(tx)
            self.notify_pending((tx,))
        return tx_hash

    def send_raw_staking(self, raw: bytes) -> bytes:
        """Hand a signed staking transaction to the staking pool; its hash, or :class:`ServerError`."""
        if self.staking_pool is None:
            raise ServerError(
                "staking transactions are processed on the beacon chain: send them to a shard 0 node"
            )
        try:
            tx_hash = self.staking_pool.add_raw(raw)
        except HarmonyError as exc:
            raise ServerError(str(exc)) from None
        tx = self.staking_pool.get(tx_hash)
        if tx is not None:
            self.hooks.on_staking_transaction(tx)
        return tx_hash

    def find_staking_transaction(self, tx_hash: bytes) -> StakingInBlock | None:
        """A staking transaction by hash: mined, else pooled."""
        mined = self.mined_transactions([tx_hash], staking=True)
        if mined:
            found = mined[0]
            assert isinstance(found, StakingInBlock)
            return found
        if self.staking_pool is not None:
            pooled = self.staking_pool.get(tx_hash)
            if pooled is not None:
                return StakingInBlock(pooled, staking_owner(pooled), b"", 0, 0, 0)
        return None

    def _pending_wanted(self) -> bool:
        return self.filters.has_pending() or any(wants() for wants in self.pending_interest)

    def notify_pending_hashes(self, tx_hashes: Sequence[bytes]) -> None:
        """Transactions from peers, by the hash the pool gave them (Harmony format: both hashes equal)."""
        if not self._pending_wanted():
            return
        pairs = [(h, h) for h in tx_hashes]
        self.filters.notify_pending(pairs)
        for listener in self.pending_listeners:
            listener(pairs)

    def notify_pending(self, txs: Sequence[Transaction]) -> None:
        """Tell pending-transaction filters and subscribers that the pool accepted ``txs``.

        The node calls it for transactions from peers; :meth:`send_raw` for those from clients.
        """
        if not txs or not self._pending_wanted():
            return
        hashes = [(tx.hash(), tx.hash_by_type()) for tx in txs]
        self.filters.notify_pending(hashes)
        for listener in self.pending_listeners:
            listener(hashes)

    # -- committees -----------------------------------------------------------------------------------

    def block_signers(self, number: int) -> list[Slot]:
        """The committee members whose bits are set in block ``number``'s commit bitmap (reference §1.5)."""
        committee, members = self.block_signer_indices(number)
        return [] if committee is None else [committee.slots[i] for i in members]

    def block_signer_indices(self, number: int) -> tuple[Committee | None, Sequence[int]]:
        """Block ``number``'s committee and the indices of its members who signed it (reference §1.5).

        The bitmap comes from the next block's header (``last_commit_bitmap``) or, for the head, the stored
        commit signature; the committee is the shard state of the block's epoch. No bitmap: ``(None, [])``.
        """
        header = self.chain.db.get_header_by_number(number)
        if header is None:
            raise ServerError("header not found")
        bitmap: bytes | None = None
        child = self.chain.db.get_header_by_number(number + 1)
        if child is not None:
            bitmap = child.last_commit_bitmap
        else:
            stored = self.chain.db.get_commit_sig(number)
            if stored is not None:
                bitmap = stored[1]
        if bitmap is None or not bitmap:
            return None, ()
        shard_state = self.chain.db.get_shard_state(header.epoch)
        if shard_state is None:
            raise ServerError(f"no committee stored for epoch {header.epoch}")
        try:
            committee = shard_state.committee(self.shard_id)
            return committee, decode_bitmap(bitmap, len(committee.slots))
        except HarmonyError as exc:
            raise ServerError(f"cannot read the commit bitmap of block {number}: {exc}") from None
