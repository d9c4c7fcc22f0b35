"""The ``harmony`` command line: address conversion, key creation and inspection, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harmony.cli.main import main

ADDRESS_HEX = "0xA5241513DA9F4463F1d4874b548dFBAC29D91f34"
ADDRESS_ONE = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    path = tmp_path / "pass.txt"
    path.write_text("correct horse\n")
    return path


def test_address_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["address", ADDRESS_ONE, ADDRESS_HEX.lower()], capsys)
    assert code == 0
    assert out.splitlines() == [f"{ADDRESS_ONE}  {ADDRESS_HEX}"] * 2


@pytest.mark.parametrize("bad", ["xyz", "one1xxxx", "0x1234", ADDRESS_ONE[:-1] + "q", "0x" + "g" * 40])
def test_address_rejects(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["address", bad], capsys)
    assert code == 1
    assert "is not an address" in err


def test_account_key_round_trip(tmp_path: Path, passfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "0x" + "11" * 32
    code, out, _ = run(
        [
            "keys",
            "new",
            "--dir",
            str(tmp_path / "ks"),
            "--passphrase-file",
            str(passfile),
            "--private-key",
            secret,
        ],
        capsys,
    )
    assert code == 0
    keystore = Path(out.splitlines()[1].split()[1])
    assert keystore.exists()
    assert (keystore.stat().st_mode & 0o777) == 0o600
    code, shown, _ = run(
        ["keys", "show", str(keystore), "--passphrase-file", str(passfile), "--show-secret"], capsys
    )
    assert code == 0
    assert shown.splitlines()[0] == out.splitlines()[0]
    assert shown.splitlines()[1].split()[1] == "11" * 32
    code, listed, _ = run(["keys", "list", "--dir", str(tmp_path / "ks")], capsys)
    assert code == 0 and str(keystore) in listed


def test_bls_key_round_trip(tmp_path: Path, passfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["keys", "new-bls", "--dir", str(tmp_path), "--passphrase-file", str(passfile)], capsys
    )
    assert code == 0
    pubkey = out.splitlines()[0].split()[-1]
    path = tmp_path / f"{pubkey}.key"
    assert path.exists()
    code, shown, _ = run(["keys", "show", str(path), "--passphrase-file", str(passfile)], capsys)
    assert code == 0 and pubkey in shown


def test_wrong_passphrase_and_bad_files(
    tmp_path: Path, passfile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["keys", "new", "--dir", str(tmp_path), "--passphrase-file", str(passfile)], capsys)
    keystore = next(tmp_path.glob("UTC--*"))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("battery staple\n")
    code, _, err = run(["keys", "show", str(keystore), "--passphrase-file", str(wrong)], capsys)
    assert code == 1 and "passphrase" in err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    code, _, err = run(["keys", "show", str(garbage), "--passphrase-file", str(passfile)], capsys)
    assert code == 1 and err.startswith("error:")
    code, _, err = run(
        ["keys", "show", str(tmp_path / "missing"), "--passphrase-file", str(passfile)], capsys
    )
    assert code == 1 and err.startswith("error:")
    code, _, err = run(
        ["keys", "new", "--dir", str(tmp_path), "--passphrase-file", str(tmp_path / "nope")], capsys
    )
    assert code == 1 and "--passphrase-file" in err
    code, _, err = run(
        ["keys", "new", "--dir", str(tmp_path), "--passphrase-file", str(passfile), "--private-key", "0x00"],
        capsys,
    )
    assert code == 1 and "private key" in err
    code, _, err = run(
        ["keys", "new-bls", "--dir", str(tmp_path), "--passphrase-file", str(passfile), "--secret-key", "zz"],
        capsys,
    )
    assert code == 1 and err.startswith("error:")


def test_console_script_in_a_real_process(tmp_path: Path) -> None:
    """The installed ``harmony`` script runs, answers --help, refuses to prompt without a terminal."""
    exe = Path(sys.executable).with_name("harmony")
    env = {**os.environ, "PYTHONPATH": ""}
    helped = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env, check=False)
    assert helped.returncode == 0 and "keys" in helped.stdout and "devnet" in helped.stdout
    no_tty = subprocess.run(
        [exe, "keys", "new", "--dir", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert no_tty.returncode == 1 and "--passphrase-file" in no_tty.stderr
    devnet = subprocess.run(
        [exe, "devnet", "--shards", "9"], capture_output=True, text=True, env=env, check=False
    )
    assert devnet.returncode == 1 and "--shards" in devnet.stderr
    usage = subprocess.run([exe, "keys", "frobnicate"], capture_output=True, text=True, env=env, check=False)
    assert usage.returncode == 2


def test_keystore_file_is_json_v3(tmp_path: Path, passfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["keys", "new", "--dir", str(tmp_path), "--passphrase-file", str(passfile)], capsys)
    data = json.loads(next(tmp_path.glob("UTC--*")).read_text())
    assert data["version"] == 3 and data["crypto"]["kdf"] == "scrypt"


def test_devnet_prints_every_nodes_metrics_and_dashboard(capsys: pytest.CaptureFixture[str]) -> None:
    from harmony.cli.devnet import _print_endpoints  # noqa: PLC0415

    nodes = [
        {
            "name": f"s0n{i}",
            "http": f"http://127.0.0.1:{9500 + i}",
            "ws": f"ws://127.0.0.1:{9800 + i}",
            "metrics": f"http://127.0.0.1:{9900 + i}/metrics",
            "dashboard": f"http://127.0.0.1:{9900 + i}/",
        }
        for i in range(2)
    ]
    _print_endpoints({"shards": [{"shard_id": 0, "eth_chain_id": 2, "nodes": nodes}], "funded_accounts": []})
    out = capsys.readouterr().out
    for node in nodes:
        line = next(line for line in out.splitlines() if line.strip().startswith(node["name"] + ":"))
        assert f"metrics {node['metrics']}" in line and f"dashboard {node['dashboard']}" in line
