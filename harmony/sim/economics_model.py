"""The token-economics simulation's inputs: scenarios, their eras, and the checks on them (issue 19).

A :class:`Scenario` says what network to run (a preset from :mod:`harmony.chain.params`, or Harmony's
historical schedule as a sequence of :class:`Era`), for how long, and how the agents behave: where the
staking ratio drifts, how fast delegations follow, how validators price their commission, how often they
fail to sign or double-sign, and what fees the network burns.

Every value is checked when the scenario is built (:func:`check_scenario`): a bad one raises
:class:`ScenarioError` naming the parameter, so ``harmony sim economics`` prints one clear line instead of a
traceback, and a scenario file from a user is as hostile as any other input. Token amounts are atto
integers and ratios :class:`~harmony.encoding.fixed.Dec`, as on the chain.

Time is counted in 365-day years (Harmony's issuance figure, 441.5 M ONE a year, is per 365 days) of 12
equal steps; a step is ``31,536,000 / 12 = 2,628,000`` seconds, a whole number of blocks at 1, 2, 5 and 8 s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harmony.chain.params import ONE, NetworkParams, get_preset
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.sim.reporting import ParameterError

SECONDS_PER_YEAR = 365 * 24 * 3600
"""A 365-day year: the year of Harmony's "441.5 M ONE a year" (7 ONE × 4 shards × 15,768,000 blocks)."""
STEPS_PER_YEAR = 12
"""Simulation steps per year (one election, one payout, one round of delegation flows each)."""
STEP_SECONDS = SECONDS_PER_YEAR // STEPS_PER_YEAR
"""2,628,000 s: a whole number of blocks at every block time Harmony used."""
GENESIS_SUPPLY = 12_600_000_000 * ONE
"""Harmony's genesis supply, 12.6 B ONE."""
MAX_YEARS = 100
MAX_VALIDATORS = 2_000
MAX_SCENARIO_FILE = 1 << 20
"""Largest scenario file read (bytes)."""


ScenarioError = ParameterError
"""A scenario parameter out of range; :attr:`~ParameterError.parameter` names it."""


@dataclass(frozen=True, slots=True)
class Era:
    """A stretch of time with one block reward, shard count and block time (Harmony's schedule)."""

    name: str
    months: int
    """Length in steps (months); the last era of a scenario lasts until the end of the run."""
    reward: int
    """Atto per block per shard."""
    shards: int
    block_time_ms: int

    def blocks_per_step(self) -> int:
        """Blocks each shard makes in one step."""
        return STEP_SECONDS * 1000 // self.block_time_ms

    def yearly_issuance(self) -> int:
        """Atto minted in a year when every block is paid in full: reward × shards × blocks a year."""
        return self.reward * self.shards * (SECONDS_PER_YEAR * 1000 // self.block_time_ms)


HARMONY_HISTORY: tuple[Era, ...] = (
    Era("staking launch (epoch 186): 28 ONE, 8 s", 2, 28 * ONE, 4, 8000),
    Era("FiveSecondsEpoch (230): 17.5 ONE, 5 s", 6, 17_500_000_000_000_000_000, 4, 5000),
    Era("TwoSecondsEpoch (366): 7 ONE, 2 s", 34, 7 * ONE, 4, 2000),
    Era("HIP-30 (1673): 14 ONE, 2 s, 2 shards", 1, 14 * ONE, 2, 2000),
)
"""Harmony's staking-era schedule (reference §4.1): the reward per block changed with the block time and
the shard count so that the issuance stayed 441,504,000 ONE a 365-day year. (The pre-staking 24 ONE per
block, split among signers at about 8 s blocks, is not an EPoS era and is left out.)"""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One simulated economy (module docstring); every field is checked by :func:`check_scenario`."""

    name: str
    preset: str = "mainnet"
    """Network preset: seats, Harmony-operated seats and their vote share, the effective-stake band,
    minimum stakes, the signing threshold, block reward and time."""
    eras: tuple[Era, ...] = ()
    """When set, overrides the preset's reward, shard count and block time over time."""
    years: int = 10
    genesis_supply: int = GENESIS_SUPPLY
    validators: int = 64
    """Validators bidding (each with 1 to ``max_keys`` keys)."""
    max_keys: int = 4
    initial_staking_ratio: Dec = field(default_factory=lambda: Dec.from_str("0.5"))
    target_staking_ratio: Dec = field(default_factory=lambda: Dec.from_str("0.5"))
    """Where delegators take the staked share of the supply."""
    flow_speed: Dec = field(default_factory=lambda: Dec.from_str("0.2"))
    """Share of the gap to the target staking ratio that delegations close each step."""
    self_stake_share: Dec = field(default_factory=lambda: Dec.from_str("0.1"))
    """A validator's own share of its stake at the start."""
    commission_low: Dec = field(default_factory=lambda: Dec.from_str("0.07"))
    commission_high: Dec = field(default_factory=lambda: Dec.from_str("0.2"))
    flaky_share: Dec = field(default_factory=lambda: Dec.from_str("0.05"))
    """Chance that an elected validator's node is down for part of a step."""
    flaky_signed: Dec = field(default_factory=lambda: Dec.from_str("0.5"))
    """Share of the step's blocks a flaky validator signs (at or below 2/3: it is made inactive)."""
    double_sign_per_year: Dec = field(default_factory=Dec.zero)
    """Chance that an elected validator double-signs in a year (slashed and banned)."""
    fee_per_block: int = 0
    """Atto of transaction fees burned per block per shard."""
    seed: int = 0

    def params(self) -> NetworkParams:
        """The network preset this scenario runs."""
        try:
            return get_preset(self.preset)
        except HarmonyError as exc:
            raise ScenarioError("preset", str(exc)) from None

    def era_at(self, step: int) -> Era:
        """The era in force at ``step`` (the preset's own values when the scenario has no eras)."""
        if not self.eras:
            params = self.params()
            reward = params.block_reward_schedule[-1][1]
            return Era(params.name, 0, reward, params.shard_count, params.block_time_ms)
        start = 0
        for era in self.eras:
            if step < start + era.months:
                return era
            start += era.months
        return self.eras[-1]

    @property
    def steps(self) -> int:
        """Steps in the whole run."""
        return self.years * STEPS_PER_YEAR


def _ratio(name: str, value: Dec, *, low: Dec | None = None, high: Dec | None = None) -> None:
    low = Dec.zero() if low is None else low
    high = Dec.one() if high is None else high
    if (value - low).is_negative() or (high - value).is_negative():
        raise ScenarioError(name, f"{value} is outside [{low}, {high}]")


def check_scenario(scenario: Scenario) -> Scenario:
    """Check every parameter of ``scenario`` (module docstring); returns it unchanged or raises
    :class:`ScenarioError` naming the first bad one."""
    if not scenario.name or len(scenario.name) > 64:
        raise ScenarioError("name", "a scenario needs a name of 1 to 64 characters")
    params = scenario.params()
    if not 1 <= scenario.years <= MAX_YEARS:
        raise ScenarioError("years", f"{scenario.years} is outside [1, {MAX_YEARS}]")
    if scenario.genesis_supply <= 0:
        raise ScenarioError("genesis_supply", f"{scenario.genesis_supply} atto: the supply must be positive")
    if not 1 <= scenario.validators <= MAX_VALIDATORS:
        raise ScenarioError("validators", f"{scenario.validators} is outside [1, {MAX_VALIDATORS}]")
    if not 1 <= scenario.max_keys <= params.max_bls_keys_per_validator:
        raise ScenarioError(
            "max_keys", f"{scenario.max_keys} is outside [1, {params.max_bls_keys_per_validator}]"
        )
    for name in (
        "initial_staking_ratio",
        "target_staking_ratio",
        "flow_speed",
        "flaky_share",
        "flaky_signed",
    ):
        _ratio(name, getattr(scenario, name))
    _ratio("self_stake_share", scenario.self_stake_share, low=Dec.from_str("0.000001"))
    _ratio("commission_low", scenario.commission_low, low=params.min_commission_rate)
    _ratio("commission_high", scenario.commission_high, low=scenario.commission_low)
    _ratio("double_sign_per_year", scenario.double_sign_per_year)
    if scenario.fee_per_block < 0:
        raise ScenarioError("fee_per_block", f"{scenario.fee_per_block} atto is negative")
    if scenario.seed < 0:
        raise ScenarioError("seed", f"{scenario.seed} is negative")
    for index, era in enumerate(scenario.eras):
        where = f"eras[{index}]"
        if era.months < 1:
            raise ScenarioError(f"{where}.months", f"{era.months}: an era lasts at least one step")
        if era.reward < 0:
            raise ScenarioError(f"{where}.reward", f"{era.reward} atto is negative")
        if not 1 <= era.shards <= 1024:
            raise ScenarioError(f"{where}.shards", f"{era.shards} is outside [1, 1024]")
        if era.block_time_ms < 100 or (STEP_SECONDS * 1000) % era.block_time_ms:
            raise ScenarioError(
                f"{where}.block_time_ms", f"{era.block_time_ms} ms must divide a step of {STEP_SECONDS} s"
            )
    initial_stake = scenario.initial_staking_ratio.mul_int(scenario.genesis_supply).truncate_int()
    if initial_stake < scenario.validators * params.min_self_delegation * 2:
        raise ScenarioError(
            "initial_staking_ratio",
            f"{scenario.initial_staking_ratio} of the supply cannot give {scenario.validators} validators"
            " twice the minimum self-delegation each",
        )
    return scenario


def scenario_presets() -> dict[str, Scenario]:
    """The five scenarios of ``harmony sim economics`` by name.

    * ``mainnet``: the mainnet preset (4 shards × 250 seats, 7 ONE per 2 s block), half the supply staked;
    * ``apr-15``: the staking ratio at which the median rule's average APR is 15 % (seed 003's figure):
      441.5 M ONE a year over 15 % of 12.6 B, 23.36 %;
    * ``high-staking``: delegators drive the staking ratio from 50 % to 70 %;
    * ``harmony-history``: Harmony's staking-era schedule (:data:`HARMONY_HISTORY`);
    * ``stress``: flaky nodes, double signs and heavy fee burn.
    """
    apr15 = Dec.from_int(441_504_000).quo(Dec.from_int(12_600_000_000).mul(Dec.from_str("0.15")))
    apr15 = Dec.from_str(str(apr15)[:8])
    base = Scenario(name="mainnet")
    return {
        "mainnet": base,
        "apr-15": replace(base, name="apr-15", initial_staking_ratio=apr15, target_staking_ratio=apr15),
        "high-staking": replace(base, name="high-staking", target_staking_ratio=Dec.from_str("0.7")),
        "harmony-history": replace(base, name="harmony-history", eras=HARMONY_HISTORY),
        "stress": replace(
            base,
            name="stress",
            flaky_share=Dec.from_str("0.2"),
            double_sign_per_year=Dec.from_str("0.05"),
            fee_per_block=2 * ONE,
        ),
    }


_DEC_FIELDS = frozenset(f.name for f in fields(Scenario) if f.type in ("Dec",))
_INT_FIELDS = frozenset(
    ("years", "genesis_supply", "validators", "max_keys", "fee_per_block", "seed"),
)


def parse_value(name: str, text: str) -> Any:
    """A scenario field's value from text (``--set``/``--sweep`` or a scenario file): integers for counts and
    atto, exact decimals for ratios; :class:`ScenarioError` naming ``name`` otherwise."""
    if name in _DEC_FIELDS:
        try:
            return Dec.from_str(text.strip())
        except (HarmonyError, ValueError) as exc:
            raise ScenarioError(name, f"{text!r} is not a decimal ({exc})") from None
    if name in _INT_FIELDS:
        try:
            return int(text.strip())
        except ValueError:
            raise ScenarioError(name, f"{text!r} is not an integer") from None
    if name == "preset":
        return text.strip()
    known = ", ".join(sorted(_DEC_FIELDS | _INT_FIELDS | {"preset"}))
    raise ScenarioError(name, f"not a scenario parameter; known: {known}")


def with_values(scenario: Scenario, values: dict[str, str]) -> Scenario:
    """``scenario`` with the named fields set from text, then checked."""
    changes = {name: parse_value(name, text) for name, text in values.items()}
    return check_scenario(replace(scenario, **changes))


def load_scenario_file(path: Path) -> Scenario:
    """A scenario from a JSON file ``{"name": ..., "base": "mainnet", "<field>": "<value>", ...}``: the
    named base scenario (default ``mainnet``) with the given fields; values as in :func:`parse_value`."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError("scenario_file", f"{path}: cannot read it ({exc.strerror})") from None
    if size > MAX_SCENARIO_FILE:
        raise ScenarioError("scenario_file", f"{path}: larger than {MAX_SCENARIO_FILE} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError("scenario_file", f"{path}: not a JSON object ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str | int) for v in data.values()):
        raise ScenarioError("scenario_file", f"{path}: a JSON object of string or integer values")
    base_name = str(data.pop("base", "mainnet"))
    presets = scenario_presets()
    if base_name not in presets:
        raise ScenarioError("base", f"unknown scenario {base_name!r}; known: {', '.join(presets)}")
    name = str(data.pop("name", path.stem))
    values = {key: str(value) for key, value in data.items()}
    return with_values(replace(presets[base_name], name=name), values)


__all__ = [
    "GENESIS_SUPPLY",
    "HARMONY_HISTORY",
    "SECONDS_PER_YEAR",
    "STEPS_PER_YEAR",
    "STEP_SECONDS",
    "Era",
    "Scenario",
    "ScenarioError",
    "check_scenario",
    "load_scenario_file",
    "parse_value",
    "scenario_presets",
    "with_values",
]
