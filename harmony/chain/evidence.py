"""The rule a slash record's evidence must pass (reference §5.3): both conflicting commit votes verify.

Detection (collecting votes and turning two conflicting ones into evidence) is consensus's
(:mod:`harmony.consensus.evidence`); whether a block may carry the evidence is this rule.
"""

from __future__ import annotations

from harmony.chain.payloads import commit_payload
from harmony.crypto.bls import PublicKey, Signature, fast_aggregate_verify
from harmony.errors import HarmonyError
from harmony.types.slash import Record


def record_votes_valid(record: Record) -> bool:
    """Whether both votes of a slash record verify over the commit payload of its moment (reference §5.3:
    "both signatures verify"), each as the aggregate of its own signer keys. The chain's slashing rule
    (:func:`harmony.chain.staking.slashing.verify_slash_record`) takes this as its injected check."""
    evidence = record.evidence
    moment = evidence.moment
    for vote in (evidence.conflicting_votes.first_vote, evidence.conflicting_votes.second_vote):
        try:
            keys = [PublicKey(k) for k in vote.signer_pub_keys]
            signature = Signature(vote.signature)
        except HarmonyError:
            return False
        if not keys:
            return False
        payload = commit_payload(moment.height, vote.block_header_hash, moment.view_id)
        if not fast_aggregate_verify(keys, payload, signature):
            return False
    return True
