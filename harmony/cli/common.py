"""Pieces every ``harmony`` subcommand shares: user-facing errors, passphrase input, account keys."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from harmony.crypto.keystore import decrypt_key, load_keystore
from harmony.crypto.secp256k1 import PrivateKey
from harmony.errors import HarmonyError

MAX_PASSPHRASE_FILE = 4096


class CLIError(Exception):
    """A problem with what the user asked for; printed as ``error: <message>`` with exit status 1."""


def read_passphrase(passphrase_file: str | None, *, confirm: bool) -> str:
    """The passphrase from ``--passphrase-file`` (its first line), or asked on the terminal.

    With no file and no terminal there is nobody to ask, so this fails with a message saying what to pass.
    """
    if passphrase_file is not None:
        path = Path(passphrase_file)
        try:
            if path.stat().st_size > MAX_PASSPHRASE_FILE:
                raise CLIError(f"--passphrase-file {path}: larger than {MAX_PASSPHRASE_FILE} bytes")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CLIError(f"--passphrase-file {path}: cannot read it ({exc})") from exc
        lines = text.splitlines()
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        raise CLIError("no passphrase: pass --passphrase-file FILE, or run in a terminal to be asked")
    first = getpass.getpass("Passphrase: ")
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise CLIError("the two passphrases differ")
    return first


def load_account_key(keystore_path: str, passphrase_file: str | None) -> PrivateKey:
    """The secp256k1 account key in a v3 keystore, its passphrase from ``passphrase_file`` or the terminal."""
    try:
        keystore = load_keystore(keystore_path)
    except (HarmonyError, OSError) as exc:
        raise CLIError(f"keystore: {exc}") from None
    passphrase = read_passphrase(passphrase_file, confirm=False)
    try:
        return PrivateKey(decrypt_key(keystore, passphrase))
    except HarmonyError as exc:
        raise CLIError(f"keystore: {exc}") from None
