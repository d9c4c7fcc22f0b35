"""Genesis: the file that starts a network, and the number-0 block of each shard (reference §2.1, §3.6).

File format (JSON, UTF-8, at most :data:`MAX_GENESIS_SIZE` bytes; unknown or duplicate keys are errors)::

    {
      "network": "localnet",                 # a preset of harmony.chain.params (required)
      "timestamp": 1700000000,               # Unix seconds of the genesis blocks (required, >= 0)
      "gas_limit": 30000000,                 # optional block gas limit until the preset's next change;
                                             #   default: the preset's gas limit at epoch 0
      "extra": "0x",                         # optional hex, at most 32 bytes
      "vdf_iterations": 200000,              # optional epoch VDF difficulty, 1 .. 2^40; default: the preset's
      "fences": {                            # optional country fences (docs/design/fenced-shards.md)
        "EU": {                              # a jurisdiction: 2-16 of [A-Z0-9-], a letter first
          "attestors": ["one1..."],          # 1 .. 32 distinct addresses that may attest and revoke for it
          "min_seats": 1,                    # optional: fewest attested external seats per fenced shard
          "min_stake_share": "0",            # optional: least share of the average stake per shard, [0, 1]
          "max_attestation_epochs": 365      # optional: farthest expiry of an attestation, in epochs
        }
      },
      "shards": [                            # exactly one entry per shard 0 .. shard_count - 1
        {
          "shard_id": 0,
          "fence": "EU",                     # optional; a jurisdiction of "fences"; never on shard 0
          "alloc": {                         # optional; address -> balance
            "one1...": "1000 ONE",           # "<n> ONE" (n with at most 18 decimals) ...
            "0xAbC...": "5000000000000000000" # ... or an atto integer, as a string or a JSON integer
          },
          "committee": [                     # the genesis (Harmony-operated) keys, in bitmap order
            {"bls_public_key": "<96 hex digits>", "address": "one1..."}
          ]
        }
      ]
    }

Addresses are bech32 ``one1…`` or EIP-55 hex (reference §9.4). Every field is checked, and any problem
raises :class:`GenesisError` whose ``field`` names where (e.g. ``shards[1].alloc["0x12"]``): unknown preset,
bad address, negative or oversized balance, duplicate address or BLS key, invalid BLS key (it must be a
valid G1 point), committee larger than the preset's seats, missing or extra shards, a fence on the beacon
chain, a shard fenced to an undeclared jurisdiction or a jurisdiction that fences no shard.

:func:`genesis_block` applies one shard's allocation to a state and builds its header: the state root, the
epoch-0 shard state of every shard (reference §3.6: the genesis header carries the first committee), empty
transaction and receipt roots, the gas limit and time. :func:`make_localnet_genesis` makes a reproducible
development genesis from deterministic keys (never use them outside a local network).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmony.chain.fences import (
    BEACON_SHARD,
    DEFAULT_MAX_ATTESTATION_EPOCHS,
    DEFAULT_MIN_SEATS,
    MAX_ATTESTATION_EPOCHS_LIMIT,
    MAX_ATTESTORS,
    MAX_FENCES,
    Fence,
    FenceError,
    Fences,
    check_jurisdiction,
)
from harmony.chain.params import LOCALNET, ONE, NetworkParams, UnknownPreset, get_preset
from harmony.chain.state_api import WorldState
from harmony.crypto import bls
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.crypto.vdf import MAX_ITERATIONS
from harmony.encoding.address import parse_address, to_bech32
from harmony.encoding.fixed import Dec
from harmony.errors import AddressError, CryptoError, DecodeError, FixedPointError
from harmony.types.block import Block
from harmony.types.header import MAX_EXTRA_SIZE, Header
from harmony.types.shard_state import Committee, ShardState, Slot

MAX_GENESIS_SIZE = 16 * 1024 * 1024
"""Largest genesis file read."""
MAX_BALANCE = 2**256 - 1
"""A balance is a 256-bit unsigned integer (YP §4.1)."""
_ATTO = re.compile(r"[0-9]{1,78}")
_ONE_AMOUNT = re.compile(r"([0-9]{1,60})(?:\.([0-9]{1,18}))?\s+ONE")
_TOP_FIELDS = frozenset({"network", "timestamp", "gas_limit", "extra", "vdf_iterations", "fences", "shards"})
_SHARD_FIELDS = frozenset({"shard_id", "fence", "alloc", "committee"})
_FENCE_FIELDS = frozenset({"attestors", "min_seats", "min_stake_share", "max_attestation_epochs"})
_MEMBER_FIELDS = frozenset({"bls_public_key", "address"})


class GenesisError(DecodeError):
    """A genesis file is malformed; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"genesis {field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class GenesisAccount:
    """An account funded at genesis."""

    address: bytes
    balance: int
    """Atto."""


@dataclass(frozen=True, slots=True)
class GenesisShard:
    """One shard's genesis: its allocation and its first committee."""

    shard_id: int
    alloc: tuple[GenesisAccount, ...]
    committee: tuple[Slot, ...]
    """Harmony-operated seats (no effective stake), in bitmap order."""
    fence: str | None = None
    """The jurisdiction the shard is fenced to (``docs/design/fenced-shards.md``), or ``None``."""


@dataclass(frozen=True, slots=True)
class Genesis:
    """A whole network's genesis (module docstring)."""

    params: NetworkParams
    timestamp: int
    gas_limit: int
    extra: bytes
    shards: tuple[GenesisShard, ...]
    """One per shard, in shard order."""
    vdf_iterations: int = 0
    """The epoch VDF's difficulty for the whole network (design §7); 0: the preset's. Consensus, so it is
    in the genesis every node shares, not in each node's configuration."""
    fences: tuple[Fence, ...] = ()
    """The declared jurisdictions, in the file's order; shards name theirs in :attr:`GenesisShard.fence`."""

    def __post_init__(self) -> None:
        if self.gas_limit != self.params.gas_limit(0):  # the file's gas limit holds from genesis on
            object.__setattr__(self, "params", self.params.with_genesis_gas_limit(self.gas_limit))

    def fence_rules(self) -> Fences:
        """The network's fences (:class:`~harmony.chain.fences.Fences`) as the chain's rules carry them."""
        return Fences(self.fences, tuple(s.fence for s in self.shards) if self.fences else ())

    def shard(self, shard_id: int) -> GenesisShard:
        """The genesis of ``shard_id``; :class:`GenesisError` if the network has no such shard."""
        if not 0 <= shard_id < len(self.shards):
            raise GenesisError("shard_id", f"shard {shard_id} is not one of the {len(self.shards)} shards")
        return self.shards[shard_id]

    def shard_state(self) -> ShardState:
        """The epoch-0 committees of every shard (reference §3.6)."""
        return ShardState(0, tuple(Committee(s.shard_id, s.committee) for s in self.shards))


def genesis_block(genesis: Genesis, shard_id: int, state: WorldState) -> Block:
    """Apply ``shard_id``'s allocation to ``state`` and return its number-0 block (Go ``Genesis.ToBlock``).

    The header carries the state root after the allocation, the epoch-0 shard state, the genesis gas
    limit, time and extra data, and empty transaction, receipt and cross-shard roots.
    """
    shard = genesis.shard(shard_id)
    for account in shard.alloc:
        state.set_balance(account.address, state.get_balance(account.address) + account.balance)
    header = Header.genesis(
        shard_id=shard_id,
        time=genesis.timestamp,
        root=state.state_root(),
        gas_limit=genesis.gas_limit,
        shard_state=genesis.shard_state(),
        extra=genesis.extra,
    )
    return Block(header)


def load_genesis(source: str | bytes | Path) -> Genesis:
    """Parse and check a genesis: a :class:`Path` to a file, JSON text (a ``str`` starting with ``{``),
    bytes, or a ``str`` path. Raises only :class:`GenesisError`."""
    text = _read_source(source)
    try:
        raw = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_float=_no_floats, parse_constant=_no_floats
        )
    except GenesisError:
        raise
    except (ValueError, RecursionError) as exc:
        raise GenesisError("file", f"not valid JSON: {exc}") from exc
    return parse_genesis(raw)


def _read_source(source: str | bytes | Path) -> str:
    if isinstance(source, str) and source.lstrip().startswith("{"):
        data = source.encode()
    elif isinstance(source, bytes):
        data = source
    elif isinstance(source, (str, Path)):
        path = Path(source)
        try:
            if path.stat().st_size > MAX_GENESIS_SIZE:
                raise GenesisError("file", f"larger than {MAX_GENESIS_SIZE} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise GenesisError("file", f"cannot read {path}: {exc.strerror}") from exc
    else:
        raise GenesisError("file", f"expected a path, text or bytes, not {type(source).__name__}")
    if len(data) > MAX_GENESIS_SIZE:
        raise GenesisError("file", f"larger than {MAX_GENESIS_SIZE} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GenesisError("file", "not UTF-8") from exc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise GenesisError(json.dumps(key), "duplicate key")
        result[key] = value
    return result


def _no_floats(text: str) -> Any:
    raise GenesisError("number", f"{text} is not an integer (amounts are exact: use a string)")


def parse_genesis(raw: object) -> Genesis:
    """Check a decoded JSON genesis (module docstring) and build the :class:`Genesis`."""
    top = _object(raw, "genesis", _TOP_FIELDS, required=("network", "timestamp", "shards"))
    network = top["network"]
    if not isinstance(network, str):
        raise GenesisError("network", "must be a preset name")
    try:
        params = get_preset(network)
    except UnknownPreset as exc:
        raise GenesisError("network", str(exc)) from exc
    timestamp = _uint(top["timestamp"], "timestamp", 2**63 - 1)
    gas_limit = _uint(top.get("gas_limit", params.gas_limit(0)), "gas_limit", 2**64 - 1)
    if gas_limit == 0:
        raise GenesisError("gas_limit", "must be positive")
    extra = _hex_bytes(top.get("extra", "0x"), "extra")
    if len(extra) > MAX_EXTRA_SIZE:
        raise GenesisError("extra", f"longer than {MAX_EXTRA_SIZE} bytes")
    vdf_iterations = _uint(top.get("vdf_iterations", 0), "vdf_iterations", MAX_ITERATIONS)
    fences = _parse_fences(top.get("fences", {}), params)
    shards_raw = top["shards"]
    if not isinstance(shards_raw, list):
        raise GenesisError("shards", "must be a list")
    if len(shards_raw) != params.shard_count:
        raise GenesisError(
            "shards", f"{params.name} has {params.shard_count} shards, {len(shards_raw)} given"
        )
    shards: dict[int, GenesisShard] = {}
    seen_keys: set[bytes] = set()
    for index, entry in enumerate(shards_raw):
        shard = _parse_shard(entry, f"shards[{index}]", params, seen_keys, fences)
        if shard.shard_id in shards:
            raise GenesisError(f"shards[{index}].shard_id", f"shard {shard.shard_id} appears twice")
        shards[shard.shard_id] = shard
    genesis = Genesis(
        params,
        timestamp,
        gas_limit,
        extra,
        tuple(shards[i] for i in sorted(shards)),
        vdf_iterations,
        tuple(fences.values()),
    )
    for name in fences:
        if not any(shard.fence == name for shard in genesis.shards):
            raise GenesisError(
                f"fences[{json.dumps(name)}]", 'fences no shard: name it in a shard\'s "fence"'
            )
    try:
        genesis.fence_rules()
    except FenceError as exc:  # the checks above come first; this is the dataclass's own backstop
        raise GenesisError("fences", str(exc)) from exc
    return genesis


def _parse_fences(raw: object, params: NetworkParams) -> dict[str, Fence]:
    """The ``fences`` object (module docstring): jurisdiction -> its :class:`Fence`, in the file's order."""
    if not isinstance(raw, dict):
        raise GenesisError("fences", "must be an object of jurisdiction -> fence")
    if len(raw) > MAX_FENCES:
        raise GenesisError("fences", f"more than {MAX_FENCES} jurisdictions")
    fences: dict[str, Fence] = {}
    for name, body in raw.items():
        where = f"fences[{json.dumps(name)[:40]}]"
        try:
            check_jurisdiction(name)
        except FenceError as exc:
            raise GenesisError(where, str(exc)) from exc
        entry = _object(body, where, _FENCE_FIELDS, required=("attestors",))
        attestors = _parse_attestors(entry["attestors"], f"{where}.attestors")
        seats_field, epochs_field = f"{where}.min_seats", f"{where}.max_attestation_epochs"
        min_seats = _uint(
            entry.get("min_seats", DEFAULT_MIN_SEATS), seats_field, params.external_seats_per_shard
        )
        share = _share(entry.get("min_stake_share", "0"), f"{where}.min_stake_share")
        epochs = entry.get("max_attestation_epochs", DEFAULT_MAX_ATTESTATION_EPOCHS)
        if _uint(epochs, epochs_field, MAX_ATTESTATION_EPOCHS_LIMIT) == 0:
            raise GenesisError(epochs_field, "must be at least 1")
        fences[name] = Fence(name, attestors, min_seats, share, epochs)
    return fences


def _parse_attestors(raw: object, where: str) -> tuple[bytes, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ATTESTORS:
        raise GenesisError(where, f"must be a list of 1 to {MAX_ATTESTORS} addresses")
    attestors: list[bytes] = []
    for index, text in enumerate(raw):
        address = _address(text, f"{where}[{index}]")
        if address in attestors:
            raise GenesisError(f"{where}[{index}]", "the same attestor is listed twice")
        attestors.append(address)
    return tuple(attestors)


def _share(value: object, field: str) -> Dec:
    if not isinstance(value, str):
        raise GenesisError(field, 'must be a decimal string such as "0.5"')
    try:
        share = Dec.from_str(value)
    except FixedPointError as exc:
        raise GenesisError(field, str(exc)) from exc
    if share.is_negative() or (Dec.one() - share).is_negative():
        raise GenesisError(field, f"{value[:40]} is outside [0, 1]")
    return share


def _parse_fence_name(raw: object, where: str, shard_id: int, fences: Mapping[str, Fence]) -> str | None:
    if raw is None:
        return None
    if shard_id == BEACON_SHARD:
        raise GenesisError(where, "the beacon chain (shard 0) cannot be fenced: every node needs it")
    if not isinstance(raw, str) or raw not in fences:
        shown = json.dumps(raw)[:40] if isinstance(raw, str) else type(raw).__name__
        declared = ", ".join(fences) or "none"
        raise GenesisError(where, f'{shown} is not a jurisdiction of "fences" (declared: {declared})')
    return raw


def _parse_shard(
    raw: object, where: str, params: NetworkParams, seen_keys: set[bytes], fences: Mapping[str, Fence]
) -> GenesisShard:
    entry = _object(raw, where, _SHARD_FIELDS, required=("shard_id", "committee"))
    shard_id = _uint(entry["shard_id"], f"{where}.shard_id", params.shard_count - 1)
    fence = _parse_fence_name(entry.get("fence"), f"{where}.fence", shard_id, fences)
    alloc_raw = entry.get("alloc", {})
    if not isinstance(alloc_raw, dict):
        raise GenesisError(f"{where}.alloc", "must be an object of address -> balance")
    alloc: dict[bytes, GenesisAccount] = {}
    total = 0
    for text, amount in alloc_raw.items():
        field = f"{where}.alloc[{json.dumps(text)}]"
        address = _address(text, field)
        if address in alloc:
            raise GenesisError(field, "the same address is allocated twice")
        balance = parse_balance(amount, field)
        total += balance
        if total > MAX_BALANCE:
            raise GenesisError(field, "the allocation's total exceeds 2^256 - 1")
        alloc[address] = GenesisAccount(address, balance)
    members = entry["committee"]
    if not isinstance(members, list) or not members:
        raise GenesisError(f"{where}.committee", "must be a non-empty list")
    if len(members) > params.seats_per_shard:
        raise GenesisError(f"{where}.committee", f"more than the {params.seats_per_shard} seats per shard")
    slots = []
    for index, member in enumerate(members):
        field = f"{where}.committee[{index}]"
        slot = _parse_member(member, field)
        if slot.bls_public_key in seen_keys:
            raise GenesisError(f"{field}.bls_public_key", "the BLS key is already in a committee")
        seen_keys.add(slot.bls_public_key)
        slots.append(slot)
    return GenesisShard(shard_id, tuple(alloc.values()), tuple(slots), fence)


def _parse_member(raw: object, where: str) -> Slot:
    member = _object(raw, where, _MEMBER_FIELDS, required=tuple(_MEMBER_FIELDS))
    key_text = member["bls_public_key"]
    if not isinstance(key_text, str):
        raise GenesisError(f"{where}.bls_public_key", "must be a hex string")
    try:
        key = bls.PublicKey.from_hex(key_text)
    except CryptoError as exc:
        raise GenesisError(f"{where}.bls_public_key", str(exc)) from exc
    return Slot(_address(member["address"], f"{where}.address"), key.to_bytes())


def parse_balance(value: object, field: str = "balance") -> int:
    """An amount in atto from ``"<n> ONE"``, an atto integer string, or a non-negative JSON integer."""
    if isinstance(value, bool):
        raise GenesisError(field, "a balance is not a boolean")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("-"):
            raise GenesisError(field, "balance is negative")
        if _ATTO.fullmatch(text):
            amount = int(text)
        elif match := _ONE_AMOUNT.fullmatch(text):
            whole, fraction = match.group(1), match.group(2) or ""
            amount = int(whole) * ONE + int(fraction.ljust(18, "0") or "0")
        else:
            raise GenesisError(field, f"{value[:40]!r} is neither an atto integer nor '<n> ONE'")
    else:
        raise GenesisError(field, f"a balance is a string or an integer, not {type(value).__name__}")
    if amount < 0:
        raise GenesisError(field, "balance is negative")
    if amount > MAX_BALANCE:
        raise GenesisError(field, "balance exceeds 2^256 - 1")
    return amount


def _object(raw: object, where: str, allowed: frozenset[str], *, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise GenesisError(where, "must be an object")
    for key in raw:
        if key not in allowed:
            raise GenesisError(f"{where}.{key}", "unknown field")
    for key in required:
        if key not in raw:
            raise GenesisError(f"{where}.{key}", "missing")
    return raw


def _uint(value: object, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GenesisError(field, "must be an integer")
    if not 0 <= value <= maximum:
        raise GenesisError(field, f"{value} is outside 0 .. {maximum}")
    return value


def _hex_bytes(value: object, field: str) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise GenesisError(field, "must be a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise GenesisError(field, "not valid hex") from exc


def _address(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise GenesisError(field, "an address is a string")
    try:
        return parse_address(value)
    except AddressError as exc:
        raise GenesisError(field, str(exc)) from exc


def genesis_to_json(genesis: Genesis) -> str:
    """The file form of ``genesis`` (bech32 addresses, atto balances), which :func:`load_genesis` reads."""
    doc = {
        "network": genesis.params.name,
        "timestamp": genesis.timestamp,
        "gas_limit": genesis.gas_limit,
        "extra": "0x" + genesis.extra.hex(),
        **({"vdf_iterations": genesis.vdf_iterations} if genesis.vdf_iterations else {}),
        **({"fences": {f.jurisdiction: _fence_json(f) for f in genesis.fences}} if genesis.fences else {}),
        "shards": [
            {
                "shard_id": shard.shard_id,
                **({"fence": shard.fence} if shard.fence else {}),
                "alloc": {to_bech32(a.address): str(a.balance) for a in shard.alloc},
                "committee": [
                    {"bls_public_key": s.bls_public_key.hex(), "address": to_bech32(s.ecdsa_address)}
                    for s in shard.committee
                ],
            }
            for shard in genesis.shards
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _fence_json(fence: Fence) -> dict[str, object]:
    return {
        "attestors": [to_bech32(a) for a in fence.attestors],
        "min_seats": fence.min_seats,
        "min_stake_share": str(fence.min_stake_share),
        "max_attestation_epochs": fence.max_attestation_epochs,
    }


def dev_account_key(index: int) -> PrivateKey:
    """Deterministic development account ``index`` (funded by :func:`make_localnet_genesis`). Public!"""
    return PrivateKey(keccak256(f"harmony-localnet-account-{index}".encode()))


def dev_validator_key(shard_id: int, index: int) -> PrivateKey:
    """Deterministic account of the ``index``-th genesis validator of ``shard_id``. Public!"""
    return PrivateKey(keccak256(f"harmony-localnet-validator-{shard_id}-{index}".encode()))


def dev_bls_key(shard_id: int, index: int) -> bls.SecretKey:
    """Deterministic BLS key of the ``index``-th genesis seat of ``shard_id``. Public!"""
    return bls.SecretKey.key_gen(keccak256(f"harmony-localnet-bls-{shard_id}-{index}".encode()))


DEV_BALANCE = 1_000_000 * ONE
"""What each development account holds on every shard."""


def make_localnet_genesis(
    *,
    params: NetworkParams = LOCALNET,
    accounts: int = 10,
    balance: int = DEV_BALANCE,
    keys_per_shard: int | None = None,
    timestamp: int = 0,
    gas_limit: int | None = None,
    vdf_iterations: int = 0,
) -> Genesis:
    """A reproducible development genesis: ``accounts`` dev accounts (:func:`dev_account_key`) funded with
    ``balance`` on every shard, and ``keys_per_shard`` (default: the preset's Harmony seats) deterministic
    BLS keys per shard whose validator accounts are funded too; ``vdf_iterations`` as the file's field."""
    keys = params.harmony_seats_per_shard if keys_per_shard is None else keys_per_shard
    funded = [dev_account_key(i).address for i in range(accounts)]
    shards = []
    for shard_id in range(params.shard_count):
        validators = [dev_validator_key(shard_id, i).address for i in range(keys)]
        slots = tuple(
            Slot(validators[i], dev_bls_key(shard_id, i).public_key.to_bytes()) for i in range(keys)
        )
        alloc = tuple(GenesisAccount(a, balance) for a in funded + validators)
        shards.append(GenesisShard(shard_id, alloc, slots))
    return Genesis(
        params,
        timestamp,
        params.gas_limit(0) if gas_limit is None else gas_limit,
        b"",
        tuple(shards),
        vdf_iterations,
    )


__all__ = [
    "DEV_BALANCE",
    "MAX_GENESIS_SIZE",
    "Genesis",
    "GenesisAccount",
    "GenesisError",
    "GenesisShard",
    "dev_account_key",
    "dev_bls_key",
    "dev_validator_key",
    "genesis_block",
    "genesis_to_json",
    "load_genesis",
    "make_localnet_genesis",
    "parse_balance",
    "parse_genesis",
]
