"""``[metrics]``, ``[dashboard]`` and ``[alerts]`` in node.toml and ``--metrics.*`` flags: hostile values are
refused with the field named (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.cli.main import main
from harmony.node.config import ConfigError, NodeConfig, parse_config

KEY = "ab" * 48


def test_defaults_bind_metrics_to_loopback_on_harmony_port() -> None:
    config = NodeConfig()
    assert (config.metrics_enabled, config.metrics_host, config.metrics_port) == (True, "127.0.0.1", 9900)
    assert config.dashboard_enabled and config.alert_webhooks == ()
    assert config.alert_signing_target_bp == 9950


def test_a_full_ops_section_is_read() -> None:
    config = parse_config(
        {
            "metrics": {"enabled": True, "host": "0.0.0.0", "port": 19900},
            "dashboard": {"enabled": False},
            "alerts": {
                "webhooks": ["https://hooks.example.org/services/T0/B0/xyz", "http://127.0.0.1:8080/hook"],
                "keys": [KEY, "0x" + KEY],
                "missed_blocks": 3,
                "signing_target": 99.9,
                "sync_lag": 20,
                "min_peers": 4,
                "disk_free_percent": 10,
                "not_elected": False,
            },
        },
        Path("."),
    )
    assert (config.metrics_host, config.metrics_port, config.dashboard_enabled) == ("0.0.0.0", 19900, False)
    assert len(config.alert_webhooks) == 2 and config.alert_keys == (KEY, "0x" + KEY)
    assert (config.alert_missed_blocks, config.alert_signing_target_bp) == (3, 9990)
    assert (config.alert_sync_lag, config.alert_min_peers, config.alert_disk_free_percent) == (20, 4, 10)
    assert not config.alert_not_elected


@pytest.mark.parametrize(("value", "bp"), [(99.5, 9950), ("99.5", 9950), (100, 10_000), (66.67, 6667)])
def test_signing_target_is_exact_basis_points(value: object, bp: int) -> None:
    assert parse_config({"alerts": {"signing_target": value}}, Path(".")).alert_signing_target_bp == bp


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"metrics": {"port": 70000}}, "metrics.port"),
        ({"metrics": {"port": "9900"}}, "metrics.port"),
        ({"metrics": {"host": ""}}, "metrics.host"),
        ({"metrics": {"enabled": "yes"}}, "metrics.enabled"),
        ({"metrics": {"path": "/x"}}, "metrics.path"),
        ({"dashboard": {"enabled": 1}}, "dashboard.enabled"),
        ({"dashboard": {"network": ["javascript:alert(1)"]}}, "dashboard.network"),
        ({"dashboard": {"network": "http://a.example:9900"}}, "dashboard.network"),
        (
            {"dashboard": {"network": [f"http://10.0.0.{i % 250}:{i}" for i in range(300)]}},
            "dashboard.network",
        ),
        ({"alerts": {"webhooks": "https://a.example/x"}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": [7]}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": ["ftp://a.example/x"]}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": ["https:///nohost"]}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": ["https://user:pw@a.example/x"]}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": ["https://a.example:99999/x"]}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": ["https://a.example/x y"]}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": ["https://a.example/" + "x" * 3000]}}, "alerts.webhooks"),
        ({"alerts": {"webhooks": [f"https://a.example/{i}" for i in range(17)]}}, "alerts.webhooks"),
        ({"alerts": {"keys": ["abcd"]}}, "alerts.keys"),
        ({"alerts": {"keys": ["zz" * 48]}}, "alerts.keys"),
        ({"alerts": {"missed_blocks": 0}}, "alerts.missed_blocks"),
        ({"alerts": {"missed_blocks": True}}, "alerts.missed_blocks"),
        ({"alerts": {"sync_lag": -1}}, "alerts.sync_lag"),
        ({"alerts": {"min_peers": 100_000}}, "alerts.min_peers"),
        ({"alerts": {"disk_free_percent": 100}}, "alerts.disk_free_percent"),
        ({"alerts": {"signing_target": 0}}, "alerts.signing_target"),
        ({"alerts": {"signing_target": 100.5}}, "alerts.signing_target"),
        ({"alerts": {"signing_target": 99.555}}, "alerts.signing_target"),
        ({"alerts": {"signing_target": "lots"}}, "alerts.signing_target"),
        ({"alerts": {"signing_target": "nan"}}, "alerts.signing_target"),
        ({"alerts": {"signing_target": True}}, "alerts.signing_target"),
        ({"alerts": {"signing_target": [99]}}, "alerts.signing_target"),
        ({"alerts": {"telegram": "x"}}, "alerts.telegram"),
    ],
)
def test_bad_ops_values_name_their_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(doc, Path("."))  # type: ignore[arg-type]
    assert caught.value.field == field


def test_metrics_flags_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "--datadir", str(tmp_path), "--metrics.port", "123456"]) == 1
    assert "metrics.port" in capsys.readouterr().err
    assert main(["node", "--datadir", str(tmp_path), "--metrics.ip", ""]) == 1
    assert "metrics.host" in capsys.readouterr().err
