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

import base64
from collections.abc import Callable, Sequence
from functools import partial

from harmony.encoding.address import to_bech32
from harmony.rpc.context import Method, MethodContext, MethodTable
from harmony.rpc.errors import ServerError
from harmony.rpc.formats import JSON, Style, crosslink_json, go_header_json, hex_data, qty
from harmony.rpc.params import Params, hash32
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


def _go_bytes(value: bytes) -> str:
    """A Go ``[]byte`` in JSON: standard base64."""
    return base64.b64encode(value).decode("ascii")


def proof_json(proof: CXReceiptsProof) -> dict[str, JSON]:
    """A pending proof as Go marshals ``types.CXReceiptsProof`` (no JSON tags: Go field names; byte
    slices base64; addresses and hashes 0x hex; amounts and numbers JSON numbers), the same in v1 and v2."""
    merkle = proof.merkle_proof
    return {
        "Receipts": [
            {
                "TxHash": hex_data(r.tx_hash),
                "From": hex_data(r.from_),
                "To": None if r.to is None else hex_data(r.to),
                "ShardID": r.shard_id,
                "ToShardID": r.to_shard_id,
                "Amount": r.amount,
            }
            for r in proof.receipts
        ],
        "MerkleProof": {
            "BlockNum": merkle.block_num,
            "BlockHash": hex_data(merkle.block_hash),
            "ShardID": merkle.shard_id,
            "CXReceiptHash": hex_data(merkle.cx_receipt_hash),
            "ShardIDs": list(merkle.shard_ids),
            "CXShardHashes": [hex_data(h) for h in merkle.cx_shard_hashes],
        },
        "Header": go_header_json(proof.header),
        "CommitSig": _go_bytes(proof.commit_sig),
        "CommitBitmap": _go_bytes(proof.commit_bitmap),
    }


def cx_receipt_by_hash(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getCXReceiptByHash(txHash)``: the emitted receipt, or null."""
    found = ctx.backend.chain.db.get_cx_receipt_by_tx_hash(p.get(0, "hash", hash32))
    if found is None:
        return None
    return cx_receipt_json(style, found.receipt, found.block_hash, found.block_number)


def pending_cx_receipts(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getPendingCXReceipts``: proofs waiting for their destination."""
    return [proof_json(proof) for proof in ctx.backend.hooks.pending_cx_proofs()]


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
