"""Reading method parameters from untrusted JSON (reference §9.3, §9.4; Ethereum JSON-RPC encoding).

Every reader takes a decoded JSON value and the parameter's name, checks its type, size and range, and
returns a typed Python value or raises :class:`InvalidParams` naming the parameter. Quantities are ``0x``
hex without leading zeros in eth_ style, but hmyv2_ clients send plain JSON integers, so both are read;
addresses are bech32 ``one1…`` or ``0x`` hex (§9.4); block parameters are numbers or the tags
``latest``/``earliest``/``pending`` (``safe``/``finalized`` read as ``latest``: blocks are final at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from harmony.encoding.address import parse_address
from harmony.errors import AddressError
from harmony.rpc.errors import InvalidParams
from harmony.storage.chaindb import TxDirection

T = TypeVar("T")

MAX_QUANTITY_BITS = 256
"""Quantities are at most 256-bit (u256 amounts)."""
MAX_HEX_QUANTITY_DIGITS = 64
BLOCK_TAGS = frozenset({"latest", "earliest", "pending", "safe", "finalized"})

BlockRef = int | str | bytes
"""A block named by number, by tag (``latest``/``earliest``/``pending``) or by 32-byte hash."""


def _hex_digits(text: str, name: str) -> str:
    if not text.startswith(("0x", "0X")):
        raise InvalidParams(f"invalid argument {name}: hex string without 0x prefix")
    return text[2:]


def quantity(value: object, name: str, *, bits: int = MAX_QUANTITY_BITS) -> int:
    """A non-negative integer: ``0x`` hex or a JSON integer, below ``2**bits``."""
    if isinstance(value, bool):
        raise InvalidParams(f"invalid argument {name}: expected a number, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        digits = _hex_digits(value, name)
        if not digits or len(digits) > MAX_HEX_QUANTITY_DIGITS:
            raise InvalidParams(f"invalid argument {name}: hex quantity must have 1 to 64 digits")
        try:
            number = int(digits, 16)
        except ValueError:
            raise InvalidParams(f"invalid argument {name}: not a hex number") from None
    else:
        raise InvalidParams(f"invalid argument {name}: expected a hex string or an integer")
    if number < 0:
        raise InvalidParams(f"invalid argument {name}: must not be negative")
    if number >= 1 << bits:
        raise InvalidParams(f"invalid argument {name}: larger than {bits} bits")
    return number


def uint64(value: object, name: str) -> int:
    """A quantity that fits 64 bits (block numbers, indexes, gas, nonces)."""
    return quantity(value, name, bits=64)


def hex_bytes(value: object, name: str, *, max_len: int) -> bytes:
    """``0x`` hex data of at most ``max_len`` bytes."""
    if not isinstance(value, str):
        raise InvalidParams(f"invalid argument {name}: expected a 0x hex string")
    digits = _hex_digits(value, name)
    if len(digits) > 2 * max_len:
        raise InvalidParams(f"invalid argument {name}: longer than {max_len} bytes")
    if len(digits) % 2:
        raise InvalidParams(f"invalid argument {name}: hex string of odd length")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise InvalidParams(f"invalid argument {name}: not hex") from None


def hash32(value: object, name: str) -> bytes:
    """A 32-byte hash in ``0x`` hex."""
    data = hex_bytes(value, name, max_len=32)
    if len(data) != 32:
        raise InvalidParams(f"invalid argument {name}: a hash is 32 bytes, got {len(data)}")
    return data


def storage_slot(value: object, name: str) -> int:
    """A storage slot given as a ``0x`` hex string of 1 to 64 digits (geth ``decodeHash``: left-padded)."""
    if not isinstance(value, str):
        raise InvalidParams(f"invalid argument {name}: expected a 0x hex string of at most 32 bytes")
    return quantity(value, name)


def address(value: object, name: str) -> bytes:
    """A 20-byte address: bech32 ``one1…``/``tone1…`` or ``0x`` hex (reference §9.4)."""
    if not isinstance(value, str) or len(value) > 100:
        raise InvalidParams(f"invalid argument {name}: expected an address string")
    try:
        return parse_address(value)
    except AddressError as exc:
        raise InvalidParams(f"invalid argument {name}: {exc}") from None


def boolean(value: object, name: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise InvalidParams(f"invalid argument {name}: expected a boolean")
    return value


def go_fields(value: object, name: str, fields: Sequence[str], what: str) -> dict[str, Any]:
    """The members of a JSON object as Go's ``encoding/json`` assigns them to a struct with ``fields``.

    A key matches the field of the same name, else one equal to it ignoring letter case; keys matching no
    field are ignored; a later key overwrites an earlier one; ``null`` leaves the field unset. The result
    is keyed by the canonical field names. Not an object: :class:`InvalidParams` naming ``what``.
    """
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid argument {name}: expected {what}")
    folded = {field.casefold(): field for field in fields}
    exact = frozenset(fields)
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = key if key in exact else folded.get(key.casefold())
        if field is not None and item is not None:
            out[field] = item
    return out


@dataclass(frozen=True, slots=True)
class BlockOptions:
    """How a block is formatted (Go ``rpc_common.BlockArgs``); transactions are always included."""

    full_tx: bool = False
    with_signers: bool = False
    incl_staking: bool = True


_BLOCK_FIELDS = ("withSigners", "fullTx", "inclStaking")


def block_options(value: object, name: str) -> BlockOptions:
    """A block-formatting parameter as Go's ``getBlockOptions`` reads it.

    A boolean is ``fullTx`` with staking transactions included and no signers (v1 and eth). An object is
    ``BlockArgs`` decoded as Go's JSON does (:func:`go_fields`): ``fullTx``, ``withSigners``,
    ``inclStaking``, each false unless given; ``inclTx`` and other members are ignored (Go always includes
    the transactions). A member of the wrong type is refused, naming it.
    """
    if isinstance(value, bool):
        return BlockOptions(full_tx=value)
    fields = go_fields(value, name, _BLOCK_FIELDS, "a boolean or a block options object")

    def flag(key: str) -> bool:
        return boolean(fields[key], f"{name}.{key}") if key in fields else False

    return BlockOptions(
        full_tx=flag("fullTx"), with_signers=flag("withSigners"), incl_staking=flag("inclStaking")
    )


def block_ref(value: object, name: str) -> BlockRef:
    """A block parameter: number, tag, or (EIP-1898) ``{"blockNumber"}`` / ``{"blockHash"}`` object."""
    if isinstance(value, str) and value in BLOCK_TAGS:
        return "latest" if value in ("safe", "finalized") else value
    if isinstance(value, dict):
        if "blockHash" in value:
            return hash32(value["blockHash"], f"{name}.blockHash")
        if "blockNumber" in value:
            return block_ref(value["blockNumber"], f"{name}.blockNumber")
        raise InvalidParams(f"invalid argument {name}: object needs blockNumber or blockHash")
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        # hmy clients send -1 for "latest" in a few methods; anything else negative is refused
        if value == -1:
            return "latest"
        raise InvalidParams(f"invalid argument {name}: block number must not be negative")
    return uint64(value, name)


def block_number_or_hash(value: object, name: str) -> BlockRef:
    """A block named by number/tag or by its hash (a 66-character hex string)."""
    if isinstance(value, str) and len(value) == 66:
        return hash32(value, name)
    return block_ref(value, name)


@dataclass(frozen=True, slots=True)
class CallArgs:
    """The transaction object of ``eth_call`` / ``eth_estimateGas`` (geth ``TransactionArgs``)."""

    sender: bytes | None
    to: bytes | None
    gas: int | None
    gas_price: int | None
    value: int
    data: bytes
    nonce: int | None


_CALL_FIELDS = (
    "from",
    "to",
    "gas",
    "gasPrice",
    "value",
    "data",
    "input",
    "nonce",
    "chainId",
    "type",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "accessList",
    "shardID",
    "toShardID",
)


def call_args(value: object, name: str, *, max_data: int) -> CallArgs:
    """A call object: ``from``, ``to``, ``gas``, ``gasPrice``, ``value``, ``data``/``input``, ``nonce``;
    member names matched as Go's JSON does (:func:`go_fields`), others ignored."""
    value = go_fields(value, name, _CALL_FIELDS, "a transaction object")

    def opt(key: str, read: Callable[[object, str], T]) -> T | None:
        raw = value.get(key)
        return None if raw is None else read(raw, f"{name}.{key}")

    data_raw = value.get("input", value.get("data"))
    data = b"" if data_raw is None else hex_bytes(data_raw, f"{name}.input", max_len=max_data)
    if "input" in value and "data" in value and value["input"] != value["data"]:
        raise InvalidParams(f"invalid argument {name}: both data and input given and they differ")
    gas_price = opt("gasPrice", quantity)
    if gas_price is None:
        gas_price = opt("maxFeePerGas", quantity)
    return CallArgs(
        sender=opt("from", address),
        to=opt("to", address),
        gas=opt("gas", uint64),
        gas_price=gas_price,
        value=opt("value", quantity) or 0,
        data=data,
        nonce=opt("nonce", uint64),
    )


MAX_HISTORY_PAGE = 1000
"""Largest ``pageSize`` of ``getTransactionsHistory`` (Harmony caps pages at 1000)."""
DEFAULT_HISTORY_PAGE = 100
"""``pageSize`` when absent or 0 (Go ``defaultPageSize``)."""

_TX_TYPES = {
    "": TxDirection.ALL,
    "ALL": TxDirection.ALL,
    "SENT": TxDirection.SENT,
    "RECEIVED": TxDirection.RECEIVED,
}


def tx_type(value: object, name: str) -> TxDirection:
    """Harmony's ``txType``: ``ALL`` (also empty), ``SENT`` or ``RECEIVED``, any letter case."""
    if not isinstance(value, str) or value.upper() not in _TX_TYPES:
        raise InvalidParams(f"invalid argument {name}: txType must be ALL, SENT or RECEIVED")
    return _TX_TYPES[value.upper()]


@dataclass(frozen=True, slots=True)
class HistoryArgs:
    """The object of ``getTransactionsHistory`` / ``getStakingTransactionsHistory`` (Go ``TxHistoryArgs``)."""

    address: bytes
    page_index: int
    page_size: int
    full_tx: bool
    direction: TxDirection
    newest_first: bool

    @property
    def start(self) -> int:
        """Position of the page's first entry."""
        return self.page_index * self.page_size


_HISTORY_FIELDS = ("address", "pageIndex", "pageSize", "fullTx", "txType", "order")


def history_args(value: object, name: str) -> HistoryArgs:
    """``{address, pageIndex?, pageSize?, fullTx?, txType?, order?}`` matched as Go's JSON does
    (:func:`go_fields`); other members are ignored.

    ``pageIndex`` is a 32-bit number (Go ``uint32``); ``pageSize`` 0 or absent means 100, above
    :data:`MAX_HISTORY_PAGE` is refused; ``order`` is ``ASC`` (default) or ``DESC``.
    """
    value = go_fields(value, name, _HISTORY_FIELDS, "an object with an address")
    if value.get("address") is None:
        raise InvalidParams(f"invalid argument {name}: address is required")

    def opt(key: str, read: Callable[[object, str], T], default: T) -> T:
        raw = value.get(key)
        return default if raw is None else read(raw, f"{name}.{key}")

    def uint32(raw: object, field: str) -> int:
        return quantity(raw, field, bits=32)

    page_size = opt("pageSize", uint32, 0) or DEFAULT_HISTORY_PAGE
    if page_size > MAX_HISTORY_PAGE:
        raise InvalidParams(f"invalid argument {name}.pageSize: at most {MAX_HISTORY_PAGE}")
    order = value.get("order")
    if order is not None and (not isinstance(order, str) or order.upper() not in ("", "ASC", "DESC")):
        raise InvalidParams(f"invalid argument {name}.order: order must be ASC or DESC")
    return HistoryArgs(
        address=address(value["address"], f"{name}.address"),
        page_index=opt("pageIndex", uint32, 0),
        page_size=page_size,
        full_tx=opt("fullTx", boolean, False),
        direction=opt("txType", tx_type, TxDirection.ALL),
        newest_first=isinstance(order, str) and order.upper() == "DESC",
    )


_MISSING: Any = object()


class Params:
    """The positional parameters of one call, read one by one with a reader and a name."""

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[Any], max_count: int) -> None:
        if len(values) > max_count:
            raise InvalidParams(f"too many arguments, want at most {max_count}")
        self._values = values

    def get(self, index: int, name: str, read: Callable[[object, str], T], default: T = _MISSING) -> T:
        """Parameter ``index`` read by ``read``; ``default`` when absent or null (required without one)."""
        if index >= len(self._values) or self._values[index] is None:
            if default is _MISSING:
                raise InvalidParams(f"missing value for required argument {index} ({name})")
            return default
        return read(self._values[index], f"{index} ({name})")

    def raw(self, index: int) -> object:
        """The raw JSON value at ``index`` (``None`` when absent)."""
        return self._values[index] if index < len(self._values) else None
