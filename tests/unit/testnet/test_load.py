"""The load generator calls a counter contract only once its deployment is final (a call included before the
deployment finds no code, succeeds without counting, and the counter check would report it as lost).

The node side here is a small JSON-RPC server that answers as a node whose shard 1 never finalizes anything.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from harmony.testnet.load import LoadGenerator
from harmony.testnet.manifest import Load


class _Node(BaseHTTPRequestHandler):
    final_after = 3
    """A transaction of shard 0 has a receipt from its ``final_after``-th receipt query on."""
    queries: dict[str, int] = {}  # noqa: RUF012 (one server per test)
    sent: list[str] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        shard = int(self.path.strip("/"))
        method, params = body["method"], body["params"]
        result: Any = None
        if method == "hmyv2_getTransactionCount":
            result = 7
        elif method == "hmyv2_sendRawTransaction":
            self.sent.append(params[0])
            result = "0x" + "00" * 32
        elif method == "hmyv2_getTransactionReceipt":
            n = self.queries[params[0]] = self.queries.get(params[0], 0) + 1
            if shard == 0 and n >= self.final_after:
                result = {"status": "0x1", "gasUsed": "0x1"}
        out = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def node() -> Iterator[str]:
    _Node.queries, _Node.sent = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_only_final_deployments_are_called(node: str) -> None:
    load = LoadGenerator(
        Load(tx_per_s=1, cross_shard_percent=0, contract_percent=100), 2, lambda s: [f"{node}/{s}"], 1
    )
    late = load.deploy_contracts(timeout=2.0)
    assert late == [1]
    assert list(load.contracts) == [0]
    deploy = next(s for s in load.sent if s.kind == "deploy" and s.shard == 0)
    assert deploy.final and _Node.queries[deploy.hash] == _Node.final_after
    kinds = {(t.kind, t.shard) for t in (load.one() for _ in range(40))}
    assert ("call", 0) in kinds
    assert ("call", 1) not in kinds


def test_a_deployment_not_final_is_offered_again(node: str) -> None:
    load = LoadGenerator(
        Load(tx_per_s=1, cross_shard_percent=0, contract_percent=100), 2, lambda s: [f"{node}/{s}"], 1
    )
    late = load.deploy_contracts(timeout=5.0)
    assert late == [1]
    deploy = next(s for s in load.sent if s.kind == "deploy" and s.shard == 1)
    assert _Node.sent.count(deploy.raw) >= 2
