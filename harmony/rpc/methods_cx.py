"""Cross-shard and crosslink methods under ``hmy_`` and ``hmyv2_`` (reference §6.3, §6.4, §9.2).

* ``getCXReceiptByHash(txHash)``: the receipt a cross-shard transfer of this shard emitted, with its block;
* ``getPendingCXReceipts`` / ``getNumPendingCXReceipts``: proofs this node holds for its shard that the
  destination has not credited yet (the node's cross-shard relay, through the hooks);
* ``resendCx(txHash)``: rebuild the proof of the block that emitted the receipt from the chain database and
  hand it to the node to publish again; ``true`` when a proof was sent;
* ``getLastCrossLinks``: on the beacon chain, the latest crosslink recorded for every other shard;
* ``getNumPendingCrossLinks``: crosslinks received and not yet included (the node's crosslink pool).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from harmony.encoding.address import to_bech32
from harmony.rpc.context import Method, MethodContext, MethodTable
from harmony.rpc.errors import ServerError
from harmony.rpc.formats import JSON, Style, hex_data, qty
from harmony.rpc.params import Params, hash32
from harmony.types.crosslink import CrossLink
from harmony.types.cx import CXReceipt, CXReceiptsProof


def cx_receipt_json(
    style: Style, receipt: CXReceipt, block_hash: bytes, block_number: int
) -> dict[str, JSON]:
    """A cross-shard receipt as Harmony's RPC ``CxReceipt``: block, hash, from, to, shards and value."""
    return {
        "blockHash": hex_data(block_hash),
        "blockNumber": qty(style, block_number),
        "hash": hex_data(receipt.tx_hash),
        "from": to_bech32(receipt.from_),
        "to": to_bech32(receipt.to) if receipt.to is not None else None,
        "shardID": receipt.shard_id,
        "toShardID": receipt.to_shard_id,
        "value": qty(style, receipt.amount),
    }


def crosslink_json(link: CrossLink) -> dict[str, JSON]:
    """A crosslink as Go's ``CrossLink`` JSON."""
    return {
        "hash": hex_data(link.hash),
        "block-number": link.block_number,
        "view-id": link.view_id,
        "signature": hex_data(link.signature),
        "signature-bitmap": hex_data(link.bitmap),
        "shard-id": link.shard_id,
        "epoch-number": link.epoch,
    }


def proof_json(style: Style, proof: CXReceiptsProof) -> dict[str, JSON]:
    """A pending proof: its source block and receipts."""
    header = proof.header
    return {
        "receipts": [cx_receipt_json(style, r, header.hash(), header.number) for r in proof.receipts],
        "merkleProof": {
            "blockNum": qty(style, proof.merkle_proof.block_num),
            "blockHash": hex_data(proof.merkle_proof.block_hash),
            "shardID": proof.merkle_proof.shard_id,
            "receiptHash": hex_data(proof.merkle_proof.cx_receipt_hash),
            "shardIDs": list(proof.merkle_proof.shard_ids),
            "shardHashes": [hex_data(h) for h in proof.merkle_proof.cx_shard_hashes],
        },
        "header": {
            "number": qty(style, header.number),
            "hash": hex_data(header.hash()),
            "epoch": header.epoch,
        },
        "commitSig": hex_data(proof.commit_sig),
        "commitBitmap": hex_data(proof.commit_bitmap),
    }


def cx_receipt_by_hash(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getCXReceiptByHash(txHash)``: the emitted receipt, or null."""
    found = ctx.backend.chain.db.get_cx_receipt_by_tx_hash(p.get(0, "hash", hash32))
    if found is None:
        return None
    return cx_receipt_json(style, found.receipt, found.block_hash, found.block_number)


def pending_cx_receipts(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getPendingCXReceipts``: proofs waiting for their destination."""
    return [proof_json(style, proof) for proof in ctx.backend.hooks.pending_cx_proofs()]


def num_pending_cx_receipts(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getNumPendingCXReceipts``."""
    return len(ctx.backend.hooks.pending_cx_proofs())


def resend_cx(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``resendCx(txHash)``: publish the proof of the receipt's block again; whether one was sent."""
    db = ctx.backend.chain.db
    found = db.get_cx_receipt_by_tx_hash(p.get(0, "hash", hash32))
    if found is None:
        return False
    proof = db.get_cx_receipts_proof(found.receipt.to_shard_id, found.block_number)
    if proof is None:
        return False
    return ctx.backend.hooks.resend_cx_proof(proof)


def last_crosslinks(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getLastCrossLinks``: the beacon chain's latest crosslink of every other shard."""
    backend = ctx.backend
    if backend.shard_id != 0:
        raise ServerError("crosslinks are recorded on the beacon chain: ask a shard 0 node")
    links = []
    for shard in range(1, backend.chain.params.shard_count):
        link = backend.chain.db.get_last_crosslink(shard)
        if link is not None:
            links.append(crosslink_json(link))
    return links


def num_pending_crosslinks(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getNumPendingCrossLinks``: crosslinks received and not yet in a beacon block."""
    return ctx.backend.hooks.pending_crosslink_count()


CX: Sequence[tuple[str, Callable[[Style, MethodContext, Params], JSON], int]] = (
    ("getCXReceiptByHash", cx_receipt_by_hash, 1),
    ("getPendingCXReceipts", pending_cx_receipts, 0),
    ("getNumPendingCXReceipts", num_pending_cx_receipts, 0),
    ("resendCx", resend_cx, 1),
    ("getLastCrossLinks", last_crosslinks, 0),
    ("getNumPendingCrossLinks", num_pending_crosslinks, 0),
)


def register_cx(table: MethodTable) -> None:
    """Register :data:`CX` under ``hmy_`` and ``hmyv2_``."""
    for style in (Style.V1, Style.V2):
        for name, handler, max_params in CX:
            table[f"{style.value}_{name}"] = Method(partial(handler, style), max_params)
