"""Responses of Harmony's Go node, kept as fixtures for the shape tests, and the shape comparison.

Source: harmony-one/harmony at commit dc52025a8a1fb08539a9024f1c062859ca03a317 (2025-06-06). Each fixture is
the JSON the Go node writes for the named method on a localnet node (chain ID 2, shard 0 unless said),
written out field by field from the marshalled Go type named beside it (struct field order, ``json`` tags,
``omitempty``, and Go's encodings: ``*big.Int`` and ``uint64`` as JSON numbers, ``hexutil`` types as 0x hex,
``common.Hash``/``common.Address`` as 0x hex, ``[]byte`` as base64, ``hex.EncodeToString`` as bare hex).
Values are those of a fresh localnet; only their JSON types and string forms are compared.
"""

from __future__ import annotations

import re

H32 = "0x" + "ab" * 32
ONE1 = "one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur"
ADDR = "0x" + "a5241513da9f4463f1d4874b548dfbac29d91f34"
BLOOM = "0x" + "00" * 256

NODE_METADATA = {  # hmyv2_getNodeMetadata: rpc/harmony/common/types.go NodeMetadata, params.ChainConfig
    "blskey": [
        "65f55eb3052f9e9f632b2923be594ba77c55543f5c58ee1454b9cfd658d25e06373b0f7d42a19c84768139ea294f6204"
    ],
    "version": "Harmony (C) 2023. harmony, version v8000-v2023.4.1-0-g4ae4ea5e",
    "network": "localnet",
    "chain-config": {  # internal/params/config.go LocalnetChainConfig
        "chain-id": 2,
        "eth-compatible-chain-id": 1666700000,
        "eth-compatible-shard-0-chain-id": 1666700000,
        "eth-compatible-epoch": 0,
        "cross-tx-epoch": 0,
        "cross-link-epoch": 2,
        "aggregated-reward-epoch": 3,
        "staking-epoch": 2,
        "prestaking-epoch": 0,
        "quick-unlock-epoch": 0,
        "five-seconds-epoch": 0,
        "two-seconds-epoch": 0,
        "sixty-percent-epoch": 10000000,
        "redelegation-epoch": 0,
        "no-early-unlock-epoch": 0,
        "vrf-epoch": 0,
        "prev-vrf-epoch": 0,
        "min-delegation-100-epoch": 0,
        "min-commission-rate-epoch": 0,
        "commission-promo-period": 10,
        "epos-bound-35-epoch": 0,
        "eip155-epoch": 0,
        "s3-epoch": 0,
        "data-copy-fix-epoch": 0,
        "istanbul-epoch": 0,
        "receipt-log-epoch": 0,
        "sha3-epoch": 0,
        "hip6_8-epoch": 10000000,
        "staking-precompile-epoch": 2,
        "chain-id-fix-epoch": 0,
        "slots-limit-epoch": 10000000,
        "cross-shard-xfer-precompile-epoch": 1,
        "AllowlistEpoch": 10000000,
        "leader-rotation-internal-validators": 3,
        "leader-rotation-external-validators": 3,
        "leader-rotation-v2-epoch": 10000000,
        "FeeCollectEpoch": 2,
        "validator-code-fix-epoch": 2,
        "hip30-epoch": 10000000,
        "devnet-external-epoch": 10000000,
        "testnet-external-epoch": 10000000,
        "block-gas-30m-epoch": 0,
        "max-rate-epoch": 10000000,
        "top-max-rate-epoch": 10000000,
        "hip32-epoch": 10000000,
        "is-one-second-epoch": 4,
    },
    "is-leader": True,
    "shard-id": 0,
    "current-block-number": 57,
    "current-epoch": 3,
    "blocks-per-epoch": 16,
    "role": "Validator",
    "dns-zone": "",
    "is-archival": False,
    "is-backup": False,
    "node-unix-start-time": 1700000000,
    "peerid": "QmRVbTpEYup8dSaURZfF6ByrMTSKa4UyUzJhSjahFzRqNj",
    "consensus": {
        "viewId": 57,
        "viewChangeId": 57,
        "mode": "Normal",
        "phase": "Announce",
        "blocknum": 57,
        "finality": 0,
    },
    "p2p-connectivity": {"total-known-peers": 11, "connected": 11, "not-connected": 0},
}

PEER_INFO = {  # hmyv2_getPeerInfo: common/types.go NodePeerInfo
    "peerid": "QmRVbTpEYup8dSaURZfF6ByrMTSKa4UyUzJhSjahFzRqNj",
    "blocked-peers": [],
    "connected-peers": [{"topic": "hmy/localnet/0.0.1/node/beacon", "peers": ["QmS9..."]}],
}

SHARDING_STRUCTURE = [  # hmyv2_getShardingStructure: shard.Schedule.GetShardingStructure
    {"current": True, "shardID": 0, "http": "http://127.0.0.1:9500", "ws": "ws://127.0.0.1:9800"},
    {"current": False, "shardID": 1, "http": "http://127.0.0.1:9502", "ws": "ws://127.0.0.1:9802"},
]

HEADER_INFORMATION_BEACON = {  # hmyv2_getHeaderByNumber, latestHeader: rpc/harmony/types.go HeaderInformation
    "blockHash": H32,
    "blockNumber": 57,
    "shardID": 0,
    "leader": ONE1,
    "viewID": 57,
    "epoch": 3,
    "timestamp": "2023-11-14 22:13:20 +0000 UTC",
    "unixtime": 1700000000,
    "lastCommitSig": "ab" * 96,
    "lastCommitBitmap": "0f",
    "vrf": "ab" * 32,
    "vrfProof": "ab" * 96,
    "crossLinks": [
        {
            "hash": H32,
            "block-number": 55,
            "view-id": 55,
            "signature": "ab" * 96,
            "signature-bitmap": "0f",
            "shard-id": 1,
            "epoch-number": 3,
        }
    ],
}

HEADER_INFORMATION_SHARD = {k: v for k, v in HEADER_INFORMATION_BEACON.items() if k != "crossLinks"}
"""A shard other than the beacon chain: ``crossLinks`` is nil and omitted."""

BLOCK_V2_HASHES = {  # hmyv2_getBlockByNumber(n, {"inclStaking": true}): v2/types.go BlockWithTxHash
    "number": 57,
    "viewID": 57,
    "epoch": 3,
    "hash": H32,
    "parentHash": H32,
    "nonce": 0,
    "mixHash": H32,
    "logsBloom": BLOOM,
    "stateRoot": H32,
    "miner": ONE1,
    "difficulty": 0,
    "extraData": "0x",
    "size": 1042,
    "gasLimit": 80000000,
    "gasUsed": 21000,
    "vrf": H32,
    "vrfProof": "0x" + "ab" * 96,
    "timestamp": 1700000000,
    "transactionsRoot": H32,
    "receiptsRoot": H32,
    "uncles": [],
    "transactions": [H32],
    "transactionsInEthHash": [H32],
    "stakingTransactions": [],
}

BLOCK_V2_NO_STAKING = {**BLOCK_V2_HASHES, "stakingTransactions": None}
"""``{"fullTx": false}`` alone: ``InclStaking`` stays false and the nil slice marshals as null."""

RECEIPT_V1 = {  # hmy_getTransactionReceipt: v1/types.go TxReceipt
    "blockHash": H32,
    "transactionHash": H32,
    "blockNumber": "0x39",
    "transactionIndex": "0x0",
    "gasUsed": "0x5208",
    "cumulativeGasUsed": "0x5208",
    "contractAddress": "0x0000000000000000000000000000000000000000",
    "logs": [],
    "logsBloom": BLOOM,
    "shardID": 0,
    "from": ONE1,
    "to": ONE1,
    "root": "0x",
    "status": "0x1",
    "effectiveGasPrice": "0x174876e800",
}

RECEIPT_V2 = {  # hmyv2_getTransactionReceipt: v2/types.go TxReceipt
    **RECEIPT_V1,
    "blockNumber": 57,
    "transactionIndex": 0,
    "gasUsed": 21000,
    "cumulativeGasUsed": 21000,
    "status": 1,
    "effectiveGasPrice": 100000000000,
}

PENDING_CX_PROOF = {  # hmyv2_getPendingCXReceipts item: core/types/cx_receipt.go CXReceiptsProof (no tags)
    "Receipts": [
        {
            "TxHash": H32,
            "From": ADDR,
            "To": ADDR,
            "ShardID": 0,
            "ToShardID": 1,
            "Amount": 1000000000000000000,
        }
    ],
    "MerkleProof": {
        "BlockNum": 57,
        "BlockHash": H32,
        "ShardID": 0,
        "CXReceiptHash": H32,
        "ShardIDs": [1],
        "CXShardHashes": [H32],
    },
    "Header": {  # block/header.go Header.MarshalJSON
        "parentHash": H32,
        "sha3Uncles": H32,
        "nonce": "0x0000000000000000",
        "miner": ADDR,
        "stateRoot": H32,
        "transactionsRoot": H32,
        "receiptsRoot": H32,
        "logsBloom": BLOOM,
        "difficulty": "0x0",
        "number": "0x39",
        "gasLimit": "0x4c4b400",
        "gasUsed": "0x5208",
        "timestamp": "0x6553f100",
        "extraData": "0x",
        "mixHash": H32,
        "hash": H32,
        "viewID": 57,
        "epoch": 3,
        "shardID": 0,
    },
    "CommitSig": "q6ur" * 32,  # base64 of 96 bytes
    "CommitBitmap": "Dw==",
}


# -- comparison --------------------------------------------------------------------------------------

_HEX0X = re.compile(r"^0x[0-9a-f]*$")
_BARE_HEX = re.compile(r"^(?:[0-9a-f]{2})*$")
_BECH32 = re.compile(r"^one1[02-9ac-hj-np-z]{38}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def string_kind(value: str) -> str:
    """What kind of string a value is: 0x hex, bare hex (the empty string too), bech32, or other text."""
    if _HEX0X.match(value):
        return "0x-hex"
    if _BECH32.match(value):
        return "bech32"
    if _BARE_HEX.match(value):
        return "hex"
    return "text"


def shape_differences(ours: object, recorded: object, path: str = "$") -> list[str]:
    """Where ``ours`` differs in shape from ``recorded``: the same members, JSON types and string kinds
    (lists compared by their first items; an empty string fits any string). Empty when the shapes agree."""
    if isinstance(recorded, dict):
        if not isinstance(ours, dict):
            return [f"{path}: expected an object, got {type(ours).__name__}"]
        out = [f"{path}.{k}: missing" for k in recorded if k not in ours]
        out += [f"{path}.{k}: not in Harmony's response" for k in ours if k not in recorded]
        for key in recorded:
            if key in ours:
                out += shape_differences(ours[key], recorded[key], f"{path}.{key}")
        return out
    if isinstance(recorded, list):
        if not isinstance(ours, list):
            return [f"{path}: expected an array, got {type(ours).__name__}"]
        if recorded and ours:
            return shape_differences(ours[0], recorded[0], f"{path}[0]")
        return []
    if recorded is None or ours is None:
        return [] if recorded is ours else [f"{path}: {ours!r} where Harmony has {recorded!r}"]
    if type(ours) is not type(recorded):
        return [f"{path}: {type(ours).__name__} where Harmony has {type(recorded).__name__}"]
    if isinstance(recorded, str) and isinstance(ours, str):
        if (recorded.endswith("UTC") and ours.endswith("UTC")) or "" in (ours, recorded):
            return []
        if string_kind(ours) != string_kind(recorded) and not (
            string_kind(recorded) == "text" and _BASE64.match(recorded) and _BASE64.match(ours)
        ):
            return [f"{path}: {string_kind(ours)} string where Harmony has {string_kind(recorded)}"]
    return []


DEC = "0.100000000000000000"
VALIDATOR_INFORMATION = {  # hmyv2_getValidatorInformation: staking/types/validator.go ValidatorRPCEnhanced
    "validator": {  # ValidatorWrapper.MarshalJSON: Validator (Commission, Description inlined) + delegations
        "address": ONE1,
        "bls-public-keys": ["ab" * 48],  # bls.SerializedPublicKey.MarshalText: bare hex
        "last-epoch-in-committee": 3,
        "min-self-delegation": 10000000000000000000000,
        "max-total-delegation": 100000000000000000000000000,
        "rate": DEC,
        "max-rate": DEC,
        "max-change-rate": DEC,
        "update-height": 40,
        "name": "Alice",
        "identity": "alice",
        "website": "alice.harmony.one",
        "security-contact": "Bob",
        "details": "Don't mess with me!!!",
        "creation-height": 40,
        "delegations": [
            {
                "delegator-address": ONE1,
                "amount": 10000000000000000000000,
                "reward": 12000000000000000000,
                "undelegations": [{"amount": 1000000000000000000, "epoch": 3}],
            }
        ],
    },
    "current-epoch-performance": {
        "current-epoch-signing-percent": {  # Computed
            "current-epoch-signed": 5,
            "current-epoch-to-sign": 5,
            "current-epoch-signing-percentage": "1.000000000000000000",
        },
        "epoch": 3,
        "block": 57,
    },
    "metrics": {  # ValidatorStats
        "by-bls-key": [
            {  # VoteWithCurrentEpochEarning: votepower.VoteOnSubcomittee and the key's earning
                "key": {
                    "bls-public-key": "ab" * 48,
                    "group-percent": DEC,
                    "effective-stake": DEC,
                    "raw-stake": DEC,
                    "earning-account": ONE1,
                    "overall-percent": DEC,
                    "shard-id": 0,
                },
                "earned-reward": 7000000000000000000,
            }
        ]
    },
    "total-delegation": 10000000000000000000000,
    "currently-in-committee": True,
    "epos-status": "currently elected",
    "epos-winning-stake": DEC,
    "booted-status": None,
    "active-status": "active",
    "lifetime": {  # AccumulatedOverLifetime
        "reward-accumulated": 35000000000000000000,
        "blocks": {"to-sign": 5, "signed": 5},
        "apr": DEC,
        "epoch-apr": None,
        "epoch-blocks": None,
    },
}

DELEGATION = {  # hmyv2_getDelegationsByDelegator item: rpc/harmony/types.go Delegation
    "validator_address": ONE1,
    "delegator_address": ONE1,
    "amount": 10000000000000000000000,
    "reward": 12000000000000000000,
    "Undelegations": [{"Amount": 1000000000000000000, "Epoch": 3}],
}


# -- transactions pre-signed by Harmony's tools for Harmony's localnet (chain ID 2) ----------------------
# pyhmy's test suite sends these to a fresh localnet (tests/sdk-pyhmy/conftest.py): the test account's
# transfer, then its CreateValidator with one BLS key and proof made by herumi's library.

TEST_ACCOUNT = "0xa5241513da9f4463f1d4874b548dfbac29d91f34"
# 503 ONE from the test account (nonce 0) to one1ru3p8ff0wsyl7ncsx3vwd5szuze64qz60upg37
PRESIGNED_TRANSFER = (
    "0xf86f8085174876e8008252088080941f2213a52f7409ff4f103458e6d202e0b3aa805a891b4486fafde57c00008027a0d7c0b2"
    "0207dcc9dde376822dc3f5625eac6f59a7526111695cdba3e29553ca17a05d4ca9a421ae16f89cbf6848186eaea7a800da7324"
    "46dff9952e7c1e91d414e3"
)
PRESIGNED_TRANSFER_HASH = "0xc26be5776aa57438bccf196671a2d34f3f22c9c983c0f844c62b2fb90403aa43"
# the test account becomes validator "Alice" (nonce 1, 55,000,000 gas), one herumi BLS key and its proof
PRESIGNED_CREATE_VALIDATOR = (
    "0xf9017c80f9012994a5241513da9f4463f1d4874b548dfbac29d91f34f83d85416c69636585616c69636591616c6963652e68"
    "61726d6f6e792e6f6e6583426f629a41726520796f75206576656e2072656164696e6720746869733fddc988016345785d8a00"
    "00c9880c7d713b49da0000c887b1a2bc2ec500008a021e19e0c9bab24000008a152d02c7e14af6800000f1b0a20e70089664a8"
    "74b00251c5e85d35a73871531306f3af43e02138339d294e6bb9c4eb82162199c6a852afeaa8d68712f862b860ef2c49a2f31f"
    "bbd23c21bc176eaf05cd0bebe6832033075d81fea7cff6f9bc1ab42f3b6895c5493fe645d8379d2eaa1413de55a9d3ce412a4f"
    "747cb57d52cc4da4754bfb2583ec9a41fe5dd48287f964f276336699959a5fcef3391dc24df00d8a021e19e0c9bab240000001"
    "85174876e8008403473bc028a08c1146305eaef981aa24c2f17c8519664d10c99ee42acedbc258749930d31a7ca031dadf114e"
    "e6ab9bd09933208094c65037b66c796bcfc57a70158106b37357b0"
)
PRESIGNED_CREATE_VALIDATOR_HASH = "0x400e9831d358f5daccd153cad5bf53650a0d413bd8682ec0ffad55367d162968"
