"""Gossip topic names and stream protocol IDs (harmony-reference.md §8.4, §8.5)."""

from __future__ import annotations

from harmony.p2p.errors import P2PConfigError

_VERSION = "0.0.1"


def network_prefix(network: str) -> str:
    """The topic prefix of a network: ``harmony`` on mainnet, ``hmy/<network>`` elsewhere (§8.4)."""
    if not network or "/" in network or not network.isprintable():
        raise P2PConfigError(f"invalid network name {network!r}")
    return "harmony" if network == "mainnet" else f"hmy/{network}"


def _check_shard(shard_id: int) -> None:
    if isinstance(shard_id, bool) or not isinstance(shard_id, int) or shard_id < 0:
        raise P2PConfigError(f"invalid shard id {shard_id!r}")


def shard_topic(network: str, shard_id: int) -> str:
    """The consensus/node topic of a shard: ``<prefix>/0.0.1/node/beacon`` for shard 0, else
    ``<prefix>/0.0.1/node/shard/<id>`` (reference §8.4)."""
    _check_shard(shard_id)
    prefix = network_prefix(network)
    if shard_id == 0:
        return f"{prefix}/{_VERSION}/node/beacon"
    return f"{prefix}/{_VERSION}/node/shard/{shard_id}"


def client_topic(network: str, shard_id: int) -> str:
    """The client topic of a shard: ``<prefix>/0.0.1/client/beacon`` for shard 0, else
    ``<prefix>/0.0.1/client/shard/<id>`` (reference §8.4)."""
    _check_shard(shard_id)
    prefix = network_prefix(network)
    if shard_id == 0:
        return f"{prefix}/{_VERSION}/client/beacon"
    return f"{prefix}/{_VERSION}/client/shard/{shard_id}"


def sync_protocol_id(network: str, shard_id: int) -> str:
    """The block-sync stream protocol ID ``harmony/sync/<network>/<shard>/1.0.0`` (reference §8.5)."""
    _check_shard(shard_id)
    network_prefix(network)
    return f"harmony/sync/{network}/{shard_id}/1.0.0"


def fence_protocol_id(network: str, shard_id: int) -> str:
    """The fence-ticket stream protocol ID ``harmony/fence/<network>/<shard>/1.0.0`` (issue 21): a peer
    presents its ticket for a fenced shard there (:mod:`harmony.p2p.fence_gate`)."""
    _check_shard(shard_id)
    network_prefix(network)
    return f"harmony/fence/{network}/{shard_id}/1.0.0"


def state_protocol_id(network: str, shard_id: int) -> str:
    """The state-sync stream protocol ID ``harmony/state/<network>/<shard>/1.0.0`` (issue 18): epoch-ending
    headers and state trie nodes by hash (:mod:`harmony.p2p.state_protocol`)."""
    _check_shard(shard_id)
    network_prefix(network)
    return f"harmony/state/{network}/{shard_id}/1.0.0"


def consensus_protocol_id(network: str, shard_id: int) -> str:
    """The stream protocol ID of a shard's direct votes: ``harmony/consensus/<network>/<shard>/1.0.0``
    (:mod:`harmony.node.consensus_streams`)."""
    _check_shard(shard_id)
    network_prefix(network)
    return f"harmony/consensus/{network}/{shard_id}/1.0.0"


def tx_protocol_id(network: str, shard_id: int) -> str:
    """The stream protocol ID of a shard's transactions to its next leaders:
    ``harmony/txs/<network>/<shard>/1.0.0`` (:mod:`harmony.node.tx_routes`)."""
    _check_shard(shard_id)
    network_prefix(network)
    return f"harmony/txs/{network}/{shard_id}/1.0.0"
