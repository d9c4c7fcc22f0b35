"""Web3 Secret Storage v3 keystores (harmony.crypto.keystore): round trips, bounds, malformed files."""

from __future__ import annotations

import contextlib
import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.crypto.keystore import (
    LIGHT_SCRYPT_N,
    aes_128_ctr,
    decrypt_key,
    derive_key,
    encrypt_key,
    load_keystore,
    save_keystore,
)
from harmony.crypto.secp256k1 import PrivateKey
from harmony.errors import KeystoreError

SECRET = bytes.fromhex("7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d")
STORE = encrypt_key(SECRET, "correct horse", light=True)


def _pbkdf2_store(secret: bytes, passphrase: str, c: int = 1000) -> dict[str, Any]:
    params = {"c": c, "dklen": 32, "prf": "hmac-sha256", "salt": "00" * 16}
    dk = derive_key("pbkdf2", params, passphrase.encode(), path="crypto.kdfparams")
    iv = bytes(range(16))
    ciphertext = aes_128_ctr(dk[:16], iv, secret)
    return {
        "version": 3,
        "id": "x",
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "pbkdf2",
            "kdfparams": params,
            "mac": keccak256(dk[16:32] + ciphertext).hex(),
        },
    }


def test_round_trip() -> None:
    assert decrypt_key(STORE, "correct horse") == SECRET
    assert decrypt_key(json.dumps(STORE), "correct horse") == SECRET
    assert decrypt_key(json.dumps(STORE).encode(), "correct horse") == SECRET
    assert STORE["version"] == 3 and STORE["crypto"]["kdf"] == "scrypt"
    assert STORE["crypto"]["kdfparams"]["n"] == LIGHT_SCRYPT_N
    assert STORE["address"] == PrivateKey(SECRET).address.hex()
    assert encrypt_key(SECRET, "p", light=True)["crypto"]["ciphertext"] != STORE["crypto"]["ciphertext"]


def test_default_parameters_are_geth_standard() -> None:
    store = encrypt_key(b"\x01" * 32, "pw", n=1 << 10)
    assert store["crypto"]["kdfparams"]["n"] == 1 << 10
    assert store["crypto"]["kdfparams"]["r"] == 8 and store["crypto"]["kdfparams"]["p"] == 1
    assert "address" not in encrypt_key(b"\x00" * 32, "pw", light=True)  # not a valid account key
    assert encrypt_key(b"\x05" * 16, "pw", light=True, address=b"\xaa" * 20)["address"] == "aa" * 20


def test_unicode_passphrase_and_pbkdf2() -> None:
    store = _pbkdf2_store(SECRET, "pässwörd 🔑")
    assert decrypt_key(store, "pässwörd 🔑") == SECRET
    store["Crypto"] = store.pop("crypto")  # MyEtherWallet spells it with a capital C
    assert decrypt_key(store, "pässwörd 🔑") == SECRET


def test_wrong_passphrase() -> None:
    with pytest.raises(KeystoreError, match="MAC mismatch: wrong passphrase"):
        decrypt_key(STORE, "wrong")


def test_encrypt_bounds() -> None:
    with pytest.raises(KeystoreError):
        encrypt_key(b"", "pw", light=True)
    with pytest.raises(KeystoreError):
        encrypt_key(b"\x01" * 32, "pw", n=1 << 21)


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


_DELETE = object()

BAD_FIELDS: list[tuple[str, object, str]] = [
    ("version", 4, "version"),
    ("version", "3", "version"),
    ("version", True, "version"),
    ("version", _DELETE, "version"),
    ("crypto", _DELETE, "crypto"),
    ("crypto", [], "crypto"),
    ("crypto.cipher", "aes-128-cbc", "crypto.cipher"),
    ("crypto.cipher", _DELETE, "crypto.cipher"),
    ("crypto.cipherparams", _DELETE, "crypto.cipherparams"),
    ("crypto.cipherparams", "00", "crypto.cipherparams"),
    ("crypto.cipherparams.iv", "00" * 15, "crypto.cipherparams.iv"),
    ("crypto.cipherparams.iv", "zz" * 16, "crypto.cipherparams.iv"),
    ("crypto.cipherparams.iv", 5, "crypto.cipherparams.iv"),
    ("crypto.ciphertext", "", "crypto.ciphertext"),
    ("crypto.ciphertext", "abc", "crypto.ciphertext"),
    ("crypto.ciphertext", "00" * 5000, "crypto.ciphertext"),
    ("crypto.mac", "00" * 31, "crypto.mac"),
    ("crypto.mac", None, "crypto.mac"),
    ("crypto.kdf", "argon2", "argon2"),
    ("crypto.kdf", 7, "crypto.kdf"),
    ("crypto.kdfparams", _DELETE, "crypto.kdfparams"),
    ("crypto.kdfparams", [1, 2], "crypto.kdfparams"),
    ("crypto.kdfparams.n", 1 << 21, "crypto.kdfparams.n"),
    ("crypto.kdfparams.n", 1000, "crypto.kdfparams.n"),
    ("crypto.kdfparams.n", 1, "crypto.kdfparams.n"),
    ("crypto.kdfparams.n", 4096.0, "crypto.kdfparams.n"),
    ("crypto.kdfparams.n", "4096", "crypto.kdfparams.n"),
    ("crypto.kdfparams.r", 0, "crypto.kdfparams.r"),
    ("crypto.kdfparams.r", 1 << 20, "crypto.kdfparams.r"),
    ("crypto.kdfparams.p", 1000, "crypto.kdfparams"),  # n·r·p over the work bound
    ("crypto.kdfparams.p", -1, "crypto.kdfparams.p"),
    ("crypto.kdfparams.dklen", 16, "crypto.kdfparams.dklen"),
    ("crypto.kdfparams.dklen", 1 << 40, "crypto.kdfparams.dklen"),
    ("crypto.kdfparams.salt", "", "crypto.kdfparams.salt"),
    ("crypto.kdfparams.salt", "00" * 2000, "crypto.kdfparams.salt"),
    ("crypto.kdfparams.salt", _DELETE, "crypto.kdfparams.salt"),
]


@pytest.mark.parametrize(
    ("path", "value", "named"),
    BAD_FIELDS,
    ids=[f"{p}={'<deleted>' if v is _DELETE else repr(v)}"[:60] for p, v, _ in BAD_FIELDS],
)
def test_malformed_fields_name_the_field(path: str, value: object, named: str) -> None:
    with pytest.raises(KeystoreError, match=named.replace(".", r"\.")):
        decrypt_key(_mutate(path, value), "correct horse")


def test_scrypt_memory_bound() -> None:
    store = _mutate("crypto.kdfparams.n", 1 << 20)
    store["crypto"]["kdfparams"]["r"] = 8  # 1 GiB: refused before any work
    with pytest.raises(KeystoreError, match="memory"):
        decrypt_key(store, "correct horse")


def test_pbkdf2_bounds() -> None:
    store = _pbkdf2_store(SECRET, "pw")
    store["crypto"]["kdfparams"]["c"] = 1 << 30
    with pytest.raises(KeystoreError, match=r"crypto\.kdfparams\.c"):
        decrypt_key(store, "pw")
    store["crypto"]["kdfparams"]["c"] = 1000
    store["crypto"]["kdfparams"]["prf"] = "hmac-sha512"
    with pytest.raises(KeystoreError, match=r"crypto\.kdfparams\.prf"):
        decrypt_key(store, "pw")


@pytest.mark.parametrize(
    "text",
    ["", "{", "[]", "null", "3", '"x"', '{"version": 3}', "[" * 100_000, "{}" + " " * 70_000, "\xff"],
    ids=[
        "empty",
        "truncated",
        "list",
        "null",
        "number",
        "string",
        "no-crypto",
        "deep",
        "too-large",
        "binary",
    ],
)
def test_bad_json(text: str) -> None:
    with pytest.raises(KeystoreError):
        decrypt_key(text, "pw")
    with pytest.raises(KeystoreError):
        decrypt_key(text.encode("utf-8", "surrogatepass")[:70_000], "pw")


def test_non_object_keystore() -> None:
    with pytest.raises(KeystoreError):
        decrypt_key(42, "pw")  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_random_text_raises_only_keystore_error(text: str) -> None:
    with pytest.raises(KeystoreError):
        decrypt_key(text, "pw")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 64)
    | st.text(max_size=8)
    | st.sampled_from(["00" * 16, "ab"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([p for p, _, _ in BAD_FIELDS]), json_values)
def test_random_field_values_raise_only_keystore_error(path: str, value: object) -> None:
    with contextlib.suppress(KeystoreError):
        decrypt_key(_mutate(path, value), "correct horse")


def test_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "UTC--key.json"
    save_keystore(path, STORE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keystore(path) == STORE
    assert decrypt_key(load_keystore(path), "correct horse") == SECRET
    save_keystore(path, STORE)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["UTC--key.json"]  # no temporary file left


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError):
        load_keystore(tmp_path / "missing.json")
    big = tmp_path / "big.json"
    big.write_text("{" + " " * 70_000 + "}")
    with pytest.raises(KeystoreError):
        load_keystore(big)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x00\xff")
    with pytest.raises(KeystoreError):
        load_keystore(bad)
    with pytest.raises(KeystoreError):
        save_keystore(tmp_path / "no" / "such" / "dir.json", STORE)
