"""Log filters of ``eth_getLogs`` and the ``logs`` subscription (Ethereum JSON-RPC filter object).

A filter is an address set (empty: any) and up to four topic positions, each ``None`` (any) or a set of
accepted values. A block is skipped when its header bloom cannot contain a match, so a range query
only reads the receipts of candidate blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony.rpc.errors import InvalidParams
from harmony.rpc.params import BlockRef, address, block_ref, hash32
from harmony.types.receipt import Log, bloom_contains

MAX_FILTER_ADDRESSES = 1000
MAX_TOPIC_POSITIONS = 4
MAX_TOPIC_ALTERNATIVES = 1000


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which logs match: an address set (empty = any) and per-position topic sets (``None`` = any)."""

    addresses: frozenset[bytes] = frozenset()
    topics: tuple[frozenset[bytes] | None, ...] = ()

    def matches(self, log: Log) -> bool:
        """Whether ``log`` passes the address and topic conditions."""
        if self.addresses and log.address not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):
            return False
        return all(
            wanted is None or topic in wanted for wanted, topic in zip(self.topics, log.topics, strict=False)
        )

    def bloom_may_match(self, bloom: bytes) -> bool:
        """Whether a block or receipt with ``bloom`` may hold a matching log (no false negatives)."""
        if self.addresses and not any(bloom_contains(bloom, a) for a in self.addresses):
            return False
        for wanted in self.topics:
            if wanted is not None and not any(bloom_contains(bloom, t) for t in wanted):
                return False
        return True


@dataclass(frozen=True, slots=True)
class FilterQuery:
    """A parsed filter object: the matching rule and the blocks to search."""

    log_filter: LogFilter
    from_block: BlockRef
    to_block: BlockRef
    block_hash: bytes | None = None


def parse_log_filter(value: dict[str, object], name: str) -> LogFilter:
    """The ``address`` and ``topics`` members of a filter object."""
    raw_address = value.get("address")
    addresses: set[bytes] = set()
    if isinstance(raw_address, list):
        if len(raw_address) > MAX_FILTER_ADDRESSES:
            raise InvalidParams(
                f"invalid argument {name}.address: more than {MAX_FILTER_ADDRESSES} addresses"
            )
        addresses = {address(a, f"{name}.address[{i}]") for i, a in enumerate(raw_address)}
    elif raw_address is not None:
        addresses = {address(raw_address, f"{name}.address")}
    raw_topics = value.get("topics")
    topics: list[frozenset[bytes] | None] = []
    if raw_topics is not None:
        if not isinstance(raw_topics, list) or len(raw_topics) > MAX_TOPIC_POSITIONS:
            raise InvalidParams(f"invalid argument {name}.topics: expected a list of at most 4 positions")
        for i, position in enumerate(raw_topics):
            where = f"{name}.topics[{i}]"
            if position is None:
                topics.append(None)
            elif isinstance(position, list):
                if len(position) > MAX_TOPIC_ALTERNATIVES:
                    raise InvalidParams(
                        f"invalid argument {where}: more than {MAX_TOPIC_ALTERNATIVES} topics"
                    )
                if not position:
                    topics.append(None)
                else:
                    topics.append(frozenset(hash32(t, f"{where}[{j}]") for j, t in enumerate(position)))
            else:
                topics.append(frozenset({hash32(position, where)}))
    while topics and topics[-1] is None:
        topics.pop()
    return LogFilter(frozenset(addresses), tuple(topics))


def parse_filter_query(value: object, name: str) -> FilterQuery:
    """An ``eth_getLogs`` filter: ``fromBlock``/``toBlock`` or ``blockHash``, ``address``, ``topics``."""
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid argument {name}: expected a filter object")
    unknown = [k for k in value if k not in ("fromBlock", "toBlock", "blockHash", "address", "topics")]
    if unknown:
        raise InvalidParams(f"invalid argument {name}: unknown field {str(unknown[0])[:40]!r}")
    log_filter = parse_log_filter(value, name)
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise InvalidParams(f"invalid argument {name}: blockHash excludes fromBlock and toBlock")
        block_hash = hash32(value["blockHash"], f"{name}.blockHash")
        return FilterQuery(log_filter, block_hash, block_hash, block_hash)
    from_raw = value.get("fromBlock")
    to_raw = value.get("toBlock")
    from_block = "latest" if from_raw is None else block_ref(from_raw, f"{name}.fromBlock")
    to_block = "latest" if to_raw is None else block_ref(to_raw, f"{name}.toBlock")
    return FilterQuery(log_filter, from_block, to_block)
