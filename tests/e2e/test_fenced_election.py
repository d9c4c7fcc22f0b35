"""End to end on real processes (issue 21, item 4's election): on a devnet whose shard 1 is fenced to EU
(``harmony devnet --fence 1=EU``), two validators are created with ``harmony staking create-validator``;
the development attestor signs an attestation of one of them offline (``harmony staking
sign-attestation``) and that validator puts it on the beacon chain (``harmony staking attest``). At the
next election the beacon chain seats the attested one on the fenced shard and the other on the beacon
chain (two winners: one external seat per shard; with one winner the fair share gives shard 1 none). The
attested validator's own ``harmony node`` on shard 1 holds a seat key of the fenced committee, so the
members let it in: it syncs shard 1 through the fenced sync, its RPC serves the shard's blocks, and its key
signs shard 1's blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmony.chain.genesis import dev_account_key
from harmony.cli.devnet_fences import DEV_ATTESTOR_INDEX

from .devnet_fixture import rpc, start_devnet
from .test_staking import (
    Actor,
    create_validator,
    seat_shard,
    signed_lately,
    staking,
    start_validator_node,
    wait_for,
)

pytestmark = [pytest.mark.e2e]

VDF_ITERATIONS = 20_000
"""As the other fenced devnet's: small enough for a loaded 2-core machine."""
EXPIRY_EPOCHS = 50


# it waits for an election (a 32-block epoch, about a minute) and a sync: 52-72 s at load 3-10
def test_a_newly_attested_validator_is_elected_into_the_fenced_committee(tmp_path: Path) -> None:
    net = start_devnet(
        tmp_path / "net",
        *("--fence", "1=EU", "--vdf-iterations", str(VDF_ITERATIONS)),
        *("--block-time-ms", "1000", "--phase-timeout-ms", "5000"),
    )
    try:
        beacon = net.url(0, 0)
        validator = Actor(tmp_path, "attested", dev_account_key(7), b"fenced-validator")
        other = Actor(tmp_path, "unattested", dev_account_key(8), b"unfenced-validator")
        attestor = Actor(tmp_path, "attestor", dev_account_key(DEV_ATTESTOR_INDEX))
        create_validator(beacon, validator, "attested")
        create_validator(beacon, other, "unattested")
        for actor in (validator, other):
            wait_for(
                net,
                f"{actor.name} registered",
                lambda a=actor: rpc(beacon, "hmyv2_getValidatorInformation", [a.address]),
            )
        terms = [
            "--jurisdiction",
            "EU",
            "--expiry-epoch",
            str(int(rpc(beacon, "hmyv2_getEpoch")) + EXPIRY_EPOCHS),
        ]
        signature = staking(
            "sign-attestation", "--validator", validator.address, *terms,
            "--keystore", str(attestor.keystore), "--passphrase-file", str(attestor.pass_file),
        )  # fmt: skip
        staking(
            "attest", "--node", beacon, "--attestor-signature", signature, *terms,
            "--keystore", str(validator.keystore), "--passphrase-file", str(validator.pass_file),
        )  # fmt: skip

        def attested() -> bool:
            found = rpc(beacon, "hmyv2_getAttestations", [validator.address])
            return any(a["jurisdiction"] == "EU" and a["live"] for a in found)

        wait_for(net, "the attestation on the beacon chain", attested)
        wait_for(
            net,
            "the attested validator on the fenced shard, the other on the beacon chain",
            lambda: (seat_shard(net, validator), seat_shard(net, other)) == (1, 0),
        )
        start_validator_node(net, other, 0)  # the beacon chain's quorum does not lean on the operators alone
        # its node on shard 1 is inside the fence: the members let it sync, its RPC serves the shard's blocks
        start_validator_node(net, validator, 1)
        url: str = validator.http  # type: ignore[attr-defined]
        member = net.url(1, 0)
        head = net.height(member)
        net.wait_height(url, head, timeout=180)
        assert rpc(url, "eth_getBlockByNumber", ["0x1", False])["number"] == "0x1"
        wait_for(
            net,
            "the attested validator's key signing shard 1's blocks",
            lambda: signed_lately(net, member, validator),
        )
    finally:
        net.stop()
