"""The epoch chain as a light client follows it (harmony.chain.epoch_chain): a real beacon chain's epoch-
ending headers verify from genesis, each against the committee the previous one elected; a forged header, a
quorum of the wrong committee, too few signers, a header that does not end its epoch, of another epoch or
another shard, are each refused with the check named."""

from __future__ import annotations

import pytest

from harmony.chain.epoch_chain import InvalidEpochHeader, verify_epoch_block, verify_epoch_header
from harmony.chain.genesis import dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final, sign_commit
from harmony.storage import ChainDB, MemoryStore
from harmony.types.shard_state import ShardState

GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
BEACON_KEYS = [dev_bls_key(0, i) for i in range(3)]
SHARD1_KEYS = [dev_bls_key(1, i) for i in range(3)]
EPOCHS = 3


@pytest.fixture(scope="module")
def beacon() -> Blockchain:
    chain = Blockchain.open(ChainDB(MemoryStore()), GENESIS, 0)
    for _ in range(EPOCHS * 32):
        extend_final(chain, BEACON_KEYS)
    return chain


def _epoch_end(chain: Blockchain, epoch: int) -> tuple[bytes, bytes, bytes]:
    number = LOCALNET.epoch_last_block(epoch)
    header = chain.db.get_header_by_number(number)
    sig = chain.db.get_commit_sig(number)
    assert header is not None and sig is not None
    return header.encode(), sig[0], sig[1]


def _genesis_state(chain: Blockchain) -> ShardState:
    state = chain.db.get_shard_state(0)
    assert state is not None
    return state


def test_the_epoch_chain_verifies_from_genesis(beacon: Blockchain) -> None:
    state = _genesis_state(beacon)
    for epoch in range(EPOCHS):
        raw, sig, bitmap = _epoch_end(beacon, epoch)
        step = verify_epoch_header(LOCALNET, state, epoch=epoch, header_rlp=raw, signature=sig, bitmap=bitmap)
        assert step.header.number == LOCALNET.epoch_last_block(epoch)
        assert step.next_state == beacon.db.get_shard_state(epoch + 1)
        state = step.next_state


def test_bad_epoch_headers_are_refused_with_the_check_named(beacon: Blockchain) -> None:
    state = _genesis_state(beacon)
    raw, sig, bitmap = _epoch_end(beacon, 0)

    def check(
        expected: str, *, header: bytes = raw, signature: bytes = sig, bits: bytes = bitmap, epoch: int = 0
    ) -> None:
        with pytest.raises(InvalidEpochHeader) as caught:
            verify_epoch_header(
                LOCALNET, state, epoch=epoch, header_rlp=header, signature=signature, bitmap=bits
            )
        assert caught.value.check == expected, caught.value

    check("decode", header=raw[:-1])  # truncated
    check("decode", header=b"\xc0")
    forged = bytearray(raw)
    forged[-200] ^= 1  # one bit inside the shard state or a signature field: another hash
    with pytest.raises(InvalidEpochHeader) as caught:
        verify_epoch_header(LOCALNET, state, epoch=0, header_rlp=bytes(forged), signature=sig, bitmap=bitmap)
    assert caught.value.check in {"decode", "last", "commit"}
    check("epoch", epoch=1)
    check("commit", signature=bytes(96))
    check("commit", bits=b"\x01")  # one signer of four: no quorum
    # a quorum of the wrong committee: shard 1's keys sign the beacon header
    block = beacon.db.get_block_by_number(LOCALNET.epoch_last_block(0))
    assert block is not None
    wrong_sig, wrong_bits = sign_commit(block, state.committee(1), SHARD1_KEYS)
    check("commit", signature=wrong_sig, bits=wrong_bits)
    # a valid final header that does not end its epoch
    middle = beacon.db.get_header_by_number(10)
    middle_sig = beacon.db.get_commit_sig(10)
    assert middle is not None and middle_sig is not None
    check("last", header=middle.encode(), signature=middle_sig[0], bits=middle_sig[1])
    # the next epoch's header checked against genesis' committee claims the wrong epoch, then (asked right)
    # the skipped step's committee is what signs it here, so only the epoch rule stands between
    raw1, sig1, bits1 = _epoch_end(beacon, 1)
    check("epoch", header=raw1, signature=sig1, bits=bits1)
    # the beacon header offered as shard 1's
    with pytest.raises(InvalidEpochHeader) as caught:
        verify_epoch_block(LOCALNET, state, shard_id=1, epoch=0, header_rlp=raw, signature=sig, bitmap=bitmap)
    assert caught.value.check == "shard"
    # a shard state without that shard's committee
    only_beacon = ShardState(state.epoch, tuple(c for c in state.shards if c.shard_id == 0))
    with pytest.raises(InvalidEpochHeader) as caught:
        verify_epoch_header(
            LOCALNET, ShardState(state.epoch, ()), epoch=0, header_rlp=raw, signature=sig, bitmap=bitmap
        )
    assert caught.value.check == "committee"
    assert verify_epoch_header(LOCALNET, only_beacon, epoch=0, header_rlp=raw, signature=sig, bitmap=bitmap)
