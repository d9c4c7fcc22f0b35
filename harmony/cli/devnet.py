"""``harmony devnet``: a local network of validator processes on loopback, ready for web3.py and pyhmy.

It writes a reproducible localnet genesis (deterministic development keys and funded accounts: never use them
for real funds), one data directory, BLS keystore and TOML file per validator, then starts every validator as
its own ``harmony node`` process. Node 0 of shard 0 is the bootnode; the others know only its address and
find each other through Kademlia. It waits until every shard has finalized a block, prints the endpoints and
funded accounts, and writes ``manifest.json`` (shards, each node's RPC and WebSocket URLs, funded accounts
with their private keys, validator BLS keys). Ctrl-C (or SIGTERM) stops every node. ``--genesis``,
``--fund`` and ``--harmony-localnet`` start it with other accounts (:mod:`harmony.cli.devnet_genesis`).

Ports: node ``k`` (counting across shards) uses p2p ``base + k``, HTTP ``base + 500 + k``, WebSocket
``base + 800 + k`` and metrics with the dashboard ``base + 900 + k`` (Harmony's 9000 / 9500 / 9800 / 9900
with the default base 9000). Every node watches its shard's keys for alerts (``--alert-webhook`` posts
them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmony.chain.genesis import dev_account_key, dev_bls_key, genesis_to_json, make_localnet_genesis
from harmony.chain.params import LOCALNET, ONE, NetworkParams
from harmony.cli.common import CLIError
from harmony.cli.devnet_fences import attestor_fund, fences_manifest, fences_of, with_fences
from harmony.cli.devnet_genesis import (
    as_harmony_localnet,
    funds_manifest,
    funds_of,
    load_devnet_genesis,
    with_funds,
)
from harmony.crypto.bls_keystore import encrypt_bls_key
from harmony.durable import atomic_write
from harmony.encoding.address import to_bech32, to_checksum_hex
from harmony.encoding.fixed import Dec
from harmony.node.config import DEFAULT_PROPAGATION, PROPAGATIONS, TX_RELAYS, http_url_problem

PASSPHRASE = "devnet"
"""The development keystores' passphrase (public: these keys protect nothing)."""
MAX_NODES = 64


@dataclass(frozen=True, slots=True)
class DevnetNode:
    """One validator process of the devnet."""

    shard_id: int
    index: int
    number: int
    data_dir: Path
    p2p_port: int
    http_port: int
    ws_port: int
    metrics_port: int
    peer_id: str
    bls_public_key: str

    @property
    def http(self) -> str:
        """The HTTP RPC URL."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws(self) -> str:
        """The WebSocket RPC URL."""
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def metrics(self) -> str:
        """The Prometheus metrics URL."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def dashboard(self) -> str:
        """The dashboard URL."""
        return f"http://127.0.0.1:{self.metrics_port}/"

    @property
    def multiaddr(self) -> str:
        """The p2p address others dial."""
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{self.peer_id}"


DEVNET_VDF_ITERATIONS = 200_000
"""The devnet's epoch VDF difficulty: about 1–2 s of one core (chiavdf ~100–170 k iterations/s)."""
VDF_PROVERS = 2
"""Beacon validators of the devnet that compute the VDF."""


@dataclass(frozen=True, slots=True)
class NodeToml:
    """What one node's ``node.toml`` says (``harmony.node.config`` for each field); shared by ``harmony
    devnet`` and ``harmony testnet``."""

    shard_id: int
    p2p_port: int
    http_port: int
    ws_port: int
    bootnodes: tuple[str, ...]
    bls: bool
    vdf_compute: bool
    phase_timeout_ms: int
    block_time_ms: int | None
    shard_endpoints: tuple[str, ...]
    log_level: str = "info"
    host: str = "127.0.0.1"
    """The address p2p, HTTP and WebSocket bind to (a namespace's own address on a testnet)."""
    equivocate: bool = False
    metrics_port: int = 9900
    """Prometheus metrics and the dashboard (``harmony.ops``), on ``host``."""
    alert_webhooks: tuple[str, ...] = ()
    alert_keys: tuple[str, ...] = ()
    """BLS public keys (hex) whose signing the node's alerts watch."""
    dashboard_network: tuple[str, ...] = ()
    """The other nodes' dashboards, for the dashboard's network view."""
    commit_window_ms: int | None = None
    """A leader's wait for late commits (None: the node's default)."""
    propagation: str = DEFAULT_PROPAGATION
    """How a proposed block reaches the shard: ``gossip`` or ``raptorq``."""
    drop_symbols_percent: int = 0
    """Test-only: coded symbols this node drops on receipt."""
    tx_relay: str = "leaders"
    """Where the transactions the node's RPC took go: ``leaders`` or ``gossip``."""
    archive: bool = False
    """Keep every state and every block (``[storage] archive``) instead of pruning."""
    tx_history: bool | None = None
    """Keep the address index (``[storage] tx_history``); ``None``: the node's default (a validator: no)."""


def write_genesis(
    root: Path,
    accounts: int,
    validators: int,
    *,
    vdf_iterations: int = 0,
    keep: bool = False,
    fenced: dict[int, str] | None = None,
    params: NetworkParams = LOCALNET,
) -> Path:
    """The development genesis of ``params`` (a development preset; ``validators`` genesis keys per shard,
    ``accounts`` funded development accounts, the epoch VDF's difficulty, 0 for the preset's; ``fenced``:
    shard → jurisdiction, as ``--fence``) in ``root/genesis.json``; with ``keep``, an existing one is kept."""
    genesis_file = root / "genesis.json"
    if not (keep and genesis_file.exists()):
        genesis = make_localnet_genesis(
            params=params,
            accounts=accounts,
            keys_per_shard=validators,
            timestamp=int(time.time()),
            vdf_iterations=vdf_iterations,
        )
        if fenced:
            genesis = with_fences(with_funds(genesis, attestor_fund(fenced)), fenced)
        genesis_file.write_text(genesis_to_json(genesis), encoding="utf-8")
    return genesis_file


def write_bls_keystore(data: Path, shard_id: int, index: int) -> str:
    """The development BLS key ``(shard_id, index)`` as ``data/keys/bls.json`` with its passphrase file
    (kept if present); its public key in hex."""
    (data / "keys").mkdir(parents=True, exist_ok=True)
    secret = dev_bls_key(shard_id, index)
    keystore = data / "keys" / "bls.json"
    if not keystore.exists():
        atomic_write(keystore, json.dumps(encrypt_bls_key(secret, PASSPHRASE, light=True)).encode())
    (data / "keys" / "pass.txt").write_text(PASSPHRASE + "\n", encoding="utf-8")
    return secret.public_key.to_bytes().hex()


def write_node_toml(data: Path, node: NodeToml) -> Path:
    """``data/node.toml`` for ``node`` (genesis at ``../genesis.json``)."""
    data.mkdir(parents=True, exist_ok=True)
    block_time = "" if node.block_time_ms is None else f"block_time_ms = {node.block_time_ms}\n"
    if node.commit_window_ms is not None:
        block_time += f"commit_window_ms = {node.commit_window_ms}\n"
    bls = '[bls]\nkeys = ["keys/bls.json"]\npass_file = "keys/pass.txt"\n\n' if node.bls else ""
    tx_history = "" if node.tx_history is None else f"tx_history = {'true' if node.tx_history else 'false'}\n"
    path = data / "node.toml"
    path.write_text(
        f"""[general]
data_dir = "."
shard_id = {node.shard_id}
genesis = "../genesis.json"

[p2p]
host = "{node.host}"
port = {node.p2p_port}
bootnodes = {json.dumps(list(node.bootnodes))}
propagation = "{node.propagation}"
tx_relay = "{node.tx_relay}"

[rpc]
host = "{node.host}"
http_port = {node.http_port}
ws_port = {node.ws_port}

{bls}[consensus]
phase_timeout_ms = {node.phase_timeout_ms}
view_change_timeout_ms = {node.phase_timeout_ms}
vdf_compute = {"true" if node.vdf_compute else "false"}
{block_time}
[network]
shards = {json.dumps(list(node.shard_endpoints))}

[metrics]
host = "{node.host}"
port = {node.metrics_port}

[dashboard]
network = {json.dumps(list(node.dashboard_network))}

[alerts]
webhooks = {json.dumps(list(node.alert_webhooks))}
keys = {json.dumps(list(node.alert_keys))}
# a 4-key committee commits with 3 signatures: every key misses about a block in four, so a real
# network's 99.5 % target would always fire here
signing_target = 50

[storage]
archive = {"true" if node.archive else "false"}
{tx_history}
[log]
level = "{node.log_level}"

[debug]
equivocate = {"true" if node.equivocate else "false"}
drop_symbols_percent = {node.drop_symbols_percent}
""",
        encoding="utf-8",
    )
    return path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``devnet`` subcommand."""
    devnet = sub.add_parser(
        "devnet", help="start a local network of validator processes", description=__doc__
    )
    devnet.add_argument("--dir", type=Path, default=Path("devnet-data"), help="folder (default %(default)s)")
    devnet.add_argument("--shards", type=int, default=None, help="shards to run (default: all of localnet)")
    devnet.add_argument("--validators", type=int, default=4, help="validators per shard (default 4)")
    devnet.add_argument("--accounts", type=int, default=10, help="funded accounts (default 10)")
    devnet.add_argument("--base-port", type=int, default=9000, help="first p2p port (default 9000)")
    devnet.add_argument("--block-time-ms", type=int, default=None, help="block time (default: localnet's)")
    devnet.add_argument(
        "--commit-window-ms",
        type=int,
        default=None,
        help="how long a leader waits for late commits after the quorum (default: the node's, 1000; 0: none)",
    )
    devnet.add_argument(
        "--phase-timeout-ms", type=int, default=8000, help="view change after this long without a block"
    )
    devnet.add_argument(
        "--vdf-iterations",
        type=int,
        default=DEVNET_VDF_ITERATIONS,
        help="epoch VDF difficulty, written into the genesis file (default %(default)s: a few seconds of one "
        "core; 0 = localnet's preset, about a third of an epoch; with --keep the existing genesis's holds)",
    )
    devnet.add_argument(
        "--alert-webhook",
        action="append",
        default=[],
        metavar="URL",
        help="post every node's alerts to this webhook (repeatable); each node watches its shard's keys",
    )
    devnet.add_argument("--keep", action="store_true", help="keep the chain data of an earlier run")
    devnet.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the first blocks")
    devnet.add_argument("--log-level", default="info", help="the nodes' log level (default info)")
    devnet.add_argument(
        "--genesis",
        type=Path,
        default=None,
        help="start from this localnet genesis file (its committees must be the development keys: "
        "edit one written by `harmony genesis new`)",
    )
    devnet.add_argument(
        "--fund",
        action="append",
        metavar="ADDRESS=AMOUNT",
        help="also fund ADDRESS (one1… or 0x…) with AMOUNT ONE (or <n>atto) on every shard; repeatable",
    )
    devnet.add_argument(
        "--harmony-localnet",
        action="store_true",
        help="also fund Harmony localnet's faucet and test account (10,000,000,000 ONE each) and use its "
        "80,000,000 block gas limit, so transactions pre-signed for Harmony's localnet (chain ID 2) work "
        "unchanged",
    )
    devnet.add_argument(
        "--fence",
        action="append",
        metavar="SHARD=JURISDICTION",
        help="fence SHARD to JURISDICTION (e.g. 1=EU) in the genesis, with a development attestor (its key "
        "is in the manifest): only the shard's validators get its blocks, gossip and RPC data; repeatable",
    )
    devnet.add_argument(
        "--propagation",
        choices=PROPAGATIONS,
        default=DEFAULT_PROPAGATION,
        help="how a proposed block reaches the shard: whole on gossip, or RaptorQ-coded shares "
        "(default %(default)s)",
    )
    devnet.add_argument(
        "--tx-relay",
        choices=TX_RELAYS,
        default="leaders",
        help="where the transactions a node's RPC took go: straight to the shard's next leaders, or on "
        "gossip to every node (default %(default)s)",
    )
    devnet.add_argument(
        "--tx-history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="every node keeps the per-address transaction index (getTransactionsHistory), as an explorer "
        "does; --no-tx-history: a validator's default, none (default: kept, for the applications a devnet "
        "serves)",
    )
    devnet.add_argument(
        "--drop-symbols-percent",
        type=int,
        default=0,
        metavar="P",
        help="TEST ONLY: every node drops P %% of the coded symbols it receives (a lossy network)",
    )
    devnet.set_defaults(func=run_devnet)


def _check_args(args: argparse.Namespace) -> int:
    shards = LOCALNET.shard_count if args.shards is None else args.shards
    if not 1 <= shards <= LOCALNET.shard_count:
        raise CLIError(f"--shards: {shards}; localnet has 1 to {LOCALNET.shard_count} shards")
    if not 1 <= args.validators <= LOCALNET.harmony_seats_per_shard:
        raise CLIError(f"--validators: 1 to {LOCALNET.harmony_seats_per_shard} genesis seats per shard")
    if not 0 <= args.accounts <= 1000:
        raise CLIError("--accounts: 0 to 1000")
    if shards * args.validators > MAX_NODES:
        raise CLIError(f"--shards × --validators: at most {MAX_NODES} nodes")
    if not 1024 <= args.base_port <= 65535 - 900 - shards * args.validators:
        raise CLIError(f"--base-port: {args.base_port} leaves no room for the node ports")
    for url in args.alert_webhook:
        problem = http_url_problem(url)
        if problem is not None:
            raise CLIError(f"--alert-webhook: {url[:80]!r}: {problem}")
    if args.block_time_ms is not None and not 100 <= args.block_time_ms <= 60_000:
        raise CLIError("--block-time-ms: 100 to 60000")
    if args.commit_window_ms is not None and not 0 <= args.commit_window_ms <= 60_000:
        raise CLIError("--commit-window-ms: 0 to 60000")
    if not 500 <= args.phase_timeout_ms <= 600_000:
        raise CLIError("--phase-timeout-ms: 500 to 600000")
    if args.timeout <= 0:
        raise CLIError("--timeout: must be positive")
    if not 0 <= args.vdf_iterations <= 1 << 32:
        raise CLIError("--vdf-iterations: 0 to 2^32")
    if not 0 <= args.drop_symbols_percent <= 100:
        raise CLIError("--drop-symbols-percent: 0 to 100")
    return shards


def prepare(args: argparse.Namespace, shards: int) -> tuple[list[DevnetNode], dict[str, Any]]:
    """Write the genesis, keys and configurations; the nodes and the manifest (nothing started)."""
    from harmony.p2p.keys import load_or_create_peer_key, peer_id_of  # noqa: PLC0415 - loads libp2p

    root: Path = args.dir.resolve()
    if root.exists() and not args.keep:
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    genesis_file = root / "genesis.json"
    fenced = fences_of(getattr(args, "fence", None), shards)
    funds = funds_of(getattr(args, "fund", None), getattr(args, "harmony_localnet", False))
    funds += attestor_fund(fenced)
    given: Path | None = getattr(args, "genesis", None)
    if args.keep and genesis_file.exists():
        if funds or given is not None:
            raise CLIError(
                "--keep reuses the earlier genesis: drop --genesis, --fund, --harmony-localnet, --fence"
            )
        from harmony.chain.genesis import load_genesis  # noqa: PLC0415

        genesis = load_genesis(genesis_file)
    else:
        if given is not None:
            genesis = load_devnet_genesis(given, shards, args.validators)
        else:
            genesis = make_localnet_genesis(
                accounts=args.accounts,
                keys_per_shard=args.validators,
                timestamp=int(time.time()),
                vdf_iterations=args.vdf_iterations,
            )
        genesis = with_fences(with_funds(genesis, funds), fenced)
        if getattr(args, "harmony_localnet", False):
            genesis = as_harmony_localnet(genesis)
        genesis_file.write_text(genesis_to_json(genesis), encoding="utf-8")
    nodes: list[DevnetNode] = []
    for shard_id in range(shards):
        for index in range(args.validators):
            number = len(nodes)
            data = root / f"s{shard_id}n{index}"
            public_hex = write_bls_keystore(data, shard_id, index)
            nodes.append(
                DevnetNode(
                    shard_id,
                    index,
                    number,
                    data,
                    args.base_port + number,
                    args.base_port + 500 + number,
                    args.base_port + 800 + number,
                    args.base_port + 900 + number,
                    peer_id_of(load_or_create_peer_key(data / "p2p.key")),
                    public_hex,
                )
            )
    bootnode = nodes[0].multiaddr
    firsts = {n.shard_id: n for n in reversed(nodes)}
    endpoints = tuple(f"{firsts[s].http} {firsts[s].ws}" for s in range(shards))
    shard_keys = {s: tuple(n.bls_public_key for n in nodes if n.shard_id == s) for s in range(shards)}
    for node in nodes:
        write_node_toml(
            node.data_dir,
            NodeToml(
                shard_id=node.shard_id,
                p2p_port=node.p2p_port,
                http_port=node.http_port,
                ws_port=node.ws_port,
                bootnodes=() if node.number == 0 else (bootnode,),
                bls=True,
                # two beacon validators prove each epoch's VDF (redundancy without spending every core on it)
                vdf_compute=node.shard_id == 0 and node.index < VDF_PROVERS,
                phase_timeout_ms=args.phase_timeout_ms,
                block_time_ms=args.block_time_ms,
                commit_window_ms=args.commit_window_ms,
                shard_endpoints=endpoints,
                log_level=args.log_level,
                metrics_port=node.metrics_port,
                alert_webhooks=tuple(args.alert_webhook),
                alert_keys=shard_keys[node.shard_id],
                dashboard_network=tuple(n.dashboard for n in nodes if n is not node),
                propagation=args.propagation,
                drop_symbols_percent=args.drop_symbols_percent,
                tx_relay=args.tx_relay,
                tx_history=args.tx_history,
            ),
        )
    manifest = _manifest(root, genesis_file, nodes, shards, 0 if given is not None else args.accounts)
    manifest["other_funded_accounts"] = funds_manifest(funds)
    if fenced:
        manifest["fences"] = fences_manifest(fenced)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return nodes, manifest


def _manifest(
    root: Path, genesis: Path, nodes: list[DevnetNode], shards: int, accounts: int
) -> dict[str, Any]:
    funded = []
    for i in range(accounts):
        key = dev_account_key(i)
        funded.append(
            {
                "address": to_bech32(key.address),
                "eth_address": to_checksum_hex(key.address),
                "private_key": "0x" + key.secret.hex(),
                "balance_one": 1_000_000,
            }
        )
    return {
        "network": LOCALNET.name,
        "chain_id": LOCALNET.chain_id,
        "genesis": str(genesis),
        "passphrase": PASSPHRASE,
        "shards": [
            {
                "shard_id": s,
                "eth_chain_id": LOCALNET.eth_chain_id(s),
                "nodes": [
                    {
                        "name": f"s{n.shard_id}n{n.index}",
                        "http": n.http,
                        "ws": n.ws,
                        "metrics": n.metrics,
                        "dashboard": n.dashboard,
                        "p2p": n.multiaddr,
                        "bls_public_key": n.bls_public_key,
                        "data_dir": str(n.data_dir),
                        "log": str(n.data_dir / "node.log"),
                    }
                    for n in nodes
                    if n.shard_id == s
                ],
            }
            for s in range(shards)
        ],
        "funded_accounts": funded,
        "one": ONE,
        "root": str(root),
    }


def start_node(node: DevnetNode) -> subprocess.Popen[bytes]:
    """Start one validator process, its output in ``node.log``."""
    out = (node.data_dir / "node.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "harmony.cli.main", "node", "--config", str(node.data_dir / "node.toml")],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=node.data_dir,
        start_new_session=True,
    )


def rpc_call(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    """One JSON-RPC call (the devnet's own readiness checks); raises OSError or ValueError on failure."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise ValueError(reply["error"])
    return reply["result"]


def wait_for_blocks(
    nodes: list[DevnetNode], procs: list[subprocess.Popen[bytes]], timeout: float, height: int = 1
) -> None:
    """Wait until each shard's first node reports ``height``; CLIError names a node that died or hung."""
    deadline = time.monotonic() + timeout
    pending = {n.shard_id: n for n in reversed(nodes)}
    while pending:
        for proc, node in zip(procs, nodes, strict=True):
            if proc.poll() is not None:
                raise CLIError(f"node s{node.shard_id}n{node.index} exited: see {node.data_dir / 'node.log'}")
        for shard_id, node in list(pending.items()):
            try:
                if int(rpc_call(node.http, "eth_blockNumber"), 16) >= height:
                    del pending[shard_id]
            except (OSError, ValueError):
                pass
        if time.monotonic() > deadline:
            names = ", ".join(f"shard {s}" for s in pending)
            raise CLIError(f"no block on {names} after {timeout:.0f} s: see the node.log files")
        time.sleep(0.5)


def stop_all(procs: list[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM every node twice, then SIGKILL what is left after ``grace`` seconds.

    Twice: a validator's first SIGTERM waits for its turn to lead to pass (:mod:`harmony.node.leave`), which
    helps the others only while they keep running; when every node stops, the second one stops it at once."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_devnet(args: argparse.Namespace) -> int:
    """``harmony devnet``."""
    shards = _check_args(args)
    nodes, manifest = prepare(args, shards)
    print(f"devnet: {len(nodes)} validators on {shards} shard(s) in {args.dir.resolve()}", flush=True)
    procs: list[subprocess.Popen[bytes]] = []

    def on_signal(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a launcher started in the background by a non-interactive shell inherits it ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for node in nodes:
            procs.append(start_node(node))
        print("waiting for the first block on every shard …", flush=True)
        wait_for_blocks(nodes, procs, args.timeout)
        _print_endpoints(manifest)
        print(f"manifest: {args.dir.resolve() / 'manifest.json'}", flush=True)
        print("devnet is up. Ctrl-C stops every node.", flush=True)
        while True:
            for proc, node in zip(procs, nodes, strict=True):
                if proc.poll() is not None:
                    print(f"node s{node.shard_id}n{node.index} exited with {proc.returncode}", flush=True)
                    procs.remove(proc)
                    nodes.remove(node)
                    break
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping the devnet …", flush=True)
        return 0
    finally:
        stop_all(procs)


def _print_endpoints(manifest: dict[str, Any]) -> None:
    for shard in manifest["shards"]:
        print(f"shard {shard['shard_id']} (eth chain id {shard['eth_chain_id']}):")
        for node in shard["nodes"]:
            urls = f"{node['http']}  {node['ws']}  metrics {node['metrics']}  dashboard {node['dashboard']}"
            print(f"  {node['name']}: {urls}")
    print("funded accounts (1,000,000 ONE on every shard; development keys, public):")
    for account in manifest["funded_accounts"]:
        print(f"  {account['address']}  {account['eth_address']}  {account['private_key']}")
    others = manifest.get("other_funded_accounts") or []
    if others:
        print("also funded on every shard:")
    for account in others:
        one = str(Dec(int(account["balance_atto"]))).rstrip("0").rstrip(".")
        print(f"  {account['address']}  {account['eth_address']}  {one} ONE  ({account['note']})")
