"""A fenced gossip topic between real libp2p hosts (issue 21): two members that admit each other exchange
its messages; an outsider subscribed to it gets none of them, and what it publishes there is dropped and
scored down. The RPC filter is checked on crafted RPCs, including hostile mixes of topics."""

from __future__ import annotations

from pathlib import Path

import trio
from libp2p.pubsub.pb import rpc_pb2

from harmony.p2p.host import open_host
from harmony.p2p.topic_fence import strip_refused
from tests.unit.p2p.harness import config, hosts, run, wait_until

FENCED = "hmy/localnet/0.0.1/node/shard/1"
OPEN = "hmy/localnet/0.0.1/node/beacon"


def _message(*topics: str, data: bytes = b"x") -> rpc_pb2.Message:
    return rpc_pb2.Message(from_id=b"\x00\x01", data=data, seqno=b"\x00" * 8, topicIDs=list(topics))


def test_strip_refused_keeps_open_topics_and_drops_fenced_data() -> None:
    def allowed(topic: str) -> bool:
        return topic != FENCED

    open_only = rpc_pb2.RPC(publish=[_message(OPEN)])
    assert strip_refused(open_only, allowed) is open_only
    # a message naming the fenced topic among others is refused whole
    mixed = rpc_pb2.RPC(
        publish=[_message(OPEN, data=b"a"), _message(OPEN, FENCED, data=b"b"), _message(FENCED, data=b"c")],
        subscriptions=[rpc_pb2.RPC.SubOpts(subscribe=True, topicid=FENCED)],
    )
    kept = strip_refused(mixed, allowed)
    assert kept is not None
    assert [m.data for m in kept.publish] == [b"a"]
    assert [s.topicid for s in kept.subscriptions] == [FENCED]  # metadata flows, data does not
    assert len(mixed.publish) == 3  # the caller's RPC is untouched
    # IHAVE of the fenced topic is removed; GRAFT stays
    control = rpc_pb2.ControlMessage(
        ihave=[
            rpc_pb2.ControlIHave(topicID=FENCED, messageIDs=[b"m1"]),
            rpc_pb2.ControlIHave(topicID=OPEN, messageIDs=[b"m2"]),
        ],
        graft=[rpc_pb2.ControlGraft(topicID=FENCED)],
    )
    kept = strip_refused(rpc_pb2.RPC(control=control), allowed)
    assert kept is not None
    assert [h.topicID for h in kept.control.ihave] == [OPEN]
    assert [g.topicID for g in kept.control.graft] == [FENCED]
    # nothing left: nothing to send
    only_fenced = rpc_pb2.RPC(
        publish=[_message(FENCED)],
        control=rpc_pb2.ControlMessage(ihave=[rpc_pb2.ControlIHave(topicID=FENCED, messageIDs=[b"m"])]),
    )
    assert strip_refused(only_fenced, allowed) is None
    assert strip_refused(rpc_pb2.RPC(), allowed) is not None  # an empty RPC is passed on as it was


def test_an_outsider_gets_no_message_of_a_fenced_topic_and_is_scored_down(tmp_path: Path) -> None:
    async def body() -> None:
        async with open_host(config(tmp_path, "a")) as a:
            boot = tuple(a.listen_addrs())
            async with hosts(
                config(tmp_path, "b", bootnodes=boot), config(tmp_path, "c", bootnodes=boot)
            ) as [
                b,
                c,
            ]:
                members = {a.peer_id, b.peer_id}
                for member in (a, b):
                    member.guard_topic(
                        FENCED, members.__contains__, lambda peer, h=member: h.penalize(peer, "fence_refused")
                    )
                inbox_b = await b.subscribe(FENCED)
                await a.subscribe(FENCED)
                inbox_c = await c.subscribe(FENCED)
                open_c = await c.subscribe(OPEN)
                await a.subscribe(OPEN)
                await wait_until(lambda: c.is_connected(a.peer_id) and c.is_connected(b.peer_id))
                await wait_until(
                    lambda: (
                        {a.peer_id, b.peer_id} <= set(c.topic_peers(FENCED))
                        and b.peer_id in a.topic_peers(FENCED)
                    )
                )
                # the outsider is subscribed, but a guarded topic's peers are the admitted ones only
                assert c.peer_id not in a.topic_peers(FENCED) and c.peer_id not in b.topic_peers(FENCED)
                # members exchange the fenced topic; publish until b has 5 (the first may precede the mesh)
                sent = 0
                with trio.fail_after(60):
                    while b.received_messages[FENCED] < 5:
                        await a.publish(FENCED, b"block %d" % sent)
                        sent += 1
                        await trio.sleep(0.2)
                assert (await inbox_b.receive()).from_peer == a.peer_id
                # the open topic still reaches the outsider from the same member
                with trio.fail_after(60):
                    while c.received_messages[OPEN] < 1:
                        await a.publish(OPEN, b"open")
                        await trio.sleep(0.2)
                assert (await open_c.receive()).data == b"open"
                assert c.received_messages[FENCED] == 0, "the outsider got a fenced message"
                # the outsider publishing on the fenced topic is refused by the members and scored down
                for _ in range(3):
                    await c.publish(FENCED, b"probe")
                await wait_until(lambda: a.penalties["fence_refused"] + b.penalties["fence_refused"] > 0)
                await trio.sleep(1.0)
                assert a.received_messages[FENCED] == 0 and b.received_messages[FENCED] >= 5
                assert a.refused_messages[FENCED] + b.refused_messages[FENCED] > 0
                assert c.refused_messages[FENCED] == 0
                assert all(m.from_peer == a.peer_id for m in _drain(inbox_b))
                assert c.received_messages[FENCED] == 0 and _drain(inbox_c) == []

    run(body)


def _drain(inbox: trio.MemoryReceiveChannel) -> list:  # type: ignore[type-arg]
    out = []
    while True:
        try:
            out.append(inbox.receive_nowait())
        except trio.WouldBlock:
            return out
