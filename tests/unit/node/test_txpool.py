"""The transaction pool: every rejection reason, nonce ordering and gaps, promotion, replacement, limits,
lifetime, Ethereum-format input, garbage input, and the executable-run invariant (property test)."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field, replace

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import GWEI, LOCALNET, MAINNET, ONE
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.node.txpool import (
    ERROR_SINK_SIZE,
    REASONS,
    TxPool,
    TxPoolConfig,
    TxPoolError,
    WorldStateReader,
    format_gwei,
)
from harmony.state.statedb import StateDB
from harmony.types.eth_transaction import EthTransaction
from harmony.types.staking import Delegate, StakingTransaction
from harmony.types.transaction import Transaction

PARAMS = LOCALNET
SHARD = 0
KEYS: list[PrivateKey] = [dev_account_key(i) for i in range(8)]
ADDRS = [k.address for k in KEYS]
DEST = b"\x11" * 20
PRICE = GWEI
BALANCE = 1_000 * ONE
SECP_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass
class DictState:
    """An in-memory AccountReader."""

    nonces: dict[bytes, int] = field(default_factory=dict)
    balances: dict[bytes, int] = field(default_factory=dict)

    def nonce(self, address: bytes) -> int:
        return self.nonces.get(address, 0)

    def balance(self, address: bytes) -> int:
        return self.balances.get(address, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def funded(**nonces: int) -> DictState:
    state = DictState(balances=dict.fromkeys(ADDRS, BALANCE))
    for name, nonce in nonces.items():
        state.nonces[ADDRS[int(name[1:])]] = nonce
    return state


def make_pool(state: DictState | None = None, clock: Clock | None = None, **config: int | float) -> TxPool:
    return TxPool(
        PARAMS,
        SHARD,
        state if state is not None else funded(),
        TxPoolConfig(**config),  # type: ignore[arg-type]
        clock=clock or Clock(),
    )


@functools.cache
def tx(
    k: int,
    nonce: int,
    price: int = PRICE,
    *,
    value: int = 1,
    gas: int = 21_000,
    shard: int = SHARD,
    to_shard: int = SHARD,
    data: bytes = b"",
    to: bytes | None = DEST,
    chain_id: int | None = PARAMS.chain_id,
) -> Transaction:
    """A signed Harmony transfer (cached: signing is the slow part of these tests)."""
    return Transaction(nonce, price, gas, shard, to_shard, to, value, data).sign(KEYS[k], chain_id)


def reason_of(pool: TxPool, t: Transaction) -> str:
    with pytest.raises(TxPoolError) as info:
        pool.add(t)
    assert info.value.reason in REASONS
    assert pool.errors()[-1].reason == info.value.reason
    return info.value.reason


# ---------------------------------------------------------------- rejection table


def _unsigned() -> Transaction:
    return Transaction(0, PRICE, 21_000, SHARD, SHARD, DEST, 1)


def _high_s() -> Transaction:
    good = tx(0, 0)
    flipped = good.v + 1 if (good.v - 35) % 2 == 0 else good.v - 1
    return replace(good, s=SECP_N - good.s, v=flipped)


BAD: list[tuple[str, object, str]] = [
    ("oversized", lambda: tx(0, 0, gas=5_000_000, data=b"\x01" * (129 * 1024)), "oversized"),
    ("unsigned", _unsigned, "invalid-signature"),
    ("zero r", lambda: replace(tx(0, 0), r=0), "invalid-signature"),
    ("high s", _high_s, "invalid-signature"),
    ("mainnet chain id", lambda: tx(0, 0, chain_id=MAINNET.chain_id), "wrong-chain-id"),
    ("foreign eth chain id", lambda: tx(0, 0, chain_id=1_666_600_000), "wrong-chain-id"),
    ("other shard", lambda: tx(0, 0, shard=1, to_shard=1), "wrong-shard"),
    ("other shard's eth id", lambda: tx(0, 0, chain_id=PARAMS.eth_chain_id(1)), "wrong-shard"),
    ("no such destination shard", lambda: tx(0, 0, to_shard=7), "bad-to-shard"),
    ("cross-shard with data", lambda: tx(0, 0, to_shard=1, data=b"\x01", gas=30_000), "bad-cross-shard"),
    ("cross-shard creation", lambda: tx(0, 0, to_shard=1, to=None, gas=60_000), "bad-cross-shard"),
    (
        "eth-signed cross-shard",
        lambda: tx(0, 0, to_shard=1, chain_id=PARAMS.eth_chain_id(0)),
        "bad-cross-shard",
    ),
    ("underpriced", lambda: tx(0, 0, price=GWEI // 2), "underpriced"),
    ("zero price", lambda: tx(0, 0, price=0), "underpriced"),
    ("intrinsic gas", lambda: tx(0, 0, gas=20_999), "intrinsic-gas"),
    ("intrinsic gas of data", lambda: tx(0, 0, gas=21_000, data=b"\x01"), "intrinsic-gas"),
    ("creation intrinsic gas", lambda: tx(0, 0, gas=52_999, to=None), "intrinsic-gas"),
    ("block gas limit", lambda: tx(0, 0, gas=30_000_001), "gas-limit"),
    ("nonce too low", lambda: tx(1, 2), "nonce-too-low"),
    ("nonce far ahead", lambda: tx(0, 80), "nonce-gap-too-large"),
    ("max nonce", lambda: tx(0, 2**64 - 1), "malformed"),
    ("value over balance", lambda: tx(0, 0, value=BALANCE), "insufficient-funds"),
    ("cross-shard over balance", lambda: tx(0, 0, to_shard=1, value=BALANCE), "insufficient-funds"),
    ("unfunded account", lambda: tx(7, 0), "insufficient-funds"),
    (
        "staking",
        lambda: StakingTransaction(Delegate(ADDRS[0], DEST, ONE), 0, PRICE, 30_000),
        "staking-not-supported",
    ),
    ("not a transaction", lambda: "0x00", "malformed"),
]


@pytest.mark.parametrize(("make", "expected"), [(m, e) for _, m, e in BAD], ids=[n for n, _, _ in BAD])
def test_rejections(make: object, expected: str) -> None:
    state = funded(k1=5)
    state.balances.pop(ADDRS[7])
    pool = make_pool(state)
    bad = make()  # type: ignore[operator]
    with pytest.raises(TxPoolError) as info:
        pool.add(bad)
    assert info.value.reason == expected, str(info.value)
    assert str(info.value)
    sink = pool.errors()
    assert [r.reason for r in sink] == [expected]
    assert sink[0].message == str(info.value)
    assert sink[0].time_at == 1000.0
    assert len(pool) == 0
    assert pool.stats() == (0, 0)


def test_underpriced_message_names_exact_gwei() -> None:
    pool = make_pool()
    with pytest.raises(TxPoolError, match=r"0\.5 Gwei is below the pool minimum 1 Gwei"):
        pool.add(tx(0, 0, price=GWEI // 2))
    assert format_gwei(1) == "0.000000001 Gwei"
    assert format_gwei(100 * GWEI) == "100 Gwei"


def test_minimum_price_from_params_and_config() -> None:
    mainnet_pool = TxPool(MAINNET, 0, funded())
    assert mainnet_pool.min_gas_price == 100 * GWEI
    pool = make_pool(min_gas_price=2 * GWEI)
    assert reason_of(pool, tx(0, 0)) == "underpriced"
    pool.add(tx(0, 0, price=2 * GWEI))


def test_known_and_nonce_too_low_after_mining() -> None:
    pool = make_pool()
    h = pool.add(tx(0, 0))
    assert h == tx(0, 0).hash()
    assert reason_of(pool, tx(0, 0)) == "known"
    pool.set_state(funded(k0=1))
    assert len(pool) == 0
    assert reason_of(pool, tx(0, 0)) == "nonce-too-low"


def test_relayed_copies_are_known_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = make_pool()
    raw = tx(0, 0).encode()
    assert pool.add_raw(raw, eth=False) == tx(0, 0).hash()

    def no_decode(data: bytes) -> Transaction:
        raise AssertionError("a pooled transaction was decoded again")

    monkeypatch.setattr(Transaction, "decode", no_decode)
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(raw, eth=False)
    assert info.value.reason == "known" and pool.errors()[-1].reason == "known"


def test_relay_form_and_encoded_keep_the_received_bytes() -> None:
    pool = make_pool()
    first, second = tx(0, 0), tx(1, 0)
    pool.add_raw(first.encode(), eth=False)
    pool.add(second)
    assert pool.relay_form(second) == (second.encode(), second.hash())
    assert pool.relay_form(first) == (first.encode(), first.hash())  # not the last one: computed
    assert pool.encoded(first.hash()) == first.encode()
    assert pool.encoded(second.eth_hash()) is None  # Harmony hashes only
    pool.set_state(funded(k0=1))
    assert pool.encoded(first.hash()) is None


def test_cumulative_funds() -> None:
    state = funded()
    state.balances[ADDRS[0]] = 2 * ONE + 2 * 21_000 * PRICE
    pool = make_pool(state)
    pool.add(tx(0, 0, value=ONE))
    pool.add(tx(0, 1, value=ONE))
    with pytest.raises(TxPoolError, match="plus") as info:
        pool.add(tx(0, 2, value=ONE))
    assert info.value.reason == "insufficient-funds"


# ---------------------------------------------------------------- ordering, gaps, promotion


def test_nonce_gap_queues_then_fills() -> None:
    pool = make_pool()
    pool.add(tx(0, 0))
    pool.add(tx(0, 2))
    pool.add(tx(0, 3))
    assert pool.stats() == (1, 2)
    assert pool.pending() == [tx(0, 0)]
    assert pool.queued() == [tx(0, 2), tx(0, 3)]
    assert pool.pending_nonce(ADDRS[0]) == 1
    pool.add(tx(0, 1))
    assert pool.stats() == (4, 0)
    assert pool.executable() == [tx(0, n) for n in range(4)]
    assert pool.pending_nonce(ADDRS[0]) == 4
    assert pool.pending_nonce(ADDRS[5]) == 0


def test_executable_orders_accounts_by_price_and_nonce() -> None:
    pool = make_pool()
    pool.add(tx(0, 0, 2 * GWEI))
    pool.add(tx(0, 1, 5 * GWEI))
    pool.add(tx(1, 0, 3 * GWEI))
    pool.add(tx(1, 1, 1 * GWEI))
    pool.add(tx(2, 0, 2 * GWEI))
    # heads a0:2 a1:3 a2:2 -> a1n0; a1n1 (1) waits; a0n0 (2, first seen) -> a0n1 (5) -> a2n0 (2) -> a1n1
    assert pool.executable() == [
        tx(1, 0, 3 * GWEI),
        tx(0, 0, 2 * GWEI),
        tx(0, 1, 5 * GWEI),
        tx(2, 0, 2 * GWEI),
        tx(1, 1, 1 * GWEI),
    ]
    assert pool.executable(limit=2) == [tx(1, 0, 3 * GWEI), tx(0, 0, 2 * GWEI)]
    assert pool.executable(limit=0) == []


def test_set_state_promotes_demotes_and_drops() -> None:
    pool = make_pool(funded(k0=0))
    for n in (1, 2, 5):
        pool.add(tx(0, n))
    assert pool.stats() == (0, 3)
    pool.set_state(funded(k0=1))
    assert pool.stats() == (2, 1)
    assert pool.executable() == [tx(0, 1), tx(0, 2)]
    # the account is drained below one transaction's cost: every transaction goes, with a record
    poor = funded(k0=1)
    poor.balances[ADDRS[0]] = 21_000 * PRICE
    pool.set_state(poor)
    assert pool.stats() == (0, 0)
    assert {r.reason for r in pool.errors()} == {"insufficient-funds"}
    # enough for one only: the rest wait in the queue
    pool = make_pool()
    pool.add(tx(0, 0))
    pool.add(tx(0, 1))
    one = funded()
    one.balances[ADDRS[0]] = 21_000 * PRICE + 1
    pool.set_state(one)
    assert pool.stats() == (1, 1)
    assert pool.pending_nonce(ADDRS[0]) == 1


def test_set_state_gas_limit_drop() -> None:
    pool = make_pool()
    pool.add(tx(0, 0, gas=100_000))
    pool.add(tx(1, 0))
    pool.set_state(funded(), gas_limit=50_000)
    assert pool.pending() == [tx(1, 0)]
    assert pool.errors()[-1].reason == "gas-limit"
    assert reason_of(pool, tx(0, 0, gas=100_000)) == "gas-limit"


def test_account_slots_cap_executable() -> None:
    pool = make_pool(account_slots=3)
    for n in range(5):
        pool.add(tx(0, n))
    assert pool.stats() == (3, 2)
    assert pool.pending_nonce(ADDRS[0]) == 3
    pool.set_state(funded(k0=2))
    assert pool.stats() == (3, 0)
    assert pool.executable() == [tx(0, 2), tx(0, 3), tx(0, 4)]


# ---------------------------------------------------------------- replacement


def test_replacement_needs_bump() -> None:
    pool = make_pool()
    pool.add(tx(0, 0, 10 * GWEI))
    pool.add(tx(0, 1, 10 * GWEI))
    with pytest.raises(TxPoolError, match="11 Gwei") as info:
        pool.add(tx(0, 0, 10 * GWEI + GWEI - 1, value=2))
    assert info.value.reason == "replacement-underpriced"
    assert reason_of(pool, tx(0, 0, 5 * GWEI, value=2)) == "replacement-underpriced"
    h = pool.add(tx(0, 0, 11 * GWEI, value=2))
    assert pool.contains(h) and not pool.contains(tx(0, 0, 10 * GWEI).hash())
    assert pool.executable() == [tx(0, 0, 11 * GWEI, value=2), tx(0, 1, 10 * GWEI)]
    assert pool.stats() == (2, 0)


def test_replacement_bump_zero_still_needs_higher_price() -> None:
    pool = make_pool(price_bump_percent=0)
    pool.add(tx(0, 0, 10 * GWEI))
    assert reason_of(pool, tx(0, 0, 10 * GWEI, value=2)) == "replacement-underpriced"
    pool.add(tx(0, 0, 10 * GWEI + 1, value=2))


def test_replacement_costing_more_demotes_followers() -> None:
    state = funded()
    state.balances[ADDRS[0]] = 3 * 21_000 * 10 * GWEI
    pool = make_pool(state)
    for n in range(3):
        pool.add(tx(0, n, 10 * GWEI, value=0))
    assert pool.stats() == (3, 0)
    pool.add(tx(0, 0, 20 * GWEI, value=0))
    assert pool.stats() == (2, 1)
    assert pool.executable() == [tx(0, 0, 20 * GWEI, value=0), tx(0, 1, 10 * GWEI, value=0)]


# ---------------------------------------------------------------- limits


def test_account_queue_limit_evicts_farthest() -> None:
    pool = make_pool(account_queue=2)
    pool.add(tx(0, 5))
    pool.add(tx(0, 6))
    assert reason_of(pool, tx(0, 7)) == "account-full"
    pool.add(tx(0, 3))
    assert pool.queued() == [tx(0, 3), tx(0, 5)]
    assert pool.errors()[-1].reason == "account-full"
    assert not pool.contains(tx(0, 6).hash())


def test_global_slots_evict_lowest_priced() -> None:
    pool = make_pool(global_slots=3)
    pool.add(tx(0, 0, 3 * GWEI))
    pool.add(tx(1, 0, 1 * GWEI))
    pool.add(tx(1, 1, 4 * GWEI))
    assert reason_of(pool, tx(2, 0, 1 * GWEI)) == "pool-full"
    assert pool.stats() == (3, 0)
    pool.add(tx(2, 0, 2 * GWEI))
    # a1's nonce 0 was cheapest; its nonce 1 is demoted to the queue
    assert pool.pending() == [tx(0, 0, 3 * GWEI), tx(2, 0, 2 * GWEI)]
    assert pool.queued() == [tx(1, 1, 4 * GWEI)]
    assert pool.errors()[-1].reason == "pool-full"
    assert pool.pending_nonce(ADDRS[1]) == 0


def test_global_queue_evicts_farthest_future() -> None:
    pool = make_pool(global_queue=2)
    pool.add(tx(0, 3))
    pool.add(tx(1, 9))
    assert reason_of(pool, tx(2, 10)) == "pool-full"
    pool.add(tx(2, 4))
    assert sorted(pool.queued(), key=lambda t: t.nonce) == [tx(0, 3), tx(2, 4)]


def test_lifetime_evicts_queued_only() -> None:
    clock = Clock()
    pool = make_pool(clock=clock, lifetime_s=60.0)
    pool.add(tx(0, 0))
    pool.add(tx(0, 2))
    clock.now += 59
    pool.set_state(funded())
    assert pool.stats() == (1, 1)
    clock.now += 2
    pool.set_state(funded())
    assert pool.stats() == (1, 0)
    assert pool.errors()[-1].reason == "expired"
    assert pool.errors()[-1].time_at == clock.now
    clock.now += 1000
    assert pool.evict_expired() == 0
    assert pool.stats() == (1, 0)


def test_error_sink_bounded() -> None:
    pool = make_pool()
    pool.add(tx(0, 0))
    for _ in range(ERROR_SINK_SIZE + 5):
        with pytest.raises(TxPoolError):
            pool.add(tx(0, 0))
    assert len(pool.errors()) == ERROR_SINK_SIZE


# ---------------------------------------------------------------- raw input


def test_raw_harmony_and_eth_hash_lookup() -> None:
    pool = make_pool()
    t = tx(0, 0)
    assert pool.add_raw(t.encode(), eth=False) == t.hash()
    assert pool.get(t.hash()) == t
    assert pool.get(t.eth_hash()) == t
    assert pool.sender(t.hash()) == ADDRS[0]
    assert pool.get(b"\x00" * 32) is None and pool.sender(b"\x00" * 32) is None


def test_eth_hash_lookup_is_lazy_and_forgets_removed() -> None:
    pool = make_pool()
    for n in range(3):
        pool.add(tx(0, n))
    pool.set_state(funded(k0=1))  # nonce 0 mined before anyone asked for its eth hash
    assert pool.get(tx(0, 0).eth_hash()) is None
    assert pool.get(tx(0, 2).eth_hash()) == tx(0, 2)
    pool.set_state(funded(k0=3))
    assert not pool.contains(tx(0, 2).eth_hash()) and not pool.contains(tx(0, 2).hash())
    assert pool._by_hash == {}


def test_raw_eth_signed_with_eth_account() -> None:
    pool = make_pool()
    chain_id = PARAMS.eth_chain_id(SHARD)
    signed = Account.sign_transaction(
        {
            "nonce": 0,
            "gasPrice": 2 * GWEI,
            "gas": 21_000,
            "to": "0x" + DEST.hex(),
            "value": 12345,
            "data": b"",
            "chainId": chain_id,
        },
        KEYS[0].secret,
    )
    raw = bytes(signed.raw_transaction)
    h = pool.add_raw(raw, eth=True)
    assert h == bytes(signed.hash) == keccak256(raw)
    pooled = pool.get(h)
    assert pooled is not None and pooled.shard_id == pooled.to_shard_id == SHARD
    assert pool.get(pooled.hash()) == pooled
    assert pool.sender(h) == ADDRS[0]
    assert pool.executable() == [pooled]
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(raw, eth=True)
    assert info.value.reason == "known"


def test_raw_eth_for_other_shard_and_unprotected() -> None:
    pool = make_pool()
    other = EthTransaction(0, PRICE, 21_000, DEST, 1).sign(KEYS[0], PARAMS.eth_chain_id(1))
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(other.encode(), eth=True)
    assert info.value.reason == "wrong-shard"
    unprotected = EthTransaction(0, PRICE, 21_000, DEST, 1).sign(KEYS[0], None)
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(unprotected.encode(), eth=True)
    assert info.value.reason == "wrong-chain-id"
    harmony_id = EthTransaction(0, PRICE, 21_000, DEST, 1).sign(KEYS[0], PARAMS.chain_id)
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(harmony_id.encode(), eth=True)
    assert info.value.reason == "wrong-chain-id"
    # an unprotected Harmony-format transaction recovers over the Homestead hash with the shard fields
    pool.add(tx(0, 0, chain_id=None))
    assert pool.sender(tx(0, 0, chain_id=None).hash()) == ADDRS[0]


@pytest.mark.parametrize(
    ("raw", "eth"),
    [
        (b"", False),
        (b"", True),
        (b"\xc0", False),
        (b"\x02\xc0", True),  # typed envelope
        (b"\xff" * 10, False),
        (tx(0, 0).encode()[:-1], False),
        (tx(0, 0).encode() + b"\x00", False),
        (tx(0, 0).encode(), True),  # Harmony form fed as Ethereum
        (tx(0, 0).to_eth().encode(), False),  # Ethereum form fed as Harmony
    ],
)
def test_raw_malformed(raw: bytes, eth: bool) -> None:
    pool = make_pool()
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(raw, eth=eth)
    assert info.value.reason == "malformed"
    assert pool.errors()[-1].tx_hash == keccak256(raw)


def test_raw_oversized_before_decoding() -> None:
    pool = make_pool(max_tx_bytes=200)
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(b"\xff" * 201, eth=False)
    assert info.value.reason == "oversized"
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(None, eth=False)  # type: ignore[arg-type]
    assert info.value.reason == "malformed"


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300), eth=st.booleans())
def test_garbage_raw_only_raises_txpool_error(raw: bytes, eth: bool) -> None:
    pool = make_pool()
    try:
        pool.add_raw(raw, eth=eth)
    except TxPoolError as exc:
        assert exc.reason in REASONS
    assert len(pool.errors()) <= 1


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_valid_raw_only_raises_txpool_error(data: st.DataObject) -> None:
    raw = bytearray(tx(0, 0).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    pool = make_pool()
    try:
        pool.add_raw(bytes(raw), eth=False)
    except TxPoolError as exc:
        assert exc.reason in REASONS


# ---------------------------------------------------------------- the executable-run invariant


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 3), st.integers(0, 8), st.integers(1, 3)),
        st.tuples(st.just("mine"), st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)),
        st.tuples(st.just("tick"), st.integers(0, 40), st.just(0), st.just(0)),
    ),
    min_size=10,
    max_size=60,
)


LIMITS = st.fixed_dictionaries(
    {
        "account_slots": st.integers(1, 4),
        "account_queue": st.integers(0, 3),
        "global_slots": st.integers(1, 8),
        "global_queue": st.integers(0, 6),
    }
)


def check_invariants(pool: TxPool, state: DictState) -> None:
    pending, queued = pool.pending(), pool.queued()
    assert pool.stats() == (len(pending), len(queued)) and len(pool) == len(pending) + len(queued)
    assert pool.stats()[0] <= pool.config.global_slots and pool.stats()[1] <= pool.config.global_queue
    runs: dict[bytes, list[int]] = {}
    for t in pool.executable():
        sender = pool.sender(t.hash())
        assert sender is not None
        runs.setdefault(sender, []).append(t.nonce)
    assert sum(len(r) for r in runs.values()) == len(pending)
    for sender, nonces in runs.items():
        start = state.nonce(sender)
        assert nonces == list(range(start, start + len(nonces)))
        assert len(nonces) <= pool.config.account_slots
        assert pool.pending_nonce(sender) == start + len(nonces)
    for t in queued:
        sender = pool.sender(t.hash())
        assert sender is not None and t.nonce >= pool.pending_nonce(sender)
    limited = pool.executable(limit=3)
    assert limited == pool.executable()[:3]
    # internal consistency: flags, hash index, cumulative affordability of each run
    indexed = 0
    for addr, acct in pool._accounts.items():
        assert acct.txs, "empty accounts are forgotten"
        assert (acct.nonce, acct.balance) == (state.nonce(addr), state.balance(addr))
        spent = 0
        for nonce, entry in acct.txs.items():
            assert entry.alive and entry.sender == addr and entry.tx.nonce == nonce
            assert entry.pending == (nonce < acct.pending_end)
            indexed += len(entry.hashes)
            assert all(pool.get(h) is entry.tx for h in entry.hashes)
            if entry.pending:
                spent += entry.cost
        assert spent <= acct.balance
    assert indexed == len(pool._by_hash)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, limits=LIMITS)
def test_executable_runs_are_contiguous_from_state_nonce(
    ops: list[tuple[str, int, int, int]], limits: dict[str, int]
) -> None:
    run_ops(ops, limits)


def run_ops(ops: list[tuple[str, int, int, int]], limits: dict[str, int]) -> TxPool:
    """Apply add / mine / tick operations to a pool, checking every invariant after each."""
    clock = Clock()
    state = funded()
    for k in range(4):
        state.balances[ADDRS[k]] = 7 * 21_000 * 3 * GWEI  # funds run out after a few
    pool = make_pool(state, clock, lifetime_s=30, **limits)
    for op, k, a, b in ops:
        if op == "add":
            # nonces from one below the state nonce to one past the pool's window
            nonce = max(0, state.nonce(ADDRS[k]) + a - 1)
            try:
                pool.add(tx(k, nonce, b * GWEI, value=0))
            except TxPoolError as exc:
                assert exc.reason in REASONS
        elif op == "mine":
            # the account's next `a` nonces were mined; its balance drops by `b` transfers' worth
            state = DictState(dict(state.nonces), dict(state.balances))
            addr = ADDRS[k]
            state.nonces[addr] = state.nonce(addr) + a
            state.balances[addr] = max(0, state.balance(addr) - b * 21_000 * 3 * GWEI)
            pool.set_state(state)
        else:
            clock.now += a
        check_invariants(pool, state)
    return pool


def test_seeded_random_operations_keep_invariants() -> None:
    rng = random.Random(7)
    reasons: set[str] = set()
    for _ in range(120):
        limits = {
            "account_slots": rng.randint(1, 4),
            "account_queue": rng.randint(0, 3),
            "global_slots": rng.randint(1, 8),
            "global_queue": rng.randint(0, 6),
        }
        ops = []
        for _ in range(40):
            op = rng.choice(["add", "add", "mine", "tick"])
            a = {"add": rng.randint(0, 8), "mine": rng.randint(0, 3), "tick": rng.randint(0, 40)}[op]
            ops.append((op, rng.randint(0, 3), a, rng.randint(1, 3) if op == "add" else rng.randint(0, 2)))
        reasons.update(r.reason for r in run_ops(ops, limits).errors())
    # the run reached every eviction path
    assert {"expired", "pool-full", "account-full", "insufficient-funds"} <= reasons


def test_world_state_reader_over_statedb() -> None:
    db = StateDB({})
    db.set_balance(ADDRS[0], BALANCE)
    db.set_nonce(ADDRS[0], 3)
    reader = WorldStateReader(db)
    assert (reader.nonce(ADDRS[0]), reader.balance(ADDRS[0])) == (3, BALANCE)
    pool = TxPool(PARAMS, SHARD, reader)
    pool.add(tx(0, 3))
    assert pool.pending_nonce(ADDRS[0]) == 4
