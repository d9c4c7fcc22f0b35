"""``harmony address``: show an address in both forms, bech32 ``one1…`` and EIP-55 hex (reference §9.4)."""

from __future__ import annotations

import argparse

from harmony.cli.common import CLIError
from harmony.encoding.address import parse_address, to_bech32, to_checksum_hex
from harmony.errors import AddressError


def run(args: argparse.Namespace) -> int:
    """Print ``one1…  0x…`` for each address given; the first bad one stops with its reason."""
    for text in args.addresses:
        try:
            address = parse_address(text)
        except AddressError as exc:
            raise CLIError(f"{text!r} is not an address: {exc}") from exc
        print(f"{to_bech32(address)}  {to_checksum_hex(address)}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``address`` subcommand."""
    parser = sub.add_parser(
        "address",
        help="convert addresses between one1… (bech32) and 0x… (hex)",
        description="Print each address as bech32 (one1…) and EIP-55 checksummed hex.",
    )
    parser.add_argument("addresses", nargs="+", metavar="ADDRESS", help="one1…, tone1… or 0x… address")
    parser.set_defaults(func=run)
