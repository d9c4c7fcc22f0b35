"""Our responses against Harmony's recorded ones (:mod:`tests.unit.rpc.harmony_recorded`): the same members,
JSON types and string forms, method by method; and block options parsed as Go's JSON decoding does."""

from __future__ import annotations

import dataclasses

from harmony.encoding.address import to_bech32
from harmony.rpc.formats import header_information_json
from harmony.rpc.node_info import EPOCH_TBD
from harmony.types.crosslink import CrossLink, encode_crosslinks
from tests.unit.rpc.conftest import ChainFixture
from tests.unit.rpc.harmony_recorded import (
    BLOCK_V2_HASHES,
    BLOCK_V2_NO_STAKING,
    HEADER_INFORMATION_BEACON,
    HEADER_INFORMATION_SHARD,
    NODE_METADATA,
    PEER_INFO,
    RECEIPT_V1,
    RECEIPT_V2,
    SHARDING_STRUCTURE,
    shape_differences,
)
from tests.unit.rpc.test_dispatch import error, result


def h(value: bytes) -> str:
    return "0x" + value.hex()


def test_shape_comparison_catches_differences() -> None:
    recorded = {"a": 1, "b": "0x01", "c": [{"d": "one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur"}]}
    assert shape_differences({"a": 2, "b": "0x02", "c": []}, recorded) == []
    assert shape_differences({"a": "0x2", "b": "0x02", "c": []}, recorded) == [
        "$.a: str where Harmony has int"
    ]
    assert shape_differences({"a": 2, "c": [{"d": "0x" + "00" * 20}], "e": 1}, recorded) == [
        "$.b: missing",
        "$.e: not in Harmony's response",
        "$.c[0].d: 0x-hex string where Harmony has bech32",
    ]


def test_node_metadata_has_harmony_shape_and_the_chain_epochs(built: ChainFixture) -> None:
    meta = result(built.dispatcher, "hmyv2_getNodeMetadata")
    assert shape_differences(meta, NODE_METADATA) == []
    assert result(built.dispatcher, "hmy_getNodeMetadata") == meta  # the same in every version (Go)
    config = meta["chain-config"]
    assert list(config) == list(NODE_METADATA["chain-config"])  # Go's field order
    # every rule this chain applies is in force from genesis: pyhmy's staking-era checks see epoch 0
    for name in ("staking-epoch", "prestaking-epoch", "cross-tx-epoch", "cross-link-epoch", "eip155-epoch"):
        assert config[name] == 0, name
    assert config["hip6_8-epoch"] == EPOCH_TBD
    assert meta["current-block-number"] == built.blocks[-1].header.number
    assert meta["blocks-per-epoch"] == built.chain.params.epochs.blocks_in_epoch(0)


def test_peer_info_and_sharding_structure(built: ChainFixture) -> None:
    assert shape_differences(result(built.dispatcher, "hmyv2_getPeerInfo"), PEER_INFO) == []
    structure = result(built.dispatcher, "hmyv2_getShardingStructure")
    assert shape_differences(structure, SHARDING_STRUCTURE) == []
    assert [s["current"] for s in structure] == [False, True]  # the fixture chain is shard 1
    assert structure[0]["http"] == ""  # standalone: no endpoint known for shard 0


def test_header_information(built: ChainFixture) -> None:
    d = built.dispatcher
    block = built.blocks[1]
    for method in ("hmyv2_getHeaderByNumber", "hmy_getHeaderByNumber"):
        info = result(d, method, 2)
        assert shape_differences(info, HEADER_INFORMATION_SHARD) == [], method
        assert info["blockHash"] == h(block.hash()) and info["blockNumber"] == 2
        assert info["leader"] == to_bech32(block.header.coinbase)
    assert result(d, "hmyv2_latestHeader")["blockNumber"] == built.blocks[-1].header.number
    too_high = error(d, "hmyv2_getHeaderByNumber", 10_000)
    assert too_high["message"] == "requested block number greater than current block number"
    link = CrossLink(b"\x07" * 32, 5, 5, b"\x01" * 96, b"\x0f", 1, 0)
    beacon_header = dataclasses.replace(
        block.header, shard_id=0, cross_links=encode_crosslinks([link]), vrf=b"\x02" * 128
    )
    info = header_information_json(beacon_header, to_bech32(block.header.coinbase), beacon=True)
    assert shape_differences(info, HEADER_INFORMATION_BEACON) == []
    assert info["vrf"] == "02" * 32 and info["vrfProof"] == "02" * 96
    assert info["crossLinks"][0]["signature"] == "01" * 96
    broken = dataclasses.replace(beacon_header, cross_links=b"\xc3\x01")
    assert header_information_json(broken, "", beacon=True)["crossLinks"] == []


def test_receipts_v1_hex_v2_numbers(built: ChainFixture) -> None:
    tx_hash = h(built.blocks[0].transactions[0].hash())
    v1 = result(built.dispatcher, "hmy_getTransactionReceipt", tx_hash)
    v2 = result(built.dispatcher, "hmyv2_getTransactionReceipt", tx_hash)
    assert shape_differences(v1, RECEIPT_V1) == []
    assert shape_differences(v2, RECEIPT_V2) == []
    assert (
        int(v1["effectiveGasPrice"], 16)
        == v2["effectiveGasPrice"]
        == built.blocks[0].transactions[0].gas_price
    )


def test_block_options_as_go_decodes_them(built: ChainFixture) -> None:
    d = built.dispatcher
    block = built.blocks[0]
    with_staking = result(d, "hmyv2_getBlockByNumber", 1, {"InclStaking": True, "fullTX": False, "extra": 7})
    assert shape_differences(with_staking, BLOCK_V2_HASHES) == []
    # inclTx is not a Go field: transactions are always there; inclStaking defaults to false (null)
    bare = result(d, "hmyv2_getBlockByNumber", 1, {"inclTx": False})
    assert shape_differences(bare, BLOCK_V2_NO_STAKING) == []
    assert bare["transactions"] == [h(tx.hash()) for tx in block.transactions]
    assert result(d, "hmyv2_getBlockByHash", h(block.hash()), {"inclTx": False})["transactions"]
    full = result(d, "hmyv2_getBlockByNumber", 1, {"FULLTX": True, "withsigners": True})
    assert isinstance(full["transactions"][0], dict) and "signers" in full
    # the v1/eth boolean form includes staking transactions
    assert result(d, "hmy_getBlockByNumber", "0x1", False)["stakingTransactions"] == []
    bad = error(d, "hmyv2_getBlockByNumber", 1, {"fullTx": "yes"})
    assert bad["code"] == -32602 and "fullTx" in bad["message"]
    assert error(d, "hmyv2_getBlockByNumber", 1, "full")["code"] == -32602
    past = error(d, "hmyv2_getBlockByNumber", 10_000, {})
    assert past["message"] == "requested block number greater than current block number"
    assert result(d, "eth_getBlockByNumber", hex(10_000), False) is None
