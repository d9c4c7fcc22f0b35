"""Cross-shard RPC over a real LMDB chain: a shard-1 → shard-0 transfer's receipt by hash, resendCx with and
without a stored commit signature, crosslink reads refused off the beacon chain, and bad parameters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from harmony.chain.params import LOCALNET
from harmony.crypto.bitmap import encode_bitmap
from harmony.encoding.address import to_bech32
from harmony.node.txpool import TxPool, WorldStateReader
from harmony.rpc.backend import RPCBackend, StandaloneHooks
from harmony.rpc.dispatch import Dispatcher
from harmony.types.cx import CXReceiptsProof
from harmony.types.transaction import Transaction
from tests.unit.rpc.conftest import GENESIS, KEYS, SHARD, ChainFixture, _next, build_chain
from tests.unit.rpc.harmony_recorded import PENDING_CX_PROOF, shape_differences
from tests.unit.rpc.test_dispatch import error, result

GWEI = 10**9
DEST = b"\x0c" * 20


class RecordingHooks(StandaloneHooks):
    def __init__(self, fixture_chain: object) -> None:
        super().__init__(fixture_chain)  # type: ignore[arg-type]
        self.sent: list[CXReceiptsProof] = []

    def resend_cx_proof(self, proof: CXReceiptsProof) -> bool:
        self.sent.append(proof)
        return True

    def pending_cx_proofs(self) -> Sequence[CXReceiptsProof]:
        return tuple(self.sent)


@pytest.fixture
def cx_chain(tmp_path: Path) -> Iterator[tuple[ChainFixture, RecordingHooks, Transaction]]:
    store, chain, blocks = build_chain(tmp_path / "db")
    tx = Transaction(0, GWEI, 21_000, SHARD, 0, DEST, 12345).sign(KEYS[4], LOCALNET.chain_id)
    block = _next(chain, [tx])
    pool = TxPool(LOCALNET, SHARD, WorldStateReader(chain.state()))
    hooks = RecordingHooks(chain)
    backend = RPCBackend(chain, pool, hooks)
    yield ChainFixture(chain, pool, backend, Dispatcher(backend), [*blocks, block]), hooks, tx
    store.close()


def test_receipt_by_hash_and_resend(cx_chain: tuple[ChainFixture, RecordingHooks, Transaction]) -> None:
    fixture, hooks, tx = cx_chain
    d = fixture.dispatcher
    block = fixture.blocks[-1]
    receipt = result(d, "hmyv2_getCXReceiptByHash", "0x" + tx.hash().hex())
    assert receipt == {
        "blockHash": "0x" + block.hash().hex(),
        "blockNumber": block.header.number,
        "hash": "0x" + tx.hash().hex(),
        "from": to_bech32(KEYS[4].address),
        "to": to_bech32(DEST),
        "shardID": SHARD,
        "toShardID": 0,
        "value": 12345,
    }
    assert result(d, "hmy_getCXReceiptByHash", "0x" + tx.hash().hex())["value"] == hex(12345)
    assert result(d, "hmyv2_getCXReceiptByHash", "0x" + "00" * 32) is None
    # the head's commit signature is not stored yet: no proof can be built
    assert result(d, "hmyv2_resendCx", "0x" + tx.hash().hex()) is False
    committee = GENESIS.shard_state().committee(SHARD)
    fixture.chain.db.write_commit_sig(
        block.header.number, b"\x01" * 96, encode_bitmap([0, 1, 2], len(committee.slots))
    )
    assert result(d, "hmyv2_resendCx", "0x" + tx.hash().hex()) is True
    (proof,) = hooks.sent
    assert proof.receipts[0].amount == 12345 and proof.header.hash() == block.hash()
    pending = result(d, "hmyv2_getPendingCXReceipts")
    assert len(pending) == 1 and pending[0]["Receipts"][0]["To"] == "0x" + DEST.hex()
    assert shape_differences(pending[0], PENDING_CX_PROOF) == []
    assert result(d, "hmy_getPendingCXReceipts") == pending  # the same in both versions (Go)
    assert result(d, "hmyv2_getNumPendingCXReceipts") == 1
    assert result(d, "hmyv2_resendCx", "0x" + "00" * 32) is False


def test_crosslinks_are_a_beacon_matter(built: ChainFixture) -> None:
    d = built.dispatcher
    assert "shard 0" in error(d, "hmyv2_getLastCrossLinks")["message"]
    assert result(d, "hmyv2_getNumPendingCrossLinks") == 0


@pytest.mark.parametrize("method", ["hmyv2_getCXReceiptByHash", "hmyv2_resendCx"])
@pytest.mark.parametrize("bad", ["0x12", 5, None, "0x" + "zz" * 32])
def test_bad_hashes(built: ChainFixture, method: str, bad: object) -> None:
    assert error(built.dispatcher, method, bad)["code"] == -32602
