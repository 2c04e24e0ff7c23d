import "../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {EvmEngine} from "../../src/devnet/execution/evmEngine.js";
import type {PayloadAttributes} from "../../src/devnet/execution/types.js";

const GENESIS_TIME = 1_700_000_000;
const beaconRoot = (i: number): Uint8Array => new Uint8Array(32).fill(i);

function attributes(parentHash: Uint8Array, i: number): PayloadAttributes {
  return {
    parentHash,
    timestamp: GENESIS_TIME + 12 * i,
    prevRandao: new Uint8Array(32).fill(i),
    feeRecipient: new Uint8Array(20).fill(0xaa),
    withdrawals: [{index: i, validatorIndex: 3, address: new Uint8Array(20).fill(0x42), amount: 1_000_000n}],
    parentBeaconBlockRoot: beaconRoot(i),
  };
}

describe("devnet execution layer (@ethereumjs/vm)", () => {
  it("builds payloads that an independent engine re-executes to the same block", async () => {
    const builder = await EvmEngine.create(GENESIS_TIME);
    const verifier = await EvmEngine.create(GENESIS_TIME);
    assert.deepEqual(verifier.genesis().blockHash, builder.genesis().blockHash, "same genesis, same hash");
    let parent = builder.genesis().blockHash;
    let baseFee = builder.genesis().baseFeePerGas;
    for (let i = 1; i <= 3; i++) {
      const p = await builder.buildPayload(attributes(parent, i));
      assert.equal(p.blockNumber, i);
      assert.equal(p.transactions.length, 4, "transfers and contract calls every block");
      assert.ok(p.gasUsed > 4 * 21_000, "contract calls cost more than transfers");
      assert.ok(
        p.logsBloom.some((b) => b !== 0),
        "the counter contract's logs set bloom bits",
      );
      assert.notDeepEqual(p.baseFeePerGas, baseFee, "EIP-1559 moves the base fee");
      assert.equal(p.withdrawals.length, 1);
      assert.deepEqual(await verifier.newPayload(p, beaconRoot(i)), {valid: true});
      parent = p.blockHash;
      baseFee = p.baseFeePerGas;
    }
  });

  it("refuses a payload whose hash does not match, and one whose state root re-execution disproves", async () => {
    const builder = await EvmEngine.create(GENESIS_TIME);
    const verifier = await EvmEngine.create(GENESIS_TIME);
    const p = await builder.buildPayload(attributes(builder.genesis().blockHash, 1));
    const tampered = await verifier.newPayload({...p, gasUsed: p.gasUsed + 1}, beaconRoot(1));
    assert.equal(tampered.valid, false);
    assert.match(tampered.reason ?? "", /block hash/);
    const wrongBeaconRoot = await verifier.newPayload(p, beaconRoot(9));
    assert.equal(wrongBeaconRoot.valid, false, "the parent beacon block root is part of the EL block hash");
    const corrupt = await builder.corruptStateRoot(p);
    assert.notDeepEqual(corrupt.blockHash, p.blockHash);
    const verdict = await verifier.newPayload(corrupt, beaconRoot(1));
    assert.equal(verdict.valid, false);
    assert.match(verdict.reason ?? "", /re-execution/);
    // The builder keeps going on top of its own lie, as the fault requires.
    const child = await builder.buildPayload(attributes(corrupt.blockHash, 2));
    assert.equal(child.blockNumber, 2);
  });
});
