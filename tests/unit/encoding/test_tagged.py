"""Tagged RLP envelope: the byte layout of Harmony's taggedrlp and its error cases."""

from __future__ import annotations

import pytest

from harmony.encoding import rlp, tagged
from harmony.errors import RLPError

# A three-string record tagged "RecordV1": list prefix, "HmnyTgd", the tag, then the record's own list.
RECORD_V1 = (
    b"\xf8\x39"  # list of 57 bytes
    + b"\x87HmnyTgd"
    + b"\x88RecordV1"
    + b"\xe7"  # the inner record, nested as a list of 39 bytes
    + b"\x89Chainnext\x8f349 Martens Ave\x8c+14153234477"
)


def test_wrap_layout() -> None:
    inner = [b"Chainnext", b"349 Martens Ave", b"+14153234477"]
    assert rlp.encode(tagged.wrap("RecordV1", inner)) == RECORD_V1


def test_unwrap() -> None:
    tag, inner = tagged.unwrap(rlp.decode(RECORD_V1))
    assert tag == "RecordV1"
    assert inner == [b"Chainnext", b"349 Martens Ave", b"+14153234477"]


def test_legacy_is_untagged() -> None:
    item = rlp.decode(rlp.encode([b"Chainnext", b"349 Martens Ave"]))
    assert tagged.unwrap(item) == (None, item)
    assert tagged.unwrap(b"abc") == (None, b"abc")


@pytest.mark.parametrize(
    "item",
    [[b"HmnyTgd", b"v3"], [b"HmnyTgd", [], []], [b"HmnyTgd", b"", []], [b"HmnyTgd", b"\xff", []]],
)
def test_malformed_envelope(item: rlp.DecodedItem) -> None:
    with pytest.raises(RLPError):
        tagged.unwrap(item)


def test_unwrap_expecting() -> None:
    item = tagged.wrap("v3", [b"x"])
    assert tagged.unwrap_expecting(rlp.decode(rlp.encode(item)), ("v3",)) == ("v3", [b"x"])
    with pytest.raises(RLPError, match="unsupported"):
        tagged.unwrap_expecting(rlp.decode(rlp.encode(item)), ("v2",))
    with pytest.raises(RLPError, match="untagged"):
        tagged.unwrap_expecting([b"x"], ("v3",))
