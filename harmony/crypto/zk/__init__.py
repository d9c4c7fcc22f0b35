"""Zero-knowledge range proofs over secp256k1: Pedersen commitments and Bulletproofs (Bünz et al. 2018).

Modules: ``group`` (strict point and scalar encodings, sums of scalar multiples, over coincurve),
``generators`` (the documented hash-to-curve generators), ``pedersen`` (commitments), ``transcript``
(Fiat-Shamir), ``inner_product`` (the logarithmic inner-product argument), ``range_proof`` (aggregated
64-bit range proofs and "committed value ≥ X"), ``attestation`` (an issuer's signature over a commitment).
"""
