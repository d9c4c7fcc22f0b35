"""Transactions pre-signed by Harmony's tools for Harmony's localnet (chain ID 2), as pyhmy's test suite sends
them (``tests/sdk-pyhmy/conftest.py``: a transfer by the localnet test account, then its CreateValidator).
Over RPC on a real beacon chain in LMDB whose genesis funds Harmony's localnet accounts
(``--harmony-localnet``), with the staking pool's rule check the node wires: the transfer is accepted and
mined unchanged; the CreateValidator decodes, its signature and hash are Harmony's, and it is refused with
the reason (its BLS key is herumi's encoding, not the IETF ciphersuite's: design §5)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harmony.chain.genesis import dev_bls_key, make_localnet_genesis
from harmony.chain.staking.transactions import StakingContext, apply_staking_message
from harmony.chain.validation import expected_epoch
from harmony.cli.devnet_genesis import as_harmony_localnet, funds_of, with_funds
from harmony.node.blockchain import Blockchain
from harmony.node.staking_pool import StakingPool
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.staking import StakingTransaction
from tests.unit.rpc.harmony_recorded import (
    PRESIGNED_CREATE_VALIDATOR,
    PRESIGNED_CREATE_VALIDATOR_HASH,
    PRESIGNED_TRANSFER,
    PRESIGNED_TRANSFER_HASH,
    TEST_ACCOUNT,
)
from tests.unit.rpc.test_dispatch import error, result


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Blockchain]:
    genesis = as_harmony_localnet(
        with_funds(make_localnet_genesis(accounts=2, timestamp=1_000), funds_of(None, True))
    )
    store = LMDBStore(tmp_path_factory.mktemp("presigned") / "db")
    yield Blockchain.open(ChainDB(store), genesis, 0)
    store.close()


def _dispatcher(chain: Blockchain) -> tuple[TxPool, Dispatcher]:
    """The RPC over the chain's head, with pools as the node's services point them at a new head: the
    staking pool checks the staking rules over the head state in the next block's context."""
    head = chain.head
    reserved = frozenset(s.bls_public_key for seats in chain.rules.operator_slots for s in seats)
    ctx = StakingContext(chain.params, expected_epoch(chain.params, head), head.number + 1, reserved)

    def check(tx: StakingTransaction, sender: bytes) -> None:
        apply_staking_message(chain.state(), tx.msg, ctx)

    pool = TxPool(chain.params, 0, WorldStateReader(chain.state()))
    staking_pool = StakingPool(chain.params, 0, chain.accounts(), check=check)
    return pool, Dispatcher(RPCBackend(chain, pool, staking_pool=staking_pool))


def test_harmonys_presigned_transfer_then_create_validator(chain: Blockchain) -> None:
    pool, d = _dispatcher(chain)
    assert result(d, "hmyv2_chainId") == 2
    assert chain.params.gas_limit(chain.head.epoch) == 80_000_000  # Harmony localnet's, not our preset's
    assert result(d, "hmyv2_sendRawTransaction", PRESIGNED_TRANSFER) == PRESIGNED_TRANSFER_HASH
    built = chain.propose(pool.pending(), leader=dev_bls_key(0, 0), timestamp=chain.head.time + 2)
    assert not built.skipped
    chain.import_block(built.block)
    _, d = _dispatcher(chain)
    assert result(d, "hmyv2_getTransactionReceipt", PRESIGNED_TRANSFER_HASH)["status"] == 1
    assert result(d, "hmyv2_getTransactionCount", TEST_ACCOUNT, "latest") == 1

    decoded = StakingTransaction.decode(bytes.fromhex(PRESIGNED_CREATE_VALIDATOR[2:]))
    assert "0x" + decoded.hash().hex() == PRESIGNED_CREATE_VALIDATOR_HASH and decoded.nonce == 1
    assert decoded.gas_limit == 55_000_000
    refused = error(d, "hmyv2_sendRawStakingTransaction", PRESIGNED_CREATE_VALIDATOR)
    assert refused["code"] == -32000
    message = refused["message"]
    assert "bls_key_invalid" in message and decoded.msg.slot_pub_keys[0].hex() in message
    assert "IETF" in message and "herumi" in message and "harmony keys import-bls" in message
    assert result(d, "hmyv2_getStakingTransactionByHash", PRESIGNED_CREATE_VALIDATOR_HASH) is None
    assert result(d, "hmyv2_getAllValidatorAddresses") == []
