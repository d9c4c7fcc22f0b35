"""Attested values: an issuer signs a commitment to a holder's value; the holder proves "value ≥ X".

The issuer (a bank, an identity provider) knows the holder's value ``v``, picks a random blinding ``γ``,
computes ``V = commit(v, γ)`` and signs, with its secp256k1 account key (so a contract checks it with the
EVM's ``ecrecover``),

    digest = keccak256("harmony-zk-attestation-v1" ‖ holder address (20 bytes) ‖ V (33 bytes))

It hands the holder a :class:`Claim` (``v``, ``γ``, ``V``, the signature): the opening is the holder's
secret. The holder publishes a :class:`Presentation`: ``V``, the signature, a lower bound ``X`` and a range
proof that ``v - X ∈ [0, 2⁶⁴)`` (:func:`harmony.crypto.zk.range_proof.prove_at_least`). Anyone checks it
offline (:func:`check_presentation`), or a contract on chain with ecrecover and the 0xf8 precompile. Binding
the holder's address into the digest lets a contract require ``msg.sender == holder``, so a presentation
seen on chain cannot be replayed by somebody else.

Both forms are JSON objects (``kind``, ``version`` 1, hex byte strings with 0x, integers as decimal
strings); :func:`parse_claim` and :func:`parse_presentation` bound the text, check every field and raise
:class:`ZkDecodeError` naming the bad one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey, Signature, recover_address
from harmony.crypto.zk.errors import ZkDecodeError, ZkError
from harmony.crypto.zk.group import N, decode_point, encode_point
from harmony.crypto.zk.pedersen import commit, random_blinding
from harmony.crypto.zk.range_proof import (
    BITS,
    LOWER_BOUND_LIMIT,
    MAX_PROOF_SIZE,
    RangeProof,
    prove_at_least,
    verify_at_least,
)
from harmony.errors import SignatureError

ATTESTATION_TAG = b"harmony-zk-attestation-v1"
MAX_DOCUMENT_SIZE = 16 << 10
"""Largest claim or presentation text accepted before parsing JSON."""
MAX_VALUE = LOWER_BOUND_LIMIT + (1 << BITS) - 1
"""Largest value an issuer may attest: any lower bound's range still reaches it."""


def attestation_digest(holder: bytes, commitment: bytes) -> bytes:
    """``keccak256(tag ‖ holder ‖ commitment)``: what the issuer signs (in Solidity,
    ``keccak256(abi.encodePacked("harmony-zk-attestation-v1", holder, commitment))``)."""
    if len(holder) != 20 or len(commitment) != 33:
        raise ZkError("attestation: holder is 20 bytes and commitment 33 bytes")
    return keccak256(ATTESTATION_TAG + holder + commitment)


@dataclass(frozen=True, slots=True)
class Claim:
    """What the issuer gives the holder: the attested commitment and its opening (secret)."""

    holder: bytes
    issuer: bytes
    value: int
    blinding: int
    commitment: bytes
    signature: Signature


@dataclass(frozen=True, slots=True)
class Presentation:
    """What the holder shows: the attested commitment, a proof that its value is at least ``lower_bound``."""

    holder: bytes
    issuer: bytes
    commitment: bytes
    signature: Signature
    lower_bound: int
    proof: bytes


def issue_claim(issuer: PrivateKey, holder: bytes, value: int, blinding: int | None = None) -> Claim:
    """Commit to ``value`` for ``holder`` and sign the commitment with the issuer's key."""
    if not 0 <= value <= MAX_VALUE:
        raise ZkError(f"value must be in [0, 2^128 + 2^64), got {value}")
    if len(holder) != 20:
        raise ZkError("holder must be a 20-byte address")
    gamma = random_blinding() if blinding is None else blinding
    commitment = encode_point(commit(value, gamma))
    signature = issuer.sign_hash(attestation_digest(holder, commitment))
    return Claim(holder, issuer.address, value, gamma, commitment, signature)


def signer_of(holder: bytes, commitment: bytes, signature: Signature) -> bytes:
    """The address that signed the attestation (ecrecover over :func:`attestation_digest`)."""
    return recover_address(attestation_digest(holder, commitment), signature)


def check_claim(claim: Claim) -> None:
    """Refuse a claim whose signature is not the issuer's or whose opening does not match its commitment."""
    if signer_of(claim.holder, claim.commitment, claim.signature) != claim.issuer:
        raise ZkError("claim: the signature is not the issuer's over this holder and commitment")
    if encode_point(commit(claim.value, claim.blinding)) != claim.commitment:
        raise ZkError("claim: value and blinding do not open the commitment")


def present(claim: Claim, lower_bound: int) -> Presentation:
    """Prove the claim's value is at least ``lower_bound`` (:class:`ZkError` if it is not, or the claim is
    inconsistent)."""
    check_claim(claim)
    if claim.value < lower_bound:
        raise ZkError(f"the attested value is below {lower_bound}: no proof exists")
    if claim.value - lower_bound >= 1 << BITS:
        raise ZkError(
            f"the value exceeds the lower bound by 2^64 or more: raise --at-least (to at least "
            f"{claim.value - (1 << BITS) + 1})"
        )
    proof = prove_at_least(claim.value, claim.blinding, lower_bound).to_bytes()
    return Presentation(claim.holder, claim.issuer, claim.commitment, claim.signature, lower_bound, proof)


def check_presentation(presentation: Presentation) -> None:
    """Accept a presentation only if the issuer signed the commitment for the holder and the proof shows the
    committed value is at least the lower bound; :class:`ZkError` says which part failed."""
    try:
        signer = signer_of(presentation.holder, presentation.commitment, presentation.signature)
    except SignatureError as exc:
        raise ZkError(f"presentation: {exc}") from exc
    if signer != presentation.issuer:
        raise ZkError(
            f"presentation: signed by 0x{signer.hex()}, not by the issuer 0x{presentation.issuer.hex()}"
        )
    point = decode_point(presentation.commitment, "commitment")
    if not verify_at_least(point, presentation.lower_bound, RangeProof.from_bytes(presentation.proof)):
        raise ZkError(
            f"presentation: the range proof does not show a value of at least {presentation.lower_bound}"
        )


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _signature_bytes(sig: Signature) -> bytes:
    """``r ‖ s ‖ v`` with ``v`` = 27 or 28, as ecrecover and Solidity tools take it."""
    return sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([27 + sig.recid])


def _to_json(kind: str, holder: bytes, issuer: bytes, commitment: bytes, sig: Signature, **rest: str) -> str:
    fields = {"holder": _hex(holder), "issuer": _hex(issuer), "commitment": _hex(commitment)}
    fields["signature"] = _hex(_signature_bytes(sig))
    return json.dumps({"kind": kind, "version": 1, **fields, **rest}, indent=2)


def claim_to_json(claim: Claim) -> str:
    """The claim as JSON text (it holds the secret opening: keep the file private)."""
    blinding = _hex(claim.blinding.to_bytes(32, "big"))
    return _to_json(
        "harmony-zk-claim", claim.holder, claim.issuer, claim.commitment, claim.signature,
        value=str(claim.value), blinding=blinding,
    )  # fmt: skip


def presentation_to_json(presentation: Presentation) -> str:
    """The presentation as JSON text (public)."""
    p = presentation
    return _to_json(
        "harmony-zk-presentation", p.holder, p.issuer, p.commitment, p.signature,
        lower_bound=str(p.lower_bound), proof=_hex(p.proof),
    )  # fmt: skip


def _document(text: str | bytes, kind: str) -> dict[str, Any]:
    if len(text) > MAX_DOCUMENT_SIZE:
        raise ZkDecodeError(f"{kind}: larger than {MAX_DOCUMENT_SIZE} bytes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ZkDecodeError(f"{kind}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ZkDecodeError(f"{kind}: must be a JSON object")
    if data.get("kind") != kind or data.get("version") != 1:
        raise ZkDecodeError(f'{kind}: "kind" must be "{kind}" and "version" 1')
    return data


def _bytes(data: dict[str, Any], field: str, size: int, *, up_to: bool = False) -> bytes:
    """The hex field's bytes: exactly ``size`` of them, or at most ``size`` with ``up_to``."""
    what = f"{'at most ' if up_to else ''}{size} bytes"
    value = data.get(field)
    if not isinstance(value, str) or not value.startswith("0x") or len(value) > 2 + 2 * size:
        raise ZkDecodeError(f"{field}: must be a 0x hex string of {what}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ZkDecodeError(f"{field}: not valid hex") from exc
    if len(raw) != size and not up_to:
        raise ZkDecodeError(f"{field}: must be {what}, got {len(raw)}")
    return raw


def _integer(data: dict[str, Any], field: str, limit: int) -> int:
    value = data.get(field)
    if not isinstance(value, str) or not value.isdigit() or not value.isascii() or len(value) > 40:
        raise ZkDecodeError(f"{field}: must be a decimal integer in a string")
    number = int(value)
    if number > limit:
        raise ZkDecodeError(f"{field}: larger than {limit}")
    return number


def _signature(data: dict[str, Any]) -> Signature:
    try:
        return Signature.from_bytes(_bytes(data, "signature", 65))
    except SignatureError as exc:
        raise ZkDecodeError(f"signature: {exc}") from exc


def parse_claim(text: str | bytes) -> Claim:
    """A claim from its JSON text, every field checked (:class:`ZkDecodeError` names the bad one)."""
    data = _document(text, "harmony-zk-claim")
    commitment = _bytes(data, "commitment", 33)
    decode_point(commitment, "commitment")
    blinding = int.from_bytes(_bytes(data, "blinding", 32), "big")
    if blinding >= N:
        raise ZkDecodeError("blinding: not below the group order")
    return Claim(
        _bytes(data, "holder", 20),
        _bytes(data, "issuer", 20),
        _integer(data, "value", MAX_VALUE),
        blinding,
        commitment,
        _signature(data),
    )


def parse_presentation(text: str | bytes) -> Presentation:
    """A presentation from its JSON text, every field checked (:class:`ZkDecodeError` names the bad one)."""
    data = _document(text, "harmony-zk-presentation")
    commitment = _bytes(data, "commitment", 33)
    decode_point(commitment, "commitment")
    proof = _bytes(data, "proof", MAX_PROOF_SIZE, up_to=True)
    RangeProof.from_bytes(proof)
    return Presentation(
        _bytes(data, "holder", 20),
        _bytes(data, "issuer", 20),
        commitment,
        _signature(data),
        _integer(data, "lower_bound", LOWER_BOUND_LIMIT - 1),
        proof,
    )


__all__ = [
    "ATTESTATION_TAG",
    "MAX_DOCUMENT_SIZE",
    "Claim",
    "Presentation",
    "attestation_digest",
    "check_claim",
    "check_presentation",
    "claim_to_json",
    "issue_claim",
    "parse_claim",
    "parse_presentation",
    "present",
    "presentation_to_json",
    "signer_of",
]
