"""``harmony zk``: attested values and zero-knowledge range proofs, offline (docs/zk.md).

* ``issue`` — an issuer commits to a holder's value and signs the commitment with its account keystore;
  writes the claim (with its secret opening: give it to the holder only);
* ``prove`` — the holder turns a claim into a presentation: "my attested value is at least X", nothing more;
* ``verify`` — anyone checks a presentation: the issuer's signature and the range proof.

Files are JSON (:mod:`harmony.crypto.zk.attestation`); nothing here touches the network.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harmony.cli.common import CLIError, load_account_key
from harmony.crypto.zk.attestation import (
    MAX_DOCUMENT_SIZE,
    check_presentation,
    claim_to_json,
    issue_claim,
    parse_claim,
    parse_presentation,
    present,
    presentation_to_json,
)
from harmony.crypto.zk.errors import ZkDecodeError, ZkError
from harmony.durable import atomic_write
from harmony.encoding.address import parse_address, to_checksum_hex
from harmony.errors import AddressError


def _read(path: str, what: str) -> bytes:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_DOCUMENT_SIZE:
            raise CLIError(f"{what} {path}: larger than {MAX_DOCUMENT_SIZE} bytes, not a {what}")
        return file.read_bytes()
    except OSError as exc:
        raise CLIError(f"{what} {path}: cannot read it ({exc.strerror})") from None


def _write(path: str, text: str, force: bool) -> None:
    if Path(path).exists() and not force:
        raise CLIError(f"{path} exists: choose another --out or pass --force to overwrite it")
    try:
        atomic_write(path, text + "\n")
    except OSError as exc:
        raise CLIError(f"{path}: cannot write it ({exc.strerror})") from None


def _address(text: str, flag: str) -> bytes:
    try:
        return parse_address(text)
    except AddressError as exc:
        raise CLIError(f"{flag} {text!r} is not an address: {exc}") from None


def _amount(text: str, flag: str) -> int:
    clean = text.replace("_", "").replace(",", "")
    if not clean.isdigit() or not clean.isascii() or len(clean) > 40:
        raise CLIError(f"{flag} {text!r}: give a whole number such as 1000000")
    return int(clean)


def _issue(args: argparse.Namespace) -> int:
    holder = _address(args.holder, "--holder")
    value = _amount(args.value, "--value")
    key = load_account_key(args.keystore, args.passphrase_file)
    try:
        claim = issue_claim(key, holder, value)
    except ZkError as exc:
        raise CLIError(str(exc)) from None
    _write(args.out, claim_to_json(claim), args.force)
    print(
        f"claim {args.out}: issuer {to_checksum_hex(claim.issuer)} "
        f"attests a value for {to_checksum_hex(holder)}"
    )
    print("it holds the value's secret opening: give it to the holder only")
    return 0


def _prove(args: argparse.Namespace) -> int:
    lower_bound = _amount(args.at_least, "--at-least")
    try:
        claim = parse_claim(_read(args.claim, "claim"))
        presentation = present(claim, lower_bound)
    except (ZkDecodeError, ZkError) as exc:
        raise CLIError(f"claim {args.claim}: {exc}") from None
    _write(args.out, presentation_to_json(presentation), args.force)
    print(
        f"presentation {args.out}: value ≥ {lower_bound}, {len(presentation.proof)}-byte proof; "
        "the value stays hidden"
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        presentation = parse_presentation(_read(args.presentation, "presentation"))
        check_presentation(presentation)
    except (ZkDecodeError, ZkError) as exc:
        raise CLIError(f"presentation {args.presentation}: {exc}") from None
    if args.issuer is not None and _address(args.issuer, "--issuer") != presentation.issuer:
        raise CLIError(
            f"presentation {args.presentation}: issued by {to_checksum_hex(presentation.issuer)}, "
            f"not {args.issuer}"
        )
    if args.at_least is not None and presentation.lower_bound < _amount(args.at_least, "--at-least"):
        raise CLIError(
            f"presentation {args.presentation}: proves only ≥ {presentation.lower_bound}, "
            f"not ≥ {args.at_least}"
        )
    print(
        f"valid: {to_checksum_hex(presentation.holder)} holds a value ≥ {presentation.lower_bound} "
        f"attested by {to_checksum_hex(presentation.issuer)}"
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``zk`` subcommand group."""
    parser = sub.add_parser(
        "zk",
        help="attested values and zero-knowledge range proofs (offline)",
        description="Issue an attested value, prove it is at least X without revealing it, verify the proof.",
    )
    group = parser.add_subparsers(dest="zk_command", metavar="ACTION", required=True)

    issue = group.add_parser(
        "issue",
        help="as an issuer, attest a holder's value (writes the holder's claim)",
        description="Commit to VALUE for HOLDER and sign the commitment with the issuer's account keystore.",
    )
    issue.add_argument("--keystore", required=True, help="the issuer's account keystore (v3)")
    issue.add_argument("--passphrase-file", help="file whose first line is the keystore's passphrase")
    issue.add_argument("--holder", required=True, help="the holder's address (one1… or 0x…)")
    issue.add_argument("--value", required=True, help="the attested whole number, e.g. 2500000")
    issue.add_argument("--out", default="claim.json", help="where to write the claim (default: claim.json)")
    issue.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    issue.set_defaults(func=_issue)

    prove = group.add_parser(
        "prove",
        help="as the holder, prove the attested value is at least X",
        description="Turn a claim into a presentation showing only that its value is at least --at-least.",
    )
    prove.add_argument("claim", help="the claim file from `harmony zk issue`")
    prove.add_argument("--at-least", required=True, help="the lower bound X to prove, e.g. 1000000")
    prove.add_argument(
        "--out",
        default="presentation.json",
        help="where to write the presentation (default: presentation.json)",
    )
    prove.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    prove.set_defaults(func=_prove)

    verify = group.add_parser(
        "verify",
        help="check a presentation: the issuer's signature and the range proof",
        description="Exit 0 and print what is proved if the presentation holds, or exit 1 with the reason.",
    )
    verify.add_argument("presentation", help="the presentation file from `harmony zk prove`")
    verify.add_argument("--issuer", help="require this issuer (one1… or 0x…)")
    verify.add_argument("--at-least", help="require a lower bound of at least this much")
    verify.set_defaults(func=_verify)
