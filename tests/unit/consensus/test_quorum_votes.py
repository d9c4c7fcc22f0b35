import dataclasses
from collections import Counter

from harmony.chain.payloads import commit_payload, m1_payload, prepare_payload, split_m1
from harmony.chain.quorum import Roster
from harmony.consensus.votes import VoteCollector
from harmony.crypto.bls import Signature
from harmony.encoding.fixed import Dec
from tests.unit.consensus.harness import make_committee, make_keys

KEYS = make_keys(10)


def test_equal_power_quorum_counts_keys() -> None:
    roster = Roster(make_committee(KEYS[:3]), Dec.from_str("0.68"))
    assert roster.equal
    assert not roster.is_quorum([0, 1])  # 2 of 3 is exactly 2/3: not strictly above
    assert roster.is_quorum([0, 1, 2])
    roster4 = Roster(make_committee(KEYS[:4]), Dec.from_str("0.68"))
    assert roster4.is_quorum([0, 1, 2]) and not roster4.is_quorum([0, 1])


def test_staked_power_sums_to_one_and_weighs_stake() -> None:
    committee = make_committee(KEYS[:4], stakes=[1, 1, 1, 7])
    roster = Roster(committee, Dec.from_str("0.68"))
    assert sum(roster.power, Dec.zero()) == Dec.one()
    assert roster.power[3] > roster.power[0]
    assert roster.is_quorum([3])  # 70 % of the stake
    assert not roster.is_quorum([0, 1, 2])


def test_mixed_harmony_and_staked_power() -> None:
    committee = make_committee(KEYS[:4], stakes=[1, 1, 1, 1])
    slots = (dataclasses.replace(committee.slots[0], effective_stake=None), *committee.slots[1:])
    roster = Roster(dataclasses.replace(committee, slots=slots), Dec.from_str("0.5"))
    assert roster.power[0] == Dec.from_str("0.5")
    assert sum(roster.power, Dec.zero()) == Dec.one()
    assert roster.is_quorum([0, 1, 2]) and not roster.is_quorum([1, 2, 3])


def test_multi_key_vote_needs_one_owner() -> None:
    committee = make_committee(KEYS[:4], owners=[0, 0, 1, 2], stakes=[1, 1, 1, 1])
    roster = Roster(committee, Dec.from_str("0.68"))
    assert roster.same_owner((0, 1)) and not roster.same_owner((1, 2))


def test_aggregate_first_then_bisection_finds_bad_votes() -> None:
    roster = Roster(make_committee(KEYS), Dec.from_str("0.68"))
    payload = prepare_payload(b"\x11" * 32, 3)
    drops: Counter[str] = Counter()
    votes = VoteCollector(roster, payload, drops)
    wrong = KEYS[5].sign(b"something else")
    for i, key in enumerate(KEYS):
        votes.add((i,), wrong if i in (2, 5) else key.sign(payload))
    assert votes.settle()
    assert drops["bad_signature"] == 2
    assert votes.members == set(range(10)) - {2, 5}


def test_bisection_costs_logarithmic_checks() -> None:
    keys = make_keys(32, salt=3)
    roster = Roster(make_committee(keys), Dec.from_str("0.68"))
    drops: Counter[str] = Counter()
    votes = VoteCollector(roster, b"p", drops)
    for i, key in enumerate(keys):
        votes.add((i,), key.sign(b"q" if i == 17 else b"p"))
    assert votes.settle() and drops["bad_signature"] == 1
    assert votes.checks <= 1 + 2 * 5  # aggregate, then one path down the halves


def test_good_votes_cost_one_check_and_forgeries_do_not_block() -> None:
    roster = Roster(make_committee(KEYS[:4]), Dec.from_str("0.68"))
    payload = b"p"
    drops: Counter[str] = Counter()
    votes = VoteCollector(roster, payload, drops)
    votes.add((0,), KEYS[1].sign(payload))  # forged vote naming key 0
    votes.add((0,), KEYS[0].sign(payload))  # the real one
    votes.add((1,), KEYS[1].sign(payload))
    votes.add((2,), KEYS[2].sign(payload))
    assert votes.settle()
    sig, bitmap = votes.aggregate()
    assert isinstance(sig, Signature) and bitmap == b"\x07"


def test_payload_layouts() -> None:
    assert commit_payload(1, b"\xaa" * 32, 2) == (1).to_bytes(8, "little") + b"\xaa" * 32 + (2).to_bytes(
        8, "little"
    )
    m1 = m1_payload(b"\x01" * 32, 7, b"\x02" * 96, b"\x0f")
    assert split_m1(m1) == (b"\x01" * 32, 7, b"\x02" * 96, b"\x0f")
