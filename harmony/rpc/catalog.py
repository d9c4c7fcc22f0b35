"""Every JSON-RPC method Harmony's Go node registers, and whether this node serves it (reference §9.1, §9.2).

:data:`HARMONY_SERVICES` lists Harmony's Go services (``rpc/harmony/*.go`` at harmony-one/harmony commit
dc52025a8a1fb08539a9024f1c062859ca03a317) with the namespaces each is registered under; a Go method
``GetFoo`` is ``<namespace>_getFoo``. :func:`rows` compares them with the dispatcher's table, and
:func:`render_markdown` writes ``docs/rpc-methods.md``::

    python -m harmony.rpc.catalog > docs/rpc-methods.md

A method Harmony registers that this node does not serve must have a reason in :data:`NOT_SERVED` (a unit
test checks it, and that the document is current).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from harmony.rpc.context import MethodTable
from harmony.rpc.dispatch import build_method_table


@dataclass(frozen=True, slots=True)
class Service:
    """One Go service: where it is defined, the namespaces it is registered under, its methods."""

    title: str
    source: str
    namespaces: tuple[str, ...]
    methods: Sequence[str]


_HMY3 = ("hmy", "hmyv2", "eth")
_HMY2 = ("hmy", "hmyv2")

HARMONY_SERVICES: tuple[Service, ...] = (
    Service(
        "Network and node",
        "harmony.go",
        _HMY3,
        [
            "ProtocolVersion",
            "Syncing",
            "GasPrice",
            "GetNodeMetadata",
            "GetPeerInfo",
            "GetNumPendingCrossLinks",
            "GetLastSigningPower",
        ],
    ),
    Service(
        "Blockchain",
        "blockchain.go",
        _HMY3,
        [
            "ChainId",
            "Accounts",
            "BlockNumber",
            "GetBlockByNumber",
            "GetBlockByHash",
            "GetBlockByNumberNew",
            "GetBlockByHashNew",
            "GetBlocks",
            "IsLastBlock",
            "EpochLastBlock",
            "GetBlockSigners",
            "GetBlockSignerKeys",
            "GetBlockReceipts",
            "IsBlockSigner",
            "GetSignedBlocks",
            "GetEpoch",
            "GetLeader",
            "GetShardingStructure",
            "GetShardID",
            "GetBalanceByBlockNumber",
            "LatestHeader",
            "GetLatestChainHeaders",
            "GetLastCrossLinks",
            "GetHeaderByNumber",
            "GetProof",
            "GetHeaderByNumberRLPHex",
            "GetCurrentUtilityMetrics",
            "GetSuperCommittees",
            "GetCurrentBadBlocks",
            "GetTotalSupply",
            "GetCirculatingSupply",
            "GetStakingNetworkInfo",
            "InSync",
            "BeaconInSync",
            "GetFullHeader",
            "SetNodeToBackupMode",
        ],
    ),
    Service("Account (legacy)", "v1/legacy.go, v2/legacy.go, eth/rpc.go", _HMY3, ("GetBalance",)),
    Service("Contract", "contract.go", _HMY3, ("Call", "GetCode", "GetStorageAt")),
    Service(
        "Transaction",
        "transaction.go",
        _HMY3,
        [
            "GetAccountNonce",
            "GetTransactionCount",
            "GetTransactionsCount",
            "GetStakingTransactionsCount",
            "EstimateGas",
            "GetTransactionByHash",
            "GetStakingTransactionByHash",
            "GetTransactionsHistory",
            "GetStakingTransactionsHistory",
            "GetBlockTransactionCountByNumber",
            "GetBlockTransactionCountByHash",
            "GetTransactionByBlockNumberAndIndex",
            "GetTransactionByBlockHashAndIndex",
            "GetBlockStakingTransactionCountByNumber",
            "GetBlockStakingTransactionCountByHash",
            "GetStakingTransactionByBlockNumberAndIndex",
            "GetStakingTransactionByBlockHashAndIndex",
            "GetTransactionReceipt",
            "GetCXReceiptByHash",
            "ResendCx",
        ],
    ),
    Service(
        "Pool",
        "pool.go",
        _HMY3,
        [
            "SendRawTransaction",
            "SendRawStakingTransaction",
            "GetPoolStats",
            "PendingTransactions",
            "PendingStakingTransactions",
            "GetCurrentTransactionErrorSink",
            "GetCurrentStakingErrorSink",
            "GetPendingCXReceipts",
            "GetNumPendingCXReceipts",
        ],
    ),
    Service(
        "Staking",
        "staking.go",
        _HMY2,
        [
            "GetTotalStaking",
            "GetMedianRawStakeSnapshot",
            "GetElectedValidatorAddresses",
            "GetValidators",
            "GetAllValidatorAddresses",
            "GetValidatorKeys",
            "GetAllValidatorInformation",
            "GetAllValidatorInformationByBlockNumber",
            "GetValidatorInformation",
            "GetValidatorInformationByBlockNumber",
            "GetValidatorsStakeByBlockNumber",
            "GetValidatorSelfDelegation",
            "GetValidatorTotalDelegation",
            "GetAllDelegationInformation",
            "GetDelegationsByDelegator",
            "GetDelegationsByDelegatorByBlockNumber",
            "GetDelegationsByValidator",
            "GetDelegationByDelegatorAndValidator",
            "GetAvailableRedelegationBalance",
        ],
    ),
    Service(
        "Filters",
        "filters/api.go",
        ("hmy", "eth"),
        [
            "NewPendingTransactionFilter",
            "NewBlockFilter",
            "GetFilterChanges",
            "NewFilter",
            "GetLogs",
            "UninstallFilter",
            "GetFilterLogs",
            "SyncNewFilterFromOtherReaders",
        ],
    ),
    Service("Net", "net.go", ("net", "netv1", "netv2"), ("PeerCount", "Version", "Listening")),
    Service("Web3", "web3.go", ("web3",), ("ClientVersion",)),
    Service(
        "Tracing (auth port)",
        "tracer.go",
        ("debug", "trace"),
        [
            "TraceChain",
            "TraceBlockByNumber",
            "TraceBlockByHash",
            "TraceBlock",
            "TraceTransaction",
            "TraceCall",
        ],
    ),
    Service(
        "Debug (with --rpc.debug)",
        "public_debug.go, private_debug.go",
        _HMY2,
        [
            "SetLogVerbosity",
            "ConsensusViewChangingID",
            "ConsensusCurViewID",
            "GetConsensusMode",
            "GetConsensusPhase",
            "GetConfig",
        ],
    ),
    Service("Preimages (auth port, when enabled)", "preimages.go", ("preimages",), ("Export", "Verify")),
)
"""Harmony's Go services in registration order (``rpc/harmony/rpc.go`` ``getAPIs``/``getAuthAPIs``,
``node/harmony/api.go`` for the filter, net and web3 services)."""

_NO_HMY_ETH = "a Harmony-specific method: served under hmy_ and hmyv2_"

NOT_SERVED: dict[str, str] = {
    "GetBlockByNumberNew": "deprecated in Harmony (same as getBlockByNumber with options)",
    "GetBlockByHashNew": "deprecated in Harmony (same as getBlockByHash with options)",
    "SetNodeToBackupMode": "an operator command, not a query: the node has no backup mode",
    "GetCurrentUtilityMetrics": "Harmony's pre-staking utility metrics (accumulator, adjustment) have no "
    "counterpart: our rewards follow the staking-era table from genesis",
    "GetCurrentBadBlocks": "invalid blocks are refused and not kept, so there is no list to return",
    "SyncNewFilterFromOtherReaders": "Harmony's internal hook between reader nodes, not a client method",
    "GetValidatorsStakeByBlockNumber": "not implemented yet: getAllValidatorInformationByBlockNumber "
    "carries each validator's stake",
    "TraceChain": "not implemented: traces of whole ranges are unbounded work",
    "TraceBlock": "a block given as RLP is not in the chain, so it has no parent state to replay from: "
    "trace a stored block with debug_traceBlockByNumber or debug_traceBlockByHash",
    "TraceCall@trace": "the Parity-style trace_ namespace is not served: use debug_traceCall",
    "TraceTransaction@trace": "the Parity-style trace_ namespace is not served: use debug_traceTransaction",
    "TraceBlockByNumber@trace": "the Parity-style trace_ namespace is not served: use "
    "debug_traceBlockByNumber",
    "TraceBlockByHash@trace": "the Parity-style trace_ namespace is not served: use debug_traceBlockByHash",
    "SetLogVerbosity": "an operator command: set the log level in the node's configuration",
    "ConsensusViewChangingID": "consensus internals: see getNodeMetadata's consensus member",
    "ConsensusCurViewID": "consensus internals: see getNodeMetadata's consensus member",
    "GetConsensusMode": "consensus internals: see getNodeMetadata's consensus member",
    "GetConsensusPhase": "consensus internals: see getNodeMetadata's consensus member",
    "GetConfig": "the node's configuration is its node.toml; not exposed over RPC",
    "Export": "no preimage store",
    "Verify": "no preimage store",
    "GetBalanceByBlockNumber@eth": "not an Ethereum method: eth_getBalance takes a block",
    "GetStakingTransactionsCount@eth": _NO_HMY_ETH,
}
"""Why a Harmony method is not served: by Go method name, or ``Name@namespace`` for one namespace."""


def rpc_name(namespace: str, go_method: str) -> str:
    """Go's JSON-RPC name: the namespace, an underscore and the method name with its first letter lowered."""
    return f"{namespace}_{go_method[0].lower()}{go_method[1:]}"


@dataclass(frozen=True, slots=True)
class Row:
    """One method of the table."""

    name: str
    served: bool
    note: str


def _reason(namespace: str, go_method: str, table: MethodTable) -> str:
    specific = NOT_SERVED.get(f"{go_method}@{namespace}")
    if specific is not None:
        return specific
    if go_method in NOT_SERVED:
        return NOT_SERVED[go_method]
    if namespace == "eth" and rpc_name("hmy", go_method) in table:
        return _NO_HMY_ETH
    return ""


def rows(service: Service, table: MethodTable) -> list[Row]:
    """The table rows of one Go service: each method in each of its namespaces."""
    out = []
    for go_method in service.methods:
        for namespace in service.namespaces:
            name = rpc_name(namespace, go_method)
            served = name in table
            out.append(Row(name, served, "" if served else _reason(namespace, go_method, table)))
    return out


def harmony_names() -> frozenset[str]:
    """Every method name Harmony's Go node registers."""
    return frozenset(
        rpc_name(ns, m) for service in HARMONY_SERVICES for m in service.methods for ns in service.namespaces
    )


EXTRA_NOTES: dict[str, str] = {
    "eth_feeHistory": "legacy-priced chain: base fee 0, so wallets fall back to gasPrice",
    "eth_maxPriorityFeePerGas": "legacy-priced chain: 0, so wallets fall back to gasPrice",
    "eth_getBlockReceipts": "geth's method; Harmony registers it under eth_ too (blockchain.go)",
    **{
        f"{prefix}_{name}": note
        for prefix in ("hmy", "hmyv2")
        for name, note in (
            ("getFences", "country fences from the genesis (docs/design/fenced-shards.md)"),
            ("getAttestations", "a validator's fence attestations on the beacon chain"),
            ("getFenceStatus", "attested seats per fenced shard, and why a fence was short"),
        )
    },
}


def render_markdown(table: MethodTable | None = None) -> str:
    """``docs/rpc-methods.md``: counts, then one table per Go service, then the methods only we serve."""
    table = build_method_table() if table is None else table
    all_rows = [(service, rows(service, table)) for service in HARMONY_SERVICES]
    total = sum(len(r) for _, r in all_rows)
    served = sum(1 for _, r in all_rows for row in r if row.served)
    extras = sorted(set(table) - harmony_names())
    lines = [
        "# JSON-RPC methods",
        "",
        "Generated by `python -m harmony.rpc.catalog > docs/rpc-methods.md` from `harmony/rpc/catalog.py`",
        "(Harmony's Go services at harmony-one/harmony commit dc52025) and the node's method table; a",
        "unit test keeps it current. `hmy_` answers hex quantities, `hmyv2_` plain numbers, `eth_`",
        "Ethereum's shapes.",
        "",
        f"**{served} of the {total} methods Harmony's node registers are served; "
        f"{total - served} are not (each with its reason); {len(extras)} more are served that Harmony does "
        f"not register.** Over WebSocket, `eth_subscribe`/`eth_unsubscribe` also serve `newHeads`, "
        "`logs` and `newPendingTransactions`.",
        "",
    ]
    for service, service_rows in all_rows:
        count = sum(1 for row in service_rows if row.served)
        lines += _table(
            f"{service.title} ({count}/{len(service_rows)} served; Go `{service.source}`)",
            ("method", "served", "why not"),
            [(f"`{r.name}`", "yes" if r.served else "no", r.note) for r in service_rows],
        )
    lines += _table(
        f"Served here, not registered by Harmony ({len(extras)})",
        ("method", "note"),
        [(f"`{name}`", EXTRA_NOTES.get(name, "")) for name in extras],
    )
    return "\n".join(lines).rstrip("\n") + "\n"


def _table(heading: str, columns: tuple[str, ...], cells: list[tuple[str, ...]]) -> list[str]:
    """A Markdown section: heading, table header, one row per cell tuple, a blank line."""
    lines = [f"## {heading}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return [*lines, ""]


def main() -> None:
    """Print :func:`render_markdown`."""
    sys.stdout.write(render_markdown())


if __name__ == "__main__":
    main()
