"""``harmony testnet``: help on every action, bad arguments and manifests refused with the field named,
``generate`` deterministic, and without namespaces one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.cli import testnet as testnet_cli
from harmony.cli.main import main
from harmony.testnet.fleet import TestnetError
from harmony.testnet.manifest import parse_manifest
from harmony.testnet.runner import clear_run_folder


@pytest.mark.parametrize("action", ["run", "up", "down", "generate"])
def test_every_action_has_help(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["testnet", action, "--help"])
    assert exit_.value.code == 0
    assert "usage: harmony testnet " + action in capsys.readouterr().out


def test_generate_writes_the_same_manifest_for_the_same_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["testnet", "generate", "--seed", "5"]) == 0
    first = capsys.readouterr().out
    assert main(["testnet", "generate", "--seed", "5", "--out", str(tmp_path / "m.toml")]) == 0
    assert (tmp_path / "m.toml").read_text() == first
    assert main(["testnet", "generate", "--seed", "-1"]) == 1
    assert main(["testnet", "generate", "--seed", "1", "--perturbations", "9", "--duration", "60"]) == 1
    assert "--perturbations" in capsys.readouterr().err


def test_a_bad_manifest_or_prefix_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("shards = 1\nvalidators = 4\n[load]\ntx_per_s = -3\n")
    assert main(["testnet", "run", str(bad), "--loopback"]) == 1
    assert "load.tx_per_s" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text("shards = 1\nvalidators = 4\n")
    assert main(["testnet", "run", str(good), "--prefix", "Bad-Prefix"]) == 1
    assert "--prefix" in capsys.readouterr().err
    assert main(["testnet", "run", str(good), "--build", str(tmp_path)]) == 1
    assert "--build" in capsys.readouterr().err
    cut = tmp_path / "cut.toml"
    cut.write_text(
        "shards = 1\nvalidators = 4\n[[perturbation]]\nkind='disconnect'\nat_s=5\nnodes=['s0v1']\n"
    )
    assert main(["testnet", "run", str(cut), "--loopback"]) == 1
    assert "needs network namespaces" in capsys.readouterr().err
    assert main(["testnet", "run", str(tmp_path / "missing.toml")]) == 1


def test_without_namespaces_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(testnet_cli, "_no_namespaces", lambda: "network namespaces need root (run as root)")
    good = tmp_path / "good.toml"
    good.write_text("shards = 1\nvalidators = 4\n")
    for argv in (["run", str(good)], ["up", str(good)], ["down"]):
        assert main(["testnet", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "need root" in err


def test_a_run_folder_is_cleared_of_an_earlier_run_and_nothing_else(tmp_path: Path) -> None:
    manifest = parse_manifest("shards = 1\nvalidators = 4\n")
    earlier = tmp_path / "earlier"
    (earlier / "s0v0" / "chain").mkdir(parents=True)
    (earlier / "old9").mkdir()
    (earlier / "old9" / "node.toml").write_text("")
    (earlier / "genesis.json").write_text("{}")
    (earlier / "notes.txt").write_text("mine")
    clear_run_folder(earlier, manifest)
    assert sorted(p.name for p in earlier.iterdir()) == ["notes.txt"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(TestnetError, match="holds no earlier testnet run"):
        clear_run_folder(other, manifest)
    assert (other / "thesis.tex").exists()
    clear_run_folder(tmp_path / "new", manifest)  # nothing there: nothing to do
