"""Blocks for the chain database tests: a small chain whose blocks use every table."""

from __future__ import annotations

from dataclasses import dataclass, field

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.fixed import Dec
from harmony.types.block import Block, make_block
from harmony.types.chain_ids import LOCALNET
from harmony.types.crosslink import CrossLink, encode_crosslinks
from harmony.types.cx import CXReceipt, build_receipts_proof, outgoing_receipts_root
from harmony.types.header import Header
from harmony.types.receipt import Log, Receipt
from harmony.types.shard_state import Committee, ShardState, Slot
from harmony.types.staking import CollectRewards, StakingTransaction
from harmony.types.transaction import Transaction

KEY = PrivateKey(b"\x07" * 32)
CHAIN_ID = LOCALNET.chain_id
ETH_CHAIN_ID = LOCALNET.eth_chain_id(0)
TO = b"\x22" * 20
SIG = b"\x5a" * 96


@dataclass
class BlockData:
    """A block and what ``write_block`` stores with it."""

    block: Block
    receipts: list[Receipt]
    nodes: dict[bytes, bytes]
    cx: list[CXReceipt] = field(default_factory=list)
    commit_sig: tuple[bytes, bytes] | None = None
    snapshots: dict[tuple[int, bytes], bytes] = field(default_factory=dict)


def shard_state(epoch: int) -> ShardState:
    slot = Slot(b"\x01" * 20, bytes([epoch % 256]) * 48, Dec.from_int(1000 + epoch))
    return ShardState(epoch, (Committee(0, (slot,)), Committee(1, (slot,))))


def genesis() -> BlockData:
    header = Header.genesis(shard_id=0, shard_state=shard_state(0))
    nodes = {keccak256(b"genesis-node"): b"genesis-node"}
    return BlockData(make_block(header.replace(root=keccak256(b"genesis-node"))), [], nodes)


def child(parent: Block, *, txs: int = 2, staking: int = 1, seed: int = 0) -> BlockData:
    """A child of ``parent`` with ``txs`` transactions (one cross-shard, one signed for the eth chain ID)."""
    number = parent.header.number + 1
    base_nonce = number * 100 + seed * 10
    plain: list[Transaction] = []
    for i in range(txs):
        to_shard = 1 if i == 0 else 0
        tx = Transaction(base_nonce + i, 10**9, 21000, 0, to_shard, TO, 1000 + i)
        plain.append(tx.sign(KEY, ETH_CHAIN_ID if i == 1 else CHAIN_ID))
    stakes = [
        StakingTransaction(CollectRewards(KEY.address), base_nonce + txs + i, 10**9, 30000).sign(
            KEY, CHAIN_ID
        )
        for i in range(staking)
    ]
    receipts = [
        Receipt.make(success=i % 2 == 0, cumulative_gas_used=21000 * (i + 1), logs=[Log(TO, (), bytes([i]))])
        for i in range(txs + staking)
    ]
    cx = [CXReceipt(plain[0].hash(), KEY.address, TO, 0, 1, 1000)] if txs else []
    out = [CXReceipt(bytes([number]) * 32, b"\x01" * 20, TO, 1, 0, 7)]
    source = Header(number=number + 40, shard_id=1, outgoing_receipt_hash=outgoing_receipts_root(out))
    proofs = (build_receipts_proof(source, out, 0, SIG, b"\x01"),)
    link = CrossLink(bytes([number]) * 32, number * 10, number, SIG, b"\x03", 1, 0)
    node = b"node-%d-%d" % (number, seed)
    header = Header(
        parent_hash=parent.hash(),
        number=number,
        epoch=number // 3,
        time=1000 + number,
        gas_limit=80_000_000,
        root=keccak256(node),
        last_commit_signature=SIG,
        last_commit_bitmap=b"\x0f",
        cross_links=encode_crosslinks([link]),
        shard_state=shard_state(number // 3 + 1).encode() if number % 3 == 2 else b"",
        extra=bytes([seed]),
    )
    block = make_block(
        header,
        transactions=plain,
        staking_transactions=stakes,
        receipts=receipts,
        outgoing_receipts=cx,
        incoming_receipts=proofs,
    )
    return BlockData(
        block,
        receipts,
        {keccak256(node): node, keccak256(b"code%d" % number): b"code%d" % number},
        cx,
        (b"\x77" * 96, b"\x01\x02"),
        {(number, b"\x09" * 20): b"snap%d" % number},
    )


def chain(length: int) -> list[BlockData]:
    """Genesis and ``length - 1`` children."""
    blocks = [genesis()]
    while len(blocks) < length:
        blocks.append(child(blocks[-1].block))
    return blocks
