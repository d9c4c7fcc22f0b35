"""Senders recovered ahead of execution in fast sync's checking processes (:func:`recover_senders`), and
what the importer may take from them (:func:`~harmony.types.tx_common.remember_senders`).

The child computes only the pure ``(signing hash, v, r, s) → address``; garbage from a peer gives no result
and never an exception. The importer finds a remembered sender only under the exact signing hash and
signature it recovers from itself, after its own chain-ID checks: an entry recorded for another message,
another signature or another chain cannot stand for a transaction's sender, and a transaction without one
is recovered (or refused) by the importer as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.chain.transactions import InvalidSignature, recover_sender
from harmony.crypto.secp256k1 import PrivateKey
from harmony.node.blockchain import Blockchain
from harmony.node.commit_worker import recover_senders
from harmony.storage import ChainDB, MemoryStore
from harmony.types import tx_common
from harmony.types.block import Block
from harmony.types.transaction import Transaction
from harmony.types.tx_common import (
    SENDER_CACHE_SIZE,
    InvalidChainId,
    KnownSender,
    clear_sender_cache,
    remember_senders,
)

SHARD = 1
GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
HEADER = Blockchain.open(ChainDB(MemoryStore()), GENESIS, SHARD).head
ALICE = dev_account_key(0)
MALLORY = dev_account_key(1)
HARMONY_ID = LOCALNET.chain_id
ETH_ID = LOCALNET.eth_chain_id(SHARD)
ACCEPTED = LOCALNET.accepted_chain_ids(SHARD)
SECP_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture(autouse=True)
def cold_cache() -> Iterator[None]:
    """Every test starts and ends with nothing remembered (the cache is per process)."""
    clear_sender_cache()
    yield
    clear_sender_cache()


def transfer(key: PrivateKey, nonce: int, chain_id: int | None = HARMONY_ID, value: int = 1) -> Transaction:
    tx = Transaction(nonce, 10**9, 21_000, SHARD, SHARD, b"\x22" * 20, value)
    return tx.sign(key, chain_id)


def encoded_block(txs: Sequence[Transaction]) -> bytes:
    return Block(HEADER, tuple(txs)).encode()


def test_the_child_gives_each_sender_under_the_exact_signing_hash_and_signature() -> None:
    txs = [transfer(ALICE, 0), transfer(MALLORY, 0, ETH_ID), transfer(ALICE, 1, None)]
    [known] = recover_senders([encoded_block(txs)])
    expected = [
        (tx.signing_hash(tx.chain_id), tx.v, tx.r, tx.s, key.address)
        for tx, key in zip(txs, [ALICE, MALLORY, ALICE], strict=True)
    ]
    assert known == expected
    # what the importer recovers itself, over the chain IDs it accepts
    assert [recover_sender(tx, LOCALNET, SHARD) for tx in txs] == [e[4] for e in expected]


GARBAGE = [
    ("zero r", lambda tx: replace(tx, r=0)),
    ("r past the order", lambda tx: replace(tx, r=SECP_N)),
    ("high s", lambda tx: replace(tx, s=SECP_N - tx.s)),
    ("huge s", lambda tx: replace(tx, s=2**256 - 1)),
    ("v names no chain", lambda tx: replace(tx, v=30)),
    ("v zero", lambda tx: replace(tx, v=0)),
    ("r not on the curve", lambda tx: replace(tx, r=5)),
]


@pytest.mark.parametrize(("name", "spoil"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_signatures_give_no_result_and_no_exception(name: str, spoil) -> None:  # type: ignore[no-untyped-def]
    good = transfer(ALICE, 0)
    bad = spoil(transfer(MALLORY, 0))
    [known] = recover_senders([encoded_block([bad, good])])
    # the spoiled one is left out (or, for a point off the curve that still recovers, is what the rule
    # recovers: the pure function's answer, never an error)
    assert (good.signing_hash(HARMONY_ID), good.v, good.r, good.s, ALICE.address) in known
    for msg_hash, v, r, s, address in known:
        assert address == tx_common.sender_of(msg_hash, v, r, s)


def test_undecodable_blocks_give_nothing_and_the_others_their_senders() -> None:
    good = encoded_block([transfer(ALICE, 0)])
    blocks = [b"\xc0garbage", good[:-3], b"", good, b"\xff" * 64]
    assert [len(known) for known in recover_senders(blocks)] == [0, 0, 0, 1, 0]


def test_a_sender_remembered_for_another_message_does_not_stand_for_this_one() -> None:
    alice_tx = transfer(ALICE, 0)
    # Mallory's transaction carrying Alice's signature: its own signing hash differs, so an entry for
    # Alice's message (however it got there) is not found, and what recovers is not Alice
    forged = replace(transfer(MALLORY, 0, value=10**18), v=alice_tx.v, r=alice_tx.r, s=alice_tx.s)
    remember_senders([(alice_tx.signing_hash(HARMONY_ID), alice_tx.v, alice_tx.r, alice_tx.s, ALICE.address)])
    recovered = recover_sender(forged, LOCALNET, SHARD, ACCEPTED)
    assert recovered != ALICE.address
    assert recovered == tx_common.sender_of(forged.signing_hash(HARMONY_ID), forged.v, forged.r, forged.s)
    # entries naming Alice under this very transaction's hash but another signature are not found either
    mallory_tx = transfer(MALLORY, 1)
    msg_hash = mallory_tx.signing_hash(HARMONY_ID)
    v, r, s = mallory_tx.v, mallory_tx.r, mallory_tx.s
    wrong: list[KnownSender] = [
        (msg_hash, v ^ 1, r, s, ALICE.address),
        (msg_hash, v, r + 1, s, ALICE.address),
        (msg_hash, v, r, s - 1, ALICE.address),
        (mallory_tx.signing_hash(ETH_ID), v, r, s, ALICE.address),  # the hash of another chain
        (mallory_tx.signing_hash(None), v, r, s, ALICE.address),
    ]
    remember_senders(wrong)
    assert recover_sender(mallory_tx, LOCALNET, SHARD, ACCEPTED) == MALLORY.address


def test_the_chain_id_is_checked_before_any_remembered_sender_is_looked_up() -> None:
    other_chain = transfer(ALICE, 0, chain_id=HARMONY_ID + 7)
    [known] = recover_senders([encoded_block([other_chain])])
    assert known  # the child recovers whatever chain the v names: no rule of validity there
    remember_senders(known)
    with pytest.raises(InvalidChainId):
        recover_sender(other_chain, LOCALNET, SHARD, ACCEPTED)


def test_a_failure_is_the_importers_own() -> None:
    bad = replace(transfer(ALICE, 0), s=SECP_N - transfer(ALICE, 0).s)  # high s
    [known] = recover_senders([encoded_block([bad])])
    assert known == []
    remember_senders(known)
    with pytest.raises(InvalidSignature, match="bad signature"):
        recover_sender(bad, LOCALNET, SHARD, ACCEPTED)


def test_a_remembered_sender_is_what_execution_finds_without_recovering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    txs = [transfer(ALICE, n) for n in range(3)]
    [known] = recover_senders([encoded_block(txs)])
    remember_senders(known)
    recoveries: list[bytes] = []
    original = tx_common.sender_of

    def counting(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
        recoveries.append(msg_hash)
        return original(msg_hash, v, r, s)

    monkeypatch.setattr(tx_common, "sender_of", counting)
    assert [recover_sender(tx, LOCALNET, SHARD, ACCEPTED) for tx in txs] == [ALICE.address] * 3
    assert recoveries == []


def test_malformed_entries_are_not_remembered() -> None:
    tx = transfer(ALICE, 0)
    msg_hash = tx.signing_hash(HARMONY_ID)
    remember_senders(
        [
            (msg_hash[:31], tx.v, tx.r, tx.s, MALLORY.address),
            (msg_hash, tx.v, tx.r, tx.s, MALLORY.address[:19]),
            (msg_hash, str(tx.v), tx.r, tx.s, MALLORY.address),  # type: ignore[list-item]
        ]
    )
    assert len(tx_common._senders) == 0
    assert recover_sender(tx, LOCALNET, SHARD, ACCEPTED) == ALICE.address


def test_the_cache_keeps_the_most_recently_used_and_is_bounded() -> None:
    cache = tx_common._SenderCache(3)
    keys = [(bytes([i]) * 32, 27, i + 1, i + 1) for i in range(4)]
    for index, key in enumerate(keys[:3]):
        cache.put(key, bytes([index]) * 20)
    assert cache.get(keys[0]) == b"\x00" * 20  # now the most recently used
    cache.put(keys[3], b"\x03" * 20)
    assert len(cache) == 3
    assert cache.get(keys[1]) is None  # the least recently used went
    assert cache.get(keys[0]) == b"\x00" * 20 and cache.get(keys[3]) == b"\x03" * 20


def test_a_full_block_fits_the_cache_many_times() -> None:
    """The importer adds a block's senders just before it executes: they must outlive that block."""
    assert SENDER_CACHE_SIZE >= 8 * 1_000
