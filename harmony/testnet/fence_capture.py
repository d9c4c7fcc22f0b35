"""The capture of what every node outside a fence received of the fenced shard, across a testnet run
(issue 21's goal: zero blocks, state or transactions of a fenced shard delivered to an unattested peer).

Every node but the fenced shard's validators is outside its fence: the other shards' nodes and the fenced
shard's full nodes. :class:`FenceCapture` scrapes each one's Prometheus metrics every
:data:`INTERVAL_S` seconds and at the end, and keeps per node and process start the last reading of what
carries the shard's data to it (and the same of the members, as the control that the capture sees the
shard's data where it does flow):

* gossip on the shard's topics (node and client): messages delivered to its subscribers
  (``hmy_p2p_topic_messages_received``) plus messages its own fence refused
  (``hmy_p2p_topic_messages_refused``): both arrived;
* successful answers on the shard's stream protocols (block sync, state sync, coded fetch):
  ``hmy_p2p_protocol_answer_bytes``; a refusal is an error answer and counts nothing;
* for a node of the fenced shard, its head (``hmy_chain_head_height``): any block it stored came from
  inside.

Counters restart with the process, so a node killed and restarted is summed over its starts. The
crosslinks and cross-shard receipts the design lets out travel on the global topic and are not counted.
Limit: the coded broadcast's pushed symbol streams are not counted (an outsider is never in a coded
round's peers: the fenced topic's peers are the admitted ones); the scenarios use gossip propagation.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from prometheus_client.parser import text_string_to_metric_families

from harmony.p2p.topics import client_topic, shard_topic, state_protocol_id, sync_protocol_id
from harmony.testnet.invariants import FenceReading

INTERVAL_S = 2.0
"""Seconds between scrapes of the outside nodes."""
TIMEOUT_S = 5.0
MAX_METRICS_BYTES = 4 * 1024 * 1024
"""A node's metrics page is read up to this size (a hostile or broken node cannot fill the runner)."""


@dataclass(frozen=True, slots=True)
class Carriers:
    """The topics and protocols that carry one fenced shard's data."""

    shard: int
    topics: frozenset[str]
    protocols: frozenset[str]

    @classmethod
    def of(cls, network: str, shard: int) -> Carriers:
        """Shard ``shard``'s gossip topics and stream protocols on ``network``."""
        from harmony.p2p.coded_broadcast import coded_protocol_id  # noqa: PLC0415 - loads libp2p

        coded = coded_protocol_id(network, shard)
        return cls(
            shard,
            frozenset({shard_topic(network, shard), client_topic(network, shard)}),
            frozenset(
                {
                    sync_protocol_id(network, shard),
                    state_protocol_id(network, shard),
                    coded,
                    coded + "/fetch",
                }
            ),
        )


def parse_reading(text: str, carriers: Carriers, own_shard: int) -> FenceReading:
    """What one metrics page says reached its node of ``carriers``' shard (module docstring)."""
    messages = answer_bytes = blocks = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (
                "hmy_p2p_topic_messages_received_total",
                "hmy_p2p_topic_messages_refused_total",
            ):
                if sample.labels.get("topic") in carriers.topics:
                    messages += int(sample.value)
            elif sample.name == "hmy_p2p_protocol_answer_bytes_total":
                if sample.labels.get("protocol") in carriers.protocols:
                    answer_bytes += int(sample.value)
            elif sample.name == "hmy_chain_head_height" and own_shard == carriers.shard:
                blocks = int(sample.value)
    return FenceReading(messages=messages, answer_bytes=answer_bytes, blocks=blocks, readings=1)


@dataclass(frozen=True, slots=True)
class Watched:
    """One node the capture reads, as it reaches it."""

    name: str
    shard: int
    metrics_url: str
    outside: frozenset[int]
    """The fenced shards whose fence it is outside (what reaches it of them is a leak)."""
    inside: frozenset[int] = frozenset()
    """The fenced shards whose fence it is inside (the control: the capture sees their data flow)."""


class FenceCapture:
    """Scrapes the watched nodes in a background thread (:meth:`start`, :meth:`stop`); :meth:`totals` sums
    each node's last reading per process start."""

    def __init__(
        self, carriers: Sequence[Carriers], watched: Callable[[], list[tuple[Watched, int]]]
    ) -> None:
        """``watched()`` lists the running nodes to read with their process start number."""
        self.carriers = tuple(carriers)
        self.watched = watched
        self.last: dict[tuple[str, int, int, bool], FenceReading] = {}
        """(node, fenced shard, start, inside) → the last reading."""
        self.failures: dict[str, int] = {}
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="testnet-fence-capture", daemon=True)

    def start(self) -> None:
        """Begin scraping."""
        self.thread.start()

    def stop(self) -> None:
        """End the thread, then scrape once more."""
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(TIMEOUT_S * 4)
        self.scrape()

    def _run(self) -> None:
        while not self.stop_event.wait(INTERVAL_S):
            self.scrape()

    def scrape(self) -> None:
        """Read every running watched node's metrics once."""
        for node, start in self.watched():
            try:
                with urllib.request.urlopen(node.metrics_url, timeout=TIMEOUT_S) as response:
                    text = response.read(MAX_METRICS_BYTES).decode("utf-8", errors="replace")
                readings = [
                    (c.shard, c.shard in node.inside, parse_reading(text, c, node.shard))
                    for c in self.carriers
                    if c.shard in node.outside | node.inside
                ]
            except (OSError, ValueError):
                with self.lock:
                    self.failures[node.name] = self.failures.get(node.name, 0) + 1
                continue
            with self.lock:
                for shard, inside, reading in readings:
                    key = (node.name, shard, start, inside)
                    earlier = self.last.get(key)
                    count = reading.readings + (earlier.readings if earlier else 0)
                    self.last[key] = replace(reading, readings=count)

    def totals(self, *, inside: bool = False) -> dict[str, FenceReading]:
        """Per node outside a fence (``inside``: per member), what reached it of the fenced shards, summed
        over its starts."""
        out: dict[str, FenceReading] = {}
        with self.lock:
            for (name, _shard, _start, member), r in sorted(self.last.items()):
                if member != inside:
                    continue
                got = out.get(name, FenceReading())
                out[name] = FenceReading(
                    got.messages + r.messages,
                    got.answer_bytes + r.answer_bytes,
                    got.blocks + r.blocks,
                    got.readings + r.readings,
                )
        return out


__all__ = ["INTERVAL_S", "Carriers", "FenceCapture", "Watched", "parse_reading"]
