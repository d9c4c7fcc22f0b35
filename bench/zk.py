"""Range-proof benchmark (issue 22): prove and verify times, proof sizes, the precompile's gas.

Run: ``.venv/bin/python bench/zk.py``. Medians over several runs. The baseline, measured in the same run, is
an ecrecover (what the EVM's 0x01 precompile does for 3,000 gas); the ratio prices the range-proof precompile
(``harmony.state.range_precompile.RANGE_PROOF_GAS``), beside EIP-1108's rule of thumb of 35 Mgas per second.
It also times the verifier's one multi-scalar sum alone (libsecp256k1's point operations through coincurve)
to show how much of a verification is curve arithmetic and how much is Python. Goals: verify ≤ 20 ms,
proof ≤ 1 KB. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey, recover_address
from harmony.crypto.zk.generators import vector_bases
from harmony.crypto.zk.group import N, Point, multi_scalar
from harmony.crypto.zk.pedersen import commit
from harmony.crypto.zk.range_proof import RangeProof, prove_at_least, prove_range, verify_range
from harmony.state.range_precompile import RANGE_PROOF_GAS, verify_range_input

GOAL_VERIFY_MS = 20.0
GOAL_PROOF_BYTES = 1024
ECRECOVER_GAS = 3_000
EIP1108_GAS_PER_SECOND = 35_000_000


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of one call of ``fn`` over ``runs`` calls."""
    return statistics.median(timeit.repeat(fn, number=1, repeat=runs))


def main() -> None:
    """Measure and print every figure."""
    rng = random.Random(22)

    def scalar() -> int:
        return rng.randrange(1, N)

    results: dict[str, float] = {"load_average_1m": round(os.getloadavg()[0], 2)}
    vector_bases(1024)  # the generators are derived once per process: not part of a proof's cost

    msg = keccak256(b"bench")
    signature = PrivateKey(keccak256(b"issuer")).sign_hash(msg)
    # timed in batches about as long as one verification, so both see the same preemption on a loaded machine
    batch = 120
    ecrecover_s = median_seconds(lambda: [recover_address(msg, signature) for _ in range(batch)], 31) / batch
    results["ecrecover_ms"] = round(ecrecover_s * 1e3, 4)
    print(f"baseline: ecrecover                    {ecrecover_s * 1e3:8.3f} ms")

    value, blinding, bound = 2_500_000, scalar(), 1_000_000
    proof = prove_at_least(value, blinding, bound, rng=scalar)
    raw = proof.to_bytes()
    data = bytes(commit(value, blinding).format()) + bound.to_bytes(32, "big") + raw
    prove_s = median_seconds(lambda: prove_at_least(value, blinding, bound, rng=scalar), 9)
    verify_samples = timeit.repeat(lambda: verify_range_input(data), number=1, repeat=31)
    verify_s = statistics.median(verify_samples)
    assert verify_range_input(data)
    ratio = verify_s / ecrecover_s
    results |= {
        "prove_ms": round(prove_s * 1e3, 2),
        "verify_ms": round(verify_s * 1e3, 2),
        "verify_fastest_ms": round(min(verify_samples) * 1e3, 2),
        "proof_bytes": len(raw),
        "verify_to_ecrecover_ratio": round(ratio, 1),
        "gas_from_ecrecover_ratio": round(ratio * ECRECOVER_GAS),
        "gas_from_eip1108_rate": round(verify_s * EIP1108_GAS_PER_SECOND),
        "precompile_gas": RANGE_PROOF_GAS,
    }
    print(f"one 64-bit value: prove               {prove_s * 1e3:8.2f} ms")
    print(
        f"one 64-bit value: verify (precompile)  {verify_s * 1e3:8.2f} ms   goal {GOAL_VERIFY_MS:.0f} ms"
        f"  ({verify_s * 1e3 / GOAL_VERIFY_MS:.2f} of it)"
    )
    print(
        f"one 64-bit value: verify, fastest run  {min(verify_samples) * 1e3:8.2f} ms   (the least preempted)"
    )
    print(f"one 64-bit value: proof size           {len(raw):8d} B    goal {GOAL_PROOF_BYTES} B")
    print(
        f"verify / ecrecover = {ratio:.0f}: {ratio * ECRECOVER_GAS:,.0f} gas at ecrecover's price, "
        f"{verify_s * EIP1108_GAS_PER_SECOND:,.0f} at 35 Mgas/s; the precompile charges {RANGE_PROOF_GAS:,}"
    )

    # the verifier's one multi-scalar sum alone: 2·64 + 1 + 2·6 + 7 = 148 terms
    g_vec, h_vec = vector_bases(64)
    terms: list[tuple[int, Point]] = [(scalar(), p) for p in (*g_vec, *h_vec, *g_vec[:20])]
    msm_s = median_seconds(lambda: multi_scalar(terms), 31)
    results["msm_148_ms"] = round(msm_s * 1e3, 2)
    results["msm_share_of_verify"] = round(msm_s / verify_s, 2)
    print(
        f"the 148-term multi-scalar sum alone    {msm_s * 1e3:8.2f} ms   "
        f"({msm_s / verify_s:.0%} of a verification; {msm_s / 148 * 1e6:.0f} us per scalar multiple)"
    )

    for m in (2, 4, 8, 16):
        values = [rng.randrange(2**64) for _ in range(m)]
        blindings = [scalar() for _ in range(m)]
        agg, commitments = prove_range(values, blindings, rng=scalar)
        agg_bytes = agg.to_bytes()
        runs = 3 if m >= 8 else 5
        p_s = median_seconds(lambda: prove_range(values, blindings, rng=scalar), runs)  # noqa: B023
        v_s = median_seconds(lambda: verify_range(commitments, RangeProof.from_bytes(agg_bytes)), runs * 3)  # noqa: B023
        results[f"agg{m}_prove_ms"] = round(p_s * 1e3, 1)
        results[f"agg{m}_verify_ms"] = round(v_s * 1e3, 2)
        results[f"agg{m}_proof_bytes"] = len(agg_bytes)
        print(
            f"{m:2d} values aggregated: prove {p_s * 1e3:8.1f} ms, verify {v_s * 1e3:7.2f} ms "
            f"({v_s / m * 1e3:5.2f} ms per value), proof {len(agg_bytes)} B"
        )
    results["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    results["verify_goal_met"] = float(verify_s * 1e3 <= GOAL_VERIFY_MS)
    results["size_goal_met"] = float(len(raw) <= GOAL_PROOF_BYTES)
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
