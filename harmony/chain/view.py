"""What the rules of validity read from a chain's history (design §3.1): the :class:`ChainView` protocol.

The rules are pure functions; the few facts about earlier blocks they need come through this protocol,
never from a database directly. The node's :class:`harmony.node.blockchain.Blockchain` implements it over
its chain database; the storage layer's ``ChainDB`` implements :class:`HeaderReader`.
"""

from __future__ import annotations

from typing import Protocol

from harmony.types.crosslink import CrossLink
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState


class HeaderReader(Protocol):
    """The stored canonical headers and shard states (what the epoch randomness reads)."""

    def head_number(self) -> int | None:
        """The newest stored block's number (``None``: nothing stored)."""
        ...

    def genesis_hash(self) -> bytes | None:
        """The hash of block 0 (``None``: nothing stored)."""
        ...

    def get_header_by_number(self, number: int) -> Header | None:
        """The canonical header ``number``, if stored."""
        ...

    def get_shard_state(self, epoch: int) -> ShardState | None:
        """The committees of ``epoch`` as the beacon chain announced them, if known."""
        ...


class ChainView(HeaderReader, Protocol):
    """Every history read of :func:`harmony.chain.transition.state_transition`."""

    def get_header(self, block_hash: bytes) -> Header | None:
        """The stored header with hash ``block_hash``, if any."""
        ...

    def committee_for(self, shard: int, epoch: int) -> Committee | None:
        """The committee that signs ``shard``'s blocks in ``epoch`` (``None`` when unknown)."""
        ...

    def is_cx_spent(self, from_shard: int, number: int) -> bool:
        """Whether the receipts block ``number`` of ``from_shard`` sent here were credited already (§6.4)."""
        ...

    def get_crosslink(self, shard: int, number: int) -> CrossLink | None:
        """The crosslink of block ``number`` of ``shard`` the beacon chain recorded (§6.3), if any."""
        ...

    def block_hashes(self, number: int) -> tuple[bytes, ...]:
        """Hashes of the up to 256 canonical blocks before ``number``, oldest first (BLOCKHASH)."""
        ...


__all__ = ["ChainView", "HeaderReader"]
