"""Genesis files and genesis blocks (reference §2.1, §3.6)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harmony.chain.genesis import (
    MAX_GENESIS_SIZE,
    GenesisError,
    dev_bls_key,
    genesis_block,
    genesis_to_json,
    load_genesis,
    make_localnet_genesis,
    parse_balance,
    parse_genesis,
)
from harmony.chain.params import LOCALNET, LOCALNET32, MAINNET, ONE
from harmony.encoding.address import parse_address, to_bech32
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.state.statedb import StateDB
from harmony.types.shard_state import ShardState

GENESIS = make_localnet_genesis(accounts=3, timestamp=1234)
DOC: dict[str, Any] = json.loads(genesis_to_json(GENESIS))
KEY = dev_bls_key(0, 0).public_key.hex()


def test_localnet_genesis_is_deterministic() -> None:
    again = make_localnet_genesis(accounts=3, timestamp=1234)
    assert again == GENESIS
    assert len(GENESIS.shards) == 2
    assert all(len(s.committee) == 4 for s in GENESIS.shards)
    assert len(GENESIS.shards[0].alloc) == 3 + 4


def test_json_round_trip_text_bytes_and_path(tmp_path: Path) -> None:
    text = genesis_to_json(GENESIS)
    assert load_genesis(text) == GENESIS
    assert load_genesis(text.encode()) == GENESIS
    path = tmp_path / "genesis.json"
    path.write_text(text)
    assert load_genesis(path) == GENESIS
    assert load_genesis(str(path)) == GENESIS


def test_balances() -> None:
    assert parse_balance("1000 ONE") == 1000 * ONE
    assert parse_balance("1.5 ONE") == 1_500_000_000_000_000_000
    assert parse_balance("0.000000000000000001 ONE") == 1
    assert parse_balance("42") == 42
    assert parse_balance(42) == 42
    for bad in [
        "-1",
        -1,
        "1.5",
        "1e18",
        "1 one",
        True,
        None,
        1.5,
        "2" * 80,
        2**256,
        "1.0000000000000000001 ONE",
    ]:
        with pytest.raises(GenesisError):
            parse_balance(bad)


def test_genesis_block_applies_allocation() -> None:
    state = StateDB({})
    block = genesis_block(GENESIS, 1, state)
    header = block.header
    assert header.number == 0 and header.epoch == 0 and header.shard_id == 1
    assert header.time == 1234
    assert header.gas_limit == LOCALNET.gas_limit(0)
    assert header.tx_hash == header.receipt_hash == header.outgoing_receipt_hash == EMPTY_TRIE_ROOT
    assert header.root == state.state_root() != EMPTY_TRIE_ROOT
    shard_state = header.get_shard_state()
    assert isinstance(shard_state, ShardState)
    assert shard_state.epoch == 0
    assert shard_state.committee(1).slots == GENESIS.shards[1].committee
    for account in GENESIS.shards[1].alloc:
        assert state.get_balance(account.address) == account.balance
    # the same allocation on a fresh state gives the same root; the other shard a different header
    assert genesis_block(GENESIS, 1, StateDB({})).hash() == block.hash()
    assert genesis_block(GENESIS, 0, StateDB({})).hash() != block.hash()


def _bad(mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    mutate(doc)
    return doc


ADDR = DOC["shards"][0]["committee"][0]["address"]
ALLOC_ADDR = next(iter(DOC["shards"][0]["alloc"]))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(network="nonet"), "network"),
        (lambda d: d.update(network=3), "network"),
        (lambda d: d.pop("timestamp"), "genesis.timestamp"),
        (lambda d: d.update(timestamp=-5), "timestamp"),
        (lambda d: d.update(timestamp="5"), "timestamp"),
        (lambda d: d.update(gas_limit=0), "gas_limit"),
        (lambda d: d.update(extra="0x" + "00" * 33), "extra"),
        (lambda d: d.update(extra="zz"), "extra"),
        (lambda d: d.update(color="blue"), "genesis.color"),
        (lambda d: d.update(vdf_iterations=-1), "vdf_iterations"),
        (lambda d: d.update(vdf_iterations="many"), "vdf_iterations"),
        (lambda d: d.update(vdf_iterations=True), "vdf_iterations"),
        (lambda d: d.update(vdf_iterations=2**41), "vdf_iterations"),
        (lambda d: d["shards"].pop(), "shards"),
        (lambda d: d.update(shards={}), "shards"),
        (lambda d: d["shards"][1].update(shard_id=0), "shards[1].shard_id"),
        (lambda d: d["shards"][1].update(shard_id=7), "shards[1].shard_id"),
        (lambda d: d["shards"][0].update(alloc=[]), "shards[0].alloc"),
        (lambda d: d["shards"][0]["alloc"].update({"one1notanaddress": "1"}), "shards[0].alloc"),
        (lambda d: d["shards"][0]["alloc"].update({ALLOC_ADDR: "-3"}), "shards[0].alloc"),
        (lambda d: d["shards"][0]["alloc"].update({ALLOC_ADDR: "lots"}), "shards[0].alloc"),
        (lambda d: d["shards"][0].update(committee=[]), "shards[0].committee"),
        (lambda d: d["shards"][0]["committee"][0].update(bls_public_key="00" * 48), "bls_public_key"),
        (lambda d: d["shards"][0]["committee"][0].update(bls_public_key="ab"), "bls_public_key"),
        (lambda d: d["shards"][0]["committee"][0].update(bls_public_key=7), "bls_public_key"),
        (lambda d: d["shards"][1]["committee"][0].update(bls_public_key=KEY), "bls_public_key"),
        (lambda d: d["shards"][0]["committee"][0].update(address="0x12"), "committee[0].address"),
        (lambda d: d["shards"][0]["committee"][0].pop("address"), "committee[0].address"),
        (lambda d: d["shards"][0]["committee"].extend(d["shards"][0]["committee"] * 2), "committee"),
    ],
)
def test_bad_fields_are_named(mutate: Any, field: str) -> None:
    doc = _bad(mutate)
    with pytest.raises(GenesisError) as info:
        parse_genesis(doc)
    assert field in info.value.field


def test_same_address_twice_in_two_spellings() -> None:
    doc = copy.deepcopy(DOC)
    doc["shards"][0]["alloc"]["0x" + parse_address(ALLOC_ADDR).hex()] = "1"
    with pytest.raises(GenesisError, match="allocated twice"):
        parse_genesis(doc)


def test_text_level_errors(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="duplicate key"):
        load_genesis('{"network": "localnet", "network": "mainnet"}')
    with pytest.raises(GenesisError, match="not an integer"):
        load_genesis('{"network": "localnet", "timestamp": 1.5}')
    with pytest.raises(GenesisError, match="not an integer"):
        load_genesis('{"network": "localnet", "timestamp": NaN}')
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_genesis("{nope")
    with pytest.raises(GenesisError, match="UTF-8"):
        load_genesis(b"{\xff}")
    with pytest.raises(GenesisError, match="must be an object"):
        load_genesis(b"[1, 2]")
    with pytest.raises(GenesisError, match="cannot read"):
        load_genesis(tmp_path / "missing.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_GENESIS_SIZE + 1))
    with pytest.raises(GenesisError, match="larger than"):
        load_genesis(big)
    with pytest.raises(GenesisError):
        load_genesis("[" * 100_000)


def test_shard_lookup() -> None:
    with pytest.raises(GenesisError, match="shard_id"):
        GENESIS.shard(2)
    assert GENESIS.shard(1).shard_id == 1
    assert to_bech32(GENESIS.shards[0].committee[0].ecdsa_address) == ADDR


def test_the_files_gas_limit_holds_from_genesis_until_the_presets_next_change(tmp_path: Path) -> None:
    assert make_localnet_genesis().params is LOCALNET  # the preset's own limit: the preset unchanged
    genesis = make_localnet_genesis(gas_limit=80_000_000)
    assert genesis.params.gas_limit(0) == genesis.params.gas_limit(10**6) == 80_000_000
    loaded = load_genesis(genesis_to_json(genesis))
    assert loaded.params == genesis.params and loaded.gas_limit == 80_000_000
    mainnet = MAINNET.with_genesis_gas_limit(4_712_388)  # Harmony's mainnet genesis, then its schedule
    assert [mainnet.gas_limit(e) for e in (0, 1672, 1673)] == [4_712_388, 4_712_388, 30_000_000]
    assert MAINNET.with_genesis_gas_limit(80_000_000) == MAINNET


def test_a_localnet32_genesis_seats_up_to_32_keys_per_shard() -> None:
    """The network the genesis names sets the committee's bound: 16 keys are refused on localnet (8 seats)
    and taken on localnet32 (32 seats), which refuses a 33rd; the file round-trips to the same preset."""
    wide = make_localnet_genesis(params=LOCALNET32, accounts=1, keys_per_shard=16, timestamp=1)
    assert wide.params is LOCALNET32 and all(len(s.committee) == 16 for s in wide.shards)
    doc = json.loads(genesis_to_json(wide))
    assert doc["network"] == "localnet32"
    assert parse_genesis(doc) == wide
    as_localnet = dict(doc, network="localnet")
    with pytest.raises(GenesisError, match="more than the 8 seats per shard") as info:
        parse_genesis(as_localnet)
    assert info.value.field == "shards[0].committee"
    assert len(make_localnet_genesis(params=LOCALNET32, accounts=1).shards[0].committee) == 16  # its default
    full = make_localnet_genesis(params=LOCALNET32, accounts=1, keys_per_shard=33, timestamp=1)
    with pytest.raises(GenesisError, match="more than the 32 seats per shard"):
        parse_genesis(json.loads(genesis_to_json(full)))
