"""RLP schemas: how each field of a frozen dataclass maps to an RLP item and back.

A protocol type declares ``rlp_schema``, an ordered tuple of ``(field name, sedes)`` pairs, and inherits
:class:`Serializable`, which gives it ``encode``/``decode`` and the item-level ``to_rlp``/``from_rlp``.
A sedes checks everything it reads (canonical integers, exact widths, list lengths) and raises
:class:`RLPError` naming the field, so a type's decoder rejects every malformed byte string with our own
typed error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from harmony.encoding import rlp
from harmony.encoding.rlp import DecodedItem, Item
from harmony.errors import RLPError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Sedes(Protocol[T]):
    """Serializer/deserializer of one field: Python value <-> RLP item."""

    def serialize(self, value: T) -> Item:
        """The RLP item for ``value``."""
        ...

    def deserialize(self, item: DecodedItem, field: str) -> T:
        """The value an item stands for; raises :class:`RLPError` naming ``field`` if it is malformed."""
        ...


def as_bytes(item: DecodedItem, field: str) -> bytes:
    """The item as a byte string, or an error naming ``field`` if it is a list."""
    if not isinstance(item, bytes):
        raise RLPError(f"{field}: expected a byte string, got a list")
    return item


def as_list(item: DecodedItem, field: str, length: int | None = None) -> list[DecodedItem]:
    """The item as a list (of exactly ``length`` entries if given), or an error naming ``field``."""
    if not isinstance(item, list):
        raise RLPError(f"{field}: expected a list, got a byte string")
    if length is not None and len(item) != length:
        raise RLPError(f"{field}: expected a list of {length} items, got {len(item)}")
    return item


@dataclass(frozen=True, slots=True)
class UInt:
    """A non-negative integer of at most ``bits`` bits, canonical big-endian (no leading zero)."""

    bits: int = 256

    def serialize(self, value: int) -> Item:
        """Encode ``value`` after checking its range."""
        if value < 0 or value.bit_length() > self.bits:
            raise ValueError(f"integer {value} does not fit in {self.bits} bits")
        return rlp.encode_uint(value)

    def deserialize(self, item: DecodedItem, field: str) -> int:
        """Decode a canonical integer of at most ``bits`` bits."""
        return rlp.decode_uint(as_bytes(item, field), bits=self.bits, field=field)


@dataclass(frozen=True, slots=True)
class Binary:
    """A byte string whose length lies in ``[min_length, max_length]``."""

    min_length: int = 0
    max_length: int = rlp.MAX_RLP_SIZE

    def serialize(self, value: bytes) -> Item:
        """Encode ``value`` after checking its length."""
        if not self.min_length <= len(value) <= self.max_length:
            raise ValueError(
                f"byte string of {len(value)} bytes outside [{self.min_length}, {self.max_length}]"
            )
        return bytes(value)

    def deserialize(self, item: DecodedItem, field: str) -> bytes:
        """Decode a byte string and check its length."""
        data = as_bytes(item, field)
        if not self.min_length <= len(data) <= self.max_length:
            if self.min_length == self.max_length:
                raise RLPError(f"{field}: expected {self.min_length} bytes, got {len(data)}")
            raise RLPError(f"{field}: length {len(data)} outside [{self.min_length}, {self.max_length}]")
        return data


def fixed(length: int) -> Binary:
    """A byte string of exactly ``length`` bytes (hashes, addresses, keys, signatures)."""
    return Binary(length, length)


@dataclass(frozen=True, slots=True)
class Text:
    """A UTF-8 string of at most ``max_length`` bytes."""

    max_length: int = rlp.MAX_RLP_SIZE

    def serialize(self, value: str) -> Item:
        """Encode ``value`` as UTF-8."""
        data = value.encode("utf-8")
        if len(data) > self.max_length:
            raise ValueError(f"text of {len(data)} bytes exceeds {self.max_length}")
        return data

    def deserialize(self, item: DecodedItem, field: str) -> str:
        """Decode UTF-8 text and check its length."""
        data = as_bytes(item, field)
        if len(data) > self.max_length:
            raise RLPError(f"{field}: text of {len(data)} bytes exceeds {self.max_length}")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RLPError(f"{field}: not valid UTF-8") from exc


@dataclass(frozen=True, slots=True)
class Optional(Generic[T]):
    """``None`` encoded as the empty byte string, anything else by ``inner`` (e.g. ``to`` of a creation)."""

    inner: Sedes[T]

    def serialize(self, value: T | None) -> Item:
        """Encode ``None`` as ``b""``, anything else with the inner sedes."""
        return b"" if value is None else self.inner.serialize(value)

    def deserialize(self, item: DecodedItem, field: str) -> T | None:
        """Read ``b""`` as ``None``, anything else with the inner sedes."""
        if item == b"":
            return None
        return self.inner.deserialize(item, field)


@dataclass(frozen=True, slots=True)
class ListOf(Generic[T]):
    """A homogeneous list of at most ``max_length`` entries, each by ``inner``."""

    inner: Sedes[T]
    max_length: int = 1 << 20

    def serialize(self, value: Sequence[T]) -> Item:
        """Encode each entry."""
        if len(value) > self.max_length:
            raise ValueError(f"list of {len(value)} entries exceeds {self.max_length}")
        return [self.inner.serialize(v) for v in value]

    def deserialize(self, item: DecodedItem, field: str) -> tuple[T, ...]:
        """Decode each entry; the result is a tuple so the owning dataclass stays immutable."""
        entries = as_list(item, field)
        if len(entries) > self.max_length:
            raise RLPError(f"{field}: list of {len(entries)} entries exceeds {self.max_length}")
        return tuple(self.inner.deserialize(e, f"{field}[{i}]") for i, e in enumerate(entries))


@dataclass(frozen=True, slots=True)
class RawRLP:
    """An RLP item kept as its encoded bytes (e.g. a header field holding an RLP blob verbatim)."""

    def serialize(self, value: bytes) -> Item:
        """Decode the stored bytes back into an item so it nests in the outer encoding."""
        return rlp.decode(value)

    def deserialize(self, item: DecodedItem, field: str) -> bytes:
        """Re-encode the item; canonical input makes this the original bytes."""
        return rlp.encode(item)


class Serializable:
    """Mixin for frozen dataclasses with an ``rlp_schema``: the RLP list of their fields in order."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]]
    max_encoded_size: ClassVar[int] = rlp.MAX_RLP_SIZE

    def to_rlp(self) -> Item:
        """This value as an RLP item (a list, one entry per schema field)."""
        return [sedes.serialize(getattr(self, name)) for name, sedes in self.rlp_schema]

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str | None = None) -> Self:
        """Build a value from a decoded item, checking the list shape and every field."""
        where = field or cls.__name__
        entries = as_list(item, where, len(cls.rlp_schema))
        kwargs = {
            name: sedes.deserialize(entry, f"{where}.{name}")
            for (name, sedes), entry in zip(cls.rlp_schema, entries, strict=True)
        }
        return cls(**kwargs)

    def encode(self) -> bytes:
        """The canonical RLP encoding."""
        return rlp.encode(self.to_rlp())

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode from bytes; any malformed input raises :class:`RLPError` (a ``DecodeError``)."""
        return cls.from_rlp(rlp.decode(data, max_size=cls.max_encoded_size))


S = TypeVar("S", bound=Serializable)


@dataclass(frozen=True, slots=True)
class Nested(Generic[S]):
    """A field holding another :class:`Serializable` type as a nested list."""

    cls: type[S]

    def serialize(self, value: S) -> Item:
        """The nested value's item."""
        return value.to_rlp()

    def deserialize(self, item: DecodedItem, field: str) -> S:
        """Decode the nested value."""
        return self.cls.from_rlp(item, field)


UINT8 = UInt(8)
UINT32 = UInt(32)
UINT64 = UInt(64)
UINT256 = UInt(256)
BIG_INT = UInt(256)
"""Go ``*big.Int`` fields: we bound them at 256 bits, the EVM word, which every amount fits."""
HASH32 = fixed(32)
ADDRESS = fixed(20)
BYTES = Binary()
