import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {after, before, describe, it} from "node:test";
import {fromHex, toHex} from "../../../../src/hotpath/bytes.js";
import {BeaconNode} from "../../../../src/roles/validator/beacon/beaconNode.js";
import type {ProposalResult} from "../../../../src/roles/validator/duties/proposer/proposerService.js";
import type {ValidatorRole} from "../../../../src/roles/validator/validatorRole.js";
import {type AnyDutyResult} from "../../../../src/roles/validator/validatorRole.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {type Effectiveness, type RunningDevnet, getJson, sleep, spawnDevnet} from "../../../devnet/helpers.js";
import {createTestCluster, startValidatorRoles} from "../../../helpers/validatorRoles.js";

const SLOT_MS = 2000;
const SLOTS_PER_EPOCH = 8;
const FEE_RECIPIENT = "0x" + "22".repeat(20);
const THIEF = "0x" + "ee".repeat(20);

/**
 * Node 1 as a byzantine leader: every block it proposes in consensus is its beacon node's block altered, to pay
 * THIEF instead of the lock's fee recipient or to build on the head's parent (orphaning the newest block). The
 * lie alternates every 4 slots: node 1 leads a given round once in 4 slots, so both lies reach a round it leads.
 */
async function byzantineBeacon(url: string): Promise<BeaconNode> {
  const bn = await BeaconNode.connect([url]);
  const honest = bn.produceBlock.bind(bn);
  bn.produceBlock = async (slot, randao, graffiti) => {
    const p = await honest(slot, randao, graffiti);
    if (Math.floor(slot / 4) % 2 === 0) {
      (p.block.body as {executionPayload: {feeRecipient: Uint8Array}}).executionPayload.feeRecipient = fromHex(
        THIEF,
        20,
      );
    } else {
      const {body} = await getJson<{data: {header: {message: {parent_root: string}}}}>(
        `${url}/eth/v1/beacon/headers/${toHex(p.block.parentRoot)}`,
      );
      p.block.parentRoot = fromHex(body.data.header.message.parent_root, 32);
    }
    return p;
  };
  return bn;
}

/**
 * A byzantine leader's block must not be agreed: honest nodes refuse a block paying another address than the
 * lock's fee recipient, or one that does not build on their head, and a later round's honest leader proposes
 * instead. Real duty services, BLS pool and embedded devnet (Electra, execution payloads); the in-process hub
 * stands in for the store role's network.
 */
describe("honest nodes refuse a byzantine leader's block", {timeout: 300_000}, () => {
  let dir: string;
  let devnet: RunningDevnet;
  const pool = new BlsPool({size: 1});
  const roles: ValidatorRole[] = [];
  const results: (AnyDutyResult & {node: number})[] = [];
  const refusals: {node: number; from: number; reason: string}[] = [];

  before(async () => {
    dir = await tempDir();
    const {lock} = await createTestCluster(dir, {start: 0, count: 64}, FEE_RECIPIENT);
    devnet = await spawnDevnet([
      "--validators",
      "64",
      "--own",
      "none",
      "--slot-ms",
      String(SLOT_MS),
      "--genesis-delay",
      "8",
      "--log-level",
      "warn",
    ]);
    roles.push(
      ...(await startValidatorRoles({
        lock,
        dir,
        beaconUrls: [devnet.url],
        pool,
        onResult: (r) => results.push(r),
        node: async (i) => ({
          qbftEvents: {
            onRejected: (instance, from, reason) =>
              instance.startsWith("proposer/") && refusals.push({node: i, from, reason}),
          },
          ...(i === 1 ? {beacon: await byzantineBeacon(devnet.url)} : {}),
        }),
      })),
    );
  });

  after(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await devnet?.stop();
    await rm(dir, {recursive: true, force: true});
  });

  it("refuses blocks paying another address or orphaning the head; every block on chain pays the lock's fee recipient", async () => {
    // Three whole epochs after the nodes started (keystores decrypted): node 1 leads a round in one slot in
    // four, so each lie is tried three times.
    const firstEpoch = Math.floor((Date.now() - devnet.genesisTime * 1000) / SLOT_MS / SLOTS_PER_EPOCH) + 1;
    const firstSlot = firstEpoch * SLOTS_PER_EPOCH;
    const lastSlot = (firstEpoch + 3) * SLOTS_PER_EPOCH - 1;
    await sleep(Math.max(0, devnet.genesisTime * 1000 + (lastSlot + 1) * SLOT_MS + 500 - Date.now()));
    const proposals = results.filter(
      (r): r is ProposalResult & {node: number} => r.duty === "proposer" && r.node !== 1 && r.slot >= firstSlot,
    );
    const summary = JSON.stringify(proposals.map((r) => [r.node, r.slot, r.status, r.round, r.reason]));
    const honestRefusals = refusals.filter((r) => r.node !== 1 && r.from === 1);
    const reasons = new Set(honestRefusals.map((r) => r.reason));
    assert.ok(
      reasons.has("fee_recipient_mismatch"),
      `honest nodes refused node 1's blocks paying ${THIEF}: ${JSON.stringify(refusals)}; ${summary}`,
    );
    assert.ok(
      reasons.has("wrong_parent"),
      `honest nodes refused node 1's blocks on the head's parent: ${JSON.stringify(refusals)}; ${summary}`,
    );
    // Honest nodes never refuse each other's blocks: the check costs nothing when the leader is honest.
    assert.deepEqual(
      refusals.filter((r) => r.node !== 1 && r.from !== 1),
      [],
    );

    // The refusals are in the proposals' duty results (their series entries), named by proposer and reason.
    const refusedInResults = proposals.flatMap((r) => r.refused ?? []);
    assert.ok(
      refusedInResults.some((x) => x.from === 1 && x.reason === "fee_recipient_mismatch" && x.detail.includes(THIEF)),
      JSON.stringify(refusedInResults),
    );
    assert.ok(
      refusedInResults.some((x) => x.from === 1 && x.reason === "wrong_parent"),
      JSON.stringify(refusedInResults),
    );

    let blocks = 0;
    for (let slot = firstSlot; slot <= lastSlot; slot++) {
      const res = await getJson<{data: {message: {body: {execution_payload: {fee_recipient: string}}}}}>(
        `${devnet.url}/eth/v2/beacon/blocks/${slot}`,
      );
      if (res.status === 404) continue;
      blocks++;
      assert.equal(
        res.body.data.message.body.execution_payload.fee_recipient.toLowerCase(),
        FEE_RECIPIENT,
        `block of slot ${slot}`,
      );
    }
    // A byzantine leader costs a round, not the block: an honest leader's block follows within the slot.
    const {body} = await getJson<Effectiveness>(
      `${devnet.url}/r3dv/v1/effectiveness?from_epoch=${firstEpoch}&to_epoch=${firstEpoch + 2}`,
    );
    const missed = body.data.epochs.flatMap((e) => e.missed_proposals);
    assert.deepEqual(missed, [], `missed proposals: ${JSON.stringify(missed)}; ${blocks} blocks; ${summary}`);
  });
});
