"""Black-box invariants of a testnet run, as pure functions over what was observed (issue 15 §3).

Each check returns a :class:`Check`: its name, whether it held, and the violations found (empty when it
held). The observations come from :mod:`harmony.testnet.observe` (JSON-RPC and the nodes' logs) and from the
load generator's record; nothing here does IO.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BlockSeen:
    """One block as a node served it."""

    shard: int
    number: int
    hash: str
    view: int
    time_s: int
    signers: tuple[str, ...] = ()
    """BLS public keys (hex) whose commit signatures finalized this block."""
    transactions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one invariant."""

    name: str
    violations: tuple[str, ...] = ()
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No violation."""
        return not self.violations


Chains = Mapping[str, Mapping[int, BlockSeen]]
"""Node name → height → the block it serves there."""


def no_fork(chains_by_shard: Mapping[int, Chains]) -> Check:
    """Every node serves the same block hash at every height of its shard."""
    bad = []
    for shard, chains in sorted(chains_by_shard.items()):
        seen: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for node, blocks in chains.items():
            for number, block in blocks.items():
                seen[number][block.hash].append(node)
        for number, by_hash in sorted(seen.items()):
            if len(by_hash) > 1:
                parts = "; ".join(f"{h[:12]}… on {', '.join(sorted(n))}" for h, n in by_hash.items())
                bad.append(f"shard {shard} height {number}: {parts}")
    return Check("no fork", tuple(bad))


def no_double_sign(chains_by_shard: Mapping[int, Chains]) -> Check:
    """No key's commit signature finalized two different blocks at one (shard, height, view)."""
    bad = []
    for shard, chains in sorted(chains_by_shard.items()):
        signers: dict[tuple[int, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for blocks in chains.values():
            for block in blocks.values():
                for key in block.signers:
                    signers[(block.number, block.view)][key].add(block.hash)
        for (number, view), by_key in sorted(signers.items()):
            for key, hashes in sorted(by_key.items()):
                if len(hashes) > 1:
                    bad.append(
                        f"shard {shard} height {number} view {view}: key {key[:16]}… signed {len(hashes)}"
                    )
    return Check("no double sign", tuple(bad))


def equivocator_caught(
    equivocators: Sequence[str], detections: int, slashed: Mapping[str, bool | None]
) -> Check:
    """With an equivocating validator, honest nodes detect its double signs; a staked one is slashed.

    ``detections`` counts "double sign detected" reports in the honest nodes' logs; ``slashed`` maps each
    equivocator to whether the beacon chain slashed it (None: a genesis key without stake, nothing to slash).
    """
    if not equivocators:
        return Check("equivocator caught", detail={"equivocators": []})
    bad = []
    if detections == 0:
        bad.append(f"no honest node detected the double signs of {', '.join(equivocators)}")
    bad += [f"{name} double-signed but was not slashed" for name, done in slashed.items() if done is False]
    return Check(
        "equivocator caught",
        tuple(bad),
        {"equivocators": list(equivocators), "detections": detections, "slashed": dict(slashed)},
    )


def exactly_once(
    accepted: Mapping[str, int], included: Mapping[int, Mapping[str, int]]
) -> tuple[Check, int, int]:
    """Every accepted transaction (hash → its shard) is in exactly one block of its shard.

    ``included`` maps shard → transaction hash → how many blocks of that shard hold it. Returns the check,
    the number lost (in no block) and the number duplicated (in more than one).
    """
    lost = [h for h, shard in accepted.items() if included.get(shard, {}).get(h, 0) == 0]
    dup = [h for h, shard in accepted.items() if included.get(shard, {}).get(h, 0) > 1]
    bad = [f"transaction {h} is in no block of shard {accepted[h]}" for h in lost[:20]]
    bad += [f"transaction {h} is in {included[accepted[h]][h]} blocks" for h in dup[:20]]
    return (
        Check("every accepted transaction final exactly once", tuple(bad), {"accepted": len(accepted)}),
        len(lost),
        len(dup),
    )


def credited_once(
    owed: Mapping[tuple[bytes, int], int], held: Mapping[tuple[bytes, int], int]
) -> tuple[Check, int]:
    """Each load recipient holds on each shard exactly what the final transfers to it sent there: less is a
    lost credit, more a duplicated one (a cross-shard receipt credited twice). Returns the check and the
    number of duplicated credits found."""
    bad = []
    dup = 0
    for key in sorted(set(owed) | set(held)):
        want, got = owed.get(key, 0), held.get(key, 0)
        if want != got:
            address, shard = key
            what = "more (a duplicated credit)" if got > want else "less (a lost credit)"
            dup += got > want
            bad.append(f"0x{address.hex()} on shard {shard} holds {got} atto, owed {want}: {what}")
    return Check("no lost or duplicated credit", tuple(bad), {"recipients": len(owed)}), dup


def counters_match(expected: Mapping[int, int], counted: Mapping[int, int]) -> Check:
    """Each shard's counter contract counts exactly the successful calls that were final."""
    bad = [
        f"shard {s}: the counter holds {counted.get(s, 0)}, {n} calls were final"
        for s, n in sorted(expected.items())
        if counted.get(s, 0) != n
    ]
    return Check("contract calls counted once", tuple(bad), {"calls": dict(expected)})


def supply_conserved(before: int, after: int, fees: int, in_flight: int) -> Check:
    """Over the load's closed set of accounts (senders and recipients, all shards): the value before equals
    the value after plus the fees paid plus the cross-shard value still in flight."""
    if before == after + fees + in_flight:
        return Check("supply conserved", detail={"before": before, "fees": fees, "in_flight": in_flight})
    diff = before - (after + fees + in_flight)
    return Check(
        "supply conserved",
        (
            f"load accounts: before {before}, after {after} + fees {fees} + in flight {in_flight}: "
            f"{diff} atto off",
        ),
    )


def recovery_times(
    samples: Sequence[tuple[float, int, int]], heals: Sequence[float], shards: int, end: float
) -> list[float]:
    """For each heal time, the seconds until every shard's head passed its height at the heal.

    ``samples`` are (time, shard, head) observations in time order. A shard that never advanced before
    ``end`` counts ``end - heal``.
    """
    out = []
    for heal in heals:
        worst = 0.0
        for shard in range(shards):
            at_heal = max((h for t, s, h in samples if s == shard and t <= heal), default=-1)
            later = [t for t, s, h in samples if s == shard and t > heal and h > at_heal]
            worst = max(worst, (later[0] if later else end) - heal)
        out.append(worst)
    return out


def liveness(recoveries: Sequence[float], bound_s: float) -> Check:
    """After each heal, every shard finalized a new block within ``bound_s`` (2 view-change timeouts and
    2 block times)."""
    bad = [
        f"heal {i}: a shard took {r:.1f} s > {bound_s:.1f} s" for i, r in enumerate(recoveries) if r > bound_s
    ]
    return Check("liveness after heal", tuple(bad), {"bound_s": bound_s, "recoveries_s": list(recoveries)})


def signing(
    blocks: Sequence[BlockSeen],
    keys: Mapping[str, str],
    out_of_service: Mapping[str, Sequence[tuple[int, int]]] | None = None,
) -> dict[str, dict[str, float | int]]:
    """Per validator (name → its key): blocks of its shard it signed, missed, and its signing rate.

    A miss is split by cause: ``missed_out`` counts the blocks finalized while the validator was out of
    service (``out_of_service``: name → inclusive height ranges, e.g. from its stop to its first signature
    after an upgrade), ``missed_late`` those finalized while it ran: the leader finalizes with the first
    signatures above 2/3 (reference §1.5) and does not wait, so on a 4-key committee a healthy key's vote is
    the one left out of about one block in four, and a key far from the others (the highest latency) far more
    often. Only ``missed_out`` measures what a perturbation cost."""
    ranges = out_of_service or {}
    out: dict[str, dict[str, float | int]] = {}
    total = sum(1 for b in blocks if b.signers)
    for name, key in keys.items():
        signed = sum(1 for b in blocks if key in b.signers)
        missed_out = sum(
            1
            for b in blocks
            if b.signers
            and key not in b.signers
            and any(lo <= b.number <= hi for lo, hi in ranges.get(name, ()))
        )
        out[name] = {
            "signed": signed,
            "missed": total - signed,
            "missed_out": missed_out,
            "missed_late": total - signed - missed_out,
            "rate": round(signed / total, 4) if total else 0.0,
        }
    return out


def longest_gap(blocks: Sequence[BlockSeen]) -> int:
    """The longest time between consecutive blocks, in seconds of their header times."""
    times = sorted(b.time_s for b in blocks)
    return max((b - a for a, b in itertools.pairwise(times)), default=0)


def processes(died: Mapping[str, int | None], killed: set[str]) -> Check:
    """No node process exited but those the manifest killed (``died``: name → exit status, None = running)."""
    bad = [
        f"{name} exited with {code}"
        for name, code in sorted(died.items())
        if code is not None and name not in killed
    ]
    return Check("no process died unexpectedly", tuple(bad))


@dataclass(frozen=True, slots=True)
class FenceReading:
    """What reached one node outside a fence of the fenced shard (``harmony.testnet.fence_capture``)."""

    messages: int = 0
    """Gossip messages of the shard's topics that arrived (delivered or refused by the node itself)."""
    answer_bytes: int = 0
    """Bytes of successful answers on the shard's stream protocols (sync, state sync, coded fetch)."""
    blocks: int = 0
    """The fenced shard's blocks the node stored (its head; 0 for another shard's node)."""
    readings: int = 0
    """How many times its metrics were read (0: nothing is known of it)."""


def fence_leaks(
    captured: Mapping[str, FenceReading], outside: Sequence[str], members: Mapping[str, FenceReading]
) -> Check:
    """Issue 21's goal: no block, state or transaction of a fenced shard reached a node outside its fence.
    ``captured`` is what every outside node received (name → reading); a node of ``outside`` never read is
    a violation too (its silence proves nothing), and so is a capture that saw no gossip of the shard at
    its members either (``members``: it would see nothing anywhere). ``detail["fence_leaks"]`` counts the
    leaks."""
    bad = []
    member_messages = sum(r.messages for r in members.values())
    if member_messages == 0:
        bad.append("the members themselves received no gossip of the fenced shard: the capture sees nothing")
    leaks = 0
    for name in sorted(outside):
        r = captured.get(name)
        if r is None or r.readings == 0:
            bad.append(f"{name}: its metrics were never read, so what it received is unknown")
            continue
        found = r.messages + (r.answer_bytes > 0) + r.blocks
        if found:
            leaks += found
            bad.append(
                f"{name} received {r.messages} gossip messages, {r.answer_bytes} bytes of answers and "
                f"stored {r.blocks} blocks of a fenced shard"
            )
    detail: dict[str, object] = {
        "fence_leaks": leaks,
        "outside_nodes": sorted(outside),
        "readings": {n: captured[n].readings for n in sorted(captured)},
        "member_messages": member_messages,
    }
    return Check("no fenced data to an outside node", tuple(bad), detail)


def outsiders_refused(refusals: Mapping[str, int], rpc_answers: Mapping[str, str]) -> Check:
    """Each full node of a fenced shard (an outsider trying to join it) was refused by the members (their
    logs name its peer: ``refusals``) and its own RPC refuses the shard's data (``rpc_answers``: what it
    answered a request for a block, ``refused`` as it must; a node not running at the end is not asked)."""
    bad = [f"no member refused {name}: it never tried, or got in" for name, n in refusals.items() if n == 0]
    bad += [f"{name}'s RPC: {answer}" for name, answer in rpc_answers.items() if answer != "refused"]
    return Check(
        "outsiders refused by the fence",
        tuple(sorted(bad)),
        {"member_refusals": dict(refusals), "rpc_answers": dict(rpc_answers)},
    )


def fenced_transfers(
    transfers: Sequence[tuple[int, int, bytes]],
    owed: Mapping[tuple[bytes, int], int],
    held: Mapping[tuple[bytes, int], int],
    fenced: Collection[int],
) -> Check:
    """Cross-shard transfers into and out of each fenced shard happened and each was credited exactly once.
    ``transfers`` are the accepted cross-shard transfers as (source shard, destination shard, recipient);
    a fenced shard with no transfer in or none out is a violation (the run did not show that they work)."""
    bad = []
    detail: dict[str, object] = {}
    for shard in sorted(fenced):
        into = [t for t in transfers if t[1] == shard and t[0] != shard]
        out_of = [t for t in transfers if t[0] == shard and t[1] != shard]
        detail[f"shard_{shard}"] = {"into": len(into), "out_of": len(out_of)}
        for direction, items in (("into", into), ("out of", out_of)):
            if not items:
                bad.append(f"no cross-shard transfer {direction} fenced shard {shard} was accepted")
            wrong = sorted(
                {(to, dest) for _src, dest, to in items if held.get((to, dest), 0) != owed.get((to, dest), 0)}
            )
            bad += [
                f"a transfer {direction} fenced shard {shard}: 0x{to.hex()} on shard {dest} holds "
                f"{held.get((to, dest), 0)} atto, owed {owed.get((to, dest), 0)}"
                for to, dest in wrong[:10]
            ]
    return Check("cross-shard transfers into and out of a fence exactly once", tuple(bad), detail)
