"""``harmony validator``: how a validator is doing, from a beacon node's RPC (and a node's dashboard API).

``status ADDRESS --node URL`` prints once: elected or not (and the EPoS status), each BLS key and its shard,
this epoch's signing against the 2/3 eviction line, lifetime signing, rewards and APR
(``hmyv2_getValidatorInformation``, reference §9.3). With ``--ops URL`` (a node's metrics/dashboard address,
e.g. ``http://127.0.0.1:9900``) it adds that node's per-key signing and its open alerts about the keys.
``watch`` shows the same live in the terminal, refreshed every ``--interval`` seconds, until Ctrl-C.

Whatever a node answers is checked before it is shown: a malformed reply is an error naming the field.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harmony.chain.params import ONE
from harmony.cli.common import CLIError
from harmony.cli.staking import parse_addr, rpc_call
from harmony.encoding.address import to_bech32

OPS_TIMEOUT = 5.0
MAX_OPS_REPLY = 4 * 1024 * 1024
EVICTION = 2 / 3  # display only: the protocol's line is checked in exact arithmetic by the chain


@dataclass
class Report:
    """What ``status`` shows (module docstring)."""

    address: str
    name: str
    elected: bool
    epos_status: str
    keys: list[tuple[str, int | None]]
    """(BLS public key hex, shard when elected)."""
    epoch: int
    epoch_signed: int
    epoch_to_sign: int
    lifetime_signed: int
    lifetime_to_sign: int
    rewards_atto: int
    apr: str
    total_delegation_atto: int
    key_signing: list[dict[str, Any]] = field(default_factory=list)
    """Per-key rows from the node's dashboard API (``--ops``)."""
    alerts: list[dict[str, Any]] = field(default_factory=list)


def _get(obj: Any, path: str, kind: type) -> Any:
    value = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise CLIError(f"node: validator information has no field {path}")
        value = value[part]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise CLIError(f"node: validator information field {path} is not {kind.__name__}")
    return value


def _ops_state(url: str) -> dict[str, Any]:
    target = url.rstrip("/") + "/api/status"
    try:
        with urllib.request.urlopen(target, timeout=OPS_TIMEOUT) as response:
            raw = response.read(MAX_OPS_REPLY + 1)
    except OSError as exc:
        raise CLIError(f"--ops: {target}: {exc}") from None
    if len(raw) > MAX_OPS_REPLY:
        raise CLIError(f"--ops: {target}: reply larger than {MAX_OPS_REPLY} bytes")
    try:
        state = json.loads(raw)
    except ValueError:
        raise CLIError(f"--ops: {target}: not JSON (is this the node's metrics port?)") from None
    if not isinstance(state, dict) or not isinstance(state.get("keys"), list):
        raise CLIError(f"--ops: {target}: not a dashboard state")
    return state


def fetch_report(node: str, address: bytes, ops: str | None = None) -> Report:
    """Ask ``node`` (and the dashboard API at ``ops``) about the validator at ``address``."""
    info = rpc_call(node, "hmyv2_getValidatorInformation", [to_bech32(address)])
    if not isinstance(info, dict):
        raise CLIError("node: hmyv2_getValidatorInformation returned no validator")
    elected_keys: dict[str, int] = {}
    for entry in _get(info, "metrics.by-bls-key", list):
        key = _get(entry, "key.bls-public-key", str).removeprefix("0x")
        elected_keys[key] = _get(entry, "key.shard-id", int)
    keys = [k.removeprefix("0x") for k in _get(info, "validator.bls-public-keys", list) if isinstance(k, str)]
    epoch_perf = "current-epoch-performance.current-epoch-signing-percent"
    report = Report(
        address=to_bech32(address),
        name=_get(info, "validator.name", str),
        elected=_get(info, "currently-in-committee", bool),
        epos_status=_get(info, "epos-status", str),
        keys=[(k, elected_keys.get(k)) for k in keys],
        epoch=_get(info, "current-epoch-performance.epoch", int),
        epoch_signed=_get(info, f"{epoch_perf}.current-epoch-signed", int),
        epoch_to_sign=_get(info, f"{epoch_perf}.current-epoch-to-sign", int),
        lifetime_signed=_get(info, "lifetime.blocks.signed", int),
        lifetime_to_sign=_get(info, "lifetime.blocks.to-sign", int),
        rewards_atto=_get(info, "lifetime.reward-accumulated", int),
        apr=_get(info, "lifetime.apr", str),
        total_delegation_atto=_get(info, "total-delegation", int),
    )
    if ops is not None:
        state = _ops_state(ops)
        mine = set(keys)
        report.key_signing = [k for k in state["keys"] if isinstance(k, dict) and k.get("key") in mine]
        report.alerts = [
            a
            for a in state.get("alerts", [])
            if isinstance(a, dict) and (a.get("subject") in mine or a.get("subject") == "node")
        ]
    return report


def _ratio(signed: int, to_sign: int) -> str:
    if to_sign <= 0:
        return "–"
    return f"{signed}/{to_sign} ({100 * signed / to_sign:.2f} %)"  # display only


def one_text(atto: int) -> str:
    """An atto amount in ONE with four decimals, rounded down (as the dashboard shows it)."""
    whole, frac = divmod(atto, ONE)
    return f"{whole:,}.{frac * 10_000 // ONE:04d} ONE"


def render(report: Report) -> Group:
    """The report as rich tables."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim")
    head.add_column()
    elected = Text("elected", style="green") if report.elected else Text("not elected", style="red")
    head.add_row("validator", f"{report.name}  {report.address}")
    head.add_row("committee", Text.assemble(elected, f"  ({report.epos_status})"))
    below = report.epoch_to_sign > 0 and report.epoch_signed < EVICTION * report.epoch_to_sign
    epoch_text = Text(_ratio(report.epoch_signed, report.epoch_to_sign), style="red" if below else "")
    head.add_row(f"signing, epoch {report.epoch}", epoch_text)
    head.add_row("signing, lifetime", _ratio(report.lifetime_signed, report.lifetime_to_sign))
    head.add_row("rewards", one_text(report.rewards_atto))
    head.add_row("APR", report.apr)
    head.add_row("total delegation", one_text(report.total_delegation_atto))
    keys = Table(title="BLS keys", title_justify="left")
    keys.add_column("key")
    keys.add_column("shard")
    by_key = {k["key"]: k for k in report.key_signing}
    for column in ("signed", "missed", "missed in a row", "last signed"):
        keys.add_column(column, justify="right")
    for key, shard in report.keys:
        row = by_key.get(key, {})
        streak = row.get("missed_streak")
        keys.add_row(
            f"{key[:12]}…{key[-6:]}",
            "–" if shard is None else str(shard),
            str(row.get("signed", "–")),
            str(row.get("missed", "–")),
            Text(str(streak if streak is not None else "–"), style="red" if streak else ""),
            str(row.get("last_signed", "–")),
        )
    parts: list[Any] = [head, keys]
    if report.alerts:
        alerts = Table(title="Open alerts", title_justify="left")
        alerts.add_column("severity")
        alerts.add_column("alert")
        for alert in report.alerts:
            severity = str(alert.get("severity", ""))
            alerts.add_row(
                Text(severity, style="red" if severity == "critical" else "yellow"), str(alert.get("message"))
            )
        parts.append(alerts)
    return Group(*parts)


def _status(args: argparse.Namespace) -> int:
    report = fetch_report(args.node, parse_addr(args.address, "ADDRESS"), args.ops)
    if args.json:
        print(json.dumps(report.__dict__, indent=2))
        return 0
    Console().print(render(report))
    return 0


def _watch(args: argparse.Namespace) -> int:
    if not 0.5 <= args.interval <= 3600:
        raise CLIError("--interval: 0.5 to 3600 seconds")
    address = parse_addr(args.address, "ADDRESS")
    with Live(render(fetch_report(args.node, address, args.ops)), auto_refresh=False) as live:
        try:
            while True:
                time.sleep(args.interval)
                try:
                    live.update(render(fetch_report(args.node, address, args.ops)), refresh=True)
                except CLIError as exc:  # a node restarting: keep watching
                    live.update(Text(f"{exc} (retrying)", style="red"), refresh=True)
        except KeyboardInterrupt:
            return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validator`` subcommand."""
    validator = sub.add_parser(
        "validator", help="a validator's election, signing and rewards", description=__doc__
    )
    actions = validator.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, text in (
        ("status", _status, "show a validator's state once"),
        ("watch", _watch, "show a validator's state live in the terminal (Ctrl-C stops)"),
    ):
        parser = actions.add_parser(name, help=text, description=__doc__)
        parser.add_argument("address", metavar="ADDRESS", help="the validator's one1… or 0x… address")
        parser.add_argument(
            "--node", default="http://127.0.0.1:9500", help="a beacon node's RPC (default %(default)s)"
        )
        parser.add_argument(
            "--ops", default=None, help="a node's metrics/dashboard URL for per-key signing and alerts"
        )
        if name == "status":
            parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
        else:
            parser.add_argument(
                "--interval", type=float, default=2.0, help="seconds between updates (default 2)"
            )
        parser.set_defaults(func=func)
