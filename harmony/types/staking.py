"""Staking transactions: the five directives and their signed envelope (reference §2.4, §2.5).

Envelope RLP: ``[directive, stakeMsg, nonce, gasPrice, gasLimit, v, r, s]`` where ``stakeMsg`` is the RLP
list of the message's fields (Go ``staking/types/messages.go``):

* 0 CreateValidator: ``[validatorAddress, description, commissionRates, minSelfDelegation,
  maxTotalDelegation, [slotPubKey (48 B)…], [slotKeySig (96 B)…], amount]``;
* 1 EditValidator: ``[validatorAddress, description, commissionRate?, minSelfDelegation?,
  maxTotalDelegation?, slotKeyToRemove?, slotKeyToAdd?, slotKeyToAddSig?, eposStatus]``, where an absent
  ``*Dec`` is the empty list ``0xc0`` and every other absent field the empty string ``0x80`` (Go
  ``rlp:"nil"``);
* 2 Delegate and 3 Undelegate: ``[delegatorAddress, validatorAddress, amount]``;
* 4 CollectRewards: ``[delegatorAddress]``;
* 5 Attest: ``[validatorAddress, jurisdiction, expiryEpoch, serial, attestorSignature (65 B)]`` and
  6 Revoke: ``[attestorAddress, validatorAddress, jurisdiction]``: the country fences' attestations (ours,
  not Harmony's; ``docs/design/fenced-shards.md``). The attestor signs :func:`attestation_digest`.

``description`` is ``[name, identity, website, securityContact, details]`` (≤ 140 bytes each, details ≤ 280,
checked on decode); ``commissionRates`` is ``[rate, maxRate, maxChangeRate]``, each a ``Dec`` (``[scaled]``).

Signing hash: Keccak-256 of ``rlp([directive, stakeMsg, nonce, gasPrice, gasLimit, chainID, 0, 0])`` with the
Harmony chain ID; ``v = recid + 35 + 2·chainID``. Staking transactions are always EIP-155 protected.

Semantic rules (minimum self-delegation, rate bounds, key counts, proofs of possession) belong to
``harmony.chain``; this module only checks shapes and sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Self

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.encoding.fixed import DEC, OPTIONAL_DEC, Dec
from harmony.encoding.rlp import DecodedItem, Item
from harmony.encoding.schema import (
    ADDRESS,
    BIG_INT,
    UINT8,
    UINT64,
    UINT256,
    ListOf,
    Nested,
    Optional,
    Sedes,
    Serializable,
    Text,
    as_list,
    fixed,
)
from harmony.errors import InvalidTransaction, RLPError
from harmony.types import tx_common
from harmony.types.tx_common import ChainIdSpec, InvalidChainId

MAX_NAME_LENGTH = 140
"""Longest name, identity, website and security contact, in bytes (``MaxNameLength`` etc.)."""
MAX_DETAILS_LENGTH = 280
"""Longest details text, in bytes (``MaxDetailsLength``)."""
BLS_PUBLIC_KEY_LENGTH = 48
"""Serialized BLS public key (G1)."""
BLS_SIGNATURE_LENGTH = 96
"""Serialized BLS signature (G2)."""
MAX_SLOT_KEYS_DECODED = 256
"""Decode bound on a CreateValidator's key and signature lists; the protocol limit (106) is a chain rule."""
MAX_STAKING_TX_SIZE = 64 * 1024
"""Largest encoded staking transaction :meth:`StakingTransaction.decode` reads (256 keys and sigs fit)."""

BLS_PUBLIC_KEY = fixed(BLS_PUBLIC_KEY_LENGTH)
BLS_SIGNATURE = fixed(BLS_SIGNATURE_LENGTH)


class Directive(IntEnum):
    """What kind of staking message follows (Go ``staking.Directive``)."""

    CREATE_VALIDATOR = 0
    EDIT_VALIDATOR = 1
    DELEGATE = 2
    UNDELEGATE = 3
    COLLECT_REWARDS = 4
    ATTEST = 5
    REVOKE = 6


class EposStatus(IntEnum):
    """A validator's eligibility, as EditValidator may set it (Go ``effective.Eligibility``)."""

    NIL = 0
    ACTIVE = 1
    INACTIVE = 2
    BANNED = 3


@dataclass(frozen=True, slots=True)
class Description(Serializable):
    """A validator's public description (reference §2.4); lengths are bounded in bytes of UTF-8."""

    name: str
    """Display name (≤ 140 bytes)."""
    identity: str
    """Unique identity, e.g. a Keybase ID (≤ 140 bytes)."""
    website: str
    """Website (≤ 140 bytes)."""
    security_contact: str
    """Security contact (≤ 140 bytes)."""
    details: str
    """Free text (≤ 280 bytes)."""

    rlp_schema = (
        ("name", Text(MAX_NAME_LENGTH)),
        ("identity", Text(MAX_NAME_LENGTH)),
        ("website", Text(MAX_NAME_LENGTH)),
        ("security_contact", Text(MAX_NAME_LENGTH)),
        ("details", Text(MAX_DETAILS_LENGTH)),
    )


@dataclass(frozen=True, slots=True)
class CommissionRates(Serializable):
    """Commission rate, its maximum, and the largest change per epoch (reference §2.4)."""

    rate: Dec
    """Current commission rate."""
    max_rate: Dec
    """Highest rate the validator may ever charge."""
    max_change_rate: Dec
    """Largest change of rate from one epoch to the next."""

    rlp_schema = (("rate", DEC), ("max_rate", DEC), ("max_change_rate", DEC))


@dataclass(frozen=True, slots=True)
class CreateValidator(Serializable):
    """Directive 0: register a validator with its keys and first self-delegation (reference §2.4)."""

    validator_address: bytes
    """The validator's account (20 bytes); must be the transaction's sender."""
    description: Description
    """Public description."""
    commission_rates: CommissionRates
    """Commission parameters."""
    min_self_delegation: int
    """Least self-stake the validator keeps, in atto."""
    max_total_delegation: int
    """Most total delegation the validator accepts, in atto."""
    slot_pub_keys: tuple[bytes, ...]
    """BLS public keys (48 bytes each)."""
    slot_key_sigs: tuple[bytes, ...]
    """Proof-of-possession signature of each key (96 bytes each)."""
    amount: int
    """Initial self-delegation, in atto."""

    directive: ClassVar[Directive] = Directive.CREATE_VALIDATOR
    rlp_schema = (
        ("validator_address", ADDRESS),
        ("description", Nested(Description)),
        ("commission_rates", Nested(CommissionRates)),
        ("min_self_delegation", BIG_INT),
        ("max_total_delegation", BIG_INT),
        ("slot_pub_keys", ListOf(BLS_PUBLIC_KEY, MAX_SLOT_KEYS_DECODED)),
        ("slot_key_sigs", ListOf(BLS_SIGNATURE, MAX_SLOT_KEYS_DECODED)),
        ("amount", BIG_INT),
    )


@dataclass(frozen=True, slots=True)
class EposStatusSedes:
    """An EPoS status byte (EditValidator, Validator.status): a canonical integer naming an EposStatus."""

    def serialize(self, value: EposStatus) -> Item:
        """Encode as a one-byte integer."""
        return UINT8.serialize(int(value))

    def deserialize(self, item: DecodedItem, field: str) -> EposStatus:
        """Decode and check it is 0..3."""
        value = UINT8.deserialize(item, field)
        try:
            return EposStatus(value)
        except ValueError as exc:
            raise RLPError(f"{field}: unknown eligibility status {value}") from exc


EPOS_STATUS = EposStatusSedes()


@dataclass(frozen=True, slots=True)
class EditValidator(Serializable):
    """Directive 1: change a validator's description, rates, bounds, keys or status (reference §2.4).

    ``None`` leaves a field unchanged. An optional amount of 0 encodes like ``None`` (Go ``*big.Int`` with
    ``rlp:"nil"``), so it decodes as ``None``. ``epos_status`` ``None`` means the message was encoded
    without the status field, as pyhmy writes it (eight fields); such messages keep that form on re-encoding
    so their hash and signature stay valid, and mean "status unchanged" (:attr:`EposStatus.NIL`).
    """

    validator_address: bytes
    """The validator's account (20 bytes); must be the transaction's sender."""
    description: Description
    """New description (Go replaces only the non-empty fields)."""
    commission_rate: Dec | None = None
    """New commission rate."""
    min_self_delegation: int | None = None
    """New minimum self-delegation, in atto."""
    max_total_delegation: int | None = None
    """New maximum total delegation, in atto."""
    slot_key_to_remove: bytes | None = None
    """BLS key to remove (48 bytes)."""
    slot_key_to_add: bytes | None = None
    """BLS key to add (48 bytes)."""
    slot_key_to_add_sig: bytes | None = None
    """Proof of possession of the added key (96 bytes)."""
    epos_status: EposStatus | None = EposStatus.NIL
    """Requested eligibility (Active/Inactive); ``None``: field absent on the wire (pyhmy's form)."""

    directive: ClassVar[Directive] = Directive.EDIT_VALIDATOR
    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("validator_address", ADDRESS),
        ("description", Nested(Description)),
        ("commission_rate", OPTIONAL_DEC),
        ("min_self_delegation", Optional(BIG_INT)),
        ("max_total_delegation", Optional(BIG_INT)),
        ("slot_key_to_remove", Optional(BLS_PUBLIC_KEY)),
        ("slot_key_to_add", Optional(BLS_PUBLIC_KEY)),
        ("slot_key_to_add_sig", Optional(BLS_SIGNATURE)),
        ("epos_status", EPOS_STATUS),
    )

    def to_rlp(self) -> Item:
        """The message's list; eight entries when ``epos_status`` is ``None``, else nine."""
        fields = self.rlp_schema if self.epos_status is not None else self.rlp_schema[:-1]
        return [sedes.serialize(getattr(self, name)) for name, sedes in fields]

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str | None = None) -> Self:
        """Decode nine entries, or eight (no status) as pyhmy writes them."""
        where = field or cls.__name__
        entries = as_list(item, where)
        if len(entries) not in (len(cls.rlp_schema), len(cls.rlp_schema) - 1):
            raise RLPError(f"{where}: expected a list of 8 or 9 items, got {len(entries)}")
        kwargs: dict[str, Any] = {
            name: sedes.deserialize(entry, f"{where}.{name}")
            for (name, sedes), entry in zip(cls.rlp_schema, entries, strict=False)
        }
        kwargs.setdefault("epos_status", None)
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class Delegate(Serializable):
    """Directive 2: delegate ``amount`` atto from the delegator to a validator (reference §2.4)."""

    delegator_address: bytes
    """The delegating account (20 bytes); must be the transaction's sender."""
    validator_address: bytes
    """The validator delegated to."""
    amount: int
    """Amount in atto."""

    directive: ClassVar[Directive] = Directive.DELEGATE
    rlp_schema = (("delegator_address", ADDRESS), ("validator_address", ADDRESS), ("amount", BIG_INT))


@dataclass(frozen=True, slots=True)
class Undelegate(Serializable):
    """Directive 3: withdraw ``amount`` atto of delegation from a validator (reference §2.4)."""

    delegator_address: bytes
    """The delegating account (20 bytes); must be the transaction's sender."""
    validator_address: bytes
    """The validator undelegated from."""
    amount: int
    """Amount in atto."""

    directive: ClassVar[Directive] = Directive.UNDELEGATE
    rlp_schema = (("delegator_address", ADDRESS), ("validator_address", ADDRESS), ("amount", BIG_INT))


@dataclass(frozen=True, slots=True)
class CollectRewards(Serializable):
    """Directive 4: move every accrued reward of the delegator to its balance (reference §2.4, §2.5)."""

    delegator_address: bytes
    """The delegating account (20 bytes); must be the transaction's sender."""

    directive: ClassVar[Directive] = Directive.COLLECT_REWARDS
    rlp_schema = (("delegator_address", ADDRESS),)


ATTESTATION_DOMAIN = b"harmony-attest-v1"
"""First item of what an attestor signs (:func:`attestation_digest`), so no other signature can pass."""
MAX_JURISDICTION_BYTES = 16
"""Decode bound on a jurisdiction's name; its spelling is a chain rule (``harmony.chain.fences``)."""
ATTESTOR_SIGNATURE_LENGTH = 65
"""A recoverable secp256k1 signature ``r ‖ s ‖ recid``."""


def attestation_digest(
    chain_id: int, validator: bytes, jurisdiction: str, expiry_epoch: int, serial: int
) -> bytes:
    """What an attestor signs: Keccak-256 of ``rlp(["harmony-attest-v1", chainID, validatorAddress,
    jurisdiction, expiryEpoch, serial])`` (``docs/design/fenced-shards.md``, Formats). The chain ID keeps an
    attestation on its network; the serial lets an attestor attest the same validator again."""
    return keccak256(
        rlp.encode(
            [
                ATTESTATION_DOMAIN,
                rlp.encode_uint(chain_id),
                validator,
                Text(MAX_JURISDICTION_BYTES).serialize(jurisdiction),
                UINT64.serialize(expiry_epoch),
                UINT64.serialize(serial),
            ]
        )
    )


@dataclass(frozen=True, slots=True)
class Attest(Serializable):
    """Directive 5: put an attestor's attestation of a validator for a jurisdiction on the beacon chain."""

    validator_address: bytes
    """The attested validator (20 bytes); must be the transaction's sender (it consents and pays)."""
    jurisdiction: str
    """The fence's jurisdiction, e.g. ``EU``."""
    expiry_epoch: int
    """The attestation is live in epochs below this one (u64)."""
    serial: int
    """The attestor's number for this attestation (u64): a new one to attest the same validator again."""
    attestor_signature: bytes
    """65-byte ``r ‖ s ‖ recid`` signature of :func:`attestation_digest` by an attestor of the
    jurisdiction."""

    directive: ClassVar[Directive] = Directive.ATTEST
    rlp_schema = (
        ("validator_address", ADDRESS),
        ("jurisdiction", Text(MAX_JURISDICTION_BYTES)),
        ("expiry_epoch", UINT64),
        ("serial", UINT64),
        ("attestor_signature", fixed(ATTESTOR_SIGNATURE_LENGTH)),
    )

    @classmethod
    def signed(
        cls,
        attestor: PrivateKey,
        chain_id: int,
        *,
        validator_address: bytes,
        jurisdiction: str,
        expiry_epoch: int,
        serial: int,
    ) -> Attest:
        """The attestation of ``validator_address`` for ``jurisdiction`` signed by ``attestor``'s key."""
        digest = attestation_digest(chain_id, validator_address, jurisdiction, expiry_epoch, serial)
        signature = attestor.sign_hash(digest).to_bytes()
        return cls(validator_address, jurisdiction, expiry_epoch, serial, signature)

    def digest(self, chain_id: int) -> bytes:
        """The :func:`attestation_digest` this message's signature is over on ``chain_id``."""
        return attestation_digest(
            chain_id, self.validator_address, self.jurisdiction, self.expiry_epoch, self.serial
        )


@dataclass(frozen=True, slots=True)
class Revoke(Serializable):
    """Directive 6: an attestor withdraws a validator's attestation for a jurisdiction."""

    attestor_address: bytes
    """The revoking attestor (20 bytes); must be the transaction's sender."""
    validator_address: bytes
    """The validator whose attestation ends."""
    jurisdiction: str
    """The fence's jurisdiction."""

    directive: ClassVar[Directive] = Directive.REVOKE
    rlp_schema = (
        ("attestor_address", ADDRESS),
        ("validator_address", ADDRESS),
        ("jurisdiction", Text(MAX_JURISDICTION_BYTES)),
    )


StakeMsg = CreateValidator | EditValidator | Delegate | Undelegate | CollectRewards | Attest | Revoke
"""Any of the seven staking messages."""

MESSAGE_TYPES: dict[Directive, type[StakeMsg]] = {
    Directive.CREATE_VALIDATOR: CreateValidator,
    Directive.EDIT_VALIDATOR: EditValidator,
    Directive.DELEGATE: Delegate,
    Directive.UNDELEGATE: Undelegate,
    Directive.COLLECT_REWARDS: CollectRewards,
    Directive.ATTEST: Attest,
    Directive.REVOKE: Revoke,
}
"""The message class each directive carries (Go ``RLPDecodeStakeMsg``)."""


def decode_stake_msg(directive: int, item: DecodedItem, field: str = "stakeMsg") -> StakeMsg:
    """Decode the message ``item`` for ``directive``; an unknown directive is an :class:`RLPError`."""
    try:
        cls = MESSAGE_TYPES[Directive(directive)]
    except ValueError as exc:
        raise RLPError(f"unknown staking directive {directive}") from exc
    return cls.from_rlp(item, field)


@dataclass(frozen=True, slots=True)
class StakingTransaction(tx_common.SignedTransactionMixin):
    """A signed staking message; the directive is the message's (reference §2.4)."""

    msg: StakeMsg
    """The staking message; its class fixes the directive."""
    nonce: int
    """Sender's transaction count (u64)."""
    gas_price: int
    """Price per gas in atto (u256)."""
    gas_limit: int
    """Gas limit (u64)."""
    v: int = 0
    """Signature ``v = recid + 35 + 2·chainID``; 0 while unsigned."""
    r: int = 0
    """Signature ``r``."""
    s: int = 0
    """Signature ``s``."""

    @property
    def directive(self) -> Directive:
        """The directive of :attr:`msg`."""
        return self.msg.directive

    def _payload(self) -> list[Item]:
        """``[directive, stakeMsg, nonce, gasPrice, gasLimit]``: what precedes the signature."""
        return [
            UINT8.serialize(int(self.directive)),
            self.msg.to_rlp(),
            UINT64.serialize(self.nonce),
            UINT256.serialize(self.gas_price),
            UINT64.serialize(self.gas_limit),
        ]

    def to_rlp(self) -> Item:
        """The envelope ``[directive, stakeMsg, nonce, gasPrice, gasLimit, v, r, s]``."""
        return [
            *self._payload(),
            UINT256.serialize(self.v),
            UINT256.serialize(self.r),
            UINT256.serialize(self.s),
        ]

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str = "StakingTransaction") -> StakingTransaction:
        """Decode the envelope, checking its shape, every width and the message of its directive."""
        entries = as_list(item, field, 8)
        directive = UINT8.deserialize(entries[0], f"{field}.directive")
        return cls(
            decode_stake_msg(directive, entries[1], f"{field}.stakeMsg"),
            UINT64.deserialize(entries[2], f"{field}.nonce"),
            UINT256.deserialize(entries[3], f"{field}.gasPrice"),
            UINT64.deserialize(entries[4], f"{field}.gasLimit"),
            UINT256.deserialize(entries[5], f"{field}.v"),
            UINT256.deserialize(entries[6], f"{field}.r"),
            UINT256.deserialize(entries[7], f"{field}.s"),
        )

    def encode(self) -> bytes:
        """The canonical RLP encoding."""
        return rlp.encode(self.to_rlp())

    @classmethod
    def decode(cls, data: bytes) -> StakingTransaction:
        """Decode from bytes; malformed input raises :class:`RLPError` (a ``DecodeError``)."""
        return cls.from_rlp(rlp.decode(data, max_size=MAX_STAKING_TX_SIZE))

    def signing_hash(self, chain_id: int | None) -> bytes:
        """Keccak-256 of ``rlp([directive, stakeMsg, nonce, gasPrice, gasLimit, chainID, 0, 0])``."""
        if chain_id is None:
            raise InvalidChainId("staking transactions must be signed with an EIP-155 chain ID")
        return keccak256(rlp.encode([*self._payload(), rlp.encode_uint(chain_id), b"", b""]))

    def sender(self, chain_id: ChainIdSpec = None) -> bytes:
        """The signer's address; the signature must be EIP-155 for one of ``chain_id`` (``None``: any).

        Raises :class:`InvalidChainId` (unprotected or another chain) or
        :class:`~harmony.errors.SignatureError`.
        """
        signed_for = tx_common.check_chain_id(self.v, chain_id)
        if signed_for is None:
            raise InvalidChainId("staking transactions must be signed with an EIP-155 chain ID")
        return tx_common.recover_sender(self.signing_hash(signed_for), self.v, self.r, self.s)

    def data(self) -> bytes:
        """The RLP of the message: the "data" intrinsic gas is charged on (Go ``StakingTransaction.Data``)."""
        return rlp.encode(self.msg.to_rlp())

    def intrinsic_gas(self) -> int:
        """Intrinsic gas (reference §2.4): 5,300,000 for CreateValidator, else 21,000, plus data bytes."""
        return tx_common.intrinsic_gas(
            self.data(), validator_creation=self.directive is Directive.CREATE_VALIDATOR
        )


def acting_account(msg: StakeMsg) -> bytes:
    """The account ``msg`` acts for, which must sign its transaction: the validator (create, edit, attest),
    the delegator (delegate, undelegate, collect) or the attestor (revoke)."""
    if isinstance(msg, (CreateValidator, EditValidator, Attest)):
        return msg.validator_address
    if isinstance(msg, Revoke):
        return msg.attestor_address
    return msg.delegator_address


def check_signer(tx: StakingTransaction, chain_id: ChainIdSpec) -> bytes:
    """Recover the sender and check it is the account the message acts for (:func:`acting_account`).

    Go's staking verifier requires ``ValidatorAddress`` (create/edit) or ``DelegatorAddress`` to equal the
    signer; a mismatch is an :class:`InvalidTransaction`.
    """
    sender = tx.sender(chain_id)
    if acting_account(tx.msg) != sender:
        raise InvalidTransaction("staking message account is not the transaction's signer")
    return sender
