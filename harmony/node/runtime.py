"""One node process: chain, pool, consensus, p2p and sync on one trio loop (design §8).

:class:`Node` opens the data directory (``chain/`` LMDB, ``consensus/`` signer state and WAL, ``p2p.key``),
the chain from the genesis file, the BLS keys it signs with, the libp2p host on the shard's topic, and
runs the consensus driver, the gossip reader, the publisher and the sync loop in one nursery. Services of
higher layers (the RPC server) are started by the caller in :meth:`Node.run`'s ``services`` hook, since
this layer does not import them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

import trio

from harmony.chain.genesis import Genesis, load_genesis
from harmony.chain.validation import expected_epoch
from harmony.consensus.api import ConsensusConfig
from harmony.consensus.files import FileLogStore, FileSignerStore
from harmony.crypto.bls import SecretKey
from harmony.crypto.bls_keystore import decrypt_bls_key, load_bls_keystore
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.coded_propagation import CODED_TYPES, CodedPropagation, commitment_resolver
from harmony.node.config import ConfigError, NodeConfig
from harmony.node.consensus_driver import ConsensusDriver
from harmony.node.consensus_env import TopicTransport
from harmony.node.consensus_ledger import node_driver
from harmony.node.consensus_streams import consensus_protocol_id, open_consensus_streams
from harmony.node.crossshard import CrossShardError, global_topic
from harmony.node.fence import open_fence_gate, present_tickets, seat_key
from harmony.node.pruning import prune_forever
from harmony.node.randomness_service import ProcessProver, VDFService
from harmony.node.services import ShardServices
from harmony.node.staking_pool import StakingPool
from harmony.node.state_download import StateProgress
from harmony.node.state_sync import ChainStateSource, state_sync_chain
from harmony.node.status import NodeStatus
from harmony.node.sync import ChainSyncSource, Syncer
from harmony.node.txpool import TxPool, TxPoolConfig, TxPoolError
from harmony.node.wire import (
    KIND_CODED,
    KIND_CONSENSUS,
    KIND_HEAD,
    KIND_TRANSACTION,
    MAX_BATCH_BYTES,
    MAX_BATCH_TRANSACTIONS,
    WireError,
    pack_transactions,
    split,
    unpack_head,
    unpack_transactions,
)
from harmony.p2p.coded_broadcast import CodedConfig, coded_protocol_id, open_coded_broadcast
from harmony.p2p.host import GossipMessage, P2PConfig, P2PHost, open_host
from harmony.p2p.state_protocol import StateClient, serve_state
from harmony.p2p.sync_protocol import SyncClient, serve_sync
from harmony.p2p.topics import fence_protocol_id, shard_topic, state_protocol_id, sync_protocol_id
from harmony.storage.chaindb import ChainDB
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.block import Block
from harmony.types.cx import CXReceiptsProof
from harmony.types.shard_state import Committee
from harmony.types.staking import StakingTransaction
from harmony.types.transaction import Transaction

log = logging.getLogger("harmony.node")

TX_RELAY_INTERVAL = 0.1
"""Seconds between relayed transaction batches. Each batch is one gossip message that every peer receives
from each of its mesh peers; under load, halving the messages (50 ms before) saved more py-libp2p work than
the 25 ms it adds on average before a transaction reaches the leader's pool."""
REANNOUNCE_INTERVAL = 5.0
"""A transaction our RPC took that is still pending this long after its last relay is relayed again."""
REANNOUNCE_MAX = 2048
"""Transactions re-relayed per round at most."""
LOCAL_TRACKED = 65_536
"""Locally submitted transactions remembered for re-relaying."""


class NodeError(HarmonyError):
    """The node cannot start; the message says what to fix."""


def load_bls_keys(paths: tuple[Path, ...], pass_file: Path | None) -> tuple[SecretKey, ...]:
    """Decrypt the EIP-2335 keystores in ``paths`` with the passphrase in ``pass_file`` (its first line)."""
    if not paths:
        return ()
    if pass_file is None:
        raise ConfigError("bls.pass_file", "BLS keystores need a passphrase file (--bls.pass.file)")
    try:
        lines = pass_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("bls.pass_file", f"cannot read {pass_file}: {exc}") from exc
    passphrase = lines[0] if lines else ""
    keys = []
    for path in paths:
        try:
            keys.append(decrypt_bls_key(load_bls_keystore(path), passphrase))
        except (OSError, HarmonyError) as exc:
            raise ConfigError("bls.keys", f"{path}: {exc}") from exc
    return tuple(keys)


class Node:
    """A running node (module docstring)."""

    def __init__(self, config: NodeConfig, *, genesis: Genesis | None = None) -> None:
        self.config = config
        self.started_at = int(time.time())
        """Unix time the node process started (``node-unix-start-time``)."""
        if genesis is None:
            if config.genesis is None:
                raise ConfigError("general.genesis", "a genesis file is required (--genesis FILE)")
            genesis = load_genesis(config.genesis)
        self.genesis = genesis
        self.params = genesis.params
        if config.shard_id >= self.params.shard_count:
            raise ConfigError(
                "general.shard_id",
                f"shard {config.shard_id} does not exist: {self.params.name} has {self.params.shard_count}",
            )
        self.keys = load_bls_keys(config.bls_keys, config.bls_pass_file)
        self.started_unix = time.time()
        self._stack = ExitStack()
        self.host: P2PHost | None = None
        self.driver: ConsensusDriver | None = None
        self.topic: TopicTransport | None = None
        """Where the driver's and the relay's topic messages wait for the publisher."""
        self.syncer: Syncer | None = None
        self.state_progress = StateProgress()
        """The state download of ``--sync.mode state`` (the CLI's progress bar reads it)."""
        self.coded: CodedPropagation | None = None
        """Coded block propagation, when ``[p2p] propagation = "raptorq"``."""
        self._relay: list[bytes] = []
        self._relay_bytes = 0
        self._local: OrderedDict[bytes, float] = OrderedDict()
        """Hashes of the transactions our RPC took, oldest relay first, with the time of their last relay."""
        data = config.data_dir
        try:
            (data / "consensus").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError("general.data_dir", f"cannot create {data}: {exc.strerror or exc}") from exc
        self.store = LMDBStore(data / "chain")
        self._stack.callback(self.store.close)
        self.chain = Blockchain.open(ChainDB(self.store), genesis, config.shard_id)
        self.committee = self._committee()
        mine = {slot.bls_public_key for slot in self.committee.slots}
        for key in self.keys:
            if key.public_key.to_bytes() not in mine:
                log.warning(
                    "BLS key %s… is not in shard %d's committee: it will not sign",
                    key.public_key.to_bytes().hex()[:16],
                    config.shard_id,
                )
        self.staking_pool: StakingPool | None = (
            StakingPool(self.params, config.shard_id, self.chain.accounts())
            if self.params.is_beacon(config.shard_id)
            else None
        )
        self.services: ShardServices | None = None
        self.vdf: VDFService | None = None
        self.pending_listeners: list[Callable[[Sequence[bytes]], None]] = []
        """Told the hashes of transactions the pool accepted from peers (the RPC's pending filters and
        subscriptions)."""
        self.pool = TxPool(
            self.params,
            config.shard_id,
            self.chain.accounts(),
            TxPoolConfig(
                min_gas_price=config.min_gas_price or None,
                global_slots=config.global_slots,
                account_slots=config.account_slots,
            ),
        )

    def _committee(self) -> Committee:
        """The committee of the next block's epoch (after an epoch's last block: the announced one)."""
        db = self.chain.db
        head = self.chain.head
        state = (
            db.get_shard_state(expected_epoch(self.params, head))
            or db.get_shard_state(head.epoch)
            or db.get_shard_state(0)
        )
        if state is None:
            raise NodeError("the chain has no shard state: the genesis block must carry one")
        for committee in state.shards:
            if committee.shard_id == self.config.shard_id:
                return committee
        raise NodeError(f"the shard state has no committee for shard {self.config.shard_id}")

    def close(self) -> None:
        """Close the database."""
        self._stack.close()

    @property
    def peer_id(self) -> str:
        """The libp2p peer ID (after start)."""
        return self.host.peer_id if self.host is not None else ""

    def consensus_config(self) -> ConsensusConfig:
        """The FBFT configuration of this node (reference §1.6)."""
        return ConsensusConfig(
            shard_id=self.config.shard_id,
            epoch=self.chain.head.epoch,
            committee=self.committee,
            keys=self.keys,
            harmony_vote_share=self.params.harmony_vote_share,
            phase_timeout_ms=self.config.phase_timeout_ms,
            view_change_timeout_ms=self.config.view_change_timeout_ms,
            block_time_ms=self.config.block_time_ms or self.params.block_time_ms,
            clock_origin_unix_ms=0,
        )

    # ------------------------------------------------------------------ what the RPC server asks (NodeHooks)

    def peer_count(self) -> int:
        """Connected peers."""
        return self.host.peer_count() if self.host is not None else 0

    def syncing(self) -> tuple[int, int] | None:
        """(current, highest) while catching up, else ``None``."""
        status = self.syncer.status if self.syncer is not None else None
        if status is None or not status.syncing:
            return None
        return status.current, status.highest

    def on_transaction(self, tx: Transaction) -> None:
        """The pool accepted ``tx`` from RPC: gossip it."""
        self.submit_transaction(tx)

    def on_staking_transaction(self, tx: StakingTransaction) -> None:
        """The staking pool accepted ``tx`` from RPC: gossip it to the other beacon nodes' pools."""
        if self.services is not None:
            self.services.publish_staking(tx)

    def shard_endpoints(self) -> dict[int, tuple[str, str]]:
        """Every shard's endpoints from ``[network] shards``, else this node's (reference §9.3)."""
        if self.config.shard_endpoints:
            pairs = (entry.split() for entry in self.config.shard_endpoints)
            return {shard: (http, ws) for shard, (http, ws) in enumerate(pairs)}
        host = self.config.rpc_host
        return {
            self.config.shard_id: (
                f"http://{host}:{self.config.http_port}",
                f"ws://{host}:{self.config.ws_port}",
            )
        }

    def metadata(self) -> dict[str, object]:
        """This node's own facts for ``hmy_getNodeMetadata``; the RPC adds the chain's (reference §9.2)."""
        driver = self.driver
        return {
            "blskey": [k.public_key.to_bytes().hex() for k in self.keys],
            "is-leader": bool(driver is not None and driver.core.is_leader()),
            "role": "Validator" if self.keys else "ExplorerNode",
            "peerid": self.peer_id,
            "node-unix-start-time": self.started_at,
            "consensus": {
                "viewId": driver.core.view if driver is not None else 0,
                "blocknum": driver.core.height if driver is not None else 0,
                "finality": 0,
            },
            "sync-peers": self.syncer.status.peer_heads if self.syncer is not None else {},
        }

    def status(self, version: str = "") -> NodeStatus:
        """A read-only snapshot for the operators' layer (``harmony.node.status``); public data only."""
        head = self.chain.head
        driver, host, syncer, vdf = self.driver, self.host, self.syncer, self.vdf
        heads = syncer.status.peer_heads.values() if syncer is not None else ()
        topics = (
            shard_topic(self.params.name, self.config.shard_id),
            global_topic(self.params.name),
        )
        pending, queued = self.pool.stats()
        return NodeStatus(
            network=self.params.name,
            shard_id=self.config.shard_id,
            version=version,
            peer_id=self.peer_id,
            data_dir=self.config.data_dir,
            started_unix=self.started_unix,
            head_number=head.number,
            head_epoch=head.epoch,
            head_time=head.time,
            blocks_per_epoch=self.params.epochs.blocks_in_epoch(head.epoch),
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
            pool_pending=pending,
            pool_queued=queued,
            staking_pool=len(self.staking_pool) if self.staking_pool is not None else 0,
            bls_public_keys=tuple(k.public_key.to_bytes() for k in self.keys),
            vdf_proving_epoch=vdf.proving_epoch if vdf is not None else None,
            vdf_last_ms=vdf.last_duration_ms if vdf is not None else None,
            vdf_failures=vdf.failures if vdf is not None else 0,
            consensus_counters=dict(driver.counters) if driver is not None else {},
            consensus_drops=dict(driver.drops()) if driver is not None else {},
        )

    def inside_fence(self) -> bool:
        """Whether this node holds a seat key of its shard's committee in the head's epoch: inside the fence
        when the shard is fenced (issue 21; the RPC serves a fenced shard's data only then)."""
        head = self.chain.head
        return seat_key(self.chain, self.config.shard_id, head.epoch, self.keys) is not None

    def pending_cx_proofs(self) -> Sequence[CXReceiptsProof]:
        """Outgoing proofs the relay still re-publishes."""
        return self.services.relay.pending() if self.services is not None else ()

    def resend_cx_proof(self, proof: CXReceiptsProof) -> bool:
        """Publish ``proof`` on the global topic again (``hmyv2_resendCx``)."""
        if self.services is None:
            return False
        self.services.resend(proof)
        return True

    def pending_crosslink_count(self) -> int:
        """Verified crosslinks waiting for a beacon block."""
        return len(self.services.crosslinks) if self.services is not None else 0

    def peer_info(self) -> dict[str, object]:
        """What ``hmy_getPeerInfo`` shows: our peer id, banned peers, and the peers of the shard topic."""
        host = self.host
        if host is None:
            return {
                "peerid": self.peer_id,
                "blocked-peers": [],
                "peers": [],
                "c": {"total-known-peers": 0, "connected": 0, "not-connected": 0},
            }
        topic = shard_topic(self.params.name, self.config.shard_id)
        connected = host.connected_peers()
        return {
            "peerid": self.peer_id,
            "blocked-peers": sorted(host.banned_peers()),
            "peers": [{"topic": topic, "peers": sorted(host.topic_peers(topic))}],
            "c": {"total-known-peers": len(connected), "connected": len(connected), "not-connected": 0},
        }

    def submit_transaction(self, tx: Transaction) -> None:
        """Gossip a transaction our pool accepted (from RPC) to the shard's other pools (reference §8.4).

        Transactions are relayed in batches every :data:`TX_RELAY_INTERVAL` seconds: one topic message per
        batch instead of one per transaction keeps gossip far below its message-rate limits under load.
        """
        encoded, tx_hash = self.pool.relay_form(tx)
        self._relay.append(encoded)
        self._relay_bytes += len(encoded)
        self._local[tx_hash] = time.monotonic()
        while len(self._local) > LOCAL_TRACKED:
            self._local.popitem(last=False)
        if self._relay_bytes >= MAX_BATCH_BYTES // 2 or len(self._relay) >= MAX_BATCH_TRANSACTIONS:
            self._flush_relay()

    def _flush_relay(self) -> None:
        if not self._relay or self.topic is None:
            return
        batch, self._relay, self._relay_bytes = self._relay, [], 0
        try:
            self.topic.outbox_send.send_nowait(pack_transactions(batch))
        except trio.WouldBlock:
            log.warning("outbox full: %d transactions not relayed", len(batch))

    async def _relayer(self) -> None:
        last_reannounce = time.monotonic()
        while True:
            await trio.sleep(TX_RELAY_INTERVAL)
            self._flush_relay()
            if time.monotonic() - last_reannounce >= REANNOUNCE_INTERVAL:
                last_reannounce = time.monotonic()
                self._reannounce()

    def _reannounce(self) -> None:
        """Relay again the transactions our RPC took that are still pending after a while.

        A peer whose pool was full when the first relay came dropped them, leaving nonce gaps that keep the
        sender's later transactions out of its blocks when it leads; peers that have them answer "known"
        cheaply (before any signature check).
        """
        now = time.monotonic()
        stale = []
        for tx_hash, at in list(self._local.items()):
            if now - at < REANNOUNCE_INTERVAL:
                break
            encoded = self.pool.encoded(tx_hash)  # exact Harmony-hash lookup: a miss costs nothing more
            if encoded is None:
                del self._local[tx_hash]
                continue
            stale.append(encoded)
            self._local.move_to_end(tx_hash)
            self._local[tx_hash] = now
            if len(stale) >= REANNOUNCE_MAX:
                break
        self._relay.extend(stale)
        if stale:
            self._flush_relay()

    async def run(
        self,
        *,
        services: Callable[[trio.Nursery], Awaitable[None]] | None = None,
        task_status: Any = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled: p2p host, consensus, gossip, sync, then ``services(nursery)``."""
        config = self.config
        p2p = P2PConfig(
            key_path=config.data_dir / "p2p.key",
            listen_host=config.p2p_host,
            port=config.p2p_port,
            bootnodes=config.bootnodes,
        )
        topic = shard_topic(self.params.name, config.shard_id)
        protocol = sync_protocol_id(self.params.name, config.shard_id)
        global_name = global_topic(self.params.name)
        global_send, global_outbox = trio.open_memory_channel[bytes](1024)

        def publish_global(data: bytes) -> None:
            try:
                global_send.send_nowait(data)
            except trio.WouldBlock:
                log.warning("global topic outbox full: message dropped (the relay sends it again)")

        async with open_host(p2p) as host, AsyncExitStack() as stack:
            self.host = host
            gate = open_fence_gate(
                host, self.chain, config.shard_id, fence_protocol_id(self.params.name, config.shard_id)
            )
            serve_state(
                host,
                state_protocol_id(self.params.name, config.shard_id),
                ChainStateSource(self.chain),
                guard=None if gate is None else gate.guard,
            )
            if config.sync_mode == "state" and await state_sync_chain(
                self.chain,
                host,
                StateClient(host),
                SyncClient(host, protocol),
                progress=self.state_progress,
            ):
                self._adopt_pivot()
            my_keys = frozenset(k.public_key.to_bytes() for k in self.keys)
            reporter = next(
                (s.ecdsa_address for s in self.committee.slots if s.bls_public_key in my_keys), b"\x00" * 20
            )
            shard_services = ShardServices(
                self.chain,
                publish=publish_global,
                staking_pool=self.staking_pool,
                reporter=reporter,
                my_keys=my_keys,
            )
            self.services = shard_services
            if self.params.is_beacon(config.shard_id) and self.keys:
                self.vdf = VDFService(
                    self.chain.db,
                    self.params,
                    config.shard_id,
                    compute=config.vdf_compute,
                    iterations_override=self.chain.rules.vdf_iterations,
                    # the prover may take a core for seconds: at the lowest priority, consensus comes first
                    prover=ProcessProver(nice=19),
                )
                shard_services.vdf = self.vdf
            self.topic = TopicTransport(Counter())
            driver = node_driver(
                self.chain,
                self.pool,
                self.consensus_config(),
                (
                    FileSignerStore(config.data_dir / "consensus" / "signer.state"),
                    FileLogStore(config.data_dir / "consensus" / "wal.log"),
                ),
                self.topic,
                extras=shard_services,
                all_keys=self.keys,
                debug_equivocate=config.debug_equivocate,
            )
            if config.debug_equivocate:
                log.warning("debug.equivocate is on: this node double-signs every commit and will be slashed")
            self.driver = driver
            driver.block_listeners.append(self._after_block)
            driver.penalize = lambda peer, reason: host.penalize(peer, reason, 10)
            fence_protocol = fence_protocol_id(self.params.name, config.shard_id)
            if gate is not None:
                gate.fence_topic(topic)
            serve_sync(
                host, protocol, ChainSyncSource(self.chain), guard=None if gate is None else gate.guard
            )
            if config.propagation == "raptorq":
                coded = await stack.enter_async_context(
                    open_coded_broadcast(
                        host,
                        coded_protocol_id(self.params.name, config.shard_id),
                        resolve=commitment_resolver(driver, config.shard_id),
                        config=CodedConfig(debug_drop_percent=config.debug_drop_symbols_percent),
                        guard=None if gate is None else gate.guard,
                    )
                )
                self.coded = CodedPropagation(host, coded, driver, shard_id=config.shard_id, topic=topic)
                self.topic.coded_send = self.coded.send
                self.topic.coded_types = CODED_TYPES
                if config.debug_drop_symbols_percent:
                    log.warning(
                        "debug.drop_symbols_percent is on: %d %% of received block symbols are dropped",
                        config.debug_drop_symbols_percent,
                    )
            streams = await stack.enter_async_context(
                open_consensus_streams(
                    host,
                    consensus_protocol_id(self.params.name, config.shard_id),
                    deliver=driver.deliver,
                    publish=driver.publish,
                    counters=driver.counters,
                    guard=None if gate is None else gate.guard,
                )
            )
            self.topic.vote_route = streams.send_vote
            driver.leader_heard = streams.learn
            self.syncer = Syncer(host, protocol, self.chain, driver, interval=2.0, topic=topic)
            inbox = await host.subscribe(topic)
            global_inbox = await host.subscribe(global_name)
            log.info(
                "node %s on shard %d: head %d, %d BLS key(s), listening on %s",
                host.peer_id,
                config.shard_id,
                self.chain.head.number,
                len(self.keys),
                ", ".join(host.listen_addrs()),
            )
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._publisher, host, topic, self.topic)
                nursery.start_soon(self._reader, host, inbox, driver)
                nursery.start_soon(self.syncer.run)
                if gate is not None:  # a fenced shard: show our ticket to the other members
                    nursery.start_soon(
                        present_tickets, host, self.chain, config.shard_id, fence_protocol, self.keys
                    )
                nursery.start_soon(self._relayer)
                nursery.start_soon(self._global_publisher, host, global_name, global_outbox)
                nursery.start_soon(self._global_reader, host, global_inbox, shard_services)
                nursery.start_soon(self._services_ticker, shard_services, driver)
                if not config.archive:
                    nursery.start_soon(prune_forever, self.chain.db)
                if self.coded is not None:
                    nursery.start_soon(self.coded.run)
                if self.vdf is not None:
                    await nursery.start(self.vdf.run)
                await nursery.start(driver.run)
                if services is not None:
                    await services(nursery)
                task_status.started(self)

    def _adopt_pivot(self) -> None:
        """State sync made a recent block the head: what was read from the genesis head is read again."""
        self.committee = self._committee()
        head = self.chain.head
        self.pool.set_state(self.chain.accounts(), gas_limit=head.gas_limit)
        if self.staking_pool is not None:
            self.staking_pool = StakingPool(self.params, self.config.shard_id, self.chain.accounts())

    def _after_block(self, block: Block) -> None:
        self.pool.set_state(self.chain.accounts(), gas_limit=block.header.gas_limit)
        if self.vdf is not None:
            self.vdf.on_commit(block.header)

    async def _global_publisher(
        self, host: P2PHost, topic: str, outbox: trio.MemoryReceiveChannel[bytes]
    ) -> None:
        async for data in outbox:
            try:
                await host.publish(topic, data)
            except HarmonyError as exc:
                log.warning("publish on the global topic failed: %s", exc)

    async def _global_reader(
        self, host: P2PHost, inbox: trio.MemoryReceiveChannel[GossipMessage], services: ShardServices
    ) -> None:
        """Cross-shard traffic (proofs, crosslinks, beacon headers, staking, evidence); forgers penalized."""
        async for message in inbox:
            try:
                services.on_global(message.data)
            except CrossShardError as exc:
                log.info("refused a global message from %s: %s", message.from_peer, exc)
                host.penalize(message.from_peer, f"global: {exc.check}", 5)
            except HarmonyError as exc:
                log.warning("global message from %s not handled: %s", message.from_peer, exc)

    async def _services_ticker(self, services: ShardServices, driver: ConsensusDriver) -> None:
        """Once a second: re-publish due proofs and headers; send double-sign evidence to the beacon chain."""
        while True:
            await trio.sleep(1.0)
            services.tick()
            while driver.evidence:
                services.report_double_sign(driver.evidence.pop(0))

    async def _publisher(self, host: P2PHost, topic: str, transport: TopicTransport) -> None:
        async for data in transport.outbox:
            try:
                await host.publish(topic, data)
            except HarmonyError as exc:
                log.warning("publish failed: %s", exc)

    async def _reader(
        self, host: P2PHost, inbox: trio.MemoryReceiveChannel[GossipMessage], driver: ConsensusDriver
    ) -> None:
        async for message in inbox:
            try:
                kind, payload = split(message.data)
            except WireError as exc:
                host.penalize(message.from_peer, f"topic: {exc}")
                continue
            if kind == KIND_CONSENSUS:
                driver.deliver(payload, message.from_peer)
            elif kind == KIND_CODED:
                if self.coded is not None:
                    self.coded.on_announce(payload, message.from_peer)
            elif kind == KIND_TRANSACTION:
                self._gossiped_transactions(host, message.from_peer, payload)
            elif kind == KIND_HEAD:
                try:
                    number, _ = unpack_head(payload)
                except WireError as exc:
                    host.penalize(message.from_peer, f"topic: {exc}")
                    continue
                if self.syncer is not None:
                    self.syncer.heard_head(message.from_peer, number)

    def _gossiped_transactions(self, host: P2PHost, peer: str, payload: bytes) -> None:
        try:
            batch = unpack_transactions(payload)
        except WireError as exc:
            host.penalize(peer, f"topic: {exc}", 5)
            return
        accepted: list[bytes] = []
        for raw in batch:
            try:
                accepted.append(self.pool.add_raw(raw, eth=False))
            except TxPoolError as exc:
                if exc.reason in ("malformed", "oversized", "invalid-signature"):
                    host.penalize(peer, f"transaction: {exc.reason}")
        if accepted:
            for listener in self.pending_listeners:
                listener(accepted)
