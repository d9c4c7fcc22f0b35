"""What a node tells the RPC and the operators before its host, driver and syncer run (a real node over
LMDB: every fact says "not started" rather than failing), and the RPC's calls into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.node.config import NodeConfig
from harmony.node.peer_info import offline_peer_info
from harmony.node.runtime import Node
from harmony.rpc.backend import RPCBackend
from harmony.rpc.node_info import node_metadata_json
from harmony.types.transaction import Transaction

GENESIS = make_localnet_genesis(timestamp=1_700_000_000)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(NodeConfig(data_dir=tmp_path, shard_id=0), genesis=GENESIS)
    try:
        yield node
    finally:
        node.close()


def test_a_node_not_started_has_no_peers_and_does_not_sync(node: Node) -> None:
    hooks = node.hooks
    assert hooks.peer_id == "" and hooks.peer_count() == 0 and hooks.syncing() is None
    assert hooks.peer_info() == offline_peer_info("")
    assert hooks.metadata() == {
        "blskey": [],
        "is-leader": False,
        "role": "ExplorerNode",
        "is-archival": False,
        "peerid": "",
        "node-unix-start-time": node.started_at,
        "consensus": {"viewId": 0, "blocknum": 0, "finality": 0},
        "sync-peers": {},
    }
    assert hooks.pending_cx_proofs() == () and hooks.pending_crosslink_count() == 0
    assert not hooks.inside_fence()  # no seat key


def test_metadata_says_whether_the_node_prunes(node: Node, tmp_path: Path) -> None:
    """``is-archival`` follows ``[storage] archive`` (a node prunes by default)."""

    def is_archival(n: Node) -> object:
        return node_metadata_json(RPCBackend(n.chain, n.pool, n.hooks))["is-archival"]

    assert is_archival(node) is False
    archive = Node(NodeConfig(data_dir=tmp_path / "archive", shard_id=0, archive=True), genesis=GENESIS)
    try:
        assert is_archival(archive) is True
    finally:
        archive.close()


def test_status_before_start(node: Node) -> None:
    status = node.hooks.status("v1")
    assert (status.network, status.shard_id, status.version) == (LOCALNET.name, 0, "v1")
    assert (status.head_number, status.highest_seen, status.sync_lag) == (0, 0, 0)
    assert (status.peers, status.topic_peers, status.topic_messages) == (0, {}, {})
    assert (status.view_id, status.is_leader, status.syncing) == (0, False, False)
    assert (status.pool_pending, status.pool_queued, status.staking_pool) == (0, 0, 0)
    assert status.bls_public_keys == () and status.vdf_proving_epoch is None
    assert status.started_unix == node.started_unix and status.data_dir == node.config.data_dir


def test_shard_endpoints_from_the_config_else_our_own(tmp_path: Path) -> None:
    own = Node(
        NodeConfig(data_dir=tmp_path / "a", shard_id=1, rpc_host="10.0.0.1", http_port=1), genesis=GENESIS
    )
    listed = Node(
        NodeConfig(data_dir=tmp_path / "b", shard_endpoints=("http://s0 ws://s0", "http://s1 ws://s1")),
        genesis=GENESIS,
    )
    try:
        assert own.hooks.shard_endpoints() == {1: ("http://10.0.0.1:1", "ws://10.0.0.1:9800")}
        assert listed.hooks.shard_endpoints() == {0: ("http://s0", "ws://s0"), 1: ("http://s1", "ws://s1")}
    finally:
        own.close()
        listed.close()


def test_rpc_calls_before_start(node: Node) -> None:
    tx = Transaction(0, 2 * 10**9, 21_000, 0, 0, b"\x01" * 20, 1, b"").sign(
        dev_account_key(0), LOCALNET.chain_id
    )
    node.pool.add(tx)
    node.hooks.on_transaction(tx)  # to the relay, which waits for the topic
    assert list(node.relay.local) == [tx.hash()]
