"""The testnet's transaction load: transfers inside a shard, across shards, and calls to a counter contract,
signed here and sent over JSON-RPC to a live node of the source shard, at the manifest's rate.

Like a wallet, the generator re-sends (the same signed bytes, so the same hash) every transaction that is not
final yet to another live node every few seconds, since a node that accepted it may be killed before it
gossiped it. What the invariants later check is kept here: every accepted transaction, the value each
recipient is owed on each shard, and how many counter calls were sent.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harmony.chain.genesis import dev_account_key
from harmony.chain.params import LOCALNET
from harmony.cli.devnet import rpc_call
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding.address import to_bech32
from harmony.state.account import contract_address
from harmony.testnet.manifest import Load
from harmony.types.transaction import Transaction

GWEI = 10**9
GAS_PRICE = GWEI
TRANSFER_GAS = 21_000
CALL_GAS = 60_000
DEPLOY_GAS = 200_000
SENDERS = 4
"""Development accounts the load sends from (each funded on every shard by the localnet genesis)."""
RECIPIENTS = 16
RESEND_S = 4.0
DEPLOY_WAIT_S = 30.0
"""How long the load waits for its counter contracts to be final before it starts."""

COUNTER_RUNTIME = bytes.fromhex("600054600101600055" + "00")
"""``slot0 += 1`` on every call: PUSH1 0 SLOAD PUSH1 1 ADD PUSH1 0 SSTORE STOP."""
COUNTER_INIT = bytes.fromhex("600a600c600039600a6000f3") + COUNTER_RUNTIME
"""Returns :data:`COUNTER_RUNTIME` (CODECOPY of the 10 bytes after this 12-byte prefix)."""

Endpoints = Callable[[int], list[str]]
"""The HTTP URLs of the live nodes of a shard (the runner knows which are down)."""


@dataclass(slots=True)
class SentTx:
    """One signed load transaction and what became of it."""

    hash: str
    raw: str
    kind: str
    """``transfer``, ``cross``, ``call`` or ``deploy``."""
    shard: int
    to_shard: int
    to: bytes
    value: int
    created: float
    accepted: bool = False
    final: bool = False
    """A node returned its receipt."""
    refusals: list[str] = field(default_factory=list)
    last_sent: float = 0.0


def recipient(seed: int, index: int) -> bytes:
    """The ``index``-th fresh recipient address of the load drawn from ``seed`` (no other funds reach it)."""
    return PrivateKey(keccak256(f"harmony-testnet-recipient-{seed}-{index}".encode())).address


class LoadGenerator:
    """Sends the load; thread-safe record of what it sent."""

    def __init__(
        self, load: Load, shards: int, endpoints: Endpoints, seed: int, *, chain_id: int = LOCALNET.chain_id
    ) -> None:
        self.load = load
        self.chain_id = chain_id
        """The Harmony chain ID the load's transactions sign with (the network's)."""
        self.shards = shards
        self.endpoints = endpoints
        self.rng = random.Random(seed)
        self.seed = seed
        self.senders = [dev_account_key(i) for i in range(SENDERS)]
        self.recipients = [recipient(seed, i) for i in range(RECIPIENTS)]
        self.nonces: dict[tuple[int, int], int] = {}
        self.sent: list[SentTx] = []
        self.contracts: dict[int, bytes] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def watched(self) -> list[bytes]:
        """The load's closed set of accounts: its senders and recipients."""
        return [k.address for k in self.senders] + self.recipients

    # ------------------------------------------------------------------------------------------- sending

    def _next_nonce(self, sender: int, shard: int) -> int:
        key = (sender, shard)
        if key not in self.nonces:
            url = self._any(shard)
            address = to_bech32(self.senders[sender].address)
            self.nonces[key] = int(rpc_call(url, "hmyv2_getTransactionCount", [address, "latest"], 10.0))
        nonce = self.nonces[key]
        self.nonces[key] = nonce + 1
        return nonce

    def _any(self, shard: int) -> str:
        urls = self.endpoints(shard)
        if not urls:
            raise OSError(f"no live node on shard {shard}")
        return self.rng.choice(urls)

    def _make(
        self,
        kind: str,
        *,
        sender: int,
        shard: int,
        to_shard: int,
        to: bytes | None,
        value: int,
        data: bytes,
        gas: int,
        nonce: int | None = None,
    ) -> SentTx:
        key = self.senders[sender]
        if nonce is None:
            nonce = self._next_nonce(sender, shard)
        tx = Transaction(nonce, GAS_PRICE, gas, shard, to_shard, to, value, data).sign(key, self.chain_id)
        raw = "0x" + tx.encode().hex()
        sent = SentTx("0x" + tx.hash().hex(), raw, kind, shard, to_shard, to or b"", value, time.monotonic())
        with self.lock:
            self.sent.append(sent)
        self._send(sent)
        return sent

    def _send(self, sent: SentTx) -> None:
        """Offer ``sent`` to a live node of its shard (another one on each try)."""
        sent.last_sent = time.monotonic()
        urls = self.endpoints(sent.shard)
        self.rng.shuffle(urls)
        for url in urls[:3]:
            try:
                rpc_call(url, "hmyv2_sendRawTransaction", [sent.raw], 5.0)
                sent.accepted = True
                return
            except ValueError as exc:  # a JSON-RPC refusal: already known counts as accepted
                text = str(exc)
                if "known" in text or "already" in text:
                    sent.accepted = True
                    return
                sent.refusals.append(text[:200])
            except OSError:
                continue

    def deploy_contracts(self, timeout: float = DEPLOY_WAIT_S) -> list[int]:
        """One counter contract per shard, from sender 0, final before the load starts; the shards whose
        deployment was not final within ``timeout`` (their calls are then left out of the load).

        The load calls a contract only once its deployment is final: calls come from every sender, so one
        sent earlier could be included before the deployment, find no code at the address, succeed without
        counting and make the counter check report a lost call that was never made to the contract.
        """
        deploys = {}
        for shard in range(self.shards):
            nonce = self._next_nonce(0, shard)
            address = contract_address(self.senders[0].address, nonce)
            deploys[shard] = (
                address,
                self._make(
                    "deploy",
                    sender=0,
                    shard=shard,
                    to_shard=shard,
                    to=None,
                    value=0,
                    data=COUNTER_INIT,
                    gas=DEPLOY_GAS,
                    nonce=nonce,
                ),
            )
        deadline = time.monotonic() + timeout
        while True:
            open_ = [s for s, (_, sent) in deploys.items() if not (sent.final or self._is_final(sent))]
            if not open_ or time.monotonic() > deadline:
                break
            for shard in open_:
                if time.monotonic() - deploys[shard][1].last_sent > RESEND_S:
                    self._send(deploys[shard][1])
            time.sleep(0.5)
        for shard, (address, _) in deploys.items():
            if shard not in open_:
                self.contracts[shard] = address
        return open_

    def one(self) -> SentTx:
        """Send one transaction of the load's mix."""
        roll = self.rng.randrange(100)
        shard = self.rng.randrange(self.shards)
        sender = self.rng.randrange(SENDERS)
        if roll < self.load.contract_percent and shard in self.contracts:
            return self._make(
                "call",
                sender=sender,
                shard=shard,
                to_shard=shard,
                to=self.contracts[shard],
                value=0,
                data=b"",
                gas=CALL_GAS,
            )
        to_shard = shard
        kind = "transfer"
        if self.shards > 1 and roll < self.load.contract_percent + self.load.cross_shard_percent:
            to_shard = (shard + 1 + self.rng.randrange(self.shards - 1)) % self.shards
            kind = "cross"
        to = self.rng.choice(self.recipients)
        value = (1 + self.rng.randrange(1000)) * GWEI
        return self._make(
            kind,
            sender=sender,
            shard=shard,
            to_shard=to_shard,
            to=to,
            value=value,
            data=b"",
            gas=TRANSFER_GAS,
        )

    def run(self, until: float) -> None:
        """Send at the manifest's rate until ``until`` (monotonic) or :attr:`stop`; re-send the pending."""
        rate = self.load.tx_per_s
        interval = 1.0 / rate if rate else 1.0
        next_at = time.monotonic()
        while not self.stop.is_set() and time.monotonic() < until:
            if rate:
                with contextlib.suppress(
                    OSError
                ):  # no node of that shard answers: the next draw may pick another
                    self.one()
            self.resend_pending()
            next_at += interval
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def resend_pending(self) -> None:
        """Re-offer every transaction not yet known final and last offered more than :data:`RESEND_S` ago."""
        now = time.monotonic()
        with self.lock:
            pending = [s for s in self.sent if not s.final and now - s.last_sent > RESEND_S]
        for sent in pending[:20]:
            if self._is_final(sent):
                continue
            self._send(sent)

    def _is_final(self, sent: SentTx) -> bool:
        for url in self.endpoints(sent.shard)[:1]:
            try:
                if rpc_call(url, "hmyv2_getTransactionReceipt", [sent.hash], 5.0):
                    sent.final = True
                    return True
            except (OSError, ValueError):
                return False
        return False

    def settle(self, timeout: float) -> int:
        """Keep re-sending until every accepted transaction has a receipt or ``timeout`` passes; how many
        are still without one."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                open_ = [s for s in self.sent if not s.final]
            open_ = [s for s in open_ if not self._is_final(s)]
            if not open_ or time.monotonic() > deadline:
                return len(open_)
            for sent in open_[:20]:
                if time.monotonic() - sent.last_sent > RESEND_S:
                    self._send(sent)
            time.sleep(1.0)

    # --------------------------------------------------------------------------------------- expectations

    def owed(self) -> dict[tuple[bytes, int], int]:
        """Atto each recipient should hold on each shard once every accepted transfer is credited."""
        out: dict[tuple[bytes, int], int] = {}
        for sent in self.sent:
            if sent.kind in ("transfer", "cross") and sent.accepted:
                key = (sent.to, sent.to_shard)
                out[key] = out.get(key, 0) + sent.value
        return out
