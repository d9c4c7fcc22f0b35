"""Who may send which symbols, and the bounds on what a receiver keeps (harmony.p2p.coded_assembly)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harmony.p2p.coded_assembly import (
    MAX_KNOWN_ROUNDS,
    MAX_UNCONFIRMED_ROUNDS,
    Assembly,
    CommitmentResolver,
    Round,
    commitment_key,
)
from harmony.p2p.coding import (
    EncodedBlock,
    Reject,
    SignedCommitment,
    SymbolBatch,
    SymbolRejected,
    encode_block,
    share,
)
from tests.unit.p2p.coded_helpers import OTHER_KEY, block_bytes, resolver, sign_commitment

ROUND = Round(leader="L", members=("A", "B", "C", "D"))


def _block(
    size: int = 40_000, number: int = 5, overhead: int = 30, seed: int = 0
) -> tuple[bytes, EncodedBlock]:
    data = block_bytes(size, seed)
    encoded = encode_block(
        data,
        shard_id=1,
        block_number=number,
        view_id=0,
        members=len(ROUND.members),
        overhead_percent=overhead,
        round_hash=ROUND.hash(),
    )
    return data, encoded


def _share_batch(
    encoded: EncodedBlock, member: str, signed: SignedCommitment | None = None, *, named: bool = True
) -> SymbolBatch:
    """Member ``member``'s share of the block, naming the round's peers unless ``named`` is False."""
    j = ROUND.members.index(member)
    count = encoded.commitment.symbol_count
    symbols = tuple(encoded.symbols[i] for i in share(j, len(ROUND.members), count))
    return SymbolBatch(signed or sign_commitment(encoded.commitment), symbols, ROUND.peers() if named else ())


def test_shares_from_leader_and_members_decode_once() -> None:
    data, encoded = _block()
    assembly = Assembly("A", resolver())
    first = assembly.accept("L", _share_batch(encoded, "A"))
    assert first.relay and first.new_block and first.rejected is None and first.block is None
    assert len(first.accepted) == len(_share_batch(encoded, "A").symbols)
    delivered = []
    for member in ("B", "C", "D"):
        outcome = assembly.accept(member, _share_batch(encoded, member))
        assert not outcome.relay and not outcome.new_block
        if outcome.block is not None:
            delivered.append(outcome.block)
        assert outcome.rejected is None or outcome.rejected.reject is Reject.LATE
    assert delivered == [data]
    key = commitment_key(sign_commitment(encoded.commitment))
    assert assembly.is_done(key)
    assert assembly.buffered_symbols() == 0


def test_senders_may_send_only_their_share() -> None:
    _, encoded = _block()
    assembly = Assembly("A", resolver())
    # B relaying A's share, or the leader sending A someone else's share, is a wrong index.
    for sender, member in (("B", "A"), ("L", "B")):
        outcome = assembly.accept(sender, _share_batch(encoded, member))
        assert outcome.rejected is not None and outcome.rejected.reject is Reject.WRONG_INDEX
        assert outcome.offender == sender and not outcome.accepted
    with pytest.raises(SymbolRejected) as info:
        assembly.accept("X", _share_batch(encoded, "B"))
    assert info.value.reject is Reject.NOT_MEMBER


def test_duplicates_and_floods_are_bounded() -> None:
    _, encoded = _block()
    assembly = Assembly("A", resolver())
    batch = _share_batch(encoded, "B")
    assert assembly.accept("B", batch).rejected is None
    again = assembly.accept("B", batch)
    assert again.rejected is not None and again.rejected.reject is Reject.FLOOD
    # A peer that sends single copies again and again is cut off at its share, whatever it sends.
    other = Assembly("A", resolver())
    one = SymbolBatch(batch.commitment, batch.symbols[:1], ROUND.peers())
    reasons = [other.accept("B", one).rejected for _ in range(len(batch.symbols) + 3)]
    assert reasons[0] is None
    assert {r.reject for r in reasons[1:] if r is not None} == {Reject.DUPLICATE, Reject.FLOOD}
    assert reasons[-1] is not None and reasons[-1].reject is Reject.FLOOD
    assert other.buffered_symbols() == 1


def test_unannounced_foreign_and_forged_commitments_are_dropped() -> None:
    _, encoded = _block()
    assembly = Assembly("A", resolver(heights=[5]))
    cases = [
        sign_commitment(encoded.commitment, OTHER_KEY),  # signed by someone else
        sign_commitment(replace(encoded.commitment, shard_id=2)),  # another shard
        sign_commitment(replace(encoded.commitment, block_number=6)),  # a block never announced
        replace(sign_commitment(encoded.commitment), commitment=replace(encoded.commitment, view_id=9)),
    ]
    for signed in cases:
        with pytest.raises(SymbolRejected) as info:
            assembly.accept("L", _share_batch(encoded, "A", signed))
        assert info.value.reject is Reject.UNANNOUNCED
    assert len(assembly) == 0 and assembly.buffered_symbols() == 0


def test_memory_is_bounded_by_max_blocks_and_finished_blocks_are_stale() -> None:
    assembly = Assembly("A", resolver(), max_blocks=3)
    blocks = [_block(size=8_000, number=n, seed=n)[1] for n in range(1, 8)]
    for encoded in blocks:
        assembly.accept("B", _share_batch(encoded, "B"))
        assert len(assembly) <= 3
    largest_share = max(len(_share_batch(e, "B").symbols) for e in blocks)
    assert assembly.buffered_symbols() <= 3 * largest_share
    with pytest.raises(SymbolRejected) as info:
        assembly.accept("B", _share_batch(blocks[0], "B"))
    assert info.value.reject is Reject.STALE


def test_committed_garbage_blames_the_leader() -> None:
    _, encoded = _block(size=20_000, overhead=0)
    # A Byzantine leader commits (Merkle-correctly) to the symbols of other bytes under this block's hash.
    wrong = encode_block(
        block_bytes(20_000, seed=1),
        shard_id=1,
        block_number=5,
        view_id=0,
        members=4,
        overhead_percent=0,
        content_hash=lambda _: encoded.commitment.block_hash,
        round_hash=ROUND.hash(),
    )
    assembly = Assembly("A", resolver())
    senders = (("L", "A"), ("B", "B"), ("C", "C"), ("D", "D"))
    outcomes = [assembly.accept(sender, _share_batch(wrong, member)) for sender, member in senders]
    rejected = [o for o in outcomes if o.rejected is not None]
    assert len(rejected) == 1 and rejected[0].rejected is not None
    assert rejected[0].rejected.reject is Reject.DECODE_MISMATCH and rejected[0].offender == "L"
    assert all(o.block is None for o in outcomes)


def test_a_node_outside_the_committee_keeps_nothing() -> None:
    _, encoded = _block()
    assembly = Assembly("Z", resolver())
    with pytest.raises(SymbolRejected) as info:
        assembly.accept("L", _share_batch(encoded, "A"))
    assert info.value.reject.weight == 0
    with pytest.raises(ValueError):
        Round(leader="A", members=("A", "B"))


def test_a_round_named_once_serves_the_next_blocks_and_an_unknown_one_costs_nothing() -> None:
    assembly = Assembly("A", resolver())
    first, second = _block(number=5, seed=5)[1], _block(number=6, seed=6)[1]
    # Named by hash only, before anyone named its peers: dropped, the sender not blamed (it may be right).
    with pytest.raises(SymbolRejected) as info:
        assembly.accept("L", _share_batch(first, "A", named=False))
    assert info.value.reject is Reject.UNKNOWN_ROUND and info.value.reject.weight == 0
    assert len(assembly) == 0 and assembly.known_round(ROUND.hash()) is None
    assert assembly.accept("L", _share_batch(first, "A")).rejected is None
    assert assembly.known_round(ROUND.hash()) == ROUND
    # The next block of the same round needs no peers, from the leader or a member.
    outcome = assembly.accept("B", _share_batch(second, "B", named=False))
    assert outcome.rejected is None and outcome.round == ROUND and outcome.accepted


def test_a_block_whose_round_is_unknown_is_resolved_once_not_per_batch() -> None:
    """A restarted member gets a block's batches by round hash until one names the round: the resolver (a
    BLS verification) runs for the first only; a refused commitment is asked again (the node may catch up)."""
    calls: list[int] = []
    check = resolver()

    def counting(signed: SignedCommitment) -> bool:
        calls.append(signed.commitment.block_number)
        return check(signed)

    assembly = Assembly("A", counting)
    encoded = _block(number=5, seed=5)[1]
    for sender in ("L", "B", "C"):
        with pytest.raises(SymbolRejected):
            assembly.accept(sender, _share_batch(encoded, sender if sender != "L" else "A", named=False))
    assert calls == [5]
    assert assembly.accept("L", _share_batch(encoded, "A")).rejected is None
    assert calls == [5]
    refusing = Assembly("A", resolver(heights=[6]))
    for _ in range(2):
        with pytest.raises(SymbolRejected) as info:
            refusing.accept("L", _share_batch(encoded, "A", named=False))
        assert info.value.reject is Reject.UNANNOUNCED


@pytest.mark.parametrize(
    "peers",
    [
        (b"L", b"A", b"B", b"C"),  # another round (D left out)
        (b"L", b"A", b"B", b"C", b"D", b"E"),
        (b"L", b"A", b"A", b"C", b"D"),  # a peer twice
        (b"L",),  # a leader alone
        (b"L", b"A!", b"B", b"C", b"D"),  # not base58
    ],
)
def test_peers_that_are_not_the_committed_round_are_refused_and_never_booked(
    peers: tuple[bytes, ...],
) -> None:
    _, encoded = _block()
    assembly = Assembly("A", resolver())
    batch = replace(_share_batch(encoded, "A"), round_peers=peers)
    with pytest.raises(SymbolRejected) as info:
        assembly.accept("L", batch)
    assert info.value.reject is Reject.BAD_COMMITMENT and info.value.reject.weight > 0
    assert len(assembly) == 0 and assembly.known_round(ROUND.hash()) is None


def _caught_up_later() -> tuple[CommitmentResolver, list[bool]]:
    """A resolver that refuses every commitment until ``flag[0]`` is set (a node behind the chain)."""
    check = resolver()
    flag = [False]
    return (lambda signed: flag[0] and check(signed)), flag


def test_peers_named_with_a_refused_commitment_serve_once_the_node_caught_up() -> None:
    """A node behind the chain refuses a leader's first batch, the one naming the round (a sender names it
    once a minute): the peers are kept aside, bound by the round's hash but not in the book, and serve the
    first block of that round the node accepts (a validator that had synced late missed a whole epoch)."""
    resolve, caught_up = _caught_up_later()
    assembly = Assembly("A", resolve)
    first, second = _block(number=5, seed=5)[1], _block(number=6, seed=6)[1]
    with pytest.raises(SymbolRejected) as info:
        assembly.accept("L", _share_batch(first, "A"))
    assert info.value.reject is Reject.UNANNOUNCED
    assert assembly.known_round(ROUND.hash()) is None
    caught_up[0] = True
    outcome = assembly.accept("L", _share_batch(second, "A", named=False))
    assert outcome.rejected is None and outcome.round == ROUND and outcome.accepted
    assert assembly.known_round(ROUND.hash()) == ROUND


def test_made_up_rounds_push_out_only_unconfirmed_ones() -> None:
    """Refused commitments are free to forge: the rounds they name evict only others named that way."""
    resolve, caught_up = _caught_up_later()
    assembly = Assembly("A", resolve)
    confirmed = Round(leader="K", members=ROUND.members)
    caught_up[0] = True
    assembly.accept("K", _round_batch(confirmed, 1, member=0))
    caught_up[0] = False
    for n in range(MAX_UNCONFIRMED_ROUNDS + 1):
        with pytest.raises(SymbolRejected):
            assembly.accept(f"L{n}", _round_batch(Round(leader=f"L{n}", members=ROUND.members), n + 2))
    caught_up[0] = True
    assert assembly.known_round(confirmed.hash()) == confirmed
    evicted = Round(leader="L0", members=ROUND.members)
    with pytest.raises(SymbolRejected) as info:
        assembly.accept("L0", _round_batch(evicted, 99, named=False))
    assert info.value.reject is Reject.UNKNOWN_ROUND
    kept = Round(leader=f"L{MAX_UNCONFIRMED_ROUNDS}", members=ROUND.members)
    assert assembly.accept(kept.leader, _round_batch(kept, 100, named=False)).rejected is None


def _round_batch(round_: Round, number: int, *, member: int = 0, named: bool = True) -> SymbolBatch:
    """Member ``member``'s share of a small block of ``round_`` at height ``number``."""
    encoded = encode_block(
        block_bytes(4_000, number),
        shard_id=1,
        block_number=number,
        view_id=0,
        members=len(round_.members),
        overhead_percent=30,
        round_hash=round_.hash(),
    )
    count = encoded.commitment.symbol_count
    symbols = tuple(encoded.symbols[i] for i in share(member, len(round_.members), count))
    return SymbolBatch(sign_commitment(encoded.commitment), symbols, round_.peers() if named else ())


def test_the_round_book_is_bounded() -> None:
    assembly = Assembly("A", resolver())
    for n in range(MAX_KNOWN_ROUNDS + 4):
        round_ = Round(leader=f"L{n}", members=ROUND.members)
        assert assembly.accept(f"L{n}", _round_batch(round_, n + 1)).rejected is None
    assert assembly.known_round(Round(leader="L0", members=ROUND.members).hash()) is None
    last = Round(leader=f"L{MAX_KNOWN_ROUNDS + 3}", members=ROUND.members)
    assert assembly.known_round(last.hash()) == last
