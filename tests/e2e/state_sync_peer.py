"""Processes for the state sync kill -9 test: ``python tests/e2e/state_sync_peer.py serve DIR ACCOUNTS DELAY``
and ``python tests/e2e/state_sync_peer.py sync DIR ROOT ADDR…``.

``serve`` builds (once) a shard-1 chain of a development genesis whose blocks pay ``ACCOUNTS`` new accounts
in an LMDB database in ``DIR``, then serves its state over the state sync protocol on a real libp2p host,
answering each request after ``DELAY`` seconds (so that a download takes long enough to be killed in the
middle); it prints ``ROOT <hex>`` and ``PEER <id> <addr>``.

``sync`` opens (or creates) the LMDB database in ``DIR`` and downloads the state at ``ROOT`` from the peers
at ``ADDR…`` with the node's own :class:`harmony.node.state_sync.StateDownload`: every answer is checked and
made durable before ``WROTE <n>`` is printed (``n`` nodes fetched so far), then ``DONE <fetched> <present>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import trio

from harmony.chain.genesis import dev_account_key, dev_bls_key, make_localnet_genesis
from harmony.chain.params import LOCALNET
from harmony.crypto.keccak import keccak256
from harmony.node.blockchain import Blockchain
from harmony.node.dev_chain import extend_final
from harmony.node.state_download import StateDownload, StateProgress
from harmony.node.state_sync import ChainStateSource
from harmony.p2p.host import P2PConfig, open_host
from harmony.p2p.state_protocol import StateClient, answer, decode_request, serve_state
from harmony.p2p.topics import state_protocol_id
from harmony.state.sync_walk import StateWalk
from harmony.storage import ChainDB, LMDBStore
from harmony.types.transaction import Transaction

SHARD = 1
GENESIS = make_localnet_genesis(keys_per_shard=4, timestamp=1_700_000_000)
PROTOCOL = state_protocol_id("localnet", SHARD)
PER_BLOCK = 500


def build(directory: Path, accounts: int) -> Blockchain:
    """The served chain: blocks of ``PER_BLOCK`` transfers to new accounts (built once per directory)."""
    chain = Blockchain.open(ChainDB(LMDBStore(directory)), GENESIS, SHARD)
    keys = [dev_bls_key(SHARD, i) for i in range(3)]
    sender = dev_account_key(0)
    made = chain.head.number * PER_BLOCK
    while made < accounts:
        txs = []
        for _ in range(min(PER_BLOCK, accounts - made)):
            to = keccak256(b"state-sync-kill" + made.to_bytes(4, "big"))[:20]
            txs.append(
                Transaction(made, 10**9, 21_000, SHARD, SHARD, to, 10**15).sign(sender, LOCALNET.chain_id)
            )
            made += 1
        extend_final(chain, keys, txs)
    return chain


async def serve(directory: Path, accounts: int, delay: float) -> None:
    chain = build(directory, accounts)
    source = ChainStateSource(chain)
    async with open_host(P2PConfig(key_path=directory / "peer.key", port=0)) as host:
        serve_state(host, PROTOCOL, source)

        async def slow(peer_id: str, request: bytes) -> bytes:
            await trio.sleep(delay)
            return answer(source, *decode_request(request))

        host.set_request_handler(PROTOCOL, slow, max_request_bytes=1 << 16, max_response_bytes=1 << 22)
        print("ROOT", chain.head.root.hex(), flush=True)
        print("PEER", host.peer_id, host.listen_addrs()[0], flush=True)
        await trio.sleep_forever()


class Reporting(StateProgress):
    """Prints the nodes fetched after each durable answer (the progress hook runs after the write)."""

    def update(self, walk: StateWalk, nodes: int, size: int, peers: int) -> None:
        super().update(walk, nodes, size, peers)
        print("WROTE", self.nodes, flush=True)


async def sync(directory: Path, root: bytes, addrs: list[str]) -> None:
    with LMDBStore(directory / "chain") as store:
        db = ChainDB(store)
        config = P2PConfig(key_path=directory / "client.key", port=0, bootnodes=tuple(addrs))
        async with open_host(config) as host:
            peers = [a.rsplit("/p2p/", 1)[1] for a in addrs]
            with trio.fail_after(60):
                while not all(host.is_connected(p) for p in peers):
                    await trio.sleep(0.1)
            download = StateDownload(db, StateClient(host), host.penalize, PROTOCOL, progress=Reporting())
            report = await download.run(root, peers)
            print("DONE", report.fetched, report.present, flush=True)


def main() -> None:
    mode, directory = sys.argv[1], Path(sys.argv[2])
    if mode == "serve":
        trio.run(serve, directory, int(sys.argv[3]), float(sys.argv[4]))
    else:
        trio.run(sync, directory, bytes.fromhex(sys.argv[3]), sys.argv[4:])


if __name__ == "__main__":
    main()
