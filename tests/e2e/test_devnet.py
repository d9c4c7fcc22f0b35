"""End to end on real processes: ``harmony devnet`` (4 validators, libp2p, FBFT, LMDB) used by real clients.

One devnet serves the tests of this module, in order: web3.py transfers, pyhmy reads of Harmony-format
transfers our own code signs, a validator killed with SIGKILL that restarts and catches up, the leader killed
and the chain going on after a view change, a late node syncing, and (last, once the chain is past 64 blocks)
the nodes pruning their own state while ``harmony db inspect`` reads a running node's directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import rlp  # type: ignore[import-untyped]
from eth_account import Account
from pyhmy import account, blockchain, transaction
from trie import HexaryTrie  # type: ignore[import-untyped]
from web3 import Web3

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32
from harmony.types.transaction import Transaction

from .devnet_fixture import Devnet, free_base_port, rpc, start_devnet
from .solidity import CONTRACTS, compile_contracts

pytestmark = pytest.mark.e2e

GWEI = 10**9


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    root: Path = tmp_path_factory.mktemp("devnet")
    net = start_devnet(
        root, "--shards", "1", "--validators", "4", "--block-time-ms", "1000", "--phase-timeout-ms", "5000"
    )
    try:
        yield net
    finally:
        net.stop()


def _wait_receipt(
    url: str, tx_hash: str, method: str = "eth_getTransactionReceipt", timeout: float = 60
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = rpc(url, method, [tx_hash])
        if receipt:
            return receipt
        time.sleep(0.3)
    raise AssertionError(f"no receipt for {tx_hash} after {timeout} s")


def test_web3_transfer_is_finalized_and_readable(devnet: Devnet) -> None:
    url = devnet.url(0, 1)
    w3 = Web3(Web3.HTTPProvider(url))
    assert w3.eth.chain_id == LOCALNET.eth_chain_id(0)
    sender = Account.from_key(devnet.manifest["funded_accounts"][0]["private_key"])
    receiver = Account.create()
    nonce = w3.eth.get_transaction_count(sender.address)
    value = 12_345 * GWEI
    signed = sender.sign_transaction(
        {
            "nonce": nonce,
            "to": receiver.address,
            "value": value,
            "gas": 21_000,
            "gasPrice": 2 * GWEI,
            "chainId": LOCALNET.eth_chain_id(0),
        }
    )
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.3)
    assert receipt["status"] == 1 and receipt["gasUsed"] == 21_000
    # every node of the shard stored the same block and state
    for node in devnet.nodes(0):
        other = Web3(Web3.HTTPProvider(node["http"]))
        devnet.wait_height(node["http"], receipt["blockNumber"])
        assert other.eth.get_balance(receiver.address) == value
        assert other.eth.get_block(receipt["blockNumber"])["hash"] == receipt["blockHash"]
    assert w3.eth.get_transaction(tx_hash)["from"] == sender.address
    assert w3.eth.get_transaction_count(sender.address) == nonce + 1


def test_web3_get_proof_verifies_against_the_block_state_root(devnet: Devnet) -> None:
    """EIP-1186 through web3.py: a funded account's proof checks out with py-trie against the block's root."""
    w3 = Web3(Web3.HTTPProvider(devnet.url(0, 1)))
    holder = Account.from_key(devnet.manifest["funded_accounts"][3]["private_key"])
    number = w3.eth.block_number
    proof = w3.eth.get_proof(holder.address, [0, 1], number)
    root = bytes(w3.eth.get_block(number)["stateRoot"])
    nodes = [rlp.decode(bytes(node)) for node in proof["accountProof"]]
    found = rlp.decode(HexaryTrie.get_from_proof(root, keccak256(bytes.fromhex(holder.address[2:])), nodes))
    assert int.from_bytes(found[1], "big") == proof["balance"] == w3.eth.get_balance(holder.address, number)
    assert int.from_bytes(found[0], "big") == proof["nonce"]
    slots = [
        (int.from_bytes(s["key"], "big"), int.from_bytes(s["value"], "big"), s["proof"])
        for s in proof["storageProof"]
    ]
    assert slots == [(0, 0, []), (1, 0, [])]


def test_pyhmy_reads_a_harmony_format_transfer_signed_by_our_code(devnet: Devnet) -> None:
    url = devnet.url(0, 2)
    key: PrivateKey = dev_account_key(1)
    to = PrivateKey(b"\x07" * 32).address
    nonce = account.get_account_nonce(to_bech32(key.address), endpoint=url)
    tx = Transaction(nonce, 2 * GWEI, 21_000, 0, 0, to, 777, b"").sign(key, LOCALNET.chain_id)
    tx_hash = rpc(url, "hmyv2_sendRawTransaction", ["0x" + tx.encode().hex()])
    assert tx_hash == "0x" + tx.hash().hex()
    _wait_receipt(url, tx_hash, "hmyv2_getTransactionReceipt")
    receipt = transaction.get_transaction_receipt(tx_hash, endpoint=url)
    assert receipt["status"] == 1
    assert account.get_balance(to_bech32(to), endpoint=url) == 777
    block = blockchain.get_block_by_number(
        receipt["blockNumber"], full_tx=True, include_tx=True, include_signers=True, endpoint=url
    )
    assert any(t["hash"] == tx_hash for t in block["transactions"])
    assert blockchain.get_shard(endpoint=url) == 0
    assert len(block["signers"]) >= 3  # a quorum of the 4 keys signed it
    # the devnet's nodes keep the per-address history an explorer serves (a validator's default does not)
    assert tx_hash in account.get_transaction_history(to_bech32(to), tx_type="RECEIVED", endpoint=url)


def _consensus_event(node: dict, event: str) -> int:
    """A node's ``hmy_consensus_events`` counter for ``event`` (0 until it first happens)."""
    with urllib.request.urlopen(node["metrics"], timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(rf'^hmy_consensus_events_total\{{event="{event}"\}} (\S+)$', text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def test_a_transfer_sent_to_a_non_leader_goes_to_the_next_leaders_and_is_final(devnet: Devnet) -> None:
    """``[p2p] tx_relay = "leaders"`` (the default): a node that does not lead its view sends the transfer its
    RPC took straight to the peers of the next leaders (learned from their messages once each has led: two
    rotations of four), or keeps it for its own proposal when it leads one of them, never on gossip, and the
    transfer is final as usual."""
    devnet.wait_height(devnet.url(0, 0), 8)
    node = None
    deadline = time.monotonic() + 60
    while node is None and time.monotonic() < deadline:
        for candidate in devnet.nodes(0):
            if not rpc(candidate["http"], "hmyv2_getNodeMetadata")["is-leader"]:
                node = candidate
                break
    assert node is not None, "every node said it leads for a minute"
    url = node["http"]
    direct, gossip = (
        _consensus_event(node, e) for e in ("tx_batches_direct", "tx_batches_topic_unknown_leader")
    )
    key: PrivateKey = dev_account_key(7)
    nonce = account.get_account_nonce(to_bech32(key.address), endpoint=url)
    to = PrivateKey(b"\x08" * 32).address
    tx = Transaction(nonce, 2 * GWEI, 21_000, 0, 0, to, 4_321, b"").sign(key, LOCALNET.chain_id)
    tx_hash = rpc(url, "hmyv2_sendRawTransaction", ["0x" + tx.encode().hex()])
    _wait_receipt(url, tx_hash, "hmyv2_getTransactionReceipt")
    assert account.get_balance(to_bech32(to), endpoint=url) == 4_321
    # straight to the next leaders, or into its own pool when it leads one of the next views itself (it
    # skips its own keys; CI run: no direct batch at all, and the transfer final)
    assert _consensus_event(node, "tx_batches_direct") >= direct
    assert _consensus_event(node, "tx_batches_topic_unknown_leader") == gossip


def test_a_validator_killed_with_sigkill_restarts_and_catches_up(devnet: Devnet) -> None:
    """It restarts as a plain validator would run, without the transaction history: its database records
    that, its history methods say how to keep it, and it catches up and signs."""
    victim = devnet.nodes(0)[3]
    devnet.kill(victim["name"])
    survivor = devnet.url(0, 0)
    before = devnet.height(survivor)
    devnet.wait_height(survivor, before + 3, timeout=90)  # 3 of 4 keys are still a quorum
    devnet.restart(victim["name"], "--no-tx-history")
    target = devnet.height(survivor) + 2
    devnet.wait_height(victim["http"], target, timeout=120)
    assert "transaction history not kept" in devnet.log(victim["name"])
    with pytest.raises(ValueError, match="tx_history = true"):
        rpc(victim["http"], "hmyv2_getTransactionsCount", [to_bech32(dev_account_key(1).address), "ALL"])
    _assert_signs(devnet, survivor, victim)


def _assert_signs(devnet: Devnet, survivor: str, victim: dict, window: int = 12) -> None:
    """The victim's key appears in the commit bitmap of one of the next ``window`` blocks (a leader
    finalizes with the first quorum, so a slow node may miss some blocks: look over a window)."""
    first = devnet.height(survivor) + 1
    devnet.wait_height(survivor, first + window, timeout=120 + 2 * window)
    signed = [
        n
        for n in range(first, first + window)
        if victim["bls_public_key"]
        in [s.removeprefix("0x") for s in rpc(survivor, "hmyv2_getBlockSignerKeys", [n])]
    ]
    assert signed, f"{victim['name']} signed none of blocks {first}..{first + window - 1}"


def test_a_validator_with_only_a_bootnode_state_syncs_joins_and_signs(devnet: Devnet) -> None:
    """Issue 18's "done when": a validator whose chain is gone starts with ``--sync.mode state`` and only
    the bootnode, verifies the epoch chain, downloads a recent epoch's state, block-syncs to the head and
    signs; it never replays the blocks before the pivot."""
    victim = devnet.nodes(0)[2]
    survivor = devnet.url(0, 0)
    devnet.wait_height(survivor, LOCALNET.epoch_last_block(0) + 2, timeout=120)  # an epoch has ended
    devnet.kill(victim["name"])
    data = devnet.root / victim["name"]
    shutil.rmtree(data / "chain")  # a new machine with the validator's keys (and its signer's record)
    log_path = data / "state-sync.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harmony.cli.main",
            "node",
            "--config",
            str(data / "node.toml"),
            "--sync.mode",
            "state",
            "--bootnodes",
            devnet.nodes(0)[0]["p2p"],
        ],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=data,
        start_new_session=True,
    )
    devnet.restarted[victim["name"]] = proc  # the fixture stops it
    try:
        devnet.wait_height(victim["http"], devnet.height(survivor), timeout=150)
        log = log_path.read_text(errors="replace")
        assert "state sync: epoch chain verified" in log and "is the head; block sync goes on" in log, log[
            -3000:
        ]
        pivot = int(log.split("state sync: block ")[1].split()[0])
        assert pivot > 0 and LOCALNET.is_last_block(pivot)
        # on a loaded machine the node may start so late that its pivot is at or past the height waited
        # for above: wait for a block it stores itself before reading which blocks it stored
        devnet.wait_height(victim["http"], pivot + 1, timeout=120)
        log = log_path.read_text(errors="replace")
        # nothing up to the pivot was replayed: the first block it stored itself is the pivot's child
        finals = re.findall(r"harmony\.node\.consensus: block (\d+) 0x\S+ final", log)
        assert finals and int(finals[0]) == pivot + 1, finals[:3]
        # its first proposals and votes after joining were seen to miss for 10-15 blocks (likely: a node that
        # joined with only the bootnode is not yet in the others' gossip mesh), so look over 30
        _assert_signs(devnet, survivor, victim, window=30)
    finally:
        print(log_path.read_text(errors="replace")[-3000:])


def _a_leader(devnet: Devnet, timeout: float = 60.0) -> tuple[str, int, int]:
    """A node that says it leads its current view, with that height and view, asked one node at a time (the
    leader rotates every view, so a round of asking all four may find none)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for node in devnet.nodes(0):
            meta = rpc(node["http"], "hmyv2_getNodeMetadata")
            if meta["is-leader"]:
                return str(node["name"]), int(meta["consensus"]["blocknum"]), int(meta["consensus"]["viewId"])
        time.sleep(0.1)
    raise AssertionError(f"no node said it leads its view within {timeout} s")


def test_killing_the_leader_leads_to_a_view_change(devnet: Devnet) -> None:
    """The node leading view ``v`` at height ``h`` is killed; the others finalize ``h`` and ``h + 1``, and
    block ``h + 1``'s view is past ``v + 1``: a view change replaced the dead leader. When the leader had
    already finished its block before the kill (and did not lead ``h + 1``), no view change was needed: it
    is restarted and the test tries again."""
    tries = []
    for _ in range(3):
        leader, height, view = _a_leader(devnet)
        devnet.kill(leader)
        alive = next(n for n in devnet.nodes(0) if n["name"] != leader)["http"]
        devnet.wait_height(alive, height + 1, timeout=150)
        after = int(rpc(alive, "hmyv2_getBlockByNumber", [height + 1, {"fullTx": False}])["viewID"])
        devnet.restart(leader)
        restarted = next(n for n in devnet.nodes(0) if n["name"] == leader)
        devnet.wait_height(restarted["http"], devnet.height(alive) + 2, timeout=120)  # back and caught up
        if after > view + 1:
            return
        tries.append((leader, height, view, after))
    raise AssertionError(f"each killed leader had finished its block first: {tries}")


def _views(url: str, first: int, last: int) -> list[int]:
    return [
        int(rpc(url, "hmyv2_getBlockByNumber", [n, {"fullTx": False}])["viewID"])
        for n in range(first, last + 1)
    ]


def test_a_leader_stopped_with_sigterm_lets_its_turn_pass(devnet: Devnet) -> None:
    """SIGTERM to the node leading view ``v`` at height ``h``: it stops only once its turn to lead has passed
    (``harmony.node.leave``), so block ``h`` is final in ``v`` and block ``h + 1`` in ``v + 1`` (a killed
    leader's block is re-proposed in a later view: the test above; with the rule off, 3 of 3 tries were).
    Later views are not checked: the rotation of later heights depends on signatures not made yet, and a
    stopped node may still be picked there. A view change from elsewhere on a loaded machine repeats the
    try (up to 3)."""
    tries = []
    for _ in range(3):
        leader, height, view = _a_leader(devnet)
        pid = devnet.pid_of(leader)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        os.kill(pid, signal.SIGTERM)
        started = time.monotonic()
        while time.monotonic() < started + 20 and Path(f"/proc/{pid}/cmdline").exists():
            if not Path(f"/proc/{pid}/cmdline").read_bytes():  # a zombie: exited, not reaped yet
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        alive = next(n for n in devnet.nodes(0) if n["name"] != leader)["http"]
        stopped_at = devnet.height(alive)
        devnet.wait_height(alive, stopped_at + 2, timeout=150)
        views = _views(alive, height - 1, stopped_at + 2)
        devnet.restart(leader)
        restarted = next(n for n in devnet.nodes(0) if n["name"] == leader)
        devnet.wait_height(restarted["http"], devnet.height(alive) + 2, timeout=120)
        if views[1:3] == [view, view + 1]:
            return
        tries.append((leader, pid, cmdline, round(took, 1), height, view, views))
    raise AssertionError(f"every gracefully stopped leader's block took another view: {tries}")


def _compile_counter() -> tuple[list[dict[str, object]], str]:
    contract = compile_contracts(CONTRACTS / "Counter.sol")["Counter"]
    return contract["abi"], contract["bytecode"]


def test_a_solidity_contract_is_deployed_called_and_its_event_read(devnet: Devnet) -> None:
    abi, bytecode = _compile_counter()
    url = devnet.url(0, 0)
    w3 = Web3(Web3.HTTPProvider(url))
    owner = Account.from_key(devnet.manifest["funded_accounts"][2]["private_key"])
    chain_id = LOCALNET.eth_chain_id(0)
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    deploy = factory.constructor().build_transaction(
        {
            "from": owner.address,
            "nonce": w3.eth.get_transaction_count(owner.address),
            "gasPrice": 2 * GWEI,
            "chainId": chain_id,
        }
    )
    tx_hash = w3.eth.send_raw_transaction(owner.sign_transaction(deploy).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.3)
    assert receipt["status"] == 1 and receipt["contractAddress"]
    counter = w3.eth.contract(address=receipt["contractAddress"], abi=abi)
    assert w3.eth.get_code(counter.address) != b""
    call = counter.functions.increment(5).build_transaction(
        {
            "from": owner.address,
            "nonce": w3.eth.get_transaction_count(owner.address),
            "gasPrice": 2 * GWEI,
            "chainId": chain_id,
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(owner.sign_transaction(call).raw_transaction),
        timeout=60,
        poll_latency=0.3,
    )
    assert receipt["status"] == 1
    assert counter.functions.count().call() == 5
    events = counter.events.Incremented().process_receipt(receipt)
    assert [(e["args"]["by"], e["args"]["amount"], e["args"]["total"]) for e in events] == [
        (owner.address, 5, 5)
    ]
    logs = w3.eth.get_logs({"address": counter.address, "fromBlock": 0, "toBlock": "latest"})
    assert len(logs) == 1 and logs[0]["transactionHash"] == receipt["transactionHash"]
    # a revert is reported with its reason, and estimating it fails the same way
    with pytest.raises(Exception, match="amount must be positive"):
        counter.functions.increment(0).call({"from": owner.address})


def test_a_late_node_with_only_a_bootnode_finds_its_peers_and_syncs(devnet: Devnet, tmp_path: Path) -> None:
    bootnode = devnet.nodes(0)[0]["p2p"]
    base = free_base_port()
    data = tmp_path / "late"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harmony.cli.main",
            "node",
            "--genesis",
            devnet.manifest["genesis"],
            "--datadir",
            str(data),
            "--p2p.port",
            str(base),
            "--http.port",
            str(base + 500),
            "--ws.port",
            str(base + 800),
            "--bootnodes",
            bootnode,
            # nothing else: the epoch VDF's difficulty is the genesis file's, as every rule of validity
        ],
        stdout=(tmp_path / "late.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{base + 500}"
        head = devnet.height(devnet.url(0, 0))
        devnet.wait_height(url, head, timeout=120)
        deadline = time.monotonic() + 60
        while int(rpc(url, "net_peerCount"), 16) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert int(rpc(url, "net_peerCount"), 16) >= 2, "the late node found no peer beyond the bootnode"
        assert (
            rpc(url, "eth_getBlockByNumber", [hex(head), False])["hash"]
            == rpc(devnet.url(0, 0), "eth_getBlockByNumber", [hex(head), False])["hash"]
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        print((tmp_path / "late.log").read_text(errors="replace")[-2000:])


PRUNE_TIMEOUT = 240
"""Seconds to wait for a node's first pruning round (once its head passes 128 blocks, then every 64); the
tests above take most of 128 block times on an idle machine, and a loaded one is slower."""


def _harmony(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harmony.cli.main", *args], check=False, capture_output=True, text=True
    )


def test_a_running_node_prunes_and_its_directory_is_read_not_pruned(devnet: Devnet) -> None:
    """A node's loop runs a pruning round once its head passes 128 blocks, when the first state has left the
    kept window (its log says what it kept and deleted); ``db inspect`` reads the running node's directory;
    ``db prune`` refuses it."""
    deadline = time.monotonic() + PRUNE_TIMEOUT
    pruned: dict | None = None
    while pruned is None:
        pruned = next(
            (n for n in devnet.nodes(0) if "pruned the state at head" in devnet.log(n["name"])), None
        )
        assert pruned is not None or time.monotonic() < deadline, (
            f"no pruning round in {PRUNE_TIMEOUT} s\n{devnet.diagnose()}"
        )
        time.sleep(1)
    url = str(pruned["http"])
    account = devnet.manifest["funded_accounts"][0]["eth_address"]
    assert int(rpc(url, "eth_getBalance", [account, "0x0"]), 16) > 0  # genesis is kept
    assert int(rpc(url, "eth_getBalance", [account, "latest"]), 16) > 0

    datadir = Path(pruned["data_dir"])
    inspected = _harmony("db", "inspect", "--json", str(datadir))
    assert inspected.returncode == 0, inspected.stderr
    tables = {t["name"]: t["entries"] for t in json.loads(inspected.stdout)["tables"]}
    assert tables["headers"] > 64 and tables["state trie nodes and code"] > 0
    refused = _harmony("db", "prune", str(datadir))
    assert refused.returncode == 1 and "stop the node first" in refused.stderr
