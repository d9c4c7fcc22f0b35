"""Layer 2: keccak, secp256k1, BLS (with bitmaps and proofs of possession), VRF, VDF, keystores."""
