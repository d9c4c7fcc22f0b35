"""The steps of a node's start, in the order :class:`~harmony.node.runtime.Node` takes them (design §8).

Opening (``Node.__init__``): the network's genesis (:func:`load_network`), the data directory and chain
(:func:`open_chain`), the committee the keys should sit in (:func:`committee_of`, :func:`warn_foreign_keys`)
and the pools (:func:`new_pool`, :func:`new_staking_pool`).

Running (``Node.run``), on the started host: the fence gate and the state protocol
(:func:`serve_state_behind_gate`), ``--sync.mode state`` (:func:`state_sync_first`), the network-wide
services and the VDF prover (:func:`new_shard_services`, :func:`new_vdf_service`), the consensus driver
(:func:`new_driver`), the block sync protocol (:func:`serve_blocks`), then the driver's direct routes: coded
block propagation (:func:`open_coded_propagation`), votes to the leader (:func:`route_votes`) and our RPC's
transactions to the next leaders (:func:`route_transactions`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

from harmony.chain.genesis import Genesis, load_genesis
from harmony.chain.validation import expected_epoch
from harmony.consensus.api import ConsensusConfig
from harmony.consensus.files import FileLogStore, FileSignerStore
from harmony.crypto.bls import SecretKey
from harmony.crypto.bls_keystore import decrypt_bls_key, load_bls_keystore
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.coded_propagation import CODED_TYPES, CodedPropagation, commitment_resolver
from harmony.node.config import WAITING_FOR_STORE, ConfigError, NodeConfig
from harmony.node.consensus_driver import ConsensusDriver
from harmony.node.consensus_env import TopicTransport
from harmony.node.consensus_ledger import node_driver
from harmony.node.consensus_streams import ConsensusStreams, open_consensus_streams
from harmony.node.fence import open_fence_gate
from harmony.node.randomness_service import ProcessProver, VDFService
from harmony.node.services import ShardServices
from harmony.node.staking_pool import StakingPool
from harmony.node.state_download import StateProgress
from harmony.node.state_sync import ChainStateSource, state_sync_chain
from harmony.node.sync import ChainSyncSource, Syncer
from harmony.node.tx_relay import TxRelay
from harmony.node.tx_routes import (
    LEADER_VIEWS,
    RelayTargets,
    open_leader_tx_route,
    relay_targets,
)
from harmony.node.txpool import TxPool, TxPoolConfig
from harmony.node.vdf_child import MAX_NICE
from harmony.p2p.coded_broadcast import CodedConfig, coded_protocol_id, open_coded_broadcast
from harmony.p2p.fence_gate import FenceGate
from harmony.p2p.host import P2PConfig, P2PHost
from harmony.p2p.state_protocol import StateClient, serve_state
from harmony.p2p.sync_protocol import SyncClient, serve_sync
from harmony.p2p.topics import (
    consensus_protocol_id,
    fence_protocol_id,
    shard_topic,
    state_protocol_id,
    sync_protocol_id,
    tx_protocol_id,
)
from harmony.storage.chaindb import ChainDB
from harmony.storage.errors import StorageLocked
from harmony.storage.lmdb_store import LMDBStore
from harmony.types.block import Block
from harmony.types.shard_state import Committee

log = logging.getLogger("harmony.node")


class NodeError(HarmonyError):
    """The node cannot start; the message says what to fix."""


# ---------------------------------------------------------------------------------------------- opening


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


def load_network(config: NodeConfig, genesis: Genesis | None) -> Genesis:
    """``genesis``, else the configured genesis file's; refused when the network has no shard
    ``config.shard_id`` or no genesis file is configured."""
    if genesis is None:
        if config.genesis is None:
            raise ConfigError("general.genesis", "a genesis file is required (--genesis FILE)")
        genesis = load_genesis(config.genesis)
    params = genesis.params
    if config.shard_id >= params.shard_count:
        raise ConfigError(
            "general.shard_id",
            f"shard {config.shard_id} does not exist: {params.name} has {params.shard_count}",
        )
    return genesis


def open_chain(config: NodeConfig, genesis: Genesis, stack: ExitStack) -> tuple[LMDBStore, Blockchain]:
    """Create the data directory (with ``consensus/``), open ``chain/`` (closed by ``stack``) and the chain
    of ``config.shard_id`` over it."""
    data = config.data_dir
    try:
        (data / "consensus").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("general.data_dir", f"cannot create {data}: {exc.strerror or exc}") from exc
    store = open_store(data / "chain", config.db_wait_s)
    stack.callback(store.close)
    chain = Blockchain.open(ChainDB(store, tx_history=config.keeps_tx_history), genesis, config.shard_id)
    first = chain.db.record_tx_history()
    if first is None:
        log.info("transaction history not kept (a validator's default; [storage] tx_history = true keeps it)")
    elif first > 0:
        log.warning("transaction history kept from block %d on: the blocks before it are not indexed", first)
    indexed = chain.db.index_epoch_ends()
    if indexed:
        log.info("indexed the last blocks of %d epochs (a database from an older build)", indexed)
    return store, chain


def open_store(path: Path, wait_s: float, *, poll_s: float = 0.05) -> LMDBStore:
    """Open the chain database at ``path`` for writing; while another process holds it (the old node of an
    upgrade, stopping), retry for up to ``wait_s`` seconds.

    The upgrade's handover: the new build starts beside the old node with ``[storage] wait_s`` set, loads
    its code (a second or more of imports) and waits here; the operator then stops the old node, and the new
    one opens the database the moment the old one has closed it. Everything that could conflict with the old
    process (the signer's state, the ports) is opened after this, so it never runs beside the old node.
    """
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            return LMDBStore(path)
        except StorageLocked:
            if time.monotonic() >= deadline:
                raise
            if not told:
                log.info("%s: %s (up to %g s)", path, WAITING_FOR_STORE, wait_s)
                told = True
            time.sleep(poll_s)


def committee_of(chain: Blockchain) -> Committee:
    """The chain's shard's committee of the next block's epoch (after an epoch's last block: the announced
    one; else the head's epoch's, else genesis's)."""
    db, head = chain.db, chain.head
    state = (
        db.get_shard_state(expected_epoch(chain.params, head))
        or db.get_shard_state(head.epoch)
        or db.get_shard_state(0)
    )
    if state is None:
        raise NodeError("the chain has no shard state: the genesis block must carry one")
    for committee in state.shards:
        if committee.shard_id == chain.shard_id:
            return committee
    raise NodeError(f"the shard state has no committee for shard {chain.shard_id}")


def warn_foreign_keys(keys: Sequence[SecretKey], committee: Committee) -> None:
    """Log every key that has no seat in ``committee``: it will not sign."""
    mine = {slot.bls_public_key for slot in committee.slots}
    for key in keys:
        if key.public_key.to_bytes() not in mine:
            log.warning(
                "BLS key %s… is not in shard %d's committee: it will not sign",
                key.public_key.to_bytes().hex()[:16],
                committee.shard_id,
            )


def new_pool(config: NodeConfig, chain: Blockchain) -> TxPool:
    """The transaction pool over the head's accounts, with the configured price floor and slots."""
    pool_config = TxPoolConfig(
        min_gas_price=config.min_gas_price or None,
        global_slots=config.global_slots,
        account_slots=config.account_slots,
    )
    return TxPool(chain.params, chain.shard_id, chain.accounts(), pool_config)


def new_staking_pool(chain: Blockchain) -> StakingPool | None:
    """The staking pool over the head's accounts on the beacon chain; ``None`` on other shards."""
    if not chain.params.is_beacon(chain.shard_id):
        return None
    return StakingPool(chain.params, chain.shard_id, chain.accounts())


# ---------------------------------------------------------------------------------------------- running


def p2p_config(config: NodeConfig) -> P2PConfig:
    """The host's settings: the persistent key and the peers last connected in the data directory, listen
    address, bootnodes."""
    return P2PConfig(
        key_path=config.data_dir / "p2p.key",
        peers_path=config.data_dir / "p2p.peers",
        listen_host=config.p2p_host,
        port=config.p2p_port,
        bootnodes=config.bootnodes,
    )


def guard_of(gate: FenceGate | None) -> Callable[[str], None] | None:
    """The per-peer check a fenced shard's protocols run (:meth:`FenceGate.guard`); none when unfenced."""
    return None if gate is None else gate.guard


def serve_state_behind_gate(host: P2PHost, chain: Blockchain) -> FenceGate | None:
    """Open the fence gate when the shard is fenced (:mod:`harmony.node.fence`) and serve the state
    protocol behind it; the gate (``None`` when unfenced)."""
    name, shard = chain.params.name, chain.shard_id
    gate = open_fence_gate(host, chain, shard, fence_protocol_id(name, shard))
    serve_state(host, state_protocol_id(name, shard), ChainStateSource(chain), guard=guard_of(gate))
    return gate


async def state_sync_first(chain: Blockchain, host: P2PHost, progress: StateProgress) -> bool:
    """``--sync.mode state``: download a recent state and make its block the head
    (:func:`~harmony.node.state_sync.state_sync_chain`); whether it did."""
    protocol = sync_protocol_id(chain.params.name, chain.shard_id)
    return await state_sync_chain(
        chain, host, StateClient(host), SyncClient(host, protocol), progress=progress
    )


def new_shard_services(
    chain: Blockchain,
    committee: Committee,
    keys: Sequence[SecretKey],
    staking_pool: StakingPool | None,
    publish: Callable[[bytes], None],
) -> ShardServices:
    """The network-wide topic's pools and relays, publishing through ``publish``; double-sign reports name
    the account of our first key's seat in ``committee`` (zero when we hold none)."""
    my_keys = frozenset(k.public_key.to_bytes() for k in keys)
    reporter = next((s.ecdsa_address for s in committee.slots if s.bls_public_key in my_keys), b"\x00" * 20)
    return ShardServices(
        chain, publish=publish, staking_pool=staking_pool, reporter=reporter, my_keys=my_keys
    )


def new_vdf_service(chain: Blockchain, config: NodeConfig, keys: Sequence[SecretKey]) -> VDFService | None:
    """The epoch VDF prover of a beacon validator (``None`` elsewhere), in a child process at the lowest
    priority: the prover may take a core for seconds, and consensus comes first."""
    if not (chain.params.is_beacon(chain.shard_id) and keys):
        return None
    return VDFService(
        chain.db,
        chain.params,
        chain.shard_id,
        compute=config.vdf_compute,
        iterations_override=chain.rules.vdf_iterations,
        prover=ProcessProver(nice=MAX_NICE),
    )


def new_driver(
    chain: Blockchain,
    pool: TxPool,
    consensus: ConsensusConfig,
    *,
    config: NodeConfig,
    topic: TopicTransport,
    services: ShardServices,
) -> ConsensusDriver:
    """The consensus driver over the node's ledger, with the signer's state and the WAL in
    ``consensus/`` and the shard topic as its transport (``debug.equivocate`` warned about)."""
    consensus_dir = config.data_dir / "consensus"
    driver = node_driver(
        chain,
        pool,
        consensus,
        (FileSignerStore(consensus_dir / "signer.state"), FileLogStore(consensus_dir / "wal.log")),
        topic,
        extras=services,
        all_keys=consensus.keys,
        debug_equivocate=config.debug_equivocate,
    )
    if config.debug_equivocate:
        log.warning("debug.equivocate is on: this node double-signs every commit and will be slashed")
    return driver


def attach_driver(driver: ConsensusDriver, host: P2PHost, after_block: Callable[[Block], None]) -> None:
    """Tell ``after_block`` of every final block, and score down (10) a peer the driver catches."""
    driver.block_listeners.append(after_block)
    driver.penalize = lambda peer, reason: host.penalize(peer, reason, 10)


def serve_blocks(host: P2PHost, chain: Blockchain, gate: FenceGate | None) -> None:
    """Fence the shard topic when the gate is up, and serve the block sync protocol behind the gate."""
    name, shard = chain.params.name, chain.shard_id
    if gate is not None:
        gate.fence_topic(shard_topic(name, shard))
    serve_sync(host, sync_protocol_id(name, shard), ChainSyncSource(chain), guard=guard_of(gate))


async def open_coded_propagation(
    stack: AsyncExitStack,
    host: P2PHost,
    *,
    chain: Blockchain,
    driver: ConsensusDriver,
    topic: TopicTransport,
    config: NodeConfig,
    gate: FenceGate | None,
) -> CodedPropagation | None:
    """With ``[p2p] propagation = "raptorq"``: serve the coded broadcast (until ``stack`` closes) and hand
    it the driver's block-carrying messages; ``None`` (gossip) otherwise."""
    if config.propagation != "raptorq":
        return None
    name, shard = chain.params.name, chain.shard_id
    coded_broadcast = await stack.enter_async_context(
        open_coded_broadcast(
            host,
            coded_protocol_id(name, shard),
            resolve=commitment_resolver(driver, shard),
            config=CodedConfig(debug_drop_percent=config.debug_drop_symbols_percent),
            guard=guard_of(gate),
        )
    )
    coded = CodedPropagation(host, coded_broadcast, driver, shard_id=shard, topic=shard_topic(name, shard))
    topic.coded_send = coded.send
    topic.coded_types = CODED_TYPES
    if config.debug_drop_symbols_percent:
        log.warning(
            "debug.drop_symbols_percent is on: %d %% of received block symbols are dropped",
            config.debug_drop_symbols_percent,
        )
    return coded


async def route_votes(
    stack: AsyncExitStack,
    host: P2PHost,
    *,
    chain: Blockchain,
    driver: ConsensusDriver,
    topic: TopicTransport,
    gate: FenceGate | None,
) -> ConsensusStreams:
    """Send the driver's votes straight to the leader's peer (:mod:`harmony.node.consensus_streams`,
    served until ``stack`` closes), learning the peer from the leader's messages; the route."""
    streams = await stack.enter_async_context(
        open_consensus_streams(
            host,
            consensus_protocol_id(chain.params.name, chain.shard_id),
            deliver=driver.deliver,
            publish=driver.publish,
            counters=driver.counters,
            guard=guard_of(gate),
        )
    )
    topic.vote_route = streams.send_vote
    driver.leader_heard = streams.learn
    return streams


def leader_targets(host: P2PHost, driver: ConsensusDriver, streams: ConsensusStreams) -> RelayTargets:
    """Where a transaction batch goes now (:func:`~harmony.node.tx_routes.relay_targets`): the current
    core's leaders of its view and the next :data:`~harmony.node.tx_routes.LEADER_VIEWS`, to the peers the
    vote route learned, connected ones only."""
    core = driver.core

    def peer_of(key: bytes) -> str | None:
        peer = streams.leader_peer(key)
        return peer if peer is not None and host.is_connected(peer) else None

    return relay_targets(
        core.leader_of,
        core.view,
        views=LEADER_VIEWS,
        mine=core.my_indices,
        key_of=core.roster.key_bytes.__getitem__,
        peer_of=peer_of,
    )


async def route_transactions(
    stack: AsyncExitStack,
    host: P2PHost,
    *,
    chain: Blockchain,
    driver: ConsensusDriver,
    relay: TxRelay,
    streams: ConsensusStreams,
    config: NodeConfig,
    gate: FenceGate | None,
) -> None:
    """Serve the shard's transaction streams (a peer may send us its batches whatever our own setting), and
    with ``[p2p] tx_relay = "leaders"`` send our RPC's batches straight to the next leaders' peers
    (:mod:`harmony.node.tx_routes`) instead of the topic."""
    route = await stack.enter_async_context(
        open_leader_tx_route(
            host,
            tx_protocol_id(chain.params.name, chain.shard_id),
            relay=relay,
            targets=lambda: leader_targets(host, driver, streams),
            counters=driver.counters,
            guard=guard_of(gate),
        )
    )
    if config.tx_relay == "leaders":
        relay.route = route.send


def new_syncer(
    host: P2PHost, chain: Blockchain, driver: ConsensusDriver, *, on_caught_up: Callable[[int], None] | None
) -> Syncer:
    """The sync loop of the chain's shard, over the sync protocol, heads heard on the shard topic;
    ``on_caught_up(blocks)`` hears of each fast sync that caught up."""
    name, shard = chain.params.name, chain.shard_id
    return Syncer(
        host,
        sync_protocol_id(name, shard),
        chain,
        driver,
        interval=2.0,
        topic=shard_topic(name, shard),
        on_caught_up=on_caught_up,
    )


def log_start(host: P2PHost, chain: Blockchain, keys: Sequence[SecretKey]) -> None:
    """One line when the node joined its topics: peer ID, shard, head, keys, listen addresses."""
    log.info(
        "node %s on shard %d: head %d, %d BLS key(s), listening on %s",
        host.peer_id,
        chain.shard_id,
        chain.head.number,
        len(keys),
        ", ".join(host.listen_addrs()),
    )
