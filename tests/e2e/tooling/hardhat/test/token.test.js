// A small Hardhat suite against the devnet: signers from the network config, contracts deployed from
// solc's artifacts, transfers with receipts, events and a revert, all through hardhat-ethers.
const fs = require("fs");
const { expect } = require("chai");
const { ethers } = require("hardhat");

const artifacts = JSON.parse(fs.readFileSync(process.env.TOKEN_ARTIFACTS, "utf8"));

describe("Token on the devnet", function () {
  let owner;
  let other;
  let token;

  before(async function () {
    [owner, other] = await ethers.getSigners();
    const factory = new ethers.ContractFactory(artifacts.Token.abi, artifacts.Token.bytecode, owner);
    token = await factory.deploy("Hardhat Token", "HHT", 1000n);
    await token.waitForDeployment();
  });

  it("knows the devnet's chain", async function () {
    const network = await ethers.provider.getNetwork();
    expect(network.chainId).to.equal(BigInt(process.env.DEVNET_CHAIN_ID));
    expect(await ethers.provider.getBlockNumber()).to.be.greaterThan(0);
  });

  it("gives the deployer the supply", async function () {
    expect(await token.totalSupply()).to.equal(1000n);
    expect(await token.balanceOf(owner.address)).to.equal(1000n);
  });

  it("transfers with a legacy transaction and logs the event", async function () {
    const tx = await token.transfer(other.address, 40n);
    expect(tx.type).to.equal(0);
    const receipt = await tx.wait();
    expect(receipt.status).to.equal(1);
    const parsed = receipt.logs.map((log) => token.interface.parseLog(log));
    expect(parsed[0].name).to.equal("Transfer");
    expect(parsed[0].args.value).to.equal(40n);
    expect(await token.balanceOf(other.address)).to.equal(40n);
  });

  it("reverts an overdraft with its reason", async function () {
    let reason = "";
    try {
      await token.connect(other).transfer(owner.address, 1000n);
    } catch (err) {
      reason = err.reason || err.message;
    }
    expect(reason).to.contain("balance too small");
  });
});
