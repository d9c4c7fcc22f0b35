// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

/// An "accredited investor" gate (docs/zk.md): admits the sender when a trusted issuer signed a Pedersen
/// commitment to the sender's value and a Bulletproofs range proof shows that value is at least THRESHOLD.
/// The value itself never reaches the chain. The proof is checked by the node's precompile at 0xf8.
contract AccreditedGate {
    address public immutable issuer;
    uint256 public immutable threshold;
    mapping(address => bool) public accredited;

    event Accredited(address indexed holder, bytes32 commitmentHash);

    address private constant RANGE_PROOF_PRECOMPILE = address(uint160(0xf8));

    constructor(address issuer_, uint256 threshold_) {
        issuer = issuer_;
        threshold = threshold_;
    }

    /// The issuer's signature over (sender, commitment) and a proof that the committed value >= threshold.
    function enter(bytes calldata commitment, uint8 v, bytes32 r, bytes32 s, bytes calldata proof) external {
        require(commitment.length == 33, "commitment must be 33 bytes");
        bytes32 digest = keccak256(abi.encodePacked("harmony-zk-attestation-v1", msg.sender, commitment));
        address signer = ecrecover(digest, v, r, s);
        require(signer != address(0) && signer == issuer, "not attested by the issuer");
        (bool ok, bytes memory out) =
            RANGE_PROOF_PRECOMPILE.staticcall(abi.encodePacked(commitment, threshold, proof));
        require(ok && out.length == 32 && abi.decode(out, (uint256)) == 1, "range proof rejected");
        accredited[msg.sender] = true;
        emit Accredited(msg.sender, keccak256(commitment));
    }
}
