"""Country fences over JSON-RPC, under ``hmy_`` and ``hmyv2_`` (ours, not Harmony's; issue 21).

* ``getFences()``: the network's fences from its genesis (any shard's node answers): each jurisdiction with
  the shards it fences, its attestors (bech32), minimum seats and stake share, attestation horizon; and
  ``shardFences``, each shard's jurisdiction or ``null``;
* ``getAttestations(address)``: the attestations the beacon chain's head state holds for a validator, each
  with its attestor, expiry epoch and whether it is live in the head's epoch (beacon nodes only);
* ``getFenceStatus()``: for the head's epoch, per jurisdiction, the attested seats each fenced shard holds
  and, when the election of that epoch found the fence short (too few attested validators elected, or too
  little stake) and the shards kept their previous members, why (beacon nodes only).

The rules are :mod:`harmony.chain.fences` and :mod:`harmony.chain.staking.attestations`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from harmony.chain.staking.attestations import attestations_of, live_attested
from harmony.chain.staking.epoch import fence_shortfalls
from harmony.encoding.address import to_bech32
from harmony.errors import HarmonyError
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


def _require_beacon(ctx: MethodContext) -> None:
    if ctx.backend.shard_id != 0:
        raise ServerError("attestations are on the beacon chain (shard 0): ask a shard-0 node")


def get_attestations(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getAttestations(address)``: the validator's attestations in the head state (module docstring)."""
    validator = p.get(0, "address", address)
    backend = ctx.backend
    _require_beacon(ctx)
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


def get_fence_status(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getFenceStatus()``: the fences in the head's epoch (module docstring)."""
    _require_beacon(ctx)
    backend = ctx.backend
    chain = backend.chain
    fences, params = chain.rules.fences, chain.params
    head = backend.require_header("latest")
    epoch = head.epoch
    committees = chain.db.get_shard_state(epoch)
    attested = live_attested(backend.state_at(head.number), fences, epoch)
    shortfalls = {}
    if epoch > 0 and fences.any:
        election = params.epoch_last_block(epoch - 1)
        try:
            parent_state = backend.state_at(election - 1)
            previous = chain.db.get_shard_state(epoch - 1)
            found = fence_shortfalls(parent_state, params, epoch - 1, chain.operator_slots, fences, previous)
        except HarmonyError as exc:
            raise ServerError(f"the election of epoch {epoch} cannot be replayed here: {exc}") from None
        shortfalls = {s.jurisdiction: s for s in found}
    out: list[JSON] = []
    for fence in fences.fences:
        shards = fences.fenced_shards(fence.jurisdiction)
        seats: dict[str, JSON] = {}
        for shard in shards:
            slots = committees.committee(shard).slots if committees is not None else ()
            allowed = attested.get(fence.jurisdiction, frozenset())
            seats[str(shard)] = sum(
                1 for s in slots if s.effective_stake is not None and s.ecdsa_address in allowed
            )
        short = shortfalls.get(fence.jurisdiction)
        out.append(
            {
                "jurisdiction": fence.jurisdiction,
                "epoch": epoch,
                "shards": list(shards),
                "attestedSeats": seats,
                "attestedValidators": len(attested.get(fence.jurisdiction, frozenset())),
                "short": short is not None,
                "reason": None if short is None else short.reason,
                "message": None if short is None else short.message,
            }
        )
    return out


Handler = Callable[[Style, MethodContext, Params], JSON]

FENCES: Sequence[tuple[str, Handler, int]] = (
    ("getFences", get_fences, 0),
    ("getAttestations", get_attestations, 1),
    ("getFenceStatus", get_fence_status, 0),
)
"""The fence methods: name, handler, most parameters."""


def register_fences(table: MethodTable) -> None:
    """Register :data:`FENCES` under ``hmy_`` and ``hmyv2_``."""
    for style in (Style.V1, Style.V2):
        for name, handler, max_params in FENCES:
            table[f"{style.value}_{name}"] = Method(partial(handler, style), max_params)


__all__ = ["FENCES", "get_attestations", "get_fence_status", "get_fences", "register_fences"]
