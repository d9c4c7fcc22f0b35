"""The EVM as the chain's ``Executor``, with py-evm imported on the first message that needs it.

Importing :mod:`harmony.state.evm` imports py-evm, which builds every fork's VM and their precompiles'
curve tables (py_ecc's BLS12-381 and BN128 pairings) at import: about a second of CPU on an idle two-core
machine, several under load, about half of what a node imported before it served (issue 15: a restarted
validator must sign again within three block times). Plain transfers, staking transactions and empty
blocks never reach the EVM, so a node imports it on the first contract message it executes, or earlier in
the background through :func:`load`.
"""

from __future__ import annotations

import importlib

from harmony.chain.state_api import BlockEnv, ExecutionResult, Message, WorldState

EVM_MODULE = "harmony.state.evm"


def execute(
    state: WorldState, msg: Message, env: BlockEnv, /, *, fee_recipient: bytes | None
) -> ExecutionResult:
    """The chain layer's ``Executor`` (harmony.chain.transition): :func:`harmony.state.evm.execute`,
    importing it on the first call."""
    from harmony.state import evm  # noqa: PLC0415 - py-evm loads on the first contract message (above)

    return evm.execute(state, msg, env, fee_recipient=fee_recipient)


def load() -> None:
    """Import the EVM now (a node calls it in a worker thread once it runs, so that the first contract
    message does not wait for the import)."""
    importlib.import_module(EVM_MODULE)
