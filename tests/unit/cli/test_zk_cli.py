"""``harmony zk issue | prove | verify`` (harmony.cli.zk): the offline round trip and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmony.cli.main import main
from harmony.crypto.keccak import keccak256
from harmony.crypto.keystore import encrypt_key, write_private
from tests.unit.cli.test_cli import run

HOLDER = "0x4444444444444444444444444444444444444444"


@pytest.fixture
def issuer(tmp_path: Path) -> list[str]:
    keystore = tmp_path / "issuer.json"
    write_private(keystore, json.dumps(encrypt_key(keccak256(b"bank"), "pw", light=True)))
    (tmp_path / "pw").write_text("pw\n")
    return ["--keystore", str(keystore), "--passphrase-file", str(tmp_path / "pw")]


def test_issue_prove_verify(tmp_path: Path, issuer: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    claim, shown = str(tmp_path / "claim.json"), str(tmp_path / "shown.json")
    code, out, _ = run(
        ["zk", "issue", *issuer, "--holder", HOLDER, "--value", "2_500_000", "--out", claim], capsys
    )
    assert code == 0 and "give it to the holder only" in out
    assert Path(claim).stat().st_mode & 0o077 == 0  # the opening is secret
    code, out, _ = run(["zk", "prove", claim, "--at-least", "1000000", "--out", shown], capsys)
    assert code == 0 and "688-byte proof" in out
    assert "2500000" not in Path(shown).read_text()
    code, out, _ = run(["zk", "verify", shown, "--at-least", "1,000,000"], capsys)
    assert code == 0 and "value ≥ 1000000" in out

    code, _, err = run(["zk", "verify", shown, "--at-least", "2000000"], capsys)
    assert code == 1 and "proves only ≥ 1000000" in err
    code, _, err = run(["zk", "verify", shown, "--issuer", HOLDER], capsys)
    assert code == 1 and "issued by" in err
    code, _, err = run(
        ["zk", "prove", claim, "--at-least", "3000000", "--out", str(tmp_path / "x.json")], capsys
    )
    assert code == 1 and "below 3000000: no proof exists" in err
    code, _, err = run(["zk", "prove", claim, "--at-least", "1000000", "--out", shown], capsys)
    assert code == 1 and "--force" in err

    data = json.loads(Path(shown).read_text())
    data["lower_bound"] = "1000001"
    Path(shown).write_text(json.dumps(data))
    code, _, err = run(["zk", "verify", shown], capsys)
    assert code == 1 and "does not show a value of at least 1000001" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--holder", "0x12", "--value", "5"], "--holder '0x12' is not an address"),
        (["--holder", HOLDER, "--value", "-5"], "give a whole number"),
        (["--holder", HOLDER, "--value", "1e6"], "give a whole number"),
    ],
)
def test_issue_bad_arguments(
    argv: list[str], message: str, issuer: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["zk", "issue", *issuer, *argv, "--out", str(tmp_path / "c.json")], capsys)
    assert code == 1 and message in err


def test_verify_refuses_missing_and_foreign_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["zk", "verify", str(tmp_path / "absent.json")], capsys)
    assert code == 1 and "cannot read it" in err
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 100_000)
    code, _, err = run(["zk", "verify", str(big)], capsys)
    assert code == 1 and "larger than" in err
    code, _, err = run(["zk", "prove", str(big), "--at-least", "1"], capsys)
    assert code == 1 and "larger than" in err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("issue", "prove", "verify"):
        with pytest.raises(SystemExit) as exit_info:
            main(["zk", action, "--help"])
        assert exit_info.value.code == 0
        assert "usage: harmony zk " + action in capsys.readouterr().out
