// Hardhat pointed at a running devnet: `npx hardhat test --network devnet`. The pytest harness copies this
// project next to .tools/node_modules and sets DEVNET_URL, DEVNET_CHAIN_ID, DEVNET_KEYS (a JSON array of
// private keys) and TOKEN_ARTIFACTS (solc's ABI and bytecode, compiled by the harness).
require("@nomicfoundation/hardhat-ethers");

module.exports = {
  networks: {
    devnet: {
      url: process.env.DEVNET_URL || "http://127.0.0.1:9500",
      chainId: Number(process.env.DEVNET_CHAIN_ID || 1666700000),
      accounts: JSON.parse(process.env.DEVNET_KEYS || "[]"),
      timeout: 120000,
    },
  },
  mocha: { timeout: 180000 },
};
