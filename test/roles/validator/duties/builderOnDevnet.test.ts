import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import type {ProposalResult} from "../../../../src/roles/validator/duties/proposer/proposerService.js";
import {type AnyDutyResult} from "../../../../src/roles/validator/validatorRole.js";
import {type RunningDevnet, getJson} from "../../../devnet/helpers.js";
import {type ClusterOnDevnet, startClusterOnDevnet} from "../../../helpers/clusterOnDevnet.js";

const FEE_RECIPIENT = "0x" + "22".repeat(20);
const SLOT_MS = 2000;
const SLOTS_PER_EPOCH = 8;
/** The devnet builder's bid (builder.ts DEFAULT_BID_WEI). */
const BID_WEI = 10n ** 17n;
/** The cluster runs validators 0..7, the devnet 8..15: about half the slots are the cluster's to propose. */
const CLUSTER_VALIDATORS = 8;
/** Registrations of every validator are made in epoch 0, so proposals from epoch 1 on can use the builder. */
const FIRST_SLOT = SLOTS_PER_EPOCH;
const LAST_SLOT = 4 * SLOTS_PER_EPOCH - 1;
const FAULTS = ["builder_late", "builder_wrong_payee", "builder_withhold"] as const;

type BlockAnswer = {data: {message: {body: {execution_payload: {fee_recipient: string}}}}};

/**
 * A 3-of-4 cluster with the builder API on the embedded devnet with its builder: its proposals from epoch 1 on
 * are builders' blinded blocks, the lock's fee recipient is paid the bid through the builder's transaction (read
 * from the execution state), and each builder fault ends as it should: a late builder in a local block, a bid
 * paying another address refused in a local block, a withheld payload in a missed slot reported with that reason.
 */
describe("builder proposals of a 3-of-4 cluster on the devnet with a builder", {timeout: 300_000}, () => {
  let c: ClusterOnDevnet;
  let devnet: RunningDevnet;
  let results: AnyDutyResult[];

  before(async () => {
    c = await startClusterOnDevnet({
      validators: {start: 0, count: CLUSTER_VALIDATORS},
      feeRecipient: FEE_RECIPIENT,
      devnetArgs: [
        ...["--validators", "16", "--own", "8..15", "--slot-ms", String(SLOT_MS), "--genesis-delay", "8"],
        ...["--builder", "--log-level", "warn"],
      ],
      node: () => ({builder: {boostFactor: 100n}}),
    });
    ({devnet, results} = c);
  });

  after(() => c?.stop());

  const slotStart = (slot: number) => devnet.genesisTime * 1000 + slot * SLOT_MS;
  const until = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));
  const clusterProposals = async (epoch: number): Promise<number[]> => {
    const {body} = await getJson<{data: {slot: string; validator_index: string}[]}>(
      `${devnet.url}/eth/v1/validator/duties/proposer/${epoch}`,
    );
    return body.data.filter((d) => Number(d.validator_index) < CLUSTER_VALIDATORS).map((d) => Number(d.slot));
  };
  const balance = async (): Promise<bigint> => {
    const res = await fetch(`${devnet.url}/r3dv/v1/execution`, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [FEE_RECIPIENT, "latest"]}),
    });
    return BigInt(((await res.json()) as {result: string}).result);
  };

  it("uses the builder's blocks, is paid their bids, and falls back or reports as each builder fault requires", async () => {
    // Faults go on the cluster's first proposals of epochs 2 and 3, each set before its epoch starts.
    const faultAt = new Map<number, (typeof FAULTS)[number]>();
    const ours: number[] = [];
    ours.push(...(await clusterProposals(0)).filter((slot) => slot > 0));
    for (const epoch of [1, 2, 3]) {
      await until(slotStart((epoch - 1) * SLOTS_PER_EPOCH) + SLOT_MS / 2);
      const slots = await clusterProposals(epoch);
      ours.push(...slots);
      for (const slot of slots) {
        const kind = FAULTS[faultAt.size];
        if (epoch < 2 || !kind) continue;
        faultAt.set(slot, kind);
        const res = await fetch(`${devnet.url}/r3dv/v1/faults`, {
          method: "POST",
          headers: {"content-type": "application/json"},
          body: JSON.stringify({kind, slot, ...(kind === "builder_late" ? {delay_ms: SLOT_MS / 2} : {})}),
        });
        assert.equal(res.status, 200, await res.text());
      }
    }
    const fromEpoch1 = ours.filter((slot) => slot >= FIRST_SLOT);
    assert.ok(
      fromEpoch1.length >= FAULTS.length + 1,
      `the cluster proposes at ${ours.join(", ")}: too few for this test`,
    );
    assert.equal(faultAt.size, FAULTS.length, `faults at ${JSON.stringify([...faultAt])}`);
    await until(slotStart(LAST_SLOT + 2));

    let builderBlocks = 0;
    for (const slot of ours) {
      const fault = faultAt.get(slot);
      const mine = results.filter((r): r is ProposalResult => r.duty === "proposer" && r.slot === slot);
      assert.equal(mine.length, 4, `slot ${slot}: a result from each node, got ${JSON.stringify(mine)}`);
      const block = await getJson<BlockAnswer>(`${devnet.url}/eth/v2/beacon/blocks/${slot}`);
      const paid = block.status === 200 ? block.body.data.message.body.execution_payload.fee_recipient : undefined;
      if (fault === "builder_withhold") {
        for (const r of mine) {
          assert.equal(r.status, "failed", JSON.stringify(r));
          assert.equal(r.reason, "submit_failed");
          assert.match(r.detail ?? "", /withheld the payload/);
        }
        assert.equal(block.status, 404, `slot ${slot}: missed, the builder never revealed its payload`);
        continue;
      }
      for (const r of mine)
        assert.ok(r.status === "submitted", `slot ${slot} (${fault ?? "no fault"}): ${JSON.stringify(r)}`);
      assert.equal(block.status, 200, `slot ${slot}: a block on chain`);
      if (fault === "builder_late") {
        for (const r of mine) {
          assert.equal(r.path, "local");
          assert.match(r.pathDetail ?? "", /the builder path gave no block within \d+ ms/);
        }
        assert.equal(paid, FEE_RECIPIENT, "the local block pays the lock's fee recipient");
      } else if (fault === "builder_wrong_payee") {
        for (const r of mine) {
          assert.equal(r.path, "local");
          assert.match(r.pathDetail ?? "", /own block beat the builder's bid/);
        }
        assert.equal(paid, FEE_RECIPIENT, "the bid paying another address was refused: a local block");
      } else {
        // Epoch 0's proposals may come before their validator's first registration: local blocks then.
        if (slot >= FIRST_SLOT)
          for (const r of mine) assert.equal(r.path, "builder", `slot ${slot}: ${JSON.stringify(r)}`);
        if (mine.every((r) => r.path === "builder")) {
          assert.notEqual(paid, FEE_RECIPIENT, "the builder's payload names its own fee recipient");
          builderBlocks++;
        } else assert.equal(paid, FEE_RECIPIENT, `slot ${slot}: a local block pays the lock's fee recipient`);
      }
    }
    assert.ok(builderBlocks >= 1, `builder blocks at ${ours.filter((s) => s >= FIRST_SLOT && !faultAt.has(s))}`);
    // The cluster stops proposing, and its last block is imported, before its fee recipient's balance is read.
    await Promise.all(c.roles.splice(0).map((r) => r.stop()));
    await until(Date.now() + SLOT_MS);
    const onChainBuilderSlots = new Set<number>();
    for (const r of results)
      if (r.duty === "proposer" && r.path === "builder" && r.status === "submitted") onChainBuilderSlots.add(r.slot);
    // Each builder block paid the bid; the cluster's local blocks add their priority fees, far below one bid.
    const paidWei = await balance();
    assert.equal(
      paidWei / BID_WEI,
      BigInt(onChainBuilderSlots.size),
      `the lock's fee recipient holds ${paidWei} wei; builder blocks at ${[...onChainBuilderSlots].join(", ")}`,
    );
  });
});
