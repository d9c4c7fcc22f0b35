"""Account keystores: Web3 Secret Storage v3 (the JSON key files of geth, MetaMask, MyCrypto).

Rule (design §5; the "Web3 Secret Storage Definition"):

- a key-derivation function turns the passphrase into a 32-byte key ``dk``: scrypt (``n``, ``r``, ``p``,
  ``salt``, ``dklen``) or PBKDF2 with HMAC-SHA256 (``c``, ``salt``, ``dklen``, ``prf``);
- the secret is encrypted with AES-128-CTR under ``dk[0:16]`` and the 128-bit initial counter ``iv``;
- ``mac = keccak256(dk[16:32] ‖ ciphertext)`` proves the passphrase.

We write scrypt (n = 2^18, r = 8, p = 1, as geth); we read scrypt and PBKDF2. Key-derivation parameters
from a file are bounded before any work (scrypt memory ``128·n·r`` at most 512 MiB, total work, PBKDF2
rounds), so a hostile file cannot exhaust memory or time. Every malformed field raises
:class:`KeystoreError` naming the field; a wrong passphrase raises ``KeystoreError("MAC mismatch: wrong
passphrase?")``. Files are written atomically with mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from Crypto.Cipher import AES
from Crypto.Protocol.KDF import scrypt as _scrypt

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.durable import atomic_write
from harmony.errors import CryptoError, KeystoreError

SCRYPT_N = 1 << 18
"""Default scrypt cost for new keystores (geth's "standard")."""
SCRYPT_R = 8
SCRYPT_P = 1
LIGHT_SCRYPT_N = 1 << 12
"""Cheap scrypt cost for tests and throwaway keys (geth's "light")."""
DKLEN = 32
"""Length of the derived key: 16 bytes of AES key, 16 bytes of MAC key."""
MAX_SCRYPT_N = 1 << 20
"""Largest scrypt n accepted from a file."""
MAX_SCRYPT_MEMORY = 512 << 20
"""Largest scrypt memory (128·n·r bytes) accepted from a file."""
MAX_SCRYPT_WORK = 1 << 24
"""Largest n·r·p accepted from a file (8 times geth's standard)."""
MAX_PBKDF2_ROUNDS = 1 << 22
"""Largest PBKDF2 iteration count accepted from a file."""
MAX_SALT_SIZE = 1024
MAX_SECRET_SIZE = 4096
"""Largest ciphertext accepted (a key is 32 bytes)."""
MAX_KEYSTORE_SIZE = 64 << 10
"""Largest keystore text accepted before parsing JSON."""


def get_field(obj: Mapping[str, Any], key: str, path: str) -> Any:
    """``obj[key]``, or :class:`KeystoreError` naming ``path`` if ``obj`` is not an object or lacks it."""
    if not isinstance(obj, Mapping):
        raise KeystoreError(f"keystore field {path.rsplit('.', 1)[0]} must be an object")
    if key not in obj:
        raise KeystoreError(f"keystore field {path} is missing")
    return obj[key]


def hex_field(
    obj: Mapping[str, Any], key: str, path: str, *, size: int | None = None, max_size: int = MAX_SALT_SIZE
) -> bytes:
    """The non-empty bytes of the hex string ``obj[key]`` (0x optional, bounded, of ``size`` if given)."""
    value = get_field(obj, key, path)
    if not isinstance(value, str):
        raise KeystoreError(f"keystore field {path} must be a hex string")
    text = value[2:] if value.startswith(("0x", "0X")) else value
    if len(text) > 2 * max_size:
        raise KeystoreError(f"keystore field {path} is too long")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise KeystoreError(f"keystore field {path} is not valid hex") from exc
    if size is not None and len(raw) != size:
        raise KeystoreError(f"keystore field {path} must be {size} bytes, got {len(raw)}")
    if not raw:
        raise KeystoreError(f"keystore field {path} is empty")
    return raw


def _int_field(obj: Mapping[str, Any], key: str, path: str, low: int, high: int) -> int:
    value = get_field(obj, key, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise KeystoreError(f"keystore field {path} must be an integer")
    if not low <= value <= high:
        raise KeystoreError(f"keystore field {path} = {value} is outside {low} .. {high}")
    return value


def derive_key(function: str, params: Mapping[str, Any], password: bytes, *, path: str) -> bytes:
    """Run a keystore key-derivation function (scrypt, or PBKDF2 with HMAC-SHA256) with bounded parameters.

    Shared by the v3 and EIP-2335 keystores; ``path`` names the parameter object in error messages.
    Returns the 32-byte derived key.
    """
    if not isinstance(params, Mapping):
        raise KeystoreError(f"keystore field {path} must be an object")
    dklen = _int_field(params, "dklen", f"{path}.dklen", DKLEN, DKLEN)
    salt = hex_field(params, "salt", f"{path}.salt")
    if function == "scrypt":
        n = _int_field(params, "n", f"{path}.n", 2, MAX_SCRYPT_N)
        if n & (n - 1):
            raise KeystoreError(f"keystore field {path}.n must be a power of two")
        r = _int_field(params, "r", f"{path}.r", 1, 1024)
        p = _int_field(params, "p", f"{path}.p", 1, 1024)
        if 128 * n * r > MAX_SCRYPT_MEMORY:
            raise KeystoreError(f"keystore field {path}: scrypt memory 128·n·r is over {MAX_SCRYPT_MEMORY}")
        if n * r * p > MAX_SCRYPT_WORK:
            raise KeystoreError(f"keystore field {path}: scrypt work n·r·p is over {MAX_SCRYPT_WORK}")
        # pycryptodome, not hashlib: OpenSSL refuses n >= 2^(16·r) (RFC 7914), which geth-made files break.
        try:
            derived = _scrypt(password, salt, dklen, N=n, r=r, p=p)  # type: ignore[arg-type]
        except (ValueError, MemoryError) as exc:
            raise KeystoreError(f"keystore scrypt failed: {exc}") from exc
        if not isinstance(derived, bytes):  # pragma: no cover - only with num_keys > 1
            raise KeystoreError("keystore scrypt returned no key")
        return derived
    if function == "pbkdf2":
        prf = get_field(params, "prf", f"{path}.prf")
        if prf != "hmac-sha256":
            raise KeystoreError(f"keystore field {path}.prf: unsupported {prf!r} (only hmac-sha256)")
        c = _int_field(params, "c", f"{path}.c", 1, MAX_PBKDF2_ROUNDS)
        return hashlib.pbkdf2_hmac("sha256", password, salt, c, dklen)
    raise KeystoreError(f"keystore kdf {function!r} is not supported (scrypt or pbkdf2)")


def aes_128_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128 in counter mode, the 16-byte ``iv`` being the whole initial 128-bit big-endian counter."""
    return AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=iv).encrypt(data)


def parse_keystore_text(text: str | bytes) -> dict[str, Any]:
    """Parse keystore JSON text (bounded to 64 KiB) into an object; :class:`KeystoreError` otherwise."""
    if len(text) > MAX_KEYSTORE_SIZE:
        raise KeystoreError("keystore is too large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise KeystoreError(f"keystore is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise KeystoreError("keystore must be a JSON object")
    return data


def _as_object(keystore: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(keystore, str | bytes):
        return parse_keystore_text(keystore)
    if not isinstance(keystore, Mapping):
        raise KeystoreError("keystore must be a JSON object")
    return keystore


def encrypt_key(
    secret: bytes,
    passphrase: str,
    *,
    n: int = SCRYPT_N,
    r: int = SCRYPT_R,
    p: int = SCRYPT_P,
    light: bool = False,
    address: bytes | None = None,
) -> dict[str, Any]:
    """Encrypt ``secret`` into a Web3 Secret Storage v3 object (scrypt, AES-128-CTR, keccak MAC).

    ``light=True`` uses n = 2^12 (fast, weak: tests only). ``address`` is written when given, or computed
    when ``secret`` is a valid 32-byte secp256k1 key.
    """
    if not 1 <= len(secret) <= MAX_SECRET_SIZE:
        raise KeystoreError(f"secret must be 1 to {MAX_SECRET_SIZE} bytes")
    if light:
        n = LIGHT_SCRYPT_N
    salt = secrets.token_bytes(32)
    iv = secrets.token_bytes(16)
    kdfparams: dict[str, Any] = {"dklen": DKLEN, "n": n, "r": r, "p": p, "salt": salt.hex()}
    derived = derive_key("scrypt", kdfparams, passphrase.encode("utf-8"), path="crypto.kdfparams")
    ciphertext = aes_128_ctr(derived[:16], iv, secret)
    mac = keccak256(derived[16:32] + ciphertext)
    result: dict[str, Any] = {}
    if address is None and len(secret) == 32:
        try:
            address = PrivateKey(secret).address
        except CryptoError:
            address = None
    if address is not None:
        result["address"] = address.hex()
    result["crypto"] = {
        "cipher": "aes-128-ctr",
        "cipherparams": {"iv": iv.hex()},
        "ciphertext": ciphertext.hex(),
        "kdf": "scrypt",
        "kdfparams": kdfparams,
        "mac": mac.hex(),
    }
    result["id"] = str(uuid.uuid4())
    result["version"] = 3
    return result


def decrypt_key(keystore: Mapping[str, Any] | str | bytes, passphrase: str) -> bytes:
    """Decrypt a Web3 Secret Storage v3 keystore (object or JSON text) and return the secret.

    Checks the version (3), the cipher (aes-128-ctr), the KDF parameters' bounds, then the MAC before
    decrypting. :class:`KeystoreError` on anything malformed or a wrong passphrase.
    """
    obj = _as_object(keystore)
    version = get_field(obj, "version", "version")
    if version != 3 or isinstance(version, bool):
        raise KeystoreError(f"keystore field version must be 3, got {version!r}")
    crypto = obj.get("crypto", obj.get("Crypto"))
    if not isinstance(crypto, Mapping):
        raise KeystoreError("keystore field crypto is missing or not an object")
    cipher = get_field(crypto, "cipher", "crypto.cipher")
    if cipher != "aes-128-ctr":
        raise KeystoreError(f"keystore field crypto.cipher: unsupported {cipher!r} (only aes-128-ctr)")
    iv = hex_field(
        get_field(crypto, "cipherparams", "crypto.cipherparams"), "iv", "crypto.cipherparams.iv", size=16
    )
    ciphertext = hex_field(crypto, "ciphertext", "crypto.ciphertext", max_size=MAX_SECRET_SIZE)
    mac = hex_field(crypto, "mac", "crypto.mac", size=32)
    kdf = get_field(crypto, "kdf", "crypto.kdf")
    if not isinstance(kdf, str):
        raise KeystoreError("keystore field crypto.kdf must be a string")
    params = get_field(crypto, "kdfparams", "crypto.kdfparams")
    derived = derive_key(kdf, params, passphrase.encode("utf-8"), path="crypto.kdfparams")
    if not hmac.compare_digest(keccak256(derived[16:32] + ciphertext), mac):
        raise KeystoreError("MAC mismatch: wrong passphrase?")
    return aes_128_ctr(derived[:16], iv, ciphertext)


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write a key file: :func:`harmony.durable.atomic_write` (atomic, durable, mode 0600);
    :class:`KeystoreError` if the file cannot be written."""
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise KeystoreError(f"cannot write keystore {path}: {exc}") from exc


def read_bounded(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a keystore file of at most 64 KiB; :class:`KeystoreError` otherwise."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_KEYSTORE_SIZE + 1)
    except OSError as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc}") from exc
    return parse_keystore_text(raw)


def save_keystore(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Save a keystore object as JSON, atomically and readable by the owner only (mode 0600)."""
    write_private(path, json.dumps(dict(data), indent=2, sort_keys=True) + "\n")


def load_keystore(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a keystore object from a JSON file (at most 64 KiB); decrypt it with :func:`decrypt_key`."""
    return read_bounded(path)
