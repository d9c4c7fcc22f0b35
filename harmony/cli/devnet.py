"""``harmony devnet``: a local network of validator processes on loopback, ready for web3.py and pyhmy.

It writes a reproducible localnet genesis (deterministic development keys and funded accounts: never use them
for real funds), one data directory, BLS keystore and TOML file per validator, then starts every validator as
its own ``harmony node`` process. Node 0 of shard 0 is the bootnode; the others know only its address and
find each other through Kademlia. It waits until every shard has finalized a block, prints the endpoints and
funded accounts, and writes ``manifest.json`` (shards, each node's RPC and WebSocket URLs, funded accounts
with their private keys, validator BLS keys). Ctrl-C (or SIGTERM) stops every node.

Ports: node ``k`` (counting across shards) uses p2p ``base + k``, HTTP ``base + 500 + k`` and WebSocket
``base + 800 + k`` (Harmony's 9000 / 9500 / 9800 with the default base 9000).
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
from harmony.chain.params import LOCALNET, ONE
from harmony.cli.common import CLIError
from harmony.consensus.files import atomic_write
from harmony.crypto.bls_keystore import encrypt_bls_key
from harmony.encoding.address import to_bech32, to_checksum_hex

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
    def multiaddr(self) -> str:
        """The p2p address others dial."""
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{self.peer_id}"


DEVNET_VDF_ITERATIONS = 200_000
"""The devnet's epoch VDF difficulty: about 1–2 s of one core (chiavdf ~100–170 k iterations/s)."""
VDF_PROVERS = 2
"""Beacon validators of the devnet that compute the VDF."""


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
        "--phase-timeout-ms", type=int, default=8000, help="view change after this long without a block"
    )
    devnet.add_argument(
        "--vdf-iterations",
        type=int,
        default=DEVNET_VDF_ITERATIONS,
        help="epoch VDF difficulty, written into the genesis file (default %(default)s: a few seconds of one "
        "core; 0 = localnet's preset, about a third of an epoch; with --keep the existing genesis's holds)",
    )
    devnet.add_argument("--keep", action="store_true", help="keep the chain data of an earlier run")
    devnet.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the first blocks")
    devnet.add_argument("--log-level", default="info", help="the nodes' log level (default info)")
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
    if not 1024 <= args.base_port <= 65535 - 800 - shards * args.validators:
        raise CLIError(f"--base-port: {args.base_port} leaves no room for the p2p, HTTP and WS ports")
    if args.block_time_ms is not None and not 100 <= args.block_time_ms <= 60_000:
        raise CLIError("--block-time-ms: 100 to 60000")
    if not 500 <= args.phase_timeout_ms <= 600_000:
        raise CLIError("--phase-timeout-ms: 500 to 600000")
    if args.timeout <= 0:
        raise CLIError("--timeout: must be positive")
    if not 0 <= args.vdf_iterations <= 1 << 32:
        raise CLIError("--vdf-iterations: 0 to 2^32")
    return shards


def prepare(args: argparse.Namespace, shards: int) -> tuple[list[DevnetNode], dict[str, Any]]:
    """Write the genesis, keys and configurations; the nodes and the manifest (nothing started)."""
    from harmony.p2p.keys import load_or_create_peer_key, peer_id_of  # noqa: PLC0415 - loads libp2p

    root: Path = args.dir.resolve()
    if root.exists() and not args.keep:
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    genesis_file = root / "genesis.json"
    if args.keep and genesis_file.exists():
        from harmony.chain.genesis import load_genesis  # noqa: PLC0415

        genesis = load_genesis(genesis_file)
    else:
        genesis = make_localnet_genesis(
            accounts=args.accounts,
            keys_per_shard=args.validators,
            timestamp=int(time.time()),
            vdf_iterations=args.vdf_iterations,
        )
        genesis_file.write_text(genesis_to_json(genesis), encoding="utf-8")
    nodes: list[DevnetNode] = []
    for shard_id in range(shards):
        for index in range(args.validators):
            number = len(nodes)
            data = root / f"s{shard_id}n{index}"
            (data / "keys").mkdir(parents=True, exist_ok=True)
            secret = dev_bls_key(shard_id, index)
            public_hex = secret.public_key.to_bytes().hex()
            keystore = data / "keys" / "bls.json"
            if not keystore.exists():
                atomic_write(keystore, json.dumps(encrypt_bls_key(secret, PASSPHRASE, light=True)).encode())
            (data / "keys" / "pass.txt").write_text(PASSPHRASE + "\n", encoding="utf-8")
            peer_id = peer_id_of(load_or_create_peer_key(data / "p2p.key"))
            nodes.append(
                DevnetNode(
                    shard_id,
                    index,
                    number,
                    data,
                    args.base_port + number,
                    args.base_port + 500 + number,
                    args.base_port + 800 + number,
                    peer_id,
                    public_hex,
                )
            )
    bootnode = nodes[0].multiaddr
    block_time = "" if args.block_time_ms is None else f"block_time_ms = {args.block_time_ms}\n"
    firsts = {n.shard_id: n for n in reversed(nodes)}
    endpoints = json.dumps([f"{firsts[s].http} {firsts[s].ws}" for s in range(shards)])
    for node in nodes:
        # two beacon validators prove each epoch's VDF (redundancy without spending every core on it)
        vdf_compute = "true" if node.shard_id == 0 and node.index < VDF_PROVERS else "false"
        bootnodes = "[]" if node.number == 0 else json.dumps([bootnode])
        (node.data_dir / "node.toml").write_text(
            f"""[general]
data_dir = "."
shard_id = {node.shard_id}
genesis = "../genesis.json"

[p2p]
port = {node.p2p_port}
bootnodes = {bootnodes}

[rpc]
http_port = {node.http_port}
ws_port = {node.ws_port}

[bls]
keys = ["keys/bls.json"]
pass_file = "keys/pass.txt"

[consensus]
phase_timeout_ms = {args.phase_timeout_ms}
view_change_timeout_ms = {args.phase_timeout_ms}
vdf_compute = {vdf_compute}
{block_time}
[network]
shards = {endpoints}

[log]
level = "{args.log_level}"
""",
            encoding="utf-8",
        )
    manifest = _manifest(root, genesis_file, nodes, shards, args.accounts)
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
    """SIGTERM every node, then SIGKILL what is left after ``grace`` seconds."""
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
            print(f"  {node['name']}: {node['http']}  {node['ws']}")
    print("funded accounts (1,000,000 ONE on every shard; development keys, public):")
    for account in manifest["funded_accounts"]:
        print(f"  {account['address']}  {account['eth_address']}  {account['private_key']}")
