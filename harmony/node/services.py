"""A shard node's work beyond its own chain (reference §6.2–§6.4, §2.4, §5.3; design §5, §7): what the
consensus driver's proposals carry besides plain transactions, what happens after each final block, and the
network-wide topic's messages.

:class:`ShardServices` is the driver's :class:`~harmony.node.consensus_ledger.BlockExtras`:

* **proposals**: staking transactions from the staking pool and verified crosslinks (beacon chain),
  verified incoming receipt proofs (every shard), verified slash records (beacon chain), the epoch VDF
  field (beacon chain, :mod:`harmony.node.randomness_service` when attached), and on another shard the next
  committees the beacon chain announced, which end that shard's epoch (§6.2);
* **after a final block**: the block's proposer and one backup member publish its outgoing receipt proofs
  (re-published by :meth:`tick` until their time to live) and, on a non-beacon shard, its crosslink; beacon
  nodes publish the epoch-ending header; every node prunes its pools and refreshes the staking pool;
* **the global topic** (:func:`~harmony.node.crossshard.global_topic`): proofs for this shard, crosslinks
  (beacon chain), beacon headers (others), staking transactions and double-sign evidence (beacon chain).
  A message that fails a check raises :class:`~harmony.node.crossshard.CrossShardError` so the caller can
  penalize its sender.

Plain object, no IO of its own: publishing is an injected callable and time is the caller's.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from harmony.chain.evidence import record_votes_valid
from harmony.chain.staking.slashing import verify_slash_record
from harmony.chain.staking.transactions import StakingContext, apply_staking_message
from harmony.chain.validation import expected_epoch
from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.consensus_ledger import ProposalInputs
from harmony.node.crossshard import (
    KIND_BEACON_HEADER,
    KIND_CROSSLINK,
    KIND_CX_PROOF,
    KIND_SLASH,
    KIND_STAKING_TX,
    BeaconFollower,
    CrossLinkPool,
    CrossShardError,
    IncomingProofs,
    OutgoingRelay,
    decode_crosslink,
    decode_proof,
    pack,
    pack_beacon_header,
    split,
    unpack_beacon_header,
)
from harmony.node.staking_pool import StakingPool
from harmony.node.txpool import TxPoolError
from harmony.types.block import Block
from harmony.types.crosslink import CrossLink
from harmony.types.cx import CXReceiptsProof
from harmony.types.header import Header
from harmony.types.slash import Evidence, Record
from harmony.types.staking import MAX_STAKING_TX_SIZE, StakingTransaction

log = logging.getLogger("harmony.node.services")

HEADER_HEARTBEAT_S = 10.0
"""Seconds between re-publications of the beacon chain's latest epoch-ending header (late joiners)."""
MAX_SLASH_RECORDS = 64
"""Slash records kept waiting for a beacon block."""


class VDFSource(Protocol):
    """The epoch VDF as the proposer needs it (:mod:`harmony.node.randomness_service`)."""

    def vdf_field_for(self, number: int) -> bytes:
        """The header ``vdf`` field for beacon block ``number`` (empty when none is due or ready)."""
        ...


class ShardServices:
    """Pools and relays of one shard node (module docstring)."""

    def __init__(
        self,
        chain: Blockchain,
        *,
        publish: Callable[[bytes], None],
        staking_pool: StakingPool | None = None,
        reporter: bytes = b"\x00" * 20,
        my_keys: frozenset[bytes] = frozenset(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chain = chain
        self.params = chain.params
        self.shard_id = chain.shard_id
        self.beacon = self.params.is_beacon(self.shard_id)
        self._publish_global = publish
        self.staking_pool = staking_pool
        self.reporter = reporter
        self.my_keys = my_keys
        self._clock = clock
        share = self.params.harmony_vote_share
        db = chain.db
        self.incoming = IncomingProofs(self.shard_id, chain.committee_for, share, db.is_cx_spent)
        self.crosslinks = CrossLinkPool(chain.committee_for, share, self._crosslink_settled)
        self.relay = OutgoingRelay(db.get_cx_receipts_proof, clock=clock)
        self.follower = BeaconFollower(
            chain.committee_for,
            share,
            db.write_shard_state,
            lambda epoch: db.get_shard_state(epoch) is not None,
        )
        self.vdf: VDFSource | None = None
        self._slashes: OrderedDict[bytes, Record] = OrderedDict()
        self._epoch_header: bytes | None = None
        self._last_heartbeat = clock()
        if staking_pool is not None:
            self.refresh_staking_pool()

    def _crosslink_settled(self, shard: int, number: int) -> bool:
        """Whether a crosslink of ``shard`` block ``number`` can no longer go into a beacon block: the
        chain records only crosslinks above the shard's last recorded one (``pay_crosslinks``), so a link
        that arrived after a later block's link was recorded is settled too, not only a recorded one."""
        last = self.chain.db.get_last_crosslink(shard)
        return last is not None and number <= last.block_number

    # -- the driver's BlockExtras ---------------------------------------------------------------------

    def proposal_inputs(self, parent: Header) -> ProposalInputs:
        """What the next block on ``parent`` carries besides plain transactions (module docstring)."""
        number = parent.number + 1
        incoming = self.incoming.candidates()
        if not self.beacon:
            epoch = expected_epoch(self.params, parent)
            announced = self.chain.db.get_shard_state(epoch + 1)
            return ProposalInputs(incoming_proofs=incoming, shard_state=announced)
        staking = tuple(self.staking_pool.executable()) if self.staking_pool is not None else ()
        return ProposalInputs(
            staking=staking,
            incoming_proofs=incoming,
            crosslinks=self.crosslinks.candidates(),
            slash_records=self._valid_slashes(parent),
            vdf=self.vdf.vdf_field_for(number) if self.vdf is not None else b"",
        )

    def on_commit(self, block: Block, signature: bytes, bitmap: bytes, proposed_here: bool) -> None:
        """After a final block: relay, announce, prune (module docstring)."""
        header = block.header
        relays = proposed_here or self._is_backup(header)
        if relays:
            # the proposer and one backup member relay each block's receipts (every node of the destination
            # shard keeps a verified proof, so losing the destination leader loses nothing)
            # the destinations are those of the block's cross-shard transactions (the only source of
            # receipts): read from the block in hand, not decoded again from the database
            destinations = sorted(
                {tx.to_shard_id for tx in block.transactions if tx.to_shard_id != header.shard_id}
            )
            for proof in self.relay.on_commit(header.number, destinations):
                self._publish_global(pack(KIND_CX_PROOF, proof.encode()))
        if self.beacon:
            if header.shard_state:
                self._epoch_header = pack_beacon_header(header, signature, bitmap)
                self._publish_global(self._epoch_header)
            self.crosslinks.prune()
            for encoded in self._included_slashes(block):
                self._slashes.pop(encoded, None)
        elif relays:
            link = CrossLink(
                header.hash(), header.number, header.view_id, signature, bitmap, self.shard_id, header.epoch
            )
            self._publish_global(pack(KIND_CROSSLINK, link.encode()))
        self.incoming.prune()
        if self.staking_pool is not None:
            self.refresh_staking_pool()

    # -- periodic work ----------------------------------------------------------------------------------

    def tick(self) -> None:
        """Re-publish due outgoing proofs and, on the beacon chain, the latest epoch-ending header."""
        for proof in self.relay.due():
            self._publish_global(pack(KIND_CX_PROOF, proof.encode()))
        now = self._clock()
        if self._epoch_header is not None and now - self._last_heartbeat >= HEADER_HEARTBEAT_S:
            self._last_heartbeat = now
            self._publish_global(self._epoch_header)

    # -- the global topic ---------------------------------------------------------------------------------

    def on_global(self, data: bytes) -> None:
        """A network-wide message; :class:`CrossShardError` when it is forged or malformed."""
        kind, payload = split(data)
        if kind == KIND_CX_PROOF:
            self.incoming.add(decode_proof(payload))
        elif kind == KIND_CROSSLINK:
            if self.beacon:
                self.crosslinks.add(decode_crosslink(payload))
        elif kind == KIND_BEACON_HEADER:
            if not self.beacon:
                self.follower.on_header(*unpack_beacon_header(payload))
        elif kind == KIND_STAKING_TX:
            if self.staking_pool is not None:
                self._add_staking(payload)
        elif kind == KIND_SLASH and self.beacon:
            self._add_slash(payload)

    def resend(self, proof: CXReceiptsProof) -> None:
        """Publish a receipts proof again (``hmyv2_resendCx``)."""
        self._publish_global(pack(KIND_CX_PROOF, proof.encode()))

    def publish_staking(self, tx: StakingTransaction) -> None:
        """Gossip a staking transaction our pool accepted from a client to the other beacon pools."""
        self._publish_global(pack(KIND_STAKING_TX, tx.encode()))

    def report_double_sign(self, evidence: Evidence) -> None:
        """Send double-sign evidence this node saw to the beacon chain, this node as the reporter."""
        record = Record(evidence, self.reporter)
        if self.beacon:
            self._slashes[record.encode()] = record
        self._publish_global(pack(KIND_SLASH, record.encode()))

    # -- internals --------------------------------------------------------------------------------------

    def refresh_staking_pool(self) -> None:
        """Point the staking pool at the new head: accounts, and the staking rules over the head state."""
        pool = self.staking_pool
        if pool is None:
            return
        chain = self.chain
        head = chain.head
        pool.set_state(chain.accounts())
        reserved = frozenset(k for shard in chain.operator_slots for k in (s.bls_public_key for s in shard))
        epoch = expected_epoch(self.params, head)
        ctx = StakingContext(self.params, epoch, head.number + 1, reserved, chain.rules.fences)

        def check(tx: StakingTransaction, sender: bytes) -> None:
            apply_staking_message(chain.state(), tx.msg, ctx)

        pool.set_check(check)

    def _add_staking(self, payload: bytes) -> None:
        if len(payload) > MAX_STAKING_TX_SIZE:
            raise CrossShardError("oversized", "staking transaction too large")
        assert self.staking_pool is not None
        try:
            self.staking_pool.add_raw(payload)
        except TxPoolError as exc:
            if exc.reason in ("malformed", "oversized", "invalid-signature", "wrong-chain-id"):
                raise CrossShardError(exc.reason, str(exc)) from None

    def _add_slash(self, payload: bytes) -> None:
        try:
            record = Record.decode(payload)
        except HarmonyError as exc:
            raise CrossShardError("malformed", f"slash record: {exc}") from None
        if not record_votes_valid(record):
            raise CrossShardError("signature", "slash record votes do not verify")
        if len(self._slashes) >= MAX_SLASH_RECORDS:
            self._slashes.popitem(last=False)
        self._slashes[payload] = record

    def _valid_slashes(self, parent: Header) -> tuple[Record, ...]:
        if not self._slashes:
            return ()
        state = self.chain.state()
        epoch = expected_epoch(self.params, parent)
        chosen: list[Record] = []
        offenders: set[bytes] = set()
        for key, record in list(self._slashes.items()):
            offender = record.evidence.offender
            if offender in offenders:
                continue
            try:
                verify_slash_record(state, record, epoch, record_votes_valid)
            except HarmonyError:
                del self._slashes[key]  # banned already, or not applicable: it never will be
                continue
            offenders.add(offender)
            chosen.append(record)
        return tuple(chosen)

    @staticmethod
    def _included_slashes(block: Block) -> list[bytes]:
        if not block.header.slashes:
            return []
        try:
            item = rlp.decode(block.header.slashes)
        except HarmonyError:
            return []
        return [rlp.encode(x) for x in item] if isinstance(item, list) else []

    def _is_backup(self, header: Header) -> bool:
        """One more member of the committee sends each crosslink, in case the proposer is gone: the holder
        of the committee key at position ``hash mod size``."""
        committee = self.chain.committee_for(self.shard_id, header.epoch)
        if committee is None or not committee.slots or not self.my_keys:
            return False
        index = int.from_bytes(keccak256(header.hash())[:8], "big") % len(committee.slots)
        return committee.slots[index].bls_public_key in self.my_keys
