"""Harmony's tagged RLP envelope (reference §2.1, Go ``taggedrlp``).

A tagged value is the RLP list ``["HmnyTgd", tag, inner]`` where ``inner`` is the value's own RLP item
nested as is (not wrapped in a byte string). Untagged ("legacy") values are encoded bare. Header versions
v1-v3 are tagged ``"v1"``..``"v3"``; v0 is bare.
"""

from __future__ import annotations

from harmony.encoding.rlp import DecodedItem, Item
from harmony.errors import RLPError

ENVELOPE_SIGNATURE = b"HmnyTgd"
"""The first element of every tagged envelope."""

MAX_TAG_LENGTH = 32


def wrap(tag: str, inner: Item) -> Item:
    """The envelope item for ``inner`` under ``tag``."""
    return [ENVELOPE_SIGNATURE, tag.encode("ascii"), inner]


def unwrap(item: DecodedItem) -> tuple[str | None, DecodedItem]:
    """Split an item into (tag, inner); an item that is not an envelope is legacy: ``(None, item)``.

    A list whose first entry is the envelope signature must be a well-formed three-entry envelope with an
    ASCII tag, or :class:`RLPError` is raised.
    """
    if not isinstance(item, list) or not item or item[0] != ENVELOPE_SIGNATURE:
        return None, item
    if len(item) != 3:
        raise RLPError(f"tagged RLP envelope must have 3 entries, got {len(item)}")
    tag = item[1]
    if not isinstance(tag, bytes) or not 0 < len(tag) <= MAX_TAG_LENGTH:
        raise RLPError("tagged RLP envelope has a malformed tag")
    try:
        text = tag.decode("ascii")
    except UnicodeDecodeError as exc:
        raise RLPError("tagged RLP envelope tag is not ASCII") from exc
    return text, item[2]


def unwrap_expecting(item: DecodedItem, tags: tuple[str, ...]) -> tuple[str, DecodedItem]:
    """Unwrap an envelope whose tag must be one of ``tags``; anything else raises :class:`RLPError`."""
    tag, inner = unwrap(item)
    if tag is None:
        raise RLPError(f"expected a tagged RLP envelope with tag in {tags}, got an untagged value")
    if tag not in tags:
        raise RLPError(f"unsupported tagged RLP tag {tag!r}; expected one of {tags}")
    return tag, inner
