"""Attested values (harmony.crypto.zk.attestation): issue, present, check, and hostile claim files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.crypto.zk.attestation import (
    Presentation,
    attestation_digest,
    check_claim,
    check_presentation,
    claim_to_json,
    issue_claim,
    parse_claim,
    parse_presentation,
    present,
    presentation_to_json,
)
from harmony.crypto.zk.errors import ZkDecodeError, ZkError

ISSUER = PrivateKey(keccak256(b"bank"))
OTHER = PrivateKey(keccak256(b"forger"))
HOLDER = b"\x44" * 20
CLAIM = issue_claim(ISSUER, HOLDER, 2_500_000)
PRESENTATION = present(CLAIM, 1_000_000)


def test_issue_present_check_round_trip() -> None:
    check_claim(parse_claim(claim_to_json(CLAIM)))
    parsed = parse_presentation(presentation_to_json(PRESENTATION))
    assert parsed == PRESENTATION
    check_presentation(parsed)
    assert "2500000" not in presentation_to_json(PRESENTATION)  # the value is not in what is shown
    assert hex(CLAIM.blinding)[2:] not in presentation_to_json(PRESENTATION)


def test_digest_is_the_documented_keccak() -> None:
    assert attestation_digest(HOLDER, CLAIM.commitment) == keccak256(
        b"harmony-zk-attestation-v1" + HOLDER + CLAIM.commitment
    )


def test_forged_or_too_low_presentations_fail() -> None:
    forged_sig = OTHER.sign_hash(attestation_digest(HOLDER, CLAIM.commitment))
    cases = {
        "not by the issuer": Presentation(
            HOLDER, ISSUER.address, CLAIM.commitment, forged_sig, 1_000_000, PRESENTATION.proof
        ),
        "not by the issuer ": Presentation(  # another holder replays it
            b"\x55" * 20, ISSUER.address, CLAIM.commitment, CLAIM.signature, 1_000_000, PRESENTATION.proof
        ),
        "at least 2000000": Presentation(
            HOLDER, ISSUER.address, CLAIM.commitment, CLAIM.signature, 2_000_000, PRESENTATION.proof
        ),
    }
    for message, presentation in cases.items():
        with pytest.raises(ZkError, match=message.strip() if "least" in message else "not by the issuer"):
            check_presentation(presentation)
    low = issue_claim(ISSUER, HOLDER, 999_999)
    with pytest.raises(ZkError, match="below 1000000"):
        present(low, 1_000_000)


def test_inconsistent_claim_refused() -> None:
    wrong = issue_claim(ISSUER, HOLDER, 5)
    tampered = parse_claim(claim_to_json(wrong).replace('"value": "5"', '"value": "6000000"'))
    with pytest.raises(ZkError, match="do not open"):
        present(tampered, 1_000_000)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(kind="other"), "kind"),
        (lambda d: d.update(value="-5"), "value: must be a decimal"),
        (lambda d: d.update(value=5), "value: must be a decimal"),
        (lambda d: d.update(value="9" * 41), "value: must be a decimal"),
        (lambda d: d.update(holder="0x12"), "holder: must be 20 bytes"),
        (lambda d: d.pop("signature"), "signature: must be a 0x hex"),
        (lambda d: d.update(commitment="0x02" + "00" * 32), "commitment: x coordinate is not on the curve"),
        (lambda d: d.update(blinding="0x" + "ff" * 32), "blinding: not below"),
        (lambda d: d.update(signature="0x" + "00" * 65), "signature: "),
    ],
)
def test_bad_claim_fields_named(edit: object, message: str) -> None:
    data = json.loads(claim_to_json(CLAIM))
    edit(data)  # type: ignore[operator]
    with pytest.raises(ZkDecodeError, match=message):
        parse_claim(json.dumps(data))


def test_oversized_and_truncated_presentations() -> None:
    with pytest.raises(ZkDecodeError, match="larger than"):
        parse_presentation(" " * 20_000)
    data = json.loads(presentation_to_json(PRESENTATION))
    data["proof"] = data["proof"][:-2]
    with pytest.raises(ZkDecodeError, match="proof: length 687"):
        parse_presentation(json.dumps(data))
    data["proof"] = "0x" + "00" * 2000
    with pytest.raises(ZkDecodeError, match="proof: must be a 0x hex string of at most"):
        parse_presentation(json.dumps(data))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        st.recursive(
            st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
        ).map(json.dumps),
    )
)
def test_garbage_documents_raise_typed_errors(text: str | bytes) -> None:
    for parse in (parse_claim, parse_presentation):
        with pytest.raises(ZkDecodeError):
            parse(text)
