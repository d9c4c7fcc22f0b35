"""The staking group under ``hmy_`` and ``hmyv2_`` (reference §9.2 "Staking", §9.3 shapes).

Everything is read from the world state of a block (the head unless a method takes a block number): the
validator records and the validator registry of :mod:`harmony.chain.staking.records`, and the committees from
the shard states stored by epoch. Amounts are JSON integers in atto; ratios are quoted 18-decimal strings
(Go ``numeric.Dec``'s ``MarshalJSON``); addresses are bech32.

Per-epoch figures (signing counts, APR) compare the head's record with the record at the previous epoch's last
block, which is the snapshot the protocol rules use (reference §4.3, §5.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from harmony.chain.quorum import Roster
from harmony.chain.staking.election import AuctionResult, auction
from harmony.chain.staking.records import get_validator_wrapper, validator_addresses
from harmony.chain.staking.rewards import apr_since_snapshot, epoch_snapshot_number, key_earning
from harmony.chain.staking.supply import total_supply
from harmony.chain.state_api import WorldState
from harmony.encoding.address import to_bech32
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.rpc.backend import staking_owner
from harmony.rpc.context import Method, MethodContext, MethodTable
from harmony.rpc.errors import InvalidParams, ServerError
from harmony.rpc.formats import JSON, StakingInBlock, Style, hex_data, qty, staking_transaction_json
from harmony.rpc.params import Params, address, block_ref, hash32, hex_bytes, uint64
from harmony.types.block import Block
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState
from harmony.types.staking import MAX_STAKING_TX_SIZE, EposStatus
from harmony.types.validator import Delegation, ValidatorWrapper

VALIDATORS_PER_PAGE = 100
"""``getAllValidatorInformation`` page size (Go: 100)."""

_STATUS = {
    EposStatus.NIL: "nil",
    EposStatus.ACTIVE: "active",
    EposStatus.INACTIVE: "inactive",
    EposStatus.BANNED: "banned",
}


def _dec(value: Dec) -> str:
    return str(value)


def _wrapper(state: WorldState, addr: bytes) -> ValidatorWrapper | None:
    try:
        return get_validator_wrapper(state, addr)
    except HarmonyError:
        return None


def _require_wrapper(state: WorldState, addr: bytes) -> ValidatorWrapper:
    wrapper = _wrapper(state, addr)
    if wrapper is None:
        raise ServerError(f"validator {to_bech32(addr)} not found")
    return wrapper


def _require_beacon(ctx: MethodContext) -> None:
    if ctx.backend.shard_id != 0:
        raise ServerError("staking information is on the beacon chain (shard 0): ask a shard-0 node")


def _undelegations_json(d: Delegation) -> list[JSON]:
    return [{"amount": u.amount, "epoch": u.epoch} for u in d.undelegations]


def validator_json(wrapper: ValidatorWrapper) -> dict[str, JSON]:
    """A validator record as Go's ``Validator`` JSON, with its delegations."""
    v = wrapper.validator
    rates = v.commission.commission_rates
    return {
        "address": to_bech32(v.address),
        "bls-public-keys": [k.hex() for k in v.slot_pub_keys],
        "last-epoch-in-committee": v.last_epoch_in_committee,
        "min-self-delegation": v.min_self_delegation,
        "max-total-delegation": v.max_total_delegation,
        "rate": _dec(rates.rate),
        "max-rate": _dec(rates.max_rate),
        "max-change-rate": _dec(rates.max_change_rate),
        "update-height": v.commission.update_height,
        "name": v.description.name,
        "identity": v.description.identity,
        "website": v.description.website,
        "security-contact": v.description.security_contact,
        "details": v.description.details,
        "creation-height": v.creation_height,
        "delegations": [
            {
                "delegator-address": to_bech32(d.delegator_address),
                "amount": d.amount,
                "reward": d.reward,
                "undelegations": _undelegations_json(d),
            }
            for d in wrapper.delegations
        ],
    }


class _View:
    """The chain at one block, for one request: state, header, snapshot state and committees."""

    def __init__(self, ctx: MethodContext, number: int | None = None) -> None:
        backend = ctx.backend
        ref = "latest" if number is None else number
        self.header: Header = backend.require_header(ref)
        self.state = backend.state_at(self.header.number)
        self.ctx = ctx
        snapshot_number = epoch_snapshot_number(backend.chain.params, self.header.epoch, self.header.number)
        self.snapshot_header: Header = backend.require_header(snapshot_number)
        self.snapshot_state = backend.state_at(snapshot_number)

    def shard_state(self, epoch: int | None = None) -> ShardState | None:
        db = self.ctx.backend.chain.db
        return db.get_shard_state(self.header.epoch if epoch is None else epoch)


def _elected(shard_state: ShardState | None) -> dict[bytes, list[tuple[int, Dec]]]:
    """Address -> [(shard, effective stake)] of the external slots of a shard state."""
    out: dict[bytes, list[tuple[int, Dec]]] = {}
    if shard_state is None:
        return out
    for committee in shard_state.shards:
        for slot in committee.slots:
            if slot.effective_stake is not None:
                out.setdefault(slot.ecdsa_address, []).append((committee.shard_id, slot.effective_stake))
    return out


def validator_information(view: _View, addr: bytes) -> dict[str, JSON]:
    """``getValidatorInformation``: the record, this epoch's signing, lifetime figures and APR."""
    wrapper = _require_wrapper(view.state, addr)
    snapshot = _wrapper(view.snapshot_state, addr)
    signed = wrapper.counters.num_blocks_signed - (snapshot.counters.num_blocks_signed if snapshot else 0)
    to_sign = wrapper.counters.num_blocks_to_sign - (snapshot.counters.num_blocks_to_sign if snapshot else 0)
    percentage = Dec.from_int(signed).quo_int(to_sign) if to_sign > 0 else Dec.zero()
    elected = _elected(view.shard_state()).get(addr, [])
    winning = sum((stake for _, stake in elected), Dec.zero())
    status = wrapper.validator.status
    if elected:
        epos = "currently elected"
    elif status is EposStatus.ACTIVE:
        epos = "eligible to be elected next epoch"
    else:
        epos = "not eligible to be elected next epoch"
    apr = _apr(view, wrapper, snapshot)
    return {
        "validator": validator_json(wrapper),
        "current-epoch-performance": {
            "current-epoch-signing-percent": {
                "current-epoch-signed": signed,
                "current-epoch-to-sign": to_sign,
                "current-epoch-signing-percentage": _dec(percentage),
            },
            "epoch": view.header.epoch,
            "block": view.header.number,
        },
        "metrics": {"by-bls-key": _key_votes(view, wrapper)},
        "total-delegation": wrapper.total_delegation,
        "currently-in-committee": bool(elected),
        "epos-status": epos,
        "epos-winning-stake": _dec(winning) if elected else None,
        "booted-status": "banned" if status is EposStatus.BANNED else None,
        "active-status": _STATUS.get(status, "nil"),
        "lifetime": {
            "reward-accumulated": wrapper.block_reward,
            "blocks": {
                "to-sign": wrapper.counters.num_blocks_to_sign,
                "signed": wrapper.counters.num_blocks_signed,
            },
            "apr": _dec(apr),
            "epoch-apr": None,
            "epoch-blocks": None,
        },
    }


def _key_votes(view: _View, wrapper: ValidatorWrapper) -> list[JSON]:
    """``metrics.by-bls-key``: each elected key's vote on its shard (Go ``votepower.VoteOnSubcomittee``):
    its share of the staked group and of the whole committee (:class:`Roster`, the quorum's own rule), its
    effective stake, and its raw stake (the validator's total delegation over its keys, as the auction
    bids it), and ``earned-reward``: what the key earned in this epoch
    (:func:`~harmony.chain.staking.rewards.key_earning`, recorded where the reward is paid)."""
    state = view.shard_state()
    if state is None:
        return []
    addr = wrapper.validator.address
    keys = max(1, len(wrapper.validator.slot_pub_keys))
    raw = Dec.from_int(wrapper.total_delegation).quo_int(keys)
    share = view.ctx.backend.chain.params.harmony_vote_share
    out: list[JSON] = []
    for committee in state.shards:
        staked_total = committee.total_effective_stake()
        roster = Roster(committee, share)
        for index, slot in enumerate(committee.slots):
            if slot.ecdsa_address != addr or slot.effective_stake is None:
                continue
            group = Dec.zero() if staked_total.is_zero() else slot.effective_stake.quo(staked_total)
            out.append(
                {
                    "key": {
                        "bls-public-key": slot.bls_public_key.hex(),
                        "group-percent": _dec(group),
                        "effective-stake": _dec(slot.effective_stake),
                        "raw-stake": _dec(raw),
                        "earning-account": to_bech32(addr),
                        "overall-percent": _dec(roster.power_of([index])),
                        "shard-id": committee.shard_id,
                    },
                    "earned-reward": key_earning(view.state, slot.bls_public_key, view.header.epoch),
                }
            )
    return out


def _apr(view: _View, wrapper: ValidatorWrapper, snapshot: ValidatorWrapper | None) -> Dec:
    """The chain's APR rule (:func:`harmony.chain.staking.rewards.apr_since_snapshot`, reference §4.3)."""
    return apr_since_snapshot(wrapper, view.header.time, snapshot, view.snapshot_header.time)


# -- handlers -------------------------------------------------------------------------------------------


def all_validator_addresses(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getAllValidatorAddresses``: every registered validator, in creation order."""
    _require_beacon(ctx)
    return [to_bech32(a) for a in validator_addresses(ctx.backend.state_at("latest"))]


def elected_validator_addresses(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getElectedValidatorAddresses``: the external validators holding seats this epoch."""
    view = _View(ctx)
    return [to_bech32(a) for a in _elected(view.shard_state())]


def _shard_committee(ctx: MethodContext, epoch: int) -> Committee:
    """This node's shard's committee in ``epoch``; ``ServerError`` when no shard state is stored for it."""
    shard_state = ctx.backend.chain.db.get_shard_state(epoch)
    if shard_state is None:
        raise ServerError(f"no committee stored for epoch {epoch}")
    try:
        return shard_state.committee(ctx.backend.shard_id)
    except HarmonyError as exc:
        raise ServerError(str(exc)) from None


def validator_keys(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getValidatorKeys(epoch)``: the BLS keys of every seat of this shard in ``epoch``."""
    committee = _shard_committee(ctx, p.get(0, "epoch", uint64))
    return [k.hex() for k in committee.bls_public_keys()]


def validator_information_handler(by_block: bool, style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getValidatorInformation(address)`` and ``…ByBlockNumber(address, number)``."""
    addr = p.get(0, "address", address)
    number = p.get(1, "blockNumber", uint64) if by_block else None
    _require_beacon(ctx)
    return validator_information(_View(ctx, number), addr)


def all_validator_information(by_block: bool, style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getAllValidatorInformation(page)``: pages of 100 (page -1: all)."""
    page = p.get(0, "page", _page, 0)
    number = p.get(1, "blockNumber", uint64) if by_block else None
    _require_beacon(ctx)
    view = _View(ctx, number)
    addresses = validator_addresses(view.state)
    if page >= 0:
        addresses = addresses[page * VALIDATORS_PER_PAGE : (page + 1) * VALIDATORS_PER_PAGE]
    return [validator_information(view, a) for a in addresses]


def _page(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < -1 or value > 1_000_000:
        raise InvalidParams(f"invalid argument {name}: expected a page number (-1 for all)")
    return value


def _delegation_json(validator: bytes, d: Delegation) -> dict[str, JSON]:
    return {
        "validator_address": to_bech32(validator),
        "delegator_address": to_bech32(d.delegator_address),
        "amount": d.amount,
        "reward": d.reward,
        "Undelegations": [{"Amount": u.amount, "Epoch": u.epoch} for u in d.undelegations],
    }


def _all_wrappers(state: WorldState) -> list[ValidatorWrapper]:
    out = []
    for addr in validator_addresses(state):
        wrapper = _wrapper(state, addr)
        if wrapper is not None:
            out.append(wrapper)
    return out


def delegations_by_delegator(by_block: bool, style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getDelegationsByDelegator(address)``: every delegation the address holds."""
    delegator = p.get(0, "address", address)
    number = p.get(1, "blockNumber", uint64) if by_block else None
    _require_beacon(ctx)
    state = _View(ctx, number).state
    return [
        _delegation_json(w.validator.address, d)
        for w in _all_wrappers(state)
        for d in w.delegations
        if d.delegator_address == delegator
    ]


def delegations_by_validator(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getDelegationsByValidator(address)``: every delegation to the validator, self first."""
    addr = p.get(0, "address", address)
    _require_beacon(ctx)
    wrapper = _require_wrapper(ctx.backend.state_at("latest"), addr)
    return [_delegation_json(addr, d) for d in wrapper.delegations]


def all_delegation_information(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getAllDelegationInformation(page)``: the delegations of 100 validators per page, in registration
    order, one list per validator (Go; a page past the end, or negative, is empty)."""
    page = p.get(0, "page", _page)
    _require_beacon(ctx)
    if page < 0:
        return []
    state = ctx.backend.state_at("latest")
    wrappers = _all_wrappers(state)[page * VALIDATORS_PER_PAGE : (page + 1) * VALIDATORS_PER_PAGE]
    return [[_delegation_json(w.validator.address, d) for d in w.delegations] for w in wrappers]


def available_redelegation_balance(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getAvailableRedelegationBalance(delegator)``: Go sums the delegator's undelegations whose epoch is
    not after the current one. Ours pays an undelegation out when its lock ends and never redelegates from
    it (design §5), so nothing is available: 0, after checking the address and the shard."""
    p.get(0, "address", address)
    _require_beacon(ctx)
    return 0


def delegation_by_pair(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getDelegationByDelegatorAndValidator(delegator, validator)``: one delegation or null."""
    delegator = p.get(0, "delegator", address)
    validator = p.get(1, "validator", address)
    _require_beacon(ctx)
    wrapper = _wrapper(ctx.backend.state_at("latest"), validator)
    if wrapper is None:
        return None
    for d in wrapper.delegations:
        if d.delegator_address == delegator:
            return _delegation_json(validator, d)
    return None


def self_delegation(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getValidatorSelfDelegation(address)``: the validator's own delegated amount."""
    addr = p.get(0, "address", address)
    _require_beacon(ctx)
    wrapper = _require_wrapper(ctx.backend.state_at("latest"), addr)
    return wrapper.delegations[0].amount if wrapper.delegations else 0


def total_delegation(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getValidatorTotalDelegation(address)``: everything delegated to the validator."""
    addr = p.get(0, "address", address)
    _require_beacon(ctx)
    return _require_wrapper(ctx.backend.state_at("latest"), addr).total_delegation


def total_staking(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getTotalStaking``: the sum of all validators' delegations (atto)."""
    _require_beacon(ctx)
    return sum(w.total_delegation for w in _all_wrappers(ctx.backend.state_at("latest")))


def _committee_json(ctx: MethodContext, shard_state: ShardState | None) -> JSON:
    if shard_state is None:
        return None
    share = ctx.backend.chain.params.harmony_vote_share
    deciders: dict[str, JSON] = {}
    external = 0
    for committee in shard_state.shards:
        roster = Roster(committee, share)
        members: list[JSON] = []
        hmy_power = Dec.zero()
        staked_power = Dec.zero()
        for i, slot in enumerate(committee.slots):
            power = roster.power_of([i])
            is_hmy = slot.effective_stake is None
            if is_hmy:
                hmy_power = hmy_power + power
            else:
                external += 1
                staked_power = staked_power + power
            members.append(
                {
                    "is-harmony-slot": is_hmy,
                    "earning-account": to_bech32(slot.ecdsa_address),
                    "bls-public-key": slot.bls_public_key.hex(),
                    "voting-power-%": _dec(power),
                    "effective-stake": None if is_hmy else _dec(slot.effective_stake or Dec.zero()),
                }
            )
        deciders[f"shard-{committee.shard_id}"] = {
            "policy": "SuperMajorityStake" if not roster.equal else "SuperMajorityVote",
            "count": len(committee.slots),
            "external-validator-slot-count": sum(1 for s in committee.slots if s.effective_stake is not None),
            "committee-members": members,
            "hmy-voting-power": _dec(hmy_power),
            "staked-voting-power": _dec(staked_power),
            "total-effective-stake": _dec(committee.total_effective_stake()),
        }
    return {"quorum-deciders": deciders, "external-slot-count": external, "epoch": shard_state.epoch}


def super_committees(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getSuperCommittees``: every shard's committee with voting power, this epoch and the previous."""
    view = _View(ctx)
    epoch = view.header.epoch
    return {
        "current": _committee_json(ctx, view.shard_state(epoch)),
        "previous": _committee_json(ctx, view.shard_state(epoch - 1)) if epoch > 0 else None,
    }


def signed_blocks(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getSignedBlocks(address)``: blocks the validator signed this epoch (Go, staking era: its
    ``num-blocks-signed`` counter now minus at the epoch's snapshot)."""
    _require_beacon(ctx)
    account = p.get(0, "address", address)
    view = _View(ctx)
    wrapper = _require_wrapper(view.state, account)
    snapshot = _wrapper(view.snapshot_state, account)
    before = snapshot.counters.num_blocks_signed if snapshot is not None else 0
    return qty(style, max(0, wrapper.counters.num_blocks_signed - before))


def validators_of_epoch(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getValidators(epoch)``: this shard's seats in ``epoch`` with their accounts' balances now."""
    committee = _shard_committee(ctx, p.get(0, "epoch", uint64))
    state = ctx.backend.state_at("latest")
    return {
        "shardID": ctx.backend.shard_id,
        "validators": [
            {"address": to_bech32(s.ecdsa_address), "balance": state.get_balance(s.ecdsa_address)}
            for s in committee.slots
        ],
    }


# -- supply and the network ---------------------------------------------------------------------------


def _one(atto: int) -> str:
    """Atto as a decimal string of ONE with 18 decimals (Go ``numeric.Dec``)."""
    return str(Dec(atto))


def total_supply_atto(ctx: MethodContext) -> int:
    """The head's supply, atto (:func:`harmony.chain.staking.supply.total_supply`)."""
    return total_supply(ctx.backend.state_at("latest"), ctx.backend.chain.genesis_supply)


def get_total_supply(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getTotalSupply``: ONE, as a decimal string (beacon chain)."""
    _require_beacon(ctx)
    return _one(total_supply_atto(ctx))


def get_circulating_supply(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getCirculatingSupply``: ONE, as a decimal string. Our networks have no vesting schedule or
    inaccessible addresses, so every token of the total supply circulates (reference §4.3)."""
    _require_beacon(ctx)
    return _one(total_supply_atto(ctx))


def _auction_now(ctx: MethodContext) -> AuctionResult:
    backend = ctx.backend
    head = backend.chain.head
    return auction(
        backend.state_at("latest"), backend.chain.params, head.epoch + 1, backend.chain.operator_slots
    )


def median_raw_stake_snapshot(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getMedianRawStakeSnapshot``: the auction as it would run on the current state (reference §3.3)."""
    _require_beacon(ctx)
    result = _auction_now(ctx)
    winners = [
        {
            "slot-owner": to_bech32(bid.address),
            "bls-public-key": bid.bls_public_key.hex(),
            "raw-stake": _dec(bid.raw_stake),
            "eposed-stake": _dec(slot.effective_stake or Dec.zero()),
        }
        for bid, slot in zip(result.winning_bids, result.winners, strict=True)
    ]
    return {
        "epos-median-stake": _dec(result.median),
        "max-external-slots": ctx.backend.chain.params.external_seats,
        "epos-slot-winners": winners,
        "epos-slot-candidates": [
            {
                "slot-owner": to_bech32(b.address),
                "bls-public-key": b.bls_public_key.hex(),
                "raw-stake": _dec(b.raw_stake),
            }
            for b in result.bids
        ],
    }


def staking_network_info(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getStakingNetworkInfo``: supply, the epoch's last block, total staking and the median raw stake."""
    _require_beacon(ctx)
    backend = ctx.backend
    supply = _one(total_supply_atto(ctx))
    head = backend.chain.head
    staked = sum(w.total_delegation for w in _all_wrappers(backend.state_at("latest")))
    return {
        "total-supply": supply,
        "circulating-supply": supply,
        "epoch-last-block": backend.chain.params.epoch_last_block(head.epoch),
        "total-staking": staked,
        "median-raw-stake": _dec(_auction_now(ctx).median),
    }


# -- staking transactions ------------------------------------------------------------------------------


def send_raw_staking_transaction(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``sendRawStakingTransaction(hex)``: pool a signed staking transaction; its hash (reference §9.3)."""
    raw = p.get(0, "data", lambda v, n: hex_bytes(v, n, max_len=MAX_STAKING_TX_SIZE))
    if not raw:
        raise InvalidParams("invalid argument 0 (data): empty transaction")
    return hex_data(ctx.backend.send_raw_staking(raw))


def pending_staking_transactions(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``pendingStakingTransactions``: the staking pool's transactions (no block yet)."""
    pool = ctx.backend.staking_pool
    if pool is None:
        return []
    return [
        staking_transaction_json(style, StakingInBlock(tx, staking_owner(tx), b"", 0, 0, 0))
        for tx in pool.pending()
    ]


def staking_error_sink(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getCurrentStakingErrorSink``: ``[{tx-hash-id, time-at-rejection, error-message}]``."""
    pool = ctx.backend.staking_pool
    if pool is None:
        return []
    return [
        {"tx-hash-id": hex_data(e.tx_hash), "time-at-rejection": int(e.time_at), "error-message": e.message}
        for e in pool.errors()
    ]


def staking_transaction_by_hash(style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getStakingTransactionByHash(hash)``: mined or pooled; null if unknown."""
    found = ctx.backend.find_staking_transaction(p.get(0, "hash", hash32))
    return None if found is None else staking_transaction_json(style, found)


def _block_of(ctx: MethodContext, p: Params, by_hash: bool) -> Block | None:
    if by_hash:
        return ctx.backend.block_at(p.get(0, "hash", hash32))
    return ctx.backend.block_at(p.get(0, "block", block_ref))


def block_staking_count(by_hash: bool, style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getBlockStakingTransactionCountByNumber/ByHash``: staking transactions in the block."""
    block = _block_of(ctx, p, by_hash)
    return None if block is None else qty(style, len(block.staking_transactions))


def staking_tx_at(by_hash: bool, style: Style, ctx: MethodContext, p: Params) -> JSON:
    """``getStakingTransactionByBlockNumberAndIndex`` / ``…ByBlockHashAndIndex``."""
    block = _block_of(ctx, p, by_hash)
    index = p.get(1, "index", uint64)
    if block is None or index >= len(block.staking_transactions):
        return None
    tx = block.staking_transactions[index]
    return staking_transaction_json(
        style,
        StakingInBlock(tx, staking_owner(tx), block.hash(), block.header.number, index, block.header.time),
    )


Handler = Callable[[Style, MethodContext, Params], JSON]

STAKING: Sequence[tuple[str, Handler, int]] = (
    ("getAllValidatorAddresses", all_validator_addresses, 0),
    ("getElectedValidatorAddresses", elected_validator_addresses, 0),
    ("getValidatorKeys", validator_keys, 1),
    ("getValidators", validators_of_epoch, 1),
    ("getSignedBlocks", signed_blocks, 1),
    ("getValidatorInformation", partial(validator_information_handler, False), 1),
    ("getValidatorInformationByBlockNumber", partial(validator_information_handler, True), 2),
    ("getAllValidatorInformation", partial(all_validator_information, False), 1),
    ("getAllValidatorInformationByBlockNumber", partial(all_validator_information, True), 2),
    ("getDelegationsByDelegator", partial(delegations_by_delegator, False), 1),
    ("getDelegationsByDelegatorByBlockNumber", partial(delegations_by_delegator, True), 2),
    ("getDelegationsByValidator", delegations_by_validator, 1),
    ("getAllDelegationInformation", all_delegation_information, 1),
    ("getAvailableRedelegationBalance", available_redelegation_balance, 1),
    ("getDelegationByDelegatorAndValidator", delegation_by_pair, 2),
    ("getValidatorSelfDelegation", self_delegation, 1),
    ("getValidatorTotalDelegation", total_delegation, 1),
    ("getTotalStaking", total_staking, 0),
    ("getSuperCommittees", super_committees, 0),
    ("getTotalSupply", get_total_supply, 0),
    ("getCirculatingSupply", get_circulating_supply, 0),
    ("getMedianRawStakeSnapshot", median_raw_stake_snapshot, 0),
    ("getStakingNetworkInfo", staking_network_info, 0),
    ("sendRawStakingTransaction", send_raw_staking_transaction, 1),
    ("pendingStakingTransactions", pending_staking_transactions, 0),
    ("getCurrentStakingErrorSink", staking_error_sink, 0),
    ("getStakingTransactionByHash", staking_transaction_by_hash, 1),
    ("getBlockStakingTransactionCountByNumber", partial(block_staking_count, False), 1),
    ("getBlockStakingTransactionCountByHash", partial(block_staking_count, True), 1),
    ("getStakingTransactionByBlockNumberAndIndex", partial(staking_tx_at, False), 2),
    ("getStakingTransactionByBlockHashAndIndex", partial(staking_tx_at, True), 2),
)
"""``(name, handler(style, ctx, params), max params)`` registered in hmy_ and hmyv2_."""


def register_staking(table: MethodTable) -> None:
    """Register :data:`STAKING` under ``hmy_`` and ``hmyv2_``."""
    for style in (Style.V1, Style.V2):
        for name, handler, max_params in STAKING:
            table[f"{style.value}_{name}"] = Method(partial(handler, style), max_params)
