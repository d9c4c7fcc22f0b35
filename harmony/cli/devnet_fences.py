"""The devnet's ``--fence SHARD=JURISDICTION`` (issue 21; ``docs/design/fenced-shards.md``): the genesis
fences SHARD to JURISDICTION, with a development attestor (:data:`DEV_ATTESTOR_INDEX`'s development
account key, funded on every shard so it can also send Revoke) allowed to attest validators for it.

The shard's genesis validators are attested by the genesis, so the devnet runs as before; a node started
on that shard without a seat key is outside the fence (no blocks, no gossip, RPC refusals), and
``harmony staking sign-attestation`` with the attestor's key (printed in the manifest: a development key,
public like every devnet key) attests a new validator.
"""

from __future__ import annotations

from dataclasses import replace

from harmony.chain.fences import Fence, FenceError, check_jurisdiction
from harmony.chain.genesis import Genesis, dev_account_key
from harmony.chain.params import ONE
from harmony.cli.common import CLIError
from harmony.cli.devnet_genesis import Fund
from harmony.encoding.address import to_bech32

DEV_ATTESTOR_INDEX = 9
"""The development account whose key attests for every ``--fence`` jurisdiction."""
DEV_ATTESTOR_FUND = 1_000 * ONE
"""What the attestor is given on every shard (a Revoke is a beacon transaction it pays for)."""
MAX_FENCE_ARG = 40


def parse_fence(text: str, shards: int) -> tuple[int, str]:
    """``SHARD=JURISDICTION`` (``1=EU``) for a devnet of ``shards`` shards; :class:`CLIError` naming
    ``--fence`` and what to write otherwise."""
    if len(text) > MAX_FENCE_ARG or text.count("=") != 1:
        raise CLIError(f"--fence {text[:MAX_FENCE_ARG]!r}: write SHARD=JURISDICTION, e.g. --fence 1=EU")
    raw_shard, raw_jurisdiction = (part.strip() for part in text.split("="))
    if not raw_shard.isascii() or not raw_shard.isdigit() or len(raw_shard) > 4:
        raise CLIError(f"--fence {text!r}: the shard is a number, e.g. --fence 1=EU")
    shard_id = int(raw_shard)
    if shard_id == 0:
        raise CLIError("--fence 0=…: the beacon chain (shard 0) is never fenced, every node needs it")
    if shard_id >= shards:
        raise CLIError(f"--fence {text!r}: the devnet runs shards 0 to {shards - 1}")
    try:
        jurisdiction = check_jurisdiction(raw_jurisdiction)
    except FenceError as exc:
        raise CLIError(f"--fence {text!r}: {exc}") from None
    return shard_id, jurisdiction


def fences_of(fence_args: list[str] | None, shards: int) -> dict[int, str]:
    """Each fenced shard's jurisdiction from the ``--fence`` entries; a shard fenced twice is refused."""
    fenced: dict[int, str] = {}
    for text in fence_args or []:
        shard_id, jurisdiction = parse_fence(text, shards)
        if shard_id in fenced:
            raise CLIError(f"--fence: shard {shard_id} is fenced twice ({fenced[shard_id]}, {jurisdiction})")
        fenced[shard_id] = jurisdiction
    return fenced


def with_fences(genesis: Genesis, fenced: dict[int, str]) -> Genesis:
    """``genesis`` with each shard of ``fenced`` fenced to its jurisdiction, attested for by the
    development attestor (module docstring); ``genesis`` itself when nothing is fenced."""
    if not fenced:
        return genesis
    attestor = dev_account_key(DEV_ATTESTOR_INDEX).address
    shards = tuple(replace(s, fence=fenced.get(s.shard_id, s.fence)) for s in genesis.shards)
    declared = {f.jurisdiction: f for f in genesis.fences}
    for jurisdiction in sorted(set(fenced.values()) - set(declared)):
        declared[jurisdiction] = Fence(jurisdiction, (attestor,))
    return replace(genesis, shards=shards, fences=tuple(declared.values()))


def attestor_fund(fenced: dict[int, str]) -> list[Fund]:
    """The development attestor's balance on every shard when a shard is fenced (none otherwise)."""
    if not fenced:
        return []
    return [Fund(dev_account_key(DEV_ATTESTOR_INDEX).address, DEV_ATTESTOR_FUND, "--fence attestor")]


def fences_manifest(fenced: dict[int, str]) -> dict[str, object]:
    """The fences as the manifest lists them, with the development attestor and its (public) key."""
    key = dev_account_key(DEV_ATTESTOR_INDEX)
    return {
        jurisdiction: {
            "shards": sorted(s for s, j in fenced.items() if j == jurisdiction),
            "attestor": to_bech32(key.address),
            "attestor_private_key": "0x" + key.secret.hex(),
        }
        for jurisdiction in sorted(set(fenced.values()))
    }


__all__ = [
    "DEV_ATTESTOR_FUND",
    "DEV_ATTESTOR_INDEX",
    "attestor_fund",
    "fences_manifest",
    "fences_of",
    "parse_fence",
    "with_fences",
]
