"""The devnet's genesis options: ``--genesis FILE``, ``--fund ADDRESS=AMOUNT`` and ``--harmony-localnet``.

* ``--genesis FILE`` starts the devnet from a genesis someone else wrote (``harmony genesis new`` writes one
  to edit). It is checked with every genesis rule, must be a localnet genesis, and each running shard's
  committee must be the devnet's development BLS keys, since those are the keys the devnet's validators hold.
* ``--fund ADDRESS=AMOUNT`` (repeatable) adds AMOUNT ONE (a decimal number, or ``<n>atto``) to ADDRESS
  (``one1…`` or ``0x…``) on every shard.
* ``--harmony-localnet`` also funds Harmony localnet's well-known development accounts as Harmony's
  ``core/genesis.go`` does (``ContractDeployerInitFund``, 10,000,000,000 ONE each): the faucet the localnet
  scripts use and the test account whose key that file prints. The chain ID (2) and Ethereum chain IDs
  (1666700000 + shard) are Harmony localnet's already, so transactions pre-signed for it apply unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harmony.chain.genesis import (
    Genesis,
    GenesisAccount,
    GenesisShard,
    dev_bls_key,
    load_genesis,
    parse_balance,
)
from harmony.chain.params import LOCALNET, ONE
from harmony.cli.common import CLIError
from harmony.encoding.address import parse_address, to_bech32, to_checksum_hex
from harmony.errors import HarmonyError

HARMONY_LOCALNET_FUND = 10_000_000_000 * ONE
"""Harmony's ``ContractDeployerInitFund`` in atto: each well-known localnet account's genesis balance."""
HARMONY_LOCALNET_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur", "Harmony localnet faucet (contract deployer)"),
    ("0xA5241513DA9F4463F1d4874b548dFBAC29D91f34", "Harmony localnet test account"),
)
"""``(address, what it is)`` of the accounts ``--harmony-localnet`` funds (``core/genesis.go``,
``test/build-localnet-validator.sh``)."""
MAX_FUND_ENTRIES = 1000


@dataclass(frozen=True, slots=True)
class Fund:
    """One account the devnet funds on every shard beyond the development accounts."""

    address: bytes
    amount: int
    """Atto."""
    label: str


def parse_fund(text: str) -> Fund:
    """``ADDRESS=AMOUNT``: a ``one1…`` or ``0x…`` address and an amount in ONE (``1000``, ``0.5``) or in
    atto (``123atto``); :class:`CLIError` naming ``--fund`` and what to write otherwise."""
    if len(text) > 200 or text.count("=") != 1:
        raise CLIError(f"--fund {text[:60]!r}: write ADDRESS=AMOUNT, e.g. one1…=1000 (ONE) or 0x…=5atto")
    raw_address, raw_amount = (part.strip() for part in text.split("="))
    try:
        address = parse_address(raw_address)
    except HarmonyError as exc:
        raise CLIError(f"--fund {raw_address[:60]!r}: {exc}") from None
    try:
        if raw_amount.endswith("atto"):
            amount = parse_balance(raw_amount.removesuffix("atto").strip(), "--fund")
        else:
            amount = parse_balance(f"{raw_amount} ONE", "--fund")
    except HarmonyError:
        raise CLIError(
            f"--fund {raw_amount[:40]!r}: the amount is ONE as a decimal number (1000, 0.5) or atto (5atto)"
        ) from None
    return Fund(address, amount, "--fund")


def funds_of(fund_args: list[str] | None, harmony_localnet: bool) -> list[Fund]:
    """Every extra account to fund: ``--fund`` entries, then Harmony localnet's accounts when asked."""
    entries = fund_args or []
    if len(entries) > MAX_FUND_ENTRIES:
        raise CLIError(f"--fund: at most {MAX_FUND_ENTRIES} accounts")
    funds = [parse_fund(entry) for entry in entries]
    if harmony_localnet:
        funds += [
            Fund(parse_address(address), HARMONY_LOCALNET_FUND, label)
            for address, label in HARMONY_LOCALNET_ACCOUNTS
        ]
    return funds


HARMONY_LOCALNET_GAS_LIMIT = 80_000_000
"""Harmony's block gas limit before ``BlockGas30MEpoch`` (reference §2.1: ``GasFloor``), which its localnet
runs at: its tools pre-sign staking transactions with more gas than our preset's 30,000,000 (pyhmy's
CreateValidator asks 55,000,000), so a block of ours could never hold them."""


def as_harmony_localnet(genesis: Genesis) -> Genesis:
    """``genesis`` with Harmony localnet's block gas limit (:data:`HARMONY_LOCALNET_GAS_LIMIT`)."""
    return replace(genesis, gas_limit=HARMONY_LOCALNET_GAS_LIMIT)


def with_funds(genesis: Genesis, funds: list[Fund]) -> Genesis:
    """``genesis`` with each fund added to its account's balance on every shard (a new account if absent)."""
    shards: list[GenesisShard] = []
    for shard in genesis.shards:
        balances = {account.address: account.balance for account in shard.alloc}
        for fund in funds:
            balances[fund.address] = balances.get(fund.address, 0) + fund.amount
        shards.append(
            replace(shard, alloc=tuple(GenesisAccount(addr, bal) for addr, bal in balances.items()))
        )
    return replace(genesis, shards=tuple(shards))


def load_devnet_genesis(path: Path, shards: int, validators: int) -> Genesis:
    """A genesis file for the devnet: every genesis rule, the localnet preset, and each running shard's
    committee made of the development BLS keys the devnet's ``validators`` nodes per shard hold."""
    try:
        genesis = load_genesis(path)
    except (HarmonyError, OSError) as exc:
        raise CLIError(f"--genesis {path}: {exc}") from None
    if genesis.params.name != LOCALNET.name:
        raise CLIError(
            f"--genesis {path}: a {genesis.params.name} genesis; the devnet runs localnet "
            "(write one with: harmony genesis new)"
        )
    for shard_id in range(shards):
        keys = [slot.bls_public_key for slot in genesis.shard(shard_id).committee]
        expected = [dev_bls_key(shard_id, i).public_key.to_bytes() for i in range(validators)]
        if keys != expected:
            raise CLIError(
                f"--genesis {path}: shard {shard_id}'s committee is not the devnet's {validators} "
                "development BLS keys, so its validators could not sign; start from `harmony genesis new` "
                "and change only the allocations (or use --fund)"
            )
    return genesis


def funds_manifest(funds: list[Fund]) -> list[dict[str, object]]:
    """The extra funded accounts as the manifest lists them (no keys: they are not ours)."""
    return [
        {
            "address": to_bech32(f.address),
            "eth_address": to_checksum_hex(f.address),
            "balance_atto": str(f.amount),
            "note": f.label,
        }
        for f in funds
    ]
