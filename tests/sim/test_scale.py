"""The network-scale model (issue 19): scaling, saturation, propagation, resharding, bad input."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from harmony.cli.main import main
from harmony.sim.network_report import format_table, scaling_note
from harmony.sim.network_scale import (
    NetParameterError,
    NetResult,
    NetScenario,
    NodeCosts,
    check_net_scenario,
    net_presets,
    parse_net_value,
    shard_sweep,
    simulate,
)

SMALL = NetScenario(name="small", shards=4, nodes_per_shard=40, duration_s=30.0)


def finite(result: NetResult) -> None:
    for name in (
        "tps",
        "tps_2018_method",
        "block_time_s",
        "round_s",
        "block_txs",
        "cross_p50_s",
        "cross_p99_s",
        "bytes_per_node_s",
        "global_topic_share",
        "uplink_use",
        "stalled_s",
    ):
        value = getattr(result, name)
        assert math.isfinite(value) and value >= 0, name


def test_full_blocks_cap_tps_at_gas_over_block_time() -> None:
    result = simulate(SMALL)
    finite(result)
    cap = SMALL.gas_limit // SMALL.tx_gas
    assert result.tps <= SMALL.shards * cap / SMALL.block_time_s
    assert result.block_time_s >= SMALL.block_time_s
    assert result.block_txs <= cap
    assert 0 < result.cross_p50_s <= result.cross_p99_s


def test_tps_grows_about_linearly_with_shards_while_the_beacon_keeps_up() -> None:
    results = [simulate(s) for s in shard_sweep(SMALL, [2, 4, 8])]
    per_shard = results[0].tps
    for result in results[1:]:
        assert 0.85 <= result.tps / (per_shard / 2 * result.scenario.shards) <= 1.1
        assert not result.beacon_saturated
    assert "of linear" in scaling_note(results)


def test_the_beacon_saturates_when_crosslinks_cost_more_than_a_block_time() -> None:
    costly = NodeCosts(crosslink_s=0.5)
    result = simulate(replace(SMALL, shards=16, cores_per_node=1.0), costly)
    assert result.beacon_saturated
    assert "saturates" in scaling_note([simulate(SMALL, costly), result])


def test_gossip_sends_more_bytes_than_raptorq_for_big_blocks() -> None:
    gossip = simulate(replace(SMALL, propagation="gossip", cross_shard_share=0.0))
    raptorq = simulate(replace(SMALL, propagation="raptorq", cross_shard_share=0.0))
    assert gossip.bytes_per_node_s > raptorq.bytes_per_node_s


def test_resharding_a_majority_with_a_slow_state_sync_stalls_shards() -> None:
    calm = simulate(replace(SMALL, epoch_s=10.0, move_fraction=0.05, state_mb=1.0))
    storm = simulate(replace(SMALL, epoch_s=10.0, move_fraction=0.6, state_mb=2_000.0, uplink_mbps=50.0))
    assert calm.stalled_s == 0
    assert storm.stalled_s > 0
    assert storm.tps < calm.tps


def test_the_network_wide_topic_share_grows_with_shards() -> None:
    few, many = (simulate(s) for s in shard_sweep(SMALL, [2, 16]))
    assert many.global_topic_share > few.global_topic_share
    assert many.uplink_use > few.uplink_use
    thin = [simulate(s) for s in shard_sweep(replace(SMALL, uplink_mbps=1.0), [2, 16])]
    assert "exceeds its median uplink" in scaling_note(thin)


def test_deterministic_in_the_seed() -> None:
    assert simulate(SMALL) == simulate(SMALL)
    assert simulate(replace(SMALL, seed=1)) != simulate(SMALL)


def test_presets_are_valid() -> None:
    for scenario in net_presets().values():
        check_net_scenario(scenario)
    assert net_presets()["harmony-2018"].nodes == 40_000


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"shards": 0}, "shards"),
        ({"nodes_per_shard": 0}, "nodes_per_shard"),
        ({"cross_shard_share": 1.5}, "cross_shard_share"),
        ({"uplink_mbps": -1.0}, "uplink_mbps"),
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"propagation": "carrier-pigeon"}, "propagation"),
        ({"gas_limit": 10}, "gas_limit"),
        ({"duration_s": 0.0}, "duration_s"),
    ],
)
def test_out_of_range_parameters_are_named(changes: dict[str, object], parameter: str) -> None:
    with pytest.raises(NetParameterError) as caught:
        check_net_scenario(replace(SMALL, **changes))  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_values_from_text() -> None:
    assert parse_net_value("shards", "12") == 12
    assert parse_net_value("latency_ms", "2.5") == 2.5
    for name, text in (("shards", "x"), ("latency_ms", "inf"), ("bogus", "1")):
        with pytest.raises(NetParameterError) as caught:
            parse_net_value(name, text)
        assert caught.value.parameter == name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "shards=0"], "shards"),
        (["--set", "cross_shard_share=2"], "cross_shard_share"),
        (["--sweep-shards", "a,b"], "--sweep-shards"),
        (["--sweep-shards", "0"], "--sweep-shards"),
        (["--scenario", "nope"], "--scenario"),
        (["--costs", "/nonexistent/costs.json"], "--costs"),
    ],
)
def test_cli_bad_input_one_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "network", "--quick", "--workers", "0", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cli_quick_writes_report_csv_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    costs = tmp_path / "costs.json"
    costs.write_text('{"exec_tx_per_s": 2000, "verify_sig_s": 0.001, "unrelated": "x"}')
    out = tmp_path / "out"
    argv = ["sim", "scale", "--quick", "--workers", "0", "--costs", str(costs), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| harmony-2018 | 8 |" in printed
    assert "of linear" in printed
    text = (out / "network.md").read_text()
    assert "## Model and assumptions" in text and "2018 experiment" in text
    assert "`exec_tx_per_s` = 2000" in text
    assert (out / "network.png").stat().st_size > 0
    assert len((out / "network.csv").read_text().splitlines()) == 1 + 3 + 3


def test_table_has_one_row_per_result() -> None:
    results = [simulate(SMALL)]
    assert format_table(results).count("\n") == 2
