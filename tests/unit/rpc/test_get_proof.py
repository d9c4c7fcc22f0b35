"""``eth_getProof``/``hmy_getProof`` (EIP-1186) on the RPC fixture's real LMDB chain: the proofs verify
with an independent trie implementation (py-trie) against the block's state root; bad input is refused."""

from __future__ import annotations

import rlp  # type: ignore[import-untyped]
from trie import HexaryTrie  # type: ignore[import-untyped]

from harmony.crypto.keccak import keccak256
from harmony.rpc.methods_shared import MAX_PROOF_SLOTS
from harmony.state.account import Account
from tests.unit.rpc.conftest import CONTRACT, KEYS, ChainFixture
from tests.unit.rpc.test_dispatch import error, result


def h(value: bytes) -> str:
    return "0x" + value.hex()


def _verified(root: bytes, key: bytes, proof: list[str]) -> bytes:
    nodes = tuple(rlp.decode(bytes.fromhex(node[2:])) for node in proof)
    value: bytes = HexaryTrie.get_from_proof(root, key, nodes)
    return value


def test_contract_account_and_slot_verify_against_the_state_root(built: ChainFixture) -> None:
    head = built.chain.head
    answer = result(built.dispatcher, "eth_getProof", h(CONTRACT), ["0x0", "0x01"], "latest")
    assert answer["address"] == h(CONTRACT)
    account = Account.decode(_verified(head.root, keccak256(CONTRACT), answer["accountProof"]))
    assert h(account.storage_root) == answer["storageHash"]
    assert h(account.code_hash) == answer["codeHash"]
    assert int(answer["balance"], 16) == account.balance and int(answer["nonce"], 16) == account.nonce
    stored, empty = answer["storageProof"]
    assert stored["key"] == "0x0" and stored["value"] == hex(42)
    raw = _verified(account.storage_root, keccak256((0).to_bytes(32, "big")), stored["proof"])
    assert rlp.decode(raw, sedes=rlp.sedes.big_endian_int) == 42
    assert empty["key"] == "0x01" and empty["value"] == "0x0"
    assert _verified(account.storage_root, keccak256((1).to_bytes(32, "big")), empty["proof"]) == b""


def test_an_older_block_and_every_namespace(built: ChainFixture) -> None:
    sender = KEYS[0].address
    first = built.blocks[0].header
    answer = result(built.dispatcher, "hmyv2_getProof", h(sender), [], h(first.hash()))
    account = Account.decode(_verified(first.root, keccak256(sender), answer["accountProof"]))
    assert account.nonce == 1 and answer["nonce"] == "0x1" and answer["storageProof"] == []
    assert result(built.dispatcher, "hmy_getProof", h(sender), [], "0x1") == answer
    genesis = result(built.dispatcher, "eth_getProof", h(sender), [], "earliest")
    assert genesis["nonce"] == "0x0"


def test_an_absent_account_has_an_exclusion_proof(built: ChainFixture) -> None:
    stranger = b"\x77" * 20
    answer = result(built.dispatcher, "eth_getProof", h(stranger), ["0x5"])
    assert answer["balance"] == "0x0" and answer["accountProof"]
    assert _verified(built.chain.head.root, keccak256(stranger), answer["accountProof"]) == b""
    assert answer["storageProof"] == [{"key": "0x5", "value": "0x0", "proof": []}]


def test_bad_input_is_refused_naming_the_parameter(built: ChainFixture) -> None:
    d = built.dispatcher
    unknown = error(d, "eth_getProof", h(CONTRACT), [], "0x99999")
    assert unknown["code"] == -32000 and "header not found" in unknown["message"]
    missing = error(d, "eth_getProof", h(CONTRACT), [], h(b"\x05" * 32))
    assert "header not found" in missing["message"]
    too_many = error(d, "eth_getProof", h(CONTRACT), ["0x1"] * (MAX_PROOF_SLOTS + 1))
    assert too_many["code"] == -32602 and f"at most {MAX_PROOF_SLOTS}" in too_many["message"]
    for bad, words in (
        ("0xzz", "not a hex number"),
        ("12", "without 0x"),
        ("0x" + "1" * 65, "1 to 64 digits"),
        (7, "hex string"),
        (None, "hex string"),
    ):
        refused = error(d, "eth_getProof", h(CONTRACT), ["0x0", bad])
        assert refused["code"] == -32602 and "(storageKeys)[1]" in refused["message"], refused
        assert words in refused["message"], refused
    assert "storageKeys" in error(d, "eth_getProof", h(CONTRACT), "0x0")["message"]
    assert "address" in error(d, "eth_getProof", "0x1234", [])["message"]
    assert error(d, "eth_getProof", h(CONTRACT), [], "latest", 1)["code"] == -32602
