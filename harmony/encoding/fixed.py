"""The 18-decimal fixed-point number Harmony uses for ratios (reference §12, Go ``numeric.Dec``).

A :class:`Dec` holds one integer, the value times 10^18. The rounding rules are the reference's:

* ``mul`` and ``quo`` round half to even at the 18th decimal ("banker's rounding"); ``mul_truncate`` and
  ``quo_truncate`` truncate toward zero; ``quo_round_up`` rounds away from zero for positive values and
  truncates negative ones;
* ``round_int`` rounds half to even to an integer, ``truncate_int`` truncates toward zero, ``ceil`` goes up;
* integer division inside (Go's ``big.Int.Quo``) truncates toward zero, never floors;
* results wider than 255 + 60 bits are an overflow.

Text form: an optional ``-``, digits, optionally ``.`` and 1-18 digits; :meth:`Dec.__str__` always writes 18
decimals (``"0.150000000000000000"``), as RPC shows decimals. RLP form: a one-element list holding the
non-negative scaled integer, as Go encodes the struct ``Dec{*big.Int}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harmony.encoding import rlp
from harmony.encoding.rlp import DecodedItem, Item
from harmony.encoding.schema import as_bytes, as_list
from harmony.errors import FixedPointError, RLPError

PRECISION = 18
SCALE: int = 10**PRECISION
_HALF = SCALE // 2
_MAX_BITS = 255 + 60
_TEXT = re.compile(r"-?([0-9]+)(\.[0-9]{1,18})?")
MAX_TEXT_LENGTH = 120
"""Longest decimal string :meth:`Dec.from_str` reads; bounds work on hostile input."""


def _quo_trunc(a: int, b: int) -> int:
    """Integer division truncating toward zero (Go ``big.Int.Quo``)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _chop_round(value: int) -> int:
    """Drop 18 decimals with half-to-even rounding, symmetric around zero (``chopPrecisionAndRound``)."""
    if value < 0:
        return -_chop_round(-value)
    quo, rem = divmod(value, SCALE)
    if rem > _HALF or (rem == _HALF and quo & 1):
        return quo + 1
    return quo


def _chop_round_up(value: int) -> int:
    """Drop 18 decimals, positive values rounded up, negative truncated (``chopPrecisionAndRoundUp``)."""
    if value < 0:
        return -(-value // SCALE)
    quo, rem = divmod(value, SCALE)
    return quo + 1 if rem else quo


def _checked(raw: int) -> int:
    if raw.bit_length() > _MAX_BITS:
        raise FixedPointError("fixed-point overflow: result wider than 315 bits")
    return raw


@dataclass(frozen=True, slots=True, order=True)
class Dec:
    """An 18-decimal fixed-point number; ``raw`` is the value times 10^18."""

    raw: int

    @classmethod
    def from_int(cls, value: int) -> Dec:
        """The whole number ``value`` (``NewDec``)."""
        return cls(_checked(value * SCALE))

    @classmethod
    def with_precision(cls, value: int, prec: int) -> Dec:
        """``value`` × 10^-prec for 0 <= prec <= 18 (``NewDecWithPrec``): ``with_precision(15, 2)`` = 0.15."""
        if not 0 <= prec <= PRECISION:
            raise FixedPointError(f"precision {prec} outside 0..18")
        return cls(_checked(value * 10 ** (PRECISION - prec)))

    @classmethod
    def from_str(cls, text: str) -> Dec:
        """Parse ``-?digits(.digits{1,18})?`` (``NewDecFromStr``); anything else raises FixedPointError."""
        if not isinstance(text, str):
            raise FixedPointError(f"decimal must be a string, not {type(text).__name__}")
        if len(text) > MAX_TEXT_LENGTH:
            raise FixedPointError(f"decimal string longer than {MAX_TEXT_LENGTH} characters")
        match = _TEXT.fullmatch(text)
        if match is None:
            if "." in text and len(text.split(".", 1)[1]) > PRECISION and text.count(".") == 1:
                raise FixedPointError(f"too much precision in {text!r}: at most 18 decimals")
            raise FixedPointError(f"not a decimal number: {text!r}")
        whole, frac = match.group(1), (match.group(2) or ".")[1:]
        raw = int(whole + frac.ljust(PRECISION, "0"))
        return cls(_checked(-raw if text.startswith("-") else raw))

    @classmethod
    def zero(cls) -> Dec:
        """0."""
        return cls(0)

    @classmethod
    def one(cls) -> Dec:
        """1."""
        return cls(SCALE)

    def __str__(self) -> str:
        """Eighteen decimals always, e.g. ``"-1.500000000000000000"`` (Go ``Dec.String``)."""
        sign = "-" if self.raw < 0 else ""
        whole, frac = divmod(abs(self.raw), SCALE)
        return f"{sign}{whole}.{frac:018d}"

    def __repr__(self) -> str:
        return f"Dec('{self}')"

    def is_zero(self) -> bool:
        """Whether the value is 0."""
        return self.raw == 0

    def is_negative(self) -> bool:
        """Whether the value is below 0."""
        return self.raw < 0

    def __neg__(self) -> Dec:
        return Dec(-self.raw)

    def __abs__(self) -> Dec:
        return Dec(abs(self.raw))

    def __add__(self, other: Dec) -> Dec:
        return Dec(_checked(self.raw + other.raw))

    def __sub__(self, other: Dec) -> Dec:
        return Dec(_checked(self.raw - other.raw))

    def mul(self, other: Dec) -> Dec:
        """Product rounded half to even at 18 decimals (``Mul``)."""
        return Dec(_checked(_chop_round(self.raw * other.raw)))

    def mul_truncate(self, other: Dec) -> Dec:
        """Product truncated toward zero at 18 decimals (``MulTruncate``)."""
        return Dec(_checked(_quo_trunc(self.raw * other.raw, SCALE)))

    def mul_int(self, value: int) -> Dec:
        """Product with an integer, exact (``MulInt``)."""
        return Dec(_checked(self.raw * value))

    def _quo_raw(self, other: Dec) -> int:
        if other.raw == 0:
            raise FixedPointError("division by zero")
        return _quo_trunc(self.raw * SCALE * SCALE, other.raw)

    def quo(self, other: Dec) -> Dec:
        """Quotient rounded half to even at 18 decimals (``Quo``)."""
        return Dec(_checked(_chop_round(self._quo_raw(other))))

    def quo_truncate(self, other: Dec) -> Dec:
        """Quotient truncated toward zero at 18 decimals (``QuoTruncate``)."""
        return Dec(_checked(_quo_trunc(self._quo_raw(other), SCALE)))

    def quo_round_up(self, other: Dec) -> Dec:
        """Quotient rounded up at 18 decimals (``QuoRoundUp``)."""
        return Dec(_checked(_chop_round_up(self._quo_raw(other))))

    def quo_int(self, value: int) -> Dec:
        """Quotient by an integer, truncated toward zero in the last decimal (``QuoInt``)."""
        if value == 0:
            raise FixedPointError("division by zero")
        return Dec(_quo_trunc(self.raw, value))

    def round_int(self) -> int:
        """Nearest integer, half to even (``RoundInt``)."""
        return _chop_round(self.raw)

    def truncate_int(self) -> int:
        """Integer part, truncated toward zero (``TruncateInt``)."""
        return _quo_trunc(self.raw, SCALE)

    def truncate(self) -> Dec:
        """Integer part as a Dec (``TruncateDec``)."""
        return Dec.from_int(self.truncate_int())

    def ceil(self) -> Dec:
        """Smallest whole number at or above the value (``Ceil``)."""
        quo, rem = divmod(self.raw, SCALE)
        return Dec.from_int(quo + 1 if rem else quo) if self.raw >= 0 else Dec.from_int(-(-self.raw // SCALE))

    def to_json(self) -> str:
        """The JSON form: the 18-decimal string (Go ``MarshalJSON``)."""
        return str(self)

    @classmethod
    def from_json(cls, value: object) -> Dec:
        """Read the JSON form (a decimal string); anything else raises FixedPointError."""
        if not isinstance(value, str):
            raise FixedPointError(f"decimal must be a JSON string, not {type(value).__name__}")
        return cls.from_str(value)


def dec_min(a: Dec, b: Dec) -> Dec:
    """The smaller of two decimals (``MinDec``)."""
    return a if a < b else b


def dec_max(a: Dec, b: Dec) -> Dec:
    """The larger of two decimals (``MaxDec``)."""
    return b if a < b else a


@dataclass(frozen=True, slots=True)
class DecSedes:
    """RLP of a non-negative :class:`Dec`: the list ``[scaled integer]`` (Go struct ``Dec{*big.Int}``)."""

    def serialize(self, value: Dec) -> Item:
        """Encode as a one-element list; negative values cannot be encoded."""
        if value.raw < 0:
            raise ValueError("negative decimals have no RLP encoding")
        return [rlp.encode_uint(value.raw)]

    def deserialize(self, item: DecodedItem, field: str) -> Dec:
        """Decode a one-element list holding a canonical integer of at most 315 bits."""
        (inner,) = as_list(item, field, 1)
        return Dec(rlp.decode_uint(as_bytes(inner, field), bits=_MAX_BITS, field=field))


@dataclass(frozen=True, slots=True)
class OptionalDecSedes:
    """An optional :class:`Dec` (Go ``*numeric.Dec`` with ``rlp:"nil"``): ``None`` is the empty list."""

    def serialize(self, value: Dec | None) -> Item:
        """``None`` as ``[]``, otherwise as :class:`DecSedes`."""
        return [] if value is None else DEC.serialize(value)

    def deserialize(self, item: DecodedItem, field: str) -> Dec | None:
        """``[]`` (or the empty string) reads as ``None``."""
        if item in ([], b""):
            return None
        if isinstance(item, bytes):
            raise RLPError(f"{field}: expected a list")
        return DEC.deserialize(item, field)


DEC = DecSedes()
OPTIONAL_DEC = OptionalDecSedes()


def parse_dec(text: str, *, field: str = "decimal") -> Dec:
    """Parse a decimal from configuration or RPC input, naming ``field`` in the error."""
    try:
        return Dec.from_str(text)
    except FixedPointError as exc:
        raise FixedPointError(f"{field}: {exc}") from exc
