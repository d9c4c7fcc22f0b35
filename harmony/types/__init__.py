"""Layer 3: frozen dataclasses for every protocol value, with RLP encode/decode, hashes and senders."""
