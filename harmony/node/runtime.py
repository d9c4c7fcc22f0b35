"""One node process: chain, pool, consensus, p2p and sync on one trio loop (design §8).

:class:`Node` opens the data directory (``chain/`` LMDB, ``consensus/`` signer state and WAL, ``p2p.key``),
the chain from the genesis file, the BLS keys it signs with, the libp2p host on the shard's topic, and
runs the consensus driver, the gossip readers and publishers, the transaction relay and the sync loop in one
nursery. Services of higher layers (the RPC server) are started by the caller in :meth:`Node.run`'s
``services`` hook, since this layer does not import them; they read the node and call into it through
:attr:`Node.hooks` (:mod:`harmony.node.hooks`).

The node holds its parts; each step of opening and starting them is a function of
:mod:`harmony.node.startup`, the topic tasks are :mod:`harmony.node.topic_tasks`, and the transaction gossip
is :mod:`harmony.node.tx_relay`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from functools import partial
from typing import Any

import trio

from harmony.chain.genesis import Genesis
from harmony.consensus.api import ConsensusConfig
from harmony.node.background_commits import BackgroundCommits
from harmony.node.coded_propagation import CodedPropagation
from harmony.node.config import NodeConfig
from harmony.node.consensus_driver import ConsensusDriver
from harmony.node.consensus_env import TopicTransport
from harmony.node.crossshard import global_topic
from harmony.node.fence import present_tickets
from harmony.node.hooks import RuntimeHooks
from harmony.node.pruning import Compactor, prune_forever
from harmony.node.randomness_service import VDFService
from harmony.node.services import ShardServices
from harmony.node.startup import (
    attach_driver,
    committee_of,
    load_bls_keys,
    load_network,
    log_start,
    new_driver,
    new_pool,
    new_shard_services,
    new_staking_pool,
    new_syncer,
    new_vdf_service,
    open_chain,
    open_coded_propagation,
    p2p_config,
    route_transactions,
    route_votes,
    serve_blocks,
    serve_state_behind_gate,
    state_sync_first,
    warn_foreign_keys,
)
from harmony.node.state_download import StateProgress
from harmony.node.sync import Syncer
from harmony.node.topic_tasks import (
    GlobalOutbox,
    publish_forever,
    read_global_topic,
    read_shard_topic,
    tick_services,
)
from harmony.node.tx_relay import TxRelay
from harmony.p2p.fence_gate import FenceGate
from harmony.p2p.host import P2PHost, open_host
from harmony.p2p.topics import fence_protocol_id, shard_topic
from harmony.state import lazy_evm
from harmony.types.block import Block

log = logging.getLogger("harmony.node")


class Node:
    """A running node (module docstring)."""

    def __init__(self, config: NodeConfig, *, genesis: Genesis | None = None) -> None:
        self.config = config
        self.started_at = int(time.time())
        """Unix time the node process started (``node-unix-start-time``)."""
        self.genesis = load_network(config, genesis)
        self.params = self.genesis.params
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
        self.commits: BackgroundCommits | None = None
        """Stored blocks made durable off the loop (``[storage] background_commits``), while running."""
        self.store, self.chain = open_chain(config, self.genesis, self._stack)
        self.compactor = Compactor(self.store)
        """Compacts the database after pruning rounds (a pruning node's; an archive's never runs)."""
        self.committee = committee_of(self.chain)
        warn_foreign_keys(self.keys, self.committee)
        self.staking_pool = new_staking_pool(self.chain)
        self.services: ShardServices | None = None
        self.vdf: VDFService | None = None
        self.pool = new_pool(config, self.chain)
        self.relay = TxRelay(self.pool)
        """Our RPC's transactions to the shard's pools and theirs into ours (its ``pending_listeners``: the
        RPC's pending filters and subscriptions)."""
        self.hooks = RuntimeHooks(self)
        """What the RPC and the operators' layer read of the node, and the RPC's calls into it."""
        self._joined: trio.Event | None = None
        """Set by the first final block after the start (made by :meth:`run`)."""

    def close(self) -> None:
        """Close the database."""
        self._stack.close()

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
            commit_window_ms=self.config.commit_window_ms,
            clock_origin_unix_ms=0,
        )

    async def run(
        self,
        *,
        services: Callable[[trio.Nursery], Awaitable[None]] | None = None,
        task_status: Any = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled: p2p host, consensus, gossip, sync, then ``services(nursery)``."""
        chain, config, global_outbox = self.chain, self.config, GlobalOutbox()
        async with open_host(p2p_config(config)) as host, AsyncExitStack() as stack:
            self.host = host
            gate = serve_state_behind_gate(host, chain)
            if config.sync_mode == "state" and await state_sync_first(chain, host, self.state_progress):
                self._adopt_pivot()
            self.services = shard_services = new_shard_services(
                chain, self.committee, self.keys, self.staking_pool, global_outbox.send
            )
            self.vdf = shard_services.vdf = new_vdf_service(chain, config, self.keys)
            self.topic = self.relay.topic = transport = TopicTransport(Counter())
            consensus = self.consensus_config()
            self.driver = driver = new_driver(
                chain, self.pool, consensus, config=config, topic=transport, services=shard_services
            )
            attach_driver(driver, host, self._after_block)
            serve_blocks(host, chain, gate)
            self.coded = await open_coded_propagation(
                stack, host, chain=chain, driver=driver, topic=transport, config=config, gate=gate
            )
            streams = await route_votes(stack, host, chain=chain, driver=driver, topic=transport, gate=gate)
            await route_transactions(
                stack,
                host,
                chain=chain,
                driver=driver,
                relay=self.relay,
                streams=streams,
                config=config,
                gate=gate,
            )
            self.syncer = new_syncer(host, chain, driver, on_caught_up=self.compactor.synced)
            async with trio.open_nursery() as nursery:
                if config.background_commits:
                    self.commits = BackgroundCommits(chain.db, self.store)
                    await nursery.start(self.commits.run)
                await self._start_tasks(nursery, host, gate, shard_services, global_outbox)
                if self.vdf is not None:
                    await nursery.start(self.vdf.run)
                await nursery.start(driver.run)
                self._joined = trio.Event()
                nursery.start_soon(self._load_evm_once_joined, self._joined)
                if services is not None:
                    await services(nursery)
                task_status.started(self)

    async def _start_tasks(
        self,
        nursery: trio.Nursery,
        host: P2PHost,
        gate: FenceGate | None,
        services: ShardServices,
        outbox: GlobalOutbox,
    ) -> None:
        """Join both topics, then start their publishers and readers, the sync loop, the fence tickets,
        the relay, the services' ticker, pruning and coded propagation, in this order."""
        driver, syncer, transport = self.driver, self.syncer, self.topic
        assert driver is not None and syncer is not None and transport is not None, "set by run()"
        name, shard = self.params.name, self.config.shard_id
        topic, global_name = shard_topic(name, shard), global_topic(name)
        inbox = await host.subscribe(topic)
        global_inbox = await host.subscribe(global_name)
        log_start(host, self.chain, self.keys)
        nursery.start_soon(publish_forever, host, topic, transport.outbox, "publish failed: %s")
        nursery.start_soon(
            partial(read_shard_topic, driver=driver, relay=self.relay, syncer=syncer, coded=self.coded),
            host.penalize,
            inbox,
        )
        nursery.start_soon(syncer.run)
        if gate is not None:  # a fenced shard: show our ticket to the other members
            fence_protocol = fence_protocol_id(name, shard)
            nursery.start_soon(present_tickets, host, self.chain, shard, fence_protocol, self.keys)
        nursery.start_soon(self.relay.run)
        global_failure = "publish on the global topic failed: %s"
        nursery.start_soon(publish_forever, host, global_name, outbox.outbox, global_failure)
        nursery.start_soon(read_global_topic, host.penalize, global_inbox, services)
        nursery.start_soon(tick_services, services, driver)
        if not self.config.archive:
            nursery.start_soon(partial(prune_forever, self.chain.db, compactor=self.compactor))
        if self.coded is not None:
            nursery.start_soon(self.coded.run)

    async def _load_evm_once_joined(self, joined: trio.Event) -> None:
        """Import the EVM (:mod:`harmony.state.lazy_evm`) in a worker thread once the first block after the
        start is final: the start does not wait for py-evm's import (about half of the node's import
        CPU), and neither does the first contract message the node executes. A stop does not wait for the
        import (abandoned: the thread only imports modules, and a daemon thread ends with the process)."""
        await joined.wait()
        await trio.to_thread.run_sync(lazy_evm.load, abandon_on_cancel=True)  # type: ignore[call-arg]
        log.debug("the EVM is loaded")

    def _adopt_pivot(self) -> None:
        """State sync made a recent block the head: what was read from the genesis head is read again."""
        self.committee = committee_of(self.chain)
        head = self.chain.head
        self.pool.set_state(self.chain.accounts(), gas_limit=head.gas_limit)
        if self.staking_pool is not None:
            self.staking_pool = new_staking_pool(self.chain)

    def _after_block(self, block: Block) -> None:
        """A final block was stored: the pool reads its state; the VDF prover hears of it; the EVM loads."""
        self.pool.set_state(self.chain.accounts(), gas_limit=block.header.gas_limit)
        if self.vdf is not None:
            self.vdf.on_commit(block.header)
        if self._joined is not None:
            self._joined.set()
