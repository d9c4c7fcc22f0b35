"""The py-libp2p patches: a peer's signed record is verified once a minute, not on every RPC."""

from __future__ import annotations

from dataclasses import dataclass

import libp2p.pubsub.gossipsub as gossipsub_module
import libp2p.pubsub.pubsub as pubsub_module
import libp2p.pubsub.utils as pubsub_utils
import pytest

from harmony.p2p import libp2p_limits


@dataclass
class _Rpc:
    senderRecord: bytes  # noqa: N815 - the protobuf field's name

    def HasField(self, name: str) -> bool:
        return name == "senderRecord" and bool(self.senderRecord)


@dataclass(frozen=True)
class _Peer:
    raw: bytes

    def to_bytes(self) -> bytes:
        return self.raw


def test_signed_records_are_checked_once_per_peer_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[bytes] = []

    def check(msg: _Rpc, host: object, peer: _Peer) -> bool:
        checked.append(msg.senderRecord)
        return msg.senderRecord != b"bad"

    for module in (pubsub_utils, pubsub_module, gossipsub_module):
        monkeypatch.setattr(module, "maybe_consume_signed_record", check)
    libp2p_limits.memoize_signed_records()
    consume = pubsub_module.maybe_consume_signed_record
    assert consume is gossipsub_module.maybe_consume_signed_record
    a, b = _Peer(b"a"), _Peer(b"b")
    assert consume(_Rpc(b"rec"), None, a) and consume(_Rpc(b"rec"), None, a)
    assert checked == [b"rec"]
    assert consume(_Rpc(b"rec"), None, b)  # another peer: checked again
    assert consume(_Rpc(b"rec2"), None, a)  # other bytes: checked again
    assert not consume(_Rpc(b"bad"), None, a) and not consume(_Rpc(b"bad"), None, a)  # refusals every time
    assert checked == [b"rec", b"rec", b"rec2", b"bad", b"bad"]
    assert consume(_Rpc(b""), None, a)  # no record: nothing to check
    libp2p_limits.memoize_signed_records()  # idempotent
    assert pubsub_module.maybe_consume_signed_record is consume
