from harmony.chain.payloads import commit_payload, u64_le
from harmony.consensus.core import Stage
from harmony.consensus.messages import Message, MsgType
from harmony.crypto.bitmap import encode_bitmap
from harmony.types.slash import Record, check_evidence_structure
from tests.unit.consensus.harness import Net


def test_conflicting_commits_become_evidence() -> None:
    net = Net(4)
    net.start()
    leader = net.nodes[1].core
    net.run(5_000, stop=lambda: leader.stage is Stage.COMMIT)
    assert leader.block is not None
    key = net.nodes[3].config.keys[0]
    real = leader.block
    payload = commit_payload(1, real.hash(), real.header.view_id)
    honest = Message(
        MsgType.COMMIT, 0, 1, 1, real.hash(), encode_bitmap([3], 4), key.sign(payload).data + u64_le(1)
    )
    fake_hash = b"\x42" * 32
    fake = key.sign(commit_payload(1, fake_hash, real.header.view_id))
    other = Message(MsgType.COMMIT, 0, 1, 1, fake_hash, encode_bitmap([3], 4), fake.data + u64_le(1))
    effects = leader.on_message(honest.encode(), net.now) + leader.on_message(other.encode(), net.now)
    found = [e for e in leader.evidence_found]
    assert len(found) == 1, (effects, leader.drops)
    evidence = found[0].evidence
    assert evidence.offender == net.committee.slots[3].ecdsa_address
    assert evidence.moment.height == 1 and evidence.moment.view_id == 1
    assert check_evidence_structure(Record(evidence, bytes(19) + b"\x01")) == (key.public_key.data,)
    # reported once only
    assert leader.on_message(other.encode(), net.now) == []


def test_honest_run_has_no_evidence() -> None:
    net = Net(4)
    net.start()
    net.run(5_000, stop=lambda: min(net.heights()) >= 3)
    assert all(not n.core.evidence_found for n in net.nodes)
