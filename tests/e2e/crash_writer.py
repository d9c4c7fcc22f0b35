"""Block importer for the SIGKILL crash test: ``python tests/e2e/crash_writer.py <datadir> [max_blocks]``.

Opens an LMDB chain database in ``datadir``, resumes from its head (writing genesis into an empty one) and
imports blocks until killed (or until ``max_blocks`` more are written). Each block applies a batch of
balance updates, fixed by the block number alone, to a :class:`~harmony.state.statedb.StateDB`, commits
it, and writes the block (whose header root is that state root) with the new trie nodes in one
``ChainDB.write_block``. After the write returns, the block number is printed and flushed: a printed
number is durable.

The checker (``test_crash_kill9.py``) recomputes the balances any head must show from
:func:`expected_balances`. :func:`produce_block` is the only part that makes blocks, so the real state
transition can replace it.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

from harmony.abc import KVReader
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.state.statedb import StateDB
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.block import Block, make_block
from harmony.types.chain_ids import LOCALNET
from harmony.types.cx import CXReceipt
from harmony.types.header import Header
from harmony.types.receipt import Receipt
from harmony.types.transaction import Transaction

ACCOUNTS = 400
"""Accounts the updates draw from."""
UPDATES_PER_BLOCK = 30
TXS_PER_BLOCK = 3
MAP_SIZE = 256 * 1024
"""A small initial map, so the store grows its map while it is being killed."""

SENDER = PrivateKey(b"\x05" * 32)
CHAIN_ID = LOCALNET.chain_id
RECIPIENT = b"\x42" * 20


def account(index: int) -> bytes:
    """The address of account ``index``."""
    return keccak256(b"crash-account" + index.to_bytes(4, "big"))[:20]


def updates(number: int) -> list[tuple[bytes, int]]:
    """The (address, new balance) pairs block ``number`` writes; a pure function of the number."""
    rng = random.Random(number)
    picked = rng.sample(range(ACCOUNTS), UPDATES_PER_BLOCK)
    return [(account(i), number * 10**18 + rng.randrange(10**18)) for i in picked]


def expected_balances(head: int) -> dict[bytes, int]:
    """Every account's balance after blocks ``0..head`` (absent accounts: 0)."""
    balances = {account(i): 0 for i in range(ACCOUNTS)}
    for number in range(head + 1):
        balances.update(updates(number))
    return balances


def commit_sig(number: int) -> tuple[bytes, bytes]:
    """The commit signature stored with block ``number``."""
    return keccak256(b"sig%d" % number) * 3, b"\x01"


@dataclass(frozen=True)
class Produced:
    """A block and what is written with it."""

    block: Block
    receipts: list[Receipt]
    nodes: dict[bytes, bytes]
    cx_receipts: list[CXReceipt]


def produce_block(state: StateDB, parent: Header | None) -> Produced:
    """Apply block ``parent.number + 1``'s updates (genesis when ``parent`` is None) and seal the block."""
    number = 0 if parent is None else parent.number + 1
    for address, balance in updates(number):
        state.set_balance(address, balance)
    root, nodes = state.commit()
    if parent is None:
        return Produced(make_block(Header.genesis(shard_id=0, root=root)), [], nodes, [])
    txs = [
        Transaction(number * TXS_PER_BLOCK + i, 10**9, 21000, 0, 1 if i == 0 else 0, RECIPIENT, 1 + i).sign(
            SENDER, CHAIN_ID
        )
        for i in range(TXS_PER_BLOCK)
    ]
    receipts = [Receipt.make(success=True, cumulative_gas_used=21000 * (i + 1)) for i in range(TXS_PER_BLOCK)]
    cx = [CXReceipt(txs[0].hash(), SENDER.address, RECIPIENT, 0, 1, 1)]
    header = Header(
        parent_hash=parent.hash(),
        number=number,
        root=root,
        gas_limit=80_000_000,
        gas_used=21000 * TXS_PER_BLOCK,
        time=parent.time + 2,
    )
    block = make_block(header, transactions=txs, receipts=receipts, outgoing_receipts=cx)
    return Produced(block, receipts, nodes, cx)


def run(datadir: Path, max_blocks: int | None) -> None:
    """Import blocks into ``datadir`` from its head on, printing each durable block number."""
    store = LMDBStore(datadir, map_size=MAP_SIZE)
    chain = ChainDB(store)
    nodes: KVReader = chain.state_nodes()
    parent = chain.head_header()
    state = StateDB(nodes) if parent is None else StateDB(nodes, parent.root)
    written = 0
    while max_blocks is None or written < max_blocks:
        made = produce_block(state, parent)
        number = made.block.header.number
        chain.write_block(
            made.block,
            made.receipts,
            made.nodes,
            cx_receipts=made.cx_receipts,
            commit_sig=commit_sig(number),
        )
        state.mark_persisted()
        print(number, flush=True)
        parent = made.block.header
        written += 1
    store.close()


if __name__ == "__main__":
    run(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
