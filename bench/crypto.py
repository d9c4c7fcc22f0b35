"""Crypto-layer benchmark: BLS, committee aggregation, secp256k1, keccak, VDF (design §4 figures).

Run: ``.venv/bin/python bench/crypto.py``. Prints one line per figure (median of several runs), then, as
the last line, one JSON object with every figure.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harmony.crypto.bitmap import aggregate_public_key, encode_bitmap, verify_aggregate
from harmony.crypto.bls import SecretKey, aggregate_signatures, sign_pop, verify, verify_pop
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey, recover_address
from harmony.crypto.vdf import vdf_prove, vdf_verify

RUNS = 5


def per_call_seconds(fn: Callable[[], object], calls: int, runs: int = RUNS) -> float:
    """Median over ``runs`` of the mean time of one call of ``fn`` over ``calls`` calls."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def main() -> None:
    """Measure and print every figure."""
    results: dict[str, float] = {}

    def report(key: str, value: float, text: str) -> None:
        results[key] = round(value, 3)
        print(text)

    msg = keccak256(b"block hash")
    keys = [SecretKey.key_gen(i.to_bytes(32, "big")) for i in range(1, 1001)]
    committee = [k.public_key for k in keys]
    sigs = [k.sign(msg) for k in keys]

    t = per_call_seconds(lambda: keys[0].sign(msg), 200)
    report("bls_sign_per_s", 1 / t, f"BLS sign                      {1 / t:10.0f} /s   ({t * 1e3:.3f} ms)")
    t = per_call_seconds(lambda: verify(committee[0], msg, sigs[0]), 100)
    report("bls_verify_per_s", 1 / t, f"BLS verify                    {1 / t:10.0f} /s   ({t * 1e3:.3f} ms)")
    proof = sign_pop(keys[0])
    t = per_call_seconds(lambda: verify_pop(committee[0], proof), 50)
    report("bls_pop_verify_ms", t * 1e3, f"BLS proof-of-possession check {t * 1e3:10.3f} ms")

    for n in (4, 250, 1000):
        members = committee[:n]
        bitmap = encode_bitmap(range(n), n)
        agg = aggregate_signatures(sigs[:n])
        assert verify_aggregate(members, bitmap, msg, agg)
        calls = 50 if n < 1000 else 20
        t = per_call_seconds(partial(verify_aggregate, members, bitmap, msg, agg), calls)
        report(
            f"bls_verify_aggregate_{n}_ms",
            t * 1e3,
            f"BLS bitmap + fast-aggregate-verify, {n:4d} signers {t * 1e3:8.3f} ms  ({1 / t:7.0f} /s)",
        )
        two_thirds = encode_bitmap(range(0, n, 3), n) if n > 4 else bitmap
        t = per_call_seconds(partial(aggregate_public_key, members, two_thirds), calls)
        report(f"bls_aggregate_pubkeys_{n}_ms", t * 1e3, f"  aggregate public key only   {t * 1e3:8.3f} ms")
    for n in (250, 1000):
        t = per_call_seconds(partial(aggregate_signatures, sigs[:n]), 20)
        report(f"bls_aggregate_sigs_{n}_ms", t * 1e3, f"BLS aggregate {n:4d} signatures  {t * 1e3:10.3f} ms")

    account = PrivateKey(keccak256(b"bench"))
    t = per_call_seconds(lambda: account.sign_hash(msg), 2000)
    report("secp256k1_sign_per_s", 1 / t, f"secp256k1 sign                {1 / t:10.0f} /s")
    ecdsa = account.sign_hash(msg)
    t = per_call_seconds(lambda: recover_address(msg, ecdsa), 2000)
    report("secp256k1_ecrecover_per_s", 1 / t, f"secp256k1 ecrecover (address) {1 / t:10.0f} /s")
    data = b"\x01" * 32
    t = per_call_seconds(lambda: keccak256(data), 20000)
    report("keccak256_32b_per_s", 1 / t, f"keccak-256 of 32 bytes        {1 / t:10.0f} /s")

    iterations = 200_000
    seed = keccak256(b"epoch seed")
    samples = []
    vdf = vdf_prove(seed, iterations)
    for _ in range(3):
        start = time.perf_counter()
        vdf = vdf_prove(seed, iterations)
        samples.append(time.perf_counter() - start)
    rate = iterations / statistics.median(samples)
    report(
        "vdf_prove_iterations_per_s", rate, f"VDF prove ({iterations} iterations) {rate:10.0f} iterations/s"
    )
    assert vdf_verify(seed, iterations, vdf)
    t = per_call_seconds(lambda: vdf_verify(seed, iterations, vdf), 20)
    report("vdf_verify_ms", t * 1e3, f"VDF verify                    {t * 1e3:10.3f} ms")

    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
