"""Layer 9: the node's wiring — the chain a shard runs (import, proposal), later p2p, consensus and pool."""
