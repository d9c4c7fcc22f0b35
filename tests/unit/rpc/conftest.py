"""A real shard-1 chain in LMDB for the RPC tests: transfers, a contract deployment and a call that logs.

Blocks (built with ``Blockchain.propose`` and imported):

1. two Harmony-format transfers (key 0 → key 1, key 1 → 0x09…09);
2. a contract creation by key 2 (:data:`RUNTIME`: empty calldata returns slot 0, 32 bytes store the word
   in slot 0 and emit ``LOG1(TOPIC, word)``, anything else reverts with ``Error("bad input")``);
3. an Ethereum-format (eth chain ID) call by key 3 storing 42, which logs.

The commit signature of the head is stored with the first two genesis keys' bits set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.crypto.bitmap import encode_bitmap
from harmony.crypto.keccak import keccak256
from harmony.node.blockchain import Blockchain
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.state.evm import contract_address
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.block import Block
from harmony.types.transaction import Transaction

SHARD = 1
GENESIS = make_localnet_genesis(accounts=6, timestamp=1_000)
KEYS = [dev_account_key(i) for i in range(6)]
GWEI = 10**9
LEADER = dev_bls_key(SHARD, 0)
SINK = b"\x09" * 20
TOPIC = keccak256(b"Stored(uint256)")
ETH_CHAIN_ID = LOCALNET.eth_chain_id(SHARD)


def assemble(ops: list[object]) -> bytes:
    """A tiny EVM assembler: bytes are emitted as they are, ``("label", n)`` marks a JUMPDEST-free
    position, ``("push", n)`` pushes that position as PUSH2."""
    positions: dict[str, int] = {}
    for final in (False, True):
        out = bytearray()
        for op in ops:
            if isinstance(op, bytes):
                out += op
            elif isinstance(op, tuple) and op[0] == "label":
                positions[op[1]] = len(out)
            elif isinstance(op, tuple) and op[0] == "push":
                out += b"\x61" + positions.get(op[1], 0).to_bytes(2, "big")
        if final:
            return bytes(out)
    raise AssertionError


def _revert_payload(reason: bytes) -> bytes:
    return (
        bytes.fromhex("08c379a0")
        + (32).to_bytes(32, "big")
        + len(reason).to_bytes(32, "big")
        + reason.ljust(32, b"\x00")
    )


REVERT_PAYLOAD = _revert_payload(b"bad input")
RUNTIME = assemble(
    [
        bytes.fromhex("3615"),  # CALLDATASIZE ISZERO
        ("push", "get"),
        bytes.fromhex("57"),  # JUMPI
        bytes.fromhex("36602014"),  # CALLDATASIZE PUSH1 32 EQ
        ("push", "set"),
        bytes.fromhex("57"),
        bytes([0x60, len(REVERT_PAYLOAD)]),
        ("push", "payload"),
        bytes.fromhex("600039"),  # PUSH1 0 CODECOPY
        bytes([0x60, len(REVERT_PAYLOAD)]) + bytes.fromhex("6000fd"),  # PUSH1 n PUSH1 0 REVERT
        ("label", "set"),
        bytes.fromhex("5b"),  # JUMPDEST
        bytes.fromhex("600035806000556000527f") + TOPIC + bytes.fromhex("60206000a100"),
        ("label", "get"),
        bytes.fromhex("5b6000546000526020" + "6000f3"),
        ("label", "payload"),
        REVERT_PAYLOAD,
    ]
)
INIT = (
    b"\x61"
    + len(RUNTIME).to_bytes(2, "big")
    + b"\x61"
    + (15).to_bytes(2, "big")
    + bytes.fromhex("600039")
    + b"\x61"
    + len(RUNTIME).to_bytes(2, "big")
    + bytes.fromhex("6000f3")
    + RUNTIME
)
CONTRACT = contract_address(KEYS[2].address, 0)


@dataclass
class ChainFixture:
    """The chain, its pool, backend and dispatcher, and the blocks built."""

    chain: Blockchain
    pool: TxPool
    backend: RPCBackend
    dispatcher: Dispatcher
    blocks: list[Block]


def harmony_tx(
    key_index: int, nonce: int, to: bytes | None, value: int, data: bytes = b"", gas: int = 21_000
) -> Transaction:
    return Transaction(nonce, GWEI, gas, SHARD, SHARD, to, value, data).sign(
        KEYS[key_index], LOCALNET.chain_id
    )


def eth_tx(
    key_index: int, nonce: int, to: bytes | None, value: int, data: bytes = b"", gas: int = 21_000
) -> Transaction:
    return Transaction(nonce, GWEI, gas, SHARD, SHARD, to, value, data).sign(KEYS[key_index], ETH_CHAIN_ID)


def _next(chain: Blockchain, txs: list[Transaction]) -> Block:
    built = chain.propose(txs, leader=LEADER, timestamp=chain.head.time + 2)
    assert not built.skipped, built.skipped
    chain.import_block(built.block)
    return built.block


def build_chain(path: Path) -> tuple[LMDBStore, Blockchain, list[Block]]:
    store = LMDBStore(path)
    chain = Blockchain.open(ChainDB(store), GENESIS, SHARD)
    blocks = [
        _next(chain, [harmony_tx(0, 0, KEYS[1].address, 5), harmony_tx(1, 0, SINK, 7)]),
        _next(chain, [harmony_tx(2, 0, None, 0, INIT, gas=400_000)]),
        _next(chain, [eth_tx(3, 0, CONTRACT, 0, (42).to_bytes(32, "big"), gas=100_000)]),
    ]
    committee = GENESIS.shard_state().committee(SHARD)
    chain.db.write_commit_sig(chain.head.number, bytes(96), encode_bitmap([0, 1], len(committee.slots)))
    return store, chain, blocks


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainFixture]:
    store, chain, blocks = build_chain(tmp_path_factory.mktemp("rpc") / "db")
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(chain.state()))
    backend = RPCBackend(chain, pool)
    yield ChainFixture(chain, pool, backend, Dispatcher(backend), blocks)
    store.close()
