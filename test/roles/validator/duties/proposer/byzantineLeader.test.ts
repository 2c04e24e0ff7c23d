import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {bytesEqual, fromHex, toHex} from "../../../../../src/hotpath/bytes.js";
import type {ProposalResult} from "../../../../../src/roles/validator/duties/proposer/proposerService.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";

const VALIDATORS = 4;
/**
 * Eight slots in a row with a cluster proposal: each node leads the first round in one slot of four, so node 1
 * leads it twice, once in each half of the lie's alternation below.
 */
const SLOTS = Array.from({length: 8}, (_, i) => 2 + i);
const THIEF = "0x" + "ee".repeat(20);

type Block = {slot: number; parentRoot: Uint8Array; body: {executionPayload: {feeRecipient: Uint8Array}}};

/**
 * Node 1's beacon node lies about every block it builds: to pay THIEF instead of the validator's fee recipient, or
 * to build on the head's parent (orphaning the newest block), alternating every 4 slots.
 */
function lie(answer: unknown): void {
  const block = (answer as {data: {block: Block}}).data.block;
  if (Math.floor(block.slot / 4) % 2 === 0) block.body.executionPayload.feeRecipient = fromHex(THIEF, 20);
  else block.parentRoot = fromHex("0x" + "bb".repeat(32), 32);
}

/**
 * A byzantine leader's block must not be agreed: honest nodes refuse a block paying another address than the
 * lock's fee recipient, or one that does not build on their head, and a later round's honest leader proposes
 * instead, within the slot.
 */
describe("honest nodes refuse a byzantine leader's block", {timeout: 60_000}, () => {
  it("refuses blocks paying another address or orphaning the head, names them in the results, and every block published is honest", async (t) => {
    const refusals: {node: number; from: number; reason: string}[] = [];
    const c = await DutyCluster.start(t, {
      validators: VALIDATORS,
      script: (b) => {
        for (const slot of SLOTS) b.proposers.set(slot, slot % VALIDATORS);
        b.fault("produceBlockV3", {nodes: [1], alter: lie});
      },
      node: (i) => ({
        qbftEvents: {
          onRejected: (instance, from, reason) =>
            instance.startsWith("proposer/") && refusals.push({node: i, from, reason}),
        },
      }),
    });
    const last = SLOTS.at(-1) as number;
    await c.awaitResults(
      "proposer",
      SLOTS.map((slot) => ({slot, validatorIndex: slot % VALIDATORS})),
      last + 2,
    );

    const honestRefusals = refusals.filter((r) => r.node !== 1 && r.from === 1);
    const reasons = new Set(honestRefusals.map((r) => r.reason));
    assert.ok(reasons.has("fee_recipient_mismatch"), `refusals: ${JSON.stringify(refusals)}`);
    assert.ok(reasons.has("wrong_parent"), `refusals: ${JSON.stringify(refusals)}`);
    // Honest nodes never refuse each other's blocks: the check costs nothing when the leader is honest.
    assert.deepEqual(
      refusals.filter((r) => r.node !== 1 && r.from !== 1),
      [],
    );

    // The refusals are in the proposals' duty results (their series entries), named by proposer and reason.
    const results = c.results.filter((r): r is ProposalResult & {node: number} => r.duty === "proposer");
    const refusedInResults = results.filter((r) => r.node !== 1).flatMap((r) => r.refused ?? []);
    assert.ok(
      refusedInResults.some((x) => x.from === 1 && x.reason === "fee_recipient_mismatch" && x.detail.includes(THIEF)),
      JSON.stringify(refusedInResults),
    );
    assert.ok(
      refusedInResults.some((x) => x.from === 1 && x.reason === "wrong_parent"),
      JSON.stringify(refusedInResults),
    );

    // A byzantine leader costs a round, not the block: every node (the liar too) publishes the honest block.
    for (const slot of SLOTS) {
      for (let node = 1; node <= 4; node++) {
        const r = c.resultOf("proposer", slot, node, slot % VALIDATORS);
        // A round lost to the liar can push a 1 s slot's block past the attesters' third (late_block, on chain).
        const lateForTheLie = r.status === "late" && r.reason === "late_block" && (r.round ?? 1) > 1;
        assert.ok(r.status === "submitted" || lateForTheLie, `node ${node}: ${JSON.stringify(r)}`);
      }
      const published = c.beacon.received.blocks.filter((x) => x.item.message.slot === slot);
      assert.equal(published.length, 4, `slot ${slot}: one block from each node`);
      for (const {node, item} of published) {
        const block = item.message as unknown as Block;
        const feeRecipient = toHex(block.body.executionPayload.feeRecipient);
        assert.equal(
          feeRecipient,
          c.memory.lock.validators[slot % VALIDATORS]?.fee_recipient,
          `slot ${slot} node ${node}`,
        );
        assert.ok(bytesEqual(block.parentRoot, c.beacon.blockRoot(slot - 1)), `slot ${slot} node ${node}: parent`);
      }
    }
  });
});
