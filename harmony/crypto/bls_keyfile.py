"""Harmony's own BLS key file, for moving a validator key to and from the Go tools (reference §10.3).

Rule (``internal/blsgen``): the file ``<pubkeyhex>.key`` holds the hex of ``nonce(12) ‖ AES-GCM
ciphertext ‖ tag(16)``; the AES-256 key is the 32-character hex string of MD5(passphrase) used as raw bytes;
the plaintext is the secret key as a hex string. MD5 makes this a weak format (a passphrase is checked fast
offline): our nodes keep keys in EIP-2335 keystores (:mod:`harmony.crypto.bls_keystore`) and use this one
only to export and import.

The secret's byte order: we write our big-endian scalar. A file whose name is its public key (as Harmony's
tools name them) is also read when the other byte order gives that public key, since Harmony's BLS library
serializes scalars little-endian.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from Crypto.Cipher import AES

from harmony.crypto.bls import SecretKey
from harmony.crypto.keystore import write_private
from harmony.errors import CryptoError, KeystoreError

NONCE_SIZE = 12
TAG_SIZE = 16
MAX_FILE_SIZE = 1024
"""A key file is about 200 characters; anything far larger is refused before reading."""


def _aes_key(passphrase: str) -> bytes:
    return hashlib.md5(passphrase.encode("utf-8")).hexdigest().encode("ascii")


def encrypt_harmony_key(secret: SecretKey, passphrase: str) -> str:
    """The file text of ``secret`` in Harmony's format (module docstring)."""
    nonce = secrets.token_bytes(NONCE_SIZE)
    cipher = AES.new(_aes_key(passphrase), AES.MODE_GCM, nonce=nonce)
    ciphertext, tag = cipher.encrypt_and_digest(secret.to_bytes().hex().encode("ascii"))
    return (nonce + ciphertext + tag).hex()


def decrypt_harmony_key(text: str, passphrase: str, expected_public_hex: str | None = None) -> SecretKey:
    """The secret key in a Harmony key file's text; :class:`KeystoreError` on a wrong passphrase or a
    malformed file. With ``expected_public_hex`` (the file's name), the byte order that gives it wins."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise KeystoreError("the BLS key file is not hex text") from exc
    if len(raw) < NONCE_SIZE + TAG_SIZE + 1:
        raise KeystoreError(f"the BLS key file is too short ({len(raw)} bytes)")
    nonce, body, tag = raw[:NONCE_SIZE], raw[NONCE_SIZE:-TAG_SIZE], raw[-TAG_SIZE:]
    cipher = AES.new(_aes_key(passphrase), AES.MODE_GCM, nonce=nonce)
    try:
        plain = cipher.decrypt_and_verify(body, tag)
    except ValueError as exc:
        raise KeystoreError("wrong passphrase for the BLS key file (or the file is damaged)") from exc
    try:
        scalar = bytes.fromhex(plain.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeystoreError("the BLS key file does not hold a hex secret key") from exc
    candidates = [scalar, scalar[::-1]] if expected_public_hex else [scalar]
    keys: list[SecretKey] = []
    for candidate in candidates:
        try:
            keys.append(SecretKey.from_bytes(candidate))
        except CryptoError:
            continue
    if not keys:
        raise KeystoreError("the BLS key file's secret key is not a valid scalar")
    for key in keys:
        if expected_public_hex is not None and key.public_key.hex() == expected_public_hex.lower():
            return key
    if expected_public_hex is not None:
        raise KeystoreError(f"the key file's secret does not give the public key {expected_public_hex}")
    return keys[0]


def read_harmony_key_file(path: str | os.PathLike[str], passphrase: str) -> SecretKey:
    """Decrypt the Harmony key file at ``path``; a ``<pubkeyhex>.key`` name is checked against the key."""
    target = Path(path)
    try:
        with open(target, "rb") as handle:
            data = handle.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise KeystoreError(f"cannot read {target}: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_SIZE:
        raise KeystoreError(f"{target} is larger than {MAX_FILE_SIZE} bytes: not a Harmony BLS key file")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise KeystoreError(f"{target} is not hex text") from exc
    stem = target.name.removesuffix(".key")
    expected = stem if len(stem) == 96 and all(c in "0123456789abcdefABCDEF" for c in stem) else None
    return decrypt_harmony_key(text, passphrase, expected)


def write_harmony_key_file(directory: str | os.PathLike[str], secret: SecretKey, passphrase: str) -> Path:
    """Write ``<directory>/<pubkeyhex>.key`` in Harmony's format, atomically, mode 0600; the path."""
    path = Path(directory) / f"{secret.public_key.hex()}.key"
    write_private(path, encrypt_harmony_key(secret, passphrase))
    return path
