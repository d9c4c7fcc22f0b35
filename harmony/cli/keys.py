"""``harmony keys``: create and inspect account keys (Web3 Secret Storage v3) and BLS keys (EIP-2335 style).

Account keystores are named as geth names them (``UTC--<time>--<address hex>``); BLS keystores
``<public key hex>.key`` (reference §10.3). Files are written atomically with mode 0600. Secrets are never
printed unless ``--show-secret`` is given.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harmony.cli.common import CLIError, read_passphrase
from harmony.crypto.bls import SecretKey
from harmony.crypto.bls_keystore import decrypt_bls_key, encrypt_bls_key, save_bls_keystore
from harmony.crypto.keystore import (
    decrypt_key,
    encrypt_key,
    load_keystore,
    save_keystore,
)
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32, to_checksum_hex

DEFAULT_ACCOUNT_DIR = Path(".hmy") / "keystore"
DEFAULT_BLS_DIR = Path(".hmy") / "blskeys"


def _new_account(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    key = PrivateKey.from_hex(args.private_key) if args.private_key else PrivateKey.generate()
    keystore = encrypt_key(key.secret, passphrase)
    directory = Path(args.dir)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime())
    path = directory / f"UTC--{stamp}.000000000Z--{key.address.hex()}"
    _ensure_dir(directory)
    save_keystore(path, keystore)
    print(f"address  {to_bech32(key.address)}  {to_checksum_hex(key.address)}")
    print(f"keystore {path}")
    return 0


def _new_bls(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    secret = SecretKey.from_hex(args.secret_key) if args.secret_key else SecretKey.generate()
    directory = Path(args.dir)
    _ensure_dir(directory)
    path = save_bls_keystore(directory, encrypt_bls_key(secret, passphrase))
    print(f"bls public key {secret.public_key.hex()}")
    print(f"keystore       {path}")
    return 0


def _show(args: argparse.Namespace) -> int:
    keystore = load_keystore(args.file)
    passphrase = read_passphrase(args.passphrase_file, confirm=False)
    if "pubkey" in keystore:
        secret = decrypt_bls_key(keystore, passphrase)
        print(f"bls public key {secret.public_key.hex()}")
        if args.show_secret:
            print(f"secret key     {secret.to_bytes().hex()}")
        return 0
    key = PrivateKey(decrypt_key(keystore, passphrase))
    print(f"address  {to_bech32(key.address)}  {to_checksum_hex(key.address)}")
    if args.show_secret:
        print(f"secret   {key.secret.hex()}")
    return 0


def _list(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if not directory.is_dir():
        raise CLIError(f"--dir {directory}: no such directory")
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.stat().st_size > 65536:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("pubkey"), str):
            print(f"bls      {data['pubkey']}  {path}")
        elif isinstance(data, dict) and isinstance(data.get("address"), str):
            print(f"account  {data['address']}  {path}")
    return 0


def _ensure_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise CLIError(f"--dir {directory}: cannot create it ({exc})") from exc


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``keys`` subcommand and its actions."""
    keys = sub.add_parser("keys", help="create and inspect account and BLS keys", description=__doc__)
    actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    passphrase_help = "file whose first line is the passphrase (default: ask on the terminal)"

    new = actions.add_parser("new", help="create an account key (secp256k1) in a v3 keystore")
    new.add_argument("--dir", default=str(DEFAULT_ACCOUNT_DIR), help="keystore folder (default %(default)s)")
    new.add_argument("--passphrase-file", help=passphrase_help)
    new.add_argument("--private-key", help="import this 0x… private key instead of generating one")
    new.set_defaults(func=_new_account)

    bls = actions.add_parser("new-bls", help="create a BLS validator key in an EIP-2335 keystore")
    bls.add_argument("--dir", default=str(DEFAULT_BLS_DIR), help="keystore folder (default %(default)s)")
    bls.add_argument("--passphrase-file", help=passphrase_help)
    bls.add_argument("--secret-key", help="import this hex BLS secret key instead of generating one")
    bls.set_defaults(func=_new_bls)

    show = actions.add_parser("show", help="decrypt a keystore and show its address or BLS public key")
    show.add_argument("file", help="keystore file")
    show.add_argument("--passphrase-file", help=passphrase_help)
    show.add_argument("--show-secret", action="store_true", help="also print the secret key")
    show.set_defaults(func=_show)

    listing = actions.add_parser("list", help="list the keystores in a folder (no passphrase needed)")
    listing.add_argument("--dir", default=str(DEFAULT_ACCOUNT_DIR), help="folder (default %(default)s)")
    listing.set_defaults(func=_list)
