"""The dispatcher counts requests, failures and time per served method (the ``hmy_rpc_*`` metrics); names
it does not serve are never counted, so a client cannot grow the table."""

from __future__ import annotations

import json

from harmony.rpc.dispatch import Dispatcher
from tests.unit.rpc.conftest import ChainFixture


def test_calls_failures_and_time_per_method(built: ChainFixture) -> None:
    d = Dispatcher(built.backend)
    for body in (
        {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber"},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["not an address", "latest"]},
        {"jsonrpc": "2.0", "id": 4, "method": "no_suchMethod" + "x" * 50, "params": []},
    ):
        d.handle(json.dumps(body).encode())
    assert d.calls == {"eth_blockNumber": 2, "eth_getBalance": 1}
    assert d.failures == {"eth_getBalance": 1}
    assert set(d.seconds) == {"eth_blockNumber", "eth_getBalance"} and all(v >= 0 for v in d.seconds.values())
