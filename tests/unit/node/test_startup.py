"""The steps of a node's opening: the network, keys, data directory, committee and pools (real genesis,
keystores and LMDB; the running steps are covered by the end-to-end devnet tests)."""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest

from harmony.chain.genesis import dev_bls_key, make_localnet_genesis
from harmony.crypto.bls_keystore import encrypt_bls_key, save_bls_keystore
from harmony.node.config import WAITING_FOR_STORE, ConfigError, NodeConfig
from harmony.node.startup import (
    committee_of,
    load_bls_keys,
    load_network,
    new_shard_services,
    new_staking_pool,
    new_vdf_service,
    open_chain,
    open_store,
    warn_foreign_keys,
)
from harmony.storage.errors import StorageLocked
from harmony.storage.lmdb_store import LMDBStore

GENESIS = make_localnet_genesis(timestamp=1_700_000_000)


def test_the_network_needs_a_genesis_and_the_shard() -> None:
    assert load_network(NodeConfig(shard_id=1), GENESIS) is GENESIS
    with pytest.raises(ConfigError) as info:
        load_network(NodeConfig(), None)
    assert info.value.field == "general.genesis"
    with pytest.raises(ConfigError, match="shard 2 does not exist") as info:
        load_network(NodeConfig(shard_id=GENESIS.params.shard_count), GENESIS)
    assert info.value.field == "general.shard_id"


def test_keystores_are_decrypted_with_the_first_line_of_the_pass_file(tmp_path: Path) -> None:
    key = dev_bls_key(0, 0)
    path = save_bls_keystore(tmp_path, encrypt_bls_key(key, "secret", light=True))
    (tmp_path / "pass.txt").write_text("secret\nignored\n", encoding="utf-8")
    assert load_bls_keys((), None) == ()
    loaded = load_bls_keys((path,), tmp_path / "pass.txt")
    assert [k.public_key.to_bytes() for k in loaded] == [key.public_key.to_bytes()]
    for pass_file, field in ((None, "bls.pass_file"), (tmp_path / "none.txt", "bls.pass_file")):
        with pytest.raises(ConfigError) as info:
            load_bls_keys((path,), pass_file)
        assert info.value.field == field
    (tmp_path / "wrong.txt").write_text("wrong", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_bls_keys((path,), tmp_path / "wrong.txt")
    assert info.value.field == "bls.keys"


def test_the_chain_its_committee_and_its_pools(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with ExitStack() as stack:
        beacon = open_chain(NodeConfig(data_dir=tmp_path / "0", shard_id=0), GENESIS, stack)[1]
        shard1 = open_chain(NodeConfig(data_dir=tmp_path / "1", shard_id=1), GENESIS, stack)[1]
        assert (tmp_path / "0" / "consensus").is_dir() and (tmp_path / "0" / "chain").exists()
        committee = committee_of(beacon)
        assert committee.shard_id == 0 and committee_of(shard1).shard_id == 1
        seated, foreign = dev_bls_key(0, 0), dev_bls_key(1, 0)  # shard 1's seat is foreign on shard 0
        with caplog.at_level(logging.WARNING, logger="harmony.node"):
            warn_foreign_keys((seated, foreign), committee)
        assert caplog.text.count("is not in shard 0's committee") == 1
        assert foreign.public_key.to_bytes().hex()[:16] in caplog.text
        assert new_staking_pool(beacon) is not None and new_staking_pool(shard1) is None
        config = NodeConfig(data_dir=tmp_path / "0")
        assert (
            new_vdf_service(beacon, config, ()) is None and new_vdf_service(shard1, config, (seated,)) is None
        )
        assert new_vdf_service(beacon, config, (seated,)) is not None
        services = new_shard_services(beacon, committee, (foreign, seated), None, lambda data: None)
        seat = next(s for s in committee.slots if s.bls_public_key == seated.public_key.to_bytes())
        assert services.reporter == seat.ecdsa_address
        assert new_shard_services(beacon, committee, (), None, lambda data: None).reporter == b"\x00" * 20


def test_a_data_directory_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    with ExitStack() as stack, pytest.raises(ConfigError, match="cannot create") as info:
        open_chain(NodeConfig(data_dir=tmp_path / "file" / "data"), GENESIS, stack)
    assert info.value.field == "general.data_dir"


def test_a_held_database_is_waited_for_only_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``[storage] wait_s``: the new node of an upgrade waits for the old one to close the database (here a
    handle of this process, closed from another thread); without it, the database in use is refused."""
    path = tmp_path / "chain"
    held = LMDBStore(path)
    with pytest.raises(StorageLocked):
        open_store(path, 0)
    timer = threading.Timer(0.3, held.close)
    timer.start()
    with caplog.at_level(logging.INFO, logger="harmony.node"):
        store = open_store(path, 30)
    timer.join()
    store.close()
    assert sum(WAITING_FOR_STORE in r.getMessage() for r in caplog.records) == 1
    held = LMDBStore(path)
    with pytest.raises(StorageLocked):
        open_store(path, 0.2)  # the old node never exits: refused once the wait is over
    held.close()
