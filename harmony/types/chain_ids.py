"""Chain IDs: Harmony's per-network chain ID and the Ethereum-compatible chain IDs of each shard.

Rules (reference §2.3, §2.6; ``internal/params/config.go``):

* every network has a small Harmony chain ID (mainnet 1, testnet 2, pangaea 3, partner 4, stressnet 5) that
  Harmony-format and staking transactions sign with;
* every shard also has an Ethereum-compatible chain ID, ``base + shard``, that Ethereum-format transactions
  (and Harmony-format ones signed by Ethereum tools) carry: mainnet base 1,666,600,000, testnet 1,666,700,000,
  then 1,666,800,000 / 1,666,900,000 / 1,667,000,000 for the others;
* any chain ID at or above 1,666,600,000 is "Ethereum compatible" (``params.IsEthCompatible``): a Harmony
  transaction signed for such a chain ID uses the Ethereum signing hash, without the shard fields;
* Harmony's localnet reuses the testnet IDs: chain ID 2 and Ethereum base 1,666,700,000
  (``LocalnetChainConfig``), and so does ours.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony.errors import InvalidTransaction

ETH_MAINNET_SHARD0_CHAIN_ID = 1_666_600_000
"""The lowest Ethereum-compatible chain ID; everything at or above it is Ethereum compatible."""

ETH_CHAIN_ID_SPACING = 100_000
"""Distance between two networks' Ethereum bases; a shard number must stay below it."""


@dataclass(frozen=True, slots=True)
class Network:
    """A network's chain identifiers (reference §2.6)."""

    name: str
    """Preset name, as used on the command line."""
    chain_id: int
    """Harmony chain ID: what Harmony-format and staking transactions sign with."""
    eth_chain_id_base: int
    """Ethereum-compatible chain ID of shard 0; shard ``n`` uses ``base + n``."""

    def eth_chain_id(self, shard_id: int) -> int:
        """The Ethereum-compatible chain ID of ``shard_id`` on this network (``base + shard``)."""
        if not 0 <= shard_id < ETH_CHAIN_ID_SPACING:
            raise InvalidTransaction(f"shard {shard_id} outside 0..{ETH_CHAIN_ID_SPACING - 1}")
        return self.eth_chain_id_base + shard_id

    def shard_of(self, eth_chain_id: int) -> int:
        """The shard an Ethereum-compatible chain ID names on this network (``chainID − base``)."""
        return shard_from_eth_chain_id(eth_chain_id, self.eth_chain_id_base)


MAINNET = Network("mainnet", 1, 1_666_600_000)
TESTNET = Network("testnet", 2, 1_666_700_000)
PANGAEA = Network("pangaea", 3, 1_666_800_000)
PARTNER = Network("partner", 4, 1_666_900_000)
STRESSNET = Network("stressnet", 5, 1_667_000_000)
LOCALNET = Network("localnet", 2, 1_666_700_000)
"""Harmony's localnet signs with the testnet IDs (``LocalnetChainConfig``); ours does the same."""

NETWORKS: dict[str, Network] = {n.name: n for n in (MAINNET, TESTNET, PANGAEA, PARTNER, STRESSNET, LOCALNET)}
"""Every known network by name."""


def is_eth_compatible(chain_id: int) -> bool:
    """Whether ``chain_id`` is an Ethereum-compatible one (``params.IsEthCompatible``: ≥ 1,666,600,000)."""
    return chain_id >= ETH_MAINNET_SHARD0_CHAIN_ID


def shard_from_eth_chain_id(eth_chain_id: int, base: int) -> int:
    """``chainID − base`` (reference §2.3); :class:`InvalidTransaction` if the ID is not one of ``base``'s."""
    shard = eth_chain_id - base
    if not 0 <= shard < ETH_CHAIN_ID_SPACING:
        raise InvalidTransaction(f"chain ID {eth_chain_id} is not a shard of the network based at {base}")
    return shard
