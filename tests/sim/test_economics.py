"""The token-economics simulation (issue 19): issuance, the median rule's APR, conservation, bad input."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmony.chain.params import LOCALNET, ONE
from harmony.chain.staking import records
from harmony.chain.staking.records import get_validator_wrapper
from harmony.chain.staking.supply import counted_supply
from harmony.cli.main import main
from harmony.cli.sim import _workers
from harmony.crypto.bitmap import encode_bitmap
from harmony.encoding.fixed import Dec
from harmony.sim.economics import (
    Economy,
    load_validators,
    new_validator,
    registered_wrappers,
    replay_epoch,
    run_scenario,
)
from harmony.sim.economics_model import (
    HARMONY_HISTORY,
    STEPS_PER_YEAR,
    Era,
    Scenario,
    ScenarioError,
    check_scenario,
    load_scenario_file,
    scenario_presets,
)
from harmony.sim.economics_report import era_issuance, format_table, write_report, yearly
from harmony.sim.sweeps import SweepError, run_all
from harmony.state.statedb import StateDB
from harmony.storage.memory import MemoryStore
from harmony.types.header import Header
from harmony.types.shard_state import Committee, Slot
from harmony.types.validator import Delegation

HARMONY_YEARLY = 441_504_000 * ONE
"""7 ONE × 4 shards × 15,768,000 two-second blocks a 365-day year."""
DUST = 10**12
"""Rounding a year may lose or add, well under a millionth of a ONE: each due is truncated, and the shares
``power / signers' power`` are rounded 18-decimal quotients whose sum may exceed 1 by a few units (the
chain's rule, as Go's; a 2-shard year pays about 10^9 atto over)."""


def small(name: str, **changes: object) -> Scenario:
    base = replace(scenario_presets()[name], years=1, validators=24)
    return check_scenario(replace(base, **changes))  # type: ignore[arg-type]


def test_every_era_of_harmonys_schedule_issues_441_5_million_a_year() -> None:
    for era in HARMONY_HISTORY:
        assert era.yearly_issuance() == HARMONY_YEARLY, era.name
    history = small("harmony-history", years=4)
    result = run_scenario(history)
    eras = era_issuance(result)
    assert [e.era for e in eras] == [e.name for e in HARMONY_HISTORY]
    for era in eras:
        per_year = era.minted * STEPS_PER_YEAR // era.steps
        assert abs(per_year - HARMONY_YEARLY) <= DUST, era


def test_the_median_rule_gives_15_percent_at_the_apr_15_staking_ratio() -> None:
    result = run_scenario(small("apr-15"))
    first = yearly(result)[0]
    assert 0.145 <= first.apr_all <= 0.155
    # Validators clamped up (below the median band) earn more per staked ONE than those clamped down.
    assert first.apr_below > first.apr_at > first.apr_above
    # Delegators earn the validators' rate less commission.
    assert first.apr_delegators < first.apr_all


def test_supply_is_conserved_and_every_balance_non_negative() -> None:
    scenario = small("stress", double_sign_per_year=Dec.one(), fee_per_block=ONE)
    economy = Economy(scenario)
    minted = burned = 0
    for index in range(scenario.steps):
        figures = economy.step(index)
        minted += figures.minted
        burned += figures.fees_burned + figures.slashed_burned
    breakdown = counted_supply(economy.state, economy.population.accounts())
    assert breakdown.total == economy.supply == scenario.genesis_supply + minted - burned
    assert burned > 0
    assert figures.banned > 0
    for account in economy.population.accounts():
        assert economy.state.get_balance(account) >= 0


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ratio=st.integers(min_value=10, max_value=90),
    target=st.integers(min_value=0, max_value=100),
    flaky=st.integers(min_value=0, max_value=100),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_no_figure_is_ever_negative(ratio: int, target: int, flaky: int, seed: int) -> None:
    scenario = small(
        "mainnet",
        validators=12,
        initial_staking_ratio=Dec.from_int(ratio).quo_int(100),
        target_staking_ratio=Dec.from_int(target).quo_int(100),
        flaky_share=Dec.from_int(flaky).quo_int(100),
        seed=seed,
    )
    result = run_scenario(scenario)
    assert len(result.steps) == STEPS_PER_YEAR
    for step in result.steps:
        assert min(step.supply, step.minted, step.staked, step.fees_burned, step.slashed_burned) >= 0
        for apr in (step.apr_above, step.apr_at, step.apr_below, step.apr_delegators, step.apr_all):
            assert not apr.is_negative()
    assert "nan" not in format_table([result]).lower()


def test_same_seed_same_run() -> None:
    a = run_scenario(small("stress"))
    b = run_scenario(small("stress"))
    assert a.steps == b.steps


def test_the_decoded_record_cache_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    cached = [run_scenario(small(name)) for name in ("mainnet", "stress")]
    monkeypatch.setattr(records, "_decoded", records._DecodedRecords(0))  # keeps nothing: decodes every read
    uncached = [run_scenario(small(name)) for name in ("mainnet", "stress")]
    assert [r.steps for r in cached] == [r.steps for r in uncached]
    assert records._decoded.records == {}


def test_quick_runs_in_this_process_unless_workers_are_given() -> None:
    assert _workers(argparse.Namespace(workers=None, quick=True)) == 0
    assert _workers(argparse.Namespace(workers=None, quick=False)) == 2
    assert _workers(argparse.Namespace(workers=3, quick=True)) == 3


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"genesis_supply": -1}, "genesis_supply"),
        ({"target_staking_ratio": Dec.from_str("1.5")}, "target_staking_ratio"),
        ({"initial_staking_ratio": Dec.from_str("-0.1")}, "initial_staking_ratio"),
        ({"years": 0}, "years"),
        ({"validators": 0}, "validators"),
        ({"fee_per_block": -5}, "fee_per_block"),
        ({"commission_low": Dec.from_str("0.01")}, "commission_low"),
        ({"preset": "nope"}, "preset"),
        ({"eras": (Era("x", 1, ONE, 0, 2000),)}, "eras[0].shards"),
        ({"eras": (Era("x", 1, -ONE, 4, 2000),)}, "eras[0].reward"),
        ({"eras": (Era("x", 1, ONE, 4, 7),)}, "eras[0].block_time_ms"),
    ],
)
def test_out_of_range_parameters_are_named(changes: dict[str, object], parameter: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        check_scenario(replace(scenario_presets()["mainnet"], **changes))  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_scenario_files(tmp_path: Path) -> None:
    good = tmp_path / "mine.json"
    good.write_text(json.dumps({"base": "apr-15", "target_staking_ratio": "0.4", "years": 2}))
    scenario = load_scenario_file(good)
    assert (scenario.name, scenario.years, scenario.target_staking_ratio) == ("mine", 2, Dec.from_str("0.4"))
    for content, parameter in [
        ("[1, 2]", "scenario_file"),
        ("{not json", "scenario_file"),
        (json.dumps({"flow_speed": "2"}), "flow_speed"),
        (json.dumps({"bogus": "1"}), "bogus"),
        (json.dumps({"base": "nope"}), "base"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(ScenarioError) as caught:
            load_scenario_file(bad)
        assert caught.value.parameter == parameter
    with pytest.raises(ScenarioError, match="scenario_file"):
        load_scenario_file(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "genesis_supply=-10"], "genesis_supply"),
        (["--set", "target_staking_ratio=1.2"], "target_staking_ratio"),
        (["--scenario-file", "/nonexistent/x.json"], "scenario_file"),
        (["--scenario", "nope"], "--scenario"),
        (["--sweep", "flow_speed"], "--sweep"),
        (["--sweep", "flow_speed=0.1,abc"], "flow_speed"),
        (["--set", "years"], "--set"),
        (["--workers", "-1"], "--workers"),
    ],
)
def test_cli_bad_input_one_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "economics", "--quick", "--workers", "0", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cli_quick_writes_table_csv_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "sim",
            "economics",
            "--quick",
            "--workers",
            "0",
            "--scenario",
            "apr-15",
            "--sweep",
            "target_staking_ratio=0.2,0.4",
            "--set",
            "validators=12",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "| apr-15 target_staking_ratio=0.2 | 1 |" in out
    assert "| apr-15 target_staking_ratio=0.4 | 1 |" in out
    assert "441,504,000" in out
    for name in ("economics.md", "economics.csv", "economics.png"):
        assert (tmp_path / name).stat().st_size > 0
    rows = (tmp_path / "economics.csv").read_text().splitlines()
    assert len(rows) == 3


def test_dask_runs_the_same_results_as_in_process() -> None:
    scenarios = [small("mainnet", validators=8), small("stress", validators=8)]
    local = run_all(run_scenario, scenarios, workers=0, show_progress=False)
    on_dask = run_all(run_scenario, scenarios, workers=2, show_progress=False)
    assert [r.steps for r in on_dask] == [r.steps for r in local]


def test_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler"):
        run_all(len, ["a"], scheduler="tcp://127.0.0.1:1", show_progress=False)


def test_report_files(tmp_path: Path) -> None:
    result = run_scenario(small("mainnet", validators=8))
    paths = write_report([result], tmp_path)
    assert [p.name for p in paths] == ["economics.md", "economics.csv", "economics.png"]
    assert "| mainnet | 1 |" in (tmp_path / "economics.md").read_text()


def test_replaying_a_recorded_epoch_pays_each_block_as_the_beacon_chain_does() -> None:
    """The exact mode behind the devnet validation: records loaded into a fresh state, then each header's
    parent commit paid by the chain's per-block function (here: every seat signed, twice)."""

    owner, delegator = b"\x01" * 20, b"\x02" * 20
    wrapper = new_validator(
        owner,
        [b"\x03" * 48],
        Dec.from_str("0.1"),
        10_000 * ONE,
        [Delegation(owner, 30_000 * ONE, 0), Delegation(delegator, 10_000 * ONE, 0)],
    )
    operators = [Slot(bytes([9, i]) * 10, bytes([9, i]) * 24, None) for i in range(4)]
    committee = Committee(0, (*operators, Slot(owner, b"\x03" * 48, Dec.from_int(40_000 * ONE))))
    state = StateDB(MemoryStore())
    load_validators(state, [wrapper])
    assert registered_wrappers(state) == (wrapper,)
    bitmap = encode_bitmap(range(5), 5)
    headers = [Header(number=n, epoch=0, last_commit_bitmap=bitmap) for n in (1, 2, 3)]
    payouts = replay_epoch(state, LOCALNET, headers, lambda shard, epoch: committee if shard == 0 else None)
    reward = LOCALNET.block_reward(0)
    assert [p.paid for p in payouts] == [reward, reward]  # block 1 pays nothing for the genesis
    paid = get_validator_wrapper(state, owner)
    assert paid is not None and paid.block_reward == 2 * reward
    commission = Dec.from_str("0.1").mul_int(reward).round_int()
    assert paid.delegations[1].reward == 2 * ((reward - commission) // 4)
    assert paid.delegations[0].reward + paid.delegations[1].reward == 2 * reward
