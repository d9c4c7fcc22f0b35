"""A node's start imports no EVM (issue 15: py-evm was about half of the import CPU before a node served);
the EVM loads on the first contract message, or in the background once the node runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harmony.chain.state_api import BlockEnv, Message
from harmony.cli.node import START_MODULES
from harmony.rpc.dispatch import build_method_table
from harmony.state import evm, lazy_evm
from harmony.state.account import contract_address
from harmony.state.statedb import StateDB
from harmony.storage.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[3]


def loaded_after(imports: tuple[str, ...], prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with ``prefixes`` a fresh interpreter holds after importing ``imports``."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {imports!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_the_modules_a_node_imports_before_it_serves_load_no_evm() -> None:
    loaded = loaded_after(START_MODULES, ("eth", "py_ecc", "harmony"))
    assert "harmony.node.runtime" in loaded
    assert [m for m in loaded if m.split(".")[0] != "harmony"] == []
    assert "harmony.state.evm" not in loaded
    assert not any(m.startswith("harmony.rpc.trac") for m in loaded)


def test_lazy_load_imports_the_evm() -> None:
    lazy_evm.load()
    assert lazy_evm.EVM_MODULE in sys.modules


def test_the_lazy_executor_runs_a_contract_creation_as_the_evm_does() -> None:
    sender = bytes.fromhex("11" * 20)
    # returns one 32-byte word as the contract's code
    init = bytes.fromhex("600160005260206000f3")
    msg = Message(sender=sender, to=None, value=0, data=init, gas=100_000, gas_price=1, nonce=0)
    env = BlockEnv(coinbase=bytes(20), number=1, timestamp=1, gas_limit=10_000_000, chain_id=2)
    results = []
    for run in (lazy_evm.execute, evm.execute):
        state = StateDB(MemoryStore())
        state.set_balance(sender, 10**18)
        results.append((run(state, msg, env, fee_recipient=None), state.commit()[0]))
    assert results[0] == results[1]
    assert results[0][0].success
    assert results[0][0].contract_address == contract_address(sender, 0)


def test_the_debug_methods_are_registered_without_importing_the_tracers() -> None:
    table = build_method_table()
    assert {
        "debug_traceCall",
        "debug_traceTransaction",
        "debug_traceBlockByNumber",
        "debug_traceBlockByHash",
    } <= set(table)
    assert table["debug_traceCall"].max_params == 3
    assert table["debug_traceTransaction"].max_params == 2
