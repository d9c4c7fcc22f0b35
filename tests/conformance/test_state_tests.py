"""ethereum/tests GeneralStateTests, Istanbul entries, run through our StateDB and EVM bridge.

For each post entry: the pre-state goes into a fresh :class:`StateDB` over a dict, the fixture's signed
transaction (``txbytes``, which must equal our own signature with ``secretKey``) is decoded and its
message applied with :func:`harmony.state.evm.apply_message`, the coinbase receiving the fees; the state
root and the hash of the logs must match. A transaction the fixture marks ``expectException`` must be
refused (at decoding or by a typed rejection) and leave the pre-state root.
"""

from __future__ import annotations

import pytest

from harmony.chain.errors import TransactionRejected
from harmony.chain.state_api import Message
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.errors import DecodeError
from harmony.state.evm import apply_message
from harmony.state.statedb import StateDB
from harmony.types.eth_transaction import EthTransaction
from tests.conformance.statetest_loader import STATE_TESTS_DIR, StateCase, iter_cases, parse_bytes, parse_int
from tests.conftest import CONFORMANCE

EXPECTED_CASES = 2471

CASES = list(iter_cases(CONFORMANCE / STATE_TESTS_DIR))

SLOW_CASES = frozenset(
    (
        "stCreate2/Create2OnDepth1023.json::Create2OnDepth1023::d0g0v0",
        "stCreate2/Create2OnDepth1024.json::Create2OnDepth1024::d0g0v0",
        "stCreate2/Create2Recursive.json::Create2Recursive::d0g0v0",
        "stCreate2/Create2Recursive.json::Create2Recursive::d0g1v0",
        "stPreCompiledContracts2/CALLBlake2f.json::CALLBlake2f::d9g0v0",
        "stPreCompiledContracts2/CALLCODEBlake2f.json::CALLCODEBlake2f::d9g0v0",
        "stRevertTest/LoopCallsDepthThenRevert2.json::LoopCallsDepthThenRevert2::d0g0v0",
        "stRevertTest/LoopCallsDepthThenRevert3.json::LoopCallsDepthThenRevert3::d0g0v0",
        "stStaticCall/static_Call1024BalanceTooLow.json::static_Call1024BalanceTooLow::d1g0v0",
        "stStaticCall/static_Call1024BalanceTooLow2.json::static_Call1024BalanceTooLow2::d1g0v0",
        "stStaticCall/static_Call1024PreCalls.json::static_Call1024PreCalls::d1g0v0",
        "stStaticCall/static_Call1024PreCalls2.json::static_Call1024PreCalls2::d0g0v0",
        "stStaticCall/static_Call1024PreCalls2.json::static_Call1024PreCalls2::d1g0v0",
        "stStaticCall/static_Call1024PreCalls3.json::static_Call1024PreCalls3::d1g0v0",
        "stStaticCall/static_Call1MB1024Calldepth.json::static_Call1MB1024Calldepth::d1g0v0",
        "stStaticCall/static_Call50000.json::static_Call50000::d0g0v0",
        "stStaticCall/static_Call50000.json::static_Call50000::d1g0v0",
        "stStaticCall/static_Call50000_ecrec.json::static_Call50000_ecrec::d0g0v0",
        "stStaticCall/static_Call50000_ecrec.json::static_Call50000_ecrec::d1g0v0",
        "stStaticCall/static_Call50000_identity.json::static_Call50000_identity::d0g0v0",
        "stStaticCall/static_Call50000_identity.json::static_Call50000_identity::d1g0v0",
        "stStaticCall/static_Call50000_identity2.json::static_Call50000_identity2::d0g0v0",
        "stStaticCall/static_Call50000_identity2.json::static_Call50000_identity2::d1g0v0",
        "stStaticCall/static_Call50000_rip160.json::static_Call50000_rip160::d0g0v0",
        "stStaticCall/static_Call50000_rip160.json::static_Call50000_rip160::d1g0v0",
        "stStaticCall/static_Call50000bytesContract50_1.json::static_Call50000bytesContract50_1::d0g0v0",
        "stStaticCall/static_Call50000bytesContract50_1.json::static_Call50000bytesContract50_1::d1g0v0",
        "stStaticCall/static_Call50000bytesContract50_2.json::static_Call50000bytesContract50_2::d1g0v0",
        "stStaticCall/static_CallRecursiveBombPreCall.json::static_CallRecursiveBombPreCall::d0g0v0",
        "stStaticCall/static_CallRecursiveBombPreCall2.json::static_CallRecursiveBombPreCall2::d0g0v0",
        "stStaticCall/static_LoopCallsDepthThenRevert2.json::static_LoopCallsDepthThenRevert2::d0g0v0",
        "stStaticCall/static_LoopCallsDepthThenRevert3.json::static_LoopCallsDepthThenRevert3::d0g0v0",
        "stStaticCall/static_LoopCallsThenRevert.json::static_LoopCallsThenRevert::d0g0v0",
        "stStaticCall/static_LoopCallsThenRevert.json::static_LoopCallsThenRevert::d0g1v0",
        "stStaticCall/static_Return50000_2.json::static_Return50000_2::d0g0v0",
    )
)
"""Vectors that take 1.5 s to 2 min each (measured): tens of thousands of calls, or calls 1,024 deep,
through py-evm's interpreter (1.5 to 25 s each), and two BLAKE2 F calls of millions of rounds (about 2 min
each in py-evm's pure-Python precompile). ``make test`` leaves them to ``make test-long`` (marked ``slow``):
the 33 that are not BLAKE2 F took 4.4 CPU minutes of its 20-minute budget on a 2-core machine (2026-12-05);
and what they exercise is py-evm's interpreter more than our bridge. 35 of 2,471 vectors (1.4 %)."""


class _Store:
    """A dict as a node store."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


def _pre_state(case: StateCase) -> tuple[StateDB, bytes]:
    store = _Store()
    state = StateDB(store)
    for addr_hex, acc in case.pre.items():
        addr = parse_bytes(addr_hex)
        state.set_nonce(addr, parse_int(acc["nonce"]))
        state.set_balance(addr, parse_int(acc["balance"]))
        code = parse_bytes(acc["code"])
        if code:
            state.set_code(addr, code)
        for slot, value in acc["storage"].items():
            if parse_int(value):
                state.set_storage(addr, parse_int(slot), parse_int(value))
    root, nodes = state.commit()
    store.data.update(nodes)
    state.mark_persisted()
    return state, root


def _logs_hash(logs: tuple[object, ...]) -> bytes:
    return keccak256(rlp.encode([log.to_rlp() for log in logs]))  # type: ignore[attr-defined]


def _signed_by_us(case: StateCase) -> bytes:
    t, idx = case.transaction, case.indexes
    to = parse_bytes(t["to"]) if t["to"] else None
    tx = EthTransaction(
        nonce=parse_int(t["nonce"]),
        gas_price=parse_int(t["gasPrice"]),
        gas=parse_int(t["gasLimit"][idx["gas"]]),
        to=to,
        value=parse_int(t["value"][idx["value"]]),
        data=parse_bytes(t["data"][idx["data"]]),
    )
    return tx.sign(PrivateKey(parse_bytes(t["secretKey"])), None).encode()


def test_case_count() -> None:
    assert len(CASES) == EXPECTED_CASES
    assert {c.case_id for c in CASES} >= SLOW_CASES
    assert len(SLOW_CASES) <= EXPECTED_CASES // 50


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.case_id, marks=[pytest.mark.slow] if c.case_id in SLOW_CASES else [])
        for c in CASES
    ],
)
def test_state(case: StateCase) -> None:
    state, pre_root = _pre_state(case)
    env = case.block_env()
    try:
        tx = EthTransaction.decode(case.txbytes)
        sender = tx.sender()
    except DecodeError as exc:  # typed envelopes (EIP-2718), values beyond 256 bits
        assert case.expect_exception, f"fixture transaction refused: {exc}"
        assert state.state_root() == pre_root
        return
    assert sender == parse_bytes(case.transaction["sender"])
    assert _signed_by_us(case) == case.txbytes
    msg = Message(sender, tx.to, tx.value, tx.data, tx.gas, tx.gas_price, tx.nonce)
    try:
        result = apply_message(state, msg, env, fee_recipient=env.coinbase)
    except (TransactionRejected, DecodeError) as exc:
        assert case.expect_exception, f"transaction rejected: {exc}"
        assert state.state_root() == pre_root
        assert case.expected_root == pre_root
        return
    assert case.expect_exception is None, f"expected {case.expect_exception}, executed: {result}"
    assert state.state_root() == case.expected_root
    assert _logs_hash(result.logs) == case.expected_logs
