"""Country fences over JSON-RPC, under ``hmy_`` and ``hmyv2_`` (ours, not Harmony's; issue 21).

* ``getFences()``: the network's fences from its genesis (any shard's node answers): each jurisdiction with
  the shards it fences, its attestors (bech32), minimum seats and stake share, attestation horizon; and
  ``shardFences``, each shard's jurisdiction or ``null``;
* ``getAttestations(address)``: the attestations the beacon chain's head state holds for a validator, each
  with its attestor, expiry epoch and whether it is live in the head's epoch (beacon nodes only).

The rules are :mod:`harmony.chain.fences` and :mod:`harmony.chain.staking.attestations`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from harmony.chain.staking.attestations import attestations_of
from harmony.encoding.address import to_bech32
from harmony.rpc.context import Method, MethodContext, MethodTable
from harmony.rpc.errors import ServerError
from harmony.rpc.formats import JSON, Style
from harmony.rpc.params import Params, address


def get_fences(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getFences()``: the genesis's fences (module docstring); an unfenced network has none."""
    fences = ctx.backend.chain.rules.fences
    return {
        "fences": [
            {
                "jurisdiction": fence.jurisdiction,
                "shards": list(fences.fenced_shards(fence.jurisdiction)),
                "attestors": [to_bech32(a) for a in fence.attestors],
                "minSeats": fence.min_seats,
                "minStakeShare": str(fence.min_stake_share),
                "maxAttestationEpochs": fence.max_attestation_epochs,
            }
            for fence in fences.fences
        ],
        "shardFences": list(fences.shard_fences) or [None] * ctx.backend.chain.params.shard_count,
    }


def get_attestations(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getAttestations(address)``: the validator's attestations in the head state (module docstring)."""
    validator = p.get(0, "address", address)
    backend = ctx.backend
    if backend.shard_id != 0:
        raise ServerError("attestations are on the beacon chain (shard 0): ask a shard-0 node")
    head = backend.require_header("latest")
    state = backend.state_at(head.number)
    return [
        {
            "jurisdiction": a.jurisdiction,
            "attestor": to_bech32(a.attestor),
            "expiryEpoch": a.expiry_epoch,
            "live": a.live_at(head.epoch),
        }
        for a in attestations_of(state, validator, backend.chain.rules.fences)
    ]


Handler = Callable[[Style, MethodContext, Params], JSON]

FENCES: Sequence[tuple[str, Handler, int]] = (
    ("getFences", get_fences, 0),
    ("getAttestations", get_attestations, 1),
)
"""The fence methods: name, handler, most parameters."""


def register_fences(table: MethodTable) -> None:
    """Register :data:`FENCES` under ``hmy_`` and ``hmyv2_``."""
    for style in (Style.V1, Style.V2):
        for name, handler, max_params in FENCES:
            table[f"{style.value}_{name}"] = Method(partial(handler, style), max_params)


__all__ = ["FENCES", "get_attestations", "get_fences", "register_fences"]
