"""``harmony genesis``: write a development genesis, or check a genesis file and show each shard's block.

``new`` writes a reproducible development genesis (deterministic development keys: never for real funds) of
``--network``: ``localnet`` (4 genesis keys per shard) or ``localnet32`` (16 of its 32 seats per shard).
``check`` parses a file with every rule of :mod:`harmony.chain.genesis` and prints, per shard, the state
root and the hash of the number-0 block a node started from it will have, so operators can compare.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harmony.chain.genesis import (
    Genesis,
    dev_account_key,
    genesis_block,
    genesis_to_json,
    load_genesis,
    make_localnet_genesis,
)
from harmony.chain.params import DEVELOPMENT_PRESETS, LOCALNET, get_preset
from harmony.cli.common import CLIError
from harmony.encoding.address import to_bech32
from harmony.state.statedb import StateDB


class _NoNodes:
    """An empty node store: a genesis state starts from nothing."""

    def get(self, key: bytes) -> bytes | None:
        return None


def _show(genesis: Genesis) -> None:
    print(f"network {genesis.params.name}: {len(genesis.shards)} shards, timestamp {genesis.timestamp}")
    for shard in genesis.shards:
        block = genesis_block(genesis, shard.shard_id, StateDB(_NoNodes()))
        print(
            f"shard {shard.shard_id}: {len(shard.alloc)} funded accounts, "
            f"{len(shard.committee)} committee keys, state root 0x{block.header.root.hex()}, "
            f"genesis block 0x{block.hash().hex()}" + (f", fenced to {shard.fence}" if shard.fence else "")
        )
    for fence in genesis.fences:
        print(
            f"fence {fence.jurisdiction}: {len(fence.attestors)} attestors, "
            f"at least {fence.min_seats} attested seats and {fence.min_stake_share} "
            f"of the average stake per shard, attestations up to {fence.max_attestation_epochs} epochs ahead"
        )


def _new(args: argparse.Namespace) -> int:
    if args.accounts < 1 or args.accounts > 1000:
        raise CLIError(f"--accounts {args.accounts}: must be between 1 and 1000")
    timestamp = int(time.time()) if args.timestamp is None else args.timestamp
    if timestamp < 0:
        raise CLIError(f"--timestamp {timestamp}: must not be negative")
    genesis = make_localnet_genesis(
        params=get_preset(args.network), accounts=args.accounts, timestamp=timestamp
    )
    out = Path(args.out)
    if out.exists() and not args.force:
        raise CLIError(f"--out {out}: already exists (pass --force to overwrite)")
    try:
        out.write_text(genesis_to_json(genesis), encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot write it ({exc})") from exc
    print(f"wrote {out}")
    _show(genesis)
    print("funded development accounts (private keys are public knowledge: local networks only):")
    for i in range(args.accounts):
        key = dev_account_key(i)
        print(f"  {to_bech32(key.address)}  0x{key.secret.hex()}")
    return 0


def _check(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CLIError(f"{path}: no such file")
    _show(load_genesis(path))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``genesis`` subcommand and its actions."""
    parser = sub.add_parser("genesis", help="write or check a genesis file", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="write a reproducible development genesis with funded dev accounts")
    new.add_argument(
        "--network",
        choices=DEVELOPMENT_PRESETS,
        default=LOCALNET.name,
        help="the development preset (default %(default)s)",
    )
    new.add_argument("--out", default="genesis.json", help="file to write (default %(default)s)")
    new.add_argument("--accounts", type=int, default=10, help="funded dev accounts (default %(default)s)")
    new.add_argument("--timestamp", type=int, help="genesis time in Unix seconds (default: now)")
    new.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    new.set_defaults(func=_new)
    check = actions.add_parser("check", help="check a genesis file and print each shard's genesis block")
    check.add_argument("file", help="genesis JSON file")
    check.set_defaults(func=_check)
