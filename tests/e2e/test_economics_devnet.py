"""Validation of the token-economics simulation against a real devnet (issue 19): one epoch simulated from
the devnet's validators and delegations pays exactly, to the atto, what the devnet paid in that epoch.

A 2-shard devnet of real processes (1 s blocks, localnet's 32-block epochs). An external validator is
created with ``harmony staking`` and delegated to; its BLS key was already added to one node of each shard
(node 3, restarted with the key beside its genesis one), so whichever shard the election seats it on, a
running, synced node signs with it from the epoch's first block: no new process has to start and sync
while the epoch runs. Once the first epoch ``E`` it is elected for has ended, the test opens the beacon
node's LMDB read-only (LMDB allows readers beside the running writer) and:

* reads every validator record from the state at the end of epoch ``E − 1`` and loads them into a fresh
  simulation state (:func:`harmony.sim.economics.load_validators`);
* replays the epoch's beacon headers (their commit bitmaps and crosslinks, the committees the chain
  stored) with :func:`harmony.sim.economics.replay_epoch`;
* compares every validator's lifetime reward and every delegation's pending reward in the simulation with
  the devnet's state at the end of ``E``: equal to the atto, the external validator's strictly grown.

Every wait counts blocks, not seconds (:meth:`Devnet.wait_chain`): on a loaded machine the chain is slower
and the test takes longer, but it only fails if the chain stalls or the event does not come in its blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.cli.devnet import PASSPHRASE
from harmony.crypto.bls_keystore import encrypt_bls_key
from harmony.errors import HarmonyError
from harmony.sim.economics import load_validators, registered_wrappers, replay_epoch
from harmony.state.statedb import StateDB
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.storage.memory import MemoryStore
from harmony.types.shard_state import Committee
from harmony.types.validator import ValidatorWrapper

from .devnet_fixture import Devnet, rpc, running_devnet
from .test_staking import Actor, seat_shard, staking

pytestmark = pytest.mark.e2e

PARAMS = LOCALNET
EPOCH = PARAMS.epochs.blocks_in_epoch(0)
TX_BLOCKS = 20
"""Blocks a staking transaction has to be included in (a loaded pool takes a few)."""
SIGNER_NODE = 3
"""The node of each shard that also holds the external validator's key (not the bootnode, not a VDF prover,
and three of four genesis keys keep the quorum while it restarts)."""


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    root: Path = tmp_path_factory.mktemp("devnet-economics")
    args = ("--shards", "2", "--validators", "4", "--block-time-ms", "1000", "--phase-timeout-ms", "5000")
    with running_devnet(root, *args) as net:
        yield net


def add_key_and_restart(devnet: Devnet, name: str, actor: Actor) -> None:
    """Restart devnet node ``name`` with ``actor``'s BLS key beside its own (one node signs with several
    keys; the devnet's passphrase file opens both)."""
    assert actor.bls is not None
    data = devnet.root / name
    keystore = encrypt_bls_key(actor.bls, PASSPHRASE, light=True)
    (data / "keys" / "external.json").write_text(json.dumps(keystore), encoding="utf-8")
    config = data / "node.toml"
    text = config.read_text(encoding="utf-8")
    own = 'keys = ["keys/bls.json"]'
    assert own in text, text
    config.write_text(text.replace(own, 'keys = ["keys/bls.json", "keys/external.json"]'), encoding="utf-8")
    devnet.kill(name)
    devnet.restart(name)


def _rewards(
    wrappers: tuple[ValidatorWrapper, ...],
) -> dict[bytes, tuple[int, tuple[tuple[bytes, int], ...]]]:
    return {
        w.validator.address: (w.block_reward, tuple((d.delegator_address, d.reward) for d in w.delegations))
        for w in wrappers
    }


def test_one_simulated_epoch_pays_what_the_devnet_paid(
    devnet: Devnet, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("economics-actors")
    validator = Actor(root, "econ-v", dev_account_key(7), b"e2e-economics-validator")
    delegator = Actor(root, "econ-d", dev_account_key(9))
    beacon = devnet.url(0, 0)
    for shard in (0, 1):
        add_key_and_restart(devnet, f"s{shard}n{SIGNER_NODE}", validator)
    staking(
        "create-validator",
        "--keystore", str(validator.keystore),
        "--passphrase-file", str(validator.pass_file),
        "--node", beacon,
        "--name", "economics",
        "--identity", "e2e-economics",
        "--rate", "0.15",
        "--max-rate", "0.9",
        "--max-change-rate", "0.05",
        "--min-self-delegation", "10000",
        "--max-total-delegation", "1000000",
        "--amount", "20000",
        "--bls-keystore", str(validator.dir / "keys" / "bls.json"),
        "--bls-passphrase-file", str(validator.pass_file),
    )  # fmt: skip
    devnet.wait_chain(
        beacon,
        "validator registered",
        lambda: validator.address in rpc(beacon, "hmyv2_getAllValidatorAddresses"),
        blocks=TX_BLOCKS,
    )
    staking(
        "delegate",
        "--keystore", str(delegator.keystore),
        "--passphrase-file", str(delegator.pass_file),
        "--node", beacon,
        "--validator", validator.address,
        "--amount", "3000",
    )  # fmt: skip
    devnet.wait_chain(
        beacon,
        "delegation recorded",
        lambda: any(
            d["delegator_address"] == delegator.address
            for d in rpc(beacon, "hmyv2_getDelegationsByValidator", [validator.address])
        ),
        blocks=TX_BLOCKS,
    )
    recorded = devnet.height(beacon)
    # Elected at the end of the epoch the delegation is in (or the next one, if it came in its last block).
    devnet.wait_chain(
        beacon,
        "elected",
        lambda: validator.address in rpc(beacon, "hmyv2_getElectedValidatorAddresses"),
        blocks=2 * EPOCH,
    )
    epoch = PARAMS.epoch_of(devnet.height(beacon))
    assert PARAMS.epoch_of(recorded) < epoch, "the delegation is in the state the epoch starts from"
    shard = seat_shard(devnet, validator)
    assert shard is not None
    url = devnet.url(shard, 0)
    key = validator.bls_hex.removeprefix("0x")

    def signing() -> bool:
        head = devnet.height(url)
        return any(
            key in [k.removeprefix("0x") for k in rpc(url, "hmyv2_getBlockSignerKeys", [n])]
            for n in range(max(1, head - 5), head + 1)
        )

    devnet.wait_chain(url, "the validator's key signing blocks", signing, blocks=EPOCH // 2)

    last = PARAMS.epoch_last_block(epoch)
    devnet.wait_chain(beacon, f"block {last + 1}", lambda: devnet.height(beacon) > last, blocks=2 * EPOCH)

    db = ChainDB(LMDBStore(devnet.root / "s0n0" / "chain", readonly=True))

    def committee_for(shard_id: int, of_epoch: int) -> Committee | None:
        try:
            return db.committee_for(shard_id, of_epoch)
        except HarmonyError:
            return None

    def state_at(number: int) -> StateDB:
        header = db.get_header_by_number(number)
        assert header is not None
        return StateDB(db.state_nodes(), header.root)

    first = PARAMS.epoch_first_block(epoch)
    start = registered_wrappers(state_at(first - 1))
    end = registered_wrappers(state_at(last))
    headers = [db.get_header_by_number(n) for n in range(first, last + 1)]
    assert all(h is not None for h in headers)

    simulated = StateDB(MemoryStore())
    load_validators(simulated, start)
    payouts = replay_epoch(simulated, PARAMS, [h for h in headers if h is not None], committee_for)

    devnet_rewards = _rewards(end)
    simulated_rewards = _rewards(registered_wrappers(simulated))
    assert simulated_rewards == devnet_rewards
    paid_on_devnet = sum(w.block_reward for w in end) - sum(w.block_reward for w in start)
    assert sum(p.paid for p in payouts) == paid_on_devnet
    ours = devnet_rewards[dev_account_key(7).address]
    before = _rewards(start)[dev_account_key(7).address]
    assert ours[0] > before[0], "the external validator earned in the epoch"
    assert dict(ours[1])[dev_account_key(9).address] > dict(before[1])[dev_account_key(9).address]
