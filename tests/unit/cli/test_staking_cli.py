"""``harmony staking``: every action builds and signs the right message; bad input is refused by field."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from harmony.chain.params import GWEI, LOCALNET, MAINNET, ONE
from harmony.cli.main import main
from harmony.crypto import bls
from harmony.crypto.bls_keystore import encrypt_bls_key, save_bls_keystore
from harmony.crypto.keystore import encrypt_key, save_keystore
from harmony.crypto.secp256k1 import PrivateKey, Signature, recover_address
from harmony.encoding.address import to_bech32
from harmony.encoding.fixed import Dec
from harmony.types.staking import (
    Attest,
    CollectRewards,
    CreateValidator,
    Delegate,
    EditValidator,
    EposStatus,
    Revoke,
    StakingTransaction,
    Undelegate,
    check_signer,
)

KEY = PrivateKey(b"\x21" * 32)
VALIDATOR = PrivateKey(b"\x22" * 32).address
BLS1 = bls.SecretKey.key_gen(b"\x31" * 32)
BLS2 = bls.SecretKey.key_gen(b"\x32" * 32)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "pass").write_text("pw\n")
    account = tmp_path / "account.json"
    save_keystore(account, encrypt_key(KEY.secret, "pw", light=True))
    bls_dir = tmp_path / "bls"
    bls_dir.mkdir()
    paths = [save_bls_keystore(bls_dir, encrypt_bls_key(k, "pw", light=True)) for k in (BLS1, BLS2)]
    return {
        "keystore": str(account),
        "pass": str(tmp_path / "pass"),
        "bls1": str(paths[0]),
        "bls2": str(paths[1]),
    }


def base(files: dict[str, str], action: str, *extra: str, nonce: str | None = "3") -> list[str]:
    argv = ["staking", action, "--keystore", files["keystore"], "--passphrase-file", files["pass"]]
    if nonce is not None:
        argv += ["--nonce", nonce]
    return argv + list(extra)


def run_ok(argv: list[str], capsys: pytest.CaptureFixture[str]) -> StakingTransaction:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    tx = StakingTransaction.decode(bytes.fromhex(out.strip().removeprefix("0x")))
    assert check_signer(tx, LOCALNET.chain_id) == KEY.address
    return tx


def run_err(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 1, err
    return err


def create_args(files: dict[str, str], **over: str) -> list[str]:
    values = {
        "--name": "Val",
        "--identity": "val-id",
        "--rate": "0.1",
        "--max-rate": "0.9",
        "--max-change-rate": "0.05",
        "--min-self-delegation": "10000",
        "--max-total-delegation": "1000000.5",
        "--amount": "12345.000000000000000001",
    }
    values.update({f"--{k.replace('_', '-')}": v for k, v in over.items()})
    flat = [x for pair in values.items() for x in pair]
    return base(
        files,
        "create-validator",
        *flat,
        "--bls-keystore",
        files["bls1"],
        "--bls-keystore",
        files["bls2"],
        "--bls-passphrase-file",
        files["pass"],
    )


def test_create_validator(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    tx = run_ok(create_args(files), capsys)
    msg = tx.msg
    assert isinstance(msg, CreateValidator)
    assert msg.validator_address == KEY.address
    assert msg.amount == 12345 * ONE + 1 and msg.max_total_delegation == 1_000_000 * ONE + ONE // 2
    assert msg.min_self_delegation == 10_000 * ONE
    assert msg.commission_rates.rate == Dec.from_str("0.1")
    assert msg.description.name == "Val" and msg.description.identity == "val-id"
    assert msg.slot_pub_keys == (BLS1.public_key.to_bytes(), BLS2.public_key.to_bytes())
    for key, sig in zip(msg.slot_pub_keys, msg.slot_key_sigs, strict=True):
        assert bls.verify_pop(bls.PublicKey.from_bytes(key), bls.Signature.from_bytes(sig))
    assert tx.nonce == 3 and tx.gas_price == LOCALNET.min_gas_price
    assert tx.gas_limit == tx.intrinsic_gas() > 5_300_000


def test_edit_validator(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    remove = "0x" + BLS1.public_key.to_bytes().hex()
    argv = base(
        files,
        "edit-validator",
        "--rate",
        "0.12",
        "--details",
        "new details",
        "--remove-bls-key",
        remove,
        "--add-bls-keystore",
        files["bls2"],
        "--bls-passphrase-file",
        files["pass"],
        "--status",
        "active",
        "--gas-price",
        "2.5",
        "--gas-limit",
        "100000",
    )
    tx = run_ok(argv, capsys)
    msg = tx.msg
    assert isinstance(msg, EditValidator)
    assert msg.commission_rate == Dec.from_str("0.12") and msg.description.details == "new details"
    assert msg.description.name == "" and msg.min_self_delegation is None
    assert msg.slot_key_to_remove == BLS1.public_key.to_bytes()
    assert msg.slot_key_to_add == BLS2.public_key.to_bytes() and msg.slot_key_to_add_sig is not None
    assert msg.epos_status is EposStatus.ACTIVE
    assert tx.gas_price == 5 * GWEI // 2 and tx.gas_limit == 100_000


def test_delegate_undelegate_collect(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    tx = run_ok(base(files, "delegate", "--validator", to_bech32(VALIDATOR), "--amount", "100"), capsys)
    assert tx.msg == Delegate(KEY.address, VALIDATOR, 100 * ONE)
    tx = run_ok(base(files, "undelegate", "--validator", "0x" + VALIDATOR.hex(), "--amount", "0.5"), capsys)
    assert tx.msg == Undelegate(KEY.address, VALIDATOR, ONE // 2)
    tx = run_ok(base(files, "collect-rewards"), capsys)
    assert tx.msg == CollectRewards(KEY.address)


def test_mainnet_chain_id(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(base(files, "collect-rewards", "--network", "mainnet"))
    out, _ = capsys.readouterr()
    assert code == 0
    tx = StakingTransaction.decode(bytes.fromhex(out.strip()[2:]))
    assert check_signer(tx, MAINNET.chain_id) == KEY.address


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"amount": "abc"}, "error: amount:"),
        ({"amount": "-1"}, "error: amount:"),
        ({"amount": "1.0000000000000000001"}, "error: amount:"),
        ({"rate": "1.5"}, "error: rate:"),
        ({"max_rate": "x"}, "error: max-rate:"),
        ({"max_change_rate": "-0.1"}, "error: max-change-rate:"),
        ({"min_self_delegation": "1e5"}, "error: min-self-delegation:"),
        ({"name": "n" * 141}, "error: name:"),
        ({"details": "d" * 281}, "error: details:"),
    ],
)
def test_create_bad_fields(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], over: dict[str, str], field: str
) -> None:
    assert field in run_err(create_args(files, **over), capsys)


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["delegate", "--validator", "one1xyz", "--amount", "1"], "error: validator:"),
        (["delegate", "--validator", "0x" + "11" * 20, "--amount", "1", "--nonce", "x"], "error: nonce:"),
        (
            ["undelegate", "--validator", "0x" + "11" * 20, "--amount", "1", "--gas-limit", "5"],
            "error: gas-limit:",
        ),
        (["collect-rewards", "--gas-price", "0.0000000001"], "error: gas-price:"),
        (["edit-validator", "--remove-bls-key", "zz"], "error: remove-bls-key:"),
        (["edit-validator", "--remove-bls-key", "0x00"], "error: remove-bls-key:"),
        (["edit-validator", "--rate", "2"], "error: rate:"),
    ],
)
def test_bad_values(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    assert field in run_err(base(files, *argv), capsys)


def test_nonce_required_without_node(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert "error: nonce:" in run_err(base(files, "collect-rewards", nonce=None), capsys)


def test_wrong_passphrase_and_missing_keystore(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad").write_text("wrong\n")
    argv = [
        "staking",
        "collect-rewards",
        "--keystore",
        files["keystore"],
        "--passphrase-file",
        str(tmp_path / "bad"),
    ]
    assert "error: keystore:" in run_err([*argv, "--nonce", "0"], capsys)
    argv = ["staking", "collect-rewards", "--keystore", str(tmp_path / "none"), "--nonce", "0"]
    assert "error: keystore:" in run_err(argv, capsys)
    bad_bls = create_args(files)
    bad_bls[bad_bls.index(files["bls2"])] = str(tmp_path / "none")
    assert "error: bls-keystore:" in run_err(bad_bls, capsys)


def test_help_for_every_action(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("create-validator", "edit-validator", "delegate", "undelegate", "collect-rewards"):
        with pytest.raises(SystemExit) as info:
            main(["staking", action, "--help"])
        assert info.value.code == 0
        assert "--keystore" in capsys.readouterr().out


class _Node(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict[str, Any]]] = []
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        if body["method"] == "hmyv2_getTransactionCount":
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "result": 7}
        elif type(self).fail:
            reply = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "no_rewards: none"}}
        else:
            reply = {"jsonrpc": "2.0", "id": 1, "result": "0x" + "ab" * 32}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def node() -> Iterator[str]:
    _Node.calls = []
    _Node.fail = False
    server = HTTPServer(("127.0.0.1", 0), _Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_send_to_node(files: dict[str, str], node: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(base(files, "collect-rewards", "--node", node, nonce=None))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == "0x" + "ab" * 32
    count, send = _Node.calls
    assert count["params"] == ["0x" + KEY.address.hex(), "pending"]
    assert send["method"] == "hmyv2_sendRawStakingTransaction"
    tx = StakingTransaction.decode(bytes.fromhex(send["params"][0][2:]))
    assert tx.nonce == 7 and tx.msg == CollectRewards(KEY.address)
    _Node.fail = True
    assert "error: node: hmyv2_sendRawStakingTransaction: no_rewards" in run_err(
        base(files, "collect-rewards", "--node", node), capsys
    )


def test_unreachable_node(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert "error: node:" in run_err(base(files, "collect-rewards", "--node", "http://127.0.0.1:1"), capsys)


# -- country fences: sign-attestation (attestor), attest (validator), revoke (attestor) ---------------------


def test_an_attestor_signs_and_the_validator_attests(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    terms = ["--jurisdiction", "EU", "--expiry-epoch", "40", "--serial", "2"]
    assert (
        main(base(files, "sign-attestation", "--validator", to_bech32(KEY.address), *terms, nonce=None)) == 0
    )
    signature = capsys.readouterr().out.strip()
    assert signature.startswith("0x") and len(signature) == 2 + 2 * 65
    tx = run_ok(base(files, "attest", *terms, "--attestor-signature", signature), capsys)
    msg = tx.msg
    assert isinstance(msg, Attest)
    assert (msg.validator_address, msg.jurisdiction, msg.expiry_epoch, msg.serial) == (
        KEY.address,
        "EU",
        40,
        2,
    )
    signer = recover_address(msg.digest(LOCALNET.chain_id), Signature.from_bytes(msg.attestor_signature))
    assert signer == KEY.address  # what the chain checks against the genesis's attestors


def test_an_attestor_revokes(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    tx = run_ok(base(files, "revoke", "--validator", to_bech32(VALIDATOR), "--jurisdiction", "US-CA"), capsys)
    assert tx.msg == Revoke(KEY.address, VALIDATOR, "US-CA")


SIG = "0x" + "11" * 65


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (
            ["attest", "--jurisdiction", "eu", "--expiry-epoch", "4", "--attestor-signature", SIG],
            "jurisdiction:",
        ),
        (
            ["attest", "--jurisdiction", "EU", "--expiry-epoch", "-4", "--attestor-signature", SIG],
            "expiry-epoch:",
        ),
        (
            ["attest", "--jurisdiction", "EU", "--expiry-epoch", str(2**64), "--attestor-signature", SIG],
            "2^64",
        ),
        (["attest", "--jurisdiction", "EU", "--expiry-epoch", "4", "--attestor-signature", "zz"], "not hex"),
        (
            ["attest", "--jurisdiction", "EU", "--expiry-epoch", "4", "--attestor-signature", SIG[:-2]],
            "64 bytes",
        ),
        (
            [
                "attest",
                "--jurisdiction",
                "EU",
                "--expiry-epoch",
                "4",
                "--serial",
                "x",
                "--attestor-signature",
                SIG,
            ],
            "serial:",
        ),
        (["revoke", "--validator", "one1xyz", "--jurisdiction", "EU"], "validator:"),
        (["revoke", "--validator", "0x" + "11" * 20, "--jurisdiction", "EUROPEANUNIONXXXX"], "jurisdiction:"),
    ],
)
def test_bad_attestation_values(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    assert field in run_err(base(files, *argv), capsys)


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--validator", "0x12", "--jurisdiction", "EU", "--expiry-epoch", "4"], "error: validator:"),
        (
            ["--validator", "0x" + "11" * 20, "--jurisdiction", "", "--expiry-epoch", "4"],
            "error: jurisdiction:",
        ),
        (
            ["--validator", "0x" + "11" * 20, "--jurisdiction", "EU", "--expiry-epoch", "soon"],
            "error: expiry-epoch:",
        ),
    ],
)
def test_bad_sign_attestation_values(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    assert field in run_err(base(files, "sign-attestation", *argv, nonce=None), capsys)


def test_help_for_the_attestation_actions(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("sign-attestation", "attest", "revoke"):
        with pytest.raises(SystemExit) as info:
            main(["staking", action, "--help"])
        assert info.value.code == 0
        assert "--jurisdiction" in capsys.readouterr().out
