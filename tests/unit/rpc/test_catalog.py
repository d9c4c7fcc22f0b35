"""The method table against Harmony's: every method Harmony registers is served or has a reason, and
``docs/rpc-methods.md`` is what the catalog generates."""

from __future__ import annotations

from pathlib import Path

from harmony.rpc.catalog import HARMONY_SERVICES, harmony_names, render_markdown, rows, rpc_name
from harmony.rpc.dispatch import build_method_table

DOC = Path(__file__).resolve().parents[3] / "docs" / "rpc-methods.md"


def test_every_unserved_harmony_method_says_why() -> None:
    table = build_method_table()
    missing = [r.name for s in HARMONY_SERVICES for r in rows(s, table) if not r.served and not r.note]
    assert missing == []


def test_names_follow_go() -> None:
    assert rpc_name("hmyv2", "GetNodeMetadata") == "hmyv2_getNodeMetadata"
    assert rpc_name("hmy", "ConsensusCurViewID") == "hmy_consensusCurViewID"
    names = harmony_names()
    assert {"netv2_peerCount", "hmy_getLatestChainHeaders", "debug_traceCall", "eth_getLogs"} <= names
    table = build_method_table()
    for name in (
        "netv2_peerCount",
        "netv1_version",
        "hmy_getLastSigningPower",
        "hmyv2_getLatestChainHeaders",
    ):
        assert name in table, name


def test_the_document_is_current() -> None:
    assert DOC.read_text() == render_markdown(), "run: python -m harmony.rpc.catalog > docs/rpc-methods.md"
