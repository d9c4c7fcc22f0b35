"""The token-economics simulation (issue 19): years of EPoS on the chain's own staking rules.

Model. One world state (:class:`~harmony.state.statedb.StateDB` over memory) holds real validator records,
advanced a step (a month, :data:`~harmony.sim.economics_model.STEP_SECONDS`) at a time by the chain's own
functions; nothing here re-states a rule:

1. **Delegation flows** (agents): the staked share of the supply moves ``flow_speed`` of the way to the
   target; new stake goes to active validators in proportion to the APR their delegators earned last step
   (below-median validators yield more, so stake flows towards the median), withdrawals come pro rata.
   Both are staking transactions: :func:`~harmony.chain.staking.transactions.apply_delegate` and
   :func:`~harmony.chain.staking.transactions.apply_undelegate`. Inactive validators whose operators come
   back are active again the next step.
2. **Election**: :func:`~harmony.chain.staking.election.auction` over the state (candidates, bids, the
   median clamp) and :func:`~harmony.chain.staking.election.key_mod_assign` behind the Harmony-operated
   seats of the preset.
3. **Signing**: each elected validator is flaky with chance ``flaky_share`` (it misses the first part of the
   step's blocks); the step's blocks of a shard split into runs with one signer set each.
4. **Rewards**: each run is paid by :func:`~harmony.chain.staking.rewards.block_dues` (the chain's split per
   block, truncation included) times its length, and each validator is credited once per step with
   :func:`~harmony.chain.staking.rewards.add_reward` (commission, then delegators pro rata): the chain pays
   every block, so only the rounding of the commission and delegator shares differs, by at most one atto
   per delegation per block (as Harmony's own 64-block aggregation does).
5. **Availability**: :func:`~harmony.chain.staking.availability.compute_signing` over the step's counters;
   at or below 2/3 the validator becomes Inactive and misses the next election.
6. **Slashing**: a double sign (chance ``double_sign_per_year``) is applied by
   :func:`~harmony.chain.staking.slashing.apply_slash` (the reporter paid, the rest burned, the validator
   banned).
7. **Fees** burned (the presets burn them, reference §4.2) and **undelegations** paid after their lock
   (:func:`~harmony.chain.staking.undelegation.payout_undelegations`).

Each step records supply, issuance, burns, staking ratio, annualized inflation and the APR by position
(:func:`~harmony.chain.staking.rewards.validator_apr`): validators whose raw stake per key is above the
median band (their effective stake clamped down), within it, below it (clamped up), and external
delegators. Amounts are atto integers and ratios :class:`Dec` throughout; floats only in the figures
returned for tables and plots.

The run is a radCAD model (cadCAD's structure: a policy computes the step, state updates record it), so a
sweep is radCAD's parameter sweep; :mod:`harmony.sim.sweeps` spreads scenarios over Dask workers.
:func:`replay_epoch` is the exact mode: it pays a recorded epoch's beacon blocks one by one with the
beacon chain's own per-block functions, for the validation against a devnet.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harmony.chain.params import NetworkParams
from harmony.chain.staking.availability import compute_signing
from harmony.chain.staking.economy import CommitteeFor, pay_crosslinks, pay_parent_commit
from harmony.chain.staking.election import AuctionResult, auction, key_mod_assign
from harmony.chain.staking.records import (
    claim_bls_key,
    get_validator_wrapper,
    register_validator,
    set_validator_wrapper,
    validator_addresses,
)
from harmony.chain.staking.rewards import RewardPayout, add_reward, block_dues, validator_apr
from harmony.chain.staking.slashing import apply_slash
from harmony.chain.staking.transactions import StakingContext, apply_delegate, apply_undelegate
from harmony.chain.staking.undelegation import payout_undelegations
from harmony.chain.state_api import WorldState
from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.sim.economics_model import STEP_SECONDS, STEPS_PER_YEAR, Era, Scenario, check_scenario
from harmony.state.statedb import StateDB
from harmony.storage.memory import MemoryStore
from harmony.types.crosslink import decode_crosslinks
from harmony.types.header import Header
from harmony.types.shard_state import ShardState, Slot
from harmony.types.slash import ConflictingVotes, Evidence, Moment, Record, Vote
from harmony.types.staking import CommissionRates, Delegate, Description, EposStatus, Undelegate
from harmony.types.validator import Commission, Counters, Delegation, Validator, ValidatorWrapper

EPOCHS_PER_STEP = 40
"""Sim epochs per step: a month of 2 s blocks is 40 of mainnet's 32,768-block epochs. Undelegations made
at a step's first epoch unlock within the step (the lock is 7 epochs)."""
FLOAT_ADDRESS = keccak256(b"harmony.sim.float")[12:]
"""The account holding the liquid supply that delegators draw from and return to."""
WEIGHT_SCALE = 10**6
FLOW_FANOUT = 16
"""Validators a step's delegation flow goes to (the best yields) or comes from (the worst)."""


def _address(kind: bytes, seed: int, index: int) -> bytes:
    return keccak256(kind + seed.to_bytes(8, "big") + index.to_bytes(8, "big"))[12:]


def _bls_key(kind: bytes, seed: int, index: int) -> bytes:
    digest = keccak256(kind + seed.to_bytes(8, "big") + index.to_bytes(8, "big"))
    return digest + digest[:16]


@dataclass(frozen=True, slots=True)
class Population:
    """The accounts of a run: validators, their external delegators, and the Harmony-operated seats."""

    validators: tuple[bytes, ...]
    delegators: tuple[bytes, ...]
    """``delegators[i]`` delegates to ``validators[i]`` (all of that validator's external stake)."""
    operator_keys: tuple[bytes, ...]

    def operator_slots(self, shards: int, per_shard: int) -> tuple[tuple[Slot, ...], ...]:
        """The Harmony-operated seats of each shard (no effective stake)."""
        return tuple(
            tuple(
                Slot(_address(b"operator", 0, s * per_shard + j), self.operator_keys[s * per_shard + j], None)
                for j in range(per_shard)
            )
            for s in range(shards)
        )

    def accounts(self) -> tuple[bytes, ...]:
        """Every funded account of the run."""
        return (*self.validators, *self.delegators, FLOAT_ADDRESS)


def new_validator(
    address: bytes, keys: Sequence[bytes], rate: Dec, min_self: int, delegations: Sequence[Delegation]
) -> ValidatorWrapper:
    """A freshly created, active validator record with ``delegations`` (the first is its own)."""
    validator = Validator(
        address=address,
        slot_pub_keys=tuple(keys),
        last_epoch_in_committee=0,
        min_self_delegation=min_self,
        max_total_delegation=10**40,
        status=EposStatus.ACTIVE,
        commission=Commission(CommissionRates(rate, Dec.one(), Dec.from_str("0.05")), 0),
        description=Description("sim", "", "", "", ""),
        creation_height=0,
    )
    return ValidatorWrapper(validator, tuple(delegations), Counters(), 0)


def store_validator(state: WorldState, wrapper: ValidatorWrapper) -> None:
    """Register ``wrapper`` in the state as a CreateValidator would leave it (list, keys, record)."""
    address = wrapper.validator.address
    register_validator(state, address)
    for key in wrapper.validator.slot_pub_keys:
        claim_bls_key(state, key, address)
    set_validator_wrapper(state, address, wrapper)


def _params_for(scenario: Scenario, era: Era) -> NetworkParams:
    base = scenario.params()
    if (era.shards, era.block_time_ms) == (base.shard_count, base.block_time_ms) and era.reward == (
        base.block_reward(0)
    ):
        return base
    return replace(
        base,
        shard_count=era.shards,
        block_time_ms=era.block_time_ms,
        block_reward_schedule=((0, era.reward),),
    )


def build_population(scenario: Scenario, state: WorldState) -> Population:
    """Create the scenario's validators, delegations and liquid supply in ``state`` (deterministic in
    the seed): stakes Pareto-distributed, 1 to ``max_keys`` keys, commission drawn in the given range."""
    rng = random.Random(scenario.seed)
    params = scenario.params()
    count = scenario.validators
    weights = [int(rng.paretovariate(1.5) * WEIGHT_SCALE) for _ in range(count)]
    staked = scenario.initial_staking_ratio.mul_int(scenario.genesis_supply).truncate_int()
    minimum = params.min_self_delegation
    spare = staked - 2 * minimum * count
    validators: list[bytes] = []
    delegators: list[bytes] = []
    spread = scenario.commission_high - scenario.commission_low
    total_out = 0
    for i, weight in enumerate(weights):
        address = _address(b"validator", scenario.seed, i)
        delegator = _address(b"delegator", scenario.seed, i)
        stake = 2 * minimum + spare * weight // sum(weights)
        own = max(minimum, scenario.self_stake_share.mul_int(stake).truncate_int())
        keys = [
            _bls_key(b"validator-key", scenario.seed, i * 1000 + k)
            for k in range(rng.randint(1, scenario.max_keys))
        ]
        rate = scenario.commission_low + spread.mul(Dec.from_int(rng.randrange(1001)).quo_int(1000))
        delegations = [Delegation(address, own, 0)]
        if stake - own >= params.min_delegation:
            delegations.append(Delegation(delegator, stake - own, 0))
        store_validator(state, new_validator(address, keys, rate, minimum, delegations))
        total_out += sum(d.amount for d in delegations)
        validators.append(address)
        delegators.append(delegator)
    state.set_balance(FLOAT_ADDRESS, scenario.genesis_supply - total_out)
    max_shards = max([params.shard_count, *(era.shards for era in scenario.eras)])
    operators = tuple(
        _bls_key(b"operator-key", 0, j) for j in range(max_shards * params.harmony_seats_per_shard)
    )
    return Population(tuple(validators), tuple(delegators), operators)


@dataclass(frozen=True, slots=True)
class StepFigures:
    """What one step did and where it left the economy (atto unless said)."""

    step: int
    era: str
    supply: int
    minted: int
    """Rewards credited this step."""
    fees_burned: int
    slashed_burned: int
    staked: int
    """Delegated stake after the step."""
    median_stake: int
    """Median raw stake per seat of the winners (atto, truncated)."""
    elected: int
    inactive: int
    banned: int
    apr_above: Dec
    """APR of validators whose raw stake per key is above the median band (clamped down)."""
    apr_at: Dec
    apr_below: Dec
    apr_delegators: Dec
    """APR of the external delegations (after commission)."""
    apr_all: Dec
    """APR over all stake of elected validators."""

    @property
    def year(self) -> float:
        """Years since the start at the end of this step (for plots)."""
        return (self.step + 1) / STEPS_PER_YEAR

    @property
    def staking_ratio(self) -> Dec:
        """Staked share of the supply."""
        return Dec.from_int(self.staked).quo(Dec.from_int(self.supply))

    @property
    def inflation(self) -> Dec:
        """This step's issuance, annualized, over the supply before it."""
        before = self.supply - self.minted + self.fees_burned + self.slashed_burned
        return Dec.from_int(self.minted * STEPS_PER_YEAR).quo(Dec.from_int(before))


class Economy:
    """One run: the scenario, its world state and population, advanced by :meth:`step`.

    :attr:`records` holds the decoded validator records as the state has them; each phase re-reads only
    the records it changed (decoding a record costs about a millisecond)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = check_scenario(scenario)
        self.state = StateDB(MemoryStore())
        self.population = build_population(self.scenario, self.state)
        self.index_of = {address: i for i, address in enumerate(self.population.validators)}
        self.rng = random.Random(self.scenario.seed + 1)
        self.supply = self.scenario.genesis_supply
        self.last_apr: dict[bytes, Dec] = {}
        self.records: dict[bytes, ValidatorWrapper] = {}
        self.operator_seats: dict[tuple[int, int], tuple[tuple[Slot, ...], ...]] = {}
        self._refresh(self.population.validators)

    def _refresh(self, addresses: Iterable[bytes]) -> None:
        for address in addresses:
            wrapper = get_validator_wrapper(self.state, address)
            if wrapper is not None:
                self.records[address] = wrapper

    @property
    def staked(self) -> int:
        """Atto delegated to all validators now."""
        return sum(wrapper.total_delegation for wrapper in self.records.values())

    # -- agents ------------------------------------------------------------------------------------------

    def _external(self, address: bytes) -> int:
        delegator = self.population.delegators[self.index_of[address]]
        found = (d.amount for d in self.records[address].delegations[1:] if d.delegator_address == delegator)
        return next(found, 0)

    def _flows(self, ctx: StakingContext) -> set[bytes]:
        """Delegators close ``flow_speed`` of the gap to the target staking ratio (module docstring, 1).

        New stake goes to the :data:`FLOW_FANOUT` validators whose delegators earned the highest APR last
        step, in proportion to it; withdrawals come from the :data:`FLOW_FANOUT` lowest. Returns the
        validators changed."""
        scenario = self.scenario
        touched: set[bytes] = set()
        for address, wrapper in self.records.items():
            if wrapper.validator.status is EposStatus.INACTIVE:
                back = replace(wrapper.validator, status=EposStatus.ACTIVE)
                set_validator_wrapper(self.state, address, replace(wrapper, validator=back))
                touched.add(address)
        staked = self.staked
        target = scenario.target_staking_ratio.mul_int(self.supply).truncate_int()
        flow = scenario.flow_speed.mul_int(abs(target - staked)).truncate_int()
        open_ = sorted(
            (a for a, w in self.records.items() if w.validator.status is not EposStatus.BANNED),
            key=lambda a: (self.last_apr.get(a, Dec.zero()).raw, a),
        )
        if flow < ctx.params.min_delegation or not open_:
            return touched
        if target > staked:
            best = open_[-FLOW_FANOUT:]
            weights = [self.last_apr.get(a, Dec.zero()).raw + 1 for a in best]
            flow = min(flow, self.state.get_balance(FLOAT_ADDRESS))
            for address, weight in zip(best, weights, strict=True):
                amount = flow * weight // sum(weights)
                if amount < ctx.params.min_delegation:
                    continue
                delegator = self.population.delegators[self.index_of[address]]
                self.state.set_balance(FLOAT_ADDRESS, self.state.get_balance(FLOAT_ADDRESS) - amount)
                self.state.set_balance(delegator, self.state.get_balance(delegator) + amount)
                apply_delegate(self.state, Delegate(delegator, address, amount), ctx)
                touched.add(address)
            return touched
        worst = [a for a in open_[:FLOW_FANOUT] if self._external(a) > 0]
        total_external = sum(self._external(a) for a in worst)
        for address in worst:
            external = self._external(address)
            amount = min(flow * external // total_external, external)
            if 0 < external - amount < ctx.params.min_delegation:
                amount = external
            if amount <= 0:
                continue
            delegator = self.population.delegators[self.index_of[address]]
            apply_undelegate(self.state, Undelegate(delegator, address, amount), ctx)
            touched.add(address)
            self.undelegated = True
        return touched

    # -- one step ----------------------------------------------------------------------------------------

    def step(self, index: int) -> StepFigures:
        """Advance one step (module docstring, 1–7) and return its figures."""
        scenario = self.scenario
        era = scenario.era_at(index)
        params = _params_for(scenario, era)
        epoch = index * EPOCHS_PER_STEP
        ctx = StakingContext(params=params, epoch=epoch, block_number=0)
        self.undelegated = False
        self._refresh(self._flows(ctx))
        before = dict(self.records)
        operators = self._operators(params)
        result = auction(self.state, params, epoch, operators)
        shard_state = key_mod_assign(epoch, operators, result.winners, params.shard_count)
        blocks = era.blocks_per_step()
        misses = self._draw_misses(result, blocks)
        dues = self._dues(shard_state, misses, blocks, era.reward, params)
        minted = sum(add_reward(self.state, address, due) for address, due in sorted(dues.items()))
        self._availability(shard_state, misses, blocks, params)
        slashed = self._slashes(result, epoch)
        fees = min(
            scenario.fee_per_block * blocks * params.shard_count, self.state.get_balance(FLOAT_ADDRESS)
        )
        self.state.set_balance(FLOAT_ADDRESS, self.state.get_balance(FLOAT_ADDRESS) - fees)
        if self.undelegated:
            for payout in payout_undelegations(self.state, epoch + EPOCHS_PER_STEP - 1, params):
                self.state.set_balance(
                    payout.delegator, self.state.get_balance(payout.delegator) - payout.amount
                )
                self.state.set_balance(FLOAT_ADDRESS, self.state.get_balance(FLOAT_ADDRESS) + payout.amount)
        self.supply += minted - fees - slashed
        self._refresh(self.population.validators)
        return self._figures(
            index, era, result=result, before=before, minted=minted, fees=fees, slashed=slashed
        )

    def _operators(self, params: NetworkParams) -> tuple[tuple[Slot, ...], ...]:
        """The era's Harmony-operated seats (built once per shape: they never change)."""
        shape = (params.shard_count, params.harmony_seats_per_shard)
        if shape not in self.operator_seats:
            self.operator_seats[shape] = self.population.operator_slots(*shape)
        return self.operator_seats[shape]

    def _draw_misses(self, result: AuctionResult, blocks: int) -> dict[bytes, int]:
        """Blocks each elected validator misses this step (0 for most)."""
        share = self.scenario.flaky_share
        missed = (Dec.one() - self.scenario.flaky_signed).mul_int(blocks).truncate_int()
        misses: dict[bytes, int] = {}
        for address in result.elected_addresses:
            draw = Dec.from_int(self.rng.randrange(10**6)).quo_int(10**6)
            misses[address] = missed if (draw - share).is_negative() else 0
        return misses

    @staticmethod
    def _dues(
        shard_state: ShardState, misses: dict[bytes, int], blocks: int, reward: int, params: NetworkParams
    ) -> dict[bytes, int]:
        """Each validator's dues for the step: runs of blocks with one signer set, each block split by
        :func:`block_dues` (module docstring, 3–4)."""
        dues: dict[bytes, int] = {}
        for committee in shard_state.shards:
            cuts = sorted({0, blocks, *(m for m in misses.values() if 0 < m < blocks)})
            for start, end in itertools.pairwise(cuts):
                signers = [
                    i
                    for i, slot in enumerate(committee.slots)
                    if slot.effective_stake is None or misses.get(slot.ecdsa_address, 0) <= start
                ]
                for address, due in block_dues(committee, signers, reward, params.harmony_vote_share).items():
                    dues[address] = dues.get(address, 0) + due * (end - start)
        return dues

    def _availability(
        self, shard_state: ShardState, misses: dict[bytes, int], blocks: int, params: NetworkParams
    ) -> None:
        """Validators at or below the signing threshold this step become Inactive (§5.1)."""
        seats: dict[bytes, int] = {}
        for committee in shard_state.shards:
            for slot in committee.slots:
                if slot.effective_stake is not None:
                    seats[slot.ecdsa_address] = seats.get(slot.ecdsa_address, 0) + 1
        for address, count in seats.items():
            counters = Counters(count * blocks, count * (blocks - misses.get(address, 0)))
            if not compute_signing(counters, Counters(), params.signing_threshold).is_below_threshold:
                continue
            wrapper = get_validator_wrapper(self.state, address)
            if wrapper is not None and wrapper.validator.status is EposStatus.ACTIVE:
                inactive = replace(wrapper.validator, status=EposStatus.INACTIVE)
                set_validator_wrapper(self.state, address, replace(wrapper, validator=inactive))

    def _slashes(self, result: AuctionResult, epoch: int) -> int:
        """Double signs this step, each applied by the chain's :func:`apply_slash`; returns atto burned."""
        chance = self.scenario.double_sign_per_year.quo_int(STEPS_PER_YEAR)
        burned = 0
        for address in result.elected_addresses:
            draw = Dec.from_int(self.rng.randrange(10**9)).quo_int(10**9)
            if not (draw - chance).is_negative():
                continue
            wrapper = get_validator_wrapper(self.state, address)
            if wrapper is None or wrapper.validator.status is EposStatus.BANNED:
                continue
            key = wrapper.validator.slot_pub_keys[0]
            votes = ConflictingVotes(Vote((key,), b"\x01" * 32, b""), Vote((key,), b"\x02" * 32, b""))
            record = Record(Evidence(Moment(epoch, 0, 0, 0), votes, address), FLOAT_ADDRESS)
            burned += apply_slash(self.state, record).burned
        return burned

    def _figures(
        self,
        index: int,
        era: Era,
        *,
        result: AuctionResult,
        before: dict[bytes, ValidatorWrapper],
        minted: int,
        fees: int,
        slashed: int,
    ) -> StepFigures:
        after = self.records
        groups: dict[str, list[int]] = {k: [0, 0] for k in ("above", "at", "below", "all", "delegators")}
        position: dict[bytes, str] = {}
        for bid, slot in zip(result.winning_bids, result.winners, strict=True):
            effective = slot.effective_stake or Dec.zero()
            if effective.raw < bid.raw_stake.raw:
                position[bid.address] = "above"
            elif effective.raw > bid.raw_stake.raw:
                position.setdefault(bid.address, "below")
            else:
                position.setdefault(bid.address, "at")
        new_apr: dict[bytes, Dec] = {}
        for address, where in position.items():
            old, new = before.get(address), after.get(address)
            if old is None or new is None or new.validator.status is EposStatus.BANNED:
                continue
            earned = new.block_reward - old.block_reward
            for group in (where, "all"):
                groups[group][0] += earned
                groups[group][1] += old.total_delegation
            for d_old in old.delegations[1:]:
                d_new = next(
                    (d for d in new.delegations if d.delegator_address == d_old.delegator_address), None
                )
                if d_new is None or d_old.amount == 0:
                    continue
                groups["delegators"][0] += d_new.reward - d_old.reward
                groups["delegators"][1] += d_old.amount
                new_apr[address] = validator_apr(d_new.reward, d_old.reward, STEP_SECONDS, d_old.amount)
        self.last_apr = new_apr
        apr = {
            name: validator_apr(earned, 0, STEP_SECONDS, stake) for name, (earned, stake) in groups.items()
        }
        statuses = [w.validator.status for w in after.values()]
        return StepFigures(
            step=index,
            era=era.name,
            supply=self.supply,
            minted=minted,
            fees_burned=fees,
            slashed_burned=slashed,
            staked=self.staked,
            median_stake=result.median.truncate_int(),
            elected=len(result.elected_addresses),
            inactive=statuses.count(EposStatus.INACTIVE),
            banned=statuses.count(EposStatus.BANNED),
            apr_above=apr["above"],
            apr_at=apr["at"],
            apr_below=apr["below"],
            apr_delegators=apr["delegators"],
            apr_all=apr["all"],
        )


# -- radCAD model ----------------------------------------------------------------------------------------


class _Handle:
    """The run's :class:`Economy` in radCAD's state: one world state advanced in place, so copies share
    it (radCAD's history keeps the per-step figures, which are immutable)."""

    def __init__(self, economy: Economy) -> None:
        self.economy = economy

    def __deepcopy__(self, memo: dict[int, Any]) -> _Handle:
        return self


def _p_step(params: dict[str, Any], substep: int, history: Any, previous: dict[str, Any]) -> dict[str, Any]:
    handle: _Handle = previous["economy"]
    figures = handle.economy.step(previous["timestep"])
    return {"figures": figures}


def _s_figures(
    params: dict[str, Any], substep: int, history: Any, previous: dict[str, Any], signal: dict[str, Any]
) -> tuple[str, Any]:
    return "figures", signal["figures"]


def _s_economy(
    params: dict[str, Any], substep: int, history: Any, previous: dict[str, Any], signal: dict[str, Any]
) -> tuple[str, Any]:
    return "economy", previous["economy"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """One scenario's run: its steps' figures in order."""

    scenario: Scenario
    steps: tuple[StepFigures, ...]


def run_scenario(scenario: Scenario, progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run ``scenario`` to its end as a radCAD model (one policy and two state updates per step).

    ``progress(done, total)`` is called after every step.
    """
    from radcad import Backend, Engine, Model, Simulation  # noqa: PLC0415 (pandas behind it: load on use)

    economy = Economy(scenario)
    total = economy.scenario.steps

    def p_step(
        params: dict[str, Any], substep: int, history: Any, previous: dict[str, Any]
    ) -> dict[str, Any]:
        signal = _p_step(params, substep, history, previous)
        if progress is not None:
            progress(previous["timestep"] + 1, total)
        return signal

    model = Model(
        initial_state={"economy": _Handle(economy), "figures": None},
        state_update_blocks=[
            {"policies": {"step": p_step}, "variables": {"figures": _s_figures, "economy": _s_economy}}
        ],
        params={},
    )
    simulation = Simulation(model=model, timesteps=total, runs=1)
    simulation.engine = Engine(backend=Backend.SINGLE_PROCESS, deepcopy=False, drop_substeps=True)
    rows = simulation.run()
    steps = tuple(row["figures"] for row in rows if row["figures"] is not None)
    return RunResult(economy.scenario, steps)


# -- exact replay of a recorded epoch --------------------------------------------------------------------


def load_validators(state: WorldState, wrappers: Sequence[ValidatorWrapper]) -> None:
    """Put recorded validator records (a devnet's, at an epoch start) into a simulation state."""
    for wrapper in wrappers:
        store_validator(state, wrapper)


def replay_epoch(
    state: WorldState, params: NetworkParams, headers: Sequence[Header], committee_for: CommitteeFor
) -> tuple[RewardPayout, ...]:
    """Pay the beacon blocks ``headers`` of one epoch, in order, as the beacon chain does (reference §4.2,
    design §6): each block pays its parent's signers from ``last_commit_bitmap`` and each crosslink's
    signers, with the reward of the block's epoch, through the chain's
    :func:`~harmony.chain.staking.economy.pay_parent_commit` and
    :func:`~harmony.chain.staking.economy.pay_crosslinks`. Returns every payout, in order."""
    payouts: list[RewardPayout] = []
    for header in headers:
        parent = pay_parent_commit(
            state,
            params,
            header.number,
            header.epoch,
            last_commit_bitmap=header.last_commit_bitmap,
            committee_for=committee_for,
        )
        if parent is not None:
            payouts.append(parent)
        links = decode_crosslinks(header.cross_links)
        payouts.extend(pay_crosslinks(state, params, header.epoch, links, committee_for))
    return tuple(payouts)


def registered_wrappers(state: WorldState) -> tuple[ValidatorWrapper, ...]:
    """Every validator record in ``state`` (a devnet's state opened read-only), in list order."""
    found = (get_validator_wrapper(state, address) for address in validator_addresses(state))
    return tuple(w for w in found if w is not None)


__all__ = [
    "EPOCHS_PER_STEP",
    "FLOAT_ADDRESS",
    "Economy",
    "Population",
    "RunResult",
    "StepFigures",
    "build_population",
    "load_validators",
    "new_validator",
    "registered_wrappers",
    "replay_epoch",
    "run_scenario",
    "store_validator",
]
