"""What a node says about itself: ``getNodeMetadata``, ``getShardingStructure``, ``getPeerInfo`` (§9.2).

The one implementation of these shapes. The node (through :class:`~harmony.rpc.backend.NodeHooks`) states
only what the chain cannot: its keys, whether it leads, its peer id, start time, consensus view and sync
peers, its peers per topic, and the endpoints it knows per shard. Everything else comes from the chain here.

Shapes follow Go's ``rpc/harmony/common/types.go`` (``NodeMetadata``, ``ConsensusInternal``, ``C``,
``NodePeerInfo``) and ``internal/params/config.go`` (``ChainConfig``'s JSON names) at harmony-one/harmony
commit dc52025a8a1fb08539a9024f1c062859ca03a317.
"""

from __future__ import annotations

from collections.abc import Mapping

from harmony.chain.params import FeeRecipient, NetworkParams
from harmony.rpc.backend import RPCBackend

JSONMap = dict[str, object]

EPOCH_TBD = 10_000_000
"""Go's ``EpochTBD``: the epoch of a fork a network never takes."""

_FROM_GENESIS = 0

CHAIN_CONFIG_EPOCHS: tuple[tuple[str, int], ...] = (
    ("eth-compatible-epoch", _FROM_GENESIS),  # Ethereum-signed transactions accepted from genesis
    ("cross-tx-epoch", _FROM_GENESIS),  # cross-shard transfers
    ("cross-link-epoch", _FROM_GENESIS),  # crosslinks in beacon blocks
    ("aggregated-reward-epoch", _FROM_GENESIS),  # rewards paid every reward_frequency blocks
    ("staking-epoch", _FROM_GENESIS),  # EPoS elections and staking rewards
    ("prestaking-epoch", _FROM_GENESIS),  # staking transactions accepted
    ("quick-unlock-epoch", _FROM_GENESIS),
    ("five-seconds-epoch", _FROM_GENESIS),
    ("two-seconds-epoch", _FROM_GENESIS),  # 2-second blocks from the first
    ("sixty-percent-epoch", EPOCH_TBD),
    ("redelegation-epoch", EPOCH_TBD),  # locked undelegations are paid out, never redelegated
    ("no-early-unlock-epoch", _FROM_GENESIS),  # undelegations stay locked their 7 epochs
    ("vrf-epoch", _FROM_GENESIS),  # a VRF in every header
    ("prev-vrf-epoch", _FROM_GENESIS),
    ("min-delegation-100-epoch", _FROM_GENESIS),
    ("min-commission-rate-epoch", _FROM_GENESIS),
    ("commission-promo-period", 0),  # no promotion period
    ("epos-bound-35-epoch", _FROM_GENESIS),  # effective stake within median ± 35 %
    ("eip155-epoch", _FROM_GENESIS),
    ("s3-epoch", _FROM_GENESIS),
    ("data-copy-fix-epoch", _FROM_GENESIS),
    ("istanbul-epoch", _FROM_GENESIS),  # py-evm's Istanbul rules
    ("receipt-log-epoch", _FROM_GENESIS),
    ("sha3-epoch", _FROM_GENESIS),
    ("hip6_8-epoch", EPOCH_TBD),
    ("staking-precompile-epoch", EPOCH_TBD),  # no staking precompile
    ("chain-id-fix-epoch", _FROM_GENESIS),
    ("slots-limit-epoch", EPOCH_TBD),  # replaced per network by slots_limit_share (below)
    ("cross-shard-xfer-precompile-epoch", EPOCH_TBD),
    ("AllowlistEpoch", EPOCH_TBD),  # untagged in Go: the field name is the key
    ("leader-rotation-internal-validators", EPOCH_TBD),
    ("leader-rotation-external-validators", EPOCH_TBD),
    ("leader-rotation-v2-epoch", EPOCH_TBD),
    ("FeeCollectEpoch", EPOCH_TBD),  # replaced when the network pays a fee collector (below)
    ("validator-code-fix-epoch", EPOCH_TBD),
    ("hip30-epoch", _FROM_GENESIS),  # the 7 % commission floor
    ("devnet-external-epoch", EPOCH_TBD),
    ("testnet-external-epoch", EPOCH_TBD),
    ("block-gas-30m-epoch", _FROM_GENESIS),
    ("max-rate-epoch", EPOCH_TBD),
    ("top-max-rate-epoch", EPOCH_TBD),
    ("hip32-epoch", EPOCH_TBD),
    ("is-one-second-epoch", EPOCH_TBD),
)
"""Go ``ChainConfig``'s fork epochs in its field order, with the epoch from which this chain applies each
rule: every rule this node implements is in force from genesis (epoch 0); a fork it never takes is Go's
``EpochTBD``, as Harmony's localnet config states it."""

DEFAULT_CONSENSUS: JSONMap = {
    "viewId": 0,
    "viewChangeId": 0,
    "mode": "Normal",
    "phase": "",
    "blocknum": 0,
    "finality": 0,
}
"""``ConsensusInternal`` of a node that runs no consensus."""


def chain_config_json(params: NetworkParams, shard_id: int) -> JSONMap:
    """Go's ``params.ChainConfig`` JSON for this chain: chain IDs, then :data:`CHAIN_CONFIG_EPOCHS`.

    Epochs are JSON numbers (Go marshals ``*big.Int`` as a number). ``eth-compatible-chain-id`` is the
    serving shard's Ethereum chain ID, as Go's per-shard config reports. HIP-16's slot limit and the fee
    collector apply from genesis on a network that has them.
    """
    out: JSONMap = {
        "chain-id": params.chain_id,
        "eth-compatible-chain-id": params.eth_chain_id(shard_id),
        "eth-compatible-shard-0-chain-id": params.eth_chain_id(params.beacon_shard_id),
    }
    out.update(CHAIN_CONFIG_EPOCHS)
    if params.slots_limit_per_shard:
        out["slots-limit-epoch"] = _FROM_GENESIS
    if params.fee_policy.recipient is FeeRecipient.COLLECTOR:
        out["FeeCollectEpoch"] = _FROM_GENESIS
    return out


def _consensus(value: object) -> JSONMap:
    out = dict(DEFAULT_CONSENSUS)
    if isinstance(value, Mapping):
        out.update((k, v) for k, v in value.items() if k in DEFAULT_CONSENSUS)
        if "viewChangeId" not in value:
            out["viewChangeId"] = out["viewId"]
    return out


def node_metadata_json(backend: RPCBackend) -> JSONMap:
    """``getNodeMetadata`` (Go ``NodeMetadata``): the chain's facts with the node's own from the hooks.

    ``p2p-connectivity`` is the ``c`` counters of the hooks' peer info; ``is-archival`` whether the node
    keeps every state (``[storage] archive``; a standalone node over a data directory prunes nothing);
    ``dns-zone`` is empty (no DNS sync); ``sync-peers`` appears only when known.
    """
    params = backend.chain.params
    head = backend.chain.head
    node = backend.hooks.metadata()
    keys = node.get("blskey", [])
    peers = backend.hooks.peer_info().get("c", {})
    out: JSONMap = {
        "blskey": keys,
        "version": backend.client_version,
        "network": params.name,
        "chain-config": chain_config_json(params, backend.shard_id),
        "is-leader": bool(node.get("is-leader", False)),
        "shard-id": backend.shard_id,
        "current-block-number": head.number,
        "current-epoch": head.epoch,
        "blocks-per-epoch": params.epochs.blocks_in_epoch(head.epoch),
        "role": node.get("role", "Validator" if keys else "ExplorerNode"),
        "dns-zone": "",
        "is-archival": bool(node.get("is-archival", True)),
        "is-backup": False,
        "node-unix-start-time": node.get("node-unix-start-time", 0),
        "peerid": node.get("peerid", ""),
        "consensus": _consensus(node.get("consensus")),
        "p2p-connectivity": {
            "total-known-peers": _count(peers, "total-known-peers"),
            "connected": _count(peers, "connected"),
            "not-connected": _count(peers, "not-connected"),
        },
    }
    sync_peers = node.get("sync-peers")
    if sync_peers:
        out["sync-peers"] = sync_peers
    return out


def _count(values: object, key: str) -> int:
    value = values.get(key, 0) if isinstance(values, Mapping) else 0
    return value if isinstance(value, int) else 0


def sharding_structure_json(
    shard_count: int, current: int, endpoints: Mapping[int, tuple[str, str]]
) -> list[JSONMap]:
    """``getShardingStructure``: ``[{current, shardID, http, ws}]`` for every shard of the network
    (reference §9.3); a shard whose endpoints the node does not know has empty strings."""
    return [
        {
            "current": shard == current,
            "shardID": shard,
            "http": endpoints.get(shard, ("", ""))[0],
            "ws": endpoints.get(shard, ("", ""))[1],
        }
        for shard in range(shard_count)
    ]


def peer_info_json(backend: RPCBackend) -> JSONMap:
    """``getPeerInfo`` (Go ``NodePeerInfo``): ``{peerid, blocked-peers, connected-peers}``, the last a list
    of ``{topic, peers}``."""
    info = backend.hooks.peer_info()
    return {
        "peerid": info.get("peerid", ""),
        "blocked-peers": info.get("blocked-peers", []),
        "connected-peers": info.get("peers", []),
    }
