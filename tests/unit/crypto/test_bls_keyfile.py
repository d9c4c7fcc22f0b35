"""Harmony's own BLS key file (reference §10.3): round trip, a file made by hand as the Go tools make it
(little-endian scalar, named by its public key), and hostile files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from Crypto.Cipher import AES

from harmony.cli.main import main
from harmony.crypto.bls import SecretKey
from harmony.crypto.bls_keyfile import (
    decrypt_harmony_key,
    encrypt_harmony_key,
    read_harmony_key_file,
    write_harmony_key_file,
)
from harmony.crypto.bls_keystore import decrypt_bls_key, encrypt_bls_key, load_bls_keystore, save_bls_keystore
from harmony.errors import KeystoreError

SECRET = SecretKey.from_bytes(bytes(31) + b"\x2a")


def _go_style(secret_bytes: bytes, passphrase: str) -> str:
    """What Harmony's tools write, built from the rule itself: hex(nonce ‖ GCM(hex secret) ‖ tag)."""
    key = hashlib.md5(passphrase.encode()).hexdigest().encode()
    nonce = bytes(range(12))
    ciphertext, tag = AES.new(key, AES.MODE_GCM, nonce=nonce).encrypt_and_digest(secret_bytes.hex().encode())
    return (nonce + ciphertext + tag).hex()


def test_round_trip_and_the_rule(tmp_path: Path) -> None:
    text = encrypt_harmony_key(SECRET, "pw")
    assert decrypt_harmony_key(text, "pw").to_bytes() == SECRET.to_bytes()
    assert decrypt_harmony_key(_go_style(SECRET.to_bytes(), "pw"), "pw").to_bytes() == SECRET.to_bytes()
    path = write_harmony_key_file(tmp_path, SECRET, "pw")
    assert path.name == SECRET.public_key.hex() + ".key" and path.stat().st_mode & 0o777 == 0o600
    assert read_harmony_key_file(path, "pw").to_bytes() == SECRET.to_bytes()


def test_a_little_endian_file_named_by_its_key_is_read(tmp_path: Path) -> None:
    path = tmp_path / f"{SECRET.public_key.hex()}.key"
    path.write_text(_go_style(SECRET.to_bytes()[::-1], "pw"))
    assert read_harmony_key_file(path, "pw").public_key.hex() == SECRET.public_key.hex()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zz", "not hex"),
        ("00" * 20, "too short"),
        (encrypt_harmony_key(SECRET, "other"), "wrong passphrase"),
        (_go_style(b"\xff" * 32, "pw"), "not a valid scalar"),
    ],
)
def test_bad_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(KeystoreError, match=message):
        decrypt_harmony_key(text, "pw")


def test_a_name_that_is_not_its_key_and_oversized_files_are_refused(tmp_path: Path) -> None:
    other = SecretKey.from_bytes(bytes(31) + b"\x07")
    wrong = tmp_path / f"{other.public_key.hex()}.key"
    wrong.write_text(encrypt_harmony_key(SECRET, "pw"))
    with pytest.raises(KeystoreError, match="does not give the public key"):
        read_harmony_key_file(wrong, "pw")
    big = tmp_path / "big.key"
    big.write_text("00" * 4096)
    with pytest.raises(KeystoreError, match="larger than"):
        read_harmony_key_file(big, "pw")
    with pytest.raises(KeystoreError, match="cannot read"):
        read_harmony_key_file(tmp_path / "missing.key", "pw")


def test_cli_exports_and_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.txt").write_text("old\n")
    (tmp_path / "new.txt").write_text("new\n")
    (tmp_path / "ks").mkdir()
    keystore = save_bls_keystore(tmp_path / "ks", encrypt_bls_key(SECRET, "old", light=True))
    out = tmp_path / "export"
    args = ["keys", "export-bls", str(keystore), "--out", str(out)]
    pw = ["--passphrase-file", str(tmp_path / "old.txt"), "--new-passphrase-file", str(tmp_path / "new.txt")]
    assert main([*args, *pw]) == 0
    exported = out / f"{SECRET.public_key.hex()}.key"
    assert read_harmony_key_file(exported, "new").to_bytes() == SECRET.to_bytes()
    assert main([*args, *pw]) == 1  # never overwrites
    assert "exists" in capsys.readouterr().err
    imported = tmp_path / "imported"
    back = ["keys", "import-bls", str(exported), "--dir", str(imported)]
    pw2 = ["--passphrase-file", str(tmp_path / "new.txt"), "--new-passphrase-file", str(tmp_path / "old.txt")]
    assert main([*back, *pw2]) == 0
    restored = decrypt_bls_key(load_bls_keystore(imported / exported.name), "old")
    assert restored.to_bytes() == SECRET.to_bytes()
    assert main(["keys", "import-bls", str(exported), "--dir", str(tmp_path / "x"), *pw]) == 1
    assert "wrong passphrase" in capsys.readouterr().err
