"""``debug_traceCall``: the struct logger and callTracer over the fixture contract, overrides, and the
bounds and bad input a tracer must survive."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from harmony.rpc import tracing
from tests.unit.rpc.conftest import CONTRACT, KEYS, REVERT_PAYLOAD, ChainFixture
from tests.unit.rpc.test_dispatch import error, result

C = "0x" + CONTRACT.hex()
WORD = "0x" + (7).to_bytes(32, "big").hex()


def test_struct_logger_records_each_step(built: ChainFixture) -> None:
    trace = result(built.dispatcher, "debug_traceCall", {"to": C, "data": WORD}, "latest")
    logs = trace["structLogs"]
    assert trace["failed"] is False and trace["gas"] > 21_000
    assert logs[0] == {
        "pc": 0,
        "op": "CALLDATASIZE",
        "gas": logs[0]["gas"],
        "gasCost": 2,
        "depth": 1,
        "stack": [],
    }
    ops = [entry["op"] for entry in logs]
    assert "SSTORE" in ops and "LOG1" in ops and ops[-1] == "STOP"
    assert all(a["gas"] - a["gasCost"] == b["gas"] for a, b in itertools.pairwise(logs))
    quiet = result(built.dispatcher, "debug_traceCall", {"to": C}, "latest", {"disableStack": True})
    stored = (42).to_bytes(32, "big").hex()  # the fixture's block 3 stored 42 in slot 0
    assert "stack" not in quiet["structLogs"][0] and quiet["returnValue"] == stored
    with_memory = result(built.dispatcher, "debug_traceCall", {"to": C}, "latest", {"enableMemory": True})
    assert with_memory["structLogs"][-1]["memory"] == [stored]


def test_call_tracer_and_a_revert(built: ChainFixture) -> None:
    top = result(
        built.dispatcher, "debug_traceCall", {"to": C, "data": "0x01"}, "latest", {"tracer": "callTracer"}
    )
    assert top["type"] == "CALL" and top["to"] == C and top["error"] == "Revert"
    assert top["output"] == "0x" + REVERT_PAYLOAD.hex()
    plain = result(
        built.dispatcher,
        "debug_traceCall",
        {"from": "0x" + KEYS[0].address.hex(), "to": "0x" + "11" * 20, "value": "0x5"},
        "latest",
        {"tracer": "callTracer"},
    )
    assert plain["type"] == "CALL" and plain["value"] == "0x5" and plain["gasUsed"] == hex(21_000)


def test_overrides_change_state_and_block(built: ChainFixture) -> None:
    stored = "0x" + (99).to_bytes(32, "big").hex()
    slot0 = "0x" + "00" * 32
    options: dict[str, Any] = {"stateOverrides": {C: {"stateDiff": {slot0: stored}}}}
    trace = result(built.dispatcher, "debug_traceCall", {"to": C}, "latest", options)
    assert trace["returnValue"] == (99).to_bytes(32, "big").hex()
    # new code at an empty address, and a block number the code reads back (NUMBER PUSH1 0 MSTORE ...)
    code = "0x43600052" + "60206000f3"
    options = {"stateOverrides": {"0x" + "12" * 20: {"code": code}}, "blockOverrides": {"number": "0x99"}}
    trace = result(built.dispatcher, "debug_traceCall", {"to": "0x" + "12" * 20}, "latest", options)
    assert trace["returnValue"] == (0x99).to_bytes(32, "big").hex()
    both = error(
        built.dispatcher,
        "debug_traceCall",
        {"to": C},
        "latest",
        {"stateOverrides": {C: {"state": {}, "stateDiff": {}}}},
    )
    assert both == {"code": -32000, "message": f"account {C} has both 'state' and 'stateDiff'"}


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"tracer": "prestateTracer"}, "not served"),
        ({"tracer": "function() { return 1 }"}, "not served"),
        ({"timeout": "forever"}, "timeout"),
        ({"disableStack": "yes"}, "disableStack"),
        ({"stateOverrides": {"0x12": {}}}, "stateOverrides"),
        ({"stateOverrides": {C: {"balance": "lots"}}}, "balance"),
        ({"stateOverrides": {C: {"code": "0x" + "00" * 50_000}}}, "code"),
        ({"stateOverrides": {C: {"state": {"0x01": "0x02"}}}}, "state"),
        ({"stateOverrides": {"0x" + f"{i:040x}": {} for i in range(300)}}, "at most 256"),
        ({"blockOverrides": {"baseFee": "0x1"}}, "baseFee"),
        ({"blockOverrides": {"number": -1}}, "number"),
        ([], "options"),
    ],
)
def test_bad_options_are_named(built: ChainFixture, options: object, needle: str) -> None:
    refused = error(built.dispatcher, "debug_traceCall", {"to": C}, "latest", options)
    assert refused["code"] == -32602 and needle in refused["message"], refused


def test_bounds_stop_an_endless_loop(built: ChainFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    loop = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP: forever, until the gas runs out
    options: dict[str, Any] = {"stateOverrides": {"0x" + "13" * 20: {"code": loop}}}
    monkeypatch.setattr(tracing, "MAX_TRACE_STEPS", 1000)
    stopped = error(built.dispatcher, "debug_traceCall", {"to": "0x" + "13" * 20}, "latest", options)
    assert stopped == {"code": -32000, "message": "trace stopped: more than 1000 steps"}
    monkeypatch.setattr(tracing, "MAX_TRACE_STEPS", 10**9)
    monkeypatch.setattr(tracing, "MAX_RECORDED_WORDS", 500)
    too_big = error(built.dispatcher, "debug_traceCall", {"to": "0x" + "13" * 20}, "latest", options)
    assert too_big["message"].startswith("trace stopped: more than 500 stack and memory words")
    monkeypatch.setattr(tracing, "MAX_RECORDED_WORDS", 10**9)
    timed = error(
        built.dispatcher,
        "debug_traceCall",
        {"to": "0x" + "13" * 20},
        "latest",
        {**options, "timeout": "1ms", "disableStack": True},
    )
    assert timed["message"] == "trace stopped: more than 0.001 s"
