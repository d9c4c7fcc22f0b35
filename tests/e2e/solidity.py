"""Compile Solidity with solc-js (``make test`` installs it into ``.tools``) for the end-to-end tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

CONTRACTS = Path(__file__).parent / "contracts"


def compile_contracts(source_file: Path) -> dict[str, dict[str, Any]]:
    """Every contract of ``source_file`` as ``{name: {"abi", "bytecode"}}`` (0x bytecode), compiled for
    Istanbul, Harmony's EVM level (reference §2.3), with the optimizer on; a compile error fails the test."""
    request = {
        "language": "Solidity",
        "sources": {source_file.name: {"content": source_file.read_text(encoding="utf-8")}},
        "settings": {
            "evmVersion": "istanbul",
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    out = subprocess.run(
        ["node", str(CONTRACTS / "solc_compile.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    result = json.loads(out.stdout)
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    return {
        name: {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]}
        for name, c in result["contracts"][source_file.name].items()
    }
