"""``harmony validator status`` against a real RPC server over a real beacon chain with an elected validator
(the staking RPC tests' chain), and hostile replies."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any

import pytest

from harmony.cli.common import CLIError
from harmony.cli.main import main
from harmony.cli.validator import fetch_report, render
from harmony.encoding.address import to_bech32
from harmony.rpc.backend import RPCBackend
from harmony.rpc.dispatch import Dispatcher
from harmony.rpc.server import RPCConfig
from tests.unit.rpc.test_dispatch import result
from tests.unit.rpc.test_server import start as start_server
from tests.unit.rpc.test_staking_beacon import Beacon, V, beacon  # noqa: F401 - the fixture

start = contextmanager(start_server)


def test_status_shows_what_the_rpc_says(
    beacon: tuple[Beacon, Dispatcher, RPCBackend],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, dispatcher, backend = beacon
    info = result(dispatcher, "hmyv2_getValidatorInformation", to_bech32(V))
    with start(backend, RPCConfig(http_port=0, ws_port=0)) as running:
        report = fetch_report(running.url, V)
        assert main(["validator", "status", to_bech32(V), "--node", running.url, "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert main(["validator", "status", "0x" + V.hex(), "--node", running.url]) == 0
        table = capsys.readouterr().out
    perf = info["current-epoch-performance"]["current-epoch-signing-percent"]
    assert report.elected is info["currently-in-committee"] is True
    assert (report.epoch_signed, report.epoch_to_sign) == (
        perf["current-epoch-signed"],
        perf["current-epoch-to-sign"],
    )
    assert report.lifetime_signed == info["lifetime"]["blocks"]["signed"]
    assert report.rewards_atto == info["lifetime"]["reward-accumulated"] > 0
    assert [k for k, _ in report.keys] == [k.removeprefix("0x") for k in info["validator"]["bls-public-keys"]]
    assert {shard for _, shard in report.keys} >= {0}
    assert printed["address"] == to_bech32(V) and printed["apr"] == info["lifetime"]["apr"]
    assert "elected" in table and report.address in table and "BLS keys" in table
    render(report)


def test_bad_input_and_bad_replies_are_errors(
    beacon: tuple[Beacon, Dispatcher, RPCBackend],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validator", "status", "one1notanaddress"]) == 1
    assert "ADDRESS" in capsys.readouterr().err
    assert main(["validator", "status", to_bech32(V), "--node", "http://127.0.0.1:1"]) == 1
    assert "node:" in capsys.readouterr().err
    assert main(["validator", "watch", to_bech32(V), "--interval", "0"]) == 1
    assert "--interval" in capsys.readouterr().err
    _, _, backend = beacon
    # the RPC port is not a dashboard: a clear error, not a crash
    with start(backend, RPCConfig(http_port=0, ws_port=0)) as running, pytest.raises(CLIError, match="--ops"):
        fetch_report(running.url, V, ops=running.url)


@pytest.mark.parametrize(
    "reply",
    [
        {},
        {"metrics": {"by-bls-key": "x"}},
        {"metrics": {"by-bls-key": [{"key": {"bls-public-key": 5}}]}},
    ],
)
def test_malformed_validator_information_names_the_field(
    reply: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harmony.cli.validator.rpc_call", lambda *_: reply)
    with pytest.raises(CLIError, match="field"):
        fetch_report("http://unused", V)
