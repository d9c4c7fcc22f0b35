"""Double-sign evidence and slash records (reference §5.3; Harmony ``staking/slash/double-sign.go``).

RLP (Go embeds ``Moment`` and ``ConflictingVotes`` in ``Evidence``; go-ethereum's RLP encodes an embedded
struct as one nested list, it does not flatten it):

* ``Moment``: ``[epoch, shard_id, height, view_id]``;
* ``Vote``: ``[[signer_pub_key(48), ...], block_header_hash, signature(96)]``;
* ``ConflictingVotes``: ``[first_vote, second_vote]``;
* ``Evidence``: ``[moment, conflicting_votes, offender]``;
* ``Record``: ``[evidence, reporter]``.

A beacon header's ``slashes`` field is the RLP list of records (Go ``slash.Records``), left empty when
there are none. :func:`check_evidence_structure` checks what can be checked without chain state or
signatures; the committee lookup and the BLS verification over the commit payload come later (chain layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.schema import (
    ADDRESS,
    BIG_INT,
    HASH32,
    UINT32,
    UINT64,
    ListOf,
    Nested,
    Sedes,
    Serializable,
    fixed,
)
from harmony.errors import HarmonyError
from harmony.types.header import COMMIT_SIGNATURE_SIZE, MAX_HEADER_SIZE
from harmony.types.shard_state import BLS_PUBLIC_KEY_SIZE

MAX_SIGNER_KEYS = 1 << 10
"""Decode bound on keys in one vote (a node signs with all its keys; Harmony caps 106 per validator)."""

MAX_RECORDS = 1 << 10
"""Decode bound on slash records in one beacon header."""


class InvalidEvidence(HarmonyError):
    """Double-sign evidence fails a structural check; ``check`` names it."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


@dataclass(frozen=True, slots=True)
class Moment(Serializable):
    """When the double sign happened: ``[epoch, shard_id, height, view_id]``."""

    epoch: int
    shard_id: int
    height: int
    """Block number signed twice."""
    view_id: int

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("epoch", BIG_INT),
        ("shard_id", UINT32),
        ("height", UINT64),
        ("view_id", UINT64),
    )


@dataclass(frozen=True, slots=True)
class Vote(Serializable):
    """One signed commit: ``[signer_pub_keys, block_header_hash, signature]``."""

    signer_pub_keys: tuple[bytes, ...]
    """The BLS keys (48 bytes each) whose aggregate made ``signature``."""
    block_header_hash: bytes
    signature: bytes
    """Aggregate BLS signature over the commit payload (96 bytes)."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("signer_pub_keys", ListOf(fixed(BLS_PUBLIC_KEY_SIZE), MAX_SIGNER_KEYS)),
        ("block_header_hash", HASH32),
        ("signature", fixed(COMMIT_SIGNATURE_SIZE)),
    )


@dataclass(frozen=True, slots=True)
class ConflictingVotes(Serializable):
    """Two votes at one moment: ``[first_vote, second_vote]``."""

    first_vote: Vote
    second_vote: Vote

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("first_vote", Nested(Vote)),
        ("second_vote", Nested(Vote)),
    )


@dataclass(frozen=True, slots=True)
class Evidence(Serializable):
    """Proof of a double sign: ``[moment, conflicting_votes, offender]``."""

    moment: Moment
    conflicting_votes: ConflictingVotes
    offender: bytes
    """The validator account that double-signed (20 bytes)."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("moment", Nested(Moment)),
        ("conflicting_votes", Nested(ConflictingVotes)),
        ("offender", ADDRESS),
    )


@dataclass(frozen=True, slots=True)
class Record(Serializable):
    """A slash record carried in a beacon block: ``[evidence, reporter]``.

    Our network pays the slashing reward to ``reporter`` (design.md §5; the Go node pays the leader).
    """

    evidence: Evidence
    reporter: bytes
    """The account that reported the evidence (20 bytes)."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("evidence", Nested(Evidence)),
        ("reporter", ADDRESS),
    )

    def hash(self) -> bytes:
        """Keccak-256 of the record's RLP, to deduplicate records (Go ``Record.Hash``)."""
        return keccak256(self.encode())


def double_signed_keys(votes: ConflictingVotes) -> tuple[bytes, ...]:
    """The keys present in both votes, in the first vote's order (Go ``Verify``'s ``doubleSignKeys``)."""
    second = set(votes.second_vote.signer_pub_keys)
    return tuple(key for key in votes.first_vote.signer_pub_keys if key in second)


def check_evidence_structure(record: Record) -> tuple[bytes, ...]:
    """Structural checks of a slash record (§5.3), without chain state or signatures.

    Checks, in order (each failure raises :class:`InvalidEvidence` naming it): ``reporter_is_offender``
    (reporter ≠ offender), ``empty_vote`` (each vote names a key), ``same_block`` (the votes sign
    different block hashes), ``no_common_key`` (at least one key signed both). Returns the double-signed keys.
    """
    evidence = record.evidence
    if evidence.offender == record.reporter:
        raise InvalidEvidence("reporter_is_offender", "reporter and offender cannot be the same")
    votes = evidence.conflicting_votes
    for name, vote in (("first", votes.first_vote), ("second", votes.second_vote)):
        if not vote.signer_pub_keys:
            raise InvalidEvidence("empty_vote", f"the {name} vote names no signer key")
    if votes.first_vote.block_header_hash == votes.second_vote.block_header_hash:
        raise InvalidEvidence("same_block", "both votes sign the same block hash")
    keys = double_signed_keys(votes)
    if not keys:
        raise InvalidEvidence("no_common_key", "no key signed both votes")
    return keys


_RECORDS = ListOf(Nested(Record), MAX_RECORDS)


def encode_records(records: Sequence[Record]) -> bytes:
    """The bytes of a beacon header's ``slashes`` field: the RLP list of records, empty when none."""
    if not records:
        return b""
    return rlp.encode(_RECORDS.serialize(records))


def decode_records(data: bytes) -> tuple[Record, ...]:
    """The records in a header's ``slashes`` field (empty bytes: none); malformed input raises RLPError."""
    if not data:
        return ()
    return _RECORDS.deserialize(rlp.decode(data, max_size=MAX_HEADER_SIZE), "slashes")


__all__ = [
    "ConflictingVotes",
    "Evidence",
    "InvalidEvidence",
    "Moment",
    "Record",
    "Vote",
    "check_evidence_structure",
    "decode_records",
    "double_signed_keys",
    "encode_records",
]
