"""The beacon chain's staking pool: admission rules with a reason each, replacement, executable order,
state updates, the injected staking-rule check, and hostile bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.errors import HarmonyError
from harmony.node import staking_pool as pool_mod
from harmony.node.staking_pool import StakingPool
from harmony.node.txpool import TxPoolError
from harmony.types.staking import CollectRewards, Delegate, StakingTransaction

GWEI = 10**9
ONE = 10**18
KEYS = [dev_account_key(i) for i in range(4)]
VALIDATOR = b"\x77" * 20


class Accounts:
    def __init__(self) -> None:
        self.nonces: dict[bytes, int] = {}
        self.balances: dict[bytes, int] = {k.address: 1000 * ONE for k in KEYS}

    def nonce(self, address: bytes) -> int:
        return self.nonces.get(address, 0)

    def balance(self, address: bytes) -> int:
        return self.balances.get(address, 0)


def delegate(
    i: int, nonce: int, price: int = GWEI, amount: int = 100 * ONE, chain_id: int | None = None
) -> StakingTransaction:
    msg = Delegate(KEYS[i].address, VALIDATOR, amount)
    return StakingTransaction(msg, nonce, price, 30_000).sign(KEYS[i], chain_id or LOCALNET.chain_id)


def reason(pool: StakingPool, raw: bytes) -> str:
    with pytest.raises(TxPoolError) as info:
        pool.add_raw(raw)
    return info.value.reason


def test_admits_orders_and_drops_mined() -> None:
    accounts = Accounts()
    pool = StakingPool(LOCALNET, 0, accounts)
    a0 = pool.add_raw(delegate(0, 0).encode())
    pool.add_raw(delegate(0, 1).encode())
    pool.add_raw(delegate(0, 3).encode())  # a gap: not executable
    pool.add_raw(delegate(1, 0, price=5 * GWEI).encode())
    assert len(pool) == 4 and pool.get(a0) == delegate(0, 0)
    assert [(t.msg.delegator_address, t.nonce) for t in pool.executable()] == [
        (KEYS[1].address, 0),
        (KEYS[0].address, 0),
        (KEYS[0].address, 1),
    ]
    assert len(pool.executable(limit=2)) == 2
    accounts.nonces[KEYS[0].address] = 2
    pool.set_state(accounts)
    assert len(pool) == 2 and pool.get(a0) is None


def test_rejections_have_reasons_and_are_recorded() -> None:
    accounts = Accounts()
    pool = StakingPool(LOCALNET, 0, accounts)
    assert reason(pool, b"\x01" * (pool_mod.MAX_STAKING_TX_SIZE + 1)) == "oversized"
    assert reason(pool, b"\xc3\x01\x02\x03") == "malformed"
    pool.add_raw(delegate(0, 0).encode())
    assert reason(pool, delegate(0, 0).encode()) == "known"
    assert reason(pool, delegate(0, 0, price=GWEI + 1).encode()) == "replacement-underpriced"
    pool.add_raw(delegate(0, 0, price=2 * GWEI).encode())  # a 100 % bump replaces it
    assert len(pool) == 1
    assert reason(pool, delegate(1, 0, price=GWEI // 2).encode()) == "underpriced"
    assert reason(pool, delegate(1, 0, chain_id=LOCALNET.chain_id + 5).encode()) == "wrong-chain-id"
    accounts.nonces[KEYS[2].address] = 5
    assert reason(pool, delegate(2, 4).encode()) == "nonce-too-low"
    assert reason(pool, delegate(2, 5 + pool_mod.MAX_NONCE_GAP + 1).encode()) == "nonce-gap-too-large"
    accounts.balances[KEYS[3].address] = 0
    assert reason(pool, delegate(3, 0).encode()) == "insufficient-funds"
    short = StakingTransaction(CollectRewards(KEYS[1].address), 0, GWEI, 20_000).sign(
        KEYS[1], LOCALNET.chain_id
    )
    assert reason(pool, short.encode()) == "intrinsic-gas"
    huge = StakingTransaction(CollectRewards(KEYS[1].address), 0, GWEI, 10**9).sign(
        KEYS[1], LOCALNET.chain_id
    )
    assert reason(pool, huge.encode()) == "gas-limit"
    # signed by one account for another's delegation
    forged = StakingTransaction(Delegate(KEYS[2].address, VALIDATOR, ONE), 0, GWEI, 30_000).sign(
        KEYS[1], LOCALNET.chain_id
    )
    assert reason(pool, forged.encode()) == "invalid-signature"
    reasons = [e.reason for e in pool.errors()]
    assert "malformed" in reasons and "invalid-signature" in reasons and len(reasons) == 12


def test_only_the_beacon_chain_takes_staking() -> None:
    pool = StakingPool(LOCALNET, 1, Accounts())
    assert reason(pool, delegate(0, 0).encode()) == "wrong-shard"


def test_staking_rule_check_runs_on_the_next_nonce() -> None:
    calls: list[tuple[int, bytes]] = []

    def check(tx: StakingTransaction, sender: bytes) -> None:
        calls.append((tx.nonce, sender))
        if tx.msg.amount < 100 * ONE:  # type: ignore[union-attr]
            raise HarmonyError("delegation below the minimum of 100 ONE")

    pool = StakingPool(LOCALNET, 0, Accounts(), check=check)
    with pytest.raises(TxPoolError, match="minimum") as info:
        pool.add_raw(delegate(0, 0, amount=ONE).encode())
    assert info.value.reason == "staking-rule"
    pool.add_raw(delegate(0, 0).encode())
    pool.add_raw(delegate(0, 1, amount=ONE).encode())  # a later nonce is checked when it is next
    assert calls == [(0, KEYS[0].address), (0, KEYS[0].address)]


def test_pool_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_mod, "MAX_POOLED", 2)
    pool = StakingPool(LOCALNET, 0, Accounts())
    pool.add_raw(delegate(0, 0).encode())
    pool.add_raw(delegate(1, 0).encode())
    assert reason(pool, delegate(2, 0).encode()) == "pool-full"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_crash(raw: bytes) -> None:
    pool = StakingPool(LOCALNET, 0, Accounts())
    try:
        pool.add_raw(raw)
    except TxPoolError as exc:
        assert exc.reason in {
            "malformed",
            "oversized",
            "intrinsic-gas",
            "invalid-signature",
            "wrong-chain-id",
            "underpriced",
            "gas-limit",
            "nonce-too-low",
            "insufficient-funds",
            "nonce-gap-too-large",
        }
