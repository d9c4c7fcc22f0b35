"""The leader's commit window on a real devnet: how many committee keys each block's aggregate names.

Runs ``harmony devnet`` (1 shard, 4 validator processes by default) twice for ``--seconds`` each: first
with ``--commit-window-ms 0`` (the leader finalizes at the first 2/3, the baseline), then with the window
(default 1000 ms, cut to end 200 ms before the next block is due). For every block finalized in the
measured stretch it reads the signer keys (``hmyv2_getBlockSignerKeys``) and reports:

* ``full_share``: blocks whose aggregate names every key;
* ``min_key_share``: the signing share of the key that signed least (below 2/3 over an epoch, a staked
  validator would count as not signing and lose its seat);
* ``block_time_s``: the mean interval between block timestamps (the window must not slow the chain).

With ``--nice-one`` the last validator runs at ``nice 19`` in both runs: the slower member a real network
has. The last line is one JSON object with both runs and the ratios.

    .venv/bin/python bench/commit_window.py --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.devnet_fixture import Devnet, rpc, start_devnet


def measure(root: Path, window_ms: int, args: argparse.Namespace) -> dict[str, Any]:
    """One devnet run with the given commit window; the figures of the module docstring."""
    net: Devnet = start_devnet(
        root,
        "--shards", "1",
        "--validators", str(args.validators),
        "--block-time-ms", str(args.block_time_ms),
        "--phase-timeout-ms", "5000",
        "--commit-window-ms", str(window_ms),
    )  # fmt: skip
    try:
        url = net.url(0, 0)
        if args.nice_one:
            slow = net.nodes(0)[-1]["name"]
            os.setpriority(os.PRIO_PROCESS, net.pid_of(slow), 19)
        time.sleep(args.warmup)
        first = net.height(url) + 1
        time.sleep(args.seconds)
        last = net.height(url) - 1  # the head's own aggregate may still grow in the next header
        keys = {m["bls-public-key"] for m in _committee(url)}
        counts: list[int] = []
        signed: dict[str, int] = dict.fromkeys(keys, 0)
        times: list[int] = []
        for number in range(first, last + 1):
            signers = {k.removeprefix("0x") for k in rpc(url, "hmyv2_getBlockSignerKeys", [number])}
            counts.append(len(signers & keys))
            for key in signers & keys:
                signed[key] += 1
            times.append(int(rpc(url, "hmyv2_getBlockByNumber", [number, {"fullTx": False}])["timestamp"]))
        blocks = len(counts)
        return {
            "window_ms": window_ms,
            "blocks": blocks,
            "full_share": round(sum(c == len(keys) for c in counts) / max(blocks, 1), 3),
            "mean_signers": round(sum(counts) / max(blocks, 1), 2),
            "min_key_share": round(min(signed.values()) / max(blocks, 1), 3),
            # header times are whole seconds: the mean interval over the stretch, not a median
            "block_time_s": round((times[-1] - times[0]) / (blocks - 1), 3) if blocks > 1 else None,
            "blocks_per_s": round(blocks / args.seconds, 2),
        }
    finally:
        net.stop()


def _committee(url: str) -> list[dict[str, Any]]:
    current = rpc(url, "hmyv2_getSuperCommittees")["current"]
    members: list[dict[str, Any]] = current["quorum-deciders"]["shard-0"]["committee-members"]
    return members


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60, help="measured stretch per run")
    parser.add_argument("--warmup", type=float, default=10, help="seconds before measuring")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--block-time-ms", type=int, default=1000)
    parser.add_argument("--window-ms", type=int, default=1000, help="the commit window of the second run")
    parser.add_argument("--nice-one", action="store_true", help="run the last validator at nice 19")
    args = parser.parse_args()
    if not 1 <= args.validators <= 4 or args.seconds <= 0 or not 0 < args.window_ms <= 60_000:
        parser.error("--validators 1..4, --seconds > 0, --window-ms 1..60000")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-commit-window-") as tmp:
        base = measure(Path(tmp) / "base", 0, args)
        print(f"no window:      {json.dumps(base)}", flush=True)
        window = measure(Path(tmp) / "window", args.window_ms, args)
        print(f"with window:    {json.dumps(window)}", flush=True)
    ratio = window["mean_signers"] / base["mean_signers"] if base["mean_signers"] else None
    print(f"full-aggregate share {base['full_share']} -> {window['full_share']}; load {load:.1f}")
    print(
        json.dumps(
            {
                "baseline": base,
                "window": window,
                "mean_signers_ratio": None if ratio is None else round(ratio, 2),
                "load": round(load, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
