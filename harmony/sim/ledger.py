"""The simulator's (and the consensus tests') :class:`~harmony.node.consensus_env.Ledger`: finalized blocks
in a list that survives a simulated crash, proposals of empty blocks, a light check of announced blocks.

It stands in for the chain database and the executed chain, not for the consensus driver: the driver that
runs over it is the node's (:class:`~harmony.node.consensus_driver.ConsensusDriver`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harmony.consensus.api import ChainTip, Commit, RequestProposal, build_proposal, genesis_tip
from harmony.crypto.bls import SecretKey
from harmony.types.block import Block
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState


@dataclass(frozen=True, slots=True)
class EpochPlan:
    """Epochs of ``length`` blocks: the last block of epoch ``e`` carries the committee of ``e + 1``,
    ``committee_of(e + 1)`` (reference §6.2), so the driver switches committees as a node's does."""

    length: int
    committee_of: Callable[[int], Committee]

    def epoch_of(self, number: int) -> int:
        """The epoch of block ``number`` (genesis and the first ``length`` blocks: epoch 0)."""
        return max(0, number - 1) // self.length

    def is_last(self, number: int) -> bool:
        """Whether block ``number`` ends its epoch."""
        return number > 0 and number % self.length == 0


class MemoryLedger:
    """Finalized blocks as :class:`~harmony.consensus.api.Commit` records, 1, 2, … (durable across a
    simulated crash when the owner keeps this object)."""

    def __init__(
        self,
        genesis: Header,
        *,
        check: Callable[[Block, int], bool] | None = None,
        block_time: Callable[[RequestProposal, int], int] | None = None,
        extra: bytes = b"",
        epochs: EpochPlan | None = None,
        on_store: Callable[[Commit], None] | None = None,
    ) -> None:
        self.genesis = genesis
        self.blocks: list[Commit] = []
        self._check = check
        self._block_time = block_time
        self._extra = extra
        self.epochs = epochs
        self._on_store = on_store
        self.built = 0
        """Proposals built here."""

    def tip(self) -> ChainTip:
        """The last finalized block with its aggregate (genesis: none)."""
        if not self.blocks:
            return genesis_tip(self.genesis)
        last = self.blocks[-1]
        return ChainTip(last.block.header, last.commit_signature, last.bitmap, last.view_id)

    def head_number(self) -> int:
        """The number of finalized blocks."""
        return len(self.blocks)

    def canonical_hash(self, number: int) -> bytes | None:
        """The hash of finalized block ``number``."""
        if number == 0:
            return self.genesis.hash()
        if 0 < number <= len(self.blocks):
            return self.blocks[number - 1].block.hash()
        return None

    def validate(self, block: Block, now_ms: int) -> bool:
        """The injected check (none: every block the core accepts is valid); with epochs, a block must
        also name its epoch and carry the next committee exactly at an epoch's end."""
        if self.epochs is not None:
            number = block.header.number
            if block.header.epoch != self.epochs.epoch_of(number):
                return False
            if bool(block.header.shard_state) != self.epochs.is_last(number):
                return False
        return self._check is None or self._check(block, now_ms)

    def propose(
        self, request: RequestProposal, keys: tuple[SecretKey, ...], committee: Committee, now_ms: int
    ) -> Block | None:
        """An empty block (:func:`~harmony.consensus.api.build_proposal`), with the next committee at an
        epoch's end."""
        self.built += 1
        time = self._block_time(request, now_ms) if self._block_time is not None else now_ms // 1000
        block = build_proposal(request, time=time, extra=self._extra)
        if self.epochs is not None and self.epochs.is_last(request.height):
            epoch = self.epochs.epoch_of(request.height) + 1
            state = ShardState(epoch, (self.epochs.committee_of(epoch),))
            block = Block(block.header.replace(shard_state=state.encode()))
        return block

    def store(self, commit: Commit) -> bool:
        """Append the head's child."""
        self.blocks.append(commit)
        if self._on_store is not None:
            self._on_store(commit)
        return True

    def after_commit(self, block: Block, signature: bytes, bitmap: bytes, proposed_here: bool) -> None:
        """Nothing follows a block here."""

    def forget(self) -> None:
        """Nothing is kept for blocks not yet final."""
