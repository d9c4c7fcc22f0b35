"""JSON-RPC over HTTP and WebSocket (layer 10, reference §9): eth_, hmy_ (V1) and hmyv2_ (V2) methods."""
