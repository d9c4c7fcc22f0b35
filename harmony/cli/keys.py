"""``harmony keys``: create and inspect account keys (Web3 Secret Storage v3) and BLS keys (EIP-2335 style).

Account keystores are named as geth names them (``UTC--<time>--<address hex>``); BLS keystores
``<public key hex>.key`` (reference §10.3). Files are written atomically with mode 0600. Secrets are never
printed unless ``--show-secret`` is given.

``export-bls`` and ``import-bls`` move a BLS key to and from Harmony's own key file (the one ``hmy keys``
writes: MD5-keyed AES-GCM, :mod:`harmony.crypto.bls_keyfile`), e.g. to move a validator between the Go node
and this one. Move the signer state with it (``consensus/signer.state``), and never run one key on two
machines: that double-signs and is slashed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harmony.cli.common import CLIError, read_passphrase
from harmony.crypto.bls import SecretKey
from harmony.crypto.bls_keyfile import read_harmony_key_file, write_harmony_key_file
from harmony.crypto.bls_keystore import (
    decrypt_bls_key,
    encrypt_bls_key,
    load_bls_keystore,
    save_bls_keystore,
)
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


def _export_bls(args: argparse.Namespace) -> int:
    keystore = load_bls_keystore(args.file)
    secret = decrypt_bls_key(keystore, read_passphrase(args.passphrase_file, confirm=False))
    directory = Path(args.out)
    target = directory / f"{secret.public_key.hex()}.key"
    if target.exists():
        raise CLIError(f"--out {directory}: {target.name} exists there already (choose another folder)")
    _ensure_dir(directory)
    path = write_harmony_key_file(directory, secret, read_passphrase(args.new_passphrase_file, confirm=True))
    print(f"bls public key {secret.public_key.hex()}")
    print(f"harmony key    {path}")
    return 0


def _import_bls(args: argparse.Namespace) -> int:
    secret = read_harmony_key_file(args.file, read_passphrase(args.passphrase_file, confirm=False))
    directory = Path(args.dir)
    target = directory / f"{secret.public_key.hex()}.key"
    if target.exists():
        raise CLIError(f"--dir {directory}: {target.name} exists there already")
    _ensure_dir(directory)
    keystore = encrypt_bls_key(secret, read_passphrase(args.new_passphrase_file, confirm=True))
    path = save_bls_keystore(directory, keystore)
    print(f"bls public key {secret.public_key.hex()}")
    print(f"keystore       {path}")
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

    export = actions.add_parser(
        "export-bls", help="write a BLS keystore's key as Harmony's own key file (as `hmy keys` writes)"
    )
    export.add_argument("file", help="EIP-2335 keystore of the key")
    export.add_argument("--out", required=True, help="folder for <public key>.key (not the keystore's)")
    export.add_argument("--passphrase-file", help="the keystore's passphrase file (default: ask)")
    export.add_argument("--new-passphrase-file", help="passphrase file for the exported file (default: ask)")
    export.set_defaults(func=_export_bls)

    imp = actions.add_parser("import-bls", help="import Harmony's own BLS key file into an EIP-2335 keystore")
    imp.add_argument("file", help="Harmony key file <public key>.key")
    imp.add_argument("--dir", default=str(DEFAULT_BLS_DIR), help="keystore folder (default %(default)s)")
    imp.add_argument("--passphrase-file", help="the key file's passphrase file (default: ask)")
    imp.add_argument("--new-passphrase-file", help="passphrase file for the new keystore (default: ask)")
    imp.set_defaults(func=_import_bls)

    listing = actions.add_parser("list", help="list the keystores in a folder (no passphrase needed)")
    listing.add_argument("--dir", default=str(DEFAULT_ACCOUNT_DIR), help="folder (default %(default)s)")
    listing.set_defaults(func=_list)
