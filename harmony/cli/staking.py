"""``harmony staking``: build, sign and (optionally) send staking transactions (reference §2.4).

``create-validator``, ``edit-validator``, ``delegate``, ``undelegate`` and ``collect-rewards`` each build the
message for the account in ``--keystore`` (Web3 Secret Storage v3; the validator or delegator is that
account), sign it for the network's Harmony chain ID and print the raw transaction as 0x hex. With
``--node URL`` the transaction is sent with ``hmyv2_sendRawStakingTransaction`` and its hash printed; the
nonce, when not given, is then read with ``hmyv2_getTransactionCount(address, "pending")``.

Country fences (``docs/design/fenced-shards.md``): an attestor signs an attestation offline with
``sign-attestation`` (its keystore, the validator, jurisdiction, expiry epoch and serial; it prints the
signature), the validator puts it on chain with ``attest --attestor-signature``, and an attestor withdraws
it with ``revoke``.

Amounts are given in ONE as decimal strings (up to 18 decimals, converted exactly to atto); rates as
decimals in [0, 1]. BLS keys for ``create-validator`` (and a key added by ``edit-validator``) come from BLS
keystores, and the CLI adds each key's proof of possession (:func:`harmony.crypto.bls.sign_pop`). A bad
value is refused as ``error: <field>: …`` with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from harmony.chain.fences import FenceError, check_jurisdiction
from harmony.chain.params import GWEI, ONE, PRESETS, NetworkParams, get_preset
from harmony.cli.common import CLIError, load_account_key, read_passphrase
from harmony.crypto import bls
from harmony.crypto.bls_keystore import decrypt_bls_key, load_bls_keystore
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import parse_address
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.types import staking as st

RPC_TIMEOUT = 10.0
"""Seconds to wait for the node's answer."""


def parse_one(text: str, field: str) -> int:
    """``text`` ONE (a decimal with up to 18 decimals) as atto, exactly; ``CLIError`` naming ``field``."""
    try:
        value = Dec.from_str(text.strip())
    except HarmonyError as exc:
        raise CLIError(f"{field}: {exc}") from None
    if value.is_negative():
        raise CLIError(f"{field}: must not be negative")
    return value.raw  # Dec's raw value is the amount × 10^18: atto


def parse_rate(text: str, field: str) -> Dec:
    """A rate in [0, 1] as a :class:`Dec`."""
    try:
        value = Dec.from_str(text.strip())
    except HarmonyError as exc:
        raise CLIError(f"{field}: {exc}") from None
    if value.is_negative() or value > Dec.one():
        raise CLIError(f"{field}: must be between 0 and 1, got {text}")
    return value


def parse_uint(text: str, field: str) -> int:
    """A non-negative decimal integer."""
    if not text.isdigit():
        raise CLIError(f"{field}: not a non-negative integer: {text!r}")
    return int(text)


def parse_addr(text: str, field: str) -> bytes:
    """An ``one1…`` or ``0x…`` address."""
    try:
        return parse_address(text)
    except HarmonyError as exc:
        raise CLIError(f"{field}: {exc}") from None


def _text(value: str | None, field: str, limit: int) -> str:
    text = value or ""
    if len(text.encode("utf-8")) > limit:
        raise CLIError(f"{field}: longer than {limit} bytes")
    return text


def _description(args: argparse.Namespace) -> st.Description:
    return st.Description(
        name=_text(args.name, "name", st.MAX_NAME_LENGTH),
        identity=_text(args.identity, "identity", st.MAX_NAME_LENGTH),
        website=_text(args.website, "website", st.MAX_NAME_LENGTH),
        security_contact=_text(args.security_contact, "security-contact", st.MAX_NAME_LENGTH),
        details=_text(args.details, "details", st.MAX_DETAILS_LENGTH),
    )


def _account_key(args: argparse.Namespace) -> PrivateKey:
    return load_account_key(args.keystore, args.passphrase_file)


def _bls_key(path: str, passphrase: str) -> bls.SecretKey:
    try:
        return decrypt_bls_key(load_bls_keystore(path), passphrase)
    except (HarmonyError, OSError) as exc:
        raise CLIError(f"bls-keystore: {path}: {exc}") from None


def _bls_passphrase(args: argparse.Namespace) -> str:
    return read_passphrase(args.bls_passphrase_file, confirm=False)


def _create_validator(args: argparse.Namespace, address: bytes) -> st.StakeMsg:
    rates = st.CommissionRates(
        parse_rate(args.rate, "rate"),
        parse_rate(args.max_rate, "max-rate"),
        parse_rate(args.max_change_rate, "max-change-rate"),
    )
    description = _description(args)
    min_self = parse_one(args.min_self_delegation, "min-self-delegation")
    max_total = parse_one(args.max_total_delegation, "max-total-delegation")
    amount = parse_one(args.amount, "amount")
    passphrase = _bls_passphrase(args)
    secrets = [_bls_key(path, passphrase) for path in args.bls_keystore]
    return st.CreateValidator(
        validator_address=address,
        description=description,
        commission_rates=rates,
        min_self_delegation=min_self,
        max_total_delegation=max_total,
        slot_pub_keys=tuple(s.public_key.to_bytes() for s in secrets),
        slot_key_sigs=tuple(bls.sign_pop(s).to_bytes() for s in secrets),
        amount=amount,
    )


def _edit_validator(args: argparse.Namespace, address: bytes) -> st.StakeMsg:
    remove = None
    if args.remove_bls_key is not None:
        text = args.remove_bls_key.removeprefix("0x")
        try:
            remove = bytes.fromhex(text)
        except ValueError:
            raise CLIError("remove-bls-key: not hex") from None
        if len(remove) != st.BLS_PUBLIC_KEY_LENGTH:
            raise CLIError(f"remove-bls-key: a BLS public key is {st.BLS_PUBLIC_KEY_LENGTH} bytes")
    add = add_sig = None
    if args.add_bls_keystore is not None:
        secret = _bls_key(args.add_bls_keystore, _bls_passphrase(args))
        add, add_sig = secret.public_key.to_bytes(), bls.sign_pop(secret).to_bytes()
    status = {None: st.EposStatus.NIL, "active": st.EposStatus.ACTIVE, "inactive": st.EposStatus.INACTIVE}[
        args.status
    ]
    return st.EditValidator(
        validator_address=address,
        description=_description(args),
        commission_rate=None if args.rate is None else parse_rate(args.rate, "rate"),
        min_self_delegation=None
        if args.min_self_delegation is None
        else parse_one(args.min_self_delegation, "min-self-delegation"),
        max_total_delegation=None
        if args.max_total_delegation is None
        else parse_one(args.max_total_delegation, "max-total-delegation"),
        slot_key_to_remove=remove,
        slot_key_to_add=add,
        slot_key_to_add_sig=add_sig,
        epos_status=status,
    )


def _delegate(args: argparse.Namespace, address: bytes) -> st.StakeMsg:
    validator = parse_addr(args.validator, "validator")
    return st.Delegate(address, validator, parse_one(args.amount, "amount"))


def _undelegate(args: argparse.Namespace, address: bytes) -> st.StakeMsg:
    validator = parse_addr(args.validator, "validator")
    return st.Undelegate(address, validator, parse_one(args.amount, "amount"))


def _collect_rewards(args: argparse.Namespace, address: bytes) -> st.StakeMsg:
    return st.CollectRewards(address)


def _jurisdiction(text: str) -> str:
    try:
        return check_jurisdiction(text)
    except FenceError as exc:
        raise CLIError(f"jurisdiction: {exc}") from None


def _attestor_signature(text: str) -> bytes:
    try:
        signature = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise CLIError(
            "attestor-signature: not hex (the output of `harmony staking sign-attestation`)"
        ) from None
    if len(signature) != st.ATTESTOR_SIGNATURE_LENGTH:
        raise CLIError(f"attestor-signature: {len(signature)} bytes, an attestor's signature is 65")
    return signature


def _attest(args: argparse.Namespace, address: bytes) -> st.StakeMsg:
    return st.Attest(
        validator_address=address,
        jurisdiction=_jurisdiction(args.jurisdiction),
        expiry_epoch=_uint64(args.expiry_epoch, "expiry-epoch"),
        serial=_uint64(args.serial, "serial"),
        attestor_signature=_attestor_signature(args.attestor_signature),
    )


def _revoke(args: argparse.Namespace, address: bytes) -> st.StakeMsg:
    return st.Revoke(address, parse_addr(args.validator, "validator"), _jurisdiction(args.jurisdiction))


def _uint64(text: str, field: str) -> int:
    value = parse_uint(text, field)
    if value >= 2**64:
        raise CLIError(f"{field}: larger than 2^64 - 1")
    return value


def sign_attestation(args: argparse.Namespace) -> int:
    """``sign-attestation``: the attestor's signature of an attestation, printed as 0x hex (module
    docstring); the validator passes it to ``attest``."""
    params: NetworkParams = get_preset(args.network)
    validator = parse_addr(args.validator, "validator")
    jurisdiction = _jurisdiction(args.jurisdiction)
    expiry, serial = _uint64(args.expiry_epoch, "expiry-epoch"), _uint64(args.serial, "serial")
    key = _account_key(args)
    attest = st.Attest.signed(
        key,
        params.chain_id,
        validator_address=validator,
        jurisdiction=jurisdiction,
        expiry_epoch=expiry,
        serial=serial,
    )
    print("0x" + attest.attestor_signature.hex())
    return 0


BUILDERS = {
    "create-validator": _create_validator,
    "edit-validator": _edit_validator,
    "delegate": _delegate,
    "undelegate": _undelegate,
    "collect-rewards": _collect_rewards,
    "attest": _attest,
    "revoke": _revoke,
}


def rpc_call(url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC 2.0 call; a transport failure or an error reply is a :class:`CLIError`."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=RPC_TIMEOUT) as response:
            reply = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise CLIError(f"node: {url}: {exc}") from None
    if not isinstance(reply, dict):
        raise CLIError(f"node: {url}: not a JSON-RPC reply")
    if reply.get("error") is not None:
        error = reply["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise CLIError(f"node: {method}: {message}")
    return reply.get("result")


def _pending_nonce(url: str, address: bytes) -> int:
    result = rpc_call(url, "hmyv2_getTransactionCount", ["0x" + address.hex(), "pending"])
    if isinstance(result, int):
        return result
    if isinstance(result, str):
        try:
            return int(result, 16) if result.startswith("0x") else int(result)
        except ValueError:
            pass
    raise CLIError(f"node: unexpected nonce {result!r}")


def build_transaction(args: argparse.Namespace) -> st.StakingTransaction:
    """The signed staking transaction the arguments describe (module docstring)."""
    params: NetworkParams = get_preset(args.network)
    gas_price = params.min_gas_price if args.gas_price is None else _gwei(args.gas_price)
    gas_limit = None if args.gas_limit is None else parse_uint(args.gas_limit, "gas-limit")
    nonce = None if args.nonce is None else parse_uint(args.nonce, "nonce")
    if nonce is None and args.node is None:
        raise CLIError("nonce: required without --node (with --node it is read from the node)")
    key = _account_key(args)
    msg = BUILDERS[args.action](args, key.address)
    if nonce is None:
        nonce = _pending_nonce(args.node, key.address)
    unsigned = st.StakingTransaction(msg, nonce, gas_price, 0)
    intrinsic = unsigned.intrinsic_gas()
    if gas_limit is None:
        gas_limit = intrinsic
    elif gas_limit < intrinsic:
        raise CLIError(f"gas-limit: {gas_limit} is below the intrinsic gas {intrinsic}")
    tx = st.StakingTransaction(msg, nonce, gas_price, gas_limit)
    return tx.sign(key, params.chain_id)


def _gwei(text: str) -> int:
    """A gas price in gwei (decimal, up to 9 decimals) as atto per gas."""
    try:
        value = Dec.from_str(text.strip())
    except HarmonyError as exc:
        raise CLIError(f"gas-price: {exc}") from None
    if value.is_negative():
        raise CLIError("gas-price: must not be negative")
    scaled = value.raw * GWEI
    if scaled % ONE:
        raise CLIError("gas-price: finer than 1 atto")
    return scaled // ONE


def run(args: argparse.Namespace) -> int:
    """Build and sign the transaction; print its raw hex, or send it and print its hash."""
    tx = build_transaction(args)
    raw = "0x" + tx.encode().hex()
    if args.node is None:
        print(raw)
        return 0
    result = rpc_call(args.node, "hmyv2_sendRawStakingTransaction", [raw])
    print(result)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keystore", required=True, help="account keystore (v3) of the validator/delegator")
    parser.add_argument("--passphrase-file", help="file whose first line is the keystore's passphrase")
    parser.add_argument(
        "--network", default="localnet", choices=sorted(PRESETS), help="network preset (default %(default)s)"
    )
    parser.add_argument("--nonce", help="account nonce (read from --node when absent)")
    parser.add_argument("--gas-price", help="gas price in gwei (default: the network's minimum)")
    parser.add_argument("--gas-limit", help="gas limit (default: the transaction's intrinsic gas)")
    parser.add_argument("--node", metavar="URL", help="send to this node's JSON-RPC and print the hash")


def _description_flags(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--name", required=required, help="validator name (≤ 140 bytes)")
    parser.add_argument("--identity", help="unique identity, e.g. a Keybase ID (≤ 140 bytes)")
    parser.add_argument("--website", help="website (≤ 140 bytes)")
    parser.add_argument("--security-contact", help="security contact (≤ 140 bytes)")
    parser.add_argument("--details", help="free text (≤ 280 bytes)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``staking`` subcommand and its five actions."""
    staking = sub.add_parser("staking", help="build, sign and send staking transactions", description=__doc__)
    actions = staking.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create-validator", help="register a validator with its BLS keys")
    _common(create)
    _description_flags(create, required=True)
    create.add_argument("--rate", required=True, help="commission rate, e.g. 0.1")
    create.add_argument("--max-rate", required=True, help="maximum commission rate")
    create.add_argument("--max-change-rate", required=True, help="maximum rate change per epoch")
    create.add_argument("--min-self-delegation", required=True, help="minimum self-delegation in ONE")
    create.add_argument("--max-total-delegation", required=True, help="maximum total delegation in ONE")
    create.add_argument("--amount", required=True, help="initial self-delegation in ONE")
    create.add_argument(
        "--bls-keystore", required=True, action="append", help="BLS keystore of a slot key (repeatable)"
    )
    create.add_argument("--bls-passphrase-file", help="passphrase file of the BLS keystores")

    edit = actions.add_parser("edit-validator", help="change a validator's description, rate, keys or status")
    _common(edit)
    _description_flags(edit, required=False)
    edit.add_argument("--rate", help="new commission rate")
    edit.add_argument("--min-self-delegation", help="new minimum self-delegation in ONE")
    edit.add_argument("--max-total-delegation", help="new maximum total delegation in ONE")
    edit.add_argument("--remove-bls-key", metavar="HEX", help="BLS public key to remove")
    edit.add_argument("--add-bls-keystore", metavar="FILE", help="BLS keystore of a key to add")
    edit.add_argument("--bls-passphrase-file", help="passphrase file of the BLS keystore")
    edit.add_argument("--status", choices=("active", "inactive"), help="set the validator (in)active")

    for name, text in (
        ("delegate", "delegate ONE to a validator"),
        ("undelegate", "undelegate from a validator"),
    ):
        action = actions.add_parser(name, help=text)
        _common(action)
        action.add_argument("--validator", required=True, help="validator address (one1… or 0x…)")
        action.add_argument("--amount", required=True, help="amount in ONE")

    collect = actions.add_parser("collect-rewards", help="collect every reward of the account's delegations")
    _common(collect)
    _attestation_actions(actions)
    for parser in (create, edit, *actions.choices.values()):
        parser.set_defaults(func=run)
    actions.choices["sign-attestation"].set_defaults(func=sign_attestation)


def _attestation_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``sign-attestation`` (the attestor, offline), ``attest`` (the validator), ``revoke`` (an attestor)."""
    jurisdiction_help = "the fence's jurisdiction, e.g. EU (see hmyv2_getFences)"
    sign = actions.add_parser(
        "sign-attestation", help="as an attestor, sign an attestation of a validator for a jurisdiction"
    )
    sign.add_argument("--keystore", required=True, help="account keystore (v3) of the attestor")
    sign.add_argument("--passphrase-file", help="file whose first line is the keystore's passphrase")
    sign.add_argument(
        "--network", default="localnet", choices=sorted(PRESETS), help="network preset (default %(default)s)"
    )
    attest = actions.add_parser("attest", help="as a validator, put an attestor's attestation on chain")
    _common(attest)
    attest.add_argument("--attestor-signature", required=True, help="the output of sign-attestation (0x hex)")
    for parser in (sign, attest):
        if parser is sign:
            parser.add_argument("--validator", required=True, help="the attested validator (one1… or 0x…)")
        parser.add_argument("--jurisdiction", required=True, help=jurisdiction_help)
        parser.add_argument(
            "--expiry-epoch", required=True, help="first epoch in which it is no longer valid"
        )
        parser.add_argument(
            "--serial", default="1", help="the attestor's number for it (default %(default)s)"
        )
    revoke = actions.add_parser("revoke", help="as an attestor, withdraw a validator's attestation")
    _common(revoke)
    revoke.add_argument("--validator", required=True, help="the validator (one1… or 0x…)")
    revoke.add_argument("--jurisdiction", required=True, help=jurisdiction_help)


__all__ = ["build_transaction", "parse_one", "parse_rate", "register", "rpc_call", "run", "sign_attestation"]
