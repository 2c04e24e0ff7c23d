import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {after, before, describe, it} from "node:test";
import type {ValidatorRole} from "../../../../src/roles/validator/validatorRole.js";
import {type AnyDutyResult} from "../../../../src/roles/validator/validatorRole.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {MULTIPROCESS_LOCK} from "../../../helpers/cluster.js";
import {acquireExclusive} from "../../../helpers/exclusive.js";
import {MemoryHub} from "../../../helpers/memoryTransport.js";
import {type RunningDevnet, getJson, spawnDevnet} from "../../../devnet/helpers.js";
import {createTestCluster, startValidatorRoles} from "../../../helpers/validatorRoles.js";

const SLOT_MS = 2000;
const EPOCH_MS = 8 * SLOT_MS;

export interface SyncEffectiveness {
  data: {
    epochs: {
      epoch: number;
      sync_committee: {blocks: number; bits_set: number; participation: number | null};
      aggregates: {accepted: number; included: number; not_included: unknown[]};
      subscriptions: {beacon_committee: number; aggregators: number; sync_committee: number};
    }[];
  };
}

/**
 * Sync committee duties and committee subscriptions of a 3-of-4 cluster, in one process over the in-memory
 * transport, on the embedded devnet (16 validators, none signed by the devnet, so every sync committee bit
 * and every aggregate on chain is the cluster's). Node 4 is cut off for the last epoch: 3 of 4 must still do it all.
 */
describe(
  "sync committee messages, contributions and subscriptions of a 3-of-4 cluster on the devnet",
  {timeout: 300_000},
  () => {
    let dir: string;
    let devnet: RunningDevnet;
    // Two workers: four in-process nodes share this pool, each recovering some 70 signatures a slot.
    const pool = new BlsPool({size: 2});
    const roles: ValidatorRole[] = [];
    const results: (AnyDutyResult & {node: number})[] = [];
    const hub = new MemoryHub();

    let release: () => Promise<void>;

    before(async () => {
      // Judged by the chain's timing: another suite's cluster on the same two cores would make its blocks late.
      release = await acquireExclusive(MULTIPROCESS_LOCK);
      dir = await tempDir();
      const {lock} = await createTestCluster(dir, {start: 0, count: 16});
      devnet = await spawnDevnet([
        "--validators",
        "16",
        "--own",
        "none",
        "--slot-ms",
        String(SLOT_MS),
        "--genesis-delay",
        "6",
        "--log-level",
        "warn",
      ]);
      roles.push(
        ...(await startValidatorRoles({
          lock,
          dir,
          beaconUrls: [devnet.url],
          pool,
          hub,
          onResult: (r) => results.push(r),
        })),
      );
    });

    after(async () => {
      await Promise.all(roles.map((r) => r.stop()));
      await pool.close();
      await devnet?.stop();
      await rm(dir, {recursive: true, force: true});
      await release?.();
    });

    it("fills at least 95% of the sync aggregate bits per epoch, submits 99% of its sync duties on time (none failed with node 4 down), and subscribes", async () => {
      const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));
      // Epochs 1 and 2 with all four nodes; node 4 cut off for epoch 3; then one more epoch for inclusion.
      await sleepUntil(devnet.genesisTime * 1000 + 3 * EPOCH_MS);
      hub.down.add(4);
      await sleepUntil(devnet.genesisTime * 1000 + 4 * EPOCH_MS + SLOT_MS);
      const summary: Record<string, number> = {};
      for (const r of results)
        summary[`${r.duty}:${r.status}:${r.reason ?? ""}`] =
          (summary[`${r.duty}:${r.status}:${r.reason ?? ""}`] ?? 0) + 1;
      const {body} = await getJson<SyncEffectiveness>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=0&to_epoch=3`);
      for (const e of body.data.epochs.filter((x) => x.epoch >= 1)) {
        const why = `epoch ${e.epoch}: ${JSON.stringify(e.sync_committee)} ${JSON.stringify(summary)}`;
        assert.ok(e.sync_committee.blocks >= 7 && (e.sync_committee.participation ?? 0) >= 0.95, why);
        assert.ok(
          e.aggregates.accepted > 0 && e.aggregates.included === e.aggregates.accepted,
          `epoch ${e.epoch}: ${JSON.stringify(e.aggregates)}`,
        );
        assert.ok(
          e.subscriptions.beacon_committee === 16 && e.subscriptions.aggregators > 0,
          `epoch ${e.epoch}: ${JSON.stringify(e.subscriptions)}`,
        );
      }
      assert.ok(
        body.data.epochs.some((e) => e.subscriptions.sync_committee > 0),
        "sync committee subscriptions sent",
      );

      // Node 1's view: with all four nodes (epochs 1 and 2) at least 99% of each duty submitted on time; a late
      // message misses the contributions built at 2/3 of the slot, so it does not count. With node 4 cut off
      // (epoch 3) a dead leader costs a consensus round, so a message may be late, but none may fail.
      const count = (from: number, to: number, duty: string) => {
        const mine = results.filter(
          (r) =>
            r.node === 1 &&
            r.slot >= from * 8 &&
            r.slot < (to + 1) * 8 &&
            r.duty === duty &&
            r.status !== "not_selected",
        );
        return {
          all: mine.length,
          onTime: mine.filter((r) => r.status === "submitted").length,
          failed: mine.filter((r) => r.status === "failed").length,
        };
      };
      for (const duty of ["sync_message", "sync_contribution", "aggregator"]) {
        const healthy = count(1, 2, duty);
        assert.ok(
          healthy.all > 0 && healthy.onTime >= healthy.all * 0.99,
          `${duty} in epochs 1-2: ${JSON.stringify(healthy)}; ${JSON.stringify(summary)}`,
        );
        const oneDown = count(3, 3, duty);
        assert.ok(
          oneDown.all > 0 && oneDown.failed === 0,
          `${duty} in epoch 3, node 4 down: ${JSON.stringify(oneDown)}; ${JSON.stringify(summary)}`,
        );
      }
    });
  },
);
