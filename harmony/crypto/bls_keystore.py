"""Validator keystores: BLS secret keys in an EIP-2335-style JSON file (design §5; reference §10.3).

Rule (EIP-2335, version 4):

- ``crypto.kdf``: ``{"function": "scrypt" | "pbkdf2", "params": {...}, "message": ""}``, giving a 32-byte
  derived key ``dk`` from the normalised passphrase;
- ``crypto.checksum``: ``{"function": "sha256", "params": {}, "message": sha256(dk[16:32] ‖ ciphertext)}``;
- ``crypto.cipher``: ``{"function": "aes-128-ctr", "params": {"iv": …}, "message": ciphertext}``, the
  32-byte secret encrypted under ``dk[0:16]``;
- ``pubkey`` (hex of the 48-byte key), ``path`` (``""``: our keys are not HD-derived), ``uuid``,
  ``version`` 4, optional ``description``.

The passphrase is normalised as EIP-2335 says: NFKD, then C0 (U+0000–U+001F), DEL (U+007F) and C1
(U+0080–U+009F) control codes removed, then UTF-8. Files are named ``<pubkeyhex>.key`` as the Go node's
(reference §10.3), but never hold its MD5-keyed AES-GCM format. Bounds and errors are those of
:mod:`harmony.crypto.keystore`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harmony.crypto.bls import PublicKey, SecretKey
from harmony.crypto.keystore import (
    DKLEN,
    LIGHT_SCRYPT_N,
    MAX_SECRET_SIZE,
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    aes_128_ctr,
    derive_key,
    get_field,
    hex_field,
    parse_keystore_text,
    read_bounded,
    write_private,
)
from harmony.errors import CryptoError, KeystoreError

VERSION = 4
"""EIP-2335 keystore version."""
KEY_FILE_SUFFIX = ".key"
"""Suffix of a BLS key file (reference §10.3)."""

_CONTROL_CODES = {c: None for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}


def normalize_passphrase(passphrase: str) -> bytes:
    """EIP-2335 password processing: NFKD, strip C0/DEL/C1 control codes, encode as UTF-8."""
    return unicodedata.normalize("NFKD", passphrase).translate(_CONTROL_CODES).encode("utf-8")


def encrypt_bls_key(
    secret_key: SecretKey,
    passphrase: str,
    *,
    n: int = SCRYPT_N,
    light: bool = False,
    description: str = "",
) -> dict[str, Any]:
    """Encrypt a BLS secret key into an EIP-2335 keystore object (scrypt, AES-128-CTR, SHA-256 checksum).

    ``light=True`` uses scrypt n = 2^12 (tests only).
    """
    if light:
        n = LIGHT_SCRYPT_N
    salt = secrets.token_bytes(32)
    iv = secrets.token_bytes(16)
    params: dict[str, Any] = {"dklen": DKLEN, "n": n, "p": SCRYPT_P, "r": SCRYPT_R, "salt": salt.hex()}
    derived = derive_key("scrypt", params, normalize_passphrase(passphrase), path="crypto.kdf.params")
    ciphertext = aes_128_ctr(derived[:16], iv, secret_key.to_bytes())
    checksum = hashlib.sha256(derived[16:32] + ciphertext).digest()
    return {
        "crypto": {
            "kdf": {"function": "scrypt", "params": params, "message": ""},
            "checksum": {"function": "sha256", "params": {}, "message": checksum.hex()},
            "cipher": {"function": "aes-128-ctr", "params": {"iv": iv.hex()}, "message": ciphertext.hex()},
        },
        "description": description,
        "pubkey": secret_key.public_key.hex(),
        "path": "",
        "uuid": str(uuid.uuid4()),
        "version": VERSION,
    }


def _module(crypto: Mapping[str, Any], name: str) -> tuple[str, Mapping[str, Any], Any]:
    module = get_field(crypto, name, f"crypto.{name}")
    function = get_field(module, "function", f"crypto.{name}.function")
    if not isinstance(function, str):
        raise KeystoreError(f"keystore field crypto.{name}.function must be a string")
    params = get_field(module, "params", f"crypto.{name}.params")
    if not isinstance(params, Mapping):
        raise KeystoreError(f"keystore field crypto.{name}.params must be an object")
    return function, params, module


def decrypt_bls_key(keystore: Mapping[str, Any] | str | bytes, passphrase: str) -> SecretKey:
    """Decrypt an EIP-2335 keystore (object or JSON text) into a BLS secret key.

    Checks version 4, the functions, the KDF bounds, the checksum (wrong passphrase →
    ``KeystoreError("MAC mismatch: wrong passphrase?")``), the secret's range, and that it matches
    ``pubkey`` when one is given.
    """
    obj = parse_keystore_text(keystore) if isinstance(keystore, str | bytes) else keystore
    if not isinstance(obj, Mapping):
        raise KeystoreError("keystore must be a JSON object")
    version = get_field(obj, "version", "version")
    if version != VERSION or isinstance(version, bool):
        raise KeystoreError(f"keystore field version must be {VERSION}, got {version!r}")
    crypto = get_field(obj, "crypto", "crypto")
    kdf_function, kdf_params, _ = _module(crypto, "kdf")
    checksum_function, _, checksum = _module(crypto, "checksum")
    if checksum_function != "sha256":
        raise KeystoreError(f"keystore field crypto.checksum.function: unsupported {checksum_function!r}")
    expected = hex_field(checksum, "message", "crypto.checksum.message", size=32)
    cipher_function, cipher_params, cipher = _module(crypto, "cipher")
    if cipher_function != "aes-128-ctr":
        raise KeystoreError(f"keystore field crypto.cipher.function: unsupported {cipher_function!r}")
    iv = hex_field(cipher_params, "iv", "crypto.cipher.params.iv", size=16)
    ciphertext = hex_field(cipher, "message", "crypto.cipher.message", max_size=MAX_SECRET_SIZE)
    pubkey: PublicKey | None = None
    pubkey_text = obj.get("pubkey", "")
    if not isinstance(pubkey_text, str):
        raise KeystoreError("keystore field pubkey must be a hex string")
    if pubkey_text:
        try:
            pubkey = PublicKey.from_hex(pubkey_text)
        except CryptoError as exc:
            raise KeystoreError(f"keystore field pubkey is not a BLS public key: {exc}") from exc
    derived = derive_key(kdf_function, kdf_params, normalize_passphrase(passphrase), path="crypto.kdf.params")
    if not hmac.compare_digest(hashlib.sha256(derived[16:32] + ciphertext).digest(), expected):
        raise KeystoreError("MAC mismatch: wrong passphrase?")
    try:
        secret_key = SecretKey.from_bytes(aes_128_ctr(derived[:16], iv, ciphertext))
    except CryptoError as exc:
        raise KeystoreError(f"keystore holds no valid BLS secret key: {exc}") from exc
    if pubkey is not None and secret_key.public_key != pubkey:
        raise KeystoreError("keystore field pubkey does not match the decrypted secret key")
    return secret_key


def bls_key_filename(public_key: PublicKey) -> str:
    """File name of a BLS key (reference §10.3): ``<pubkeyhex>.key``."""
    return public_key.hex() + KEY_FILE_SUFFIX


def save_bls_keystore(directory: str | os.PathLike[str], keystore: Mapping[str, Any]) -> Path:
    """Save a keystore as ``<directory>/<pubkeyhex>.key``, atomically, mode 0600; returns the path."""
    pubkey_text = keystore.get("pubkey")
    if not isinstance(pubkey_text, str):
        raise KeystoreError("keystore field pubkey is missing")
    try:
        public_key = PublicKey.from_hex(pubkey_text)
    except CryptoError as exc:
        raise KeystoreError(f"keystore field pubkey is not a BLS public key: {exc}") from exc
    path = Path(directory) / bls_key_filename(public_key)
    write_private(path, json.dumps(dict(keystore), indent=2, sort_keys=True) + "\n")
    return path


def load_bls_keystore(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load an EIP-2335 keystore object from a file (at most 64 KiB), for :func:`decrypt_bls_key`."""
    return read_bounded(path)
