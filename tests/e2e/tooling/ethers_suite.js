// The ethers.js v6 suite against a running devnet: fee data falls back to legacy pricing, a native
// transfer, an ERC-20 and an ERC-721 (compiled by solc) deployed, transferred, their events read through
// queryFilter and a live WebSocket subscription, receipts awaited, a revert reason decoded, and an
// EIP-1559 transaction refused with the legacy-only error; a mined transfer's debug_traceTransaction equals
// debug_traceCall of the same call at its parent block.
// Usage: node ethers_suite.js CONFIG.json, where CONFIG holds {http, ws, chainId, keys, harmonyTestKey,
// artifacts}.
// Prints one line per check and, last, one JSON object; exits non-zero when a check fails.
"use strict";
const fs = require("fs");
const path = require("path");
const assert = require("assert");
const { ethers } = require(path.join(__dirname, "..", "..", "..", ".tools", "node_modules", "ethers"));

const TIMEOUT_MS = 90_000;
const checks = [];

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function check(name, body) {
  await withTimeout(body(), name);
  checks.push(name);
  console.log(`ok  ${name}`);
}

async function mined(txPromise) {
  const tx = await txPromise;
  assert.strictEqual(tx.type, 0, "ethers must have chosen a legacy transaction");
  const receipt = await tx.wait(1, TIMEOUT_MS);
  assert.strictEqual(receipt.status, 1);
  return receipt;
}

async function main() {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  // cacheTimeout -1: ethers answers a request identical to one made in the last 250 ms from its cache, so a
  // balance read again right after a transfer mined within 250 ms of the first read was the old balance
  const provider = new ethers.JsonRpcProvider(cfg.http, cfg.chainId, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 250;
  const ws = new ethers.WebSocketProvider(cfg.ws, cfg.chainId);
  const owner = new ethers.Wallet(cfg.keys[0], provider);
  const alice = new ethers.Wallet(cfg.keys[1], provider);
  const bob = ethers.Wallet.createRandom().address;
  let token;
  let collectible;

  await check("chain id and legacy fee data", async () => {
    assert.strictEqual((await provider.getNetwork()).chainId, BigInt(cfg.chainId));
    const fees = await provider.getFeeData();
    assert.strictEqual(fees.maxFeePerGas, null, "no base fee: ethers must not price EIP-1559");
    assert.ok(fees.gasPrice > 0n);
  });

  await check("native transfer and receipt", async () => {
    const before = await provider.getBalance(bob);
    await mined(owner.sendTransaction({ to: bob, value: ethers.parseEther("1.5") }));
    assert.strictEqual(await provider.getBalance(bob), before + ethers.parseEther("1.5"));
  });

  await check("ERC-20 deployed", async () => {
    const { abi, bytecode } = cfg.artifacts.Token;
    const factory = new ethers.ContractFactory(abi, bytecode, owner);
    token = await factory.deploy("Devnet Token", "DVT", ethers.parseUnits("1000000", 18));
    await token.waitForDeployment();
    assert.strictEqual(await token.symbol(), "DVT");
    assert.strictEqual(await token.balanceOf(owner.address), ethers.parseUnits("1000000", 18));
  });

  await check("ERC-20 transfer seen by a live subscription and by queryFilter", async () => {
    const live = new ethers.Contract(await token.getAddress(), cfg.artifacts.Token.abi, ws);
    const seen = new Promise((resolve) => {
      live.on("Transfer", (from, to, value) => {
        if (to === alice.address) resolve({ from, value });
      });
    });
    await new Promise((r) => setTimeout(r, 500)); // the subscription is installed
    const receipt = await mined(token.transfer(alice.address, 250n));
    const event = await withTimeout(seen, "Transfer over WebSocket");
    assert.strictEqual(event.from, owner.address);
    assert.strictEqual(event.value, 250n);
    await live.removeAllListeners();
    const fromOwner = await token.queryFilter(token.filters.Transfer(owner.address), 0, "latest");
    assert.strictEqual(fromOwner.length, 1);
    assert.strictEqual(fromOwner[0].transactionHash, receipt.hash);
    assert.strictEqual(fromOwner[0].args.value, 250n);
    const minted = await token.queryFilter(token.filters.Transfer(ethers.ZeroAddress), 0, "latest");
    assert.strictEqual(minted.length, 1);
    assert.strictEqual(await token.balanceOf(alice.address), 250n);
  });

  await check("debug_traceTransaction of an ERC-20 transfer equals debug_traceCall at its parent", async () => {
    const receipt = await mined(token.transfer(ethers.Wallet.createRandom().address, 7n));
    const tx = await provider.getTransaction(receipt.hash);
    const call = {
      from: tx.from,
      to: tx.to,
      data: tx.data,
      gas: ethers.toQuantity(tx.gasLimit),
      gasPrice: ethers.toQuantity(tx.gasPrice),
    };
    const parent = ethers.toQuantity(receipt.blockNumber - 1);
    for (const options of [{}, { tracer: "callTracer" }]) {
      const replayed = await provider.send("debug_traceTransaction", [receipt.hash, options]);
      const called = await provider.send("debug_traceCall", [call, parent, options]);
      assert.deepStrictEqual(replayed, called);
    }
    const logs = (await provider.send("debug_traceTransaction", [receipt.hash, {}])).structLogs;
    assert.ok(logs.some((step) => step.op === "SSTORE") && logs.some((step) => step.op === "LOG3"));
    const block = await provider.send("debug_traceBlockByNumber", [ethers.toQuantity(receipt.blockNumber), {}]);
    assert.ok(block.some((entry) => entry.result.structLogs.length === logs.length));
  });

  await check("ERC-20 allowance and transferFrom", async () => {
    await mined(token.connect(alice).approve(owner.address, 100n));
    await mined(token.transferFrom(alice.address, bob, 60n));
    assert.strictEqual(await token.allowance(alice.address, owner.address), 40n);
    assert.strictEqual(await token.balanceOf(bob), 60n);
  });

  await check("a revert reason reaches the caller", async () => {
    await assert.rejects(token.connect(alice).transfer(bob, 10n ** 30n), (err) => {
      assert.strictEqual(err.reason, "balance too small");
      return true;
    });
  });

  await check("ERC-721 deployed, minted, transferred, events read", async () => {
    const { abi, bytecode } = cfg.artifacts.Collectible;
    collectible = await new ethers.ContractFactory(abi, bytecode, owner).deploy();
    await collectible.waitForDeployment();
    assert.ok(await collectible.supportsInterface("0x80ac58cd"));
    await mined(collectible.mint(owner.address, 7n));
    await mined(collectible.transferFrom(owner.address, alice.address, 7n));
    assert.strictEqual(await collectible.ownerOf(7n), alice.address);
    const moves = await collectible.queryFilter(collectible.filters.Transfer(null, null, 7n), 0, "latest");
    assert.deepStrictEqual(
      moves.map((e) => e.args.to),
      [owner.address, alice.address],
    );
  });

  await check("Harmony localnet's test account (its key from Harmony's core/genesis.go) sends", async () => {
    const harmonyTest = new ethers.Wallet(cfg.harmonyTestKey, provider);
    assert.strictEqual(harmonyTest.address, "0xA5241513DA9F4463F1d4874b548dFBAC29D91f34");
    assert.ok((await provider.getBalance(harmonyTest.address)) >= ethers.parseEther("10000000000") - 10n ** 18n);
    await mined(harmonyTest.sendTransaction({ to: bob, value: 1n }));
  });

  await check("EIP-1559 transaction refused: the chain takes legacy transactions", async () => {
    const gwei = ethers.parseUnits("10", "gwei");
    await assert.rejects(
      owner.sendTransaction({ type: 2, to: bob, value: 1n, maxFeePerGas: gwei, maxPriorityFeePerGas: gwei }),
      (err) => {
        const text = `${err.message} ${JSON.stringify(err.info ?? {})}`;
        assert.ok(text.includes("legacy transactions only"), text);
        return true;
      },
    );
  });

  await ws.destroy();
  provider.destroy();
}

main().then(
  () => {
    console.log(JSON.stringify({ ok: true, checks }));
    process.exit(0);
  },
  (err) => {
    console.error(err);
    console.log(JSON.stringify({ ok: false, checks, error: String(err && err.message) }));
    process.exit(1);
  },
);
