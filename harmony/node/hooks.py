"""What a running node tells the layers above it about itself, and what the RPC tells the node (design §2).

:class:`RuntimeHooks` is the node's side of the RPC's ``NodeHooks`` protocol (:mod:`harmony.rpc.backend`,
which this layer never imports; the CLI passes it) and the source of the operators' :class:`NodeStatus`.
It states only what the chain database cannot: keys, leadership, peers, sync, pools and the VDF prover.
The RPC shapes these facts into its answers (:mod:`harmony.rpc.node_info`); the operators' layer reads the
frozen snapshot (:mod:`harmony.node.status`). Every fact is read from the node when asked, so the hooks
work before :meth:`~harmony.node.runtime.Node.run` has started the host, driver and syncer (and say so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harmony.node.crossshard import global_topic
from harmony.node.fence import seat_key
from harmony.node.peer_info import offline_peer_info, peer_info
from harmony.node.status import NodeStatus
from harmony.p2p.topics import shard_topic
from harmony.types.cx import CXReceiptsProof
from harmony.types.staking import StakingTransaction
from harmony.types.transaction import Transaction

if TYPE_CHECKING:
    from harmony.node.runtime import Node


class RuntimeHooks:
    """The node's facts for the RPC and the operators, and the RPC's calls into it (module docstring)."""

    def __init__(self, node: Node) -> None:
        self._node = node

    @property
    def peer_id(self) -> str:
        """The libp2p peer ID (empty before the host started)."""
        host = self._node.host
        return host.peer_id if host is not None else ""

    def peer_count(self) -> int:
        """Connected peers."""
        host = self._node.host
        return host.peer_count() if host is not None else 0

    def syncing(self) -> tuple[int, int] | None:
        """(current, highest) while catching up, else ``None``."""
        syncer = self._node.syncer
        status = syncer.status if syncer is not None else None
        if status is None or not status.syncing:
            return None
        return status.current, status.highest

    def on_transaction(self, tx: Transaction) -> None:
        """The pool accepted ``tx`` from RPC: gossip it (:meth:`harmony.node.tx_relay.TxRelay.submit`)."""
        self._node.relay.submit(tx)

    def on_staking_transaction(self, tx: StakingTransaction) -> None:
        """The staking pool accepted ``tx`` from RPC: gossip it to the other beacon nodes' pools."""
        services = self._node.services
        if services is not None:
            services.publish_staking(tx)

    def shard_endpoints(self) -> dict[int, tuple[str, str]]:
        """Every shard's endpoints from ``[network] shards``, else this node's (reference §9.3)."""
        config = self._node.config
        if config.shard_endpoints:
            pairs = (entry.split() for entry in config.shard_endpoints)
            return {shard: (http, ws) for shard, (http, ws) in enumerate(pairs)}
        host = config.rpc_host
        return {config.shard_id: (f"http://{host}:{config.http_port}", f"ws://{host}:{config.ws_port}")}

    def metadata(self) -> dict[str, object]:
        """This node's own facts for ``hmy_getNodeMetadata``; the RPC adds the chain's (reference §9.2)."""
        node = self._node
        driver = node.driver
        return {
            "blskey": [k.public_key.to_bytes().hex() for k in node.keys],
            "is-leader": bool(driver is not None and driver.core.is_leader()),
            "role": "Validator" if node.keys else "ExplorerNode",
            "is-archival": node.config.archive,
            "peerid": self.peer_id,
            "node-unix-start-time": node.started_at,
            "consensus": {
                "viewId": driver.core.view if driver is not None else 0,
                "blocknum": driver.core.height if driver is not None else 0,
                "finality": 0,
            },
            "sync-peers": node.syncer.status.peer_heads if node.syncer is not None else {},
        }

    def peer_info(self) -> dict[str, object]:
        """What ``hmy_getPeerInfo`` shows: our peer id, banned peers, and the peers of the shard topic."""
        host = self._node.host
        if host is None:
            return offline_peer_info(self.peer_id)
        topic = shard_topic(self._node.params.name, self._node.config.shard_id)
        connected = len(host.connected_peers())
        return peer_info(
            self.peer_id,
            blocked=host.banned_peers(),
            topic_peers={topic: host.topic_peers(topic)},
            connected=connected,
        )

    def inside_fence(self) -> bool:
        """Whether this node holds a seat key of its shard's committee in the head's epoch: inside the fence
        when the shard is fenced (issue 21; the RPC serves a fenced shard's data only then)."""
        node = self._node
        return seat_key(node.chain, node.config.shard_id, node.chain.head.epoch, node.keys) is not None

    def pending_cx_proofs(self) -> Sequence[CXReceiptsProof]:
        """Outgoing proofs the relay still re-publishes."""
        services = self._node.services
        return services.relay.pending() if services is not None else ()

    def resend_cx_proof(self, proof: CXReceiptsProof) -> bool:
        """Publish ``proof`` on the global topic again (``hmyv2_resendCx``)."""
        services = self._node.services
        if services is None:
            return False
        services.resend(proof)
        return True

    def pending_crosslink_count(self) -> int:
        """Verified crosslinks waiting for a beacon block."""
        services = self._node.services
        return len(services.crosslinks) if services is not None else 0

    def status(self, version: str = "") -> NodeStatus:
        """A read-only snapshot for the operators' layer (:mod:`harmony.node.status`); public data only."""
        node = self._node
        params, shard_id = node.params, node.config.shard_id
        head = node.chain.head
        driver, host, syncer, vdf, coded = node.driver, node.host, node.syncer, node.vdf, node.coded
        heads = syncer.status.peer_heads.values() if syncer is not None else ()
        topics = (shard_topic(params.name, shard_id), global_topic(params.name))
        pending, queued = node.pool.stats()
        return NodeStatus(
            network=params.name,
            shard_id=shard_id,
            version=version,
            peer_id=self.peer_id,
            data_dir=node.config.data_dir,
            started_unix=node.started_unix,
            head_number=head.number,
            head_epoch=head.epoch,
            head_time=head.time,
            blocks_per_epoch=params.epochs.blocks_in_epoch(head.epoch),
            view_id=driver.core.view if driver is not None else 0,
            is_leader=bool(driver is not None and driver.core.is_leader()),
            highest_seen=max([head.number, *heads]),
            syncing=bool(syncer is not None and syncer.status.syncing),
            peers=self.peer_count(),
            topic_peers={t: len(host.topic_peers(t)) for t in topics} if host is not None else {},
            topic_messages=(
                {**dict.fromkeys(topics, 0), **host.received_messages} if host is not None else {}
            ),
            topic_refused=dict(host.refused_messages) if host is not None else {},
            answered_bytes=dict(host.answered_bytes) if host is not None else {},
            history_floor=node.chain.db.history_floor(),
            pool_pending=pending,
            pool_queued=queued,
            staking_pool=len(node.staking_pool) if node.staking_pool is not None else 0,
            bls_public_keys=tuple(k.public_key.to_bytes() for k in node.keys),
            vdf_proving_epoch=vdf.proving_epoch if vdf is not None else None,
            vdf_last_ms=vdf.last_duration_ms if vdf is not None else None,
            vdf_failures=vdf.failures if vdf is not None else 0,
            consensus_counters=dict(driver.counters) if driver is not None else {},
            consensus_drops=dict(driver.drops()) if driver is not None else {},
            coded_received=dict(coded.received) if coded is not None else {},
            coded_rejected=dict(coded.coded.rejections) if coded is not None else {},
            coded_sent=coded.sent_coded if coded is not None else 0,
        )
