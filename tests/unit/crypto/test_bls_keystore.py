"""EIP-2335-style BLS keystores (harmony.crypto.bls_keystore): spec vectors, round trips, bad files."""

from __future__ import annotations

import copy
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.bls import SecretKey
from harmony.crypto.bls_keystore import (
    bls_key_filename,
    decrypt_bls_key,
    encrypt_bls_key,
    load_bls_keystore,
    normalize_passphrase,
    save_bls_keystore,
)
from harmony.crypto.keystore import aes_128_ctr, derive_key
from harmony.errors import KeystoreError

# The test vectors of EIP-2335 ("Test Cases"): published data, not code.
EIP2335_PASSWORD = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑"
EIP2335_SECRET = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
EIP2335_PUBKEY = (
    "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07"
)
EIP2335_SALT = "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"


def _eip2335_vector(kdf: dict[str, Any], checksum: str, message: str) -> dict[str, Any]:
    return {
        "crypto": {
            "kdf": kdf,
            "checksum": {"function": "sha256", "params": {}, "message": checksum},
            "cipher": {
                "function": "aes-128-ctr",
                "params": {"iv": "264daa3f303d7259501c93d997d84fe6"},
                "message": message,
            },
        },
        "description": "This is a test keystore.",
        "pubkey": EIP2335_PUBKEY,
        "path": "m/12381/60/3141592653/589793238",
        "uuid": "1d85ae20-35c5-4611-98e8-aa14a633906f",
        "version": 4,
    }


SCRYPT_VECTOR = _eip2335_vector(
    {
        "function": "scrypt",
        "params": {"dklen": 32, "n": 262144, "p": 1, "r": 8, "salt": EIP2335_SALT},
        "message": "",
    },
    "d2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484",
    "06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f",
)
PBKDF2_VECTOR = _eip2335_vector(
    {
        "function": "pbkdf2",
        "params": {"dklen": 32, "c": 262144, "prf": "hmac-sha256", "salt": EIP2335_SALT},
        "message": "",
    },
    "8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1",
    "cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad",
)

KEY = SecretKey.key_gen(b"\x33" * 32)
STORE = encrypt_bls_key(KEY, "validator pass", light=True)


@pytest.mark.parametrize("vector", [SCRYPT_VECTOR, PBKDF2_VECTOR], ids=["scrypt", "pbkdf2"])
def test_eip2335_vectors(vector: dict[str, Any]) -> None:
    sk = decrypt_bls_key(vector, EIP2335_PASSWORD)
    assert sk.to_bytes().hex() == EIP2335_SECRET
    assert sk.public_key.hex() == EIP2335_PUBKEY


def test_eip2335_password_normalisation() -> None:
    assert normalize_passphrase(EIP2335_PASSWORD).hex() == "7465737470617373776f7264f09f9491"
    assert normalize_passphrase("a\x00b\x1fc\x7fd\x80e\x9ff\n") == b"abcdef"
    assert normalize_passphrase("\u00c5") == normalize_passphrase("A\u030a")  # NFKD


def test_round_trip_and_format() -> None:
    assert decrypt_bls_key(STORE, "validator pass") == KEY
    assert decrypt_bls_key(json.dumps(STORE), "validator pass") == KEY
    assert STORE["version"] == 4 and STORE["path"] == ""
    assert STORE["pubkey"] == KEY.public_key.hex()
    assert set(STORE["crypto"]) == {"kdf", "checksum", "cipher"}
    assert STORE["crypto"]["kdf"]["function"] == "scrypt"
    assert decrypt_bls_key(encrypt_bls_key(KEY, "validator\x00 pass", light=True), "validator pass") == KEY


def test_wrong_passphrase() -> None:
    with pytest.raises(KeystoreError, match="MAC mismatch: wrong passphrase"):
        decrypt_bls_key(STORE, "nope")


def test_pubkey_must_match() -> None:
    store = copy.deepcopy(STORE)
    store["pubkey"] = SecretKey.key_gen(b"\x44" * 32).public_key.hex()
    with pytest.raises(KeystoreError, match="pubkey"):
        decrypt_bls_key(store, "validator pass")
    store["pubkey"] = ""  # optional: then nothing to compare
    assert decrypt_bls_key(store, "validator pass") == KEY


_DELETE = object()


def _mutate(path: str, value: object) -> dict[str, Any]:
    store = copy.deepcopy(STORE)
    *parents, last = path.split(".")
    node: Any = store
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return store


BAD_FIELDS: list[tuple[str, object, str]] = [
    ("version", 3, "version"),
    ("version", _DELETE, "version"),
    ("crypto", _DELETE, "crypto"),
    ("crypto", "x", "crypto"),
    ("crypto.kdf", _DELETE, "crypto.kdf"),
    ("crypto.kdf.function", "argon2id", "argon2id"),
    ("crypto.kdf.function", None, "crypto.kdf.function"),
    ("crypto.kdf.params", [], "crypto.kdf.params"),
    ("crypto.kdf.params.n", 1 << 30, "crypto.kdf.params.n"),
    ("crypto.kdf.params.salt", "xyz", "crypto.kdf.params.salt"),
    ("crypto.checksum.function", "sha512", "crypto.checksum.function"),
    ("crypto.checksum.message", "00", "crypto.checksum.message"),
    ("crypto.checksum.params", _DELETE, "crypto.checksum.params"),
    ("crypto.cipher.function", "aes-256-gcm", "crypto.cipher.function"),
    ("crypto.cipher.params.iv", "00", "crypto.cipher.params.iv"),
    ("crypto.cipher.message", "", "crypto.cipher.message"),
    ("crypto.cipher.message", 12, "crypto.cipher.message"),
    ("pubkey", 5, "pubkey"),
    ("pubkey", "00" * 48, "pubkey"),
    ("pubkey", "zz", "pubkey"),
]


@pytest.mark.parametrize(
    ("path", "value", "named"),
    BAD_FIELDS,
    ids=[f"{p}={'<deleted>' if v is _DELETE else repr(v)}"[:60] for p, v, _ in BAD_FIELDS],
)
def test_malformed_fields_name_the_field(path: str, value: object, named: str) -> None:
    with pytest.raises(KeystoreError, match=named.replace(".", r"\.")):
        decrypt_bls_key(_mutate(path, value), "validator pass")


def test_secret_out_of_range_is_refused() -> None:
    store = copy.deepcopy(STORE)
    store["pubkey"] = ""
    params = store["crypto"]["kdf"]["params"]
    dk = derive_key("scrypt", params, b"validator pass", path="p")
    iv = bytes.fromhex(store["crypto"]["cipher"]["params"]["iv"])
    ciphertext = aes_128_ctr(dk[:16], iv, b"\xff" * 32)

    store["crypto"]["cipher"]["message"] = ciphertext.hex()
    store["crypto"]["checksum"]["message"] = hashlib.sha256(dk[16:32] + ciphertext).hexdigest()
    with pytest.raises(KeystoreError, match="no valid BLS secret key"):
        decrypt_bls_key(store, "validator pass")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_random_text_raises_only_keystore_error(text: str) -> None:
    with pytest.raises(KeystoreError):
        decrypt_bls_key(text, "pw")


def test_file_name_save_and_load(tmp_path: Path) -> None:
    assert bls_key_filename(KEY.public_key) == KEY.public_key.hex() + ".key"
    path = save_bls_keystore(tmp_path, STORE)
    assert path.name == bls_key_filename(KEY.public_key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert decrypt_bls_key(load_bls_keystore(path), "validator pass") == KEY
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with pytest.raises(KeystoreError):
        save_bls_keystore(tmp_path, {"pubkey": "00"})
    with pytest.raises(KeystoreError):
        save_bls_keystore(tmp_path, {})
    with pytest.raises(KeystoreError):
        load_bls_keystore(tmp_path / "missing.key")
