// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

/// A counter that logs each increment: deployed and called through web3.py by the devnet tests.
contract Counter {
    uint256 public count;
    event Incremented(address indexed by, uint256 amount, uint256 total);

    function increment(uint256 amount) external {
        require(amount > 0, "amount must be positive");
        count += amount;
        emit Incremented(msg.sender, amount, count);
    }
}
