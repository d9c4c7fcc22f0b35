"""Layer 1: RLP and its schemas, tagged RLP, bech32 addresses, 18-decimal fixed point. No IO."""
