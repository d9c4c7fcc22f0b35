"""The transaction pool: signed plain transactions waiting for a block (reference §2.2, §2.3, §10.1).

Pure data structure: no IO, no threads, no async; time comes from an injected clock and account nonces and
balances from an :class:`AccountReader` the node replaces after every new head (:meth:`TxPool.set_state`).

**Admission** (:meth:`TxPool.add`), cheapest checks first, each failure a :class:`TxPoolError` whose
``reason`` is a short machine code and whose message says what to do:

1. size at most ``max_tx_bytes`` (``oversized``); an already pooled hash (``known``);
2. shard rules of :func:`harmony.chain.transactions.check_shard`: executes on our shard (``wrong-shard``),
   destination shard exists (``bad-to-shard``), a cross-shard transfer creates no contract and carries no
   data (``bad-cross-shard``);
3. gas: at least the Istanbul intrinsic gas (``intrinsic-gas``), at most the block gas limit
   (``gas-limit``); gas price at least the pool minimum (``underpriced``; ``params.min_gas_price`` by
   default, 100 gwei on mainnet, 1 gwei on localnet, §10.1);
4. signature through :func:`harmony.chain.transactions.recover_sender`: for the Harmony chain ID or this
   shard's Ethereum chain ID (``wrong-chain-id``; ``wrong-shard`` for another shard's Ethereum ID), a valid
   low-s signature (``invalid-signature``); the sender is recovered once and kept on the pool entry;
5. against the account (YP §6.2): nonce not below the account nonce (``nonce-too-low``) and less than
   ``account_slots + account_queue`` above it (``nonce-gap-too-large``); the balance covers
   ``gas × gasPrice + value`` of this transaction and of the executable ones before it
   (``insufficient-funds``; cross-shard transfers too, they debit the sender here, §6.4);
6. replacement of the same sender and nonce only with a gas price at least ``price_bump_percent`` higher
   (``replacement-underpriced``);
7. limits: ``account_queue`` queued transactions per account (``account-full``, unless the newcomer is
   nearer than the account's farthest-future one, which is then dropped), ``global_slots`` executable
   (the lowest-priced executable transaction is dropped for a better-paying newcomer, else ``pool-full``)
   and ``global_queue`` queued (the farthest-future queued transaction is dropped for a nearer newcomer, else
   ``pool-full``).

**Executable and queued.** An account's executable transactions are exactly the nonces
``[state nonce, pending end)``: contiguous from the account nonce, at most ``account_slots`` of them, whose
cumulative cost the balance covers. Every other pooled transaction of the account is queued (a nonce gap,
funds that run out, or over the account's slots); queued ones older than ``lifetime_s`` are evicted.
:meth:`TxPool.executable` merges the accounts' runs by descending gas price, each account in nonce order
(geth's price-and-nonce order), first seen first among equal prices.

Costs: :meth:`TxPool.add` is one sender recovery, one Keccak hash and O(log n) heap work (per-account work
is bounded by the account's slots); :meth:`TxPool.executable` is O(k log a) for k transactions from a
accounts; :meth:`TxPool.set_state` is O(n) plus one state read per pooled account.

Staking transactions are not pooled yet (``staking-not-supported``).
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from harmony.chain.errors import WrongShard
from harmony.chain.params import GWEI, NetworkParams
from harmony.chain.state_api import WorldState
from harmony.chain.transactions import InvalidSignature, UnsupportedTransaction, check_shard, recover_sender
from harmony.crypto.keccak import keccak256
from harmony.errors import HarmonyError
from harmony.types.chain_ids import is_eth_compatible
from harmony.types.eth_transaction import MAX_NONCE, EthTransaction
from harmony.types.staking import StakingTransaction
from harmony.types.transaction import Transaction, from_eth
from harmony.types.tx_common import InvalidChainId

ERROR_SINK_SIZE = 1024
"""How many recent rejections :meth:`TxPool.errors` keeps."""

REASONS = frozenset(
    {
        "oversized",
        "malformed",
        "invalid-signature",
        "wrong-chain-id",
        "wrong-shard",
        "bad-to-shard",
        "bad-cross-shard",
        "underpriced",
        "intrinsic-gas",
        "gas-limit",
        "nonce-too-low",
        "insufficient-funds",
        "known",
        "replacement-underpriced",
        "account-full",
        "pool-full",
        "nonce-gap-too-large",
        "staking-not-supported",
        "expired",
    }
)
"""Every ``reason`` code a :class:`TxPoolError` or a :class:`TxPoolRejection` carries."""


class TxPoolError(HarmonyError):
    """A transaction the pool refuses; ``reason`` is one of :data:`REASONS`, ``str(exc)`` says what to do."""

    def __init__(self, reason: str, message: str, tx_hash: bytes | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.tx_hash = tx_hash


@dataclass(frozen=True, slots=True)
class TxPoolRejection:
    """One refused or evicted transaction, as ``hmy_getCurrentTransactionErrorSink`` reports it."""

    tx_hash: bytes
    reason: str
    message: str
    time_at: float
    """The pool clock's value when it happened."""


@dataclass(frozen=True, slots=True)
class TxPoolConfig:
    """Pool policy (reference §10.1: 100 gwei minimum, 1 % bump, 16 slots per account, 4096 global, 30 min).

    ``price_bump_percent`` is 10 (geth's default) rather than Harmony's 1 %: a replacement must pay at
    least 10 % more, so re-gossiping a nonce with a marginally higher price is not a cheap spam vector.
    ``account_slots`` caps an account's *executable* transactions; further contiguous nonces wait in the
    account's queue until earlier ones are mined.
    """

    min_gas_price: int | None = None
    """Least gas price in atto; ``None``: ``params.min_gas_price``."""
    price_bump_percent: int = 10
    account_slots: int = 16
    global_slots: int = 4096
    account_queue: int = 64
    global_queue: int = 1024
    lifetime_s: float = 1800.0
    """Queued (non-executable) transactions older than this are evicted."""
    max_tx_bytes: int = 128 * 1024

    def __post_init__(self) -> None:
        if self.min_gas_price is not None and self.min_gas_price < 0:
            raise ValueError("min_gas_price must not be negative")
        if self.price_bump_percent < 0:
            raise ValueError("price_bump_percent must not be negative")
        if min(self.account_slots, self.global_slots) < 1:
            raise ValueError("account_slots and global_slots must be at least 1")
        if min(self.account_queue, self.global_queue, self.max_tx_bytes) < 0:
            raise ValueError("queue sizes and max_tx_bytes must not be negative")
        if self.lifetime_s <= 0:
            raise ValueError("lifetime_s must be positive")


class AccountReader(Protocol):
    """What the pool reads of the head state: an account's nonce and balance (atto)."""

    def nonce(self, address: bytes) -> int:
        """The account's nonce (0 for an unknown account)."""
        ...

    def balance(self, address: bytes) -> int:
        """The account's balance in atto (0 for an unknown account)."""
        ...


class WorldStateReader:
    """An :class:`AccountReader` over a :class:`~harmony.chain.state_api.WorldState` (e.g. a ``StateDB``)."""

    __slots__ = ("_state",)

    def __init__(self, state: WorldState) -> None:
        self._state = state

    def nonce(self, address: bytes) -> int:
        """The account nonce in the wrapped state."""
        return self._state.get_nonce(address)

    def balance(self, address: bytes) -> int:
        """The account balance in the wrapped state."""
        return self._state.get_balance(address)


def format_gwei(atto: int) -> str:
    """An atto amount as exact gwei text without floats, e.g. ``500000000`` → ``"0.5 Gwei"``."""
    whole, frac = divmod(atto, GWEI)
    text = f"{whole}.{frac:09d}".rstrip("0").rstrip(".") if frac else str(whole)
    return f"{text} Gwei"


class _Entry:
    """A pooled transaction with what the pool derived from it once."""

    __slots__ = (
        "alive",
        "cost",
        "encoded",
        "hash",
        "hashes",
        "pending",
        "price",
        "sender",
        "seq",
        "time_added",
        "tx",
    )

    def __init__(
        self,
        tx: Transaction,
        *,
        encoded: bytes,
        sender: bytes,
        tx_hash: bytes,
        hashes: tuple[bytes, ...],
        seq: int,
        now: float,
    ) -> None:
        self.tx = tx
        self.encoded = encoded
        """The transaction's RLP (Harmony form), as received: what gossip relays, never encoded again."""
        self.sender = sender
        self.hash = tx_hash
        self.hashes = hashes
        self.price = tx.gas_price
        self.cost = tx.gas * tx.gas_price + tx.value
        self.seq = seq
        self.time_added = now
        self.pending = False
        self.alive = True


class _Account:
    """One sender's pooled transactions; executable are exactly the nonces ``[nonce, pending_end)``."""

    __slots__ = ("balance", "nonce", "pending_end", "spent", "txs")

    def __init__(self, nonce: int, balance: int) -> None:
        self.nonce = nonce
        self.balance = balance
        self.pending_end = nonce
        self.spent = 0
        """Total cost of the executable run."""
        self.txs: dict[int, _Entry] = {}


_HeapItem = tuple[int, int, _Entry]


class TxPool:
    """Pending and queued plain transactions of one shard (module docstring for the rules)."""

    def __init__(
        self,
        params: NetworkParams,
        shard_id: int,
        state: AccountReader,
        config: TxPoolConfig = TxPoolConfig(),
        *,
        clock: Callable[[], float] = time.monotonic,
        gas_limit: int | None = None,
    ) -> None:
        if not 0 <= shard_id < params.shard_count:
            raise ValueError(f"shard {shard_id} does not exist ({params.shard_count} shards)")
        self.params = params
        self.shard_id = shard_id
        self.config = config
        self.min_gas_price = params.min_gas_price if config.min_gas_price is None else config.min_gas_price
        self.gas_limit = params.gas_limit(0) if gas_limit is None else gas_limit
        self._state = state
        self._clock = clock
        self._accepted = params.accepted_chain_ids(shard_id)
        self._accounts: dict[bytes, _Account] = {}
        self._by_hash: dict[bytes, _Entry] = {}
        self._eth_unindexed: list[_Entry] = []  # Harmony-signed, eth hash not indexed yet
        self._n_pending = 0
        self._n_queued = 0
        self._seq = 0
        self._cheapest: list[_HeapItem] = []  # (price, -seq, entry) of executable entries, lazy deletion
        self._farthest: list[tuple[int, int, _Entry]] = []  # (-distance, -seq, entry) of queued, lazy
        self._errors: deque[TxPoolRejection] = deque(maxlen=ERROR_SINK_SIZE)
        self._last: _Entry | None = None  # the entry added last (relay_form)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return self._n_pending + self._n_queued

    def stats(self) -> tuple[int, int]:
        """``(executable count, queued count)``."""
        return self._n_pending, self._n_queued

    def get(self, tx_hash: bytes) -> Transaction | None:
        """The pooled transaction with this Harmony hash or Ethereum hash (reference §2.3), if any."""
        entry = self._lookup(tx_hash)
        return None if entry is None else entry.tx

    def contains(self, tx_hash: bytes) -> bool:
        """Whether a transaction with this Harmony or Ethereum hash is pooled."""
        return self._lookup(tx_hash) is not None

    def encoded(self, tx_hash: bytes) -> bytes | None:
        """The Harmony-form RLP of the pooled transaction whose Harmony hash is ``tx_hash`` (no Ethereum-hash
        lookup), if pooled: what the node relays, without encoding the transaction again."""
        entry = self._by_hash.get(tx_hash)
        return None if entry is None else entry.encoded

    def relay_form(self, tx: Transaction) -> tuple[bytes, bytes]:
        """``(RLP, Harmony hash)`` of ``tx``: kept from its admission when it is the transaction pooled last
        (the RPC relays what it just pooled), else computed."""
        last = self._last
        if last is not None and last.tx is tx:
            return last.encoded, last.hashes[0]
        encoded = tx.encode()
        return encoded, keccak256(encoded)

    def sender(self, tx_hash: bytes) -> bytes | None:
        """The recovered sender of a pooled transaction (no signature recovery), if pooled."""
        entry = self._lookup(tx_hash)
        return None if entry is None else entry.sender

    def pending(self) -> list[Transaction]:
        """Every executable transaction, each account's in nonce order."""
        return [
            acct.txs[n].tx for acct in self._accounts.values() for n in range(acct.nonce, acct.pending_end)
        ]

    def queued(self) -> list[Transaction]:
        """Every queued (not yet executable) transaction, each account's in nonce order."""
        out: list[Transaction] = []
        for acct in self._accounts.values():
            out.extend(acct.txs[n].tx for n in sorted(acct.txs) if n >= acct.pending_end)
        return out

    def pending_nonce(self, address: bytes) -> int:
        """The nonce after the account's executable run (``eth_getTransactionCount(addr, "pending")``)."""
        acct = self._accounts.get(address)
        return self._state.nonce(address) if acct is None else acct.pending_end

    def errors(self) -> list[TxPoolRejection]:
        """Recent rejections and evictions, newest last (at most :data:`ERROR_SINK_SIZE`)."""
        return list(self._errors)

    def executable(self, limit: int | None = None) -> list[Transaction]:
        """The next block's candidates: geth's price-and-nonce order (module docstring), at most ``limit``."""
        heads: list[tuple[int, int, int, _Account]] = []
        for acct in self._accounts.values():
            if acct.pending_end > acct.nonce:
                first = acct.txs[acct.nonce]
                heads.append((-first.price, first.seq, acct.nonce, acct))
        heapq.heapify(heads)
        cap = self._n_pending if limit is None else min(limit, self._n_pending)
        out: list[Transaction] = []
        while heads and len(out) < cap:
            _, _, nonce, acct = heads[0]
            out.append(acct.txs[nonce].tx)
            nonce += 1
            if nonce < acct.pending_end:
                nxt = acct.txs[nonce]
                heapq.heapreplace(heads, (-nxt.price, nxt.seq, nonce, acct))
            else:
                heapq.heappop(heads)
        return out

    # ------------------------------------------------------------------ admission

    def add_raw(self, raw: bytes, *, eth: bool) -> bytes:
        """Decode and :meth:`add` an RLP Harmony transaction, or an EIP-155 Ethereum one (``eth``, §2.3).

        The size is checked before decoding; anything that does not decode is ``malformed``. Returns the
        hash clients know (:meth:`Transaction.hash_by_type`).
        """
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise self._reject(b"", "malformed", f"raw transaction must be bytes, got {type(raw).__name__}")
        raw = bytes(raw)
        if len(raw) > self.config.max_tx_bytes:
            raise self._reject(
                keccak256(raw),
                "oversized",
                f"transaction is {len(raw)} bytes, the pool takes at most "
                f"{self.config.max_tx_bytes}; send less data",
            )
        raw_hash = keccak256(raw)  # the Harmony hash of a Harmony transaction (its encoding is ``raw``)
        if not eth and raw_hash in self._by_hash:
            # a relayed copy of what we hold (gossip repeats, re-announcements): no decoding, no recovery
            raise self._reject(raw_hash, "known", "this transaction is already in the pool")
        try:
            tx = from_eth(EthTransaction.decode(raw), self.shard_id) if eth else Transaction.decode(raw)
        except (HarmonyError, ValueError, TypeError, IndexError, OverflowError) as exc:
            kind = "Ethereum" if eth else "Harmony"
            message = f"not an RLP-encoded {kind} transaction: {exc}"
            raise self._reject(raw_hash, "malformed", message) from exc
        if eth:
            if not tx.is_protected or not tx.is_eth_compatible:
                raise self._reject(
                    raw_hash,
                    "wrong-chain-id",
                    "an Ethereum-format transaction must be signed (EIP-155) for chain ID "
                    f"{self.params.eth_chain_id(self.shard_id)}, shard {self.shard_id}'s Ethereum chain ID",
                )
            return self._add(tx, None, raw_hash)
        return self._add(tx, raw, harmony_hash=raw_hash)

    def add(self, tx: Transaction) -> bytes:
        """Validate ``tx`` (module docstring, rules 1-7) and pool it; returns its ``hash_by_type()``.

        Raises :class:`TxPoolError`; every rejection is also recorded in :meth:`errors`.
        """
        if isinstance(tx, StakingTransaction):
            try:
                staking_hash = tx.hash()
            except (HarmonyError, ValueError, TypeError, OverflowError):
                staking_hash = b""
            raise self._reject(
                staking_hash, "staking-not-supported", "staking transactions are not accepted by the pool yet"
            )
        if not isinstance(tx, Transaction):
            raise self._reject(b"", "malformed", f"not a transaction: {type(tx).__name__}")
        return self._add(tx, None)

    def _add(
        self,
        tx: Transaction,
        encoded: bytes | None,
        eth_hash: bytes | None = None,
        *,
        harmony_hash: bytes | None = None,
    ) -> bytes:
        """Pool ``tx``; ``harmony_hash`` is ``keccak256(encoded)`` when the caller has it already."""
        cfg = self.config
        if encoded is None:
            try:
                encoded = tx.encode()
            except (HarmonyError, ValueError, TypeError, OverflowError) as exc:
                raise self._reject(b"", "malformed", f"transaction does not encode: {exc}") from exc
        if harmony_hash is None:
            harmony_hash = keccak256(encoded)
        if len(encoded) > cfg.max_tx_bytes:
            raise self._reject(
                harmony_hash,
                "oversized",
                f"transaction is {len(encoded)} bytes, the pool takes at most "
                f"{cfg.max_tx_bytes}; send less data",
            )
        eth_signed = tx.v >= 35 and is_eth_compatible((tx.v - 35) // 2)
        if eth_signed and eth_hash is None:
            eth_hash = tx.eth_hash()
        tx_hash = eth_hash if eth_signed and eth_hash is not None else harmony_hash
        if harmony_hash in self._by_hash or tx_hash in self._by_hash:
            raise self._reject(tx_hash, "known", "this transaction is already in the pool")
        self._check_stateless(tx, tx_hash)
        sender = self._recover(tx, tx_hash)
        acct = self._accounts.get(sender)
        created = acct is None
        if acct is None:
            acct = _Account(self._state.nonce(sender), self._state.balance(sender))
        replaced = self._check_account(tx, tx_hash, acct)
        if created:
            self._accounts[sender] = acct
        self._seq += 1
        hashes = (harmony_hash,) if eth_hash is None else (harmony_hash, eth_hash)
        entry = _Entry(
            tx,
            encoded=encoded,
            sender=sender,
            tx_hash=tx_hash,
            hashes=hashes,
            seq=self._seq,
            now=self._clock(),
        )
        if replaced is not None:
            self._unlink(acct, replaced)
        acct.txs[tx.nonce] = entry
        self._last = entry
        for h in hashes:
            self._by_hash.setdefault(h, entry)
        if eth_hash is None:
            self._eth_unindexed.append(entry)
            if len(self._eth_unindexed) > 2 * len(self) + 1024:
                self._eth_unindexed = [e for e in self._eth_unindexed if e.alive]
        self._n_queued += 1  # counted as queued until the run update says otherwise
        self._update_run(acct, extend=tx.nonce >= acct.pending_end)
        if not entry.pending:
            self._push_queued(acct, entry)
        self._enforce_account_queue(acct, entry)
        self._enforce_limits(entry)
        if not entry.alive:
            raise self._reject(
                tx_hash,
                "pool-full",
                f"the pool is full and gas price {format_gwei(tx.gas_price)} does not "
                "outbid what is pooled; raise the gas price or retry later",
            )
        return tx_hash

    def _check_stateless(self, tx: Transaction, tx_hash: bytes) -> None:
        if tx.nonce > MAX_NONCE:
            raise self._reject(tx_hash, "malformed", f"nonce {tx.nonce} is above 2^64 - 2 (EIP-2681)")
        try:
            check_shard(tx, self.params, self.shard_id)
        except WrongShard as exc:
            reason = "wrong-shard" if tx.shard_id != self.shard_id else "bad-to-shard"
            raise self._reject(tx_hash, reason, f"{exc}; send it to a node of the right shard") from exc
        except UnsupportedTransaction as exc:
            raise self._reject(tx_hash, "bad-cross-shard", str(exc)) from exc
        needed = tx.intrinsic_gas()
        if tx.gas < needed:
            raise self._reject(
                tx_hash, "intrinsic-gas", f"gas limit {tx.gas} is below the intrinsic gas {needed}; raise it"
            )
        if tx.gas > self.gas_limit:
            raise self._reject(
                tx_hash, "gas-limit", f"gas limit {tx.gas} exceeds the block gas limit {self.gas_limit}"
            )
        if tx.gas_price < self.min_gas_price:
            raise self._reject(
                tx_hash,
                "underpriced",
                f"gas price {format_gwei(tx.gas_price)} is below the pool minimum "
                f"{format_gwei(self.min_gas_price)}; raise the gas price",
            )

    def _recover(self, tx: Transaction, tx_hash: bytes) -> bytes:
        try:
            return recover_sender(tx, self.params, self.shard_id, self._accepted)
        except WrongShard as exc:
            raise self._reject(tx_hash, "wrong-shard", f"{exc}; send it to a node of that shard") from exc
        except InvalidChainId as exc:
            reason = "invalid-signature" if tx.v < 35 else "wrong-chain-id"
            raise self._reject(
                tx_hash,
                reason,
                f"{exc}; sign for chain ID {self.params.chain_id} or "
                f"{self.params.eth_chain_id(self.shard_id)}",
            ) from exc
        except InvalidSignature as exc:
            raise self._reject(tx_hash, "invalid-signature", str(exc)) from exc
        except UnsupportedTransaction as exc:
            raise self._reject(tx_hash, "bad-cross-shard", str(exc)) from exc
        except HarmonyError as exc:
            raise self._reject(tx_hash, "invalid-signature", f"bad signature: {exc}") from exc

    def _check_account(self, tx: Transaction, tx_hash: bytes, acct: _Account) -> _Entry | None:
        """Rules 5-7 against the account; returns the entry ``tx`` replaces, if any."""
        cfg = self.config
        nonce = tx.nonce
        if nonce < acct.nonce:
            raise self._reject(
                tx_hash,
                "nonce-too-low",
                f"nonce {nonce} is below the account nonce {acct.nonce} (already "
                f"used); use nonce {acct.pending_end}",
            )
        window = cfg.account_slots + cfg.account_queue
        if nonce - acct.nonce >= window:
            raise self._reject(
                tx_hash,
                "nonce-gap-too-large",
                f"nonce {nonce} is {nonce - acct.nonce} ahead of the account "
                f"nonce {acct.nonce}; the pool holds at most {window} ahead",
            )
        cost = tx.gas * tx.gas_price + tx.value
        spent = 0
        if nonce == acct.pending_end:
            spent = acct.spent
        elif nonce < acct.pending_end:
            spent = sum(acct.txs[n].cost for n in range(acct.nonce, nonce))
        if spent + cost > acct.balance:
            extra = f" plus {spent} for its executable transactions before it" if spent else ""
            raise self._reject(
                tx_hash,
                "insufficient-funds",
                f"balance {acct.balance} atto does not cover gas × price + "
                f"value = {cost} atto{extra}; fund the account or send less",
            )
        old = acct.txs.get(nonce)
        if old is not None:
            bump = cfg.price_bump_percent
            if tx.gas_price <= old.price or tx.gas_price * 100 < old.price * (100 + bump):
                need = -(-old.price * (100 + bump) // 100)
                need = max(need, old.price + 1)
                raise self._reject(
                    tx_hash,
                    "replacement-underpriced",
                    f"replacing nonce {nonce} needs a gas price of at least "
                    f"{format_gwei(need)} ({bump}% over {format_gwei(old.price)})",
                )
            return old
        return None

    # ------------------------------------------------------------------ head changes

    def set_state(self, state: AccountReader, *, gas_limit: int | None = None) -> None:
        """Re-read every pooled account from the new head's ``state`` (and block ``gas_limit``, if given).

        Drops transactions whose nonce is now below the account nonce (mined or replaced), that the balance
        alone can no longer pay or that exceed the gas limit; recomputes every executable run (promoting and
        demoting); evicts expired queued transactions; then enforces the global limits.
        """
        self._state = state
        if gas_limit is not None:
            self.gas_limit = gas_limit
        for address in list(self._accounts):
            acct = self._accounts[address]
            for entry in acct.txs.values():
                if entry.pending:
                    entry.pending = False
                    self._n_pending -= 1
                    self._n_queued += 1
            acct.nonce = state.nonce(address)
            acct.balance = state.balance(address)
            acct.pending_end = acct.nonce
            for nonce in sorted(acct.txs):
                entry = acct.txs[nonce]
                if nonce < acct.nonce:
                    self._unlink(acct, entry)
                elif entry.cost > acct.balance:
                    msg = "dropped: the balance no longer covers it"
                    self._drop(acct, entry, "insufficient-funds", msg, rerun=False)
                elif entry.tx.gas > self.gas_limit:
                    self._drop(
                        acct, entry, "gas-limit", "dropped: above the new block gas limit", rerun=False
                    )
            self._update_run(acct, push=False)
            if not acct.txs:
                del self._accounts[address]
        self.evict_expired()
        self._rebuild_heaps()
        self._enforce_limits()

    def evict_expired(self) -> int:
        """Drop queued transactions older than ``lifetime_s``; returns how many."""
        deadline = self._clock() - self.config.lifetime_s
        expired = [
            (acct, entry)
            for acct in self._accounts.values()
            for entry in acct.txs.values()
            if not entry.pending and entry.time_added < deadline
        ]
        for acct, entry in expired:
            if entry.alive:
                self._drop(acct, entry, "expired", "dropped: queued longer than the pool lifetime")
                self._forget_if_empty(entry.sender, acct)
        return len(expired)

    # ------------------------------------------------------------------ internals

    def _reject(self, tx_hash: bytes, reason: str, message: str) -> TxPoolError:
        self._errors.append(TxPoolRejection(tx_hash, reason, message, self._clock()))
        return TxPoolError(reason, message, tx_hash)

    def _lookup(self, tx_hash: bytes) -> _Entry | None:
        """The entry with this Harmony or Ethereum hash; Ethereum hashes of Harmony-signed transactions are
        computed on the first lookup that misses (most are never asked for), once per entry."""
        entry = self._by_hash.get(tx_hash)
        if entry is None and self._eth_unindexed:
            for pending in self._eth_unindexed:
                if pending.alive:
                    eth_hash = pending.tx.eth_hash()
                    pending.hashes = (*pending.hashes, eth_hash)
                    self._by_hash.setdefault(eth_hash, pending)
            self._eth_unindexed.clear()
            entry = self._by_hash.get(tx_hash)
        return entry

    def _push_queued(self, acct: _Account, entry: _Entry) -> None:
        heapq.heappush(self._farthest, (acct.nonce - entry.tx.nonce, -entry.seq, entry))

    def _update_run(self, acct: _Account, *, push: bool = True, extend: bool = False) -> None:
        """Recompute ``[nonce, pending_end)`` after a change; flip flags and counters of what moved.

        ``extend``: nothing before ``pending_end`` changed, so only look for nonces that now continue the run.
        """
        slots = self.config.account_slots
        if extend:
            end, spent = acct.pending_end, acct.spent
        else:
            end, spent = acct.nonce, 0
        txs = acct.txs
        while end - acct.nonce < slots:
            entry = txs.get(end)
            if entry is None or spent + entry.cost > acct.balance:
                break
            spent += entry.cost
            if not entry.pending:
                entry.pending = True
                self._n_pending += 1
                self._n_queued -= 1
                heapq.heappush(self._cheapest, (entry.price, -entry.seq, entry))
            end += 1
        for nonce in range(end, acct.pending_end):
            entry = txs.get(nonce)
            if entry is not None and entry.pending:
                entry.pending = False
                self._n_pending -= 1
                self._n_queued += 1
                if push:
                    self._push_queued(acct, entry)
        acct.pending_end = end
        acct.spent = spent

    def _unlink(self, acct: _Account, entry: _Entry) -> None:
        """Remove ``entry`` from every index; the caller recomputes the account's run."""
        entry.alive = False
        del acct.txs[entry.tx.nonce]
        for h in entry.hashes:
            if self._by_hash.get(h) is entry:
                del self._by_hash[h]
        if entry.pending:
            self._n_pending -= 1
            entry.pending = False
        else:
            self._n_queued -= 1

    def _drop(self, acct: _Account, entry: _Entry, reason: str, message: str, *, rerun: bool = True) -> None:
        """Evict ``entry``, record why, and (``rerun``) demote the account's nonces after it."""
        self._unlink(acct, entry)
        if rerun:
            self._update_run(acct)
        self._errors.append(TxPoolRejection(entry.hash, reason, message, self._clock()))

    def _enforce_limits(self, new: _Entry | None = None) -> None:
        """Global limits: drop the cheapest executable, then the farthest-future queued, while over.

        ``new`` (the transaction being added) is removed without an eviction record: the caller refuses it.
        """
        cfg = self.config
        while self._n_pending > cfg.global_slots:
            _, _, entry = heapq.heappop(self._cheapest)
            if entry.alive and entry.pending:
                acct = self._accounts[entry.sender]
                if entry is new:
                    self._unlink(acct, entry)
                    self._update_run(acct)
                else:
                    self._drop(acct, entry, "pool-full", "evicted: the lowest-priced executable transaction")
                self._forget_if_empty(entry.sender, acct)
        while self._n_queued > cfg.global_queue:
            _, _, entry = heapq.heappop(self._farthest)
            if entry.alive and not entry.pending:
                acct = self._accounts[entry.sender]
                if entry is new:
                    self._unlink(acct, entry)
                else:
                    self._drop(acct, entry, "pool-full", "evicted: the farthest-future queued transaction")
                self._forget_if_empty(entry.sender, acct)
        if len(self._cheapest) > 2 * self._n_pending + 64 or len(self._farthest) > 2 * self._n_queued + 64:
            self._rebuild_heaps()

    def _enforce_account_queue(self, acct: _Account, new: _Entry) -> None:
        """At most ``account_queue`` queued per account: drop the farthest, or refuse ``new`` if it is it."""
        limit = self.config.account_queue
        while len(acct.txs) - (acct.pending_end - acct.nonce) > limit:
            farthest = acct.txs[max(acct.txs)]
            if farthest is new:
                self._unlink(acct, new)
                self._forget_if_empty(new.sender, acct)
                raise self._reject(
                    new.hash,
                    "account-full",
                    f"the account already has {limit} queued transactions beyond "
                    f"its executable ones (next executable nonce {acct.pending_end}); fill the gap or wait "
                    "for some to be mined",
                )
            self._drop(acct, farthest, "account-full", "evicted for a nearer nonce of the same account")

    def _forget_if_empty(self, address: bytes, acct: _Account) -> None:
        if not acct.txs and self._accounts.get(address) is acct:
            del self._accounts[address]

    def _rebuild_heaps(self) -> None:
        cheapest: list[_HeapItem] = []
        farthest: list[tuple[int, int, _Entry]] = []
        for entry, acct in self._entries():
            if entry.pending:
                cheapest.append((entry.price, -entry.seq, entry))
            else:
                farthest.append((acct.nonce - entry.tx.nonce, -entry.seq, entry))
        heapq.heapify(cheapest)
        heapq.heapify(farthest)
        self._cheapest = cheapest
        self._farthest = farthest

    def _entries(self) -> Iterator[tuple[_Entry, _Account]]:
        for acct in self._accounts.values():
            for entry in acct.txs.values():
                yield entry, acct


__all__ = [
    "ERROR_SINK_SIZE",
    "REASONS",
    "AccountReader",
    "TxPool",
    "TxPoolConfig",
    "TxPoolError",
    "TxPoolRejection",
    "WorldStateReader",
    "format_gwei",
]
