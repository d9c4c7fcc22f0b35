"""Pieces every transaction kind shares: EIP-155 ``v``, sender recovery, intrinsic gas, their errors.

Rules:

* **EIP-155 ``v``** (reference §2.2): a protected signature carries ``v = recid + 35 + 2·chainID``; an
  unprotected (Homestead) one carries ``v = recid + 27``, i.e. 27 or 28. The chain ID of any other ``v`` is
  ``(v − 35) // 2`` (Go ``deriveChainID``); a ``v`` below 35 other than 27/28 names no chain.
* **Sender recovery** (Go ``recoverPlain`` with ``homestead = true``): ``0 < r, s < n``, ``s ≤ n/2``
  (EIP-2), recovery id 0 or 1, and a public key must come out of ecrecover; anything else is a
  :class:`~harmony.errors.SignatureError`.
* **Intrinsic gas** (reference §2.4, ``core/state_transition.go`` ``IntrinsicGas``): 21,000 per transaction,
  53,000 for a contract creation, 5,300,000 for a CreateValidator staking transaction, plus 4 per zero data
  byte and 16 per non-zero byte from Istanbul (EIP-2028; 68 before).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Self

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey, Signature, recover_address
from harmony.errors import InvalidTransaction, SignatureError

TX_GAS = 21_000
"""Intrinsic gas of every transaction (``params.TxGas``)."""
TX_GAS_CONTRACT_CREATION = 53_000
"""Intrinsic gas of a contract creation since Homestead (``params.TxGasContractCreation``)."""
TX_GAS_VALIDATOR_CREATION = 5_300_000
"""Intrinsic gas of a CreateValidator staking transaction (``params.TxGasValidatorCreation``)."""
TX_DATA_ZERO_GAS = 4
"""Gas per zero byte of data."""
TX_DATA_NON_ZERO_GAS_FRONTIER = 68
"""Gas per non-zero byte of data before Istanbul."""
TX_DATA_NON_ZERO_GAS_EIP2028 = 16
"""Gas per non-zero byte of data from Istanbul on (EIP-2028)."""

UNPROTECTED_V = (27, 28)
"""The two ``v`` values of an unprotected (pre-EIP-155) signature."""

ChainIdSpec = int | Collection[int] | None
"""The chain IDs a caller accepts: one, several (e.g. Harmony's and the shard's Ethereum ID), or any."""


class InvalidChainId(InvalidTransaction):
    """The signature's ``v`` names no chain, or a chain other than the one(s) expected."""


class IntrinsicGasTooLow(InvalidTransaction):
    """The gas limit does not cover the transaction's intrinsic gas."""


class UnsupportedTransactionType(InvalidTransaction):
    """An EIP-2718 typed transaction envelope, which the Istanbul rules Harmony runs do not know."""


def intrinsic_gas(
    data: bytes, *, contract_creation: bool = False, validator_creation: bool = False, istanbul: bool = True
) -> int:
    """Gas charged before execution (reference §2.4): base cost plus the cost of each data byte."""
    if contract_creation:
        gas = TX_GAS_CONTRACT_CREATION
    elif validator_creation:
        gas = TX_GAS_VALIDATOR_CREATION
    else:
        gas = TX_GAS
    non_zero = len(data) - data.count(0)
    per_non_zero = TX_DATA_NON_ZERO_GAS_EIP2028 if istanbul else TX_DATA_NON_ZERO_GAS_FRONTIER
    return gas + non_zero * per_non_zero + (len(data) - non_zero) * TX_DATA_ZERO_GAS


def v_for(recid: int, chain_id: int | None) -> int:
    """The ``v`` for a recovery id: ``recid + 35 + 2·chainID``, or ``recid + 27`` without chain ID."""
    if recid not in (0, 1):
        raise SignatureError(f"recovery id must be 0 or 1, got {recid}")
    return recid + 27 if chain_id is None else recid + 35 + 2 * chain_id


def is_protected(v: int) -> bool:
    """Whether ``v`` is EIP-155 protected: anything but 27 and 28 (Go ``isProtectedV``)."""
    return v not in UNPROTECTED_V


def chain_id_from_v(v: int) -> int | None:
    """The chain ID a ``v`` carries: ``None`` for 27/28, ``(v − 35) // 2`` from 35 on.

    Raises :class:`InvalidChainId` for any other ``v`` (below 35), which names no chain.
    """
    if v in UNPROTECTED_V:
        return None
    if v < 35:
        raise InvalidChainId(f"signature v = {v} is neither 27/28 nor EIP-155 (>= 35)")
    return (v - 35) // 2


def recid_from_v(v: int) -> int:
    """The recovery id (0 or 1) encoded in a valid ``v``."""
    chain_id = chain_id_from_v(v)
    return v - 27 if chain_id is None else v - 35 - 2 * chain_id


def check_chain_id(v: int, accepted: ChainIdSpec) -> int | None:
    """The chain ID ``v`` carries, after checking it is one of ``accepted`` (unprotected ``v`` always passes).

    ``accepted`` is ``None`` (any chain), one chain ID, or a collection of them. Mirrors Go's
    ``EIP155Signer.Sender``: unprotected signatures fall back to the Homestead signer; a protected one must
    carry the signer's chain ID.
    """
    chain_id = chain_id_from_v(v)
    if chain_id is None or accepted is None:
        return chain_id
    ok = chain_id == accepted if isinstance(accepted, int) else chain_id in accepted
    if not ok:
        raise InvalidChainId(f"signed for chain ID {chain_id}, expected {accepted}")
    return chain_id


SENDER_CACHE_SIZE = 1 << 14
"""Recovered senders remembered per process: a node recovers a transaction's sender when its pool takes it
and again when the block carrying it is verified and executed; the second time is a cache hit. About 16 s of
transactions at 1,000 per second, several times what one waits between the pool and its block (a miss only
costs a recovery); an entry takes about 400 bytes. Senders recovered ahead elsewhere (fast sync's checking
processes) are added a block at a time just before it executes (:func:`remember_senders`), so a block's
1,000 fit with room to spare."""

KnownSender = tuple[bytes, int, int, int, bytes]
"""``(msg_hash, v, r, s, address)``: ``address`` is what :func:`sender_of` gives for the first four."""


def sender_of(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
    """The 20-byte address that signed ``msg_hash`` with ``(v, r, s)`` (Go ``recoverPlain``, homestead rules).

    Raises :class:`SignatureError` if r/s are out of range, s is high (EIP-2), or nothing recovers. A pure
    function of its arguments, not cached: :func:`recover_sender` is the cached one.
    """
    return recover_address(msg_hash, Signature(recid_from_v(v), r, s))


class _SenderCache:
    """The least recently used :data:`SENDER_CACHE_SIZE` results of :func:`sender_of`, keyed by its exact
    arguments (a lock keeps it whole across threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[bytes, int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, int, int, int]) -> bytes | None:
        """The address remembered for ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            address = self._entries.get(key)
            if address is not None:
                self._entries.move_to_end(key)
            return address

    def put(self, key: tuple[bytes, int, int, int], address: bytes) -> None:
        """Remember ``address`` for ``key``, forgetting the least recently used entry past the size."""
        with self._lock:
            self._entries[key] = address
            self._entries.move_to_end(key)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_senders = _SenderCache(SENDER_CACHE_SIZE)


def recover_sender(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
    """:func:`sender_of`, memoized (:data:`SENDER_CACHE_SIZE`): the address is a pure function of the
    arguments, so a remembered one is the same as a recovery. Failures are not cached: they raise
    :class:`SignatureError` here, every time."""
    key = (msg_hash, v, r, s)
    address = _senders.get(key)
    if address is None:
        address = sender_of(msg_hash, v, r, s)
        _senders.put(key, address)
    return address


def remember_senders(known: Iterable[KnownSender]) -> None:
    """Add senders recovered ahead (by :func:`sender_of`, in another process) to :func:`recover_sender`'s
    cache, each under the exact ``(msg_hash, v, r, s)`` it was recovered from: a transaction finds one only
    when the signing hash and signature it would recover from itself are those, so nothing it does not
    carry can stand for its sender. Entries that are not a 32-byte hash, integers and a 20-byte address
    are skipped."""
    for msg_hash, v, r, s, address in known:
        if (
            type(msg_hash) is bytes
            and len(msg_hash) == 32
            and type(address) is bytes
            and len(address) == 20
            and type(v) is int
            and type(r) is int
            and type(s) is int
        ):
            _senders.put((msg_hash, v, r, s), address)


def clear_sender_cache() -> None:
    """Forget every remembered sender (benchmarks time cold recoveries with it)."""
    _senders.clear()


def sign_hash(key: PrivateKey, msg_hash: bytes, chain_id: int | None) -> tuple[int, int, int]:
    """Sign ``msg_hash`` and return ``(v, r, s)`` with ``v`` for ``chain_id`` (EIP-155, or 27/28 for None)."""
    sig = key.sign_hash(msg_hash)
    return v_for(sig.recid, chain_id), sig.r, sig.s


class SignedTransactionMixin:
    """What every ECDSA-signed transaction shares: hash, signing with EIP-155 ``v``, sender recovery.

    A class using it is a frozen dataclass with ``v``, ``r``, ``s`` fields, an ``encode`` method and a
    ``signing_hash(chain_id)`` method; the mixin adds the rest once for Harmony and Ethereum transactions.
    """

    __slots__ = ()
    v: int
    r: int
    s: int

    if TYPE_CHECKING:

        def encode(self) -> bytes: ...  # provided by Serializable

        def signing_hash(self, chain_id: int | None) -> bytes: ...  # provided by the class

    def hash(self) -> bytes:
        """Transaction hash: Keccak-256 of the RLP encoding."""
        return keccak256(self.encode())

    def sign(self, key: PrivateKey, chain_id: int | None) -> Self:
        """This transaction signed by ``key`` for ``chain_id``: ``V = recid + 35 + 2·chainID``, or 27/28."""
        v, r, s = sign_hash(key, self.signing_hash(chain_id), chain_id)
        return replace(self, v=v, r=r, s=s)  # type: ignore[type-var]

    @property
    def is_protected(self) -> bool:
        """Whether the signature is EIP-155 protected (v not 27/28)."""
        return is_protected(self.v)

    @property
    def chain_id(self) -> int | None:
        """The chain ID ``v`` carries (``None`` when unprotected); :class:`InvalidChainId` for a bad ``v``."""
        return chain_id_from_v(self.v)

    def sender(self, chain_id: ChainIdSpec = None) -> bytes:
        """The signer's address; a protected signature must be for one of ``chain_id`` (``None``: any).

        A node passes its Harmony chain ID and its shard's Ethereum chain ID (Go ``EIP155Signer.Sender``
        accepts either). Unprotected (27/28) signatures recover over the Homestead hash. Raises
        :class:`InvalidChainId` or :class:`~harmony.errors.SignatureError` (bad r/s, high s, unrecoverable).
        """
        signed_for = check_chain_id(self.v, chain_id)
        return recover_sender(self.signing_hash(signed_for), self.v, self.r, self.s)
