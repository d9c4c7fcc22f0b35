"""The staking transaction pool of a beacon node (reference §2.4, §2.5, §10.1).

Staking transactions are few (a validator's life cycle, a delegator's moves), so this pool is small and
simple next to :mod:`harmony.node.txpool`: per sender a run of nonces, a global cap, and a typed reason for
every rejection, kept in an error sink for ``hmyv2_getCurrentStakingErrorSink``. Pure data structure: no IO;
the clock and the account reader are injected.

**Admission** (:meth:`StakingPool.add_raw`), cheapest checks first, each failure a
:class:`~harmony.node.txpool.TxPoolError` with a ``reason``:

1. the node is on the beacon chain (``wrong-shard``: staking runs on shard 0 only, reference §6.2);
2. size at most :data:`~harmony.types.staking.MAX_STAKING_TX_SIZE` before decoding (``oversized``), then a
   strict decode (``malformed``); an already pooled hash (``known``);
3. gas: at least the intrinsic gas (``intrinsic-gas``; 5.3 M for CreateValidator), at most the block gas
   limit (``gas-limit``), a price at least the pool minimum (``underpriced``);
4. the signature for this network's chain ID (``wrong-chain-id``, ``invalid-signature``), and the signer is
   the account the message acts for (``invalid-signature``);
5. nonce not below the account's (``nonce-too-low``) nor more than :data:`MAX_NONCE_GAP` above it
   (``nonce-gap-too-large``); the balance covers the gas (``insufficient-funds``);
6. the staking rules themselves, through an injected ``check`` over the head state (the chain's typed
   staking errors become ``staking-rule`` with the rule's message), so a transaction that would be refused in
   a block is refused here with the same reason;
7. a replacement at the same sender and nonce must pay :data:`PRICE_BUMP_PERCENT` more
   (``replacement-underpriced``); at most :data:`MAX_POOLED` transactions (``pool-full``).

:meth:`StakingPool.executable` gives each sender's run of consecutive nonces from its account nonce, senders
by descending price; :meth:`StakingPool.set_state` drops what the new head made stale.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harmony.chain.params import NetworkParams
from harmony.errors import DecodeError, HarmonyError, SignatureError
from harmony.node.txpool import AccountReader, TxPoolError, TxPoolRejection
from harmony.types.staking import MAX_STAKING_TX_SIZE, StakingTransaction, check_signer
from harmony.types.tx_common import InvalidChainId

MAX_POOLED = 1024
"""Most staking transactions pooled at once."""
MAX_NONCE_GAP = 16
"""Furthest a pooled nonce may be above the account nonce."""
PRICE_BUMP_PERCENT = 10
"""A replacement pays at least this much more per gas (as the plain pool)."""
ERROR_SINK_SIZE = 1024
"""Rejections kept for ``getCurrentStakingErrorSink``."""

StakingCheck = Callable[[StakingTransaction, bytes], None]
"""Validates a transaction from ``sender`` against the head state; raises a typed staking error."""


@dataclass(frozen=True, slots=True)
class PooledStaking:
    """A pooled staking transaction with its recovered sender."""

    tx: StakingTransaction
    sender: bytes
    tx_hash: bytes


class StakingPool:
    """Pending staking transactions of the beacon chain."""

    def __init__(
        self,
        params: NetworkParams,
        shard_id: int,
        accounts: AccountReader,
        *,
        check: StakingCheck | None = None,
        gas_limit: int | None = None,
        min_gas_price: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.params = params
        self.shard_id = shard_id
        self._accounts = accounts
        self._check = check
        self._gas_limit = gas_limit if gas_limit is not None else params.gas_limit(0)
        self._min_price = min_gas_price if min_gas_price is not None else params.min_gas_price
        self._clock = clock
        self._by_hash: dict[bytes, PooledStaking] = {}
        self._by_sender: dict[bytes, dict[int, PooledStaking]] = {}
        self._errors: deque[TxPoolRejection] = deque(maxlen=ERROR_SINK_SIZE)

    def __len__(self) -> int:
        return len(self._by_hash)

    # -- admission ---------------------------------------------------------------------------------------

    def _reject(self, reason: str, message: str, tx_hash: bytes | None) -> TxPoolError:
        error = TxPoolError(reason, message, tx_hash)
        self._errors.append(TxPoolRejection(tx_hash or b"", reason, message, self._clock()))
        return error

    def add_raw(self, raw: bytes) -> bytes:
        """Decode and admit a signed staking transaction (module docstring); returns its hash."""
        if self.shard_id != 0:
            raise self._reject(
                "wrong-shard", "staking transactions are processed on the beacon chain: send to shard 0", None
            )
        if len(raw) > MAX_STAKING_TX_SIZE:
            raise self._reject(
                "oversized", f"staking transaction of {len(raw)} bytes; at most {MAX_STAKING_TX_SIZE}", None
            )
        try:
            tx = StakingTransaction.decode(raw)
        except DecodeError as exc:
            raise self._reject("malformed", f"not an RLP-encoded staking transaction: {exc}", None) from None
        return self.add(tx)

    def add(self, tx: StakingTransaction) -> bytes:
        """Admit a decoded staking transaction (module docstring, rules 3–7); returns its hash."""
        tx_hash = tx.hash()
        if tx_hash in self._by_hash:
            raise self._reject("known", "transaction already pooled", tx_hash)
        intrinsic = tx.intrinsic_gas()
        if tx.gas_limit < intrinsic:
            raise self._reject(
                "intrinsic-gas", f"gas {tx.gas_limit} below the intrinsic {intrinsic}", tx_hash
            )
        if tx.gas_limit > self._gas_limit:
            raise self._reject(
                "gas-limit", f"gas {tx.gas_limit} above the block limit {self._gas_limit}", tx_hash
            )
        if tx.gas_price < self._min_price:
            raise self._reject(
                "underpriced", f"gas price {tx.gas_price} below the pool minimum {self._min_price}", tx_hash
            )
        try:
            sender = check_signer(tx, self.params.chain_id)
        except InvalidChainId as exc:
            raise self._reject("wrong-chain-id", str(exc), tx_hash) from None
        except (SignatureError, HarmonyError) as exc:
            raise self._reject("invalid-signature", str(exc), tx_hash) from None
        nonce = self._accounts.nonce(sender)
        if tx.nonce < nonce:
            raise self._reject("nonce-too-low", f"nonce {tx.nonce} below the account nonce {nonce}", tx_hash)
        if tx.nonce > nonce + MAX_NONCE_GAP:
            raise self._reject(
                "nonce-gap-too-large", f"nonce {tx.nonce} is more than {MAX_NONCE_GAP} above {nonce}", tx_hash
            )
        if self._accounts.balance(sender) < tx.gas_limit * tx.gas_price:
            raise self._reject("insufficient-funds", "balance does not cover gas × gas price", tx_hash)
        if self._check is not None and tx.nonce == nonce:
            try:
                self._check(tx, sender)
            except HarmonyError as exc:
                raise self._reject("staking-rule", str(exc), tx_hash) from None
        runs = self._by_sender.setdefault(sender, {})
        old = runs.get(tx.nonce)
        if old is not None:
            if tx.gas_price * 100 < old.tx.gas_price * (100 + PRICE_BUMP_PERCENT):
                raise self._reject(
                    "replacement-underpriced",
                    f"a replacement must pay at least {PRICE_BUMP_PERCENT} % more per gas",
                    tx_hash,
                )
            del self._by_hash[old.tx_hash]
        elif len(self._by_hash) >= MAX_POOLED:
            if not runs:
                del self._by_sender[sender]
            raise self._reject("pool-full", f"the staking pool holds {MAX_POOLED} transactions", tx_hash)
        entry = PooledStaking(tx, sender, tx_hash)
        runs[tx.nonce] = entry
        self._by_hash[tx_hash] = entry
        return tx_hash

    # -- reading -----------------------------------------------------------------------------------------

    def get(self, tx_hash: bytes) -> StakingTransaction | None:
        """A pooled transaction by hash."""
        entry = self._by_hash.get(tx_hash)
        return entry.tx if entry is not None else None

    def pending(self) -> list[StakingTransaction]:
        """Every pooled transaction, by sender then nonce."""
        return [e.tx for runs in self._by_sender.values() for _, e in sorted(runs.items())]

    def errors(self) -> Sequence[TxPoolRejection]:
        """Recent rejections, oldest first."""
        return tuple(self._errors)

    def executable(self, limit: int | None = None) -> list[StakingTransaction]:
        """Each sender's consecutive nonces from its account nonce; senders by descending first price."""
        runs: list[list[PooledStaking]] = []
        for sender, by_nonce in self._by_sender.items():
            nonce = self._accounts.nonce(sender)
            run: list[PooledStaking] = []
            while nonce in by_nonce:
                run.append(by_nonce[nonce])
                nonce += 1
            if run:
                runs.append(run)
        runs.sort(key=lambda r: -r[0].tx.gas_price)
        out = [e.tx for run in runs for e in run]
        return out if limit is None else out[:limit]

    def set_state(self, accounts: AccountReader) -> None:
        """Read accounts from the new head; drop transactions whose nonce is now used."""
        self._accounts = accounts
        for sender in list(self._by_sender):
            nonce = accounts.nonce(sender)
            runs = self._by_sender[sender]
            for n in [n for n in runs if n < nonce]:
                del self._by_hash[runs.pop(n).tx_hash]
            if not runs:
                del self._by_sender[sender]

    def set_check(self, check: StakingCheck | None) -> None:
        """Replace the staking-rule check (the node binds it to each new head's state)."""
        self._check = check
