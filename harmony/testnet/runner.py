"""``harmony testnet run``: build the network a manifest describes, start a node per host, run the load
and the perturbations, check the invariants, write the report, and take everything down (also on Ctrl-C,
SIGTERM or a crash of the runner: the caller's ``finally`` and the network's own signal handlers).

Order: files (genesis, keystores, ``node.toml`` bound to each host's address; node ``s0v0`` is the bootnode),
network up, nodes started, first block on every shard, the counter contracts deployed, then for
``duration_s`` the load and the perturbations with a live display, then every perturbation healed, the load
settled (every accepted transaction final, every cross-shard credit arrived), every node caught up, and the
observations read for :mod:`harmony.testnet.invariants`.
"""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from harmony.cli.devnet import (
    VDF_PROVERS,
    NodeToml,
    rpc_call,
    write_bls_keystore,
    write_genesis,
    write_node_toml,
)
from harmony.testnet import invariants as inv
from harmony.testnet.fence_capture import Carriers, FenceCapture, Watched
from harmony.testnet.fleet import Fleet, Loopback, NodeProcess, Substrate, TestnetError, compile_builds
from harmony.testnet.load import GAS_PRICE, LoadGenerator, SentTx
from harmony.testnet.manifest import MAX_VALIDATORS, Kind, Manifest
from harmony.testnet.observe import (
    Monitor,
    balances,
    count_log_lines,
    counter_value,
    double_sign_reports,
    fenced_answer,
    inclusion_counts,
    read_chain,
    receipt,
    signer_address,
)
from harmony.testnet.perturb import Perturber
from harmony.testnet.report import RunResult
from harmony.testnet.staking import EXTERNAL_KEY_BASE, FIRST_ACCOUNT, External, create_validator, registered

ACCOUNTS = FIRST_ACCOUNT + MAX_VALIDATORS
"""Funded development accounts in the genesis (the load's senders, then one per external validator)."""
P2P_PORT, HTTP_PORT, WS_PORT, METRICS_PORT = 9000, 9500, 9800, 9900
STARTUP_S = 240.0
SETTLE_S = 120.0
CATCH_UP_S = 90.0
OVERTIME_S = 600.0
"""How long the load may run past ``duration_s`` for the perturbations still to come."""
VDF_ITERATIONS = 200_000
READERS = 8
"""Concurrent JSON-RPC readers after the run (chains, receipts)."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run a manifest."""

    manifest: Manifest
    root: Path
    """The run's folder: node data, logs, the report."""
    prefix: str = "hmy"
    """The network's name prefix (namespaces ``{prefix}-{host}``); distinct per concurrent run."""
    loopback: bool = False
    build: Path | None = None
    """The default other build for upgrades (a source tree holding ``harmony/``); None: this one."""
    seed: int = 0
    quiet: bool = False
    accounts: int = ACCOUNTS
    """Funded development accounts in the genesis (at least :data:`ACCOUNTS`; benchmarks with many senders
    ask for more)."""


def make_substrate(options: RunOptions) -> Substrate:
    """The namespace network of the manifest (or loopback)."""
    if options.loopback:
        return Loopback()
    from harmony.testnet.network import HostSpec, Network  # noqa: PLC0415 (needs root)

    m = options.manifest
    hosts = [HostSpec(n.name, n.region, float(n.uplink_mbit), float(n.downlink_mbit)) for n in m.nodes]
    latency = {pair: float(ms) for pair, ms in m.latency_ms.items()}
    return Network(options.prefix, hosts, latency, seed=options.seed)


def prepare(options: RunOptions, substrate: Substrate) -> list[NodeProcess]:
    """Genesis, keystores, peer keys and one ``node.toml`` per node, bound to its host's address."""
    from harmony.p2p.keys import load_or_create_peer_key, peer_id_of  # noqa: PLC0415 - loads libp2p

    m = options.manifest
    root = options.root
    root.mkdir(parents=True, exist_ok=True)
    funded = max(ACCOUNTS, options.accounts)
    write_genesis(
        root, funded, m.validators, vdf_iterations=VDF_ITERATIONS, fenced=m.fenced(), params=m.params
    )
    loopback = isinstance(substrate, Loopback)
    plans = []
    for number, spec in enumerate(m.nodes):
        data = root / spec.name
        data.mkdir(parents=True, exist_ok=True)
        if spec.role == "validator":
            write_bls_keystore(data, spec.shard, spec.index)
        elif spec.role == "external":
            write_bls_keystore(data, 0, EXTERNAL_KEY_BASE + spec.index)
        peer = peer_id_of(load_or_create_peer_key(data / "p2p.key"))
        offset = number if loopback else 0
        ip = substrate.ip(spec.name)
        plans.append(
            (
                spec,
                data,
                peer,
                ip,
                P2P_PORT + offset,
                HTTP_PORT + offset,
                WS_PORT + offset,
                METRICS_PORT + offset,
            )
        )
    boot = plans[0]
    byzantine_from_start = {
        name for p in m.perturbations if p.kind is Kind.BYZANTINE and p.at_s == 0 for name in p.nodes
    }
    bootnode = f"/ip4/{boot[3]}/tcp/{boot[4]}/p2p/{boot[2]}"
    firsts = {p[0].shard: p for p in reversed(plans)}
    endpoints = tuple(
        f"http://{firsts[s][3]}:{firsts[s][5]} ws://{firsts[s][3]}:{firsts[s][6]}" for s in range(m.shards)
    )
    nodes = []
    for spec, data, _peer, ip, p2p, http, ws, metrics in plans:
        toml = NodeToml(
            shard_id=spec.shard,
            p2p_port=p2p,
            http_port=http,
            ws_port=ws,
            bootnodes=() if spec.name == boot[0].name else (bootnode,),
            bls=spec.role != "full",
            vdf_compute=spec.role == "validator" and spec.shard == 0 and spec.index < VDF_PROVERS,
            phase_timeout_ms=m.phase_timeout_ms,
            block_time_ms=m.block_time_ms,
            shard_endpoints=endpoints,
            host=ip,
            metrics_port=metrics,
            equivocate=spec.name in byzantine_from_start,
            propagation=m.propagation,
            tx_relay=m.tx_relay,
            archive=firsts[spec.shard][0].name == spec.name,  # the checks read every block of it
        )
        write_node_toml(data, toml)
        nodes.append(NodeProcess(spec, data, toml, ip))
    return nodes


RUN_FILES = ("genesis.json", "report.md", "report.json", "timeline.png")


def clear_run_folder(root: Path, manifest: Manifest) -> None:
    """Remove an earlier run from ``root`` (its nodes and files); refuse a folder holding other things."""
    if not root.exists():
        return
    if not root.is_dir():
        raise TestnetError(f"--dir {root}: not a folder")
    ours = {*RUN_FILES, *(n.name for n in manifest.nodes)}
    if any(root.iterdir()) and not (root / "genesis.json").exists():
        raise TestnetError(f"--dir {root}: not empty and holds no earlier testnet run; name a new folder")
    for entry in root.iterdir():
        if entry.name in ours:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        elif entry.is_dir() and (entry / "node.toml").exists():
            shutil.rmtree(entry)  # a node of an earlier manifest


class Runner:
    """One run of a manifest (call :meth:`run`; :meth:`teardown` always, in a ``finally``)."""

    def __init__(self, options: RunOptions, substrate: Substrate, console: Console | None = None) -> None:
        self.options = options
        self.m = options.manifest
        self.substrate = substrate
        self.console = console or Console(stderr=True, quiet=options.quiet)
        self.fleet: Fleet | None = None
        self.monitor: Monitor | None = None
        self.perturber: Perturber | None = None
        self.load: LoadGenerator | None = None
        self.unexpected: dict[str, int | None] = {}
        self.externals: list[External] = []
        self.load_started_unix = 0
        """Unix second the load started (the longest gap between blocks is measured from it)."""
        self.capture: FenceCapture | None = None
        self.began = time.monotonic()

    def say(self, text: str) -> None:
        """A progress line on the console (stderr), with the seconds since the run began."""
        self.console.print(f"[{time.monotonic() - self.began:6.1f} s] {text}")

    def endpoints(self, shard: int) -> list[str]:
        """Live nodes of ``shard``."""
        return self.fleet.live(shard) if self.fleet else []

    # ------------------------------------------------------------------------------------------ the run

    def start_network(self) -> None:
        """The network, the files and the nodes, up to the first block on every shard."""
        clear_run_folder(self.options.root, self.m)
        up = getattr(self.substrate, "up", None)
        if callable(up):
            self.say(f"building the network ({len(self.m.nodes)} hosts, prefix {self.options.prefix}) …")
            up()
        nodes = prepare(self.options, self.substrate)
        here = Path(__file__).resolve().parents[2]
        upgrades = [p for p in self.m.perturbations if p.kind is Kind.UPGRADE]
        compile_builds([here, *(p.build or self.options.build or here for p in upgrades)])
        fleet = self.fleet = Fleet(self.substrate, nodes)
        self.say(f"starting {len(nodes)} nodes …")
        for node in nodes:
            fleet.start(node.spec.name)
        self._wait_first_blocks()

    def run(self) -> RunResult:
        """Everything from the files to the invariants (the caller tears down)."""
        self.start_network()
        assert self.fleet is not None
        fleet = self.fleet
        load = self.load = LoadGenerator(
            self.m.load, self.m.shards, self.endpoints, self.options.seed, chain_id=self.m.params.chain_id
        )
        watched = load.watched()
        before = self._value(watched)
        if self.m.load.contract_percent:
            self.say("load: deploying a counter contract on every shard …")
            for shard in load.deploy_contracts():
                self.say(f"load: shard {shard}'s counter was not final in time; its calls are left out")
        for spec in self.m.nodes:
            if spec.role == "external":
                self.say(f"staking: create-validator for {spec.name} …")
                self.externals.append(
                    create_validator(
                        fleet.nodes[spec.name].data, spec.index, self._reference(0), self.m.network
                    )
                )
        self._start_capture()
        start = time.monotonic()
        self.load_started_unix = int(time.time())
        monitor = self.monitor = Monitor(self.m.shards, self.endpoints, start)
        monitor.thread.start()
        perturber = self.perturber = Perturber(
            self.m, fleet, self.substrate, monitor.heads, start=start, default_build=self.options.build
        )
        self.say(
            f"running the load and {len(self.m.perturbations)} perturbations for {self.m.duration_s} s …"
        )
        perturber.begin()
        until = start + self.m.duration_s
        sender = threading.Thread(target=load.run, args=(float("inf"),), name="testnet-load", daemon=True)
        sender.start()
        self._show_progress(until)
        self.say("healing what is still perturbed …")
        perturber.finish(timeout=CATCH_UP_S * max(1, len(self.m.nodes)))
        load.stop.set()
        sender.join(30)
        self.record_exits()
        self.say("settling: every accepted transaction final, every credit arrived …")
        open_ = load.settle(SETTLE_S)
        self._wait_credits(load, SETTLE_S)
        heads = self._catch_up()
        end = time.monotonic() - start
        monitor.stop.set()
        if self.capture is not None:
            self.capture.stop()
        self.record_exits()
        self.say("reading the chains and checking the invariants …")
        result = self._check(load, before, watched, heads, end)
        result.transactions["without_receipt_after_settle"] = open_
        return result

    def _start_capture(self) -> None:
        """With a fence, capture from now on what every node outside it receives of the fenced shard."""
        assert self.fleet is not None
        fleet, m = self.fleet, self.m
        if not m.fences:
            return
        carriers = [Carriers.of(m.network, f.shard) for f in m.fences]

        def watched() -> list[tuple[Watched, int]]:
            out = []
            with fleet.lock:
                for n in fleet.nodes.values():
                    inside = frozenset(f.shard for f in m.fences if m.inside_fence(n.spec, f.shard))
                    outside = frozenset(f.shard for f in m.fences) - inside
                    if n.running:
                        out.append((Watched(n.spec.name, n.spec.shard, n.metrics, outside, inside), n.starts))
            return out

        self.capture = FenceCapture(carriers, watched)
        self.capture.scrape()
        self.capture.start()

    def _show_progress(self, until: float) -> None:
        """The live display until ``until`` and, past it, until the last perturbation is over (at most
        :data:`OVERTIME_S` more: on a slow machine the load runs longer rather than skip a perturbation)."""
        assert self.monitor is not None and self.perturber is not None
        columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
        total = float(self.m.duration_s)
        late = until + OVERTIME_S
        with Progress(*columns, console=self.console, transient=False) as progress:
            task = progress.add_task("load and perturbations", total=total)
            while (left := until - time.monotonic()) > 0 or (
                self.perturber.thread.is_alive() and time.monotonic() < late
            ):
                left = max(left, 0.5)
                heads = self.monitor.heads()
                active = self.perturber.active()
                sent = len(self.load.sent) if self.load else 0
                text = " ".join(f"s{s}:{h}" for s, h in sorted(heads.items()))
                doing = f" [{'; '.join(active)}]" if active else ""
                progress.update(task, completed=total - left, description=f"heads {text} tx {sent}{doing}")
                self.record_exits()
                time.sleep(min(0.5, left))
            progress.update(task, completed=total)

    def record_exits(self) -> None:
        if self.fleet is None:
            return
        for name in self.fleet.check_exits():
            self.say(
                f"[red]node {name} exited by itself[/red]: see {self.fleet.nodes[name].data / 'node.log'}"
            )
            self.unexpected[name] = self.fleet.nodes[name].unexpected_exits[-1]

    def _wait_first_blocks(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        pending = set(range(self.m.shards))
        self.say("waiting for the first block on every shard …")
        while pending:
            self.record_exits()
            if self.unexpected:
                raise TestnetError(
                    f"node(s) {', '.join(self.unexpected)} exited during start-up: see node.log"
                )
            for shard in list(pending):
                for url in self.endpoints(shard):
                    try:
                        if int(rpc_call(url, "hmyv2_blockNumber", [], 3.0)) >= 1:
                            pending.discard(shard)
                            break
                    except (OSError, ValueError):
                        continue
            if time.monotonic() > deadline:
                names = ", ".join(f"shard {s}" for s in sorted(pending))
                raise TestnetError(f"no block on {names} after {STARTUP_S:.0f} s: see the node.log files")
            time.sleep(0.5)

    def _value(self, addresses: list[bytes]) -> dict[int, dict[bytes, int]]:
        """Balances of ``addresses`` on every shard (at each shard's reference node's head)."""
        out = {}
        for shard in range(self.m.shards):
            url = self._reference(shard)
            out[shard] = balances(url, addresses)
        return out

    def _reference(self, shard: int) -> str:
        urls = self.endpoints(shard)
        if not urls:
            raise TestnetError(f"no live node on shard {shard}")
        best, best_head = urls[0], -1
        for url in urls:
            try:
                head = int(rpc_call(url, "hmyv2_blockNumber", [], 5.0))
            except (OSError, ValueError):
                continue
            if head > best_head:
                best, best_head = url, head
        return best

    def _wait_credits(self, load: LoadGenerator, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        owed = load.owed()
        while time.monotonic() < deadline:
            held = self._held(owed)
            if all(held.get(k, 0) >= v for k, v in owed.items()):
                return
            time.sleep(1.0)

    def _held(self, owed: dict[tuple[bytes, int], int]) -> dict[tuple[bytes, int], int]:
        out = {}
        for shard in range(self.m.shards):
            addresses = sorted({a for a, s in owed if s == shard})
            if addresses:
                for address, value in balances(self._reference(shard), addresses).items():
                    out[(address, shard)] = value
        return out

    def _catch_up(self) -> dict[int, int]:
        """Wait until every running node has its shard's head as it was when the wait began."""
        assert self.fleet is not None
        targets = {}
        for shard in range(self.m.shards):
            targets[shard] = int(rpc_call(self._reference(shard), "hmyv2_blockNumber", [], 5.0))
        deadline = time.monotonic() + CATCH_UP_S
        for node in self.fleet.nodes.values():
            while node.running and not node.spec.fenced_out and time.monotonic() < deadline:
                try:
                    if int(rpc_call(node.http, "hmyv2_blockNumber", [], 5.0)) >= targets[node.spec.shard]:
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.5)
        return targets

    # --------------------------------------------------------------------------------------- the checks

    def _check(
        self,
        load: LoadGenerator,
        before: dict[int, dict[bytes, int]],
        watched: list[bytes],
        heads: dict[int, int],
        end: float,
    ) -> RunResult:
        assert self.fleet is not None and self.monitor is not None and self.perturber is not None
        m = self.m
        chains: dict[int, dict[str, dict[int, inv.BlockSeen]]] = {s: {} for s in range(m.shards)}
        running = [node for node in self.fleet.nodes.values() if node.running and not node.spec.fenced_out]

        def read(node: NodeProcess) -> dict[int, inv.BlockSeen] | str:
            try:
                return read_chain(node.http, node.spec.shard, heads[node.spec.shard])
            except (OSError, ValueError) as exc:
                return f"reading {node.spec.name}'s chain: {exc}"

        with ThreadPoolExecutor(READERS) as pool:
            for node, got in zip(running, pool.map(read, running), strict=True):
                if isinstance(got, str):
                    self.perturber.errors.append(got)
                else:
                    chains[node.spec.shard][node.spec.name] = got
        reference = {s: max(c.values(), key=len) if c else {} for s, c in chains.items()}
        included = {s: inclusion_counts(reference[s]) for s in reference}
        accepted = {t.hash: t.shard for t in load.sent if t.accepted}
        once, lost, dup_tx = inv.exactly_once(accepted, included)
        owed = load.owed()
        held = self._held(owed)
        credits, dup_credit = inv.credited_once(owed, held)
        fees, calls = self._fees_and_calls(load)
        counted = {s: counter_value(self._reference(s), c) for s, c in load.contracts.items()}
        after = self._value(watched)
        in_flight = sum(max(0, v - held.get(k, 0)) for k, v in owed.items())
        total_before = sum(sum(b.values()) for b in before.values())
        total_after = sum(sum(b.values()) for b in after.values())
        equivocators = [n for p in m.perturbations if p.kind is Kind.BYZANTINE for n in p.nodes]
        honest_logs = [
            n.data / "node.log" for name, n in self.fleet.nodes.items() if name not in equivocators
        ]
        heals = self.perturber.heals()
        recoveries = inv.recovery_times(self.monitor.samples, heals, m.shards, end)
        bound = 2 * m.phase_timeout_ms / 1000 + 2 * m.block_time_ms / 1000
        checks = [
            inv.no_fork(chains),
            inv.no_double_sign(chains),
            inv.equivocator_caught(
                equivocators, double_sign_reports(honest_logs), dict.fromkeys(equivocators)
            ),
            once,
            credits,
            inv.counters_match(calls, counted)
            if load.contracts
            else inv.Check("contract calls counted once"),
            inv.supply_conserved(total_before, total_after, fees, in_flight),
            inv.liveness(recoveries, bound),
            inv.processes(self.unexpected, set()),
            registered(self._reference(0), self.externals),
            *self._fence_checks(load, owed, held),
        ]
        signing: dict[str, dict[str, float | int]] = {}
        gaps = {}
        for shard in range(m.shards):
            blocks = [b for n, b in sorted(reference[shard].items()) if n > 0]
            keys = {
                spec.name: signer_address(shard, spec.index)
                for spec in m.nodes
                if spec.role == "validator" and spec.shard == shard
            }
            signing.update(inv.signing(blocks, keys, self.perturber.out_of_service()))
            # from the load's start: the first blocks of a fresh network come seconds apart while its
            # nodes connect (8 s between blocks 1 and 2 on the rolling upgrade), which is not the run's
            gaps[shard] = inv.longest_gap([b for b in blocks if b.time_s >= self.load_started_unix])
        kinds: dict[str, int] = {}
        for t in load.sent:
            kinds[t.kind] = kinds.get(t.kind, 0) + 1
        kinds["accepted"] = len(accepted)
        kinds["never_accepted"] = sum(1 for t in load.sent if not t.accepted)
        return RunResult(
            name=m.name,
            substrate="loopback" if isinstance(self.substrate, Loopback) else "namespaces",
            checks=checks,
            events=self.perturber.events,
            samples=list(self.monitor.samples),
            views=list(self.monitor.views),
            blocks={s: heads[s] for s in heads},
            lost=lost,
            duplicated=dup_tx + dup_credit,
            recoveries_s=[round(r, 2) for r in recoveries],
            signing=signing,
            longest_gap_s=gaps,
            transactions=kinds,
            errors=list(self.perturber.errors),
            chains_read=sorted(name for c in chains.values() for name in c),
            fence_leaks=self._fence_leaks(checks),
        )

    def _fence_checks(
        self, load: LoadGenerator, owed: dict[tuple[bytes, int], int], held: dict[tuple[bytes, int], int]
    ) -> list[inv.Check]:
        """With a fence: nothing of it reached an outside node, its outsiders were refused, and transfers
        crossed it both ways exactly once."""
        assert self.fleet is not None
        m = self.m
        if not m.fences or self.capture is None:
            return []
        outside = [n.name for n in m.nodes if any(not m.inside_fence(n, f.shard) for f in m.fences)]
        crossing = [(t.shard, t.to_shard, t.to) for t in load.sent if t.kind == "cross" and t.accepted]
        return [
            inv.fence_leaks(self.capture.totals(), outside, self.capture.totals(inside=True)),
            self._outsiders_refused(),
            inv.fenced_transfers(crossing, owed, held, set(m.fenced())),
        ]

    def _outsiders_refused(self) -> inv.Check:
        """Per full node of a fenced shard: the members' logs naming its refusal, and its RPC's answer."""
        from harmony.p2p.keys import load_or_create_peer_key, peer_id_of  # noqa: PLC0415 - loads libp2p

        assert self.fleet is not None
        nodes = self.fleet.nodes.values()
        refusals: dict[str, int] = {}
        answers: dict[str, str] = {}
        for node in nodes:
            if not node.spec.fenced_out:
                continue
            peer = peer_id_of(load_or_create_peer_key(node.data / "p2p.key"))
            members = [n.data / "node.log" for n in nodes if self.m.inside_fence(n.spec, node.spec.shard)]
            refusals[node.spec.name] = count_log_lines(members, f"peer {peer} is outside the fence")
            if node.running:
                answers[node.spec.name] = fenced_answer(node.http)
        return inv.outsiders_refused(refusals, answers)

    @staticmethod
    def _fence_leaks(checks: list[inv.Check]) -> int | None:
        for check in checks:
            if check.name == "no fenced data to an outside node":
                leaks = check.detail.get("fence_leaks")
                return leaks if isinstance(leaks, int) else None
        return None

    def _fees_and_calls(self, load: LoadGenerator) -> tuple[int, dict[int, int]]:
        """Fees the load paid (gas used × price of every final transaction) and successful calls per shard."""
        fees = 0
        calls: dict[int, int] = dict.fromkeys(load.contracts, 0)

        def find(sent: SentTx) -> dict[str, Any] | None:
            for url in self.endpoints(sent.shard)[:2]:
                try:
                    found = receipt(url, sent.hash)
                except (OSError, ValueError):
                    continue
                if found:
                    return found
            return None

        accepted = [sent for sent in load.sent if sent.accepted]
        with ThreadPoolExecutor(READERS) as pool:
            receipts = list(pool.map(find, accepted))
        for sent, found in zip(accepted, receipts, strict=True):
            if not found:
                continue
            fees += int(found["gasUsed"]) * GAS_PRICE
            if sent.kind == "call" and int(found["status"]) == 1:
                calls[sent.shard] = calls.get(sent.shard, 0) + 1
        return fees, calls

    # ---------------------------------------------------------------------------------------- teardown

    def teardown(self) -> None:
        """Stop every perturbation, the load and every node; take the network down. Idempotent."""
        if self.perturber is not None:
            self.perturber.stop.set()
        if self.load is not None:
            self.load.stop.set()
        if self.monitor is not None:
            self.monitor.stop.set()
        try:
            if self.fleet is not None:
                self.fleet.stop_all(grace=10.0)
        finally:
            self.substrate.down()
