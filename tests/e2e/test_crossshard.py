"""End to end on real processes: a 2-shard devnet (shard 0 the beacon chain, shard 1), 4 validators each,
every node its own process over libp2p, moving value between shards with receipts proved by commit signatures.

In order, on one devnet: the sharding structure lists both shards; a transfer from shard 0 to 1 and one from
1 to 0 arrive exactly once; a transfer whose destination leader is killed right after sending still arrives
exactly once; the supply summed over both shards plus the receipts in flight equals the supply before minus
the fees burned; the beacon chain records shard 1's crosslinks.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.chain.randomness import (
    InvalidRandomness,
    check_header_vdf,
    check_header_vrf,
    epoch_seed_from_headers,
    vdf_window,
)
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32
from harmony.types.header import Header
from harmony.types.transaction import Transaction

from .devnet_fixture import Devnet, rpc, start_devnet

pytestmark = pytest.mark.e2e

GWEI = 10**9
CREDIT_TIMEOUT = 90.0


VDF_ITERATIONS = 20_000
"""The epoch VDF's difficulty in this devnet's genesis: its prover runs at the lowest CPU priority, and on a
2-core machine running the other end-to-end suites beside it the devnet default (200,000, 1-2 s idle) took
over 90 s, longer than the window a beacon block may carry it in."""


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    root: Path = tmp_path_factory.mktemp("devnet2")
    net = start_devnet(
        root,
        *("--shards", "2", "--validators", "4", "--block-time-ms", "1000", "--phase-timeout-ms", "5000"),
        *("--vdf-iterations", str(VDF_ITERATIONS)),
    )
    try:
        yield net
    finally:
        net.stop()


def _fresh(tag: int) -> bytes:
    return PrivateKey(bytes([tag]) * 32).address


def _balance(url: str, address: bytes, block: int | None = None) -> int:
    if block is None:
        return int(rpc(url, "hmyv2_getBalance", [to_bech32(address)]))
    return int(rpc(url, "hmyv2_getBalanceByBlockNumber", [to_bech32(address), block]))


def _send(devnet: Devnet, key: PrivateKey, src: int, dst: int, to: bytes, value: int) -> tuple[str, dict]:
    """Sign and send a Harmony transfer from shard ``src`` to ``dst``; wait for its source receipt."""
    url = devnet.url(src, 0)
    nonce = int(rpc(url, "hmyv2_getTransactionCount", [to_bech32(key.address), "pending"]))
    tx = Transaction(nonce, GWEI, 21_000, src, dst, to, value).sign(key, LOCALNET.chain_id)
    tx_hash = rpc(url, "hmyv2_sendRawTransaction", ["0x" + tx.encode().hex()])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        receipt = rpc(url, "hmyv2_getTransactionReceipt", [tx_hash])
        if receipt:
            return tx_hash, receipt
        time.sleep(0.3)
    raise AssertionError(f"transfer {tx_hash} not final on shard {src}")


def _wait_credit(url: str, address: bytes, value: int) -> float:
    deadline = time.monotonic() + CREDIT_TIMEOUT
    while time.monotonic() < deadline:
        if _balance(url, address) >= value:
            return time.monotonic()
        time.sleep(0.3)
    raise AssertionError(f"{to_bech32(address)} was not credited {value} within {CREDIT_TIMEOUT} s")


def _stays(devnet: Devnet, shard: int, address: bytes, value: int, blocks: int = 6) -> None:
    """The balance is exactly ``value`` on every node of ``shard`` and stays so for a few more blocks."""
    url = next(n["http"] for n in devnet.nodes(shard) if not n.get("killed"))
    devnet.wait_height(url, devnet.height(url) + blocks, timeout=90)
    for node in devnet.nodes(shard):
        if node.get("killed"):
            continue
        assert _balance(node["http"], address) == value, node["name"]


def _current_leader(devnet: Devnet, shard: int) -> dict:
    """The node of ``shard`` that says it leads now (asked again while a view change is in flight)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for node in devnet.nodes(shard):
            if node.get("killed"):
                continue
            try:
                if rpc(node["http"], "hmyv2_getNodeMetadata").get("is-leader"):
                    return node
            except (OSError, ValueError):
                continue
        time.sleep(0.5)
    raise AssertionError(f"no node of shard {shard} says it leads")


def test_sharding_structure_lists_both_shards(devnet: Devnet) -> None:
    structure = rpc(devnet.url(1, 2), "hmyv2_getShardingStructure")
    assert [s["shardID"] for s in structure] == [0, 1]
    assert [s["current"] for s in structure] == [False, True]
    assert structure[0]["http"] == devnet.url(0, 0)


def test_transfers_between_shards_arrive_exactly_once(devnet: Devnet) -> None:
    key = dev_account_key(3)
    to1, to0 = _fresh(0x31), _fresh(0x32)
    tx_hash, receipt = _send(devnet, key, 0, 1, to1, 1234 * GWEI)
    assert receipt["status"] == 1
    cx = rpc(devnet.url(0, 0), "hmyv2_getCXReceiptByHash", [tx_hash])  # the node that answered the receipt
    assert cx["toShardID"] == 1 and cx["value"] == 1234 * GWEI and cx["to"] == to_bech32(to1)
    _wait_credit(devnet.url(1, 1), to1, 1234 * GWEI)
    _stays(devnet, 1, to1, 1234 * GWEI)
    tx_hash, _ = _send(devnet, key, 1, 0, to0, 4321 * GWEI)
    _wait_credit(devnet.url(0, 2), to0, 4321 * GWEI)
    _stays(devnet, 0, to0, 4321 * GWEI)
    assert _balance(devnet.url(1, 0), to0) == 0 and _balance(devnet.url(0, 0), to1) == 0


def test_killing_the_destination_leader_still_delivers_once(devnet: Devnet) -> None:
    key = dev_account_key(4)
    to = _fresh(0x33)
    leader = _current_leader(devnet, 1)
    _send(devnet, key, 0, 1, to, 55 * GWEI)
    devnet.kill(leader["name"])
    leader["killed"] = True
    survivor = next(n for n in devnet.nodes(1) if n["name"] != leader["name"])
    try:
        _wait_credit(survivor["http"], to, 55 * GWEI)
        _stays(devnet, 1, to, 55 * GWEI)
    finally:
        devnet.restart(leader["name"])
        leader["killed"] = False
        # back in the network before the next test reads from it: answering and caught up
        devnet.wait_height(leader["http"], devnet.height(survivor["http"]), timeout=120)


def test_supply_over_both_shards_is_conserved(devnet: Devnet) -> None:
    """Sum over both shards plus receipts in flight equals the supply before minus the fees burned."""
    senders = [dev_account_key(5), dev_account_key(6)]
    recipients = [_fresh(0x40 + i) for i in range(4)]
    accounts = [k.address for k in senders] + recipients
    url0, url1 = devnet.url(0, 0), devnet.url(1, 0)

    def total(block0: int | None = None, block1: int | None = None) -> int:
        return sum(_balance(url0, a, block0) + _balance(url1, a, block1) for a in accounts)

    before = total()
    sent: list[tuple[str, dict, int, bytes, int]] = []
    plan = [(0, 1, 0, 11), (1, 0, 1, 22), (0, 1, 2, 33), (1, 0, 3, 44)]
    for src, dst, who, amount in plan:
        tx_hash, receipt = _send(devnet, senders[who % 2], src, dst, recipients[who], amount * GWEI)
        sent.append((tx_hash, receipt, dst, recipients[who], amount * GWEI))
    fees = sum(int(r["gasUsed"]) * GWEI for _, r, _, _, _ in sent)
    # a consistent cut: each shard at its current head, receipts not credited at that head are in flight
    head0, head1 = devnet.height(url0), devnet.height(url1)
    in_flight = 0
    for _, receipt, dst, to, amount in sent:
        src_head = head0 if dst == 1 else head1
        if int(receipt["blockNumber"]) > src_head:
            continue  # not debited in the cut either
        dst_url, dst_head = (url1, head1) if dst == 1 else (url0, head0)
        if _balance(dst_url, to, dst_head) == 0:
            in_flight += amount
    assert total(head0, head1) + in_flight + fees == before
    for _, _, dst, to, amount in sent:
        _wait_credit(devnet.url(dst, 1), to, amount)
        # total() reads node 0 of each shard, which may store the crediting block a moment after node 1
        _wait_credit(url1 if dst == 1 else url0, to, amount)
    assert total() + fees == before


def test_the_beacon_chain_records_shard_1_crosslinks(devnet: Devnet) -> None:
    deadline = time.monotonic() + 60
    links: list[dict] = []
    while time.monotonic() < deadline and not links:
        links = rpc(devnet.url(0, 3), "hmyv2_getLastCrossLinks")
        time.sleep(1)
    assert links and links[0]["shard-id"] == 1
    number = links[0]["block-number"]
    block = rpc(devnet.url(1, 0), "hmyv2_getBlockByNumber", [number, {"fullTx": False}])
    assert block["hash"] == links[0]["hash"]
    assert rpc(devnet.url(0, 3), "hmyv2_getNumPendingCrossLinks") >= 0


def _header(url: str, number: int) -> Header:
    return Header.decode(bytes.fromhex(rpc(url, "hmyv2_getHeaderByNumberRLPHex", [number])))


def test_headers_carry_verified_vrf_and_vdf_and_shard_1_follows_the_epoch(devnet: Devnet) -> None:
    """Issue 8 on the devnet: every header's VRF verifies against a committee key of its coinbase; a beacon
    block in epoch 1's window carries the VDF of epoch 0's seed, and it verifies; shard 1 moves to epoch 1."""
    beacon = devnet.url(0, 1)
    first, deadline = vdf_window(LOCALNET, 0)
    devnet.wait_height(beacon, deadline + 1, timeout=180)
    headers = [_header(beacon, n) for n in range(0, deadline + 1)]
    keys = {
        e: [bytes.fromhex(k.removeprefix("0x")) for k in rpc(beacon, "hmyv2_getValidatorKeys", [e])]
        for e in (0, 1)
    }
    for parent, header in itertools.pairwise(headers):
        assert len(header.vrf) == 128, header.number
        verified = False
        for key in keys[header.epoch]:
            try:
                check_header_vrf(header, parent.hash(), key)
                verified = True
                break
            except InvalidRandomness:
                continue
        assert verified, f"the VRF of beacon block {header.number} does not verify"
    seed = epoch_seed_from_headers(headers[1 : LOCALNET.epoch_last_block(0) + 1])
    carriers = [h for h in headers[first : deadline + 1] if h.vdf]
    assert len(carriers) == 1, "exactly one beacon block of the window carries the VDF"
    check_header_vdf(carriers[0], seed, VDF_ITERATIONS)
    shard1 = devnet.url(1, 0)
    deadline_s = time.monotonic() + 120
    while time.monotonic() < deadline_s and int(rpc(shard1, "hmyv2_getEpoch")) < 1:
        time.sleep(1)
    assert int(rpc(shard1, "hmyv2_getEpoch")) >= 1
    head = devnet.height(shard1)
    assert len(_header(shard1, head).vrf) == 128
