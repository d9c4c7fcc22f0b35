"""The RPC side of a country fence (issue 21; ``docs/design/fenced-shards.md``): a node of a fenced shard
that is outside the fence answers requests for the shard's data with :class:`ShardFenced`, naming the
jurisdiction.

A node is *inside* when it holds a seat key of the fenced shard's committee (the same test as its fence
ticket, :mod:`harmony.node.fence`); only such a node receives the shard's blocks, so an outside node has
nothing to serve, and saying why beats answering ``null`` as if the block did not exist. What stays open
is listed in :data:`OPEN_METHODS`: the node, the network and the fences themselves, never a block, a
transaction, a receipt, a log or state. Every other method, including one added later, is refused, so a new
data method cannot leak by default.
"""

from __future__ import annotations

from harmony.rpc.errors import ServerError

FENCED_ERROR = -32050
"""The code of :class:`ShardFenced` (in the JSON-RPC server-error range, -32000 to -32099)."""

OPEN_METHODS: frozenset[str] = frozenset(
    {
        # the node and the network
        "accounts",
        "chainId",
        "clientVersion",
        "listening",
        "peerCount",
        "version",
        "protocolVersion",
        "getNodeMetadata",
        "getPeerInfo",
        "getShardID",
        "getShardingStructure",
        "syncing",
        "inSync",
        "beaconInSync",
        "blockNumber",
        "gasPrice",
        "maxPriorityFeePerGas",
        "getCirculatingSupply",
        "getTotalSupply",
        "uninstallFilter",
        # the fences (public by design)
        "getFences",
        "getAttestations",
        "getFenceStatus",
    }
)
"""Method names (after the namespace) an outside node still answers: they reveal no block, transaction,
receipt, log or state of the shard (its head number is public in its crosslinks)."""


class ShardFenced(ServerError):
    """A request for a fenced shard's data made to a node outside its fence; ``data`` holds the shard and
    the jurisdiction."""

    code = FENCED_ERROR


def fence_refusal(method: str, shard_id: int, jurisdiction: str | None, inside: bool) -> ShardFenced | None:
    """The error ``method`` gets on a node of ``shard_id`` fenced to ``jurisdiction`` (``None``: unfenced)
    when the node is ``inside`` the fence or not; ``None`` when the method is answered (module docstring)."""
    if jurisdiction is None or inside:
        return None
    _, _, name = method.partition("_")
    if name in OPEN_METHODS:
        return None
    return ShardFenced(
        f"shard {shard_id} is fenced to jurisdiction {jurisdiction}: its blocks, transactions, receipts and "
        f"state are served only by nodes inside the fence; ask a node of a validator attested for "
        f"{jurisdiction} (hmyv2_getFences lists the fences)",
        data={"shardID": shard_id, "jurisdiction": jurisdiction},
    )


__all__ = ["FENCED_ERROR", "OPEN_METHODS", "ShardFenced", "fence_refusal"]
