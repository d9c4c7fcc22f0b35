"""Network parameters: one frozen table per network, gated by epoch where a value changes (design §6).

Three presets:

* :data:`LOCALNET` (the default of ``make devnet``): 2 shards (0 = beacon, 1), 4 genesis keys per shard and
  room for 4 external seats, 2 s blocks, 32-block epochs (about a minute) so elections, rewards and
  resharding are seen quickly; the testnet chain IDs, as Harmony's localnet (reference §2.6).
* :data:`LOCALNET32`: localnet with 32 seats per shard (16 genesis keys, 16 external seats), every other
  rule localnet's: the development network for committees larger than 8 (a testnet manifest's
  ``network = "localnet32"``, ``bench/propagation.py`` at 16 validators).
* :data:`MAINNET`: the seeds' network: 4 shards × 250 seats, 40 % of them open to external validators
  (design §6), 2 s blocks, and Harmony mainnet's epoch arithmetic exactly (reference §6.1): epoch 0 is
  blocks 0 … 344,063, then 16,384-block epochs until epoch 366 (the 2-second fork), then 32,768-block ones.

Amounts are atto integers (1 ONE = 10^18 atto), ratios :class:`~harmony.encoding.fixed.Dec`; nothing here is
a float. Values taken from the reference: minimum self-delegation 10,000 ONE and minimum delegation 100 ONE
(§2.5), commission in [0, 1] with a 7 % floor (§2.5), a 7-epoch undelegation lock (§2.5), a 2/3 signing
threshold (§5.1), an effective-stake band c = 0.35 (§3.4), gas limits 80 M then 30 M (§2.1), a 100 gwei
pool minimum gas price (§10.1).

Decisions (where the reference leaves a choice):

* **Minimum gas price** is a transaction-pool policy, not a consensus rule: blocks with cheaper
  transactions are valid. Mainnet keeps Harmony's 100 gwei; localnet uses 1 gwei so development accounts
  last.
* **Transaction fees are burned** on both presets, as Harmony does in the staking era before
  ``FeeCollectEpoch`` (reference §4.2): block rewards, not fees, pay validators. :class:`FeePolicy` can
  instead pay the block's coinbase or one collector address.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.types import chain_ids
from harmony.types.chain_ids import Network

ONE = 10**18
"""Atto per ONE."""
GWEI = 10**9
"""Atto per gwei."""

MIN_COMMISSION_RATE = Dec.from_str("0.07")
"""Commission floor since HIP-30 (reference §2.5)."""
MAX_COMMISSION_RATE = Dec.one()
"""Rates are at most 1 (reference §2.5)."""
NO_SLOTS_LIMIT = Dec(0)
"""A zero HIP-16 share: no per-shard limit on a validator's keys."""
SIGNING_THRESHOLD = Dec.from_int(2).quo(Dec.from_int(3))
"""2/3 as Go computes it, ``NewDec(2).Quo(NewDec(3))`` = 0.666666666666666667 (reference §5.1)."""
EFFECTIVE_STAKE_BAND = Dec.from_str("0.35")
"""c of the effective-stake band since ``EPoSBound35Epoch`` (reference §3.4)."""
BLOCKHASH_WINDOW = 256
"""How many previous block hashes the BLOCKHASH opcode can see (YP §9.4.4): a block's execution reads them,
so a state sync stores them with its pivot and a pruning node keeps them whole."""
PIVOT_EPOCHS = 3
"""Epoch ends a state sync tries back from the newest for its pivot (a shard ends its epoch a few blocks
after the beacon); a pruning node keeps the blocks each of them needs."""


class UnknownPreset(HarmonyError):
    """A network preset name that is not defined."""


class FeeRecipient(Enum):
    """Who receives a transaction's fee (gas used × gas price)."""

    BURN = "burn"
    """Nobody: the fee leaves the supply (Harmony's staking era before FeeCollectEpoch)."""
    COINBASE = "coinbase"
    """The block's coinbase, i.e. the leader (Harmony before staking)."""
    COLLECTOR = "collector"
    """One fixed collector address (Harmony after FeeCollectEpoch pays collectors)."""


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """Where transaction fees go (reference §4.2 "Fees")."""

    recipient: FeeRecipient = FeeRecipient.BURN
    collector: bytes | None = None
    """The collector address when ``recipient`` is :attr:`FeeRecipient.COLLECTOR`."""

    def __post_init__(self) -> None:
        if (self.recipient is FeeRecipient.COLLECTOR) != (self.collector is not None):
            raise ValueError("a collector address is required exactly for the COLLECTOR fee policy")
        if self.collector is not None and len(self.collector) != 20:
            raise ValueError("a fee collector is a 20-byte address")

    def fee_recipient(self, coinbase: bytes) -> bytes | None:
        """The address credited with fees in a block led by ``coinbase``; ``None`` burns them."""
        if self.recipient is FeeRecipient.COINBASE:
            return coinbase
        if self.recipient is FeeRecipient.COLLECTOR:
            return self.collector
        return None


@dataclass(frozen=True, slots=True)
class EpochSegment:
    """From ``first_epoch`` on (starting at block ``first_block``), every epoch has ``length`` blocks."""

    first_epoch: int
    first_block: int
    length: int


@dataclass(frozen=True, slots=True)
class EpochSchedule:
    """Beacon-chain epoch boundaries as consecutive segments of equal-length epochs (reference §6.1).

    Segment *k* must start exactly where segment *k − 1* ends. Other shards change epoch when they see the
    beacon's shard state (§6.2); this schedule is the beacon's, and every shard's epoch numbering.
    """

    segments: tuple[EpochSegment, ...]

    def __post_init__(self) -> None:
        if not self.segments or self.segments[0] != EpochSegment(0, 0, self.segments[0].length):
            raise ValueError("an epoch schedule starts with epoch 0 at block 0")
        for prev, seg in zip(self.segments, self.segments[1:], strict=False):
            if (
                seg.first_epoch <= prev.first_epoch
                or seg.first_block != prev.first_block + (seg.first_epoch - prev.first_epoch) * prev.length
            ):
                raise ValueError("epoch segments must follow one another without gaps")
        if any(seg.length <= 0 for seg in self.segments):
            raise ValueError("an epoch has at least one block")

    @classmethod
    def uniform(cls, length: int) -> EpochSchedule:
        """Every epoch ``length`` blocks long, epoch 0 included."""
        return cls((EpochSegment(0, 0, length),))

    def _segment_of_block(self, number: int) -> EpochSegment:
        if number < 0:
            raise ValueError(f"block number {number} is negative")
        found = self.segments[0]
        for seg in self.segments:
            if seg.first_block <= number:
                found = seg
        return found

    def _segment_of_epoch(self, epoch: int) -> EpochSegment:
        if epoch < 0:
            raise ValueError(f"epoch {epoch} is negative")
        found = self.segments[0]
        for seg in self.segments:
            if seg.first_epoch <= epoch:
                found = seg
        return found

    def epoch_of(self, number: int) -> int:
        """The epoch block ``number`` belongs to (Go ``CalcEpochNumber``)."""
        seg = self._segment_of_block(number)
        return seg.first_epoch + (number - seg.first_block) // seg.length

    def epoch_first_block(self, epoch: int) -> int:
        """The first block of ``epoch``."""
        seg = self._segment_of_epoch(epoch)
        return seg.first_block + (epoch - seg.first_epoch) * seg.length

    def epoch_last_block(self, epoch: int) -> int:
        """The last block of ``epoch`` (Go ``EpochLastBlock``)."""
        return self.epoch_first_block(epoch + 1) - 1

    def is_last_block(self, number: int) -> bool:
        """Whether block ``number`` ends its epoch (Go ``IsLastBlock``): the beacon's election block."""
        return self.epoch_last_block(self.epoch_of(number)) == number

    def blocks_in_epoch(self, epoch: int) -> int:
        """How many blocks ``epoch`` has."""
        return self._segment_of_epoch(epoch).length


def _at_epoch(schedule: tuple[tuple[int, int], ...], epoch: int) -> int:
    """The value of an ``(epoch, value)`` schedule in force at ``epoch`` (the last entry not after it)."""
    if epoch < 0:
        raise ValueError(f"epoch {epoch} is negative")
    value = schedule[0][1]
    for start, entry in schedule:
        if start <= epoch:
            value = entry
    return value


@dataclass(frozen=True, slots=True)
class NetworkParams:
    """Every protocol parameter of one network (design §6). Read values through the methods that take
    an epoch where the value changes over time."""

    name: str
    network: Network
    """Chain IDs: the Harmony chain ID and the Ethereum-compatible base (reference §2.6)."""
    shard_count: int
    """Shards, the beacon chain (shard 0) included."""
    block_time_ms: int
    """Target time between blocks (reference §1.6: 2 s)."""
    epochs: EpochSchedule
    gas_limit_schedule: tuple[tuple[int, int], ...]
    """``(first epoch, block gas limit)`` pairs, epochs ascending, the first at epoch 0 (§2.1)."""
    seats_per_shard: int
    """Committee seats per shard."""
    harmony_seats_per_shard: int
    """Seats per shard run by Harmony-operated (genesis) keys, which carry no stake (§3.5)."""
    harmony_vote_share: Dec
    """Voting power shared by the Harmony-operated seats (``HarmonyVotePercent``, §1.4)."""
    block_reward_schedule: tuple[tuple[int, int], ...]
    """``(first epoch, atto per block per shard)`` pairs (§4.1)."""
    min_self_delegation: int = 10_000 * ONE
    """Least self-stake of an active validator (§2.5)."""
    min_delegation: int = 100 * ONE
    """Least amount of one delegation (§2.5, ``MinDelegation100Epoch``)."""
    min_commission_rate: Dec = MIN_COMMISSION_RATE
    """Commission floor (§2.5: 7 % since HIP-30)."""
    max_commission_rate: Dec = MAX_COMMISSION_RATE
    """Commission ceiling: rates, max rates and max change rates are in [0, 1] (§2.5)."""
    max_bls_keys_per_validator: int = 106
    """``MaxBLSPerValidator`` (§2.5)."""
    undelegation_lock_epochs: int = 7
    """Epochs an undelegation stays locked before it is paid out (§2.5, design §5)."""
    signing_threshold: Dec = SIGNING_THRESHOLD
    """Availability threshold 2/3 (§5.1): below it a validator is made inactive."""
    effective_stake_band: Dec = EFFECTIVE_STAKE_BAND
    """c of the effective-stake clamp [(1 − c)·median, (1 + c)·median] (§3.4)."""
    slots_limit_share: Dec = NO_SLOTS_LIMIT
    """HIP-16 (§3.1): a validator's keys count in the auction up to ``int(share × external seats per
    shard)`` per shard (shard = key mod shard count); 0 means no limit."""
    reward_frequency: int = 64
    """Beacon blocks between two reward payouts (§4.2 ``RewardFrequency``)."""
    min_gas_price: int = 100 * GWEI
    """Transaction-pool minimum gas price (§10.1); not a block validity rule."""
    fee_policy: FeePolicy = FeePolicy()
    """Who receives transaction fees (module docstring)."""
    beacon_shard_id: int = 0

    def __post_init__(self) -> None:
        if self.shard_count < 1:
            raise ValueError("a network has at least one shard")
        if not 0 <= self.harmony_seats_per_shard <= self.seats_per_shard:
            raise ValueError("Harmony-operated seats must fit in the seats per shard")
        for schedule in (self.gas_limit_schedule, self.block_reward_schedule):
            if not schedule or schedule[0][0] != 0 or list(schedule) != sorted(schedule):
                raise ValueError("an epoch schedule is non-empty, ascending and starts at epoch 0")

    @property
    def chain_id(self) -> int:
        """The Harmony chain ID Harmony-format and staking transactions sign with."""
        return self.network.chain_id

    def eth_chain_id(self, shard_id: int) -> int:
        """The Ethereum-compatible chain ID of ``shard_id`` (``base + shard``, reference §2.3)."""
        return self.network.eth_chain_id(shard_id)

    def accepted_chain_ids(self, shard_id: int) -> frozenset[int]:
        """Chain IDs a transaction executed on ``shard_id`` may be signed for: Harmony's and the shard's."""
        return frozenset((self.chain_id, self.eth_chain_id(shard_id)))

    @property
    def external_seats_per_shard(self) -> int:
        """Seats per shard open to elected validators."""
        return self.seats_per_shard - self.harmony_seats_per_shard

    @property
    def slots_limit_per_shard(self) -> int:
        """HIP-16: most keys of one validator counted per shard in the auction; 0 is no limit (§3.1)."""
        return self.slots_limit_share.mul_int(self.external_seats_per_shard).truncate_int()

    @property
    def external_seats(self) -> int:
        """Seats auctioned each epoch over all shards (``ExternalSlotsAvailableForEpoch``, §3.3)."""
        return self.external_seats_per_shard * self.shard_count

    def gas_limit(self, epoch: int) -> int:
        """The block gas limit in force at ``epoch`` (§2.1)."""
        return _at_epoch(self.gas_limit_schedule, epoch)

    def with_genesis_gas_limit(self, gas_limit: int) -> NetworkParams:
        """These parameters with ``gas_limit`` as the block gas limit from genesis until the schedule's next
        change (a genesis file's ``gas_limit``, as Harmony's genesis sets the chain's first gas limit)."""
        later = tuple(entry for entry in self.gas_limit_schedule if entry[0] > 0)
        return replace(self, gas_limit_schedule=((0, gas_limit), *later))

    def block_reward(self, epoch: int) -> int:
        """Atto paid per block per shard at ``epoch`` (§4.1)."""
        return _at_epoch(self.block_reward_schedule, epoch)

    def epoch_of(self, number: int) -> int:
        """The epoch of block ``number`` (reference §6.1, Go ``CalcEpochNumber``)."""
        return self.epochs.epoch_of(number)

    def epoch_first_block(self, epoch: int) -> int:
        """The first block of ``epoch``."""
        return self.epochs.epoch_first_block(epoch)

    def epoch_last_block(self, epoch: int) -> int:
        """The last block of ``epoch`` (Go ``EpochLastBlock``)."""
        return self.epochs.epoch_last_block(epoch)

    def is_last_block(self, number: int) -> bool:
        """Whether block ``number`` is the last of its epoch (Go ``IsLastBlock``)."""
        return self.epochs.is_last_block(number)

    def is_beacon(self, shard_id: int) -> bool:
        """Whether ``shard_id`` is the beacon chain."""
        return shard_id == self.beacon_shard_id


MAINNET_EPOCH_BLOCK_1 = 344_064
"""First block of epoch 1 on Harmony mainnet (``mainnetEpochBlock1`` = 21·2^14, reference §6.1)."""
MAINNET_BLOCKS_PER_EPOCH_OLD = 16_384
"""Epoch length from epoch 1 until the 2-second fork."""
MAINNET_TWO_SECONDS_EPOCH = 366
"""``TwoSecondsEpoch``: from here on epochs are 32,768 blocks (reference §1.6, §6.1)."""
MAINNET_BLOCKS_PER_EPOCH = 32_768
MAINNET_TWO_SECONDS_FIRST_BLOCK = (MAINNET_TWO_SECONDS_EPOCH - 1) * MAINNET_BLOCKS_PER_EPOCH_OLD + (
    MAINNET_EPOCH_BLOCK_1
)
"""First block of epoch 366: ``(366 − 1) × 16384 + 344064`` (reference §6.1)."""

MAINNET = NetworkParams(
    name="mainnet",
    network=chain_ids.MAINNET,
    shard_count=4,
    block_time_ms=2000,
    epochs=EpochSchedule(
        (
            EpochSegment(0, 0, MAINNET_EPOCH_BLOCK_1),
            EpochSegment(1, MAINNET_EPOCH_BLOCK_1, MAINNET_BLOCKS_PER_EPOCH_OLD),
            EpochSegment(
                MAINNET_TWO_SECONDS_EPOCH, MAINNET_TWO_SECONDS_FIRST_BLOCK, MAINNET_BLOCKS_PER_EPOCH
            ),
        )
    ),
    gas_limit_schedule=((0, 80_000_000), (1673, 30_000_000)),
    seats_per_shard=250,
    harmony_seats_per_shard=150,
    harmony_vote_share=Dec.from_str("0.6"),
    block_reward_schedule=((0, 28 * ONE), (230, 17_500_000_000_000_000_000), (366, 7 * ONE)),
    slots_limit_share=Dec.from_str("0.06"),
)
"""The seeds' network (design §6): 4 × 250 seats, 40 % external, Harmony mainnet's epochs and gas limits.

Rewards follow the staking-era table of reference §4.1 (28, then 17.5, then 7 ONE per block); HIP-30's
doubling does not apply because this network keeps its four shards.
"""

LOCALNET = NetworkParams(
    name="localnet",
    network=chain_ids.LOCALNET,
    shard_count=2,
    block_time_ms=2000,
    epochs=EpochSchedule.uniform(32),
    gas_limit_schedule=((0, 30_000_000),),
    seats_per_shard=8,
    harmony_seats_per_shard=4,
    harmony_vote_share=Dec.from_str("0.68"),
    block_reward_schedule=((0, 7 * ONE),),
    min_gas_price=1 * GWEI,
)
"""The development network (design §6): 2 shards, 4 genesis keys + 4 external seats each, 32-block epochs.

The operator seats hold 68 % of each shard's voting power (Harmony's first staking-era share), so external
validators joining, stopping or misbehaving on a development network never stall it: 68 % alone is a quorum.
"""

LOCALNET32 = replace(LOCALNET, name="localnet32", seats_per_shard=32, harmony_seats_per_shard=16)
"""Localnet with 32 seats per shard: 16 genesis keys + 16 external seats, the rest localnet's (the same
chain IDs, epochs, block time, gas limit, rewards and 68 % operator vote share). A genesis may seat up to 32
keys per shard, so committees of 16 or more run on one machine's namespaced testnet. A separate name: its
nodes meet on their own topics and protocols, never on a localnet's."""

PRESETS: dict[str, NetworkParams] = {p.name: p for p in (LOCALNET, LOCALNET32, MAINNET)}
"""Every preset by name."""
DEVELOPMENT_PRESETS: tuple[str, ...] = (LOCALNET.name, LOCALNET32.name)
"""The presets a development genesis (public deterministic keys: ``make_localnet_genesis``) and a namespaced
testnet run: localnet's chain IDs and its 1 gwei pool minimum."""


def get_preset(name: str) -> NetworkParams:
    """The preset called ``name``; :class:`UnknownPreset` names the known ones otherwise."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise UnknownPreset(f"unknown network preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None


__all__ = [
    "DEVELOPMENT_PRESETS",
    "GWEI",
    "LOCALNET",
    "LOCALNET32",
    "MAINNET",
    "ONE",
    "PRESETS",
    "EpochSchedule",
    "EpochSegment",
    "FeePolicy",
    "FeeRecipient",
    "NetworkParams",
    "UnknownPreset",
    "get_preset",
]
