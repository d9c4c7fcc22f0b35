"""The world state: accounts and their storage over persistent Merkle Patricia tries (YP §4.1, EIP-161).

:class:`StateDB` implements :class:`harmony.chain.state_api.WorldState` and what the EVM needs besides.

* **Layout** (YP §4.1): the account trie is a secure trie ``keccak(address) -> rlp(account)``
  (:mod:`harmony.state.account`); each account's storage is a secure trie
  ``keccak(slot as 32 bytes) -> rlp(value as a minimal big-endian integer)``; code is stored under its
  Keccak-256 in the same node store.
* **Caching**: accounts, slots and code read once are kept in dicts; changes only touch the dicts and mark
  entries dirty. :meth:`state_root` pushes the dirty entries through one batch trie update per storage
  trie and one for the account trie (:func:`harmony.state.trie.trie_update`).
* **Journal**: every change appends its undo record; :meth:`snapshot` is a journal position and
  :meth:`revert` undoes back to it, so nested snapshots cost nothing until used. The journal lives for one
  transaction: :meth:`finalize_transaction` (and :meth:`state_root`) end it.
* **Per transaction** (EIP-2200, EIP-161): the value of each written slot at the start of the
  transaction (:meth:`get_original_storage`) and the set of touched accounts, of which the empty ones are
  deleted by :meth:`finalize_transaction`.
* **Commit**: :meth:`commit` returns the root and every node and code blob created since the last commit,
  keyed by hash, for the chain database to write in the block's single write transaction; the StateDB
  keeps reading them from memory until :meth:`mark_persisted` says the store has them.
"""

from __future__ import annotations

from collections.abc import Mapping

from harmony.abc import KVReader
from harmony.crypto.keccak import keccak256
from harmony.encoding.rlp import decode_uint
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.state.account import EMPTY_ACCOUNT, EMPTY_CODE_HASH, Account
from harmony.state.trie import MissingTrieNode, Node, TrieError, trie_get, trie_update

__all__ = ["StateDB"]

_J_ACCOUNT = 0
_J_SLOT = 1
_J_WIPE = 2
_J_TOUCH = 3

MAX_CACHED_ACCOUNTS = 500_000
"""Above this many cached accounts a commit drops the (clean) caches, bounding memory."""
MAX_CACHED_NODES = 1_000_000
"""Above this many decoded trie nodes a commit drops the node cache."""


def slot_key(slot: int) -> bytes:
    """Storage trie key of a slot: keccak256 of the slot as 32 big-endian bytes (YP §4.1, secure trie)."""
    return keccak256(slot.to_bytes(32, "big"))


def _encode_slot_value(value: int) -> bytes:
    """Storage trie value: RLP of the value's minimal big-endian bytes (empty = delete)."""
    if value == 0:
        return b""
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    if len(data) == 1 and data[0] < 0x80:
        return data
    return bytes((0x80 + len(data),)) + data


def decode_slot_value(raw: bytes) -> int:
    """Inverse of :func:`_encode_slot_value` (the RLP string of a canonical integer)."""
    if not raw:
        return 0
    b = raw[0]
    if b < 0x80:
        data = raw
    elif b <= 0xA0 and len(raw) == 1 + b - 0x80:
        data = raw[1:]
    else:
        raise TrieError("storage value: not the RLP of an integer of at most 32 bytes")
    return decode_uint(data, field="storage value")


class _View:
    """Node reads: nodes not yet committed, then committed but not yet persisted, then the store."""

    __slots__ = ("committed", "pending", "store")

    def __init__(self, store: KVReader) -> None:
        self.store = store
        self.pending: dict[bytes, bytes] = {}
        self.committed: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        value = self.pending.get(key)
        if value is None:
            value = self.committed.get(key)
            if value is None:
                value = self.store.get(key)
        return value


class StateDB:
    """Accounts (nonce, balance, code, storage) over a node store, with a journal (YP §4.1).

    ``nodes`` holds trie nodes and code by hash; ``root`` is the state to start from. Addresses are
    20 bytes, slots and values unsigned 256-bit integers, balances atto; callers check their inputs.
    """

    def __init__(
        self, nodes: KVReader, root: bytes = EMPTY_TRIE_ROOT, *, node_cache: dict[bytes, Node] | None = None
    ) -> None:
        self._view = _View(nodes)
        self._root = root
        self._node_cache: dict[bytes, Node] = {} if node_cache is None else node_cache
        """Decoded trie nodes by hash; content-addressed, so states of one chain may share one."""
        self._accounts: dict[bytes, Account | None] = {}
        """The accounts this state read or wrote (``None``: absent)."""
        self._warm: Mapping[bytes, Account | None] = {}
        """Accounts known at :attr:`_root` before any read (:meth:`prime_accounts`); never changed here."""
        self._dirty: set[bytes] = set()
        self._storage: dict[bytes, dict[int, int]] = {}
        self._dirty_storage: dict[bytes, set[int]] = {}
        self._code: dict[bytes, bytes] = {}
        self._new_code: dict[bytes, bytes] = {}
        self._journal: list[tuple[int, bytes, object, object]] = []
        self._journal_base = 0
        self._touched: set[bytes] = set()
        self._original: dict[bytes, dict[int, int]] = {}

    # -- accounts --------------------------------------------------------------------------------------

    def get_account(self, address: bytes) -> Account | None:
        """The account at ``address``, or ``None`` if it does not exist."""
        try:
            return self._accounts[address]
        except KeyError:
            pass
        warm = self._warm
        if address in warm:
            account = warm[address]
        else:
            raw = trie_get(self._view, self._root, keccak256(address), cache=self._node_cache)
            account = Account.decode(raw) if raw else None
        self._accounts[address] = account
        return account

    def cached_accounts(self) -> dict[bytes, Account | None]:
        """A copy of the accounts this state has read or written, as they stand now (``None``: absent).

        Right after :meth:`commit` they are exactly those accounts at :attr:`root`, which is what
        :meth:`prime_accounts` of another state over that root takes. Primed accounts this state never
        read are not among them, so a chain of states primed one from the other carries the accounts its
        last block used, not every account any block used (a copy per block stays small).
        """
        return dict(self._accounts)

    def prime_accounts(self, accounts: Mapping[bytes, Account | None]) -> None:
        """Start with ``accounts``, which must be the accounts at this state's root (a state root fixes
        every account, so they are what reading the trie would give). The mapping is kept, not copied:
        the caller must not change it afterwards."""
        if self._dirty or self._journal or self._accounts:
            raise ValueError("prime_accounts: only a fresh state can be primed")
        self._warm = accounts

    def primed_accounts(self) -> Mapping[bytes, Account | None]:
        """The accounts :meth:`prime_accounts` gave (read without a trie walk)."""
        return self._warm

    def _put(self, address: bytes, account: Account | None) -> None:
        """Replace the account (journaled) and mark it dirty and touched."""
        old = self.get_account(address)
        self._journal.append((_J_ACCOUNT, address, old, None))
        self._accounts[address] = account
        self._dirty.add(address)
        if address not in self._touched:
            self._touched.add(address)
            self._journal.append((_J_TOUCH, address, None, None))

    def get_nonce(self, address: bytes) -> int:
        """The account's nonce (0 if absent)."""
        account = self.get_account(address)
        return 0 if account is None else account.nonce

    def set_nonce(self, address: bytes, nonce: int) -> None:
        """Set the nonce, creating the account if absent."""
        account = self.get_account(address) or EMPTY_ACCOUNT
        self._put(address, Account(nonce, account.balance, account.storage_root, account.code_hash))

    def increment_nonce(self, address: bytes) -> None:
        """Add one to the nonce (YP §6.2: the sender's nonce is incremented before execution)."""
        account = self.get_account(address) or EMPTY_ACCOUNT
        self._put(
            address, Account(account.nonce + 1, account.balance, account.storage_root, account.code_hash)
        )

    def get_balance(self, address: bytes) -> int:
        """The balance in atto (0 if absent)."""
        account = self.get_account(address)
        return 0 if account is None else account.balance

    def set_balance(self, address: bytes, balance: int) -> None:
        """Set the balance (>= 0), creating the account if absent."""
        if balance < 0:
            raise ValueError(f"balance must be non-negative, got {balance}")
        account = self.get_account(address) or EMPTY_ACCOUNT
        self._put(address, Account(account.nonce, balance, account.storage_root, account.code_hash))

    def add_balance(self, address: bytes, amount: int) -> None:
        """Credit ``amount`` (>= 0); touches the account even for 0 (EIP-161)."""
        if amount < 0:
            raise ValueError(f"amount must be non-negative, got {amount}")
        account = self.get_account(address) or EMPTY_ACCOUNT
        self._put(
            address, Account(account.nonce, account.balance + amount, account.storage_root, account.code_hash)
        )

    def sub_balance(self, address: bytes, amount: int) -> None:
        """Debit ``amount`` (>= 0); raises ``ValueError`` if the balance does not cover it."""
        account = self.get_account(address) or EMPTY_ACCOUNT
        if amount < 0 or account.balance < amount:
            raise ValueError(f"cannot debit {amount} from a balance of {account.balance}")
        self._put(
            address, Account(account.nonce, account.balance - amount, account.storage_root, account.code_hash)
        )

    def get_code_hash(self, address: bytes) -> bytes:
        """Keccak-256 of the account's code; keccak256(b"") when it has none or does not exist."""
        account = self.get_account(address)
        return EMPTY_CODE_HASH if account is None else account.code_hash

    def get_code(self, address: bytes) -> bytes:
        """The account's code (empty if none)."""
        account = self.get_account(address)
        if account is None or account.code_hash == EMPTY_CODE_HASH:
            return b""
        code_hash = account.code_hash
        code = self._code.get(code_hash)
        if code is None:
            code = self._view.get(code_hash)
            if code is None:
                raise MissingTrieNode(f"code {code_hash.hex()} is not in the store")
            self._code[code_hash] = code
        return code

    def set_code(self, address: bytes, code: bytes) -> None:
        """Set the account's code (stored under its hash at commit)."""
        code_hash = keccak256(code)
        if code:
            self._code[code_hash] = code
            self._new_code[code_hash] = code
        account = self.get_account(address) or EMPTY_ACCOUNT
        self._put(address, Account(account.nonce, account.balance, account.storage_root, code_hash))

    def account_exists(self, address: bytes) -> bool:
        """Whether the account is in the state (EIP-161 tells absent from empty)."""
        return self.get_account(address) is not None

    def is_empty(self, address: bytes) -> bool:
        """EIP-161 emptiness: no code, nonce 0, balance 0 (an absent account is empty)."""
        account = self.get_account(address)
        return account is None or account.is_empty

    def account_has_code_or_nonce(self, address: bytes) -> bool:
        """Whether creating a contract here collides (EIP-684)."""
        account = self.get_account(address)
        return account is not None and account.has_code_or_nonce

    def has_storage(self, address: bytes) -> bool:
        """Whether any storage slot of the account is non-zero (EIP-7610 counts it as a collision)."""
        account = self.get_account(address)
        if account is None:
            return False
        slots = self._storage.get(address, {})
        if any(slots.values()):
            return True
        if account.storage_root == EMPTY_TRIE_ROOT:
            return False
        dirty = self._dirty_storage.get(address)
        if not dirty:
            return True
        changes = {slot_key(s): _encode_slot_value(slots[s]) for s in dirty}
        root, _ = trie_update(self._view, account.storage_root, changes, cache=self._node_cache)
        return root != EMPTY_TRIE_ROOT

    def touch(self, address: bytes) -> None:
        """Mark the account touched, creating it empty if absent (EIP-161: deleted at the end if empty)."""
        account = self.get_account(address)
        if account is None:
            self._put(address, EMPTY_ACCOUNT)
        elif address not in self._touched:
            self._touched.add(address)
            self._journal.append((_J_TOUCH, address, None, None))

    def delete_account(self, address: bytes) -> None:
        """Remove the account, its code and its storage (SELFDESTRUCT, EIP-161 clearing)."""
        self._wipe_storage(address)
        self._put(address, None)

    # -- storage ---------------------------------------------------------------------------------------

    def _slots(self, address: bytes) -> dict[int, int]:
        slots = self._storage.get(address)
        if slots is None:
            slots = self._storage[address] = {}
        return slots

    def get_storage(self, address: bytes, slot: int) -> int:
        """The current value of a storage slot (0 if unset)."""
        slots = self._slots(address)
        try:
            return slots[slot]
        except KeyError:
            pass
        account = self.get_account(address)
        if account is None or account.storage_root == EMPTY_TRIE_ROOT:
            value = 0
        else:
            raw = trie_get(self._view, account.storage_root, slot_key(slot), cache=self._node_cache)
            value = decode_slot_value(raw)
        slots[slot] = value
        return value

    def get_original_storage(self, address: bytes, slot: int) -> int:
        """The slot's value at the start of the current transaction (EIP-2200 net gas metering)."""
        original = self._original.get(address)
        if original is not None and slot in original:
            return original[slot]
        return self.get_storage(address, slot)

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        """Set a storage slot; 0 deletes it. The account must exist or is created."""
        old = self.get_storage(address, slot)
        original = self._original.get(address)
        if original is None:
            original = self._original[address] = {}
        if slot not in original:
            original[slot] = old
        self._journal.append((_J_SLOT, address, slot, old))
        self._storage[address][slot] = value
        dirty = self._dirty_storage.get(address)
        if dirty is None:
            dirty = self._dirty_storage[address] = set()
        dirty.add(slot)
        if self.get_account(address) is None:
            self._put(address, EMPTY_ACCOUNT)
        elif address not in self._touched:
            self._touched.add(address)
            self._journal.append((_J_TOUCH, address, None, None))

    def _wipe_storage(self, address: bytes) -> None:
        """Forget every slot of the account (journaled); its next incarnation starts with empty storage."""
        self._journal.append((_J_WIPE, address, self._storage.get(address), self._dirty_storage.get(address)))
        self._storage[address] = {}
        self._dirty_storage[address] = set()
        self._original.pop(address, None)

    def delete_storage(self, address: bytes) -> None:
        """Clear the account's storage and reset its storage root (a CREATE over a storage-only address)."""
        self._wipe_storage(address)
        account = self.get_account(address)
        if account is not None:
            self._put(address, Account(account.nonce, account.balance, EMPTY_TRIE_ROOT, account.code_hash))

    # -- journal ---------------------------------------------------------------------------------------

    def snapshot(self) -> int:
        """Mark the current state; :meth:`revert` with the id undoes every later change."""
        return self._journal_base + len(self._journal)

    def revert(self, snapshot_id: int) -> None:
        """Undo every change since the snapshot; later snapshots become invalid.

        Raises ``ValueError`` for a snapshot taken before the journal was last ended (by
        :meth:`finalize_transaction`, :meth:`state_root` or :meth:`commit`) or not yet taken.
        """
        keep = snapshot_id - self._journal_base
        journal = self._journal
        if not 0 <= keep <= len(journal):
            raise ValueError(f"snapshot {snapshot_id} is no longer (or not yet) valid")
        accounts, storage, dirty = self._accounts, self._storage, self._dirty
        while len(journal) > keep:
            kind, address, a, b = journal.pop()
            if kind == _J_ACCOUNT:
                accounts[address] = a  # type: ignore[assignment]
                dirty.add(address)
            elif kind == _J_SLOT:
                storage[address][a] = b  # type: ignore[index,assignment]
                self._dirty_storage[address].add(a)  # type: ignore[arg-type]
            elif kind == _J_TOUCH:
                self._touched.discard(address)
            else:
                if a is None:
                    storage.pop(address, None)
                else:
                    storage[address] = a  # type: ignore[assignment]
                if b is None:
                    self._dirty_storage.pop(address, None)
                else:
                    self._dirty_storage[address] = b  # type: ignore[assignment]
                dirty.add(address)

    def commit_snapshot(self, snapshot_id: int) -> None:
        """Keep the changes since the snapshot (nothing to do: an outer snapshot can still undo them)."""

    def _end_journal(self) -> None:
        self._journal_base += len(self._journal)
        self._journal.clear()

    @property
    def touched(self) -> frozenset[bytes]:
        """Accounts touched (changed or explicitly touched) in the current transaction."""
        return frozenset(self._touched)

    def finalize_transaction(self) -> None:
        """End a transaction: delete touched empty accounts (EIP-161), reset per-transaction data.

        Snapshots taken during the transaction can no longer be reverted.
        """
        for address in self._touched:
            account = self._accounts.get(address)
            if account is not None and account.is_empty:
                self._wipe_storage(address)
                self._accounts[address] = None
                self._dirty.add(address)
        self._touched.clear()
        self._original.clear()
        self._end_journal()

    # -- roots and commit ------------------------------------------------------------------------------

    def _flush(self) -> None:
        """Push dirty slots and accounts through the tries; new nodes go to the pending layer."""
        pending = self._view.pending
        accounts = self._accounts
        for address, slots in self._dirty_storage.items():
            if not slots:
                continue
            account = accounts.get(address)
            if account is None:
                continue
            values = self._storage[address]
            changes = {slot_key(s): _encode_slot_value(values[s]) for s in slots}
            root, new = trie_update(self._view, account.storage_root, changes, cache=self._node_cache)
            pending.update(new)
            if root != account.storage_root:
                accounts[address] = Account(account.nonce, account.balance, root, account.code_hash)
                self._dirty.add(address)
        self._dirty_storage.clear()
        if self._dirty:
            changes = {}
            for address in self._dirty:
                account = accounts[address]
                changes[keccak256(address)] = b"" if account is None else account.encode()
            self._root, new = trie_update(self._view, self._root, changes, cache=self._node_cache)
            pending.update(new)
            self._dirty.clear()
        self._touched.clear()
        self._original.clear()
        self._end_journal()

    def state_root(self) -> bytes:
        """The state root with every pending change (YP §4.1), without handing out the new nodes.

        Ends the current transaction's journal, touched set and original slot values (snapshots taken
        before cannot be reverted) without deleting touched empty accounts: call
        :meth:`finalize_transaction` first for EIP-161 clearing.
        """
        self._flush()
        return self._root

    def commit(self) -> tuple[bytes, dict[bytes, bytes]]:
        """The state root and every trie node and code blob created since the last commit, by hash.

        The caller writes them in the block's write transaction; until it calls :meth:`mark_persisted`,
        this StateDB keeps reading them from memory.
        """
        self._flush()
        view = self._view
        out = view.pending
        for code_hash, code in self._new_code.items():
            out[code_hash] = code
        self._new_code = {}
        view.committed.update(out)
        view.pending = {}
        if len(self._accounts) > MAX_CACHED_ACCOUNTS:
            self._accounts.clear()
            self._warm = {}  # it holds the accounts at the first root, some of them changed since
            self._storage.clear()
        if len(self._node_cache) > MAX_CACHED_NODES:
            self._node_cache.clear()
        return self._root, out

    def mark_persisted(self) -> None:
        """The store now holds every committed node: drop the in-memory copies."""
        self._view.committed.clear()

    @property
    def root(self) -> bytes:
        """The root as of the last :meth:`state_root` or :meth:`commit` (pending changes excluded)."""
        return self._root
