"""End to end on real processes: a validator's whole life on a 2-shard devnet (issue 7).

Two external validators are created with ``harmony staking create-validator`` (our CLI, signing from
keystores, sending over JSON-RPC) and one gets a delegation. At the next epoch the beacon chain's election
seats both. V1's operator runs a node with V1's BLS key on every shard from before the election (the Cuckoo
rule's seat is unknown until then, and may move), and so does V2's operator, whose nodes equivocate. Then:

* V1's key signs blocks, V1 and its delegator earn block rewards, and V1 collects them with CollectRewards;
* V2's node runs with the test-only ``[debug] equivocate`` switch: it double-signs, an honest leader detects
  it, the evidence reaches the beacon chain, and V2 is slashed and banned, the reporter paid;
* V1 keeps its seat while its nodes run; then they are stopped: V1 falls to or below 2/3 signed and
  becomes inactive, and leaves the election.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harmony.chain.genesis import dev_account_key
from harmony.crypto import bls
from harmony.crypto.bls_keystore import encrypt_bls_key
from harmony.crypto.keccak import keccak256
from harmony.crypto.keystore import encrypt_key
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32

from .devnet_fixture import Devnet, attempt, free_ports, rpc, start_devnet

pytestmark = pytest.mark.e2e

ONE = 10**18
PASS = "e2e-staking"
EPOCH_WAIT = 180.0
TX_WAIT = 120.0
"""A transaction's inclusion: room for four failed views (5 + 10 + 20 + 40 s) on a loaded 2-core machine."""


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    root: Path = tmp_path_factory.mktemp("devnet-staking")
    net = start_devnet(
        root, "--shards", "2", "--validators", "4", "--block-time-ms", "1000", "--phase-timeout-ms", "5000"
    )
    try:
        yield net
    finally:
        net.stop()


class Actor:
    """An account with a keystore on disk (and a BLS key for a validator)."""

    def __init__(self, root: Path, name: str, key: PrivateKey, bls_seed: bytes | None = None) -> None:
        self.name = name
        self.key = key
        self.dir = root / name
        (self.dir / "keys").mkdir(parents=True, exist_ok=True)
        self.keystore = self.dir / "account.json"
        self.keystore.write_text(json.dumps(encrypt_key(key.secret, PASS, light=True)), encoding="utf-8")
        self.pass_file = self.dir / "keys" / "pass.txt"
        self.pass_file.write_text(PASS + "\n", encoding="utf-8")
        self.bls: bls.SecretKey | None = None
        if bls_seed is not None:
            self.bls = bls.SecretKey.key_gen(keccak256(bls_seed))
            keystore = encrypt_bls_key(self.bls, PASS, light=True)
            (self.dir / "keys" / "bls.json").write_text(json.dumps(keystore), encoding="utf-8")

    @property
    def address(self) -> str:
        return to_bech32(self.key.address)

    @property
    def bls_hex(self) -> str:
        assert self.bls is not None
        return "0x" + self.bls.public_key.to_bytes().hex()


def staking(*args: str) -> str:
    """Run ``harmony staking …`` and return what it printed (the transaction hash with --node)."""
    out = subprocess.run(
        [sys.executable, "-m", "harmony.cli.main", "staking", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout.strip().splitlines()[-1]


def create_validator(beacon: str, actor: Actor, name: str, *bls: Actor) -> str:
    """``harmony staking create-validator`` for ``actor`` (20,000 ONE, rate 0.1) with the BLS keys of
    ``actor`` and of ``bls`` (actors sharing its account); the transaction hash."""
    keystores = [arg for a in (actor, *bls) for arg in ("--bls-keystore", str(a.dir / "keys" / "bls.json"))]
    return staking(
        "create-validator",
        "--keystore", str(actor.keystore),
        "--passphrase-file", str(actor.pass_file),
        "--node", beacon,
        "--name", f"e2e {name}",
        "--identity", f"e2e-{name}",
        "--rate", "0.1",
        "--max-rate", "0.9",
        "--max-change-rate", "0.05",
        "--min-self-delegation", "10000",
        "--max-total-delegation", "1000000",
        "--amount", "20000",
        *keystores,
        "--bls-passphrase-file", str(actor.pass_file),
    )  # fmt: skip


def wait_for(devnet: Devnet, what: str, check: Any, timeout: float = EPOCH_WAIT, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        done, last = attempt(check)
        if done:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not after {timeout} s (last: {last!r})\n{devnet.diagnose()}")


def info(devnet: Devnet, actor: Actor) -> dict[str, Any]:
    result: dict[str, Any] = rpc(devnet.url(0, 0), "hmyv2_getValidatorInformation", [actor.address])
    return result


def seat_shard(devnet: Devnet, actor: Actor) -> int | None:
    current = rpc(devnet.url(0, 0), "hmyv2_getSuperCommittees")["current"]
    for name, shard in current["quorum-deciders"].items():
        if any(m["bls-public-key"] == actor.bls_hex.removeprefix("0x") for m in shard["committee-members"]):
            return int(name.removeprefix("shard-"))
    return None


def signed_lately(devnet: Devnet, url: str, actor: Actor, blocks: int = 5) -> bool:
    """Whether ``actor``'s BLS key signed one of the last ``blocks`` blocks of the node at ``url``."""
    key = actor.bls_hex.removeprefix("0x")
    head = devnet.height(url)
    return any(
        key in [k.removeprefix("0x") for k in rpc(url, "hmyv2_getBlockSignerKeys", [n])]
        for n in range(max(1, head - blocks), head + 1)
    )


def start_validator_node(
    devnet: Devnet, actor: Actor, shard: int, *, equivocate: bool = False, node_name: str | None = None
) -> None:
    """A node process for ``actor``'s key on ``shard``: a devnet node's configuration with its own ports,
    data, keys and the devnet's bootnode; started (and later stopped) like the devnet's own nodes, under
    ``node_name`` (default: the actor's name)."""
    template = (devnet.root / f"s{shard}n0" / "node.toml").read_text(encoding="utf-8")
    ports = free_ports(4, seed=len(actor.name))
    by_section = {
        "p2p": {
            "port =": f"port = {ports[0]}",
            "bootnodes =": f"bootnodes = {json.dumps([devnet.nodes(0)[0]['p2p']])}",
        },
        "rpc": {"http_port =": f"http_port = {ports[1]}", "ws_port =": f"ws_port = {ports[2]}"},
        "metrics": {"port =": f"port = {ports[3]}"},
        "consensus": {"vdf_compute =": "vdf_compute = false"},
        "debug": {"equivocate =": f"equivocate = {'true' if equivocate else 'false'}"},
    }
    lines = []
    section = ""
    for line in template.splitlines():
        if line.startswith("["):
            section = line.strip("[] ")
        replacements = by_section.get(section, {})
        lines.append(next((v for k, v in replacements.items() if line.startswith(k)), line))
    node = node_name or actor.name
    node_dir = devnet.root / node
    (node_dir / "keys").mkdir(parents=True, exist_ok=True)
    for name in ("bls.json", "pass.txt"):
        (node_dir / "keys" / name).write_bytes((actor.dir / "keys" / name).read_bytes())
    (node_dir / "node.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    devnet.restart(node)
    actor.http = f"http://127.0.0.1:{ports[1]}"  # type: ignore[attr-defined]
    actor.dashboard = f"http://127.0.0.1:{ports[3]}/"  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def actors(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Actor]:
    root = tmp_path_factory.mktemp("actors")
    return {
        "v1": Actor(root, "ext-v1", dev_account_key(7), b"e2e-validator-1"),
        "v2": Actor(root, "ext-v2", dev_account_key(8), b"e2e-validator-2"),
        "delegator": Actor(root, "delegator", dev_account_key(9)),
    }


def test_validators_are_created_and_delegated_to(devnet: Devnet, actors: dict[str, Actor]) -> None:
    beacon = devnet.url(0, 0)
    for name, actor in (("v1", actors["v1"]), ("v2", actors["v2"])):
        assert create_validator(beacon, actor, name).startswith("0x")
    wait_for(
        devnet,
        "both validators registered",
        lambda: (
            {actors["v1"].address, actors["v2"].address} <= set(rpc(beacon, "hmyv2_getAllValidatorAddresses"))
        ),
        timeout=TX_WAIT,
    )
    # V1's operator runs a node on every shard, as it cannot know which shard the Cuckoo rule seats it in
    # (before the election, and later: once V2 is banned, V1 is the only external seat and moves to shard 0):
    # the node on its seat's shard signs from the epoch's first block
    # V2's equivocating nodes likewise: started only once V2 was elected, a node could spend its first epoch
    # syncing on a loaded machine (CI: 30 s to catch up 55 blocks), sign nothing, lose its seat and never
    # be caught double-signing
    for shard in range(len(devnet.manifest["shards"])):
        for v in ("v1", "v2"):
            name = f"{actors[v].name}-s{shard}"
            start_validator_node(devnet, actors[v], shard, equivocate=v == "v2", node_name=name)
    delegator = actors["delegator"]
    staking(
        "delegate",
        "--keystore", str(delegator.keystore),
        "--passphrase-file", str(delegator.pass_file),
        "--node", beacon,
        "--validator", actors["v1"].address,
        "--amount", "1000",
    )  # fmt: skip
    delegations = wait_for(
        devnet,
        "the delegation recorded",
        lambda: [
            d
            for d in rpc(beacon, "hmyv2_getDelegationsByValidator", [actors["v1"].address])
            if d["delegator_address"] == delegator.address
        ],
        timeout=TX_WAIT,
    )
    assert delegations[0]["amount"] == 1000 * ONE
    v1 = info(devnet, actors["v1"])
    assert v1["validator"]["rate"] == "0.100000000000000000"
    assert v1["total-delegation"] == 21_000 * ONE


def test_they_are_elected_and_their_nodes_sign(devnet: Devnet, actors: dict[str, Actor]) -> None:
    beacon = devnet.url(0, 0)
    wait_for(
        devnet,
        "both elected",
        lambda: (
            {actors["v1"].address, actors["v2"].address}
            <= set(rpc(beacon, "hmyv2_getElectedValidatorAddresses"))
        ),
    )
    v1 = info(devnet, actors["v1"])
    assert v1["currently-in-committee"] is True and v1["epos-status"] == "currently elected"
    assert float(v1["epos-winning-stake"]) > 0
    shard1 = seat_shard(devnet, actors["v1"])
    assert shard1 is not None and seat_shard(devnet, actors["v2"]) is not None
    url = devnet.url(shard1, 0)
    wait_for(devnet, "V1's key signing blocks", lambda: signed_lately(devnet, url, actors["v1"]))


def test_the_equivocating_validator_is_slashed_and_banned(devnet: Devnet, actors: dict[str, Actor]) -> None:
    before = 20_000 * ONE

    def banned() -> dict[str, Any] | None:
        record = info(devnet, actors["v2"])
        return record if record["active-status"] == "banned" else None

    v2 = wait_for(devnet, "V2 banned", banned)
    assert v2["booted-status"] == "banned"
    assert v2["total-delegation"] < before  # the self-stake was slashed


def test_rewards_are_earned_and_collected(devnet: Devnet, actors: dict[str, Actor]) -> None:
    beacon = devnet.url(0, 0)

    def earning() -> dict[str, Any] | None:
        record = info(devnet, actors["v1"])
        return record if record["lifetime"]["reward-accumulated"] > 0 else None

    v1 = wait_for(devnet, "V1 earning rewards", earning)
    delegations = {d["delegator-address"]: d for d in v1["validator"]["delegations"]}
    assert delegations[actors["v1"].address]["reward"] > 0

    # each key's earning of an epoch (Harmony's metrics.by-bls-key[].earned-reward) sums to what the
    # validator earned in that epoch, read at the epoch's last block: the newest finished epoch in which V1
    # held its seat and earned (on an overloaded machine V1's nodes can still miss a third of an epoch's
    # blocks, and V1 then loses its seat in the next one; a node that synced late used to miss its whole
    # first epoch, until coded propagation kept the round peers named while it was behind)
    def info_at(block: int) -> dict[str, Any]:
        return rpc(beacon, "hmyv2_getValidatorInformationByBlockNumber", [actors["v1"].address, block])

    scanned: list[str] = []
    """Each finished epoch of the last scan: seated at its end, and earned in it (a failure prints them)."""

    def per_key_and_total() -> tuple[list[Any], int] | None:
        head = rpc(beacon, "hmyv2_blockNumber")
        epoch = rpc(beacon, "hmyv2_getBlockByNumber", [head, {"fullTx": False}])["epoch"]
        scanned.clear()
        for finished in range(epoch - 1, 0, -1):
            at_end = info_at(rpc(beacon, "hmyv2_epochLastBlock", [finished]))
            at_start = info_at(rpc(beacon, "hmyv2_epochLastBlock", [finished - 1]))
            earned = at_end["lifetime"]["reward-accumulated"] - at_start["lifetime"]["reward-accumulated"]
            seated = at_end["metrics"]["by-bls-key"]
            scanned.append(f"epoch {finished}: seated {bool(seated)}, earned {earned}")
            if seated and earned > 0:
                return seated, earned
        return None

    try:
        keys, earned = wait_for(devnet, "V1 earning in the current epoch", per_key_and_total)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nV1 by finished epoch: {'; '.join(scanned)}") from None
    assert [k["key"]["bls-public-key"] for k in keys] == [actors["v1"].bls_hex.removeprefix("0x")]
    assert sum(k["earned-reward"] for k in keys) == earned
    wait_for(
        devnet,
        "the delegator earning",
        lambda: any(
            d["reward"] > 0
            for d in rpc(beacon, "hmyv2_getDelegationsByDelegator", [actors["delegator"].address])
        ),
    )
    balance = int(rpc(beacon, "hmyv2_getBalance", [actors["v1"].address]))
    staking(
        "collect-rewards",
        "--keystore", str(actors["v1"].keystore),
        "--passphrase-file", str(actors["v1"].pass_file),
        "--node", beacon,
    )  # fmt: skip
    wait_for(
        devnet,
        "the rewards paid out",
        lambda: int(rpc(beacon, "hmyv2_getBalance", [actors["v1"].address])) > balance,
        timeout=TX_WAIT,
    )


def test_a_stopped_validator_becomes_inactive_and_leaves_the_election(
    devnet: Devnet, actors: dict[str, Actor]
) -> None:
    # V1's node ran from the start of its first epoch and the leaders wait for late commits, so it kept
    # its seat (before the commit window it was left out of most bitmaps and was already inactive here)
    record = info(devnet, actors["v1"])
    if record["active-status"] != "active":
        # on an overloaded machine (a CI run at load 17: 25 node processes and the simulator on 2 cores)
        # V1's nodes can miss a third of an epoch's blocks, and V1 rightly loses its seat before it is
        # stopped; its operator then does what Harmony's operators do, EditValidator back to active, and
        # the test starts once V1 is seated and signing again
        reactivate(devnet, actors["v1"], record)
    assert info(devnet, actors["v1"])["active-status"] == "active"
    for shard in range(len(devnet.manifest["shards"])):
        devnet.kill(f"{actors['v1'].name}-s{shard}")
    wait_for(
        devnet,
        "V1 inactive",
        lambda: info(devnet, actors["v1"])["active-status"] == "inactive",
        timeout=2 * EPOCH_WAIT,
    )
    wait_for(
        devnet,
        "V1 out of the committee",
        lambda: actors["v1"].address not in rpc(devnet.url(0, 0), "hmyv2_getElectedValidatorAddresses"),
    )


def reactivate(devnet: Devnet, actor: Actor, record: dict[str, Any]) -> None:
    """Send ``actor``'s EditValidator to active and wait until it is elected again and its key signs."""
    print(f"{actor.name} was {record['active-status']} before its nodes were stopped ({record['lifetime']})")
    staking(
        "edit-validator",
        "--keystore", str(actor.keystore),
        "--passphrase-file", str(actor.pass_file),
        "--node", devnet.url(0, 0),
        "--status", "active",
    )  # fmt: skip
    wait_for(devnet, f"{actor.name} active again", lambda: info(devnet, actor)["active-status"] == "active")
    wait_for(
        devnet,
        f"{actor.name} elected again",
        lambda: actor.address in rpc(devnet.url(0, 0), "hmyv2_getElectedValidatorAddresses"),
    )

    def seated() -> list[int] | None:
        shard = seat_shard(devnet, actor)
        return None if shard is None else [shard]

    url = devnet.url(wait_for(devnet, f"{actor.name} seated", seated)[0], 0)
    wait_for(devnet, f"{actor.name}'s key signing", lambda: signed_lately(devnet, url, actor))
