"""The beacon chain's election in a fenced network (issue 21), on a real chain in LMDB: three validators,
one attested for the fence; at the end of epoch 0 the fenced shard gets only the attested one, and every
validator of the chain (the proposer's build and the verifier's check) agrees; ``hmyv2_getFenceStatus`` says
how many attested seats the fenced shard holds and, when nobody is attested, why it kept its operators."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harmony.chain.fences import Fence
from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.chain.staking.attestations import is_attested
from harmony.crypto.secp256k1 import PrivateKey
from harmony.node.blockchain import Blockchain
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.staking import Attest
from tests.unit.chain.staking.test_transactions import create_msg
from tests.unit.rpc.test_dispatch import error, result
from tests.unit.rpc.test_staking_beacon import Beacon, _stx

ATTESTOR = PrivateKey(b"\x41" * 32)
_PLAIN = make_localnet_genesis(accounts=4, timestamp=1_000)
GENESIS = replace(
    _PLAIN,
    shards=(_PLAIN.shards[0], replace(_PLAIN.shards[1], fence="EU")),
    fences=(Fence("EU", (ATTESTOR.address,)),),
)
KEYS = [dev_account_key(i) for i in range(3)]
A, B, C = (k.address for k in KEYS)


class FencedBeacon(Beacon):
    def __init__(self, path: Path) -> None:
        self.store = LMDBStore(path)
        self.chain = Blockchain.open(ChainDB(self.store), GENESIS, 0)


def _status(chain: Blockchain) -> object:
    pool = TxPool(LOCALNET, 0, WorldStateReader(chain.state()))
    return result(Dispatcher(RPCBackend(chain, pool)), "hmyv2_getFenceStatus")


def _external(chain: Blockchain, epoch: int, shard: int) -> set[bytes]:
    shard_state = chain.db.get_shard_state(epoch)
    assert shard_state is not None
    return {s.ecdsa_address for s in shard_state.committee(shard).slots if s.effective_stake is not None}


def test_only_the_attested_validator_is_seated_on_the_fenced_shard(tmp_path: Path) -> None:
    b = FencedBeacon(tmp_path / "db")
    try:
        b.step([_stx(key, 0, create_msg(key.address, (i + 1,)), gas=6_000_000) for i, key in enumerate(KEYS)])
        attest = Attest.signed(
            ATTESTOR, LOCALNET.chain_id, validator_address=A, jurisdiction="EU", expiry_epoch=9, serial=1
        )
        b.step([_stx(KEYS[0], 1, attest)])
        assert is_attested(b.chain.state(), A, "EU", 1)
        while b.chain.head.number < LOCALNET.epoch_last_block(0) + 1:
            b.step()
        assert _external(b.chain, 1, 1) == {A}  # the fenced shard: the attested validator only
        assert _external(b.chain, 1, 0) == {B, C}  # the unattested ones on the beacon chain
        assert b.chain.rules.fences.jurisdiction_of(1) == "EU"
        assert _status(b.chain) == [
            {
                "jurisdiction": "EU",
                "epoch": 1,
                "shards": [1],
                "attestedSeats": {"1": 1},
                "attestedValidators": 1,
                "short": False,
                "reason": None,
                "message": None,
            }
        ]
    finally:
        b.store.close()


def test_nobody_attested_leaves_the_fenced_shard_to_its_operators(tmp_path: Path) -> None:
    b = FencedBeacon(tmp_path / "db")
    try:
        b.step([_stx(key, 0, create_msg(key.address, (i + 1,)), gas=6_000_000) for i, key in enumerate(KEYS)])
        while b.chain.head.number < LOCALNET.epoch_last_block(0) + 1:
            b.step()
        assert _external(b.chain, 1, 1) == set()
        assert _external(b.chain, 1, 0) == {A, B, C}
        committee = b.chain.db.get_shard_state(1)
        assert committee is not None and len(committee.committee(1).slots) == LOCALNET.harmony_seats_per_shard
        (status,) = _status(b.chain)  # type: ignore[misc]
        assert status["short"] is True and status["reason"] == "min_seats"
        assert status["attestedSeats"] == {"1": 0} and status["attestedValidators"] == 0
        assert "0 attested validators elected for EU" in status["message"]
        pool = TxPool(LOCALNET, 0, WorldStateReader(b.chain.state()))
        assert error(Dispatcher(RPCBackend(b.chain, pool)), "hmyv2_getFenceStatus", 1)["code"] == -32602
    finally:
        b.store.close()
