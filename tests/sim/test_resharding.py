"""The resharding simulator (design §7) and ``harmony sim resharding``."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.cli.main import main
from harmony.sim import resharding
from harmony.sim.resharding import QUICK, RULES, NetworkSize, ReshardingOptions, run_resharding, run_trial


@pytest.fixture(scope="module")
def quick_results() -> list[resharding.RuleResult]:
    return run_resharding(QUICK)


def test_quick_run_has_every_rule_for_every_size(quick_results: list[resharding.RuleResult]) -> None:
    assert [(r.size, r.rule) for r in quick_results] == [(s, rule) for s in QUICK.sizes for rule in RULES]
    for result in quick_results:
        assert len(result.series) == QUICK.epochs
        assert 0.0 <= result.max_share <= 1.0
        assert 0.0 <= result.p_epoch <= result.p_trial <= 1.0
    table = resharding.format_table(quick_results)
    assert table.count("\n") == 1 + len(quick_results)
    for rule in RULES:
        assert f"| {rule} |" in table


def test_key_mod_lets_the_adversary_concentrate_more_than_cuckoo(
    quick_results: list[resharding.RuleResult],
) -> None:
    by = {(r.size, r.rule): r for r in quick_results}
    for size in QUICK.sizes:
        assert by[size, "key-mod"].max_share > by[size, "cuckoo"].max_share
        assert by[size, "key-mod"].p_epoch == 1.0  # grinding keys into one shard always works


def test_small_adversary_cuckoo_stays_below_a_third_key_mod_does_not() -> None:
    options = ReshardingOptions(sizes=(NetworkSize(4, 250),), epochs=10, trials=(4,), fraction=0.15)
    results = {r.rule: r for r in run_resharding(options)}
    assert results["cuckoo"].p_trial == 0.0
    assert results["key-mod"].p_epoch == 1.0
    assert results["key-mod"].max_share > results["random"].max_share > results["cuckoo"].max_share


def test_deterministic_given_the_seed() -> None:
    size = NetworkSize(5, 40)
    options = ReshardingOptions(sizes=(size,), epochs=6, trials=(1,))
    assert run_trial("cuckoo", size, options, 0) == run_trial("cuckoo", size, options, 0)
    other = ReshardingOptions(sizes=(size,), epochs=6, trials=(1,), seed=1)
    assert run_trial("cuckoo", size, options, 0) != run_trial("cuckoo", size, other, 0)


def test_options_validated() -> None:
    with pytest.raises(ValueError):
        ReshardingOptions(trials=(1,))
    with pytest.raises(ValueError):
        ReshardingOptions(fraction=1.5)


def test_cli_quick_writes_table_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "resharding", "--quick", "--epochs", "4", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "| network | rule |" in captured.out
    assert "cuckoo: trial 1/" in captured.err  # progress
    markdown = (tmp_path / "resharding.md").read_text()
    for rule in RULES:
        assert f"| {rule} |" in markdown
    csv_lines = (tmp_path / "resharding.csv").read_text().splitlines()
    assert csv_lines[0].startswith("network,rule,")
    assert len(csv_lines) == 1 + len(RULES) * len(QUICK.sizes)
    png = (tmp_path / "resharding.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_cli_rejects_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "resharding", "--quick", "--fraction", "1.2"]) != 0
    assert main(["sim", "resharding", "--quick", "--move-fraction", "abc"]) != 0
    capsys.readouterr()


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sim", "resharding", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--epochs", "--trials", "--fraction", "--seed", "--out", "--quick"):
        assert flag in out


# -- the fenced scenario (issue 21) ------------------------------------------------------------------------


def test_a_fenced_shard_is_as_safe_as_its_attested_pool() -> None:
    options = ReshardingOptions(sizes=(NetworkSize(4, 100), NetworkSize(12, 60)), epochs=6, trials=(2, 2))
    safe = resharding.run_fenced(options, resharding.FencedScenario(shards=1, adversary_share=0.2))
    assert [(r.size, r.rule) for r in safe] == [
        (NetworkSize(1, 100), "cuckoo-fenced"),
        (NetworkSize(1, 60), "cuckoo-fenced"),
    ]
    assert all(r.p_trial == 0.0 and r.max_share == pytest.approx(0.2) for r in safe)
    # the same network-wide adversary, but 40 % of the attested pool: the fenced shard falls
    captured = resharding.run_fenced(options, resharding.FencedScenario(shards=1, adversary_share=0.4))
    assert all(r.p_epoch == 1.0 for r in captured)
    # surplus attested validators it outbids: 0.25 of the pool with 50 % surplus is 0.375 of the seats
    outbid = resharding.FencedScenario(shards=3, adversary_share=0.25, surplus=0.5)
    assert outbid.group_fraction == pytest.approx(0.375)
    assert all(r.p_epoch == 1.0 and r.size.shards == 3 for r in resharding.run_fenced(options, outbid))
    everything = resharding.FencedScenario(shards=2, adversary_share=0.9, surplus=1.0)
    assert all(r.max_share == 1.0 for r in resharding.run_fenced(options, everything))
    with pytest.raises(ValueError):
        resharding.FencedScenario(shards=0)


def test_cli_fenced_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "sim",
        "resharding",
        "--quick",
        "--epochs",
        "3",
        "--fenced-shards",
        "2",
        "--attested-share",
        "0.3",
    ]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("| cuckoo-fenced |") == len(QUICK.sizes)
    assert "0.3 of the attested pool" in (tmp_path / "resharding.md").read_text()
    for bad in (["--fenced-shards", "0"], ["--fenced-shards", "1", "--attested-share", "1.5"]):
        assert main(["sim", "resharding", "--quick", *bad]) != 0
        assert "error: --" in capsys.readouterr().err
