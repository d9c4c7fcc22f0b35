"""Block-execution benchmark: our state transition against py-evm's own, on the same transactions.

Run: ``.venv/bin/python bench/execution.py`` (``--quick`` for a smoke run). What it measures:

* blocks of 1,000 and 5,000 plain transfers from 1,000 distinct funded senders (each to a new account),
  pre-signed before timing, executed by :func:`harmony.chain.transition.apply_block` on a fresh
  :class:`harmony.state.StateDB` over an in-memory dict, state root included: tx/s and Mgas/s, median of 3;
* the same transfers through py-evm 0.12 (Istanbul ``MiningChain`` over ``AtomicDB``, the same genesis):
  ``vm.apply_all_transactions(txs, header)`` then ``vm.state.make_state_root()``, timed the same way, and the
  ratio ours / py-evm. Both pay fees to the same coinbase, so the two state roots must be equal: the script
  checks it, which makes the comparison one of equal work;
* each comparison twice, labelled. **Cold** (the headline): every sender is recovered (secp256k1) inside
  the timed execution on both sides, as py-evm's ``apply_all_transactions`` does on transactions it has
  not seen: our process-wide sender cache is emptied and py-evm gets freshly decoded transaction objects
  (its ``sender`` is a cached property) before each timed run, untimed. This is a node verifying a block
  whose transactions never went through its pool. **Warm**: the senders were recovered before timing on
  both sides (our cache, py-evm's cached property), as for a node whose pool already took the
  transactions; the execution alone;
* a block of 1,000 ERC-20 ``transfer`` calls from the 1,000 senders through our path and the EVM, cold and
  warm. The token is a minimal ERC-20 written here in EVM assembly (Solidity's storage layout: balance of
  ``a`` at ``keccak256(a ‖ 0)``; ``transfer`` and ``balanceOf``; the standard ``Transfer`` event);
* a cProfile of our cold 5,000-transfer block (top 10 functions by cumulative time) and a breakdown of where
  the time goes: sender recovery (secp256k1, cold), the transfer rules and state cache, the trie (state
  root).

Times are this process's CPU time (``time.process_time``), not wall time: both sides run on one thread,
so on an idle machine the two agree, and on a shared one (this project's 2-core machine under the other
engineers' tests) the figures stay those of the work, not of the machine's load.

The last line is one JSON object with every figure; ``ratio`` is ours / py-evm for 5,000 transfers, cold
(``ratio_warm`` beside it).
The network is the localnet preset with a 200 M block gas limit (5,000 transfers need 105 M gas).
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.istanbul import IstanbulVM
from eth.vm.forks.istanbul.transactions import IstanbulTransaction
from eth_keys.datatypes import PrivateKey as EthPrivateKey
from eth_typing import Address

from harmony.chain.params import GWEI, LOCALNET, ONE, FeePolicy, FeeRecipient, NetworkParams
from harmony.chain.proposal import HeaderFields, build_block
from harmony.chain.transition import BlockBody, TransitionContext, apply_block, apply_transaction
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.state.evm import execute as executor
from harmony.state.statedb import StateDB
from harmony.types.block import Block
from harmony.types.header import Header
from harmony.types.transaction import Transaction
from harmony.types.tx_common import clear_sender_cache

RUNS = 3
SENDERS = 1_000
GAS_LIMIT = 200_000_000
PRICE = 1 * GWEI
COINBASE = b"\xc0" * 20
FUNDS = 1_000 * ONE
TIMESTAMP = 1_700_000_000
PARAMS: NetworkParams = replace(
    LOCALNET,
    gas_limit_schedule=((0, GAS_LIMIT),),
    fee_policy=FeePolicy(FeeRecipient.COINBASE),  # as py-evm: fees to the coinbase, so the roots compare
)
SHARD = 0
CHAIN_IDS = PARAMS.accepted_chain_ids(SHARD)

T = TypeVar("T")


def median_seconds(run: Callable[[T], object], prepare: Callable[[], T], runs: int = RUNS) -> float:
    """Median CPU time of ``runs`` calls of ``run(prepare())``; ``prepare`` runs before each, untimed."""
    samples = []
    for _ in range(runs):
        arg = prepare()
        start = time.process_time()
        run(arg)
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def cold(block: Block) -> Block:
    """``block``, with the process-wide sender cache emptied: its senders are recovered when it runs."""
    clear_sender_cache()
    return block


def warm(block: Block) -> Block:
    """``block``, with every sender already recovered (cached), as after the node's pool took them."""
    for tx in block.transactions:
        tx.sender(CHAIN_IDS)
    return block


# -- the workload ----------------------------------------------------------------------------------------


def sender_keys(count: int) -> list[PrivateKey]:
    """Deterministic funded senders."""
    return [PrivateKey(keccak256(f"bench-sender-{i}".encode())) for i in range(count)]


def recipient(index: int) -> bytes:
    """A fresh recipient address per transfer."""
    return keccak256(f"bench-recipient-{index}".encode())[:20]


def transfer_plan(count: int, senders: int) -> list[tuple[int, int, bytes, int]]:
    """(sender index, nonce, to, value) for ``count`` transfers spread round-robin over the senders."""
    return [(i % senders, i // senders, recipient(i), 1_000 + i) for i in range(count)]


def genesis_store(keys: Sequence[PrivateKey]) -> tuple[dict[bytes, bytes], bytes]:
    """A node store holding the funded senders, and its root."""
    state = StateDB({})
    for key in keys:
        state.set_balance(key.address, FUNDS)
    root, nodes = state.commit()
    return dict(nodes), root


def genesis_header(root: bytes) -> Header:
    return Header(root=root, gas_limit=GAS_LIMIT, time=TIMESTAMP, shard_id=SHARD)


def our_block(
    store: dict[bytes, bytes],
    root: bytes,
    keys: Sequence[PrivateKey],
    plan: Sequence[tuple[int, int, bytes, int]],
) -> Block:
    """The signed block (built, hence valid) of the planned transfers."""
    txs = [
        Transaction(nonce, PRICE, 21_000, SHARD, SHARD, to, value).sign(keys[s], PARAMS.chain_id)
        for s, nonce, to, value in plan
    ]
    built = build_block(
        StateDB(store, root),
        genesis_header(root),
        HeaderFields(coinbase=COINBASE, timestamp=TIMESTAMP + 2),
        BlockBody(txs),
        PARAMS,
        executor=executor,
    )
    if built.skipped:
        raise RuntimeError(f"{len(built.skipped)} transactions skipped: {built.skipped[0][1]}")
    return built.block


def run_ours(store: dict[bytes, bytes], root: bytes, block: Block) -> bytes:
    """Execute ``block`` on a fresh state over ``store``; returns the state root."""
    state = StateDB(store, root)
    ctx = TransitionContext.for_header(PARAMS, block.header)
    result = apply_block(state, block, ctx, executor)
    if result.state_root != block.header.root:
        raise RuntimeError("our execution does not reproduce the block's state root")
    return result.state_root


# -- py-evm -------------------------------------------------------------------------------------------------


class PyEvm:
    """An Istanbul chain of py-evm over an in-memory ``AtomicDB`` with the same funded senders."""

    def __init__(self, keys: Sequence[PrivateKey]) -> None:
        klass = MiningChain.configure(
            __name__="BenchChain", vm_configuration=((0, IstanbulVM),), chain_id=PARAMS.eth_chain_id(SHARD)
        )
        genesis_params: dict[str, Any] = {
            "difficulty": 1,
            "gas_limit": GAS_LIMIT,
            "timestamp": TIMESTAMP,
            "coinbase": Address(COINBASE),
        }
        genesis_state: dict[Address, Any] = {
            Address(k.address): {"balance": FUNDS, "nonce": 0, "code": b"", "storage": {}} for k in keys
        }
        self.chain: Any = klass.from_genesis(AtomicDB(), genesis_params, genesis_state)
        self.keys = [EthPrivateKey(k.secret) for k in keys]

    def transactions(self, plan: Sequence[tuple[int, int, bytes, int]]) -> list[Any]:
        """py-evm's signed transactions for the plan (EIP-155, the shard's Ethereum chain ID)."""
        chain_id = PARAMS.eth_chain_id(SHARD)
        return [
            IstanbulTransaction.create_unsigned_transaction(
                nonce=nonce, gas_price=PRICE, gas=21_000, to=Address(to), value=value, data=b""
            ).as_signed_transaction(self.keys[s], chain_id=chain_id)
            for s, nonce, to, value in plan
        ]

    @staticmethod
    def fresh(encoded: Sequence[bytes]) -> list[Any]:
        """New transaction objects decoded from ``encoded``: no sender recovered yet (cold)."""
        return [IstanbulTransaction.decode(raw) for raw in encoded]

    @staticmethod
    def warmed(txs: Sequence[Any]) -> Sequence[Any]:
        """``txs`` with every sender recovered (py-evm caches it on the object)."""
        for tx in txs:
            _ = tx.sender
        return txs

    def run(self, txs: Sequence[Any]) -> bytes:
        """``apply_all_transactions`` on a fresh VM, then the state root."""
        header = self.chain.header.copy(coinbase=Address(COINBASE), timestamp=TIMESTAMP + 2)
        vm = self.chain.get_vm(header)
        vm.apply_all_transactions(txs, header)
        return bytes(vm.state.make_state_root())


# -- ERC-20 ---------------------------------------------------------------------------------------------

TRANSFER_TOPIC = keccak256(b"Transfer(address,address,uint256)")
OPS = {
    "STOP": 0x00, "ADD": 0x01, "SUB": 0x03, "LT": 0x10, "EQ": 0x14, "SHR": 0x1C, "SHA3": 0x20,
    "CALLER": 0x33, "CALLDATALOAD": 0x35, "CODECOPY": 0x39, "MSTORE": 0x52, "SLOAD": 0x54,
    "SSTORE": 0x55, "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80, "DUP2": 0x81, "DUP3": 0x82,
    "SWAP1": 0x90, "SWAP2": 0x91, "LOG3": 0xA3, "RETURN": 0xF3, "REVERT": 0xFD,
}  # fmt: skip


def assemble(program: Sequence[str | int | bytes]) -> bytes:
    """A two-pass assembler: opcode names, ``@label`` (PUSH2 of its offset), ``label:`` marks, and
    ``bytes``/``int`` items pushed with the shortest PUSH (ints as 32 bytes when ≥ 2^248)."""

    def encode(labels: dict[str, int]) -> bytes:
        out = bytearray()
        for item in program:
            if isinstance(item, str) and item.endswith(":"):
                labels.setdefault(item[:-1], len(out))
                out.append(OPS["JUMPDEST"])
            elif isinstance(item, str) and item.startswith("@"):
                out += bytes([0x61]) + labels.get(item[1:], 0).to_bytes(2, "big")
            elif isinstance(item, str):
                out.append(OPS[item])
            else:
                data = (
                    item
                    if isinstance(item, bytes)
                    else item.to_bytes(max(1, (item.bit_length() + 7) // 8), "big")
                )
                out += bytes([0x5F + len(data)]) + data
        return bytes(out)

    labels: dict[str, int] = {}
    encode(labels)
    return encode(labels)


BALANCE_SLOT: list[str | int | bytes] = [0, "MSTORE", 0, 32, "MSTORE", 64, 0, "SHA3"]
"""Stack: [a] -> [keccak256(a ‖ 0)]: Solidity's slot of ``balances[a]`` for a mapping at slot 0."""

ERC20_RUNTIME = assemble(
    [
        0, "CALLDATALOAD", 0xE0, "SHR",
        "DUP1", bytes.fromhex("a9059cbb"), "EQ", "@transfer", "JUMPI",
        "DUP1", bytes.fromhex("70a08231"), "EQ", "@balanceOf", "JUMPI",
        0, "DUP1", "REVERT",
        "transfer:",
        "CALLER", *BALANCE_SLOT,                 # [sel, from_slot]
        "DUP1", "SLOAD",                         # [sel, from_slot, from_balance]
        36, "CALLDATALOAD",                      # [sel, from_slot, from_balance, amount]
        "DUP1", "DUP3", "LT", "@fail", "JUMPI",  # from_balance < amount -> revert
        "DUP1", "SWAP2", "SUB",                  # [sel, from_slot, amount, from_balance - amount]
        "DUP3", "SSTORE",                        # balances[from] -= amount; [sel, from_slot, amount]
        4, "CALLDATALOAD", *BALANCE_SLOT,        # [sel, from_slot, amount, to_slot]
        "DUP1", "SLOAD", "DUP3", "ADD",          # [..., to_slot, to_balance + amount]
        "SWAP1", "SSTORE",                       # balances[to] += amount; [sel, from_slot, amount]
        0, "MSTORE",                             # memory[0:32] = amount
        4, "CALLDATALOAD", "CALLER", TRANSFER_TOPIC, 32, 0, "LOG3",
        1, 0, "MSTORE", 32, 0, "RETURN",
        "fail:",
        0, "DUP1", "REVERT",
        "balanceOf:",
        4, "CALLDATALOAD", *BALANCE_SLOT, "SLOAD", 0, "MSTORE", 32, 0, "RETURN",
    ]
)  # fmt: skip


def erc20_init_code(supply: int) -> bytes:
    """Constructor: ``balances[msg.sender] = supply``, then return the runtime code."""
    size = len(ERC20_RUNTIME)
    prefix_len = 0
    while True:  # the prefix's length depends on the offset it pushes; iterate to the fixed point
        prefix = assemble(
            [supply.to_bytes(32, "big"), "CALLER", *BALANCE_SLOT, "SSTORE",
             size, prefix_len, 0, "CODECOPY", size, 0, "RETURN"]
        )  # fmt: skip
        if len(prefix) == prefix_len:
            return prefix + ERC20_RUNTIME
        prefix_len = len(prefix)


def erc20_call(selector: str, *words: bytes | int) -> bytes:
    """ABI call data: selector and 32-byte words."""
    body = b"".join(w.rjust(32, b"\0") if isinstance(w, bytes) else w.to_bytes(32, "big") for w in words)
    return bytes.fromhex(selector) + body


def erc20_blocks(keys: Sequence[PrivateKey]) -> tuple[dict[bytes, bytes], bytes, Block, bytes]:
    """Deploy the token and hand 1,000 tokens to every sender (setup, untimed); return the store, the root
    after setup, the timed block of one transfer per sender to a new holder, and the token address."""
    store, root = genesis_store(keys)
    deployer = keys[0]
    token = keccak256(rlp.encode([deployer.address, rlp.encode_uint(0)]))[12:]
    setup = [Transaction(0, PRICE, 500_000, SHARD, SHARD, None, 0, erc20_init_code(10**30)).sign(deployer, 2)]
    setup += [
        Transaction(
            n + 1, PRICE, 100_000, SHARD, SHARD, token, 0, erc20_call("a9059cbb", k.address, 1_000 * ONE)
        ).sign(deployer, PARAMS.chain_id)
        for n, k in enumerate(keys)
    ]
    state = StateDB(store, root)
    built = build_block(
        state,
        genesis_header(root),
        HeaderFields(coinbase=COINBASE, timestamp=TIMESTAMP + 2),
        BlockBody(setup),
        PARAMS,
        executor=executor,
    )
    if built.skipped or not all(r.status for r in built.result.receipts):
        raise RuntimeError("ERC-20 setup failed")
    root, nodes = state.commit()
    store.update(nodes)
    parent = built.block.header
    nonce = {k.address: 0 for k in keys}
    nonce[deployer.address] = len(setup)
    calls = [
        Transaction(
            nonce[k.address],
            PRICE,
            100_000,
            SHARD,
            SHARD,
            token,
            0,
            erc20_call("a9059cbb", recipient(i), 7 + i),
        ).sign(k, PARAMS.chain_id)
        for i, k in enumerate(keys)
    ]
    built = build_block(
        StateDB(store, root),
        parent,
        HeaderFields(coinbase=COINBASE, timestamp=TIMESTAMP + 4),
        BlockBody(calls),
        PARAMS,
        executor=executor,
    )
    if built.skipped or not all(r.status for r in built.result.receipts):
        raise RuntimeError("ERC-20 transfers failed")
    return store, root, built.block, token


# -- profile --------------------------------------------------------------------------------------------


def profile_top(fn: Callable[[], object], count: int = 10) -> str:
    """cProfile of one call of ``fn``: the top ``count`` functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(count)
    return out.getvalue()


def breakdown(store: dict[bytes, bytes], root: bytes, block: Block) -> dict[str, float]:
    """Seconds spent recovering senders, applying the transfers (senders included), and on the root."""
    txs = block.transactions
    recover = median_seconds(lambda b: [tx.sender(CHAIN_IDS) for tx in b.transactions], lambda: cold(block))
    state = StateDB(store, root)
    ctx = TransitionContext.for_header(PARAMS, block.header)
    clear_sender_cache()
    start = time.process_time()
    used = 0
    for tx in txs:
        used += apply_transaction(state, tx, ctx, executor, block_gas_used=used).gas_used
    applied = time.process_time() - start
    start = time.process_time()
    state.state_root()
    root_time = time.process_time() - start
    return {"recover_senders_s": recover, "apply_txs_s": applied, "state_root_s": root_time}


def compare(
    store: dict[bytes, bytes], root: bytes, block: Block, pyevm: PyEvm, theirs: Sequence[Any]
) -> dict[str, Any]:
    """Ours against py-evm on the same block, cold then warm; prints one line each, returns the figures."""
    encoded = [tx.encode() for tx in theirs]
    size, gas = len(block.transactions), block.header.gas_used
    figures: dict[str, Any] = {}
    modes: dict[str, tuple[Callable[[], Block], Callable[[], Sequence[Any]]]] = {
        "cold": (lambda: cold(block), lambda: PyEvm.fresh(encoded)),
        "warm": (lambda: warm(block), lambda: PyEvm.warmed(theirs)),
    }
    for mode, (ours_block, their_txs) in modes.items():
        t_ours = median_seconds(lambda b: run_ours(store, root, b), ours_block)
        t_theirs = median_seconds(pyevm.run, their_txs)
        ours_tps, theirs_tps = size / t_ours, size / t_theirs
        print(
            f"{size:5d} transfers, {mode} senders: ours {ours_tps:7.0f} tx/s "
            f"{gas / t_ours / 1e6:6.1f} Mgas/s | py-evm {theirs_tps:6.0f} tx/s "
            f"{gas / t_theirs / 1e6:5.1f} Mgas/s | ratio {ours_tps / theirs_tps:5.1f}x | same state root"
        )
        figures[mode] = {
            "ours_tx_per_s": round(ours_tps),
            "ours_mgas_per_s": round(gas / t_ours / 1e6, 1),
            "pyevm_tx_per_s": round(theirs_tps),
            "pyevm_mgas_per_s": round(gas / t_theirs / 1e6, 1),
            "ratio": round(ours_tps / theirs_tps, 2),
        }
    return {**figures["cold"], "warm": figures["warm"], "state_roots_equal": True}


def main() -> None:
    """Measure and print every figure; the last line is the JSON summary."""
    quick = "--quick" in sys.argv
    sizes = (200, 1_000) if quick else (1_000, 5_000)
    senders = 200 if quick else SENDERS
    keys = sender_keys(senders)
    store, root = genesis_store(keys)
    pyevm = PyEvm(keys)
    figures: dict[str, Any] = {"senders": senders, "runs": RUNS}
    print("cold: senders recovered inside the timed execution (both sides); warm: recovered before timing")
    for size in sizes:
        plan = transfer_plan(size, senders)
        block = our_block(store, root, keys, plan)
        theirs = pyevm.transactions(plan)
        ours_root = run_ours(store, root, block)
        their_root = pyevm.run(theirs)
        if ours_root != their_root:
            raise RuntimeError(f"state roots differ: ours {ours_root.hex()}, py-evm {their_root.hex()}")
        figures[f"transfers_{size}"] = compare(store, root, block, pyevm, theirs)
    last = sizes[-1]
    figures["ratio"] = figures[f"transfers_{last}"]["ratio"]
    figures["ratio_warm"] = figures[f"transfers_{last}"]["warm"]["ratio"]

    erc_store, erc_root, erc_block, _ = erc20_blocks(keys)
    erc_gas = erc_block.header.gas_used
    n_erc = len(erc_block.transactions)
    figures["erc20"] = {"transfers": n_erc, "gas_per_transfer": erc_gas // n_erc}
    for mode, prepare in (("cold", cold), ("warm", warm)):
        t_erc = median_seconds(
            lambda b: run_ours(erc_store, erc_root, b),
            lambda prepare=prepare: prepare(erc_block),  # type: ignore[misc]
        )
        print(
            f"{n_erc:5d} ERC-20 transfers, {mode} senders: ours {n_erc / t_erc:7.0f} tx/s "
            f"{erc_gas / t_erc / 1e6:6.1f} Mgas/s"
        )
        figures["erc20"][f"{mode}_tx_per_s"] = round(n_erc / t_erc)
        figures["erc20"][f"{mode}_mgas_per_s"] = round(erc_gas / t_erc / 1e6, 1)

    block = our_block(store, root, keys, transfer_plan(last, senders))
    print(f"\ncProfile of our {last}-transfer block, cold senders (top 10 by cumulative time):")
    print(profile_top(lambda: run_ours(store, root, cold(block))))
    parts = breakdown(store, root, block)
    total = sum(v for k, v in parts.items() if k != "recover_senders_s")
    print(
        f"where the time goes ({last} transfers, cold senders, {total * 1000:.0f} ms): sender recovery "
        f"{parts['recover_senders_s'] * 1000:.0f} ms, applying (recovery included) "
        f"{parts['apply_txs_s'] * 1000:.0f} ms, state root (trie) {parts['state_root_s'] * 1000:.0f} ms"
    )
    figures["breakdown_ms"] = {k.removesuffix("_s"): round(v * 1000, 1) for k, v in parts.items()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
