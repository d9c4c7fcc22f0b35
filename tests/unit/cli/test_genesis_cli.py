"""``harmony genesis new | check``: a written genesis checks clean and gives the node's genesis hashes;
bad files and arguments get a message naming the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmony.chain.genesis import load_genesis
from harmony.cli.main import main
from harmony.node.blockchain import Blockchain
from harmony.storage import ChainDB, MemoryStore


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_new_then_check_matches_the_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "genesis.json"
    code, out, _ = run(
        ["genesis", "new", "--out", str(path), "--accounts", "3", "--timestamp", "1000"], capsys
    )
    assert code == 0 and out.count("one1") >= 3
    code, checked, _ = run(["genesis", "check", str(path)], capsys)
    assert code == 0
    chain = Blockchain.open(ChainDB(MemoryStore()), load_genesis(path), 1)
    assert f"genesis block 0x{chain.head.hash().hex()}" in checked


def test_new_writes_the_development_preset_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "genesis.json"
    code, out, _ = run(["genesis", "new", "--out", str(path), "--network", "localnet32"], capsys)
    assert code == 0 and "network localnet32" in out and "16 committee keys" in out
    assert load_genesis(path).params.seats_per_shard == 32
    with pytest.raises(SystemExit):  # argparse: not a development preset
        main(["genesis", "new", "--out", str(tmp_path / "m.json"), "--network", "mainnet"])
    assert "invalid choice" in capsys.readouterr().err


def test_new_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "genesis.json"
    path.write_text("{}")
    code, _, err = run(["genesis", "new", "--out", str(path)], capsys)
    assert code == 1 and "--force" in err
    assert run(["genesis", "new", "--out", str(path), "--force"], capsys)[0] == 0


@pytest.mark.parametrize(
    ("doc", "named"),
    [
        ({"network": "nope", "timestamp": 1, "shards": []}, "network"),
        ({"network": "localnet", "timestamp": -1, "shards": []}, "timestamp"),
        ({"network": "localnet", "timestamp": 1, "shards": [], "surprise": 1}, "surprise"),
        (
            {
                "network": "localnet",
                "timestamp": 1,
                "shards": [
                    {"shard_id": 0, "alloc": {"one1notanaddress": "1 ONE"}, "committee": []},
                    {"shard_id": 1, "committee": []},
                ],
            },
            "alloc",
        ),
    ],
)
def test_check_names_the_bad_field(
    doc: dict[str, object], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(["genesis", "check", str(path)], capsys)
    assert code == 1 and err.startswith("error:") and named in err


def test_check_garbage_and_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\x00{")
    assert run(["genesis", "check", str(garbage)], capsys)[0] == 1
    code, _, err = run(["genesis", "check", str(tmp_path / "missing.json")], capsys)
    assert code == 1 and "no such file" in err
    code, _, err = run(["genesis", "new", "--out", str(tmp_path / "x.json"), "--accounts", "0"], capsys)
    assert code == 1 and "--accounts" in err
