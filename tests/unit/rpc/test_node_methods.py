"""Methods added for Harmony's surface: signing power, chain headers, block receipts, the net namespaces,
hmy_getLogs, accounts; with their bad input."""

from __future__ import annotations

import subprocess
import sys

from harmony.node.peer_info import offline_peer_info
from harmony.rpc.formats import go_header_json
from tests.unit.rpc.conftest import ChainFixture
from tests.unit.rpc.test_dispatch import error, result


def h(value: bytes) -> str:
    return "0x" + value.hex()


def test_last_signing_power_is_the_head_signers_share(built: ChainFixture) -> None:
    power = result(built.dispatcher, "hmyv2_getLastSigningPower")
    # the fixture's head commit carries two of the committee's bits
    assert isinstance(power, float) and 0 < power < 1
    assert round(power * 100) == power * 100  # whole percent, as Go
    assert result(built.dispatcher, "hmy_getLastSigningPower") == power


def test_latest_chain_headers_and_beacon_sync(built: ChainFixture) -> None:
    pair = result(built.dispatcher, "hmyv2_getLatestChainHeaders")
    head = built.chain.head
    assert pair == {"beacon-chain-header": None, "shard-chain-header": go_header_json(head)}
    assert pair["shard-chain-header"]["number"] == hex(head.number)
    refused = error(built.dispatcher, "hmyv2_beaconInSync")
    assert refused["code"] == -32000 and "shard 0" in refused["message"]


def test_block_receipts_in_every_namespace(built: ChainFixture) -> None:
    block = built.blocks[0]
    v2 = result(built.dispatcher, "hmyv2_getBlockReceipts", h(block.hash()))
    assert [r["transactionHash"] for r in v2] == [h(tx.hash()) for tx in block.transactions]
    assert v2[0]["blockNumber"] == 1
    v1 = result(built.dispatcher, "hmy_getBlockReceipts", h(block.hash()))
    assert v1[0]["blockNumber"] == "0x1"
    eth = result(built.dispatcher, "eth_getBlockReceipts", "0x1")
    assert eth[0]["transactionHash"] == h(block.transactions[0].hash_by_type())
    assert result(built.dispatcher, "hmyv2_getBlockReceipts", h(b"\x05" * 32)) is None
    assert error(built.dispatcher, "hmyv2_getBlockReceipts", "0xzz")["code"] == -32602


def test_net_namespaces_and_accounts(built: ChainFixture) -> None:
    d = built.dispatcher
    assert result(d, "net_peerCount") == "0x0" and result(d, "netv1_peerCount") == "0x0"
    assert result(d, "netv2_peerCount") == 0
    assert result(d, "net_version") == str(built.chain.params.eth_chain_id(built.chain.shard_id))
    assert result(d, "netv2_version") == str(built.chain.params.chain_id)
    assert result(d, "netv1_listening") is True
    assert result(d, "hmy_accounts") == [] and result(d, "hmyv2_accounts") == []
    assert error(d, "netv2_peerCount", 1)["code"] == -32602


def test_hmy_get_logs(built: ChainFixture) -> None:
    eth_logs = result(built.dispatcher, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    hmy_logs = result(built.dispatcher, "hmy_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    assert len(hmy_logs) == len(eth_logs) >= 1
    assert error(built.dispatcher, "hmy_getLogs", {"fromBlock": "nope"})["code"] == -32602


def test_signed_blocks_needs_the_beacon_chain(built: ChainFixture) -> None:
    refused = error(built.dispatcher, "hmyv2_getSignedBlocks", "0x" + "11" * 20)
    assert refused["code"] == -32000 and "shard 0" in refused["message"]


def test_standalone_peer_info_is_the_node_s_offline_answer(built: ChainFixture) -> None:
    assert built.backend.hooks.peer_info() == offline_peer_info("")
    answer = result(built.dispatcher, "hmyv2_getPeerInfo")
    assert answer == {"peerid": "", "blocked-peers": [], "connected-peers": []}


def test_the_rpc_backend_loads_no_libp2p() -> None:
    """The RPC takes the offline answer from the node layer's ``peer_info`` module: no py-libp2p loaded."""
    probe = "import sys, harmony.rpc.backend; print('libp2p' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
