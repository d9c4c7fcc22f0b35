"""What the invariants read from a running testnet, over JSON-RPC and from the nodes' logs.

:class:`Monitor` samples every shard's head in a background thread for the timeline and the recovery times;
the ``read_*`` functions collect, after the run, each node's chain, the load's receipts and balances.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harmony.chain.genesis import dev_validator_key
from harmony.cli.devnet import rpc_call
from harmony.encoding.address import to_bech32
from harmony.rpc.fence_refusal import FENCED_ERROR
from harmony.testnet.invariants import BlockSeen

BLOCKS_PER_CALL = 500
SAMPLED_NODES = 3
RPC_TIMEOUT = 10.0
DOUBLE_SIGN_LOG = "double sign detected"
"""What a node logs when its consensus core finds double-sign evidence (``harmony.node.consensus_driver``)."""


class Monitor:
    """Samples (time since start, shard, head, view) of every shard twice a second: the highest head of a few
    live nodes (one node may be a restarted one still catching up)."""

    def __init__(self, shards: int, endpoints: Callable[[int], list[str]], start: float) -> None:
        self.shards = shards
        self.endpoints = endpoints
        self.start = start
        self.samples: list[tuple[float, int, int]] = []
        self.views: list[tuple[float, int, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="testnet-monitor", daemon=True)

    def heads(self) -> dict[int, int]:
        """The latest sampled head of each shard (-1 before the first sample)."""
        out = dict.fromkeys(range(self.shards), -1)
        for _, shard, head in self.samples:
            out[shard] = max(out[shard], head)
        return out

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            for shard in range(self.shards):
                best: dict[str, Any] | None = None
                for url in self.endpoints(shard)[:SAMPLED_NODES]:
                    try:
                        header = rpc_call(url, "hmyv2_latestHeader", [], 3.0)
                    except (OSError, ValueError):
                        continue
                    if best is None or int(header["blockNumber"]) > int(best["blockNumber"]):
                        best = header
                if best is not None:
                    now = time.monotonic() - self.start
                    self.samples.append((now, shard, int(best["blockNumber"])))
                    self.views.append((now, shard, int(best["viewID"])))


def interface_tx_bytes(pid: int) -> int:
    """Bytes sent on ``eth0`` (the data link) of the namespace the process ``pid`` runs in (0 if it has
    none): everything the node sent to its peers, headers included."""
    for line in Path(f"/proc/{pid}/net/dev").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name.strip() == "eth0":
            return int(rest.split()[8])
    return 0


def read_chain(url: str, shard: int, head: int | None = None) -> dict[int, BlockSeen]:
    """Every block a node serves, with its commit signers (addresses) and transaction hashes."""
    if head is None:
        head = int(rpc_call(url, "hmyv2_blockNumber", [], RPC_TIMEOUT))
    out: dict[int, BlockSeen] = {}
    for first in range(0, head + 1, BLOCKS_PER_CALL):
        last = min(head, first + BLOCKS_PER_CALL - 1)
        blocks = rpc_call(url, "hmyv2_getBlocks", [first, last, {"withSigners": True}], 60.0)
        for b in blocks:
            out[int(b["number"])] = BlockSeen(
                shard,
                int(b["number"]),
                str(b["hash"]),
                int(b["viewID"]),
                int(b["timestamp"]),
                tuple(b.get("signers") or ()),
                tuple(t if isinstance(t, str) else t["hash"] for t in b["transactions"]),
            )
    return out


def signer_address(shard: int, index: int) -> str:
    """The address a genesis validator's commit signatures are listed under (``withSigners``)."""
    return to_bech32(dev_validator_key(shard, index).address)


def first_signed(url: str, signer: str, first: int, last: int) -> int | None:
    """The first block in ``first..last`` that the node at ``url`` serves with ``signer`` among its commit
    signers, or None."""
    if last < first:
        return None
    last = min(last, first + BLOCKS_PER_CALL - 1)
    blocks = rpc_call(url, "hmyv2_getBlocks", [first, last, {"withSigners": True}], RPC_TIMEOUT)
    for b in blocks:
        if signer in (b.get("signers") or ()):
            return int(b["number"])
    return None


def inclusion_counts(chain: Mapping[int, BlockSeen]) -> dict[str, int]:
    """How many blocks of a chain hold each transaction hash."""
    counts: dict[str, int] = {}
    for block in chain.values():
        for tx in block.transactions:
            counts[tx] = counts.get(tx, 0) + 1
    return counts


def receipt(url: str, tx_hash: str) -> dict[str, Any] | None:
    """A transaction's receipt from one node (None when the node has none)."""
    result = rpc_call(url, "hmyv2_getTransactionReceipt", [tx_hash], RPC_TIMEOUT)
    return result if isinstance(result, dict) else None


def balances(url: str, addresses: Sequence[bytes], block: int | None = None) -> dict[bytes, int]:
    """Balances of ``addresses`` on one node (at ``block`` or its head)."""
    out = {}
    for address in addresses:
        if block is None:
            out[address] = int(rpc_call(url, "hmyv2_getBalance", [to_bech32(address)], RPC_TIMEOUT))
        else:
            params: list[Any] = [to_bech32(address), block]
            out[address] = int(rpc_call(url, "hmyv2_getBalanceByBlockNumber", params, RPC_TIMEOUT))
    return out


def counter_value(url: str, contract: bytes) -> int:
    """Slot 0 of the counter contract (0 if it does not exist)."""
    raw = rpc_call(url, "eth_getStorageAt", ["0x" + contract.hex(), "0x0", "latest"], RPC_TIMEOUT)
    return int(raw, 16)


def double_sign_reports(logs: Sequence[Path]) -> int:
    """How many times the given node logs report double-sign evidence."""
    return count_log_lines(logs, DOUBLE_SIGN_LOG)


def count_log_lines(logs: Sequence[Path], text: str) -> int:
    """How many lines of the given node logs hold ``text`` (a missing log counts none)."""
    total = 0
    for log in logs:
        try:
            with log.open("r", encoding="utf-8", errors="replace") as f:
                total += sum(1 for line in f if text in line)
        except OSError:
            continue
    return total


def fenced_answer(url: str, wait_s: float = 90.0) -> str:
    """How the node at ``url`` answers a request for its shard's first block: ``refused`` (the fence's
    ``ShardFenced``, code -32050, as a node outside a fenced shard's fence must answer), ``served: …`` or
    ``unreachable: …`` (still so after ``wait_s``: a node just restarted on a loaded machine takes a minute
    to open its RPC). Its head number is public, in the crosslinks, and answered, so a block is asked for."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            block = rpc_call(url, "eth_getBlockByNumber", ["0x1", False], RPC_TIMEOUT)
        except ValueError as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, dict) and error.get("code") == FENCED_ERROR:
                return "refused"
            return f"served: an error other than the fence's: {str(error)[:200]}"
        except OSError as exc:
            if time.monotonic() >= deadline:
                return f"unreachable: {exc}"
            time.sleep(2.0)
            continue
        return f"served: {str(block)[:200]}"
