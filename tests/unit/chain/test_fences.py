"""Country fences in the genesis and the chain's rules (issue 21, docs/design/fenced-shards.md)."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony.chain.fences import (
    DEFAULT_MAX_ATTESTATION_EPOCHS,
    DEFAULT_MIN_SEATS,
    MAX_ATTESTORS,
    Fence,
    FenceError,
    Fences,
    check_jurisdiction,
)
from harmony.chain.genesis import (
    GenesisError,
    dev_account_key,
    genesis_to_json,
    load_genesis,
    make_localnet_genesis,
    parse_genesis,
)
from harmony.chain.params import LOCALNET
from harmony.chain.rules import ChainRules
from harmony.encoding.address import to_bech32
from harmony.encoding.fixed import Dec

ATTESTOR = dev_account_key(900).address
OTHER = dev_account_key(901).address
BASE: dict[str, Any] = json.loads(genesis_to_json(make_localnet_genesis(accounts=2, timestamp=5)))


def fenced_doc(**fence: Any) -> dict[str, Any]:
    """The localnet genesis with shard 1 fenced to EU, one attestor (and ``fence``'s fields)."""
    doc = copy.deepcopy(BASE)
    doc["fences"] = {"EU": {"attestors": [to_bech32(ATTESTOR)], **fence}}
    doc["shards"][1]["fence"] = "EU"
    return doc


def test_a_fenced_shard_in_the_genesis_becomes_a_rule() -> None:
    genesis = parse_genesis(fenced_doc(min_seats=2, min_stake_share="0.5", max_attestation_epochs=30))
    assert genesis.shards[0].fence is None and genesis.shards[1].fence == "EU"
    fences = ChainRules.of(genesis).fences
    assert fences == genesis.fence_rules()
    assert fences.shard_fences == (None, "EU")
    assert fences.jurisdiction_of(1) == "EU" and fences.jurisdiction_of(0) is None
    assert fences.jurisdiction_of(7) is None and fences.jurisdiction_of(-1) is None
    assert fences.fenced_shards("EU") == (1,) and fences.fenced_shards("CH") == ()
    assert fences.is_attestor("EU", ATTESTOR)
    assert not fences.is_attestor("EU", OTHER) and not fences.is_attestor("CH", ATTESTOR)
    fence = fences.fence("EU")
    assert fence is not None and fences.any
    assert (fence.min_seats, fence.min_stake_share, fence.max_attestation_epochs) == (
        2,
        Dec.from_str("0.5"),
        30,
    )


def test_defaults_and_the_file_round_trip() -> None:
    genesis = parse_genesis(fenced_doc())
    fence = genesis.fences[0]
    assert fence.min_seats == DEFAULT_MIN_SEATS and fence.min_stake_share == Dec.zero()
    assert fence.max_attestation_epochs == DEFAULT_MAX_ATTESTATION_EPOCHS
    text = genesis_to_json(genesis)
    assert load_genesis(text) == genesis
    assert '"fence": "EU"' in text


def test_an_unfenced_network_has_no_fences() -> None:
    genesis = make_localnet_genesis(accounts=1)
    rules = ChainRules.of(genesis)
    assert rules.fences == Fences() and not rules.fences.any
    assert rules.fences.jurisdiction_of(1) is None
    assert '"fence' not in genesis_to_json(genesis)


def test_one_jurisdiction_may_fence_several_shards_and_attestors_may_serve_several() -> None:
    two = dataclasses.replace(LOCALNET, name="localnet", shard_count=3)
    fences = Fences(
        (Fence("EU", (ATTESTOR,)), Fence("CH", (ATTESTOR, OTHER))),
        (None, "EU", "CH"),
    )
    assert fences.is_attestor("EU", ATTESTOR) and fences.is_attestor("CH", ATTESTOR)
    assert ChainRules(two, fences=fences).fences.fenced_shards("CH") == (2,)
    assert Fences((Fence("EU", (ATTESTOR,)),), (None, "EU", "EU")).fenced_shards("EU") == (1, 2)


def _set(path: str, value: Any) -> Any:
    """A mutation of :func:`fenced_doc`'s document: set the dotted ``path`` (list indexes as digits)."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _drop_shard_fence(doc: dict[str, Any]) -> None:
    del doc["shards"][1]["fence"]


def _add_unused(doc: dict[str, Any]) -> None:
    doc["fences"]["CH"] = {"attestors": [to_bech32(OTHER)]}


def _rename(doc: dict[str, Any]) -> None:
    doc["fences"] = {"eu": doc["fences"]["EU"]}


def _too_many_attestors(doc: dict[str, Any]) -> None:
    doc["fences"]["EU"]["attestors"] = [
        to_bech32(dev_account_key(i).address) for i in range(MAX_ATTESTORS + 1)
    ]


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (_set("fences", []), "fences", "object"),
        (_set("fences.EU", "yes"), 'fences["EU"]', "object"),
        (_set("fences.EU.color", "blue"), 'fences["EU"].color', "unknown field"),
        (_rename, 'fences["eu"]', "not a jurisdiction"),
        (_set("fences.EU.attestors", []), 'fences["EU"].attestors', "1 to 32"),
        (_set("fences.EU.attestors", "one1x"), 'fences["EU"].attestors', "list"),
        (_too_many_attestors, 'fences["EU"].attestors', "1 to 32"),
        (_set("fences.EU.attestors.0", "0x12"), 'fences["EU"].attestors[0]', ""),
        (_set("fences.EU.attestors.0", 5), 'fences["EU"].attestors[0]', "string"),
        (_set("fences.EU.attestors", [to_bech32(ATTESTOR), "0x" + ATTESTOR.hex()]), "attestors[1]", "twice"),
        (_set("fences.EU.min_seats", -1), 'fences["EU"].min_seats', "outside"),
        (_set("fences.EU.min_seats", 99), 'fences["EU"].min_seats', "outside"),
        (_set("fences.EU.min_seats", "2"), 'fences["EU"].min_seats', "integer"),
        (_set("fences.EU.min_stake_share", "1.5"), 'fences["EU"].min_stake_share', "[0, 1]"),
        (_set("fences.EU.min_stake_share", "-0.1"), 'fences["EU"].min_stake_share', ""),
        (_set("fences.EU.min_stake_share", "half"), 'fences["EU"].min_stake_share', ""),
        (_set("fences.EU.min_stake_share", 1), 'fences["EU"].min_stake_share', "decimal string"),
        (_set("fences.EU.max_attestation_epochs", 0), "max_attestation_epochs", "at least 1"),
        (_set("fences.EU.max_attestation_epochs", 2**33), "max_attestation_epochs", "outside"),
        (_set("shards.0.fence", "EU"), "shards[0].fence", "beacon"),
        (_set("shards.1.fence", "CH"), "shards[1].fence", "declared: EU"),
        (_set("shards.1.fence", 3), "shards[1].fence", "not a jurisdiction"),
        (_drop_shard_fence, 'fences["EU"]', "fences no shard"),
        (_add_unused, 'fences["CH"]', "fences no shard"),
    ],
)
def test_bad_fences_are_refused_naming_the_field(mutate: Any, field: str, words: str) -> None:
    doc = fenced_doc()
    mutate(doc)
    with pytest.raises(GenesisError) as info:
        parse_genesis(doc)
    assert field in info.value.field
    assert words in str(info.value)


def test_a_shard_fenced_without_any_fences_declared() -> None:
    doc = copy.deepcopy(BASE)
    doc["shards"][1]["fence"] = "EU"
    with pytest.raises(GenesisError, match=r"declared: none") as info:
        parse_genesis(doc)
    assert info.value.field == "shards[1].fence"


def test_too_many_jurisdictions() -> None:
    doc = fenced_doc()
    doc["fences"].update({f"J{i:02d}": {"attestors": [to_bech32(ATTESTOR)]} for i in range(64)})
    with pytest.raises(GenesisError, match="more than 64") as info:
        parse_genesis(doc)
    assert info.value.field == "fences"


def test_the_frozen_values_keep_their_invariants() -> None:
    for bad_fence in [
        lambda: Fence("EU", ()),
        lambda: Fence("EU", (b"\x01" * 19,)),
        lambda: Fence("EU", (ATTESTOR, ATTESTOR)),
        lambda: Fence("EU", (ATTESTOR,), min_seats=-1),
        lambda: Fence("EU", (ATTESTOR,), min_stake_share=Dec.from_str("1.01")),
        lambda: Fence("EU", (ATTESTOR,), max_attestation_epochs=0),
        lambda: Fence("e", (ATTESTOR,)),
    ]:
        with pytest.raises(FenceError):
            bad_fence()
    eu = Fence("EU", (ATTESTOR,))
    with pytest.raises(FenceError, match="beacon_fenced"):
        Fences((eu,), ("EU", None))
    with pytest.raises(FenceError, match="unknown_jurisdiction"):
        Fences((eu,), (None, "CH"))
    with pytest.raises(FenceError, match="unused"):
        Fences((eu,), (None, None))
    with pytest.raises(FenceError, match="twice"):
        Fences((eu, eu), (None, "EU"))
    with pytest.raises(ValueError, match="3 shards"):
        ChainRules(LOCALNET, fences=Fences((eu,), (None, "EU", None)))


@pytest.mark.parametrize("good", ["EU", "CH", "US-CA", "A1", "ABCDEFGHIJKLMNOP"])
def test_jurisdiction_spellings(good: str) -> None:
    assert check_jurisdiction(good) == good


@pytest.mark.parametrize(
    "bad", ["", "E", "eu", "1EU", "-EU", "ABCDEFGHIJKLMNOPQ", "E U", "ÉU", "EU\n", 7, None]
)
def test_bad_jurisdiction_spellings(bad: object) -> None:
    with pytest.raises(FenceError) as info:
        check_jurisdiction(bad)
    assert info.value.reason == "jurisdiction"


@given(st.one_of(st.text(max_size=40), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=3)))
def test_any_fence_name_is_taken_or_refused_with_a_typed_error(name: object) -> None:
    doc = fenced_doc()
    doc["fences"] = {name if isinstance(name, str) else "EU": {"attestors": [to_bech32(ATTESTOR)]}}
    doc["shards"][1]["fence"] = name
    try:
        genesis = parse_genesis(doc)
    except GenesisError as exc:
        assert exc.field.startswith(("fences", "shards[1].fence"))
    else:
        assert genesis.shards[1].fence == name
        assert ChainRules.of(genesis).fences.jurisdiction_of(1) == name
