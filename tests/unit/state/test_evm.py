"""The EVM bridge: transfers, creation, calls, logs, revert, out of gas, typed rejections."""

from __future__ import annotations

import pytest

from harmony.chain.errors import GasLimitExceeded, InsufficientFunds, NonceTooHigh, NonceTooLow
from harmony.chain.state_api import BlockEnv, Message
from harmony.crypto.keccak import keccak256
from harmony.state.evm import apply_message, contract_address
from harmony.state.statedb import StateDB
from harmony.types.tx_common import IntrinsicGasTooLow

SENDER = b"\x11" * 20
TO = b"\x22" * 20
CONTRACT = b"\x33" * 20
COINBASE = b"\xcc" * 20
ONE = 10**18
ENV = BlockEnv(
    coinbase=COINBASE,
    number=10,
    timestamp=1000,
    gas_limit=10_000_000,
    chain_id=1666600000,
    block_hashes=tuple(keccak256(bytes([i])) for i in range(10)),
)

# stores calldata word 0 in slot 0, then LOG1(topic 0xaa) over no data
RUNTIME = bytes.fromhex("60003560005560aa60006000a100")
INIT = bytes.fromhex(f"60{len(RUNTIME):02x}600c60003960{len(RUNTIME):02x}6000f3") + RUNTIME


class Store:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


def funded() -> StateDB:
    state = StateDB(Store())
    state.set_balance(SENDER, 10 * ONE)
    state.state_root()
    return state


def msg(state: StateDB, **kw: object) -> Message:
    fields: dict[str, object] = {
        "sender": SENDER,
        "to": TO,
        "value": 0,
        "data": b"",
        "gas": 100_000,
        "gas_price": 10**9,
        "nonce": state.get_nonce(SENDER),
    }
    fields.update(kw)
    return Message(**fields)  # type: ignore[arg-type]


def test_plain_transfer() -> None:
    state = funded()
    result = apply_message(state, msg(state, value=ONE), ENV, fee_recipient=COINBASE)
    assert result.success and result.gas_used == 21_000
    assert state.get_balance(TO) == ONE
    assert state.get_balance(COINBASE) == 21_000 * 10**9
    assert state.get_balance(SENDER) == 9 * ONE - 21_000 * 10**9
    assert state.get_nonce(SENDER) == 1


def test_fee_burnt_without_recipient() -> None:
    state = funded()
    apply_message(state, msg(state, value=1), ENV, fee_recipient=None)
    assert state.get_balance(COINBASE) == 0
    assert state.get_balance(SENDER) == 10 * ONE - 1 - 21_000 * 10**9


def test_zero_value_call_to_absent_account_leaves_no_account() -> None:
    state = funded()
    apply_message(state, msg(state), ENV, fee_recipient=None)
    assert not state.account_exists(TO)


def test_create_call_and_logs() -> None:
    state = funded()
    created = contract_address(SENDER, 0)
    result = apply_message(state, msg(state, to=None, data=INIT, gas=200_000), ENV, fee_recipient=COINBASE)
    assert result.success and result.contract_address == created
    assert state.get_code(created) == RUNTIME
    assert state.get_nonce(created) == 1
    word = (0xBEEF).to_bytes(32, "big")
    result = apply_message(state, msg(state, to=created, data=word), ENV, fee_recipient=COINBASE)
    assert result.success
    assert state.get_storage(created, 0) == 0xBEEF
    assert len(result.logs) == 1
    log = result.logs[0]
    assert log.address == created and log.topics == ((0xAA).to_bytes(32, "big"),) and log.data == b""


def test_sstore_refund_is_capped_at_half() -> None:
    state = funded()
    state.set_code(CONTRACT, bytes.fromhex("6000600055"))  # clear slot 0 (refund 15,000)
    state.set_storage(CONTRACT, 0, 1)
    state.state_root()
    result = apply_message(state, msg(state, to=CONTRACT), ENV, fee_recipient=COINBASE)
    assert result.success
    raw = 21_000 + 3 + 3 + 5_000
    assert result.gas_used == raw - min(15_000, raw // 2)


def test_revert_undoes_changes_and_charges_gas() -> None:
    state = funded()
    state.set_code(CONTRACT, bytes.fromhex("600160005560006000fd"))
    state.state_root()
    result = apply_message(state, msg(state, to=CONTRACT, value=5), ENV, fee_recipient=COINBASE)
    assert not result.success and result.error and "Revert" in result.error
    assert state.get_storage(CONTRACT, 0) == 0
    assert state.get_balance(CONTRACT) == 0
    assert 21_000 < result.gas_used < 100_000
    assert state.get_nonce(SENDER) == 1
    assert state.get_balance(SENDER) == 10 * ONE - result.gas_used * 10**9


def test_out_of_gas_consumes_everything() -> None:
    state = funded()
    state.set_code(CONTRACT, bytes.fromhex("5b600056"))  # loop forever
    state.state_root()
    result = apply_message(state, msg(state, to=CONTRACT), ENV, fee_recipient=COINBASE)
    assert not result.success and result.gas_used == 100_000
    assert state.get_balance(COINBASE) == 100_000 * 10**9


def test_blockhash_and_chainid() -> None:
    state = funded()
    # slot 0 = BLOCKHASH(9), slot 1 = CHAINID, slot 2 = BLOCKHASH(10) (current block: 0)
    state.set_code(CONTRACT, bytes.fromhex("60094060005546600155600a4060025500"))
    state.state_root()
    assert apply_message(state, msg(state, to=CONTRACT), ENV, fee_recipient=None).success
    assert state.get_storage(CONTRACT, 0) == int.from_bytes(keccak256(bytes([9])), "big")
    assert state.get_storage(CONTRACT, 1) == ENV.chain_id
    assert state.get_storage(CONTRACT, 2) == 0


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"nonce": 1}, NonceTooHigh),
        ({"gas": 20_999}, IntrinsicGasTooLow),
        ({"gas": 53_000 - 1, "to": None}, IntrinsicGasTooLow),
        ({"data": b"\x01" * 10, "gas": 21_000 + 159}, IntrinsicGasTooLow),
        ({"gas": ENV.gas_limit + 1}, GasLimitExceeded),
        ({"value": 10 * ONE}, InsufficientFunds),
        ({"gas_price": ONE}, InsufficientFunds),
    ],
)
def test_rejections_leave_state_untouched(change: dict[str, object], error: type[Exception]) -> None:
    state = funded()
    root = state.state_root()
    with pytest.raises(error):
        apply_message(state, msg(state, **change), ENV, fee_recipient=COINBASE)
    assert state.state_root() == root


def test_nonce_too_low() -> None:
    state = funded()
    apply_message(state, msg(state), ENV, fee_recipient=None)
    root = state.state_root()
    with pytest.raises(NonceTooLow):
        apply_message(state, msg(state, nonce=0), ENV, fee_recipient=None)
    assert state.state_root() == root


def test_creation_collision_burns_gas() -> None:
    state = funded()
    created = contract_address(SENDER, 0)
    state.set_storage(created, 0, 1)  # EIP-7610: storage counts as a collision
    state.state_root()
    result = apply_message(state, msg(state, to=None, data=INIT, gas=200_000), ENV, fee_recipient=None)
    assert not result.success and result.gas_used == 200_000
    assert state.get_code(created) == b""
