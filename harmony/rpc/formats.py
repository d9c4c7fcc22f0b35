"""JSON shapes of blocks, transactions, receipts and logs in the three styles (reference §9.1, §9.3).

* ``ETH``: Ethereum's shapes (geth ``RPCTransaction``, ``RPCMarshalBlock``): hex quantities, 0x addresses,
  the Ethereum hash of transactions signed for an Ethereum chain ID (Harmony's hash of the others, the one
  the chain database indexes), Ethereum's chain ID;
* ``V1`` (``hmy_``): Harmony's block and transaction shapes with hex quantities and bech32 addresses;
* ``V2`` (``hmyv2_``): the same shapes with plain JSON numbers (``rpc/harmony/v2/types.go``).

Harmony quirks kept: a contract creation's ``from`` is lower-case 0x hex and its ``to`` the empty string in
hmy shapes; ``nonce`` and ``difficulty`` of a block are plain 0 in both hmy versions; ``contractAddress``
is the zero address when nothing was created.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import Enum

from harmony.encoding.address import to_bech32
from harmony.errors import HarmonyError
from harmony.types.block import Block
from harmony.types.crosslink import CrossLink, decode_crosslinks
from harmony.types.header import Header
from harmony.types.receipt import Log, Receipt
from harmony.types.staking import (
    Attest,
    CollectRewards,
    CreateValidator,
    Delegate,
    Description,
    Directive,
    EditValidator,
    Revoke,
    StakingTransaction,
    Undelegate,
)
from harmony.types.transaction import Transaction

JSON = object
"""A value ``json.dumps`` accepts."""

ZERO_ADDRESS = bytes(20)
EMPTY_UNCLES_HASH = bytes.fromhex("1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347")
"""Keccak-256 of the RLP of an empty list: ``sha3Uncles`` of every Harmony block."""


class Style(Enum):
    """Which namespace's shapes a response takes."""

    ETH = "eth"
    V1 = "hmy"
    V2 = "hmyv2"


def hex_q(value: int) -> str:
    """An Ethereum quantity: ``0x`` hex without leading zeros."""
    return hex(value)


def hex_data(value: bytes) -> str:
    """Unformatted data: ``0x`` followed by two hex digits per byte."""
    return "0x" + value.hex()


def hex_address(value: bytes) -> str:
    """An address as Go's ``common.Address`` writes it in JSON: lower-case 0x hex."""
    return "0x" + value.hex()


def qty(style: Style, value: int) -> JSON:
    """A quantity in ``style``: a JSON number for V2, hex otherwise."""
    return value if style is Style.V2 else hex(value)


def account(style: Style, value: bytes) -> str:
    """An address in ``style``: bech32 for hmy shapes, 0x hex for eth."""
    return hex_address(value) if style is Style.ETH else to_bech32(value)


@dataclass(frozen=True, slots=True)
class TxInBlock:
    """A transaction with where it sits (``block_hash`` is ``None`` while pending) and its sender."""

    tx: Transaction
    sender: bytes
    block_hash: bytes | None = None
    block_number: int | None = None
    index: int | None = None
    timestamp: int = 0


@dataclass(frozen=True, slots=True)
class StakingInBlock:
    """A mined staking transaction with where it sits and the account it acts for (its signer)."""

    tx: StakingTransaction
    sender: bytes
    block_hash: bytes
    block_number: int
    index: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class ReceiptInBlock:
    """A receipt with its transaction, its own gas, the created contract and its first log's index."""

    tx: TxInBlock
    receipt: Receipt
    gas_used: int
    contract_address: bytes | None
    first_log_index: int


@dataclass(frozen=True, slots=True)
class LogInBlock:
    """A log with its place in the chain (go-ethereum ``types.Log`` JSON fields)."""

    log: Log
    block_hash: bytes
    block_number: int
    tx_hash: bytes
    """The Harmony transaction hash."""
    eth_tx_hash: bytes
    """The hash eth shapes show (:func:`tx_hash_for`)."""
    tx_index: int
    log_index: int


def tx_hash_for(style: Style, tx: Transaction) -> bytes:
    """The hash a style shows: in eth shapes the hash the sender knows (``hash_by_type``: the Ethereum hash
    of a transaction signed for an Ethereum chain ID, else Harmony's, which is what the chain database can
    look up), Harmony's hash in hmy shapes."""
    return tx.hash_by_type() if style is Style.ETH else tx.hash()


def log_json(style: Style, entry: LogInBlock) -> dict[str, JSON]:
    """A log (go-ethereum ``types.Log`` JSON, the same in every style apart from the hash shown)."""
    return {
        "address": hex_address(entry.log.address),
        "topics": [hex_data(t) for t in entry.log.topics],
        "data": hex_data(entry.log.data),
        "blockNumber": hex_q(entry.block_number),
        "transactionHash": hex_data(entry.eth_tx_hash if style is Style.ETH else entry.tx_hash),
        "transactionIndex": hex_q(entry.tx_index),
        "blockHash": hex_data(entry.block_hash),
        "logIndex": hex_q(entry.log_index),
        "removed": False,
    }


def receipt_logs(rec: ReceiptInBlock) -> list[LogInBlock]:
    """The receipt's logs with their block positions."""
    tx = rec.tx
    assert tx.block_hash is not None and tx.block_number is not None and tx.index is not None
    return [
        LogInBlock(
            log,
            tx.block_hash,
            tx.block_number,
            tx.tx.hash(),
            tx.tx.eth_hash(),
            tx.index,
            rec.first_log_index + i,
        )
        for i, log in enumerate(rec.receipt.logs)
    ]


def transaction_json(style: Style, item: TxInBlock) -> dict[str, JSON]:
    """A transaction: geth's ``RPCTransaction`` for eth, Harmony's ``Transaction`` for hmy (v1/v2)."""
    tx = item.tx
    pending = item.block_hash is None
    if style is Style.ETH:
        return {
            "blockHash": None if pending else hex_data(item.block_hash or b""),
            "blockNumber": None if item.block_number is None else hex_q(item.block_number),
            "from": hex_address(item.sender),
            "gas": hex_q(tx.gas),
            "gasPrice": hex_q(tx.gas_price),
            "hash": hex_data(tx.hash_by_type()),
            "input": hex_data(tx.data),
            "nonce": hex_q(tx.nonce),
            "to": None if tx.to is None else hex_address(tx.to),
            "transactionIndex": None if item.index is None else hex_q(item.index),
            "value": hex_q(tx.value),
            "type": "0x0",
            "v": hex_q(tx.v),
            "r": hex_q(tx.r),
            "s": hex_q(tx.s),
            **({} if tx.chain_id is None else {"chainId": hex_q(tx.chain_id)}),
        }
    zero_hash = hex_data(bytes(32))
    return {
        "blockHash": zero_hash if pending else hex_data(item.block_hash or b""),
        "blockNumber": None if item.block_number is None else qty(style, item.block_number),
        "from": hex_address(item.sender) if tx.to is None else to_bech32(item.sender),
        "timestamp": qty(style, item.timestamp),
        "gas": qty(style, tx.gas),
        "gasPrice": qty(style, tx.gas_price),
        "hash": hex_data(tx.hash()),
        "ethHash": hex_data(tx.eth_hash()),
        "input": hex_data(tx.data),
        "nonce": qty(style, tx.nonce),
        "to": "" if tx.to is None else to_bech32(tx.to),
        "transactionIndex": qty(style, item.index or 0),
        "value": qty(style, tx.value),
        "shardID": tx.shard_id,
        "toShardID": tx.to_shard_id,
        "v": hex_q(tx.v),
        "r": hex_q(tx.r),
        "s": hex_q(tx.s),
    }


_DIRECTIVE_NAMES = {
    Directive.CREATE_VALIDATOR: "CreateValidator",
    Directive.EDIT_VALIDATOR: "EditValidator",
    Directive.DELEGATE: "Delegate",
    Directive.UNDELEGATE: "Undelegate",
    Directive.COLLECT_REWARDS: "CollectRewards",
    Directive.ATTEST: "Attest",
    Directive.REVOKE: "Revoke",
}


def staking_msg_json(stx: StakingTransaction) -> dict[str, JSON]:
    """The ``msg`` of a staking transaction (Go ``v2.NewStakingTransaction``): bech32 addresses, plain
    amounts, rates as 18-decimal strings, BLS keys as bare hex (Go ``SerializedPublicKey.MarshalText``)."""
    msg = stx.msg
    if isinstance(msg, (Delegate, Undelegate)):
        return {
            "delegatorAddress": to_bech32(msg.delegator_address),
            "validatorAddress": to_bech32(msg.validator_address),
            "amount": msg.amount,
        }
    if isinstance(msg, CollectRewards):
        return {"delegatorAddress": to_bech32(msg.delegator_address)}
    if isinstance(msg, Attest):
        return {
            "validatorAddress": to_bech32(msg.validator_address),
            "jurisdiction": msg.jurisdiction,
            "expiryEpoch": msg.expiry_epoch,
            "serial": msg.serial,
            "attestorSignature": "0x" + msg.attestor_signature.hex(),
        }
    if isinstance(msg, Revoke):
        return {
            "attestorAddress": to_bech32(msg.attestor_address),
            "validatorAddress": to_bech32(msg.validator_address),
            "jurisdiction": msg.jurisdiction,
        }
    if isinstance(msg, CreateValidator):
        rates = msg.commission_rates
        return {
            "validatorAddress": to_bech32(msg.validator_address),
            "commissionRate": str(rates.rate),
            "maxCommissionRate": str(rates.max_rate),
            "maxChangeRate": str(rates.max_change_rate),
            "minSelfDelegation": msg.min_self_delegation,
            "maxTotalDelegation": msg.max_total_delegation,
            "amount": msg.amount,
            **_description_json(msg.description),
            "slotPubKeys": [k.hex() for k in msg.slot_pub_keys],
        }
    assert isinstance(msg, EditValidator)
    return {
        "validatorAddress": to_bech32(msg.validator_address),
        "commissionRate": None if msg.commission_rate is None else str(msg.commission_rate),
        "minSelfDelegation": msg.min_self_delegation,
        "maxTotalDelegation": msg.max_total_delegation,
        "slotPubKeyToRemove": None if msg.slot_key_to_remove is None else msg.slot_key_to_remove.hex(),
        "slotPubKeyToAdd": None if msg.slot_key_to_add is None else msg.slot_key_to_add.hex(),
        **_description_json(msg.description),
        "eposStatus": None if msg.epos_status is None else msg.epos_status.name.lower(),
    }


def _description_json(description: Description) -> dict[str, JSON]:
    return {
        "name": description.name,
        "identity": description.identity,
        "website": description.website,
        "securityContact": description.security_contact,
        "details": description.details,
    }


def staking_transaction_json(style: Style, item: StakingInBlock) -> dict[str, JSON]:
    """A mined staking transaction: Harmony's ``StakingTransaction`` (v1 hex quantities, v2 numbers)."""
    stx = item.tx
    return {
        "blockHash": hex_data(item.block_hash),
        "blockNumber": qty(style, item.block_number),
        "from": to_bech32(item.sender),
        "timestamp": qty(style, item.timestamp),
        "gas": qty(style, stx.gas_limit),
        "gasPrice": qty(style, stx.gas_price),
        "hash": hex_data(stx.hash()),
        "nonce": qty(style, stx.nonce),
        "transactionIndex": qty(style, item.index),
        "v": hex_q(stx.v),
        "r": hex_q(stx.r),
        "s": hex_q(stx.s),
        "type": _DIRECTIVE_NAMES[stx.directive],
        "msg": staking_msg_json(stx),
    }


def receipt_json(style: Style, rec: ReceiptInBlock) -> dict[str, JSON]:
    """A receipt: geth's for eth, Harmony's ``TxReceipt`` for hmy (v1: hex numbers; v2: plain)."""
    item = rec.tx
    tx = item.tx
    assert item.block_hash is not None and item.block_number is not None and item.index is not None
    logs = [log_json(style, entry) for entry in receipt_logs(rec)]
    receipt = rec.receipt
    if style is Style.ETH:
        return {
            "transactionHash": hex_data(tx.hash_by_type()),
            "transactionIndex": hex_q(item.index),
            "blockHash": hex_data(item.block_hash),
            "blockNumber": hex_q(item.block_number),
            "from": hex_address(item.sender),
            "to": None if tx.to is None else hex_address(tx.to),
            "cumulativeGasUsed": hex_q(receipt.cumulative_gas_used),
            "gasUsed": hex_q(rec.gas_used),
            "effectiveGasPrice": hex_q(tx.gas_price),
            "contractAddress": None if rec.contract_address is None else hex_address(rec.contract_address),
            "logs": logs,
            "logsBloom": hex_data(receipt.bloom),
            "type": "0x0",
            "status": hex_q(receipt.status),
        }
    creation = tx.to is None
    return {
        "blockHash": hex_data(item.block_hash),
        "transactionHash": hex_data(tx.hash()),
        "blockNumber": qty(style, item.block_number),
        "transactionIndex": qty(style, item.index),
        "gasUsed": qty(style, rec.gas_used),
        "cumulativeGasUsed": qty(style, receipt.cumulative_gas_used),
        "contractAddress": hex_address(rec.contract_address or ZERO_ADDRESS),
        "logs": logs,
        "logsBloom": hex_data(receipt.bloom),
        "shardID": tx.shard_id,
        "from": hex_address(item.sender) if creation else to_bech32(item.sender),
        "to": "" if creation or tx.to is None else to_bech32(tx.to),
        "root": hex_data(receipt.post_state),
        "status": qty(style, receipt.status),
        "effectiveGasPrice": qty(style, tx.gas_price),
    }


def _vrf_parts(header: Header) -> tuple[bytes, bytes]:
    if len(header.vrf) == 128:
        return header.vrf[:32], header.vrf[32:]
    return bytes(32), b""


def block_json(
    style: Style,
    block: Block,
    *,
    transactions: list[JSON],
    staking_transactions: list[JSON] | None,
    signers: list[str] | None = None,
    full: bool = False,
) -> dict[str, JSON]:
    """A block: geth's ``RPCMarshalBlock`` for eth; Harmony's ``BlockWithTxHash``/``BlockWithFullTx``.

    ``transactions`` are already formatted (hashes or objects) by the caller, as are the staking ones.
    """
    header = block.header
    size = len(block.encode())
    block_hash = block.hash()
    if style is Style.ETH:
        return {
            "number": hex_q(header.number),
            "hash": hex_data(block_hash),
            "parentHash": hex_data(header.parent_hash),
            "nonce": "0x0000000000000000",
            "mixHash": hex_data(header.mix_digest),
            "sha3Uncles": hex_data(EMPTY_UNCLES_HASH),
            "logsBloom": hex_data(header.bloom),
            "transactionsRoot": hex_data(header.tx_hash),
            "stateRoot": hex_data(header.root),
            "receiptsRoot": hex_data(header.receipt_hash),
            "miner": hex_address(header.coinbase),
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "extraData": hex_data(header.extra),
            "size": hex_q(size),
            "gasLimit": hex_q(header.gas_limit),
            "gasUsed": hex_q(header.gas_used),
            "timestamp": hex_q(header.time),
            "transactions": transactions,
            "uncles": [],
        }
    vrf, vrf_proof = _vrf_parts(header)
    out: dict[str, JSON] = {
        "number": qty(style, header.number),
        "viewID": qty(style, header.view_id),
        "epoch": qty(style, header.epoch),
        "hash": hex_data(block_hash),
        "parentHash": hex_data(header.parent_hash),
        "nonce": 0,
        "mixHash": hex_data(header.mix_digest),
        "logsBloom": hex_data(header.bloom),
        "stateRoot": hex_data(header.root),
        "miner": to_bech32(header.coinbase),
        "difficulty": 0,
        "extraData": hex_data(header.extra),
        "size": qty(style, size),
        "gasLimit": qty(style, header.gas_limit),
        "gasUsed": qty(style, header.gas_used),
        "vrf": hex_data(vrf),
        "vrfProof": hex_data(vrf_proof),
        "timestamp": qty(style, header.time),
        "transactionsRoot": hex_data(header.tx_hash),
        "receiptsRoot": hex_data(header.receipt_hash),
        "uncles": [],
        "transactions": transactions,
    }
    if not full:
        out["transactionsInEthHash"] = [hex_data(tx.eth_hash()) for tx in block.transactions]
    out["stakingTransactions"] = staking_transactions
    if signers is not None:
        out["signers"] = signers
    return out


def header_json(style: Style, header: Header) -> dict[str, JSON]:
    """Harmony's ``BlockHeader`` (``hmyv2_getHeaderByNumber``): every v3 header field."""
    return {
        "parentHash": hex_data(header.parent_hash),
        "miner": hex_address(header.coinbase),
        "stateRoot": hex_data(header.root),
        "transactionsRoot": hex_data(header.tx_hash),
        "receiptsRoot": hex_data(header.receipt_hash),
        "outgoingReceiptsRoot": hex_data(header.outgoing_receipt_hash),
        "incomingReceiptsRoot": hex_data(header.incoming_receipt_hash),
        "logsBloom": hex_data(header.bloom),
        "number": qty(style, header.number),
        "gasLimit": qty(style, header.gas_limit),
        "gasUsed": qty(style, header.gas_used),
        "timestamp": qty(style, header.time),
        "extraData": hex_data(header.extra),
        "mixHash": hex_data(header.mix_digest),
        "viewID": qty(style, header.view_id),
        "epoch": qty(style, header.epoch),
        "shardID": header.shard_id,
        "lastCommitSignature": hex_data(header.last_commit_signature),
        "lastCommitBitmap": hex_data(header.last_commit_bitmap),
        "vrf": hex_data(header.vrf),
        "vdf": hex_data(header.vdf),
        "shardState": hex_data(header.shard_state),
        "crossLink": hex_data(header.cross_links),
        "slashes": hex_data(header.slashes),
    }


def go_header_json(header: Header) -> dict[str, JSON]:
    """A header as Go's ``block.Header.MarshalJSON`` writes it inside other structures: Ethereum-style hex
    fields, a zero ``sha3Uncles`` and ``nonce``, then ``hash``, ``viewID``, ``epoch`` and ``shardID``."""
    return {
        "parentHash": hex_data(header.parent_hash),
        "sha3Uncles": hex_data(bytes(32)),
        "nonce": "0x0000000000000000",
        "miner": hex_data(header.coinbase),
        "stateRoot": hex_data(header.root),
        "transactionsRoot": hex_data(header.tx_hash),
        "receiptsRoot": hex_data(header.receipt_hash),
        "logsBloom": hex_data(header.bloom),
        "difficulty": "0x0",
        "number": hex_q(header.number),
        "gasLimit": hex_q(header.gas_limit),
        "gasUsed": hex_q(header.gas_used),
        "timestamp": hex_q(header.time),
        "extraData": hex_data(header.extra),
        "mixHash": hex_data(header.mix_digest),
        "hash": hex_data(header.hash()),
        "viewID": header.view_id,
        "epoch": header.epoch,
        "shardID": header.shard_id,
    }


def crosslink_json(link: CrossLink) -> dict[str, JSON]:
    """A crosslink as Go's ``CrossLink.MarshalJSON``: the hash 0x hex, signature and bitmap bare hex."""
    return {
        "hash": hex_data(link.hash),
        "block-number": link.block_number,
        "view-id": link.view_id,
        "signature": link.signature.hex(),
        "signature-bitmap": link.bitmap.hex(),
        "shard-id": link.shard_id,
        "epoch-number": link.epoch,
    }


def header_information_json(header: Header, leader: str, *, beacon: bool) -> dict[str, JSON]:
    """Harmony's ``HeaderInformation`` (``latestHeader``, ``getHeaderByNumber``; the same in every version).

    The VRF splits into its 32-byte output and 96-byte proof (bare hex; zeros and empty without one);
    the beacon chain adds ``crossLinks``, decoded (an empty list when they do not decode, as Go).
    """
    vrf, vrf_proof = _vrf_parts(header)
    out: dict[str, JSON] = {
        "blockHash": hex_data(header.hash()),
        "blockNumber": header.number,
        "shardID": header.shard_id,
        "leader": leader,
        "viewID": header.view_id,
        "epoch": header.epoch,
        "timestamp": _utc_text(header.time),
        "unixtime": header.time,
        "lastCommitSig": header.last_commit_signature.hex(),
        "lastCommitBitmap": header.last_commit_bitmap.hex(),
        "vrf": vrf.hex(),
        "vrfProof": vrf_proof.hex(),
    }
    if beacon:
        try:
            links = decode_crosslinks(header.cross_links) if header.cross_links else ()
        except HarmonyError:
            links = ()
        out["crossLinks"] = [crosslink_json(link) for link in links]
    return out


def _utc_text(unix: int) -> str:
    """Go's ``time.Unix(t, 0).UTC().String()`` form: ``2006-01-02 15:04:05 +0000 UTC``."""
    try:
        moment = datetime.datetime.fromtimestamp(unix, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(unix)
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
