"""The fence methods on a real beacon chain in LMDB (issue 21): a fenced genesis, a validator created and
attested by staking transactions in blocks, then ``getFences`` and ``getAttestations`` read back; a forged
attestation sent over RPC is refused by the staking pool with its reason; bad parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harmony.chain.fences import Fence
from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.chain.staking.transactions import StakingContext, apply_staking_message
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32
from harmony.node.blockchain import Blockchain
from harmony.node.staking_pool import StakingPool
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.staking import Attest, Revoke, StakingTransaction
from tests.unit.chain.staking.test_transactions import create_msg
from tests.unit.rpc.test_dispatch import error, result
from tests.unit.rpc.test_staking_beacon import Beacon, _stx

ATTESTOR, OUTSIDER = PrivateKey(b"\x31" * 32), PrivateKey(b"\x32" * 32)
_PLAIN = make_localnet_genesis(accounts=4, timestamp=1_000)
GENESIS = replace(
    _PLAIN,
    shards=(_PLAIN.shards[0], replace(_PLAIN.shards[1], fence="EU")),
    fences=(Fence("EU", (ATTESTOR.address,), min_seats=1),),
)
VKEY = dev_account_key(0)
V = VKEY.address


def _attest(key: PrivateKey, serial: int) -> Attest:
    return Attest.signed(
        key, LOCALNET.chain_id, validator_address=V, jurisdiction="EU", expiry_epoch=50, serial=serial
    )


class FencedBeacon(Beacon):
    def __init__(self, path: Path) -> None:
        self.store = LMDBStore(path)
        self.chain = Blockchain.open(ChainDB(self.store), GENESIS, 0)


@pytest.fixture(scope="module")
def fenced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FencedBeacon, Dispatcher]]:
    b = FencedBeacon(tmp_path_factory.mktemp("fenced") / "db")
    b.step([_stx(VKEY, 0, create_msg(V, (1,)), gas=6_000_000)])
    b.step([_stx(VKEY, 1, _attest(ATTESTOR, 1))])
    head = b.chain.head
    ctx = StakingContext(LOCALNET, head.epoch, head.number + 1, fences=b.chain.rules.fences)

    def check(tx: StakingTransaction, sender: bytes) -> None:
        apply_staking_message(b.chain.state(), tx.msg, ctx)

    pool = TxPool(LOCALNET, 0, WorldStateReader(b.chain.state()))
    staking_pool = StakingPool(LOCALNET, 0, b.chain.accounts(), check=check)
    yield b, Dispatcher(RPCBackend(b.chain, pool, staking_pool=staking_pool))
    b.store.close()


def test_the_fences_come_from_the_genesis(fenced: tuple[FencedBeacon, Dispatcher]) -> None:
    _, d = fenced
    for prefix in ("hmy", "hmyv2"):
        assert result(d, f"{prefix}_getFences") == {
            "fences": [
                {
                    "jurisdiction": "EU",
                    "shards": [1],
                    "attestors": [to_bech32(ATTESTOR.address)],
                    "minSeats": 1,
                    "minStakeShare": "0.000000000000000000",
                    "maxAttestationEpochs": 365,
                }
            ],
            "shardFences": [None, "EU"],
        }


def test_an_attestation_in_a_block_is_visible(fenced: tuple[FencedBeacon, Dispatcher]) -> None:
    b, d = fenced
    attestation = {
        "jurisdiction": "EU",
        "attestor": to_bech32(ATTESTOR.address),
        "expiryEpoch": 50,
        "live": True,
    }
    assert result(d, "hmyv2_getAttestations", to_bech32(V)) == [attestation]
    assert result(d, "hmy_getAttestations", "0x" + V.hex()) == [attestation]
    assert result(d, "hmyv2_getAttestations", to_bech32(dev_account_key(3).address)) == []
    mined = b.chain.db.get_block_by_number(2)
    assert mined is not None
    stx = result(d, "hmyv2_getStakingTransactionByHash", "0x" + mined.staking_transactions[0].hash().hex())
    assert stx["type"] == "Attest" and stx["msg"]["jurisdiction"] == "EU" and stx["msg"]["serial"] == 1


def test_a_forged_attestation_is_refused_over_rpc(fenced: tuple[FencedBeacon, Dispatcher]) -> None:
    b, d = fenced
    nonce = b.chain.state().get_nonce(V)
    forged = _stx(VKEY, nonce, _attest(OUTSIDER, 2))
    err = error(d, "hmyv2_sendRawStakingTransaction", "0x" + forged.encode().hex())
    assert "not_attestor" in err["message"]
    revoke = _stx(VKEY, nonce, Revoke(V, V, "EU"))  # a validator is not an attestor
    assert (
        "not_attestor" in error(d, "hmyv2_sendRawStakingTransaction", "0x" + revoke.encode().hex())["message"]
    )


@pytest.mark.parametrize("params", [[], ["one1nope"], [7], ["0x12"], ["0x" + "00" * 20, 1]])
def test_bad_parameters(fenced: tuple[FencedBeacon, Dispatcher], params: list[object]) -> None:
    _, d = fenced
    err = error(d, "hmyv2_getAttestations", *params)
    assert err["code"] == -32602


def test_an_unfenced_network_answers_empty(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "db")
    try:
        chain = Blockchain.open(ChainDB(store), _PLAIN, 0)
        d = Dispatcher(RPCBackend(chain, TxPool(LOCALNET, 0, WorldStateReader(chain.state()))))
        assert result(d, "hmyv2_getFences") == {"fences": [], "shardFences": [None, None]}
        assert result(d, "hmyv2_getAttestations", to_bech32(V)) == []
    finally:
        store.close()
