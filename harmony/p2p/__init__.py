"""Layer 8: the node's networking on py-libp2p (harmony-reference.md §8, design.md §2).

* :mod:`~harmony.p2p.errors`: the typed errors every p2p call raises (:class:`~harmony.p2p.errors.P2PError`);
* :mod:`~harmony.p2p.keys`: the persistent peer identity;
* :mod:`~harmony.p2p.topics`: gossip topics and stream protocol IDs;
* :mod:`~harmony.p2p.host`: the host (GossipSub, request/response, scoring) and :func:`open_host`;
* :mod:`~harmony.p2p.discovery`: bootnodes and Kademlia discovery;
* :mod:`~harmony.p2p.sync_protocol`: the block sync wire protocol;
* :mod:`~harmony.p2p.coding`, :mod:`~harmony.p2p.merkle`, :mod:`~harmony.p2p.coded_assembly`,
  :mod:`~harmony.p2p.coded_broadcast`: erasure-coded (RaptorQ) two-level block propagation.
"""
