"""Block validity as pure functions (YP §4.3.4; Harmony ``core/block_validator.go``, ``engine.go``).

Each failure raises :class:`~harmony.chain.errors.InvalidBlock` whose ``check`` is one of:

* header against its parent (:func:`validate_header`): ``shard_id``, ``parent_hash``, ``number``,
  ``timestamp``, ``future_timestamp``, ``epoch``, ``shard_state``, ``gas_limit``, ``gas_used``, ``extra``;
* body against the header (:func:`validate_body`): ``uncles``, ``transactions_root``,
  ``incoming_receipts_root``, ``incoming_receipts``, ``tx_shard``, ``duplicate_tx``, ``staking_shard``;
* execution result against the header (:func:`validate_result`): ``gas_used``, ``receipts_root``,
  ``bloom``, ``state_root``, ``outgoing_receipts_root``.

Epochs (reference §6.1-6.2): the beacon chain's epochs follow the block-count schedule, and its last block
of an epoch — and only that one — carries the next epoch's shard state. Another shard stays in its
parent's epoch, and moves to the next one after a parent that carried a shard state. The genesis block
carries the epoch-0 committee without ending epoch 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from harmony.chain.errors import InvalidBlock
from harmony.chain.params import NetworkParams
from harmony.errors import DecodeError, HarmonyError
from harmony.types import cx
from harmony.types.block import Block, block_incoming_receipts_root, block_transactions_root
from harmony.types.cx import CXReceipt
from harmony.types.header import MAX_EXTRA_SIZE, Header
from harmony.types.receipt import Receipt, receipts_bloom, receipts_root

ALLOWED_FUTURE_SECONDS = 15
"""How far ahead of the local clock a block's time may be (geth's ``allowedFutureBlockTime``)."""


def expected_epoch(params: NetworkParams, parent: Header) -> int:
    """The epoch of the child of ``parent`` (module docstring; reference §6.1-6.2)."""
    number = parent.number + 1
    if params.is_beacon(parent.shard_id):
        return params.epoch_of(number)
    if parent.number > 0 and parent.is_last_block_in_epoch():
        return parent.epoch + 1
    return parent.epoch


def validate_header(header: Header, parent: Header, params: NetworkParams, *, now: int | None = None) -> None:
    """Check a header against its parent and the network's parameters (YP §4.3.4, reference §2.1, §6).

    ``now`` (Unix seconds), when given, bounds the timestamp to :data:`ALLOWED_FUTURE_SECONDS` ahead.
    """
    if header.shard_id != parent.shard_id or header.shard_id >= params.shard_count:
        raise InvalidBlock(
            "shard_id", f"shard {header.shard_id}, parent's {parent.shard_id}, {params.shard_count} shards"
        )
    if header.parent_hash != parent.hash():
        raise InvalidBlock("parent_hash", f"parent hash {header.parent_hash.hex()} is not the parent's")
    if header.number != parent.number + 1:
        raise InvalidBlock("number", f"number {header.number} does not follow the parent's {parent.number}")
    if header.time <= parent.time:
        raise InvalidBlock("timestamp", f"time {header.time} is not after the parent's {parent.time}")
    if now is not None and header.time > now + ALLOWED_FUTURE_SECONDS:
        raise InvalidBlock("future_timestamp", f"time {header.time} is ahead of the clock ({now})")
    epoch = expected_epoch(params, parent)
    if header.epoch != epoch:
        raise InvalidBlock("epoch", f"epoch {header.epoch}, expected {epoch}")
    _validate_shard_state(header, params)
    gas_limit = params.gas_limit(epoch)
    if header.gas_limit != gas_limit:
        raise InvalidBlock("gas_limit", f"gas limit {header.gas_limit}, epoch {epoch} requires {gas_limit}")
    if header.gas_used > header.gas_limit:
        raise InvalidBlock("gas_used", f"gas used {header.gas_used} exceeds the limit {header.gas_limit}")
    if len(header.extra) > MAX_EXTRA_SIZE:
        raise InvalidBlock("extra", f"extra data of {len(header.extra)} bytes exceeds {MAX_EXTRA_SIZE}")


def _validate_shard_state(header: Header, params: NetworkParams) -> None:
    """A beacon block carries a shard state exactly when it ends its epoch; any carried one decodes and
    names the next epoch."""
    is_beacon = params.is_beacon(header.shard_id)
    if is_beacon and params.is_last_block(header.number) != header.is_last_block_in_epoch():
        want = "must carry" if params.is_last_block(header.number) else "must not carry"
        raise InvalidBlock("shard_state", f"beacon block {header.number} {want} the next shard state")
    if not header.shard_state:
        return
    try:
        state = header.get_shard_state()
    except DecodeError as exc:
        raise InvalidBlock("shard_state", f"undecodable shard state: {exc}") from exc
    if state is not None and state.epoch != header.epoch + 1:
        raise InvalidBlock("shard_state", f"shard state of epoch {state.epoch} in epoch {header.epoch}")


def validate_body(block: Block, params: NetworkParams) -> None:
    """Check the body against the header before execution (Go ``ValidateBody``; reference §2.1, §6.4)."""
    header = block.header
    if block.uncles:
        raise InvalidBlock("uncles", "Harmony blocks have no uncles")
    if block_transactions_root(block) != header.tx_hash:
        raise InvalidBlock("transactions_root", "transactions do not match the header's transactions root")
    if block_incoming_receipts_root(block) != header.incoming_receipt_hash:
        raise InvalidBlock("incoming_receipts_root", "incoming receipts do not match the header's root")
    try:
        cx.check_no_duplicate_proofs(block.incoming_receipts)
        for proof in block.incoming_receipts:
            cx.check_proof_structure(proof, header.shard_id)
    except HarmonyError as exc:
        raise InvalidBlock("incoming_receipts", str(exc)) from exc
    seen: set[bytes] = set()
    for index, tx in enumerate(block.transactions):
        if tx.shard_id != header.shard_id:
            raise InvalidBlock("tx_shard", f"transaction {index} is for shard {tx.shard_id}")
        tx_hash = tx.hash()
        if tx_hash in seen:
            raise InvalidBlock("duplicate_tx", f"transaction {index} ({tx_hash.hex()}) appears twice")
        seen.add(tx_hash)
    if block.staking_transactions and not params.is_beacon(header.shard_id):
        raise InvalidBlock("staking_shard", "staking transactions are only processed on the beacon chain")
    for stx in block.staking_transactions:
        tx_hash = stx.hash()
        if tx_hash in seen:
            raise InvalidBlock("duplicate_tx", f"staking transaction {tx_hash.hex()} appears twice")
        seen.add(tx_hash)


def validate_result(
    header: Header,
    receipts: Sequence[Receipt],
    gas_used: int,
    state_root: bytes,
    outgoing_cx: Sequence[CXReceipt],
) -> None:
    """Check what executing the block produced against its header (Go ``ValidateState``, YP §4.3.2)."""
    if gas_used != header.gas_used:
        raise InvalidBlock("gas_used", f"execution used {gas_used} gas, the header says {header.gas_used}")
    if receipts_root(receipts) != header.receipt_hash:
        raise InvalidBlock("receipts_root", "receipts do not match the header's receipts root")
    if receipts_bloom(receipts) != header.bloom:
        raise InvalidBlock("bloom", "the receipts' logs bloom differs from the header's")
    if state_root != header.root:
        raise InvalidBlock("state_root", f"state root {state_root.hex()}, header says {header.root.hex()}")
    if cx.outgoing_receipts_root(outgoing_cx) != header.outgoing_receipt_hash:
        raise InvalidBlock("outgoing_receipts_root", "outgoing cross-shard receipts do not match the header")


__all__ = ["ALLOWED_FUTURE_SECONDS", "expected_epoch", "validate_body", "validate_header", "validate_result"]
