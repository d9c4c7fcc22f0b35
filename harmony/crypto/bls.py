"""BLS12-381 keys and signatures: the IETF proof-of-possession ciphersuite, behind one small typed API.

Rules (design §4, §5; reference §1.3, §1.8, §2.5):

- Ciphersuite ``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`` (draft-irtf-cfrg-bls-signature-05): public keys
  are compressed G1 points (48 bytes), signatures compressed G2 points (96 bytes), messages are hashed to G2
  with hash-to-curve. blspy's ``PopSchemeMPL`` does the work; nothing outside this module names blspy, so it
  can be replaced by another binding with the same output bytes.
- A public key must be a valid, canonical, non-identity point of the prime-order subgroup (KeyValidate).
  The identity point is refused: it would verify a signature made by nobody and cancels nothing useful.
- Signatures must be valid, canonical points of the G2 subgroup (the identity is a valid encoding but
  never verifies under a non-identity key).
- Aggregation is only safe against rogue keys because every staking key is registered with a proof of
  possession (:func:`sign_pop` / :func:`verify_pop`); :func:`fast_aggregate_verify` assumes that.
- The coinbase of a BLS key is the first 20 bytes of SHA-256 of its 48-byte encoding (reference §1.8).

Parsing a point checks it is on the curve and in the subgroup (~0.1 ms); the parsed point is cached in the
value, so a committee key is checked once and aggregated many times.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Self

from blspy import G1Element, G2Element, PopSchemeMPL
from blspy import PrivateKey as _BlsPrivateKey

from harmony.crypto.keccak import keccak256, sha256
from harmony.errors import CryptoError

SECRET_KEY_SIZE = 32
"""Bytes of a serialized secret key (a big-endian scalar below the group order)."""
PUBLIC_KEY_SIZE = 48
"""Bytes of a compressed G1 public key."""
SIGNATURE_SIZE = 96
"""Bytes of a compressed G2 signature."""
CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""Order r of the BLS12-381 prime-order subgroups."""
POP_MESSAGE = keccak256(b"harmony-one")
"""Harmony's fixed proof-of-possession message (reference §2.5), kept for reference only.

Our proofs of possession do NOT sign it: a signature over a fixed message is public once a validator
registers, and a rogue key ``x·G - pk`` paired with ``x·H(m) - σ`` then forges a "proof" for a key whose
secret nobody knows. :func:`sign_pop` signs the public key itself under the IETF POP tag instead.
"""

_IDENTITY_G1 = bytes([0xC0]) + bytes(PUBLIC_KEY_SIZE - 1)


def _from_hex(text: str, what: str) -> bytes:
    raw = text[2:] if text.startswith(("0x", "0X")) else text
    try:
        return bytes.fromhex(raw)
    except ValueError as exc:
        raise CryptoError(f"BLS {what} is not valid hex") from exc


def _parse_g1_bytes(data: object) -> G1Element:
    if not isinstance(data, bytes) or len(data) != PUBLIC_KEY_SIZE:
        size = len(data) if isinstance(data, bytes) else type(data).__name__
        raise CryptoError(f"BLS public key must be {PUBLIC_KEY_SIZE} bytes, got {size}")
    if data == _IDENTITY_G1:
        raise CryptoError("BLS public key is the identity point")
    try:
        return G1Element.from_bytes(data)
    except (RuntimeError, ValueError) as exc:
        raise CryptoError(f"BLS public key is not a valid G1 point: {exc}") from exc


def _parse_g2_bytes(data: object) -> G2Element:
    if not isinstance(data, bytes) or len(data) != SIGNATURE_SIZE:
        size = len(data) if isinstance(data, bytes) else type(data).__name__
        raise CryptoError(f"BLS signature must be {SIGNATURE_SIZE} bytes, got {size}")
    try:
        return G2Element.from_bytes(data)
    except (RuntimeError, ValueError) as exc:
        raise CryptoError(f"BLS signature is not a valid G2 point: {exc}") from exc


class _Point:
    """What the two point wrappers share: validation on construction, hex, pickling by bytes.

    A subclass is a frozen slots dataclass with ``data`` and ``_point`` fields and sets ``_what`` (the name
    errors use), ``_parse`` (bytes → validated point) and ``_hex_digits``.
    """

    __slots__ = ()
    data: bytes
    _what: ClassVar[str]
    _hex_digits: ClassVar[int]

    if TYPE_CHECKING:

        def __init__(self, data: bytes) -> None: ...

    @staticmethod
    def _parse(data: object) -> Any:
        raise NotImplementedError

    @classmethod
    def _check(cls, data: bytes) -> None:
        """Refuse an encoding the type never holds (the identity public key); nothing by default."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_point", self._parse(self.data))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse and validate a compressed point (on curve, in subgroup, canonical)."""
        return cls(bytes(data))

    @classmethod
    def from_hex(cls, text: str) -> Self:
        """Parse the hex of the compressed point, with or without 0x."""
        return cls(_from_hex(text, cls._what))

    @classmethod
    def _from_point(cls, point: Any) -> Self:
        data = bytes(point)
        cls._check(data)
        obj = object.__new__(cls)
        object.__setattr__(obj, "data", data)
        object.__setattr__(obj, "_point", point)
        return obj

    def to_bytes(self) -> bytes:
        """The compressed encoding."""
        return self.data

    def hex(self) -> str:
        """Lower-case hex of the encoding, without 0x (public keys: the form of key file names, §10.3)."""
        return self.data.hex()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.data,))

    def __repr__(self) -> str:
        text = self.data.hex()
        shown = text if len(text) <= self._hex_digits else text[: self._hex_digits] + "…"
        return f"{type(self).__name__}({shown})"


@dataclass(frozen=True, slots=True, repr=False)
class PublicKey(_Point):
    """A BLS public key: a validated, non-identity compressed G1 point (48 bytes).

    ``PublicKey(data)`` validates the bytes (KeyValidate: on curve, in subgroup, not the identity) and raises
    :class:`CryptoError` on anything else. Equality and hashing are by the bytes.
    """

    data: bytes
    _point: G1Element = field(init=False, repr=False, compare=False, hash=False)
    _what: ClassVar[str] = "public key"
    _hex_digits: ClassVar[int] = 2 * PUBLIC_KEY_SIZE
    _parse = staticmethod(_parse_g1_bytes)

    @classmethod
    def _check(cls, data: bytes) -> None:
        if data == _IDENTITY_G1:
            raise CryptoError("BLS public key is the identity point")


@dataclass(frozen=True, slots=True, repr=False)
class Signature(_Point):
    """A BLS signature: a validated compressed G2 point (96 bytes). Equality and hashing by the bytes."""

    data: bytes
    _point: G2Element = field(init=False, repr=False, compare=False, hash=False)
    _what: ClassVar[str] = "signature"
    _hex_digits: ClassVar[int] = 16
    _parse = staticmethod(_parse_g2_bytes)


@dataclass(frozen=True, slots=True)
class SecretKey:
    """A BLS secret key: a scalar in 1 .. r-1, serialized as 32 big-endian bytes. Never printed."""

    data: bytes = field(repr=False)
    _key: _BlsPrivateKey = field(init=False, repr=False, compare=False, hash=False)
    _public: PublicKey = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or len(self.data) != SECRET_KEY_SIZE:
            raise CryptoError(f"BLS secret key must be {SECRET_KEY_SIZE} bytes")
        if not 0 < int.from_bytes(self.data, "big") < CURVE_ORDER:
            raise CryptoError("BLS secret key is out of range (must be in 1 .. r-1)")
        try:
            key = _BlsPrivateKey.from_bytes(self.data)
        except (RuntimeError, ValueError) as exc:  # pragma: no cover - range checked above
            raise CryptoError("BLS secret key is invalid") from exc
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_public", PublicKey._from_point(key.get_g1()))

    @classmethod
    def from_bytes(cls, data: bytes) -> SecretKey:
        """Parse 32 big-endian bytes; :class:`CryptoError` if not in 1 .. r-1."""
        return cls(bytes(data))

    @classmethod
    def from_hex(cls, text: str) -> SecretKey:
        """Parse 64 hex digits, with or without 0x."""
        return cls(_from_hex(text, "secret key"))

    @classmethod
    def key_gen(cls, seed: bytes) -> SecretKey:
        """KeyGen of the IETF draft (HKDF over ``seed``, at least 32 bytes of key material)."""
        if len(seed) < 32:
            raise CryptoError("BLS key generation needs a seed of at least 32 bytes")
        return cls(bytes(PopSchemeMPL.key_gen(bytes(seed))))

    from_seed = key_gen

    @classmethod
    def generate(cls) -> SecretKey:
        """A new key from 32 bytes of the operating system's randomness."""
        return cls.key_gen(secrets.token_bytes(32))

    @property
    def public_key(self) -> PublicKey:
        """The public key ``sk·G1``."""
        return self._public

    def to_bytes(self) -> bytes:
        """The 32-byte big-endian scalar."""
        return self.data

    def sign(self, message: bytes) -> Signature:
        """Sign ``message`` (any length): ``sk·H(message)`` with the POP ciphersuite's hash-to-G2."""
        return Signature._from_point(PopSchemeMPL.sign(self._key, bytes(message)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (SecretKey, (self.data,))

    def __repr__(self) -> str:
        return f"SecretKey(public_key={self._public.hex()})"


def verify(public_key: PublicKey, message: bytes, signature: Signature) -> bool:
    """CoreVerify of the POP ciphersuite: whether ``signature`` is ``public_key``'s over ``message``.

    Returns False (never raises) on a wrong signature.
    """
    return bool(PopSchemeMPL.verify(public_key._point, bytes(message), signature._point))


def aggregate_signatures(signatures: Sequence[Signature]) -> Signature:
    """Aggregate: the sum of the signature points (reference §1.3); :class:`CryptoError` if empty."""
    if not signatures:
        raise CryptoError("cannot aggregate an empty list of BLS signatures")
    return Signature._from_point(PopSchemeMPL.aggregate([s._point for s in signatures]))


def aggregate_public_keys(public_keys: Sequence[PublicKey]) -> PublicKey:
    """The sum of the public-key points, as the bitmap's aggregate key (reference §1.3).

    :class:`CryptoError` if the list is empty or the sum is the identity point.
    """
    if not public_keys:
        raise CryptoError("cannot aggregate an empty list of BLS public keys")
    total = public_keys[0]._point
    for key in public_keys[1:]:
        total = total + key._point
    return PublicKey._from_point(total)


def fast_aggregate_verify(public_keys: Sequence[PublicKey], message: bytes, signature: Signature) -> bool:
    """FastAggregateVerify: every key signed the same ``message`` and ``signature`` is their aggregate.

    Safe only for keys whose proofs of possession were checked (design §5). False on an empty list.
    """
    if not public_keys:
        return False
    points = [k._point for k in public_keys]
    return bool(PopSchemeMPL.fast_aggregate_verify(points, bytes(message), signature._point))


_HASH_TAG = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
"""The POP ciphersuite's domain tag of message hashing (what :func:`verify` hashes a message with)."""
_PAIRING_COST = 5
"""A whole pairing (with its final exponentiation) costs about five Miller loops of a multi-pairing
(measured with blspy: 1.0 ms against 0.2 ms)."""


def _hash(message: bytes) -> G2Element:
    """H(m): the POP ciphersuite's hash of ``message`` to G2."""
    return G2Element.from_message(bytes(message), _HASH_TAG)


def _sum(points: Sequence[G2Element]) -> G2Element:
    total = G2Element()
    for point in points:
        total = total + point
    return total


def _by_key(public_keys: Sequence[PublicKey]) -> dict[bytes, list[int]]:
    """The positions of each distinct key, by its encoding."""
    groups: dict[bytes, list[int]] = {}
    for index, key in enumerate(public_keys):
        groups.setdefault(key.data, []).append(index)
    return groups


def _grouping_pays(keys: int, terms: int) -> bool:
    """Whether a pairing per distinct key (:func:`_grouped_equal`) costs less than a Miller loop per term."""
    return (keys + 1) * _PAIRING_COST < terms + 1


def _grouped_equal(signature: G2Element, sums: Sequence[tuple[G1Element, G2Element]]) -> bool:
    """``e(g1, signature) == Π e(pk, h)`` over ``sums`` of (key, message point), as whole pairings."""
    right = None
    for key, point in sums:
        term = key & point
        right = term if right is None else right * term
    return bool((G1Element.generator() & signature) == right)


def aggregate_verify(
    public_keys: Sequence[PublicKey], messages: Sequence[bytes], signature: Signature
) -> bool:
    """AggregateVerify: key *i* signed message *i*, and ``signature`` is the aggregate of them all:
    ``e(g1, signature) == Π e(pk_i, H(m_i))``.

    When few keys sign many messages (a sync batch of commits by the same signers), the messages of a key
    are hashed and summed first, ``e(pk, Σ H(m_i))``: the same product, with a pairing per key instead
    of a Miller loop per message (:func:`_grouped_equal`). False on empty or mismatched lists (never
    raises on wrong input of the right types).
    """
    if not public_keys or len(public_keys) != len(messages):
        return False
    groups = _by_key(public_keys)
    if _grouping_pays(len(groups), len(public_keys)):
        sums = [
            (public_keys[indexes[0]]._point, _sum([_hash(messages[i]) for i in indexes]))
            for indexes in groups.values()
        ]
        return _grouped_equal(signature._point, sums)
    points = [k._point for k in public_keys]
    return bool(PopSchemeMPL.aggregate_verify(points, [bytes(m) for m in messages], signature._point))


BATCH_SCALAR_BITS = 64
"""Bits of each random coefficient of :func:`batch_verify`: a batch with a wrong term passes with
probability at most 2^-64."""
_WINDOW = 4
"""Bits per window of a key's table of multiples (:func:`_key_table`)."""


@lru_cache(maxsize=256)
def _key_table(key: bytes) -> tuple[tuple[G1Element, ...], ...]:
    """Multiples of the public key ``key`` for :func:`_mul_key`: entry ``[j][b]`` is ``b·16^j·key``
    (``b`` in 0..15, 16 windows covering :data:`BATCH_SCALAR_BITS`). 240 additions, once per key: a sync
    batch meets the same few leaders block after block, and each multiplication is then 16 additions
    instead of 64 doublings and about 32 additions."""
    table = []
    base = G1Element.from_bytes(key)
    for _ in range(-(-BATCH_SCALAR_BITS // _WINDOW)):
        row = [G1Element(), base]
        for _ in range(2, 1 << _WINDOW):
            row.append(row[-1] + base)
        table.append(tuple(row))
        base = row[-1] + base
    return tuple(table)


def _mul_key(public_key: PublicKey, scalar: int) -> G1Element:
    """``scalar·public_key`` for ``0 <= scalar < 2^BATCH_SCALAR_BITS`` (a table lookup per window)."""
    total = G1Element()
    for row in _key_table(public_key.data):
        digit = scalar & ((1 << _WINDOW) - 1)
        if digit:
            total = total + row[digit]
        scalar >>= _WINDOW
    return total


def _multi_mul(points: Sequence[G2Element], scalars: Sequence[int]) -> G2Element:
    """``Σ scalars[i]·points[i]`` in G2 for scalars below ``2^BATCH_SCALAR_BITS``: the bucket method
    (Pippenger) with the window width that needs the fewest additions for this many points (about 20
    additions a point for a batch of 128, against about 96 one by one)."""

    def additions(width: int) -> int:
        return -(-BATCH_SCALAR_BITS // width) * (len(points) + 2 * ((1 << width) - 1)) + BATCH_SCALAR_BITS

    width = min(range(1, 9), key=additions)
    mask = (1 << width) - 1
    total = G2Element()
    for window in reversed(range(-(-BATCH_SCALAR_BITS // width))):
        for _ in range(width):
            total = total + total
        buckets: list[G2Element | None] = [None] * (mask + 1)
        for point, scalar in zip(points, scalars, strict=True):
            digit = (scalar >> (window * width)) & mask
            if digit:
                bucket = buckets[digit]
                buckets[digit] = point if bucket is None else bucket + point
        running: G2Element | None = None
        for digit in range(mask, 0, -1):  # Σ digit·bucket[digit] as a sum of running sums
            bucket = buckets[digit]
            if bucket is not None:
                running = bucket if running is None else running + bucket
            if running is not None:
                total = total + running
    return total


def batch_scalars(count: int, seed: bytes | None = None) -> list[int]:
    """The coefficients of :func:`batch_verify`: ``count`` non-zero integers below
    ``2^BATCH_SCALAR_BITS``, from SHA-256 of ``seed`` (32 bytes of the operating system's randomness when
    ``None``; a seed the signers could predict would let them forge a batch) and the index."""
    seed = secrets.token_bytes(32) if seed is None else bytes(seed)
    size = BATCH_SCALAR_BITS // 8
    return [
        int.from_bytes(sha256(seed + index.to_bytes(4, "big"))[:size], "big") or 1 for index in range(count)
    ]


def batch_verify(
    public_keys: Sequence[PublicKey],
    messages: Sequence[bytes],
    signatures: Sequence[Signature],
    *,
    seed: bytes | None = None,
) -> bool:
    """Whether every ``signatures[i]`` is ``public_keys[i]``'s over ``messages[i]`` (:func:`verify` of
    each), checked at once by a random linear combination: with secret random coefficients
    ``r_i`` (:func:`batch_scalars`), ``e(g1, Σ r_i·σ_i) == Π e(r_i·pk_i, H(m_i))`` as one AggregateVerify
    (n + 1 Miller loops and one final exponentiation, against 2n pairings one by one); when few keys sign
    many messages, as ``Π e(pk, Σ r_i·H(m_i))`` over the distinct keys (a pairing per key). Every term valid:
    True. A wrong term: False, except with probability at most 2^-64 over the coefficients, so terms wrong
    by amounts that cancel in a plain sum do not pass. False on an empty or mismatched batch; it never
    says which term is wrong: the caller checks each alone (:func:`verify`) to find out.
    """
    count = len(public_keys)
    if count == 0 or count != len(messages) or count != len(signatures):
        return False
    scalars = batch_scalars(count, seed)
    total = _multi_mul([s._point for s in signatures], scalars)
    groups = _by_key(public_keys)
    if _grouping_pays(len(groups), count):  # e(pk, Σ r_i·H(m_i)) per key
        sums = [
            (
                public_keys[indexes[0]]._point,
                _multi_mul([_hash(messages[i]) for i in indexes], [scalars[i] for i in indexes]),
            )
            for indexes in groups.values()
        ]
        return _grouped_equal(total, sums)
    keys = [_mul_key(key, r) for key, r in zip(public_keys, scalars, strict=True)]
    return bool(PopSchemeMPL.aggregate_verify(keys, [bytes(m) for m in messages], total))


def sign_pop(secret_key: SecretKey) -> Signature:
    """Proof of possession of a staking key (design §5, reference §2.5): PopProve of the IETF draft.

    It signs the key's own 48-byte encoding under the separate ``BLS_POP_…`` tag, so no consensus
    signature can pass for a proof and a published proof cannot be reused for a rogue key.
    """
    return Signature._from_point(PopSchemeMPL.pop_prove(secret_key._key))


def verify_pop(public_key: PublicKey, proof: Signature) -> bool:
    """PopVerify: whether ``proof`` is a proof of possession for ``public_key`` (never raises)."""
    return bool(PopSchemeMPL.pop_verify(public_key._point, proof._point))


def bls_key_address(public_key: PublicKey) -> bytes:
    """Coinbase of a BLS key (reference §1.8): the first 20 bytes of SHA-256 of its 48-byte encoding."""
    return sha256(public_key.data)[:20]
